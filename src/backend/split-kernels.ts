// How the thread pool splits each kernel besides gemm: into ranges of independent items (elements,
// rows, channels, planes, (batch, head) pairs) whose outputs no other range writes, each run with
// the same instructions as the whole call — so the bits never depend on the number of threads.
// A range moves the pointers to its first item; the scalars stay those of the whole call.
//
// Work is counted in flop-equivalents per item (COST), calibrated with `npm run
// bench:threads-kernels`: a call splits from HOT_SPLIT_MIN_FLOPS / COST items on while a worker
// spins, from SPLIT_MIN_FLOPS / COST items on otherwise (see threads.ts).
import type { Kernels } from "./backend.js";
import type { KernelExports } from "./kernel-exports.generated.js";
import type { JobArg, JobName, ThreadPool } from "./threads.js";

/**
 * Flop-equivalents per item of each kernel family: a call splits from HOT_SPLIT_MIN_FLOPS / COST
 * items on (1e6 / COST) while a worker spins, 8× that for a sleeping one. Set so that a family
 * splits from ~150–300 µs of one-thread work on: `npm run bench:threads-kernels` on 2 shared cores
 * showed 2 threads at 1.1–1.9× from there and mostly slower below ~100 µs (softmax excepted, which
 * gains from ~150 µs; docs/threads.md).
 */
export const COST = {
  /** Memory-bound elementwise kernels (add, mul, relu, fill, affine...), per element: ~0.3 ns; from 667k. */
  elementwise: 1.5,
  /** Activations (GELU, tanh, exp...), per element; from 50k. */
  unary: 20,
  /** Optimizer steps, per parameter: Adam ~0.8 ns; from 250k. */
  optimizer: 4,
  /** softmax / log-softmax / logsumexp over a dim, per element: ~2.5 ns; from 50k. */
  softmax: 20,
  /** layer norm / RMS norm forward, per element: ~1.2 ns; from 167k. */
  norm: 6,
  /** batch norm forward (and statistics, backward), per element: ~0.4 ns; from 500k. */
  batchNorm: 2,
  /** im2col / col2im of one image, per column entry: ~0.4 ns; from 500k. */
  im2col: 2,
  /**
   * im2col / col2im over several images (a conv's group), per column entry: the 2·O flops of the
   * gemm that reads or wrote those columns, for O = 32 filters. That gemm splits a conv by columns,
   * i.e. by images; splitting im2col and col2im alike keeps each image's columns in the cache of
   * the core that multiplies them (written by one core, read by the other, they ran 2.5× slower).
   */
  im2colImages: 64,
  /** pooling, per input element: ~0.45 ns; from 500k. */
  pool: 2,
} as const;

/** The pointer `ptr` moved by `floats` 4-byte items; a null pointer (an absent optional tensor) stays null. */
const at = (ptr: number, floats: number): number => (ptr === 0 ? 0 : ptr + 4 * floats);

type Raw = (...a: JobArg[]) => void;

/**
 * The Kernels methods that hand ranges to `pool`: each tries the split and otherwise runs the raw
 * export. `i32` reads the attention kernels' argument record.
 */
export function splitKernels(k: KernelExports, pool: ThreadPool, i32: () => Int32Array): Partial<Kernels> {
  /** Wraps `job`: `items(a)` gives [count, flops] of the call, `slice(a, lo, hi)` the arguments of a range. */
  const split =
    (job: JobName, align: number, items: (a: JobArg[]) => [number, number], slice: (a: JobArg[], lo: number, hi: number) => JobArg[]) =>
    (...a: JobArg[]): void => {
      const [total, flops] = items(a);
      if (!pool.ranges(job, total, align, flops, (lo, hi) => slice(a, lo, hi))) (k[job] as Raw)(...a);
    };
  /** An elementwise kernel over n elements at a[nAt]: the pointers at `ptrs` move, ranges aligned to 4 (the SIMD width). */
  const perElement = (job: JobName, ptrs: number[], nAt: number, cost: number) =>
    split(
      job,
      4,
      (a) => [a[nAt] as number, cost * (a[nAt] as number)],
      (a, lo, hi) => {
        const b = a.slice();
        for (const p of ptrs) b[p] = at(a[p] as number, lo);
        b[nAt] = hi - lo;
        return b;
      },
    );
  const n = (x: JobArg) => x as number;
  /** A batch-norm kernel over (N, C, S) with N at a[nAt] and the channel range [c0, c1) last. */
  const byChannels = (job: JobName, nAt: number) =>
    split(
      job,
      1,
      (a) => {
        const channels = n(a[a.length - 1]) - n(a[a.length - 2]);
        return [channels, COST.batchNorm * n(a[nAt]) * channels * n(a[nAt + 2])];
      },
      (a, lo, hi) => {
        const c0 = n(a[a.length - 2]);
        return [...a.slice(0, -2), c0 + lo, c0 + hi];
      },
    );
  /**
   * im2col / col2im: calls over several images split by images, at the cost of the gemm that
   * consumes their columns (COST.im2colImages), so that both split alike; one image by channels.
   */
  const byImagesOrChannels = (
    job: JobName,
    imagesAt: number,
    byImages: (a: JobArg[], lo: number, hi: number) => JobArg[],
    byChannels: (a: JobArg[], lo: number, hi: number) => JobArg[],
  ) => {
    const entries = (a: JobArg[]) => n(a[2]) * n(a[5]) * n(a[6]) * n(a[13]) * n(a[14]);
    const images = split(job, 1, (a) => [n(a[imagesAt]), COST.im2colImages * n(a[imagesAt]) * entries(a)], byImages);
    const channels = split(job, 1, (a) => [n(a[2]), COST.im2col * entries(a)], byChannels);
    return (...a: JobArg[]): void => (n(a[imagesAt]) > 1 ? images(...a) : channels(...a));
  };
  const E = COST.elementwise,
    O = COST.optimizer;
  return {
    fill: perElement("fill", [0], 1, E),
    add: perElement("add", [0, 1, 2], 3, E),
    sub: perElement("sub", [0, 1, 2], 3, E),
    mul: perElement("mul", [0, 1, 2], 3, E),
    affine: perElement("affine", [0, 1], 4, E),
    axpy: perElement("axpy", [0, 1], 3, E),
    relu: perElement("relu", [0, 1], 2, E),
    reluBackward: perElement("reluBackward", [0, 1, 2], 3, E),
    unary: perElement("unary", [1, 2], 3, COST.unary),
    unaryBackward: perElement("unaryBackward", [1, 2, 3, 4], 5, COST.unary),
    sgdStep: perElement("sgdStep", [0, 1, 2], 3, O),
    adamStep: perElement("adamStep", [0, 1, 2, 3, 4], 5, O),
    rmspropStep: perElement("rmspropStep", [0, 1, 2, 3, 4], 5, O),
    adagradStep: perElement("adagradStep", [0, 1, 2], 3, O),
    adadeltaStep: perElement("adadeltaStep", [0, 1, 2, 3], 4, O),
    adamaxStep: perElement("adamaxStep", [0, 1, 2, 3], 4, O),
    nadamStep: perElement("nadamStep", [0, 1, 2, 3], 4, O),
    radamStep: perElement("radamStep", [0, 1, 2, 3], 4, O),
    // (dst, a, row, M, N, mode): rows
    rowwise: split(
      "rowwise",
      1,
      (a) => [n(a[3]), E * n(a[3]) * n(a[4])],
      (a, lo, hi) => [at(n(a[0]), lo * n(a[4])), at(n(a[1]), lo * n(a[4])), a[2], hi - lo, a[4], a[5]],
    ),
    // (y, x, outer, R, inner, log) and (dx, dy, y, outer, R, inner, log): outer blocks of R·inner
    softmaxDim: split(
      "softmaxDim",
      1,
      (a) => [n(a[2]), COST.softmax * n(a[2]) * n(a[3]) * n(a[4])],
      (a, lo, hi) => [at(n(a[0]), lo * n(a[3]) * n(a[4])), at(n(a[1]), lo * n(a[3]) * n(a[4])), hi - lo, a[3], a[4], a[5]],
    ),
    softmaxDimBackward: split(
      "softmaxDimBackward",
      1,
      (a) => [n(a[3]), COST.softmax * n(a[3]) * n(a[4]) * n(a[5])],
      (a, lo, hi) => {
        const block = lo * n(a[4]) * n(a[5]);
        return [at(n(a[0]), block), at(n(a[1]), block), at(n(a[2]), block), hi - lo, a[4], a[5], a[6]];
      },
    ),
    // (dst, x, outer, R, inner): dst holds outer·inner
    logsumexpDim: split(
      "logsumexpDim",
      1,
      (a) => [n(a[2]), COST.softmax * n(a[2]) * n(a[3]) * n(a[4])],
      (a, lo, hi) => [at(n(a[0]), lo * n(a[4])), at(n(a[1]), lo * n(a[3]) * n(a[4])), hi - lo, a[3], a[4]],
    ),
    // (y, mean, rstd, x, w, b, M, N, eps) and (y, rstd, x, w, M, N, eps): rows; w and b are per column
    layerNorm: split(
      "layerNorm",
      1,
      (a) => [n(a[6]), COST.norm * n(a[6]) * n(a[7])],
      (a, lo, hi) => [at(n(a[0]), lo * n(a[7])), at(n(a[1]), lo), at(n(a[2]), lo), at(n(a[3]), lo * n(a[7])), a[4], a[5], hi - lo, a[7], a[8]],
    ),
    rmsNorm: split(
      "rmsNorm",
      1,
      (a) => [n(a[4]), COST.norm * n(a[4]) * n(a[5])],
      (a, lo, hi) => [at(n(a[0]), lo * n(a[5])), at(n(a[1]), lo), at(n(a[2]), lo * n(a[5])), a[3], hi - lo, a[5], a[6]],
    ),
    // (y, x, mean, invstd, weight, bias, N, C, S): by samples (the per-channel values are shared)
    bnForward: split(
      "bnForward",
      1,
      (a) => [n(a[6]), COST.batchNorm * n(a[6]) * n(a[7]) * n(a[8])],
      (a, lo, hi) => [at(n(a[0]), lo * n(a[7]) * n(a[8])), at(n(a[1]), lo * n(a[7]) * n(a[8])), a[2], a[3], a[4], a[5], hi - lo, a[7], a[8]],
    ),
    // Batch-norm statistics and backward: by channels [c0, c1) (the last two arguments); each
    // channel's sums run over the samples in the same order whatever the range.
    channelSum: byChannels("channelSum", 2),
    bnStats: byChannels("bnStats", 3),
    bnBackwardSums: byChannels("bnBackwardSums", 5),
    bnBackwardDx: byChannels("bnBackwardDx", 7),
    // (cols, x, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, OH, OW, ld[, accumulate], images): several
    // images by images (image n's columns start at column n·OH·OW), one image by channels (kh·kw
    // rows of ld columns each; col2im's overlapping windows stay within a channel).
    im2col: byImagesOrChannels(
      "im2col",
      16,
      (a, lo, hi) => [at(n(a[0]), lo * n(a[13]) * n(a[14])), at(n(a[1]), lo * n(a[2]) * n(a[3]) * n(a[4])), ...a.slice(2, 16), hi - lo],
      (a, lo, hi) => [at(n(a[0]), lo * n(a[5]) * n(a[6]) * n(a[15])), at(n(a[1]), lo * n(a[3]) * n(a[4])), hi - lo, ...a.slice(3)],
    ),
    col2im: byImagesOrChannels(
      "col2im",
      17,
      (a, lo, hi) => [at(n(a[0]), lo * n(a[2]) * n(a[3]) * n(a[4])), at(n(a[1]), lo * n(a[13]) * n(a[14])), ...a.slice(2, 17), hi - lo],
      (a, lo, hi) => [at(n(a[0]), lo * n(a[3]) * n(a[4])), at(n(a[1]), lo * n(a[5]) * n(a[6]) * n(a[15])), hi - lo, ...a.slice(3)],
    ),
    // pooling over P planes of (H, W) → (OH, OW); maxPool's idx is per plane
    maxPool2d: split(
      "maxPool2d",
      1,
      (a) => [n(a[3]), COST.pool * n(a[3]) * n(a[4]) * n(a[5])],
      (a, lo, hi) => {
        const out = lo * n(a[12]) * n(a[13]);
        return [at(n(a[0]), out), at(n(a[1]), out), at(n(a[2]), lo * n(a[4]) * n(a[5])), hi - lo, ...a.slice(4)];
      },
    ),
    maxPool2dBackward: split(
      "maxPool2dBackward",
      1,
      (a) => [n(a[3]), COST.pool * n(a[3]) * n(a[4]) * n(a[5])],
      (a, lo, hi) => {
        const out = lo * n(a[6]) * n(a[7]);
        return [at(n(a[0]), lo * n(a[4]) * n(a[5])), at(n(a[1]), out), at(n(a[2]), out), hi - lo, ...a.slice(4)];
      },
    ),
    avgPool2d: split(
      "avgPool2d",
      1,
      (a) => [n(a[2]), COST.pool * n(a[2]) * n(a[3]) * n(a[4])],
      (a, lo, hi) => [at(n(a[0]), lo * n(a[11]) * n(a[12])), at(n(a[1]), lo * n(a[3]) * n(a[4])), hi - lo, ...a.slice(3)],
    ),
    avgPool2dBackward: split(
      "avgPool2dBackward",
      1,
      (a) => [n(a[2]), COST.pool * n(a[2]) * n(a[3]) * n(a[4])],
      (a, lo, hi) => [at(n(a[0]), lo * n(a[3]) * n(a[4])), at(n(a[1]), lo * n(a[11]) * n(a[12])), hi - lo, ...a.slice(3)],
    ),
    // Attention: (batch, head) pairs; the record holds T, S, D at words 8–10 (forward) or 12–14
    // (backward), see assembly/attention.ts. Each worker gets its own work buffer.
    attentionForward: (args, bh0, bh1, work) => {
      const I = i32();
      const flops = 4 * I[(args >>> 2) + 8] * I[(args >>> 2) + 9] * I[(args >>> 2) + 10] * (bh1 - bh0);
      const bytes = 4 * k.attentionWorkFloats();
      if (bh0 === 0 && pool.ranges("attentionForward", bh1, 1, flops, (lo, hi, w) => [args, lo, hi, w], bytes, work)) return;
      k.attentionForward(args, bh0, bh1, work);
    },
    attentionBackward: (args, bh0, bh1, work) => {
      const I = i32();
      const flops = 10 * I[(args >>> 2) + 12] * I[(args >>> 2) + 13] * I[(args >>> 2) + 14] * (bh1 - bh0);
      const bytes = 8 * k.attentionWorkFloats();
      if (bh0 === 0 && pool.ranges("attentionBackward", bh1, 1, flops, (lo, hi, w) => [args, lo, hi, w], bytes, work)) return;
      k.attentionBackward(args, bh0, bh1, work);
    },
  };
}
