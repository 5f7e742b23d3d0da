// wasmgrad: a PyTorch-like API over a WebAssembly SIMD core.
//   import { nn, optim, data, manualSeed, noGrad } from "wasmgrad";
export {
  Tensor,
  ValuesIndices,
  tensor,
  zeros,
  ones,
  full,
  rand,
  randn,
  randint,
  arange,
  linspace,
  eye,
  zerosLike,
  onesLike,
  fullLike,
  randnLike,
  type DType,
  type Shape,
  type FactoryOptions,
  type NestedArray,
} from "./tensor.js";
// The torch.* functions PyTorch programs call most (every op is also in `ops` and on Tensor).
export { cat, stack, split, chunk, where, matmul, bmm, tril, triu, maximum, minimum } from "./ops/index.js";
export { noGrad, isGradEnabled } from "./lifetime.js";
export * as autograd from "./autograd-api.js";
export { manualSeed, Generator, defaultGenerator } from "./random.js";
export { accuracy, correctCount } from "./metrics.js";
export {
  getBackend,
  setBackend,
  createBackend,
  useWasmModule,
  kernelsWasmBytes,
  setNumThreads,
  getNumThreads,
  setFastMath,
  type Backend,
  type BackendName,
  type MemoryOptions,
} from "./backend/current.js";
export { initWasm, type WasmSource } from "./wasm-init.js";
export { initFastMath, relaxedSimdSupported, type FastMathSources } from "./fast-math.js";
export * from "./errors.js";
export * as ops from "./ops/index.js";
export * as nn from "./nn/index.js";
export * as optim from "./optim/index.js";
export * as data from "./data/index.js";
export * as models from "./models/index.js";
export * as io from "./io/index.js";
export * as train from "./train/index.js";
export * as lora from "./lora/index.js";
export { transforms, datasets, DataLoader } from "./data/index.js";
