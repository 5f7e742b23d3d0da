// wasmgrad/slim: the whole API of "wasmgrad" without the kernels embedded in the JavaScript (about
// 58 KB of the default bundle, gzipped). Load them before the first tensor:
//   import { initWasm, nn } from "wasmgrad/slim";
//   await initWasm(new URL("wasmgrad/kernels.wasm", import.meta.url));
// Threads need the shared-memory build, which is only embedded in "wasmgrad": here the backend
// runs on one thread.
export * from "./api.js";
