// Classification metrics on logits and int32 labels.
import { DTypeError, ShapeError, shapeStr } from "./errors.js";
import type { Tensor } from "./tensor.js";
import { noGrad } from "./lifetime.js";
import { argmax } from "./ops/index.js";
import { checkArgCount } from "./check.js";

/** Number of rows of output (N, C) whose argmax equals the int32 target (N). */
export function correctCount(output: Tensor, target: Tensor): number {
  checkArgCount("correctCount", arguments, 2);
  if (target.dtype !== "int32") throw new DTypeError(`accuracy: target must be int32 class indices, got ${target.dtype}`);
  if (output.ndim !== 2 || target.ndim !== 1 || target.shape[0] !== output.shape[0]) {
    throw new ShapeError(`accuracy: expected output (N, C) and target (N), got ${shapeStr(output.shape)} and ${shapeStr(target.shape)}`);
  }
  return noGrad(() => {
    const pred = argmax(output, -1).data;
    const t = target.data;
    let correct = 0;
    for (let i = 0; i < t.length; i++) if (pred[i] === t[i]) correct++;
    return correct;
  });
}

/** Fraction (0–1) of rows of output (N, C) whose argmax equals the int32 target (N). */
export function accuracy(output: Tensor, target: Tensor): number {
  checkArgCount("accuracy", arguments, 2);
  return target.shape[0] === 0 ? NaN : correctCount(output, target) / target.shape[0];
}
