// The default backend: the AssemblyScript SIMD kernels, instantiated with @assemblyscript/loader
// on a memory we create and own. Backend methods are the raw exports themselves (pointer ABI,
// the same names as the Kernels methods), so a kernel call costs one JS→wasm transition; only
// gemm gets a wrapper, which picks the path and owns the packing scratch.
import { instantiateSync } from "@assemblyscript/loader";
import { type Backend, type GemmForm, type Kernels, MemoryViews, type MemoryOptions, createMemory, metaWriter } from "./backend.js";
import { KERNEL_NAMES, type KernelExports } from "./kernel-exports.generated.js";
import { Heap } from "./heap.js";
import { ValueError } from "../errors.js";
import { type GemmArgs, ThreadPool, gemmFlags } from "./threads.js";

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
  const setNumThreads = (n: number): number => {
    const want = shared ? n : 1;
    if ((pool?.threads ?? 1) === want) return want;
    pool?.close();
    pool = want > 1 ? new ThreadPool(want, module, memory, heap, (M) => k.gemmScratchBytes(M)) : null;
    return want;
  };

  return {
    ...kernelsOf(k),
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
    threadStats: () => (pool === null ? null : { ...pool.stats }),
    // Attention splits over (batch, head) pairs; the record holds T, S, D at words 8–10 (forward)
    // or 12–14 (backward), see assembly/attention.ts.
    attentionForward(args, bh0, bh1, work) {
      const I = views.i32();
      const flops = 4 * I[(args >>> 2) + 8] * I[(args >>> 2) + 9] * I[(args >>> 2) + 10] * (bh1 - bh0);
      const bytes = 4 * k.attentionWorkFloats();
      if (bh0 === 0 && pool?.attention("forward", args, bh1, flops, bytes, (lo, hi) => k.attentionForward(args, lo, hi, work))) return;
      k.attentionForward(args, bh0, bh1, work);
    },
    attentionBackward(args, bh0, bh1, work) {
      const I = views.i32();
      const flops = 10 * I[(args >>> 2) + 12] * I[(args >>> 2) + 13] * I[(args >>> 2) + 14] * (bh1 - bh0);
      const bytes = 8 * k.attentionWorkFloats();
      if (bh0 === 0 && pool?.attention("backward", args, bh1, flops, bytes, (lo, hi) => k.attentionBackward(args, lo, hi, work))) return;
      k.attentionBackward(args, bh0, bh1, work);
    },
    // Activations (GELU, tanh, exp, ...) cost ~10–40 operations an element: big ones split by range.
    unary(op, dst, x, n, p0, p1) {
      const job = (lo: number, hi: number) => [op, dst + 4 * lo, x + 4 * lo, hi - lo, { float: p0 }, { float: p1 }];
      if (pool?.elementwise("unary", n, UNARY_FLOPS * n, job, (lo, hi) => k.unary(op, dst + 4 * lo, x + 4 * lo, hi - lo, p0, p1))) return;
      k.unary(op, dst, x, n, p0, p1);
    },
    unaryBackward(op, dx, dy, x, y, n, p0, p1) {
      const at = (lo: number) => [dx + 4 * lo, dy + 4 * lo, x + 4 * lo, y + 4 * lo] as const;
      const job = (lo: number, hi: number) => [op, ...at(lo), hi - lo, { float: p0 }, { float: p1 }];
      if (pool?.elementwise("unaryBackward", n, UNARY_FLOPS * n, job, (lo, hi) => k.unaryBackward(op, ...at(lo), hi - lo, p0, p1))) return;
      k.unaryBackward(op, dx, dy, x, y, n, p0, p1);
    },
    gemm(form: GemmForm, M, N, K, a, lda, b, ldb, c, ldc, bias, accumulate, relu = false) {
      // The path is chosen from the whole problem, before any split: it fixes the summation order.
      const g: GemmArgs = { form: form === "nt" && M < NT_DOT_MAX_ROWS ? "dot" : form, M, N, K, a, lda, b, ldb, c, ldc, bias, accumulate, relu };
      if (pool?.gemm(g, runGemm, gemmScratch)) return;
      runGemm(g);
    },
  };
}

/** The work of one activation element, counted as flops for the thread pool's split threshold. */
const UNARY_FLOPS = 20;

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
