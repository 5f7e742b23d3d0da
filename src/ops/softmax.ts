// softmax and log-softmax along any dim: one softmaxDim kernel call on x viewed as
// (outer, R, inner) (the last dim runs the row kernels), and one softmaxDimBackward call.
import { type Tensor, numel } from "../tensor.js";
import { opOutput, record } from "../autograd.js";
import { normDim } from "../layout.js";
import { contiguous, requireTensor, to } from "./layout.js";
import { checkArgCount } from "../check.js";

/** softmax along dim; dx = y (dy - Σ dy·y). */
export function softmax(x: Tensor, dim: number): Tensor {
  checkArgCount("softmax", arguments, 2);
  return softmaxLike("softmax", x, dim, false);
}

/** log-softmax along dim; dx = dy - exp(y) Σ dy. */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  checkArgCount("logSoftmax", arguments, 2);
  return softmaxLike("logSoftmax", x, dim, true);
}

function softmaxLike(op: string, x: Tensor, dim: number, log: boolean): Tensor {
  requireTensor(op, x);
  const src = contiguous(x.dtype === "float32" ? x : to(x, "float32"));
  const d = normDim(op, dim, src.ndim);
  const be = src.backend;
  const R = src.ndim === 0 ? 1 : src.shape[d];
  const outer = numel(src.shape.slice(0, d)),
    inner = numel(src.shape.slice(d + 1));
  const out = opOutput(be, src.shape, [src]);
  if (src.size > 0) be.softmaxDim(out.ptr, src.ptr, outer, R, inner, log);
  return record(out, op, [src], (g, ctx) => {
    ctx.assign(src, (dx) => {
      if (src.size > 0) be.softmaxDimBackward(dx, g.ptr, out.ptr, outer, R, inner, log);
    });
  });
}
