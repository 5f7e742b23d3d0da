// Layout ops: views that share memory (reshape/view, transpose, permute, expand, narrow, select,
// slice, squeeze, unsqueeze, split, chunk), copies (contiguous, clone, cat, stack, repeat, to),
// triangular masks and in-place fills/copies. A view's backward lays the gradient back out in
// the input's shape with one strided kernel (copy or add) — never an elementwise JS loop.
import { DTypeError, ShapeError, ValueError, shapeStr } from "../errors.js";
import { Tensor, type DType, type Shape, checkDType, numel, sameBackend } from "../tensor.js";
import { checkArgCount, checkBool, describe } from "../check.js";
import { type BackwardContext, opOutput, record } from "../autograd.js";
import { BinaryOp } from "../backend/kernel-exports.generated.js";
import type { Backend } from "../backend/backend.js";
import { allocTemp, releaseTemp } from "../lifetime.js";
import { broadcastShapes, broadcastStrides, contiguousStrides, normDim, stridedMeta } from "../layout.js";
import { sumToShape } from "./reduce.js";

/** x must be a Tensor (a plain array or object would reach a kernel as pointer 0). */
export function requireTensor(op: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new ValueError(`${op}: expected a Tensor, got ${describe(x)}`);
}

// ---- strided copies (the building block) -------------------------------------------------------

/** dst (dense, x.shape) ← x in any layout: one copyStrided kernel call. */
export function copyDense(be: Backend, dst: number, x: Tensor): void {
  if (x.size === 0) return;
  if (x.isContiguous()) {
    be.copy(dst, x.ptr, x.size * 4);
    return;
  }
  const [meta, nd] = stridedMeta(be, x.shape, [contiguousStrides(x.shape), x.strides]);
  be.copyStrided(dst, x.basePtr, meta, nd);
}

/**
 * Lays a dense gradient `g` (of the view's shape) into a gradient buffer of the base's shape at
 * the view's place (viewStrides/viewOffset in elements relative to the base's dense layout):
 * copy, or add when the buffer already holds a gradient. Elements outside the view are zeroed
 * first unless accumulating.
 */
function scatterIntoBase(
  be: Backend,
  dst: number,
  accumulate: boolean,
  baseSize: number,
  viewShape: Shape,
  viewStrides: readonly number[],
  viewOffset: number,
  g: number,
  covers: boolean,
): void {
  if (!accumulate && !covers) be.fill(dst, baseSize, 0);
  if (numel(viewShape) === 0) return;
  const at = dst + viewOffset * 4;
  const dense = contiguousStrides(viewShape);
  if (accumulate) {
    const [meta, nd] = stridedMeta(be, viewShape, [viewStrides, viewStrides, dense]);
    be.binaryStrided(BinaryOp.Add, at, at, g, meta, nd, false);
  } else {
    const [meta, nd] = stridedMeta(be, viewShape, [viewStrides, dense]);
    be.copyStrided(at, g, meta, nd);
  }
}

/**
 * A view of x (same storage) with its own shape/strides/offset, recorded for autograd: the
 * backward writes the gradient back at the view's place in x's dense gradient. `pick` maps a
 * stride list (x's storage strides, or x's dense strides) to the view's strides and offset, so
 * the same rule places the view in the storage and in the gradient.
 */
function makeView(op: string, x: Tensor, shape: readonly number[], pick: (strides: readonly number[]) => { strides: number[]; offset: number }): Tensor {
  const inStorage = pick(x.strides);
  const out = new Tensor(x.storage, shape, x.dtype, x.offset + inStorage.offset * 4, inStorage.strides);
  if (x.dtype !== "float32") return out;
  const inGrad = pick(contiguousStrides(x.shape));
  const covers = numel(shape) === x.size;
  return record(out, op, [x], (g, ctx) => {
    ctx.accumulate(x, (dx, acc) => scatterIntoBase(x.backend, dx, acc, x.size, shape, inGrad.strides, inGrad.offset, g.ptr, covers));
  });
}

// ---- contiguous, clone ---------------------------------------------------------------------------

/** For ops whose kernels read dense memory: a Tensor argument made contiguous, anything else as is (the op's own checks name it). */
export function dense<T>(t: T): T {
  return (t instanceof Tensor ? contiguous(t) : t) as T;
}

/** This tensor if contiguous, else a dense copy; gradients flow back unchanged. */
export function contiguous(x: Tensor): Tensor {
  checkArgCount("contiguous", arguments, 1);
  requireTensor("contiguous", x);
  if (x.isContiguous()) return x;
  return clone(x);
}

/** A dense copy in new memory; gradients flow back unchanged. */
export function clone(x: Tensor): Tensor {
  checkArgCount("clone", arguments, 1);
  requireTensor("clone", x);
  const out = opOutput(x.backend, x.shape, [x], x.dtype);
  copyDense(x.backend, out.ptr, x);
  return record(out, "clone", [x], (g, ctx) => ctx.pass(x, g));
}

// ---- reshape / view --------------------------------------------------------------------------------

/** Resolves one -1 in `shape` against `size` elements. */
export function resolveShape(op: string, size: number, shape: readonly number[], from: Shape): number[] {
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== "number")) {
    throw new ShapeError(`${op}: the new shape must be numbers, got ${Array.isArray(shape) ? `[${shape.map(describe).join(", ")}]` : describe(shape)}`);
  }
  const out = [...shape];
  const free = out.indexOf(-1);
  if (free !== out.lastIndexOf(-1)) throw new ShapeError(`${op}: only one dimension can be -1, got ${shapeStr(shape)}`);
  if (free >= 0) {
    const rest = numel(out.filter((_, i) => i !== free));
    if (rest === 0 || size % rest !== 0) {
      throw new ShapeError(`${op}: shape ${shapeStr(shape)} is invalid for input of shape ${shapeStr(from)} (${size} elements)`);
    }
    out[free] = size / rest;
  }
  if (out.some((d) => !Number.isInteger(d) || d < 0) || numel(out) !== size) {
    throw new ShapeError(`${op}: shape ${shapeStr(shape)} is invalid for input of shape ${shapeStr(from)} (${size} elements)`);
  }
  return out;
}

/**
 * Strides that read x's elements in row-major order under `shape`, or null when x's layout
 * cannot (PyTorch's computeStride): each group of x dims that merges into (or splits from)
 * new dims must be contiguous within itself.
 */
function viewStrides(x: Tensor, shape: readonly number[]): number[] | null {
  if (x.isContiguous()) return contiguousStrides(shape);
  const oldShape = x.shape,
    oldStrides = x.strides;
  const out = new Array<number>(shape.length);
  if (numel(shape) === 0) return contiguousStrides(shape);
  let viewD = shape.length - 1;
  let chunkBase = oldStrides[oldStrides.length - 1];
  let tensorNumel = 1,
    viewNumel = 1;
  for (let d = oldShape.length - 1; d >= 0; d--) {
    tensorNumel *= oldShape[d];
    if (d === 0 || (oldShape[d - 1] !== 1 && oldStrides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || shape[viewD] === 1)) {
        out[viewD] = viewNumel * chunkBase;
        viewNumel *= shape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBase = oldStrides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) return null;
  return out;
}

/** A view with a new shape; a ShapeError (as in PyTorch) when the layout cannot be viewed so. */
export function view(x: Tensor, shape: readonly number[]): Tensor {
  checkArgCount("view", arguments, 2);
  requireTensor("view", x);
  const target = resolveShape("view", x.size, shape, x.shape);
  const strides = viewStrides(x, target);
  if (strides === null) {
    throw new ShapeError(
      `view: shape ${shapeStr(target)} is not compatible with the input's layout (shape ${shapeStr(x.shape)}, strides ${shapeStr(x.strides)}): at least one dimension spans across two contiguous subspaces; use .reshape(...) instead`,
    );
  }
  return reshapeView("view", x, target, strides);
}

/** The same elements in a new shape: a view when the layout allows, else a copy (torch.reshape). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkArgCount("reshape", arguments, 2);
  requireTensor("reshape", x);
  const target = resolveShape("reshape", x.size, shape, x.shape);
  const strides = viewStrides(x, target);
  if (strides === null) return reshapeView("reshape", contiguous(x), target, contiguousStrides(target));
  return reshapeView("reshape", x, target, strides);
}

/** A view in row-major order of x's elements: the gradient is g itself, reshaped. */
function reshapeView(op: string, x: Tensor, shape: readonly number[], strides: readonly number[]): Tensor {
  const out = new Tensor(x.storage, shape, x.dtype, x.offset, strides);
  return record(out, op, [x], (g, ctx) => ctx.pass(x, g));
}

/** Merges dims startDim..endDim into one (torch.flatten). */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  requireTensor("flatten", x);
  checkArgCount("flatten", arguments, 3);
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normDim("flatten", startDim, x.ndim, "startDim");
  const e = normDim("flatten", endDim, x.ndim, "endDim");
  if (s > e) throw new ShapeError(`flatten: startDim ${startDim} comes after endDim ${endDim} for shape ${shapeStr(x.shape)}`);
  return reshape(x, [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

/** Splits dim into `sizes` (one may be -1): torch.unflatten. */
export function unflatten(x: Tensor, dim: number, sizes: readonly number[]): Tensor {
  checkArgCount("unflatten", arguments, 3);
  requireTensor("unflatten", x);
  const d = normDim("unflatten", dim, x.ndim);
  if (!Array.isArray(sizes) || sizes.length === 0) throw new ValueError(`unflatten: sizes must be a non-empty array of dims, got ${describe(sizes)}`);
  const inner = resolveShape("unflatten", x.shape[d], sizes, [x.shape[d]]);
  return reshape(x, [...x.shape.slice(0, d), ...inner, ...x.shape.slice(d + 1)]);
}

// ---- dim permutations ------------------------------------------------------------------------------

/** Reorders the dims (a view). */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  checkArgCount("permute", arguments, 2);
  requireTensor("permute", x);
  if (!Array.isArray(dims) || dims.length !== x.ndim) {
    throw new ShapeError(
      `permute: expected ${x.ndim} dims for shape ${shapeStr(x.shape)}, got ${Array.isArray(dims) ? `[${dims.join(", ")}]` : describe(dims)}`,
    );
  }
  const p = dims.map((d) => normDim("permute", d, x.ndim));
  if (new Set(p).size !== p.length) throw new ShapeError(`permute: dims [${dims.join(", ")}] repeat a dim`);
  if (p.every((d, i) => d === i)) return alias("permute", x);
  const out = new Tensor(
    x.storage,
    p.map((d) => x.shape[d]),
    x.dtype,
    x.offset,
    p.map((d) => x.strides[d]),
  );
  if (x.dtype !== "float32") return out;
  const inverse = new Array<number>(p.length);
  p.forEach((d, i) => (inverse[d] = i));
  return record(out, "permute", [x], (g, ctx) => {
    // dx = g permuted back: read g (out.shape, dense) at x's positions.
    const gStrides = contiguousStrides(out.shape);
    const readStrides = inverse.map((i) => gStrides[i]);
    const be = x.backend;
    ctx.assign(x, (dx) => {
      const [meta, nd] = stridedMeta(be, x.shape, [contiguousStrides(x.shape), readStrides]);
      be.copyStrided(dx, g.ptr, meta, nd);
    });
  });
}

/** The same tensor as a new (recorded) view object. */
function alias(op: string, x: Tensor): Tensor {
  return reshapeView(op, x, x.shape, x.strides);
}

/** Swaps two dims (a view). */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  checkArgCount("transpose", arguments, 3);
  requireTensor("transpose", x);
  if (x.ndim === 0) return alias("transpose", x);
  const a = normDim("transpose", dim0, x.ndim, "dim0"),
    b = normDim("transpose", dim1, x.ndim, "dim1");
  const p = x.shape.map((_, i) => i);
  p[a] = b;
  p[b] = a;
  return permute(x, p);
}

/** Moves dim `source` to position `destination` (a view). */
export function movedim(x: Tensor, source: number, destination: number): Tensor {
  checkArgCount("movedim", arguments, 3);
  requireTensor("movedim", x);
  const s = normDim("movedim", source, x.ndim, "source"),
    d = normDim("movedim", destination, x.ndim, "destination");
  const rest = x.shape.map((_, i) => i).filter((i) => i !== s);
  rest.splice(d, 0, s);
  return permute(x, rest);
}

/** Inserts a dim of size 1 at `dim` (a view). */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  checkArgCount("unsqueeze", arguments, 2);
  requireTensor("unsqueeze", x);
  const d = normDim("unsqueeze", dim, x.ndim + 1);
  const shape = [...x.shape],
    strides = [...x.strides];
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < x.ndim ? x.strides[d] * x.shape[d] : 1);
  return reshapeView("unsqueeze", x, shape, strides);
}

/** Removes size-1 dims: all, or those listed (a listed dim that is not 1 stays, as in PyTorch). */
export function squeeze(x: Tensor, dim?: number | readonly number[]): Tensor {
  checkArgCount("squeeze", arguments, 2);
  requireTensor("squeeze", x);
  const drop =
    dim === undefined || dim === null
      ? x.shape.map((_, i) => i).filter((i) => x.shape[i] === 1)
      : (typeof dim === "number" ? [dim] : dim).map((d) => normDim("squeeze", d, x.ndim)).filter((d) => x.shape[d] === 1);
  if (drop.length === 0) return alias("squeeze", x);
  const keep = x.shape.map((_, i) => i).filter((i) => !drop.includes(i));
  return reshapeView(
    "squeeze",
    x,
    keep.map((i) => x.shape[i]),
    keep.map((i) => x.strides[i]),
  );
}

/** Broadcasts size-1 dims to `shape` (-1 keeps a dim; new leading dims allowed) with stride 0. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  checkArgCount("expand", arguments, 2);
  requireTensor("expand", x);
  if (!Array.isArray(shape) || shape.length < x.ndim || shape.some((d) => !Number.isInteger(d) || d < -1)) {
    throw new ShapeError(
      `expand: the shape ${Array.isArray(shape) ? shapeStr(shape) : describe(shape)} must list at least ${x.ndim} dims (integers ≥ -1) for input ${shapeStr(x.shape)}`,
    );
  }
  const off = shape.length - x.ndim;
  const target = shape.map((n, i) => (i >= off && n === -1 ? x.shape[i - off] : n));
  const strides = target.map((n, i) => {
    if (i < off) {
      if (n === -1) throw new ShapeError(`expand: -1 is not allowed for the new leading dim ${i} (shape ${shapeStr(shape)})`);
      return 0;
    }
    const have = x.shape[i - off];
    if (have === n) return x.strides[i - off];
    if (have === 1) return 0;
    throw new ShapeError(
      `expand: the expanded size ${n} must match the existing size ${have} at non-singleton dimension ${i} (input ${shapeStr(x.shape)}, target ${shapeStr(shape)})`,
    );
  });
  const out = new Tensor(x.storage, target, x.dtype, x.offset, strides);
  if (x.dtype !== "float32") return out;
  return record(out, "expand", [x], (g, ctx) => {
    ctx.accumulate(x, (dx, acc) => sumToShape(x.backend, dx, acc, g.ptr, target, x.shape));
  });
}

// ---- slicing -----------------------------------------------------------------------------------------

/** Elements start..start+length-1 along dim (a view). */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  checkArgCount("narrow", arguments, 4);
  requireTensor("narrow", x);
  const d = normDim("narrow", dim, x.ndim);
  const n = x.shape[d];
  if (!Number.isInteger(start) || start < -n || start > n)
    throw new ShapeError(`narrow: start ${typeof start === "number" ? start : describe(start)} is out of range for dim ${d} of size ${n}`);
  const s = start < 0 ? start + n : start;
  if (!Number.isInteger(length) || length < 0 || s + length > n)
    throw new ShapeError(
      `narrow: start ${s} + length ${typeof length === "number" ? length : describe(length)} exceeds dim ${d} of size ${n} (shape ${shapeStr(x.shape)})`,
    );
  return sliceView("narrow", x, d, s, length, 1);
}

/** The slice at `index` along dim, without that dim (a view). */
export function select(x: Tensor, dim: number, index: number): Tensor {
  checkArgCount("select", arguments, 3);
  requireTensor("select", x);
  if (x.ndim === 0) throw new ShapeError("select: cannot select from a 0-d tensor");
  const d = normDim("select", dim, x.ndim);
  const n = x.shape[d];
  if (!Number.isInteger(index) || index < -n || index >= n) {
    throw new ShapeError(
      `select: index ${typeof index === "number" ? index : describe(index)} is out of range for dim ${d} of size ${n} (shape ${shapeStr(x.shape)})`,
    );
  }
  const i = index < 0 ? index + n : index;
  return makeView(
    "select",
    x,
    x.shape.filter((_, k) => k !== d),
    (st) => ({ strides: st.filter((_, k) => k !== d), offset: i * st[d] }),
  );
}

/** Python's x[start:end:step] along dim: missing/null bounds and negative ones as in Python (a view). */
export function slice(x: Tensor, dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
  checkArgCount("slice", arguments, 5);
  requireTensor("slice", x);
  const d = normDim("slice", dim, x.ndim);
  const n = x.shape[d];
  if (!Number.isInteger(step) || step <= 0) throw new ValueError(`slice: step must be a positive integer, got ${describe(step)}`);
  const bound = (v: number | null | undefined, dflt: number, name: string): number => {
    if (v === undefined || v === null) return dflt;
    if (!Number.isInteger(v)) throw new ValueError(`slice: ${name} must be an integer or null, got ${describe(v)}`);
    const w = v < 0 ? v + n : v;
    return Math.min(Math.max(w, 0), n);
  };
  const s = bound(start, 0, "start"),
    e = bound(end, n, "end");
  const len = e > s ? Math.ceil((e - s) / step) : 0;
  return sliceView("slice", x, d, s, len, step);
}

function sliceView(op: string, x: Tensor, d: number, start: number, len: number, step: number): Tensor {
  const shape = [...x.shape];
  shape[d] = len;
  return makeView(op, x, shape, (st) => ({ strides: st.map((s, k) => (k === d ? s * step : s)), offset: start * st[d] }));
}

/** Views of consecutive pieces along dim: of `splitSize` each (the last may be smaller), or of the listed sizes. */
export function split(x: Tensor, splitSize: number | readonly number[], dim = 0): Tensor[] {
  checkArgCount("split", arguments, 3);
  requireTensor("split", x);
  const d = normDim("split", dim, x.ndim);
  const n = x.shape[d];
  let sizes: number[];
  if (typeof splitSize === "number") {
    if (!Number.isInteger(splitSize) || splitSize <= 0) throw new ValueError(`split: splitSize must be a positive integer, got ${describe(splitSize)}`);
    sizes = [];
    for (let at = 0; at < n; at += splitSize) sizes.push(Math.min(splitSize, n - at));
    if (n === 0) sizes = [0];
  } else {
    if (!Array.isArray(splitSize) || splitSize.some((s) => !Number.isInteger(s) || s < 0))
      throw new ValueError(`split: sizes must be non-negative integers, got ${describe(splitSize)}`);
    if (splitSize.reduce((a, b) => a + b, 0) !== n)
      throw new ShapeError(`split: sizes [${splitSize.join(", ")}] do not add up to dim ${d} of size ${n} (shape ${shapeStr(x.shape)})`);
    sizes = [...splitSize];
  }
  let at = 0;
  return sizes.map((len) => {
    const piece = sliceView("split", x, d, at, len, 1);
    at += len;
    return piece;
  });
}

/** `chunks` views of equal size ⌈n/chunks⌉ along dim (fewer if n is small), as torch.chunk. */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  checkArgCount("chunk", arguments, 3);
  requireTensor("chunk", x);
  if (!Number.isInteger(chunks) || chunks <= 0) throw new ValueError(`chunk: chunks must be a positive integer, got ${describe(chunks)}`);
  const d = normDim("chunk", dim, x.ndim);
  const size = Math.ceil(x.shape[d] / chunks);
  return split(x, Math.max(size, 1), d);
}

// ---- joining and tiling -------------------------------------------------------------------------------

/** Concatenates tensors of equal shape except along dim (torch.cat). */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  checkArgCount("cat", arguments, 2);
  if (!Array.isArray(tensors) || tensors.length === 0) throw new ValueError(`cat: expected a non-empty array of tensors, got ${describe(tensors)}`);
  tensors.forEach((t, i) => requireTensor(`cat: tensor ${i}`, t));
  const be = sameBackend("cat", ...tensors);
  const first = tensors[0];
  const d = normDim("cat", dim, first.ndim);
  const dtype = first.dtype;
  tensors.forEach((t, i) => {
    if (t.dtype !== dtype) throw new DTypeError(`cat: tensor ${i} is ${t.dtype}, tensor 0 is ${dtype}`);
    if (t.ndim !== first.ndim || t.shape.some((n: number, k: number) => k !== d && n !== first.shape[k])) {
      throw new ShapeError(
        `cat: tensor ${i} has shape ${shapeStr(t.shape)}, expected ${shapeStr(first.shape.map((n: number, k: number) => (k === d ? -1 : n)))} (-1: any size along dim ${d})`,
      );
    }
  });
  const shape = [...first.shape];
  shape[d] = tensors.reduce((a, t) => a + t.shape[d], 0);
  const out = opOutput(be, shape, tensors, dtype);
  const outStrides = contiguousStrides(shape);
  const starts: number[] = [];
  let at = 0;
  for (const t of tensors) {
    starts.push(at);
    if (t.size > 0) {
      const [meta, nd] = stridedMeta(be, t.shape, [outStrides, t.strides]);
      be.copyStrided(out.ptr + at * outStrides[d] * 4, t.basePtr, meta, nd);
    }
    at += t.shape[d];
  }
  if (dtype !== "float32") return out;
  return record(out, "cat", tensors, (g, ctx) => {
    tensors.forEach((t, i) => {
      // dt = g narrowed to t's part along dim.
      ctx.assign(t, (dt) => {
        if (t.size === 0) return;
        const [meta, nd] = stridedMeta(be, t.shape, [contiguousStrides(t.shape), outStrides]);
        be.copyStrided(dt, g.ptr + starts[i] * outStrides[d] * 4, meta, nd);
      });
    });
  });
}

/** Stacks tensors of one shape along a new dim (torch.stack). */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  checkArgCount("stack", arguments, 2);
  if (!Array.isArray(tensors) || tensors.length === 0) throw new ValueError(`stack: expected a non-empty array of tensors, got ${describe(tensors)}`);
  tensors.forEach((t, i) => requireTensor(`stack: tensor ${i}`, t));
  const first = tensors[0];
  tensors.forEach((t, i) => {
    if (t.ndim !== first.ndim || t.shape.some((n: number, k: number) => n !== first.shape[k]))
      throw new ShapeError(`stack: tensor ${i} has shape ${shapeStr(t.shape)}, tensor 0 ${shapeStr(first.shape)} (all must be equal)`);
  });
  const d = normDim("stack", dim, first.ndim + 1);
  return cat(
    tensors.map((t) => unsqueeze(t, d)),
    d,
  );
}

/** Tiles x `repeats[i]` times along dim i (extra leading repeats add dims), torch.Tensor.repeat. */
export function repeat(x: Tensor, repeats: readonly number[]): Tensor {
  checkArgCount("repeat", arguments, 2);
  requireTensor("repeat", x);
  if (!Array.isArray(repeats) || repeats.length < x.ndim || repeats.some((r) => !Number.isInteger(r) || r < 0)) {
    throw new ShapeError(`repeat: expected at least ${x.ndim} non-negative integer repeats for shape ${shapeStr(x.shape)}, got ${describe(repeats)}`);
  }
  const off = repeats.length - x.ndim;
  const padded = [...new Array<number>(off).fill(1), ...x.shape];
  // x viewed as (1, a, 1, b, ...) expanded to (r0, a, r1, b, ...), then merged to (r0·a, r1·b, ...).
  const interleaved: number[] = [];
  const expanded: number[] = [];
  padded.forEach((n, i) => {
    interleaved.push(1, n);
    expanded.push(repeats[i], n);
  });
  const tiled = expand(reshape(x, interleaved), expanded);
  return reshape(
    contiguous(tiled),
    padded.map((n, i) => n * repeats[i]),
  );
}

// ---- triangles ---------------------------------------------------------------------------------------

/** Lower triangle (j - i ≤ k) of the last two dims. */
export function tril(x: Tensor, k = 0): Tensor {
  checkArgCount("tril", arguments, 2);
  return triangle("tril", x, k, false);
}
/** Upper triangle (j - i ≥ k) of the last two dims. */
export function triu(x: Tensor, k = 0): Tensor {
  checkArgCount("triu", arguments, 2);
  return triangle("triu", x, k, true);
}

function triangle(op: string, x: Tensor, k: number, upper: boolean): Tensor {
  requireTensor(op, x);
  if (x.ndim < 2) throw new ShapeError(`${op}: expected a tensor with at least 2 dimensions, got shape ${shapeStr(x.shape)}`);
  if (!Number.isInteger(k)) throw new ValueError(`${op}: diagonal must be an integer, got ${describe(k)}`);
  const src = contiguous(x);
  const be = x.backend;
  const R = x.shape[x.ndim - 2],
    C = x.shape[x.ndim - 1];
  const B = R * C === 0 ? 0 : x.size / (R * C);
  const out = opOutput(be, x.shape, [src], x.dtype);
  be.triangle(out.ptr, src.ptr, B, R, C, k, upper);
  if (x.dtype !== "float32") return out;
  return record(out, op, [src], (g, ctx) => ctx.assign(src, (dx) => be.triangle(dx, g.ptr, B, R, C, k, upper)));
}

// ---- dtypes ------------------------------------------------------------------------------------------

/** A copy converted to dtype (x itself when it already has it). Float → int truncates toward 0. */
export function to(x: Tensor, dtype: DType): Tensor {
  checkArgCount("to", arguments, 2);
  requireTensor("to", x);
  checkDType("to", dtype);
  if (x.dtype === dtype) return x;
  const src = contiguous(x);
  const be = x.backend;
  const out = opOutput(be, x.shape, [src], dtype);
  if (src.size > 0) {
    if (dtype === "float32") be.cast(out.ptr, src.ptr, src.size, 1);
    else if (dtype === "int32") {
      if (src.dtype === "bool") be.copy(out.ptr, src.ptr, src.size * 4);
      else be.cast(out.ptr, src.ptr, src.size, 0);
    } else be.cast(out.ptr, src.ptr, src.size, src.dtype === "float32" ? 2 : 3);
  }
  return out;
}

// ---- in place --------------------------------------------------------------------------------------

/** Fills x (any layout) with value, not recorded. */
export function fillInPlace(x: Tensor, value: number): void {
  checkArgCount("fillInPlace", arguments, 2);
  requireTensor("fill_", x);
  if (typeof value !== "number" && typeof value !== "boolean") throw new ValueError(`fill_: value must be a number, got ${describe(value)}`);
  if (x.size === 0) return;
  const be = x.backend;
  const v = x.dtype === "bool" ? (value ? 1 : 0) : Number(value);
  if (x.dtype === "int32" && (!Number.isInteger(v) || Math.abs(v) > 2 ** 31)) throw new ValueError(`fill_: ${describe(value)} is not an int32`);
  if (x.isContiguous()) {
    if (x.dtype === "float32") be.fill(x.ptr, x.size, v);
    else x.data.fill(v);
    return;
  }
  // A one-element source broadcast over the view (stride 0).
  const tmp = allocTemp(be, 4);
  try {
    if (x.dtype === "float32") be.f32()[tmp.ptr >>> 2] = v;
    else be.i32()[tmp.ptr >>> 2] = v;
    const [meta, nd] = stridedMeta(be, x.shape, [x.strides, x.shape.map(() => 0)]);
    be.copyStrided(x.basePtr, tmp.ptr, meta, nd);
  } finally {
    releaseTemp(tmp);
  }
}

/** Copies src (broadcast to dst's shape, same dtype) into dst (any layout), not recorded. */
export function copyInPlace(dst: Tensor, src: Tensor): void {
  checkArgCount("copyInPlace", arguments, 2);
  requireTensor("copy_", dst);
  requireTensor("copy_", src);
  sameBackend("copy_", dst, src);
  if (src.dtype !== dst.dtype) throw new DTypeError(`copy_: source is ${src.dtype}, destination ${dst.dtype}`);
  const shape = broadcastShapes("copy_", dst.shape, src.shape);
  if (shape.length !== dst.ndim || shape.some((n, i) => n !== dst.shape[i])) {
    throw new ShapeError(`copy_: source ${shapeStr(src.shape)} cannot be broadcast to destination ${shapeStr(dst.shape)}`);
  }
  if (dst.size === 0) return;
  const be = dst.backend;
  if (dst.isContiguous() && src.isContiguous() && src.size === dst.size) {
    be.copy(dst.ptr, src.ptr, src.size * 4);
    return;
  }
  const [meta, nd] = stridedMeta(be, dst.shape, [dst.strides, broadcastStrides(src.shape, src.strides, dst.shape)]);
  be.copyStrided(dst.basePtr, src.basePtr, meta, nd);
}

/** @internal in backward: a gradient buffer accumulate helper for ops composed of kernels. */
export function accumulateDense(ctx: BackwardContext, t: Tensor, src: number): void {
  ctx.accumulate(t, (dst, acc) => {
    if (acc) t.backend.add(dst, dst, src, t.size);
    else t.backend.copy(dst, src, t.size * 4);
  });
}

export { checkBool };
