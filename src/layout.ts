// Shapes and strides: the arithmetic behind views and broadcasting, and the small int32 "meta"
// block that hands a strided layout to a kernel (see assembly/strided.ts for its format).
import type { Backend } from "./backend/backend.js";
import { ShapeError, ValueError, shapeStr } from "./errors.js";
import { describe } from "./check.js";

/** Most dimensions a tensor may have (PyTorch allows more; the kernels' meta block holds 8). */
export const MAX_NDIM = 8;

/** Row-major strides (in elements) of a contiguous tensor of `shape`. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** Whether `strides` lay `shape` out row-major without gaps (size-1 dims may have any stride). */
export function isContiguousLayout(shape: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] === 1) continue;
    if (shape[d] === 0) return true;
    if (strides[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/** A dim index in [-ndim, ndim) made non-negative; a ShapeError naming the op otherwise. */
export function normDim(op: string, dim: unknown, ndim: number, what = "dim"): number {
  if (typeof dim !== "number" || !Number.isInteger(dim)) throw new ValueError(`${op}: ${what} must be an integer, got ${describe(dim)}`);
  const n = Math.max(ndim, 1);
  if (dim < -n || dim >= n)
    throw new ShapeError(`${op}: ${what} ${dim} is out of range for a tensor with ${ndim} dimension${ndim === 1 ? "" : "s"} (expected ${-n} ≤ ${what} < ${n})`);
  return dim < 0 ? dim + n : dim;
}

/** A list of distinct dims (or one dim), normalised; empty list means none. */
export function normDims(op: string, dims: number | readonly number[], ndim: number): number[] {
  const list = typeof dims === "number" ? [dims] : dims;
  if (!Array.isArray(list)) throw new ValueError(`${op}: dim must be an integer or an array of integers, got ${describe(dims)}`);
  const out = list.map((d) => normDim(op, d, ndim));
  const seen = new Set<number>();
  for (const d of out) {
    if (seen.has(d)) throw new ShapeError(`${op}: dim ${d} appears more than once in ${JSON.stringify(list)}`);
    seen.add(d);
  }
  return out;
}

/** The broadcast shape of several shapes (NumPy/PyTorch rules), or a ShapeError naming the dim. */
export function broadcastShapes(op: string, ...shapes: (readonly number[])[]): number[] {
  const nd = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(nd).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const d = nd - s.length + i;
      const v = s[i];
      if (v === out[d] || v === 1) continue;
      if (out[d] === 1) {
        out[d] = v;
        continue;
      }
      throw new ShapeError(
        `${op}: shapes ${shapes.map((s) => shapeStr(s)).join(" and ")} cannot be broadcast: dimension ${d - nd} ` +
          `(size ${out[d]} vs ${v}) must be equal or 1`,
      );
    }
  }
  return out;
}

/** Strides that read a tensor (shape, strides) as the larger `to` shape: 0 along broadcast dims. */
export function broadcastStrides(shape: readonly number[], strides: readonly number[], to: readonly number[]): number[] {
  const off = to.length - shape.length;
  return to.map((n, d) => (d < off || shape[d - off] !== n ? 0 : strides[d - off]));
}

/**
 * Merges dimensions for a kernel walk over several operands of one shape: size-1 dims go, and
 * neighbouring dims d, d+1 merge where every operand steps over d exactly as over d+1 × its
 * size. The result has at least one dim; innermost rows become as long as possible.
 */
export function mergeDims(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, j) => outStrides[j][last] === s[d] * shape[d])) {
      outShape[last] *= shape[d];
      strides.forEach((s, j) => (outStrides[j][last] = s[d]));
      continue;
    }
    outShape.push(shape[d]);
    strides.forEach((s, j) => outStrides[j].push(s[d]));
  }
  if (outShape.length === 0) return { shape: [1], strides: strides.map(() => [1]) };
  return { shape: outShape, strides: outStrides };
}

/**
 * Writes the meta block of a strided kernel call (shape, each operand's strides, scratch) into
 * the backend's meta buffer and returns [pointer, nd]. Dims are merged first.
 */
export function stridedMeta(backend: Backend, shape: readonly number[], strides: readonly (readonly number[])[]): [number, number] {
  const m = mergeDims(shape, strides);
  const nd = m.shape.length;
  const k = strides.length;
  const values = new Int32Array(nd * (k + 2) + k);
  values.set(m.shape, 0);
  m.strides.forEach((s, j) => values.set(s, nd * (j + 1)));
  return [backend.writeMeta(values), nd];
}
