// Shape ops: views that share memory (reshape/view/flatten) and copies (clone, in-place fills).
import { DTypeError, ShapeError, ValueError, shapeStr } from "../errors.js";
import { Tensor, numel, sameBackend, type Shape } from "../tensor.js";
import { describe } from "../check.js";
import { opOutput, record } from "../autograd.js";

/** x must be a Tensor (a plain array or object would reach a kernel as pointer 0). */
function requireTensor(op: string, x: unknown): void {
  if (!(x instanceof Tensor)) throw new ValueError(`${op}: expected a Tensor, got ${describe(x)}`);
}

/** Resolves one -1 in `shape` against `size` elements. */
export function resolveShape(size: number, shape: readonly number[], from: Shape): number[] {
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== "number")) {
    throw new ShapeError(`reshape: the new shape must be numbers, got ${Array.isArray(shape) ? `[${shape.map(describe).join(", ")}]` : describe(shape)}`);
  }
  const out = [...shape];
  const free = out.indexOf(-1);
  if (free !== out.lastIndexOf(-1)) throw new ShapeError(`reshape: only one dimension can be -1, got ${shapeStr(shape)}`);
  if (free >= 0) {
    const rest = numel(out.filter((_, i) => i !== free));
    if (rest === 0 || size % rest !== 0) {
      throw new ShapeError(`reshape: shape ${shapeStr(shape)} is invalid for input of shape ${shapeStr(from)} (${size} elements)`);
    }
    out[free] = size / rest;
  }
  if (out.some((d) => !Number.isInteger(d) || d < 0) || numel(out) !== size) {
    throw new ShapeError(`reshape: shape ${shapeStr(shape)} is invalid for input of shape ${shapeStr(from)} (${size} elements)`);
  }
  return out;
}

/** A view with a new shape over the same memory (all tensors are contiguous). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  requireTensor("reshape", x);
  const out = new Tensor(x.storage, resolveShape(x.size, shape, x.shape), x.dtype, x.offset);
  return record(out, "reshape", [x], (g, ctx) => ctx.pass(x, g));
}

/** Merges dims startDim..endDim into one (torch.flatten). */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  requireTensor("flatten", x);
  if (!Number.isInteger(startDim) || !Number.isInteger(endDim)) throw new ValueError(`flatten: startDim and endDim must be integers, got ${describe(startDim)} and ${describe(endDim)}`);
  const nd = x.shape.length;
  if (nd === 0) return reshape(x, [1]);
  const s = startDim < 0 ? startDim + nd : startDim;
  const e = endDim < 0 ? endDim + nd : endDim;
  if (s < 0 || e >= nd || s > e) {
    throw new ShapeError(`flatten: dims ${startDim}..${endDim} out of range for shape ${shapeStr(x.shape)}`);
  }
  const shape = [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

/** A copy in new memory; gradients flow back unchanged. */
export function clone(x: Tensor): Tensor {
  requireTensor("clone", x);
  const out = opOutput(x.backend, x.shape, [x], x.dtype);
  x.backend.copy(out.ptr, x.ptr, x.size * 4);
  return record(out, "clone", [x], (g, ctx) => ctx.pass(x, g));
}

export function fillInPlace(x: Tensor, value: number): void {
  if (typeof value !== "number" && typeof value !== "boolean") throw new ValueError(`fill_: value must be a number, got ${describe(value)}`);
  if (x.dtype === "int32") x.data.fill(value);
  else x.backend.fill(x.ptr, x.size, value);
}

export function copyInPlace(dst: Tensor, src: Tensor): void {
  sameBackend("copy_", dst, src);
  if (src.dtype !== dst.dtype) throw new DTypeError(`copy_: source is ${src.dtype}, destination ${dst.dtype}`);
  if (dst.size !== src.size) {
    throw new ShapeError(`copy_: source ${src.dtype} ${shapeStr(src.shape)} does not match destination ${dst.dtype} ${shapeStr(dst.shape)}`);
  }
  dst.backend.copy(dst.ptr, src.ptr, src.size * 4);
}
