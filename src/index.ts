// wasmgrad: a PyTorch-like API over a WebAssembly SIMD core.
//   import { nn, optim, data, manualSeed, noGrad } from "wasmgrad";
// The default entry: the whole API (./api.ts) with the kernels embedded in the JavaScript, so
// nothing needs loading. wasmgrad/slim (./slim.ts) is the same API without them.
import { KERNELS_MT_WASM_BASE64, KERNELS_WASM_BASE64 } from "./backend/kernels.generated.js";
import { embedKernels } from "./backend/current.js";

embedKernels(KERNELS_WASM_BASE64, KERNELS_MT_WASM_BASE64);

export * from "./api.js";
