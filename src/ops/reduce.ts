// Reductions to a scalar (sum, mean) and argmax.
import { ShapeError, ValueError, shapeStr } from "../errors.js";
import { checkBool, describe } from "../check.js";
import { Tensor, requireFloat } from "../tensor.js";
import { opOutput, record } from "../autograd.js";

/** Σ x as a 0-d tensor (summed in float64); dx = dy everywhere. */
export function sum(x: Tensor): Tensor {
  return reduceAll("sum", x, 1);
}

/** mean(x) as a 0-d tensor; dx = dy / n everywhere. */
export function mean(x: Tensor): Tensor {
  return reduceAll("mean", x, x.size === 0 ? NaN : 1 / x.size);
}

function reduceAll(op: string, x: Tensor, scale: number): Tensor {
  requireFloat(op, "input", x);
  const be = x.backend;
  const out = opOutput(be, [], [x]);
  be.fill(out.ptr, 1, be.sum(x.ptr, x.size) * scale);
  return record(out, op, [x], (g, ctx) => {
    const gv = g.item() * scale;
    ctx.assign(x, (dx) => be.fill(dx, x.size, gv));
  });
}

/**
 * Indices (int32) of the first maximum: over all elements when dim is undefined, else along
 * the last dimension (dim = -1 or ndim - 1). Not differentiable.
 */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  requireFloat("argmax", "input", x);
  if (dim !== undefined && !Number.isInteger(dim)) throw new ValueError(`argmax: dim must be an integer, got ${describe(dim)}`);
  checkBool("argmax", "keepdim", keepdim);
  const be = x.backend;
  if (dim === undefined) {
    if (x.size === 0) throw new ShapeError("argmax: empty tensor has no maximum");
    const out = opOutput(be, [], [x], "int32");
    be.argmaxRows(out.ptr, x.ptr, 1, x.size);
    return out;
  }
  const nd = x.ndim;
  const d = dim < 0 ? dim + nd : dim;
  if (nd === 0 || d !== nd - 1) {
    throw new ShapeError(`argmax: dim ${dim} is not supported for shape ${shapeStr(x.shape)} (only the last dimension)`);
  }
  const N = x.shape[nd - 1];
  if (N === 0) throw new ShapeError(`argmax: dimension ${dim} of shape ${shapeStr(x.shape)} is empty`);
  const shape = keepdim ? [...x.shape.slice(0, -1), 1] : x.shape.slice(0, -1);
  const out = opOutput(be, shape, [x], "int32");
  be.argmaxRows(out.ptr, x.ptr, x.size / N, N);
  return out;
}
