// The kernels embedded in the JavaScript (base64 of the plain and the shared-memory build): the
// default entry, src/backend/index.ts and the command line hand them to the backend. Only modules
// that import this file carry the copies; wasmgrad/slim does not.
import { KERNELS_MT_WASM_BASE64, KERNELS_WASM_BASE64 } from "./kernels.generated.js";
import { embedKernels } from "./current.js";

/** @internal Makes the embedded kernels the wasm backend's default module. */
export function useEmbeddedKernels(): void {
  embedKernels(KERNELS_WASM_BASE64, KERNELS_MT_WASM_BASE64);
}
