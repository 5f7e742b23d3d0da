// Indexing: indexSelect, gather, scatterAdd and PyTorch's x[...] as index(...). Index tensors are
// int32 (or bool masks in index()); every index is checked against its dim by one kernel scan
// before any copy, and an out-of-range one is named with its position.
import { DTypeError, ShapeError, ValueError, shapeStr } from "../errors.js";
import { describe, checkArgCount } from "../check.js";
import { Tensor, numel, sameBackend, tensor } from "../tensor.js";
import { opOutput, record } from "../autograd.js";
import { allocTemp, releaseTemp } from "../lifetime.js";
import { broadcastShapes, contiguousStrides, normDim, stridedMeta } from "../layout.js";
import { contiguous, permute, requireTensor, reshape, select, slice, to, unsqueeze } from "./layout.js";
import { add, lt, mul, where } from "./elementwise.js";

/** One item of index(...): a number, a slice string (":", "1:3", "::2", "-1:"), null (new dim), "...", or an index tensor / number array. */
export type IndexItem = number | string | null | Tensor | readonly number[];

/** Throws a ValueError naming the first index outside [0, size) (negative ones already wrapped). */
function checkRange(op: string, index: Tensor, size: number, dim: number): void {
  const idx = contiguous(index);
  const bad = idx.size === 0 ? 0 : idx.backend.countOutOfRange(idx.ptr, idx.size, size);
  if (bad === 0) return;
  const data = idx.data;
  let at = 0;
  while (at < data.length && data[at] >= 0 && data[at] < size) at++;
  throw new ValueError(
    `${op}: index ${data[at]} at position ${at} is out of range for dim ${dim} of size ${size} (${bad} such ind${bad === 1 ? "ex" : "ices"})`,
  );
}

function requireIndex(op: string, index: unknown): asserts index is Tensor {
  if (!(index instanceof Tensor)) throw new ValueError(`${op}: index must be an int32 Tensor, got ${describe(index)}`);
  if (index.dtype !== "int32") throw new DTypeError(`${op}: index must be int32, got ${index.dtype} (use tensor(indices, { dtype: "int32" }) or .int())`);
}

/** Negative indices counted from the end (-1 is size - 1), as PyTorch's advanced indexing does. */
function wrapNegative(index: Tensor, size: number): Tensor {
  return where(lt(index, 0), add(index, size), index);
}

/** Rows of dim picked by an int32 index vector (torch.index_select); backward adds rows back. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  checkArgCount("indexSelect", arguments, 3);
  requireTensor("indexSelect", x);
  requireIndex("indexSelect", index);
  const be = sameBackend("indexSelect", x, index);
  if (index.ndim > 1) throw new ShapeError(`indexSelect: index must be 1-D (or 0-d), got shape ${shapeStr(index.shape)}`);
  const d = normDim("indexSelect", dim, x.ndim);
  const R = x.ndim === 0 ? 1 : x.shape[d];
  checkRange("indexSelect", index, R, d);
  const src = contiguous(x),
    idx = contiguous(index);
  const n = idx.size;
  const outer = numel(x.shape.slice(0, d)),
    inner = numel(x.shape.slice(d + 1));
  const shape = x.ndim === 0 ? [] : [...x.shape.slice(0, d), n, ...x.shape.slice(d + 1)];
  const out = opOutput(be, shape, [src], x.dtype);
  if (out.size > 0) be.indexSelect(out.ptr, src.ptr, idx.ptr, outer, R, inner, n);
  if (x.dtype !== "float32") return out;
  return record(out, "indexSelect", [src], (g, ctx) => {
    ctx.accumulate(src, (dx, acc) => {
      if (!acc) be.fill(dx, src.size, 0);
      if (out.size > 0) be.indexAdd(dx, g.ptr, idx.ptr, outer, R, inner, n);
    });
  });
}

/** out[i][j] = x[i][index[i][j]] along dim (torch.gather); index has x's ndim. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  checkArgCount("gather", arguments, 3);
  requireTensor("gather", x);
  requireIndex("gather", index);
  const be = sameBackend("gather", x, index);
  const d = normDim("gather", dim, x.ndim);
  if (index.ndim !== x.ndim) throw new ShapeError(`gather: index must have as many dims as the input (${x.ndim}), got shape ${shapeStr(index.shape)}`);
  index.shape.forEach((n, k) => {
    if (k !== d && n > x.shape[k]) throw new ShapeError(`gather: index ${shapeStr(index.shape)} is larger than the input ${shapeStr(x.shape)} in dim ${k}`);
  });
  checkRange("gather", index, x.shape[d], d);
  const out = opOutput(be, index.shape, [x], x.dtype);
  if (out.size > 0) {
    const srcStrides = x.strides.map((s, k) => (k === d ? 0 : s));
    const [meta, nd] = stridedMeta(be, index.shape, [contiguousStrides(index.shape), srcStrides, index.strides]);
    be.gather(out.ptr, x.basePtr, index.basePtr, meta, nd, x.strides[d]);
  }
  if (x.dtype !== "float32") return out;
  return record(out, "gather", [x], (g, ctx) => {
    ctx.accumulate(x, (dx, acc) => {
      if (!acc) be.fill(dx, x.size, 0);
      scatterAddInto(be, dx, contiguousStrides(x.shape), d, g.ptr, index);
    });
  });
}

/** dst (dense strides) += src (dense, index's shape) at the index positions along dim d. */
function scatterAddInto(be: Tensor["backend"], dst: number, dstStrides: readonly number[], d: number, src: number, index: Tensor): void {
  if (index.size === 0) return;
  const [meta, nd] = stridedMeta(be, index.shape, [dstStrides.map((s, k) => (k === d ? 0 : s)), contiguousStrides(index.shape), index.strides]);
  be.scatterAdd(dst, src, index.basePtr, meta, nd, dstStrides[d]);
}

/** A copy of x with src added at the index positions along dim (torch.scatter_add). */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  checkArgCount("scatterAdd", arguments, 4);
  requireTensor("scatterAdd", x);
  requireTensor("scatterAdd", src);
  requireIndex("scatterAdd", index);
  const be = sameBackend("scatterAdd", x, index, src);
  if (x.dtype !== "float32" || src.dtype !== "float32") throw new DTypeError(`scatterAdd: input and src must be float32, got ${x.dtype} and ${src.dtype}`);
  const d = normDim("scatterAdd", dim, x.ndim);
  if (index.ndim !== x.ndim || src.ndim !== x.ndim)
    throw new ShapeError(`scatterAdd: index ${shapeStr(index.shape)} and src ${shapeStr(src.shape)} must have the input's ${x.ndim} dims`);
  index.shape.forEach((n, k) => {
    if (n > src.shape[k] || (k !== d && n > x.shape[k]))
      throw new ShapeError(`scatterAdd: index ${shapeStr(index.shape)} exceeds src ${shapeStr(src.shape)} or input ${shapeStr(x.shape)} in dim ${k}`);
  });
  checkRange("scatterAdd", index, x.shape[d], d);
  const xs = contiguous(x);
  const srcView = index.shape.every((n, k) => n === src.shape[k]) ? contiguous(src) : contiguous(narrowTo(src, index.shape));
  const out = opOutput(be, x.shape, [xs, srcView]);
  be.copy(out.ptr, xs.ptr, xs.size * 4);
  scatterAddInto(be, out.ptr, contiguousStrides(x.shape), d, srcView.ptr, index);
  return record(out, "scatterAdd", [xs, srcView], (g, ctx) => {
    ctx.pass(xs, g);
    ctx.assign(srcView, (ds) => {
      if (index.size === 0) return;
      const [meta, nd] = stridedMeta(be, index.shape, [
        contiguousStrides(index.shape),
        contiguousStrides(x.shape).map((s, k) => (k === d ? 0 : s)),
        index.strides,
      ]);
      be.gather(ds, g.ptr, index.basePtr, meta, nd, contiguousStrides(x.shape)[d]);
    });
  });
}

/** The leading block of t with the given (smaller or equal) shape. */
function narrowTo(t: Tensor, shape: readonly number[]): Tensor {
  let v = t;
  shape.forEach((n, k) => {
    if (n !== v.shape[k]) v = slice(v, k, 0, n);
  });
  return v;
}

// ---- x.index(...) --------------------------------------------------------------------------------

/** Parses Python slice syntax "start:end:step" (parts optional). */
function parseSlice(s: string): [number | null, number | null, number] {
  const parts = s.split(":");
  if (parts.length < 2 || parts.length > 3)
    throw new ValueError(`index: '${s}' is not a slice (expected "start:end" or "start:end:step", parts optional, or "..." )`);
  const num = (p: string, name: string): number | null => {
    if (p.trim() === "") return null;
    const v = Number(p);
    if (!Number.isInteger(v)) throw new ValueError(`index: the ${name} of slice '${s}' is not an integer`);
    return v;
  };
  const step = num(parts[2] ?? "", "step") ?? 1;
  if (step <= 0) throw new ValueError(`index: slice '${s}' needs a positive step (PyTorch has no negative steps)`);
  return [num(parts[0], "start"), num(parts[1], "end"), step];
}

/** How many input dims an item consumes. */
function consumed(item: IndexItem): number {
  if (item === null || item === "...") return 0;
  if (item instanceof Tensor && item.dtype === "bool") return Math.max(item.ndim, 1);
  return 1;
}

/**
 * PyTorch's x[items] (basic and advanced indexing). Numbers select (and drop the dim), slice
 * strings slice, null adds a dim, "..." stands for the dims not otherwise indexed, int32 tensors
 * or number arrays gather (several broadcast together, as in NumPy), bool tensors mask.
 */
export function index(x: Tensor, items: readonly IndexItem[]): Tensor {
  checkArgCount("index", arguments, 2);
  requireTensor("index", x);
  if (!Array.isArray(items)) throw new ValueError(`index: expected index items, got ${describe(items)}`);
  const ellipses = items.filter((i) => i === "...").length;
  if (ellipses > 1) throw new ValueError("index: at most one '...' is allowed");
  const used = items.reduce((n, i) => n + consumed(i), 0);
  if (used > x.ndim) throw new ShapeError(`index: too many indices (${used}) for a tensor of shape ${shapeStr(x.shape)}`);
  const expanded: IndexItem[] = [];
  for (const item of items) {
    if (item === "...") for (let k = 0; k < x.ndim - used; k++) expanded.push(":");
    else expanded.push(item);
  }
  // Basic indexing first: a view. Index tensors are kept (their dim stays) for the second pass.
  let v = x;
  let dim = 0;
  const advanced: { dim: number; index: Tensor }[] = [];
  for (const item of expanded) {
    if (item === null) {
      v = unsqueeze(v, dim);
      dim++;
    } else if (typeof item === "number") {
      v = select(v, dim, item);
    } else if (typeof item === "string") {
      const [s, e, st] = parseSlice(item);
      v = slice(v, dim, s, e, st);
      dim++;
    } else if (item instanceof Tensor || Array.isArray(item)) {
      const t = item instanceof Tensor ? item : tensor(item as number[], { dtype: "int32", backend: x.backend });
      if (t.dtype === "bool") {
        // A mask over the next t.ndim dims: merge them and pick the true positions.
        const n = Math.max(t.ndim, 1);
        const dimsShape = v.shape.slice(dim, dim + n);
        if (t.ndim > 0 && t.shape.some((s, k) => s !== dimsShape[k]))
          throw new ShapeError(`index: the mask of shape ${shapeStr(t.shape)} does not match the indexed dims ${shapeStr(dimsShape)} of ${shapeStr(v.shape)}`);
        v = reshape(v, [...v.shape.slice(0, dim), numel(dimsShape), ...v.shape.slice(dim + n)]);
        advanced.push({ dim, index: maskPositions(t) });
      } else if (t.dtype === "int32") {
        advanced.push({ dim, index: t });
      } else {
        throw new DTypeError(`index: index tensors must be int32 or bool, got ${t.dtype}`);
      }
      dim++;
    } else {
      throw new ValueError(
        `index: unsupported index item ${describe(item)} (numbers, slice strings like "1:3", null, "...", int32/bool tensors or number arrays)`,
      );
    }
  }
  if (advanced.length === 0) return v;
  return advancedIndex(v, advanced);
}

/** The flat positions (int32) of the true elements of a bool mask, in row-major order. */
function maskPositions(mask: Tensor): Tensor {
  const m = contiguous(mask);
  const be = m.backend;
  const flat = reshape(m, [m.size]);
  const count = m.size === 0 ? 0 : be.maskPositions(0, flat.ptr, flat.size);
  const out = opOutput(be, [count], [], "int32");
  if (count > 0) be.maskPositions(out.ptr, flat.ptr, flat.size);
  return out;
}

/** Gathers along the dims that have index tensors (broadcast together), NumPy's placement rule. */
function advancedIndex(v: Tensor, advanced: { dim: number; index: Tensor }[]): Tensor {
  sameBackend("index", v, ...advanced.map((a) => a.index));
  const idxShape = broadcastShapes("index (index tensors)", ...advanced.map((a) => a.index.shape));
  const dims = advanced.map((a) => a.dim);
  const adjacent = dims.every((d, i) => i === 0 || d === dims[i - 1] + 1);
  // Move the indexed dims to the front (in order), then merge them into one.
  const rest = v.shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const moved = permute(v, [...dims, ...rest]);
  const sizes = dims.map((d) => v.shape[d]);
  let lin: Tensor | null = null;
  advanced.forEach((a, i) => {
    let idx = wrapNegative(a.index, sizes[i]);
    checkRange("index", idx, sizes[i], a.dim);
    idx = mul(idx, numel(sizes.slice(i + 1)));
    lin = lin === null ? idx : add(lin, idx);
  });
  const merged = reshape(contiguous(moved), [numel(sizes), ...rest.map((d) => v.shape[d])]);
  const flatIdx = reshape(contiguous(to(lin!, "int32")), [numel(idxShape)]);
  const picked = indexSelect(merged, 0, flatIdx);
  const restShape = rest.map((d) => v.shape[d]);
  const front = reshape(picked, [...idxShape, ...restShape]);
  if (!adjacent || dims[0] === 0) return front;
  // Adjacent index dims: the result dims go where the first indexed dim was.
  const k = idxShape.length,
    before = dims[0];
  const order = [
    ...Array.from({ length: before }, (_, i) => k + i),
    ...Array.from({ length: k }, (_, i) => i),
    ...Array.from({ length: restShape.length - before }, (_, i) => k + before + i),
  ];
  return permute(front, order);
}

/**
 * F.embedding: rows of weight (numEmbeddings, dim) picked by int32 indices of any shape, giving
 * (*indices.shape, dim). The row at paddingIdx (if given) gets no gradient, as in PyTorch.
 */
export function embedding(input: Tensor, weight: Tensor, paddingIdx: number | null = null): Tensor {
  checkArgCount("embedding", arguments, 3);
  requireIndex("embedding", input);
  requireTensor("embedding", weight);
  const be = sameBackend("embedding", input, weight);
  if (weight.ndim !== 2) throw new ShapeError(`embedding: weight must be 2-D (numEmbeddings, embeddingDim), got ${shapeStr(weight.shape)}`);
  const [V, D] = weight.shape;
  let pad: number | null = null;
  if (paddingIdx !== null && paddingIdx !== undefined) {
    if (!Number.isInteger(paddingIdx) || paddingIdx < -V || paddingIdx >= V)
      throw new ValueError(`embedding: paddingIdx must be an integer within ±${V} (numEmbeddings), got ${describe(paddingIdx)}`);
    pad = paddingIdx < 0 ? paddingIdx + V : paddingIdx;
  }
  const idx = contiguous(input);
  checkRange("embedding", idx, V, 0);
  const w = contiguous(weight);
  const out = opOutput(be, [...input.shape, D], [w]);
  if (out.size > 0) be.indexSelect(out.ptr, w.ptr, idx.ptr, 1, V, D, idx.size);
  return record(out, "embedding", [w], (g, ctx) => {
    ctx.accumulate(w, (dw, acc) => {
      if (!acc) be.fill(dw, w.size, 0);
      // The padding row keeps what it had: saved, then restored after the scatter-add.
      const saved = pad === null ? null : allocTemp(be, D * 4);
      try {
        if (saved) be.copy(saved.ptr, dw + pad! * D * 4, D * 4);
        if (out.size > 0) be.indexAdd(dw, g.ptr, idx.ptr, 1, V, D, idx.size);
        if (saved) be.copy(dw + pad! * D * 4, saved.ptr, D * 4);
      } finally {
        if (saved) releaseTemp(saved);
      }
    });
  });
}
