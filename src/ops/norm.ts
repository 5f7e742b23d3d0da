// Normalisation and dropout: batch norm, layer norm, RMS norm, dropout.
import { ShapeError, ValueError, shapeStr } from "../errors.js";
import { Tensor, requireFloat, sameBackend } from "../tensor.js";
import { checkBool, checkFiniteNumber, checkOptions, describe, checkArgCount } from "../check.js";
import { type BackwardContext, opOutput, record } from "../autograd.js";
import { dense } from "./layout.js";
import { type Generator, defaultGenerator } from "../random.js";

/** Options of batchNorm (torch: training, momentum, eps). */
export interface BatchNormOptions {
  /** Use batch statistics (and update the running ones) — the module's training mode. */
  training?: boolean;
  /** Weight of the new batch in the running averages; null: cumulative average. */
  momentum?: number | null;
  eps?: number;
  /** Batches seen so far (updated here), needed when momentum is null. */
  numBatchesTracked?: Tensor | null;
}

/**
 * F.batch_norm over x (N, C, ...): per channel, (x - mean) / sqrt(var + eps) · weight + bias.
 * Training uses the batch's mean and biased variance and folds them into the running stats
 * (running_var gets the unbiased variance); evaluation uses the running stats.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  options: BatchNormOptions = {},
): Tensor {
  checkArgCount("batchNorm", arguments, 6);
  x = dense(x);
  weight = dense(weight);
  bias = dense(bias);
  checkOptions("batchNorm", options, ["training", "momentum", "eps", "numBatchesTracked"]);
  const { training = false, momentum = 0.1, eps = 1e-5, numBatchesTracked = null } = options;
  requireFloat("batchNorm", "input", x);
  checkBool("batchNorm", "training", training);
  checkBatchNormOptions("batchNorm", eps, momentum);
  for (const [name, t] of [
    ["weight", weight],
    ["bias", bias],
    ["running_mean", runningMean],
    ["running_var", runningVar],
  ] as const) {
    if (t !== null && t !== undefined) requireFloat("batchNorm", name, t);
  }
  if (numBatchesTracked !== null && (!(numBatchesTracked instanceof Tensor) || numBatchesTracked.size !== 1)) {
    throw new ValueError(`batchNorm: numBatchesTracked must be a one-element tensor or null, got ${describe(numBatchesTracked)}`);
  }
  if (x.ndim < 2) throw new ShapeError(`batchNorm: expected input (N, C, ...), got ${shapeStr(x.shape)}`);
  const [N, C] = x.shape;
  const S = x.size / Math.max(N * C, 1);
  for (const [name, t] of [
    ["weight", weight],
    ["bias", bias],
    ["running_mean", runningMean],
    ["running_var", runningVar],
  ] as const) {
    if (t !== null && (t.ndim !== 1 || t.shape[0] !== C)) {
      throw new ShapeError(`batchNorm: ${name} must have shape [${C}] for input ${shapeStr(x.shape)}, got ${shapeStr(t.shape)}`);
    }
  }
  const useBatch = training || runningMean === null || runningVar === null;
  if (useBatch && N * S <= 1) {
    throw new ValueError(`batchNorm: expected more than 1 value per channel when training, got input ${shapeStr(x.shape)}`);
  }
  const be = sameBackend("batchNorm", ...[x, weight, bias, runningMean, runningVar].filter((t): t is Tensor => t !== null));
  const mean = opOutput(be, [C], [x]);
  const invstd = opOutput(be, [C], [x]);
  if (useBatch) {
    const variance = opOutput(be, [C], [x]);
    be.bnStats(mean.ptr, variance.ptr, x.ptr, N, C, S, 0, C);
    setInvStd(invstd, variance, eps);
    if (training && runningMean !== null && runningVar !== null) {
      updateRunningStats(runningMean, runningVar, mean, variance, N * S, momentum, numBatchesTracked);
    }
  } else {
    mean.copy_(runningMean!);
    setInvStd(invstd, runningVar!, eps);
  }
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const out = opOutput(be, x.shape, inputs);
  be.bnForward(out.ptr, x.ptr, mean.ptr, invstd.ptr, weight?.ptr ?? 0, bias?.ptr ?? 0, N, C, S);
  return record(out, "batchNorm", inputs, (g, ctx) => {
    // One reduction pass gives Σdy (= dbias) and Σdy·x̂ (= dweight), which dx needs too.
    const sums = be.heap.alloc(2 * C * 4);
    try {
      be.bnBackwardSums(sums, g.ptr, x.ptr, mean.ptr, invstd.ptr, N, C, S, 0, C);
      const take = (from: number) => (dst: number, acc: boolean) => (acc ? be.axpy(dst, from, 1, C) : be.copy(dst, from, C * 4));
      if (weight) ctx.accumulate(weight, take(sums + C * 4));
      if (bias) ctx.accumulate(bias, take(sums));
      ctx.assign(x, (dx) => be.bnBackwardDx(dx, g.ptr, x.ptr, mean.ptr, invstd.ptr, weight?.ptr ?? 0, sums, N, C, S, useBatch, 0, C));
    } finally {
      be.heap.free(sums);
    }
  });
}

/** eps: a finite number ≥ 0; momentum: a number from 0 to 1, or null (cumulative average). */
export function checkBatchNormOptions(owner: string, eps: unknown, momentum: unknown): void {
  checkFiniteNumber(owner, "eps", eps, 0);
  if (momentum !== null) checkFiniteNumber(owner, "momentum", momentum, 0, 1);
}

/** invstd[c] = 1 / sqrt(var[c] + eps), rounded to float32 as PyTorch computes it. */
function setInvStd(invstd: Tensor, variance: Tensor, eps: number): void {
  const v = variance.data,
    r = invstd.data;
  for (let c = 0; c < r.length; c++) r[c] = 1 / Math.sqrt(v[c] + eps);
}

/** running = (1 - m)·running + m·batch (the variance unbiased by count/(count-1)), as ATen. */
function updateRunningStats(rm: Tensor, rv: Tensor, mean: Tensor, variance: Tensor, count: number, momentum: number | null, tracked: Tensor | null): void {
  let m = momentum;
  if (tracked !== null) {
    tracked.data[0] += 1;
    if (m === null) m = 1 / tracked.data[0];
  }
  m ??= 0.1;
  const rmd = rm.data,
    rvd = rv.data,
    md = mean.data,
    vd = variance.data;
  const unbias = count / Math.max(count - 1, 1);
  for (let c = 0; c < rmd.length; c++) {
    rmd[c] = m * md[c] + (1 - m) * rmd[c];
    rvd[c] = m * vd[c] * unbias + (1 - m) * rvd[c];
  }
}

/**
 * Inverted dropout (F.dropout): in training, zeroes each element with probability p and scales
 * the rest by 1/(1-p); the mask comes from a counter-based hash seeded by one draw of the
 * generator, so manualSeed(n) fixes it in every runtime. Outside training it returns x.
 */
export function dropout(x: Tensor, p = 0.5, training = true, generator: Generator = defaultGenerator): Tensor {
  checkArgCount("dropout", arguments, 4);
  x = dense(x);
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) throw new ValueError(`dropout probability has to be between 0 and 1, but got ${describe(p)}`);
  requireFloat("dropout", "input", x);
  checkBool("dropout", "training", training);
  if (!training || p === 0) return x;
  const be = x.backend;
  const n = x.size;
  const out = opOutput(be, x.shape, [x]);
  const mask = opOutput(be, x.shape, [x]);
  if (p === 1) {
    be.fill(mask.ptr, n, 0);
    be.fill(out.ptr, n, 0);
  } else {
    be.dropout(out.ptr, mask.ptr, x.ptr, n, Math.floor(p * 2 ** 32) >>> 0, Math.fround(1 / (1 - p)), generator.nextU32());
  }
  return record(out, "dropout", [x], (g, ctx) => ctx.assign(x, (dx) => be.mul(dx, g.ptr, mask.ptr, n)));
}

// ---- layer norm, RMS norm ------------------------------------------------------------------------

/** The element count of the trailing normalized dims, checked against the input's shape. */
function normalizedSize(op: string, x: Tensor, normalizedShape: readonly number[]): number {
  if (!Array.isArray(normalizedShape) || normalizedShape.length === 0 || normalizedShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ValueError(`${op}: normalizedShape must be a non-empty array of positive integers, got ${describe(normalizedShape)}`);
  }
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (x.ndim < k || tail.some((d, i) => d !== normalizedShape[i])) {
    throw new ShapeError(`${op}: expected input with shape [*, ${normalizedShape.join(", ")}], got ${shapeStr(x.shape)}`);
  }
  return normalizedShape.reduce((a, b) => a * b, 1);
}

function checkParam(op: string, name: string, t: Tensor | null | undefined, N: number, normalizedShape: readonly number[]): void {
  if (t === null || t === undefined) return;
  requireFloat(op, name, t);
  if (t.size !== N || t.ndim !== normalizedShape.length || t.shape.some((d, i) => d !== normalizedShape[i])) {
    throw new ShapeError(`${op}: ${name} must have shape ${shapeStr(normalizedShape)}, got ${shapeStr(t.shape)}`);
  }
}

/** The gradient buffer of t (0 when t is absent or needs none) handed to `use` with its accumulate flag. */
function gradSlot(ctx: BackwardContext, t: Tensor | null, use: (ptr: number, acc: boolean) => void): void {
  if (t === null || !t.requiresGrad) use(0, false);
  else ctx.accumulate(t, use);
}

/**
 * F.layer_norm: normalizes the trailing dims `normalizedShape` of x to zero mean and unit
 * (biased) variance, then scales by weight and shifts by bias (each optional, of that shape).
 * One fused kernel forward, one backward (dx, dweight and dbias in the same pass).
 */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  checkArgCount("layerNorm", arguments, 5);
  requireFloat("layerNorm", "input", x);
  const N = normalizedSize("layerNorm", x, normalizedShape);
  checkParam("layerNorm", "weight", weight, N, normalizedShape);
  checkParam("layerNorm", "bias", bias, N, normalizedShape);
  if (typeof eps !== "number" || !(eps >= 0) || !Number.isFinite(eps)) throw new ValueError(`layerNorm: eps must be a finite number ≥ 0, got ${describe(eps)}`);
  const xs = dense(x),
    w = weight ? dense(weight) : null,
    b = bias ? dense(bias) : null;
  const be = sameBackend("layerNorm", ...[xs, w, b].filter((t): t is Tensor => t !== null));
  const M = N === 0 ? 0 : xs.size / N;
  const inputs = [xs, ...(w ? [w] : []), ...(b ? [b] : [])];
  const out = opOutput(be, xs.shape, inputs);
  const mean = opOutput(be, [M], inputs),
    rstd = opOutput(be, [M], inputs);
  be.layerNorm(out.ptr, mean.ptr, rstd.ptr, xs.ptr, w ? w.ptr : 0, b ? b.ptr : 0, M, N, eps);
  return record(out, "layerNorm", inputs, (g, ctx) => {
    gradSlot(ctx, w, (dw, accW) =>
      gradSlot(ctx, b, (db, accB) => {
        const run = (dx: number) => be.layerNormBackward(dx, dw, db, g.ptr, xs.ptr, mean.ptr, rstd.ptr, w ? w.ptr : 0, M, N, accW, accB);
        if (xs.requiresGrad) ctx.assign(xs, run);
        else run(0);
      }),
    );
  });
}

/**
 * RMS normalization over the trailing dims: x / sqrt(mean(x²) + eps) · weight (torch.nn.RMSNorm;
 * eps null means float32's machine epsilon, as PyTorch's default). Fused forward and backward.
 */
export function rmsNorm(x: Tensor, normalizedShape: readonly number[], weight: Tensor | null = null, eps: number | null = null): Tensor {
  checkArgCount("rmsNorm", arguments, 4);
  requireFloat("rmsNorm", "input", x);
  const N = normalizedSize("rmsNorm", x, normalizedShape);
  checkParam("rmsNorm", "weight", weight, N, normalizedShape);
  const e = eps ?? 2 ** -23;
  if (typeof e !== "number" || !(e >= 0) || !Number.isFinite(e)) throw new ValueError(`rmsNorm: eps must be a finite number ≥ 0 or null, got ${describe(eps)}`);
  const xs = dense(x),
    w = weight ? dense(weight) : null;
  const be = w ? sameBackend("rmsNorm", xs, w) : xs.backend;
  const M = N === 0 ? 0 : xs.size / N;
  const inputs = [xs, ...(w ? [w] : [])];
  const out = opOutput(be, xs.shape, inputs);
  const rstd = opOutput(be, [M], inputs);
  be.rmsNorm(out.ptr, rstd.ptr, xs.ptr, w ? w.ptr : 0, M, N, e);
  return record(out, "rmsNorm", inputs, (g, ctx) => {
    gradSlot(ctx, w, (dw, accW) => {
      const run = (dx: number) => be.rmsNormBackward(dx, dw, g.ptr, xs.ptr, rstd.ptr, w ? w.ptr : 0, M, N, accW);
      if (xs.requiresGrad) ctx.assign(xs, run);
      else run(0);
    });
  });
}
