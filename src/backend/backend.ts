// The Backend interface: one method per kernel, operating on byte offsets (pointers) into the
// backend's own linear memory. `wasm` runs the AssemblyScript SIMD kernels; `js` runs the same
// formulas as plain loops (the test oracle and the JS side of benchmarks). Shapes are checked by
// the ops layer before any call reaches a backend. Shapes in comments are row-major (rows, cols).
import type { Heap } from "./heap.js";
import { ValueError } from "../errors.js";

export type GemmForm = "nn" | "nt" | "tn";
/** rowwise kernel modes: 0 add, 1 multiply, 2 subtract the row */
export type RowwiseMode = 0 | 1 | 2;

export interface Kernels {
  /**
   * C (M,N) = (accumulate ? C : 0) + bias + op(A)·op(B) with
   * nn: A (M,K) · B (K,N);  nt: A (M,K) · B (N,K)ᵀ;  tn: A (K,M)ᵀ · B (K,N).
   * lda/ldb/ldc are row strides in elements; bias is a length-N row or 0.
   */
  gemm(form: GemmForm, M: number, N: number, K: number, a: number, lda: number, b: number,
       ldb: number, c: number, ldc: number, bias: number, accumulate: boolean): void;

  /** dst (n) = value */
  fill(dst: number, n: number, value: number): void;
  /** dst = src, `bytes` bytes, regions may overlap */
  copy(dst: number, src: number, bytes: number): void;
  /** dst (n) = a + b */
  add(dst: number, a: number, b: number, n: number): void;
  /** dst (n) = a - b */
  sub(dst: number, a: number, b: number, n: number): void;
  /** dst (n) = a * b */
  mul(dst: number, a: number, b: number, n: number): void;
  /** dst (n) = a * s + t */
  affine(dst: number, a: number, s: number, t: number, n: number): void;
  /** dst (n) += alpha * x */
  axpy(dst: number, x: number, alpha: number, n: number): void;
  /** dst (M,N) = a (M,N) op row (N) per row: mode 0 a + row, 1 a * row, 2 a - row */
  rowwise(dst: number, a: number, row: number, M: number, N: number, mode: RowwiseMode): void;
  /** dst (n) = max(x, 0) */
  relu(dst: number, x: number, n: number): void;
  /** dx (n) = y > 0 ? dy : 0, y = relu output */
  reluBackward(dx: number, dy: number, y: number, n: number): void;

  /** Σ x (n), summed in float64 */
  sum(x: number, n: number): number;
  /** dst (N) = (accumulate ? dst : 0) + column sums of x (M,N) */
  colSum(dst: number, x: number, M: number, N: number, accumulate: boolean): void;
  /** dst int32 (M) = index of the first maximum of each row of x (M,N); NaN is the maximum */
  argmaxRows(dst: number, x: number, M: number, N: number): void;

  /** losses (M, or 0) and lse (M) of softmax cross-entropy over x (M,C), int32 labels (M); returns Σ losses */
  softmaxXentForward(x: number, labels: number, M: number, C: number, losses: number, lse: number): number;
  /** dx (M,C) = (softmax(x) - onehot) * scale * (scales ? scales[i] : 1) */
  softmaxXentBackward(dx: number, x: number, labels: number, lse: number, M: number, C: number,
                      scale: number, scales: number): void;
  /** y (M,C) = log_softmax(x) per row */
  logSoftmaxForward(y: number, x: number, M: number, C: number): void;
  /** dx = dy - exp(y) Σ dy per row */
  logSoftmaxBackward(dx: number, dy: number, y: number, M: number, C: number): void;
  /** y (M,C) = softmax(x) per row */
  softmaxForward(y: number, x: number, M: number, C: number): void;
  /** dx = y (dy - Σ dy·y) per row */
  softmaxBackward(dx: number, dy: number, y: number, M: number, C: number): void;
  /** losses (M, or 0) = -x[i][label_i]; returns Σ losses */
  nllForward(x: number, labels: number, M: number, C: number, losses: number): number;
  /** dx (M,C) = 0 except dx[i][label_i] = -scale * (scales ? scales[i] : 1) */
  nllBackward(dx: number, labels: number, M: number, C: number, scale: number, scales: number): void;
  /** Σ (a - b)² over n; squared differences also written to out when out != 0 */
  mseForward(a: number, b: number, n: number, out: number): number;
  /** dx (n) = (a - b) * scale * (scales ? scales[i] : 1) */
  mseBackward(dx: number, a: number, b: number, n: number, scale: number, scales: number): void;

  /** Σ x² over n, in float64 */
  sumsq(x: number, n: number): number;
  /** Number of NaN or ±Infinity elements among x (n) (the anomaly mode's scan) */
  nonfiniteCount(x: number, n: number): number;

  /** cols (C·kh·kw, OH·OW, rows ld apart) ← receptive fields of one image x (C, H, W); 0 outside */
  im2col(cols: number, x: number, C: number, H: number, W: number, kh: number, kw: number, sh: number,
         sw: number, ph: number, pw: number, dh: number, dw: number, OH: number, OW: number, ld: number): void;
  /** dx (C, H, W) (+)= cols (rows ld apart) scattered back to the pixels im2col read them from */
  col2im(dx: number, cols: number, C: number, H: number, W: number, kh: number, kw: number, sh: number,
         sw: number, ph: number, pw: number, dh: number, dw: number, OH: number, OW: number, ld: number,
         accumulate: boolean): void;
  /** dst (B, A, P) ← src (A, B, P) */
  swap01(dst: number, src: number, A: number, B: number, P: number): void;
  /** y (P, OH, OW) = window maxima of x (P, H, W); idx int32 = flat input index of each maximum */
  maxPool2d(y: number, idx: number, x: number, P: number, H: number, W: number, kh: number, kw: number,
            sh: number, sw: number, ph: number, pw: number, OH: number, OW: number): void;
  /** dx (P, H, W) (+)= dy scattered to the recorded maxima */
  maxPool2dBackward(dx: number, dy: number, idx: number, P: number, H: number, W: number, OH: number,
                    OW: number, accumulate: boolean): void;
  /** y (P, OH, OW) = window sums of x / (kh·kw) (padding counts as 0) */
  avgPool2d(y: number, x: number, P: number, H: number, W: number, kh: number, kw: number, sh: number,
            sw: number, ph: number, pw: number, OH: number, OW: number): void;
  /** dx (+)= dy / (kh·kw) spread over each window's pixels */
  avgPool2dBackward(dx: number, dy: number, P: number, H: number, W: number, kh: number, kw: number,
                    sh: number, sw: number, ph: number, pw: number, OH: number, OW: number,
                    accumulate: boolean): void;
  /** y (N, C, S) = v[c] per channel */
  channelFill(y: number, v: number, N: number, C: number, S: number): void;
  /** dst (C) (+)= Σ over n and s of x (N, C, S), in float64 */
  channelSum(dst: number, x: number, N: number, C: number, S: number, accumulate: boolean): void;
  /** mean (C) and biased variance (C) of x (N, C, S) per channel */
  bnStats(mean: number, variance: number, x: number, N: number, C: number, S: number): void;
  /** y = (x - mean[c]) · invstd[c] · w[c] + b[c] (weight/bias 0: affine off) */
  bnForward(y: number, x: number, mean: number, invstd: number, weight: number, bias: number,
            N: number, C: number, S: number): void;
  /** sums (2C) = [Σ dy per channel, Σ dy·x̂ per channel], x̂ = (x - mean)·invstd, in float64 */
  bnBackwardSums(sums: number, dy: number, x: number, mean: number, invstd: number, N: number, C: number, S: number): void;
  /** batch-norm dx from dy and the sums (batchStats: the statistics came from this batch) */
  bnBackwardDx(dx: number, dy: number, x: number, mean: number, invstd: number, weight: number, sums: number,
               N: number, C: number, S: number, batchStats: boolean): void;
  /** inverted dropout: keep i iff fmix32(i·0x9E3779B1 + seed) ≥ threshold; mask = scale or 0 */
  dropout(y: number, mask: number, x: number, n: number, threshold: number, scale: number, seed: number): void;

  /**
   * dst (N, C, OH, OW) ← src (N, C, H, W) warped by one affine map per image (maps: float64, 6
   * per image, output (x, y) → input (a·x + b·y + c, d·x + e·y + f)), nearest neighbour;
   * outside the image: fills[c]
   */
  affineNearest(dst: number, src: number, N: number, C: number, H: number, W: number, OH: number,
                OW: number, maps: number, fills: number): void;

  /** One SGD update in place (see assembly/optim.ts for the exact formula). */
  sgdStep(p: number, g: number, buf: number, n: number, lr: number, momentum: number,
          oneMinusDampening: number, weightDecay: number, nesterov: boolean, firstStep: boolean,
          maximize: boolean): void;
  /** One Adam/AdamW update in place (see assembly/optim.ts for the exact formula). */
  adamStep(p: number, g: number, m: number, v: number, vmax: number, n: number,
           oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, eps: number,
           weightDecay: number, decay: number, decoupled: boolean, amsgrad: boolean,
           maximize: boolean, stepSize: number, bc2Sqrt: number): void;
}

export type BackendName = "wasm" | "js";

export interface Backend extends Kernels {
  readonly name: BackendName;
  readonly heap: Heap;
  readonly memory: WebAssembly.Memory;
  /** Threads gemm may use (see threads.ts); returns how many it will really use (1 if unsupported). */
  setNumThreads(n: number): number;
  getNumThreads(): number;
  /** Counters of the thread pool since it started (null without a pool). */
  threadStats(): import("./threads.js").ThreadStats | null;
  /** Views over the whole memory, rebuilt after the memory grows. */
  f32(): Float32Array;
  i32(): Int32Array;
  u8(): Uint8Array;
}

/** Holds typed-array views over a memory and rebuilds them when `memory.grow` detaches them. */
export class MemoryViews {
  private buffer: ArrayBuffer | SharedArrayBuffer;
  private f32View: Float32Array;
  private i32View: Int32Array;
  private u8View: Uint8Array;

  constructor(private readonly memory: WebAssembly.Memory) {
    this.buffer = memory.buffer;
    this.f32View = new Float32Array(this.buffer);
    this.i32View = new Int32Array(this.buffer);
    this.u8View = new Uint8Array(this.buffer);
  }

  private refresh(): void {
    this.buffer = this.memory.buffer;
    this.f32View = new Float32Array(this.buffer);
    this.i32View = new Int32Array(this.buffer);
    this.u8View = new Uint8Array(this.buffer);
  }

  f32(): Float32Array {
    if (this.buffer !== this.memory.buffer) this.refresh();
    return this.f32View;
  }
  i32(): Int32Array {
    if (this.buffer !== this.memory.buffer) this.refresh();
    return this.i32View;
  }
  u8(): Uint8Array {
    if (this.buffer !== this.memory.buffer) this.refresh();
    return this.u8View;
  }
}

export interface MemoryOptions {
  /** Upper bound of the backend's memory in bytes (default 4 GiB − 64 KiB, the wasm32 limit). */
  maxMemoryBytes?: number;
}

export const WASM32_MAX_BYTES = 65535 * 65536;

/** A memory for a backend; `shared` (for the thread pool) needs a SharedArrayBuffer-capable runtime. */
export function createMemory(options: MemoryOptions = {}, shared = false): { memory: WebAssembly.Memory; max: number } {
  const limit = options?.maxMemoryBytes;
  if (limit !== undefined && (typeof limit !== "number" || !(limit >= 65536))) {
    throw new ValueError(`createBackend: maxMemoryBytes must be a number of bytes ≥ 65536 (one wasm page), got ${String(limit)}`);
  }
  const max = Math.min(limit ?? WASM32_MAX_BYTES, WASM32_MAX_BYTES);
  const maximum = Math.max(1, Math.floor(max / 65536));
  const memory = new WebAssembly.Memory({ initial: Math.min(32, maximum), maximum, shared });
  return { memory, max: maximum * 65536 };
}
