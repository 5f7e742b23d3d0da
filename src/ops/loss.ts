// Losses and (log-)softmax over the last dimension, each a fused forward kernel and a fused
// backward kernel. Class targets are int32 indices, checked here before any kernel runs.
import { DTypeError, ShapeError, ValueError, shapeStr } from "../errors.js";
import { Tensor, requireFloat, sameBackend } from "../tensor.js";
import { describe } from "../check.js";
import { opOutput, record } from "../autograd.js";
import { dense } from "./layout.js";

export type Reduction = "mean" | "sum" | "none";

export function checkReduction(op: string, reduction: string): asserts reduction is Reduction {
  if (reduction !== "mean" && reduction !== "sum" && reduction !== "none") {
    throw new ValueError(`${op}: reduction must be 'mean', 'sum' or 'none', got ${describe(reduction)}`);
  }
}

/** Checks logits (N, C) against int32 targets (N) with values in [0, C). */
function checkClassTargets(op: string, input: Tensor, target: Tensor): [number, number] {
  requireFloat(op, "input", input);
  if (input.ndim !== 2) throw new ShapeError(`${op}: input must be 2-D (batch, classes), got ${shapeStr(input.shape)}`);
  const [N, C] = input.shape;
  if (target.dtype !== "int32") {
    throw new DTypeError(`${op}: target must be int32 class indices, got ${target.dtype} (use tensor(labels, { dtype: "int32" }))`);
  }
  if (target.ndim !== 1 || target.shape[0] !== N) {
    throw new ShapeError(`${op}: target shape ${shapeStr(target.shape)} does not match input ${shapeStr(input.shape)}: expected [${N}]`);
  }
  const labels = target.data;
  for (let i = 0; i < N; i++) {
    const v = labels[i];
    if (v < 0 || v >= C) {
      throw new ValueError(`${op}: target ${v} at index ${i} is out of range for ${C} classes (expected 0 ≤ target < ${C})`);
    }
  }
  return [N, C];
}

/** Reduced loss value (0-d) or per-row losses (N) for 'none'. */
function lossOutput(input: Tensor, N: number, reduction: Reduction, total: number, perRow: Tensor | null, inputs: Tensor[]): Tensor {
  if (reduction === "none") return perRow!;
  const out = opOutput(input.backend, [], inputs);
  input.backend.fill(out.ptr, 1, reduction === "mean" ? total / N : total);
  return out;
}

/** Per-row gradient scale: dy / N ('mean'), dy ('sum'), or dy[i] ('none', passed as a pointer). */
function gradScale(g: Tensor, N: number, reduction: Reduction): [number, number] {
  if (reduction === "none") return [1, g.ptr];
  return [reduction === "mean" ? g.item() / N : g.item(), 0];
}

/**
 * Cross-entropy of logits (N, C) against int32 class indices (N): log-softmax and NLL fused.
 * Forward keeps each row's log-sum-exp; backward is (softmax - onehot) · dy / N.
 */
export function crossEntropy(input: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  input = dense(input);
  target = dense(target);
  checkReduction("crossEntropy", reduction);
  const be = sameBackend("crossEntropy", input, target);
  const [N, C] = checkClassTargets("crossEntropy", input, target);
  const lse = opOutput(be, [N], [input]);
  const perRow = reduction === "none" ? opOutput(be, [N], [input]) : null;
  const total = be.softmaxXentForward(input.ptr, target.ptr, N, C, perRow ? perRow.ptr : 0, lse.ptr);
  const out = lossOutput(input, N, reduction, total, perRow, [input]);
  return record(out, "crossEntropy", [input], (g, ctx) => {
    const [scale, scales] = gradScale(g, N, reduction);
    ctx.assign(input, (dx) => be.softmaxXentBackward(dx, input.ptr, target.ptr, lse.ptr, N, C, scale, scales));
  });
}

/** Negative log-likelihood of log-probabilities (N, C) at int32 class indices (N). */
export function nllLoss(input: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  input = dense(input);
  target = dense(target);
  checkReduction("nllLoss", reduction);
  const be = sameBackend("nllLoss", input, target);
  const [N, C] = checkClassTargets("nllLoss", input, target);
  const perRow = reduction === "none" ? opOutput(be, [N], [input]) : null;
  const total = be.nllForward(input.ptr, target.ptr, N, C, perRow ? perRow.ptr : 0);
  const out = lossOutput(input, N, reduction, total, perRow, [input]);
  return record(out, "nllLoss", [input], (g, ctx) => {
    const [scale, scales] = gradScale(g, N, reduction);
    ctx.assign(input, (dx) => be.nllBackward(dx, target.ptr, N, C, scale, scales));
  });
}

/** Mean squared error between input and target of the same shape; dx = 2(x - t) · dy / n. */
export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  input = dense(input);
  target = dense(target);
  checkReduction("mseLoss", reduction);
  const be = sameBackend("mseLoss", input, target);
  requireFloat("mseLoss", "input", input);
  requireFloat("mseLoss", "target", target);
  if (input.size !== target.size || input.ndim !== target.ndim || input.shape.some((d, i) => d !== target.shape[i])) {
    throw new ShapeError(`mseLoss: input ${shapeStr(input.shape)} and target ${shapeStr(target.shape)} must have the same shape`);
  }
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
