// The plain-JS reference backend: the same kernels as assembly/, written as straightforward
// loops over typed arrays on a memory of the same kind, managed by the same Heap. It is the
// oracle the tests compare the wasm kernels against and the "JS" side of the benchmarks, so it
// favours obviously-right code (float64 accumulators, cache-friendly loop order) over tricks.
// One file per kernel file of assembly/, with the same name; the type Kernels (generated from
// assembly/) makes a missing or mistyped twin a compile error.
import { type Backend, type Kernels, MemoryViews, type MemoryOptions, createMemory, metaWriter } from "../backend.js";
import { Heap } from "../heap.js";
import type { JsMemory } from "./memory.js";
import { adamKernels } from "./adam.js";
import { augmentKernels } from "./augment.js";
import { convKernels } from "./conv.js";
import { elementwiseKernels } from "./elementwise.js";
import { indexingKernels } from "./indexing.js";
import { layoutKernels } from "./layout.js";
import { lossKernels } from "./loss.js";
import { mathKernels } from "./math.js";
import { matmulKernels } from "./matmul.js";
import { normKernels } from "./norm.js";
import { reduceKernels } from "./reduce.js";
import { sgdKernels } from "./sgd.js";
import { rmspropKernels } from "./rmsprop.js";
import { adagradKernels } from "./adagrad.js";
import { adadeltaKernels } from "./adadelta.js";
import { adamaxKernels } from "./adamax.js";
import { nadamKernels } from "./nadam.js";
import { radamKernels } from "./radam.js";
import { softmaxKernels } from "./softmax.js";
import { attentionKernels } from "./attention.js";

/**
 * Names of kernels whose twin takes a different number of parameters than the kernel (tsc
 * accepts a function with fewer parameters where more are declared; here that is a bug).
 */
type ArityMismatch<T> = {
  [K in keyof Kernels]: K extends keyof T
    ? T[K] extends (...args: infer P) => unknown
      ? P["length"] extends Parameters<Kernels[K]>["length"]
        ? never
        : K
      : K
    : K;
}[keyof Kernels];

/** Compiles only when every twin's arity matches (a mismatch names the kernel in the error). */
function checkArity<T>(twins: T & ([ArityMismatch<T>] extends [never] ? unknown : { arityMismatch: ArityMismatch<T> })): T {
  return twins;
}

/** Returns the reference backend on a fresh memory. */
export function createJsBackend(options: MemoryOptions = {}): Backend {
  const { memory, max } = createMemory(options);
  const views = new MemoryViews(memory);
  const mem: JsMemory = { memory, f32: () => views.f32(), i32: () => views.i32(), u8: () => views.u8() };
  const twins = {
    ...matmulKernels(mem),
    ...elementwiseKernels(mem),
    ...reduceKernels(mem),
    ...lossKernels(mem),
    ...convKernels(mem),
    ...normKernels(mem),
    ...augmentKernels(mem),
    ...sgdKernels(mem),
    ...adamKernels(mem),
    ...rmspropKernels(mem),
    ...adagradKernels(mem),
    ...adadeltaKernels(mem),
    ...adamaxKernels(mem),
    ...nadamKernels(mem),
    ...radamKernels(mem),
    ...layoutKernels(mem),
    ...softmaxKernels(mem),
    ...attentionKernels(mem),
    ...mathKernels(mem),
    ...indexingKernels(mem),
  };
  const kernels: Kernels = checkArity(twins);
  const heap = new Heap(memory, 1024, max);
  return {
    ...kernels,
    name: "js",
    fastMath: false,
    heap,
    memory,
    f32: mem.f32,
    i32: mem.i32,
    u8: mem.u8,
    writeMeta: metaWriter(heap, views),
    // Plain loops stay on one thread: the reference backend is the single-threaded baseline.
    setNumThreads: () => 1,
    getNumThreads: () => 1,
    threadStats: () => null,
  };
}
