// The default backend: the AssemblyScript SIMD kernels, instantiated with @assemblyscript/loader
// on a memory we create and own. Backend methods are the raw exports themselves (pointer ABI),
// so a kernel call costs one JS→wasm transition; only gemm gets a wrapper, which picks the path
// and owns the packing scratch.
import { instantiateSync } from "@assemblyscript/loader";
import { type Backend, type GemmForm, MemoryViews, type MemoryOptions, createMemory } from "./backend.js";
import { Heap } from "./heap.js";
import { type GemmArgs, ThreadPool } from "./threads.js";

/** The raw exports of assembly/index.ts (pointers are byte offsets; bool parameters take JS booleans). */
interface KernelExports {
  heap_base(): number;
  gemm_scratch_bytes(M: number): number;
  gemm_nn(M: number, N: number, K: number, a: number, lda: number, b: number, ldb: number,
          c: number, ldc: number, bias: number, accumulate: boolean, scratch: number): void;
  gemm_nt(M: number, N: number, K: number, a: number, lda: number, b: number, ldb: number,
          c: number, ldc: number, bias: number, accumulate: boolean, scratch: number): void;
  gemm_tn(M: number, N: number, K: number, a: number, lda: number, b: number, ldb: number,
          c: number, ldc: number, bias: number, accumulate: boolean, scratch: number): void;
  gemm_nt_dot(M: number, N: number, K: number, a: number, lda: number, b: number, ldb: number,
              c: number, ldc: number, bias: number, accumulate: boolean): void;
  fill(dst: number, n: number, value: number): void;
  copy(dst: number, src: number, bytes: number): void;
  add(dst: number, a: number, b: number, n: number): void;
  sub(dst: number, a: number, b: number, n: number): void;
  mul(dst: number, a: number, b: number, n: number): void;
  affine(dst: number, a: number, s: number, t: number, n: number): void;
  axpy(dst: number, x: number, alpha: number, n: number): void;
  rowwise(dst: number, a: number, row: number, M: number, N: number, mode: number): void;
  relu(dst: number, x: number, n: number): void;
  relu_backward(dx: number, dy: number, y: number, n: number): void;
  sum(x: number, n: number): number;
  col_sum(dst: number, x: number, M: number, N: number, accumulate: boolean): void;
  argmax_rows(dst: number, x: number, M: number, N: number): void;
  softmax_xent_forward(x: number, labels: number, M: number, C: number, losses: number, lse: number): number;
  softmax_xent_backward(dx: number, x: number, labels: number, lse: number, M: number, C: number,
                        scale: number, scales: number): void;
  log_softmax_forward(y: number, x: number, M: number, C: number): void;
  log_softmax_backward(dx: number, dy: number, y: number, M: number, C: number): void;
  softmax_forward(y: number, x: number, M: number, C: number): void;
  softmax_backward(dx: number, dy: number, y: number, M: number, C: number): void;
  nll_forward(x: number, labels: number, M: number, C: number, losses: number): number;
  nll_backward(dx: number, labels: number, M: number, C: number, scale: number, scales: number): void;
  mse_forward(a: number, b: number, n: number, out: number): number;
  mse_backward(dx: number, a: number, b: number, n: number, scale: number, scales: number): void;
  sumsq(x: number, n: number): number;
  nonfinite_count(x: number, n: number): number;
  im2col(cols: number, x: number, C: number, H: number, W: number, kh: number, kw: number, sh: number,
         sw: number, ph: number, pw: number, dh: number, dw: number, OH: number, OW: number, ld: number): void;
  col2im(dx: number, cols: number, C: number, H: number, W: number, kh: number, kw: number, sh: number,
         sw: number, ph: number, pw: number, dh: number, dw: number, OH: number, OW: number, ld: number,
         accumulate: boolean): void;
  swap01(dst: number, src: number, A: number, B: number, P: number): void;
  maxpool2d(y: number, idx: number, x: number, P: number, H: number, W: number, kh: number, kw: number,
            sh: number, sw: number, ph: number, pw: number, OH: number, OW: number): void;
  maxpool2d_backward(dx: number, dy: number, idx: number, P: number, H: number, W: number, OH: number,
                     OW: number, accumulate: boolean): void;
  avgpool2d(y: number, x: number, P: number, H: number, W: number, kh: number, kw: number, sh: number,
            sw: number, ph: number, pw: number, OH: number, OW: number): void;
  avgpool2d_backward(dx: number, dy: number, P: number, H: number, W: number, kh: number, kw: number,
                     sh: number, sw: number, ph: number, pw: number, OH: number, OW: number,
                     accumulate: boolean): void;
  channel_fill(y: number, v: number, N: number, C: number, S: number): void;
  channel_sum(dst: number, x: number, N: number, C: number, S: number, accumulate: boolean): void;
  bn_stats(mean: number, variance: number, x: number, N: number, C: number, S: number): void;
  bn_forward(y: number, x: number, mean: number, invstd: number, weight: number, bias: number,
             N: number, C: number, S: number): void;
  bn_backward_sums(sums: number, dy: number, x: number, mean: number, invstd: number, N: number, C: number, S: number): void;
  bn_backward_dx(dx: number, dy: number, x: number, mean: number, invstd: number, weight: number, sums: number,
                 N: number, C: number, S: number, batchStats: boolean): void;
  dropout(y: number, mask: number, x: number, n: number, threshold: number, scale: number, seed: number): void;
  affine_nearest(dst: number, src: number, N: number, C: number, H: number, W: number, OH: number,
                 OW: number, maps: number, fills: number): void;
  sgd_step(p: number, g: number, buf: number, n: number, lr: number, momentum: number,
           oneMinusDampening: number, weightDecay: number, nesterov: boolean, firstStep: boolean,
           maximize: boolean): void;
  adam_step(p: number, g: number, m: number, v: number, vmax: number, n: number,
            oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, eps: number,
            weightDecay: number, decay: number, decoupled: boolean, amsgrad: boolean,
            maximize: boolean, stepSize: number, bc2Sqrt: number): void;
}

/** Below this many rows, A·Bᵀ runs as dot products instead of transposing B into panels. */
const NT_DOT_MAX_ROWS = 4;

export interface WasmBackendOptions extends MemoryOptions {
  /** The module is the shared-memory build (kernels-mt.wasm): the memory is shared and
   *  setNumThreads(n > 1) can start a worker pool on it. */
  shared?: boolean;
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
  const k = instance.exports as unknown as KernelExports;
  const views = new MemoryViews(memory);
  const heap = new Heap(memory, k.heap_base(), max);

  // Scratch for packed panels of A and B; grows with the largest M seen.
  let scratch = 0;
  let scratchBytes = 0;
  const gemmScratch = (M: number): number => {
    const need = k.gemm_scratch_bytes(M);
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
    const { M, N, K, a, lda, b, ldb, c, ldc, bias, accumulate } = g;
    if (g.form === "dot") k.gemm_nt_dot(M, N, K, a, lda, b, ldb, c, ldc, bias, accumulate);
    else if (g.form === "nn") k.gemm_nn(M, N, K, a, lda, b, ldb, c, ldc, bias, accumulate, gemmScratch(M));
    else if (g.form === "nt") k.gemm_nt(M, N, K, a, lda, b, ldb, c, ldc, bias, accumulate, gemmScratch(M));
    else k.gemm_tn(M, N, K, a, lda, b, ldb, c, ldc, bias, accumulate, gemmScratch(M));
  };

  let pool: ThreadPool | null = null;
  const setNumThreads = (n: number): number => {
    const want = shared ? n : 1;
    if ((pool?.threads ?? 1) === want) return want;
    pool?.close();
    pool = want > 1 ? new ThreadPool(want, module, memory, heap, (M) => k.gemm_scratch_bytes(M)) : null;
    return want;
  };

  return {
    name: "wasm",
    heap,
    memory,
    f32: () => views.f32(),
    i32: () => views.i32(),
    u8: () => views.u8(),
    setNumThreads,
    getNumThreads: () => pool?.threads ?? 1,
    threadStats: () => (pool === null ? null : { ...pool.stats }),
    gemm(form: GemmForm, M, N, K, a, lda, b, ldb, c, ldc, bias, accumulate) {
      // The path is chosen from the whole problem, before any split: it fixes the summation order.
      const g: GemmArgs = { form: form === "nt" && M < NT_DOT_MAX_ROWS ? "dot" : form, M, N, K, a, lda, b, ldb, c, ldc, bias, accumulate };
      if (pool !== null && pool.gemm(g, runGemm)) return;
      runGemm(g);
    },
    fill: k.fill,
    copy: k.copy,
    add: k.add,
    sub: k.sub,
    mul: k.mul,
    affine: k.affine,
    axpy: k.axpy,
    rowwise: k.rowwise,
    relu: k.relu,
    reluBackward: k.relu_backward,
    sum: k.sum,
    colSum: k.col_sum,
    argmaxRows: k.argmax_rows,
    softmaxXentForward: k.softmax_xent_forward,
    softmaxXentBackward: k.softmax_xent_backward,
    logSoftmaxForward: k.log_softmax_forward,
    logSoftmaxBackward: k.log_softmax_backward,
    softmaxForward: k.softmax_forward,
    softmaxBackward: k.softmax_backward,
    nllForward: k.nll_forward,
    nllBackward: k.nll_backward,
    mseForward: k.mse_forward,
    mseBackward: k.mse_backward,
    sumsq: k.sumsq,
    nonfiniteCount: k.nonfinite_count,
    im2col: k.im2col,
    col2im: k.col2im,
    swap01: k.swap01,
    maxPool2d: k.maxpool2d,
    maxPool2dBackward: k.maxpool2d_backward,
    avgPool2d: k.avgpool2d,
    avgPool2dBackward: k.avgpool2d_backward,
    channelFill: k.channel_fill,
    channelSum: k.channel_sum,
    bnStats: k.bn_stats,
    bnForward: k.bn_forward,
    bnBackwardSums: k.bn_backward_sums,
    bnBackwardDx: k.bn_backward_dx,
    dropout: k.dropout,
    affineNearest: k.affine_nearest,
    sgdStep: k.sgd_step,
    adamStep: k.adam_step,
  };
}
