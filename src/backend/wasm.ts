// The default backend: the AssemblyScript SIMD kernels, instantiated with @assemblyscript/loader
// on a memory we create and own. Backend methods are the raw exports themselves (pointer ABI,
// the same names as the Kernels methods), so a kernel call costs one JS→wasm transition; only
// gemm gets a wrapper, which picks the path and owns the packing scratch. While a thread pool
// runs, the kernels it can split are swapped for wrappers that try the split (split-kernels.ts).
import { instantiateSync } from "@assemblyscript/loader";
import { type Backend, type GemmForm, type Kernels, MemoryViews, type MemoryOptions, createMemory, metaWriter } from "./backend.js";
import { KERNEL_NAMES, type KernelExports } from "./kernel-exports.generated.js";
import { Heap } from "./heap.js";
import { ValueError } from "../errors.js";
import { type GemmArgs, ThreadPool, gemmFlags } from "./threads.js";
import { splitKernels } from "./split-kernels.js";

/** Below this many rows, A·Bᵀ runs as dot products instead of transposing B into panels. */
const NT_DOT_MAX_ROWS = 4;

export interface WasmBackendOptions extends MemoryOptions {
  /** The module is the shared-memory build (kernels-mt.wasm): the memory is shared and
   *  setNumThreads(n > 1) can start a worker pool on it. */
  shared?: boolean;
  /** The module is a fast-math build (relaxed SIMD); only reported as Backend.fastMath. */
  fastMath?: boolean;
}

/**
 * Instantiates the kernels on a fresh memory. Kernels map one to one onto raw exports: JS
 * booleans reach wasm i32 parameters as 0/1 by the standard ToInt32 conversion.
 */
export function createWasmBackend(source: WebAssembly.Module | BufferSource, options: WasmBackendOptions = {}): Backend {
  const shared = options.shared ?? false;
  const { memory, max } = createMemory(options, shared);
  const module = source instanceof WebAssembly.Module ? source : new WebAssembly.Module(source);
  const { instance } = instantiateSync(module, { env: { memory } });
  const k = checkedExports(instance.exports);
  const views = new MemoryViews(memory);
  const heap = new Heap(memory, k.heapBase(), max);

  // Scratch for packed panels of A and B; grows with the largest M seen.
  let scratch = 0;
  let scratchBytes = 0;
  const gemmScratch = (M: number): number => {
    const need = k.gemmScratchBytes(M);
    if (need > scratchBytes) {
      // Forget the old block before allocating: if alloc throws (OutOfMemoryError), a later
      // gemm must not pack into a freed block that the heap may have handed to a tensor.
      if (scratchBytes > 0) heap.free(scratch);
      scratchBytes = 0;
      scratch = heap.alloc(need);
      scratchBytes = need;
    }
    return scratch;
  };

  const runGemm = (g: GemmArgs): void => {
    const { M, N, K, a, lda, b, ldb, c, ldc, bias } = g;
    const flags = gemmFlags(g);
    if (g.form === "dot") k.gemmNtDot(M, N, K, a, lda, b, ldb, c, ldc, bias, flags);
    else if (g.form === "nn") k.gemmNn(M, N, K, a, lda, b, ldb, c, ldc, bias, flags, gemmScratch(M));
    else if (g.form === "nt") k.gemmNt(M, N, K, a, lda, b, ldb, c, ldc, bias, flags, gemmScratch(M));
    else k.gemmTn(M, N, K, a, lda, b, ldb, c, ldc, bias, flags, gemmScratch(M));
  };

  let pool: ThreadPool | null = null;
  const raw = kernelsOf(k);
  const setNumThreads = (n: number): number => {
    const want = shared ? n : 1;
    if ((pool?.threads ?? 1) === want) return want;
    pool?.close();
    pool = want > 1 ? new ThreadPool(want, module, memory, heap, k, (M) => k.gemmScratchBytes(M)) : null;
    // With a pool, the kernels it splits go through it; without one, every method is the raw export.
    Object.assign(backend, pool === null ? raw : splitKernels(k, pool, () => views.i32()));
    return want;
  };

  const backend: Backend = {
    ...raw,
    name: "wasm",
    fastMath: options.fastMath ?? false,
    heap,
    memory,
    f32: () => views.f32(),
    i32: () => views.i32(),
    u8: () => views.u8(),
    writeMeta: metaWriter(heap, views),
    setNumThreads,
    getNumThreads: () => pool?.threads ?? 1,
    threadPool: () => pool,
    threadStats: () => (pool === null ? null : { ...pool.stats, byKernel: { ...pool.stats.byKernel } }),
    gemm(form: GemmForm, M, N, K, a, lda, b, ldb, c, ldc, bias, accumulate, relu = false) {
      // The path is chosen from the whole problem, before any split: it fixes the summation order.
      const g: GemmArgs = { form: form === "nt" && M < NT_DOT_MAX_ROWS ? "dot" : form, M, N, K, a, lda, b, ldb, c, ldc, bias, accumulate, relu };
      if (pool?.gemm(g, runGemm, gemmScratch)) return;
      runGemm(g);
    },
  };
  return backend;
}

/** The module's exports, checked to hold every kernel this build of the library was typed against. */
function checkedExports(exports: WebAssembly.Exports): KernelExports {
  const missing = KERNEL_NAMES.filter((name) => typeof exports[name] !== "function");
  if (missing.length > 0) {
    throw new ValueError(
      `the kernel module lacks ${missing.length} export(s) this version of wasmgrad needs (${missing.slice(0, 5).join(", ")}): it comes from another version; rebuild it or pass the kernels.wasm shipped with this package`,
    );
  }
  return exports as unknown as KernelExports;
}

/** The exports the ops layer calls directly (all but gemm's paths and scratch, and heapBase). */
function kernelsOf(k: KernelExports): Omit<Kernels, "gemm"> {
  const { heapBase: _h, gemmScratchBytes: _s, gemmNn: _nn, gemmNt: _nt, gemmTn: _tn, gemmNtDot: _dot, ...rest } = k;
  return rest;
}
