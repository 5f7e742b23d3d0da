// Losses with PyTorch 1.13's formulas, options and reductions. Cross-entropy and NLL on class
// indices without weights or label smoothing run fused kernels (softmax and NLL in one pass,
// ignored rows skipped); every other case is composed of the library's ops, so autograd
// differentiates it. Class targets are checked (dtype, shape, range except ignoreIndex) before
// any kernel runs.
import { DTypeError, ShapeError, ValueError, shapeStr } from "../errors.js";
import { Tensor, numel, requireFloat, sameBackend } from "../tensor.js";
import { checkFiniteNumber, checkOptions, describe, checkArgCount } from "../check.js";
import { opOutput, record } from "../autograd.js";
import { dense, movedim, reshape } from "./layout.js";
import { add, maximum, mul, ne, sub, where } from "./elementwise.js";
import { abs, clamp, exp, log, log1p, neg, relu } from "./math.js";
import { mean, sum } from "./reduce.js";
import { logSoftmax } from "./softmax.js";
import { gather } from "./indexing.js";

/** How a loss reduces its per-element values: "mean" (default), "sum" or "none". */
export type Reduction = "mean" | "sum" | "none";

/** Throws unless `reduction` is one of "mean", "sum", "none" (or the extra ones listed). */
export function checkReduction(op: string, reduction: string, extra: readonly string[] = []): asserts reduction is Reduction {
  if (reduction !== "mean" && reduction !== "sum" && reduction !== "none" && !extra.includes(reduction)) {
    throw new ValueError(
      `${op}: reduction must be ${["mean", "sum", "none", ...extra]
        .map((r) => `'${r}'`)
        .join(", ")
        .replace(/, ([^,]*)$/, " or $1")}, got ${describe(reduction)}`,
    );
  }
}

/** Options of crossEntropy (F.cross_entropy's keyword arguments). */
export interface CrossEntropyOptions {
  /** Per-class weights (C). */
  weight?: Tensor | null;
  /** Targets equal to this class index add nothing (default -100). */
  ignoreIndex?: number;
  reduction?: Reduction;
  /** Mixes the targets with the uniform distribution: (1 - ε)·target + ε/C. */
  labelSmoothing?: number;
}

/** Options of nllLoss. */
export interface NLLLossOptions {
  weight?: Tensor | null;
  ignoreIndex?: number;
  reduction?: Reduction;
}

/** A reduction given as a string (the old positional form) or inside an options object. */
function lossOptions<T extends { reduction?: Reduction }>(op: string, arg: Reduction | T | undefined, keys: readonly string[]): T {
  if (arg === undefined) return {} as T;
  if (typeof arg === "string") return { reduction: arg } as T;
  checkOptions(op, arg, keys);
  return arg;
}

/** The class dim moved last and flattened: logits (M, C) and, for index targets, labels (M). */
interface Flat {
  x: Tensor;
  target: Tensor;
  C: number;
  /** the shape a 'none' result takes (the target's shape without the class dim) */
  outShape: number[];
  probs: boolean;
}

function flatten2d(op: string, input: Tensor, target: Tensor): Flat {
  requireFloat(op, "input", input);
  if (!(target instanceof Tensor)) throw new ValueError(`${op}: target must be a Tensor, got ${describe(target)}`);
  sameBackend(op, input, target);
  if (input.ndim === 0) throw new ShapeError(`${op}: input must have a class dim: (C), (N, C) or (N, C, d1, ...), got a scalar`);
  const C = input.ndim === 1 ? input.shape[0] : input.shape[1];
  const probs = target.dtype === "float32";
  const batchShape = input.ndim === 1 ? [] : [input.shape[0], ...input.shape.slice(2)];
  const sameAsBatch = target.ndim === batchShape.length && target.shape.every((d, i) => d === batchShape[i]);
  if (probs && sameAsBatch && (target.ndim !== input.ndim || input.ndim === 1)) {
    throw new DTypeError(
      `${op}: target must be int32 class indices, got float32 (use tensor(labels, { dtype: "int32" }); float targets are class probabilities of the input's shape ${shapeStr(input.shape)})`,
    );
  }
  if (probs) {
    if (target.ndim !== input.ndim || target.shape.some((d, i) => d !== input.shape[i])) {
      throw new ShapeError(`${op}: probability targets must have the input's shape ${shapeStr(input.shape)}, got ${shapeStr(target.shape)}`);
    }
  } else {
    if (target.dtype !== "int32")
      throw new DTypeError(
        `${op}: target must be int32 class indices (or float32 probabilities), got ${target.dtype} (use tensor(labels, { dtype: "int32" }))`,
      );
    if (target.ndim !== batchShape.length || target.shape.some((d, i) => d !== batchShape[i])) {
      throw new ShapeError(`${op}: target shape ${shapeStr(target.shape)} does not match input ${shapeStr(input.shape)}: expected ${shapeStr(batchShape)}`);
    }
  }
  const toRows = (t: Tensor) => (t.ndim === 1 ? reshape(t, [1, C]) : t.ndim === 2 ? t : reshape(movedim(t, 1, -1), [-1, C]));
  const x = dense(toRows(input));
  const tgt = dense(probs ? toRows(target) : reshape(target, [numel(batchShape)]));
  return { x, target: tgt, C, outShape: batchShape, probs };
}

/** Class indices in [0, C) or equal to ignoreIndex; returns how many rows count. */
function checkLabels(op: string, labels: Tensor, C: number, ignoreIndex: number): number {
  const data = labels.data;
  let counted = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v === ignoreIndex) continue;
    if (v < 0 || v >= C)
      throw new ValueError(
        `${op}: target ${v} at index ${i} is out of range for ${C} classes (expected 0 ≤ target < ${C}${ignoreIndex < 0 || ignoreIndex >= C ? ` or ignoreIndex ${ignoreIndex}` : ""})`,
      );
    counted++;
  }
  return counted;
}

function checkWeight(op: string, weight: Tensor | null | undefined, C: number): Tensor | null {
  if (weight === null || weight === undefined) return null;
  requireFloat(op, "weight", weight);
  if (weight.ndim !== 1 || weight.shape[0] !== C) throw new ShapeError(`${op}: weight must have shape [${C}] (one per class), got ${shapeStr(weight.shape)}`);
  return weight;
}

/** A reduced loss (0-d) from per-row losses of a fused kernel, or the rows themselves. */
function fusedOutput(x: Tensor, reduction: Reduction, total: number, counted: number, perRow: Tensor | null, outShape: number[]): Tensor {
  if (reduction === "none") return reshape(perRow!, outShape);
  const out = opOutput(x.backend, [], [x]);
  x.backend.fill(out.ptr, 1, reduction === "mean" ? total / counted : total);
  return out;
}

/** Per-row gradient scale: dy / counted ('mean'), dy ('sum'), or dy[i] ('none', as a pointer). */
function gradScale(g: Tensor, counted: number, reduction: Reduction): [number, number] {
  if (reduction === "none") return [1, g.ptr];
  return [reduction === "mean" ? g.item() / counted : g.item(), 0];
}

/**
 * F.cross_entropy: logits (C), (N, C) or (N, C, d1, ...) against int32 class indices (the input's
 * shape without the class dim) or float32 class probabilities (the input's shape), with PyTorch's
 * weight, ignoreIndex, labelSmoothing and reduction. The third argument may be a reduction
 * string (as before options existed) or the options object.
 */
export function crossEntropy(input: Tensor, target: Tensor, options?: Reduction | CrossEntropyOptions): Tensor {
  checkArgCount("crossEntropy", arguments, 3);
  const o = lossOptions<CrossEntropyOptions>("crossEntropy", options, ["weight", "ignoreIndex", "reduction", "labelSmoothing"]);
  const reduction = o.reduction ?? "mean";
  checkReduction("crossEntropy", reduction);
  const ignoreIndex = o.ignoreIndex ?? -100;
  if (!Number.isInteger(ignoreIndex)) throw new ValueError(`crossEntropy: ignoreIndex must be an integer, got ${describe(ignoreIndex)}`);
  const eps = o.labelSmoothing ?? 0;
  checkFiniteNumber("crossEntropy", "labelSmoothing", eps, 0, 1);
  const f = flatten2d("crossEntropy", input, target);
  const weight = checkWeight("crossEntropy", o.weight, f.C);
  if (weight) sameBackend("crossEntropy", input, weight);
  if (f.probs) return probTargetXent(f, weight, eps, reduction);
  const counted = checkLabels("crossEntropy", f.target, f.C, ignoreIndex);
  if (weight === null && eps === 0) return fusedXent(f, reduction, counted, ignoreIndex);
  const logp = logSoftmax(f.x, 1);
  return nllComposed(logp, f, weight, ignoreIndex, reduction, eps);
}

/** Softmax and NLL fused: forward keeps each row's log-sum-exp; backward is (softmax - onehot)·dy/n. */
function fusedXent(f: Flat, reduction: Reduction, counted: number, ignoreIndex: number): Tensor {
  const { x, target, C } = f;
  const be = x.backend;
  const N = x.shape[0];
  const lse = opOutput(be, [N], [x]);
  const perRow = reduction === "none" ? opOutput(be, [N], [x]) : null;
  const total = be.softmaxXentForward(x.ptr, target.ptr, N, C, perRow ? perRow.ptr : 0, lse.ptr, ignoreIndex);
  const out = fusedOutput(x, reduction, total, counted, perRow, f.outShape);
  return record(out, "crossEntropy", [x], (g, ctx) => {
    const [scale, scales] = gradScale(g, counted, reduction);
    ctx.assign(x, (dx) => be.softmaxXentBackward(dx, x.ptr, target.ptr, lse.ptr, N, C, scale, scales, ignoreIndex));
  });
}

/**
 * NLL of log-probabilities (M, C) at class indices, composed of ops: weights w[target], ignored
 * rows zeroed, label smoothing mixing in ε/C · Σ_c -w_c log p_c, 'mean' dividing by Σ w[target]
 * over the counted rows (PyTorch's rule).
 */
function nllComposed(logp: Tensor, f: Flat, weight: Tensor | null, ignoreIndex: number, reduction: Reduction, eps: number): Tensor {
  const valid = ne(f.target, ignoreIndex);
  const safe = where(valid, f.target, 0);
  const picked = reshape(gather(logp, 1, reshape(safe, [-1, 1])), [-1]);
  const w = weight ? reshape(gather(reshape(weight, [1, -1]).expand(safe.size, -1), 1, reshape(safe, [-1, 1])), [-1]) : null;
  let nll = neg(w ? mul(picked, w) : picked);
  nll = where(valid, nll, 0);
  let loss = nll;
  let smooth: Tensor | null = null;
  if (eps > 0) {
    smooth = neg(sum(weight ? mul(logp, weight) : logp, 1));
    smooth = where(valid, smooth, 0);
  }
  if (reduction === "none") {
    if (smooth) loss = add(mul(nll, 1 - eps), mul(smooth, eps / f.C));
    return reshape(loss, f.outShape);
  }
  const denom = reduction === "mean" ? (w ? sum(where(valid, w, 0)) : sum(valid.float())) : null;
  const reduce = (t: Tensor) => (denom ? sum(t).div(denom) : sum(t));
  let out = reduce(nll);
  if (smooth) out = add(mul(out, 1 - eps), mul(reduce(smooth), eps / f.C));
  return out;
}

/** Cross-entropy with class probabilities (optionally smoothed): -Σ_c w_c t_c log p_c, 'mean' over rows. */
function probTargetXent(f: Flat, weight: Tensor | null, eps: number, reduction: Reduction): Tensor {
  const logp = logSoftmax(f.x, 1);
  const t = eps > 0 ? add(mul(f.target, 1 - eps), eps / f.C) : f.target;
  let prod = mul(logp, t);
  if (weight) prod = mul(prod, weight);
  const rows = neg(sum(prod, 1));
  if (reduction === "none") return reshape(rows, f.outShape);
  if (reduction === "sum") return sum(rows);
  return mean(rows);
}

/** F.nll_loss: log-probabilities (C), (N, C) or (N, C, d1, ...) at int32 class indices; weight, ignoreIndex. */
export function nllLoss(input: Tensor, target: Tensor, options?: Reduction | NLLLossOptions): Tensor {
  checkArgCount("nllLoss", arguments, 3);
  const o = lossOptions<NLLLossOptions>("nllLoss", options, ["weight", "ignoreIndex", "reduction"]);
  const reduction = o.reduction ?? "mean";
  checkReduction("nllLoss", reduction);
  const ignoreIndex = o.ignoreIndex ?? -100;
  if (!Number.isInteger(ignoreIndex)) throw new ValueError(`nllLoss: ignoreIndex must be an integer, got ${describe(ignoreIndex)}`);
  if (!(target instanceof Tensor)) throw new ValueError(`nllLoss: target must be a Tensor, got ${describe(target)}`);
  if (target.dtype !== "int32")
    throw new DTypeError(`nllLoss: target must be int32 class indices, got ${target.dtype} (use tensor(labels, { dtype: "int32" }))`);
  const f = flatten2d("nllLoss", input, target);
  const weight = checkWeight("nllLoss", o.weight, f.C);
  const counted = checkLabels("nllLoss", f.target, f.C, ignoreIndex);
  if (weight !== null) return nllComposed(f.x, f, weight, ignoreIndex, reduction, 0);
  const { x, C } = f;
  const be = x.backend;
  const N = x.shape[0];
  const perRow = reduction === "none" ? opOutput(be, [N], [x]) : null;
  const total = be.nllForward(x.ptr, f.target.ptr, N, C, perRow ? perRow.ptr : 0, ignoreIndex);
  const out = fusedOutput(x, reduction, total, counted, perRow, f.outShape);
  return record(out, "nllLoss", [x], (g, ctx) => {
    const [scale, scales] = gradScale(g, counted, reduction);
    ctx.assign(x, (dx) => be.nllBackward(dx, f.target.ptr, N, C, scale, scales, ignoreIndex));
  });
}

/** Input and target of one float32 shape (elementwise losses). */
function sameShape(op: string, input: Tensor, target: Tensor): void {
  requireFloat(op, "input", input);
  requireFloat(op, "target", target);
  sameBackend(op, input, target);
  if (input.ndim !== target.ndim || input.shape.some((d, i) => d !== target.shape[i])) {
    throw new ShapeError(`${op}: input ${shapeStr(input.shape)} and target ${shapeStr(target.shape)} must have the same shape`);
  }
}

function reduceElementwise(t: Tensor, reduction: Reduction): Tensor {
  return reduction === "none" ? t : reduction === "sum" ? sum(t) : mean(t);
}

/** Mean squared error between input and target of the same shape; dx = 2(x - t) · dy / n (fused kernels). */
export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  checkArgCount("mseLoss", arguments, 3);
  checkReduction("mseLoss", reduction);
  sameShape("mseLoss", input, target);
  input = dense(input);
  target = dense(target);
  const be = input.backend;
  const n = input.size;
  const perElem = reduction === "none" ? opOutput(be, input.shape, [input, target]) : null;
  const total = be.mseForward(input.ptr, target.ptr, n, perElem ? perElem.ptr : 0);
  const out = reduction === "none" ? perElem! : opOutput(be, [], [input, target]);
  if (reduction !== "none") be.fill(out.ptr, 1, reduction === "mean" ? total / n : total);
  return record(out, "mseLoss", [input, target], (g, ctx) => {
    const [s, scales] = gradScale(g, n, reduction);
    ctx.assign(input, (dx) => be.mseBackward(dx, input.ptr, target.ptr, n, 2 * s, scales));
    ctx.assign(target, (dt) => be.mseBackward(dt, input.ptr, target.ptr, n, -2 * s, scales));
  });
}

/** Options of the elementwise losses that take only a reduction. */
export interface ReductionOptions {
  reduction?: Reduction;
}

/** F.l1_loss: |input - target|, reduced. */
export function l1Loss(input: Tensor, target: Tensor, options?: Reduction | ReductionOptions): Tensor {
  checkArgCount("l1Loss", arguments, 3);
  const o = lossOptions<ReductionOptions>("l1Loss", options, ["reduction"]);
  const reduction = o.reduction ?? "mean";
  checkReduction("l1Loss", reduction);
  sameShape("l1Loss", input, target);
  return reduceElementwise(abs(sub(input, target)), reduction);
}

/** F.smooth_l1_loss: 0.5·d²/β where |d| < β, else |d| - 0.5·β (β = 0 is the L1 loss). */
export function smoothL1Loss(input: Tensor, target: Tensor, options: { reduction?: Reduction; beta?: number } = {}): Tensor {
  checkArgCount("smoothL1Loss", arguments, 3);
  checkOptions("smoothL1Loss", options, ["reduction", "beta"]);
  const reduction = options.reduction ?? "mean";
  checkReduction("smoothL1Loss", reduction);
  const beta = options.beta ?? 1;
  checkFiniteNumber("smoothL1Loss", "beta", beta, 0);
  sameShape("smoothL1Loss", input, target);
  const d = abs(sub(input, target));
  if (beta === 0) return reduceElementwise(d, reduction);
  return reduceElementwise(where(d.lt(beta), d.square().mul(0.5 / beta), d.sub(0.5 * beta)), reduction);
}

/** F.huber_loss: 0.5·d² where |d| ≤ δ, else δ·(|d| - 0.5·δ). */
export function huberLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction; delta?: number } = {}): Tensor {
  checkArgCount("huberLoss", arguments, 3);
  checkOptions("huberLoss", options, ["reduction", "delta"]);
  const reduction = options.reduction ?? "mean";
  checkReduction("huberLoss", reduction);
  const delta = options.delta ?? 1;
  checkFiniteNumber("huberLoss", "delta", delta);
  if (!(delta > 0)) throw new ValueError(`huberLoss: delta must be > 0, got ${delta}`);
  sameShape("huberLoss", input, target);
  const d = abs(sub(input, target));
  return reduceElementwise(where(d.le(delta), d.square().mul(0.5), d.sub(0.5 * delta).mul(delta)), reduction);
}

/** Options of binaryCrossEntropy. */
export interface BCEOptions {
  /** Rescales each element's loss (broadcast to the input's shape). */
  weight?: Tensor | null;
  reduction?: Reduction;
}

/** Options of binaryCrossEntropyWithLogits. */
export interface BCEWithLogitsOptions extends BCEOptions {
  /** Weight of positive examples, broadcast along the last dim (one per class). */
  posWeight?: Tensor | null;
}

function checkBroadcastWeight(op: string, name: string, w: Tensor | null | undefined, input: Tensor): Tensor | null {
  if (w === null || w === undefined) return null;
  requireFloat(op, name, w);
  sameBackend(op, input, w);
  return w;
}

/** F.binary_cross_entropy: -(t·log x + (1 - t)·log(1 - x)) with each log clamped at -100, as PyTorch. */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options: BCEOptions = {}): Tensor {
  checkArgCount("binaryCrossEntropy", arguments, 3);
  checkOptions("binaryCrossEntropy", options, ["weight", "reduction"]);
  const reduction = options.reduction ?? "mean";
  checkReduction("binaryCrossEntropy", reduction);
  sameShape("binaryCrossEntropy", input, target);
  const w = checkBroadcastWeight("binaryCrossEntropy", "weight", options.weight, input);
  const logx = clamp(log(input), -100, null);
  const log1mx = clamp(log(sub(mul(input, -1), -1)), -100, null);
  let loss = neg(add(mul(target, logx), mul(sub(mul(target, -1), -1), log1mx)));
  if (w) loss = mul(loss, w);
  return reduceElementwise(loss, reduction);
}

/**
 * F.binary_cross_entropy_with_logits, in the stable form
 * (1 - t)·x + (1 + (posWeight - 1)·t)·(log(1 + e^-|x|) + max(-x, 0)), times weight.
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options: BCEWithLogitsOptions = {}): Tensor {
  checkArgCount("binaryCrossEntropyWithLogits", arguments, 3);
  checkOptions("binaryCrossEntropyWithLogits", options, ["weight", "reduction", "posWeight"]);
  const reduction = options.reduction ?? "mean";
  checkReduction("binaryCrossEntropyWithLogits", reduction);
  sameShape("binaryCrossEntropyWithLogits", input, target);
  const w = checkBroadcastWeight("binaryCrossEntropyWithLogits", "weight", options.weight, input);
  const pw = checkBroadcastWeight("binaryCrossEntropyWithLogits", "posWeight", options.posWeight, input);
  const softplusNeg = add(log1p(exp(neg(abs(input)))), relu(neg(input))); // log(1 + e^-x)
  const oneMinusT = sub(mul(target, -1), -1);
  let loss: Tensor;
  if (pw) {
    const logWeight = add(mul(target, sub(pw, 1)), 1);
    loss = add(mul(oneMinusT, input), mul(logWeight, softplusNeg));
  } else {
    loss = add(mul(oneMinusT, input), softplusNeg);
  }
  if (w) loss = mul(loss, w);
  return reduceElementwise(loss, reduction);
}

/** Options of klDiv. */
export interface KLDivOptions {
  /** "mean" averages over all elements (PyTorch's default, which it warns about); "batchmean" divides the sum by the batch size (dim 0) — the mathematically right KL. */
  reduction?: Reduction | "batchmean";
  /** The target is given as log-probabilities. */
  logTarget?: boolean;
}

/** F.kl_div(input = log q, target = p): p·(log p - log q) elementwise (0 where p = 0), reduced. */
export function klDiv(input: Tensor, target: Tensor, options: KLDivOptions = {}): Tensor {
  checkArgCount("klDiv", arguments, 3);
  checkOptions("klDiv", options, ["reduction", "logTarget"]);
  const reduction = options.reduction ?? "mean";
  const batchmean = reduction === "batchmean";
  checkReduction("klDiv", reduction, ["batchmean"]);
  const logTarget = options.logTarget ?? false;
  if (typeof logTarget !== "boolean") throw new ValueError(`klDiv: logTarget must be true or false, got ${describe(logTarget)}`);
  sameShape("klDiv", input, target);
  const loss = logTarget
    ? mul(exp(target), sub(target, input))
    : sub(where(target.eq(0), 0, mul(target, log(maximum(target, target.eq(0).float())))), mul(target, input));
  if (batchmean) return input.ndim === 0 ? sum(loss) : sum(loss).div(input.shape[0]);
  return reduceElementwise(loss, reduction);
}
