// wasmgrad: a PyTorch-like API over a WebAssembly SIMD core.
//   import { nn, optim, data, manualSeed, noGrad } from "wasmgrad";
// The default entry: the whole API (./api.ts) with the kernels embedded in the JavaScript, so
// nothing needs loading. wasmgrad/slim (./slim.ts) is the same API without them.
import { useEmbeddedKernels } from "./backend/embedded.js";

useEmbeddedKernels();

export * from "./api.js";
