// The backend selection (./current.ts) with the kernels embedded: what the default entry and
// in-repo programs (tests, benchmarks) import. Library modules import ./current.ts instead, so
// wasmgrad/slim, which never imports this file, carries no base64 copy of the kernels.
import { KERNELS_MT_WASM_BASE64, KERNELS_WASM_BASE64 } from "./kernels.generated.js";
import { embedKernels } from "./current.js";

embedKernels(KERNELS_WASM_BASE64, KERNELS_MT_WASM_BASE64);

export * from "./current.js";
