// Reductions over all elements or any dims (sum, mean, prod, max/min with indices, argmax/argmin,
// var/std, logsumexp, norm) and cumsum. A reduction over a set of dims runs on x viewed as
// (outer, R, inner): directly when the dims are one contiguous block of a contiguous x, else on
// a copy with the reduced dims moved last. Sums accumulate in float64.
import { ShapeError, ValueError, shapeStr } from "../errors.js";
import { checkBool, describe, checkArgCount } from "../check.js";
import { type Tensor, ValuesIndices, numel, requireFloat } from "../tensor.js";
import { opOutput, record } from "../autograd.js";
import { BinaryOp, ReduceOp, UnaryOp } from "../backend/kernel-exports.generated.js";
import type { Backend } from "../backend/backend.js";
import { allocTemp, releaseTemp } from "../lifetime.js";
import { contiguousStrides, normDim, normDims, stridedMeta } from "../layout.js";
import { contiguous, permute, requireTensor, to } from "./layout.js";

/** The order of a norm: a positive number or "inf" (max |x|). */
export type NormOrder = number | "inf";

// ---- reducing a dense buffer over broadcast dims (gradients of broadcasting ops) -----------------

/**
 * dst (dense, `to`) (+)= src (dense, `from`) summed over the dims `to` broadcasts along (size 1
 * in `to`, or missing in front). Neighbouring reduced (or kept) dims merge into one, and each
 * run of reduced dims is one reduceDim call, innermost first.
 */
export function sumToShape(be: Backend, dst: number, accumulate: boolean, src: number, from: readonly number[], to: readonly number[]): void {
  const n = numel(from);
  const pad = from.length - to.length;
  // Runs of [size, reduced?] with size-1 dims dropped.
  const runs: [number, boolean][] = [];
  for (let d = 0; d < from.length; d++) {
    if (from[d] === 1) continue;
    const reduced = d < pad || to[d - pad] === 1;
    const last = runs[runs.length - 1];
    if (last !== undefined && last[1] === reduced) last[0] *= from[d];
    else runs.push([from[d], reduced]);
  }
  if (!runs.some((r) => r[1]) || n === 0) {
    const m = numel(to);
    if (n === 0) {
      if (!accumulate) be.fill(dst, m, 0);
    } else if (accumulate) be.add(dst, dst, src, m);
    else be.copy(dst, src, m * 4);
    return;
  }
  let cur = src,
    curRuns = runs,
    temp: ReturnType<typeof allocTemp> | null = null;
  try {
    for (;;) {
      const k = curRuns.map((r) => r[1]).lastIndexOf(true);
      const outer = numel(curRuns.slice(0, k).map((r) => r[0]));
      const inner = numel(curRuns.slice(k + 1).map((r) => r[0]));
      const R = curRuns[k][0];
      const rest = [...curRuns.slice(0, k), ...curRuns.slice(k + 1)];
      const last = !rest.some((r) => r[1]);
      if (last) {
        be.reduceDim(ReduceOp.Sum, dst, cur, outer, R, inner, accumulate);
        return;
      }
      const next = allocTemp(be, outer * inner * 4);
      be.reduceDim(ReduceOp.Sum, next.ptr, cur, outer, R, inner, false);
      if (temp !== null) releaseTemp(temp);
      temp = next;
      cur = next.ptr;
      // Merge the runs that became neighbours.
      const merged: [number, boolean][] = [];
      for (const r of rest) {
        const l = merged[merged.length - 1];
        if (l !== undefined && l[1] === r[1]) l[0] *= r[0];
        else merged.push([r[0], r[1]]);
      }
      curRuns = merged;
    }
  } finally {
    if (temp !== null) releaseTemp(temp);
  }
}

// ---- planning a reduction ----------------------------------------------------------------------

interface Plan {
  /** x (dense) or a dense copy with the reduced dims last */
  src: Tensor;
  outer: number;
  R: number;
  inner: number;
  /** the result's shape with reduced dims kept as 1 */
  keptShape: number[];
  /** the result's shape as returned */
  outShape: number[];
}

function dimsOf(op: string, x: Tensor, dim: number | readonly number[] | null | undefined): number[] {
  if (dim === undefined || dim === null) return x.shape.map((_, i) => i);
  if (Array.isArray(dim) && dim.length === 0) return x.shape.map((_, i) => i);
  return normDims(op, dim as number | readonly number[], x.ndim);
}

function plan(x: Tensor, dims: number[], keepdim: boolean): Plan {
  const keptShape = x.shape.map((n, i) => (dims.includes(i) ? 1 : n));
  const outShape = keepdim ? keptShape : x.shape.filter((_, i) => !dims.includes(i));
  const sorted = [...dims].sort((a, b) => a - b);
  const R = numel(sorted.map((d) => x.shape[d]));
  const block = sorted.every((d, i) => i === 0 || d === sorted[i - 1] + 1);
  if (x.ndim === 0) return { src: contiguous(x), outer: 1, R: 1, inner: 1, keptShape, outShape };
  if (block) {
    const src = contiguous(x);
    const outer = numel(x.shape.slice(0, sorted[0]));
    const inner = numel(x.shape.slice(sorted[sorted.length - 1] + 1));
    return { src, outer, R, inner, keptShape, outShape };
  }
  const kept = x.shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const src = contiguous(permute(x, [...kept, ...sorted]));
  return { src, outer: numel(kept.map((d) => x.shape[d])), R, inner: 1, keptShape, outShape };
}

/** dx (dense, x.shape) = g (kept shape) broadcast along the reduced dims, times `scale`. */
function broadcastBack(be: Backend, dx: number, g: number, keptShape: readonly number[], xShape: readonly number[], scale: number, accumulate: boolean): void {
  if (numel(xShape) === 0) return;
  const gStrides = contiguousStrides(keptShape).map((s, i) => (keptShape[i] === 1 ? 0 : s));
  const dense = contiguousStrides(xShape);
  if (accumulate) {
    // dx += scale · g_b: through a temporary so the scale applies to g only.
    const t = allocTemp(be, numel(xShape) * 4);
    try {
      const [meta, nd] = stridedMeta(be, xShape, [dense, gStrides]);
      be.copyStrided(t.ptr, g, meta, nd);
      be.axpy(dx, t.ptr, scale, numel(xShape));
    } finally {
      releaseTemp(t);
    }
    return;
  }
  const [meta, nd] = stridedMeta(be, xShape, [dense, gStrides]);
  be.copyStrided(dx, g, meta, nd);
  if (scale !== 1) be.affine(dx, dx, scale, 0, numel(xShape));
}

function requireFloatInput(op: string, x: Tensor): Tensor {
  requireTensor(op, x);
  return x.dtype === "float32" ? x : to(x, "float32");
}

// ---- sum, mean, prod -------------------------------------------------------------------------------

/** Σ over all elements (dim undefined/null) or over dim(s); keepdim keeps them as size 1. */
export function sum(x: Tensor, dim?: number | readonly number[] | null, keepdim = false): Tensor {
  checkArgCount("sum", arguments, 3);
  return sumLike("sum", x, dim, keepdim, false);
}

/** Mean over all elements or dim(s) (NaN for an empty reduction, as in PyTorch). */
export function mean(x: Tensor, dim?: number | readonly number[] | null, keepdim = false): Tensor {
  checkArgCount("mean", arguments, 3);
  return sumLike("mean", x, dim, keepdim, true);
}

function sumLike(op: string, x: Tensor, dim: number | readonly number[] | null | undefined, keepdim: boolean, average: boolean): Tensor {
  // As PyTorch: the mean of integers has no dtype to give (sum of int32 gives float32 here).
  if (average) requireFloat(op, "input", x);
  const src0 = requireFloatInput(op, x);
  checkBool(op, "keepdim", keepdim);
  const dims = dimsOf(op, src0, dim);
  const p = plan(src0, dims, keepdim);
  const be = src0.backend;
  const scale = average ? (p.R === 0 ? NaN : 1 / p.R) : 1;
  const out = opOutput(be, p.outShape, [p.src]);
  be.reduceDim(ReduceOp.Sum, out.ptr, p.src.ptr, p.outer, p.R, p.inner, false);
  if (average) be.affine(out.ptr, out.ptr, scale, 0, out.size);
  return record(out, op, [src0], (g, ctx) => {
    ctx.accumulate(src0, (dx, acc) => broadcastBack(be, dx, g.ptr, p.keptShape, src0.shape, scale, acc));
  });
}

/** Product over all elements or one dim; gradients are exact with zeros in the input. */
export function prod(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  checkArgCount("prod", arguments, 3);
  const src0 = requireFloatInput("prod", x);
  checkBool("prod", "keepdim", keepdim);
  if (dim !== undefined && dim !== null && typeof dim !== "number") throw new ValueError(`prod: dim must be an integer or null, got ${describe(dim)}`);
  const dims = dimsOf("prod", src0, dim);
  const p = plan(src0, dims, keepdim);
  const be = src0.backend;
  const out = opOutput(be, p.outShape, [p.src]);
  be.reduceDim(ReduceOp.Prod, out.ptr, p.src.ptr, p.outer, p.R, p.inner, false);
  return record(out, "prod", [p.src], (g, ctx) => {
    // d prod / d x_r = product of the others: exclusive products by a kernel, times g broadcast.
    ctx.assign(p.src, (dx) => {
      be.prodBackward(dx, g.ptr, p.src.ptr, p.outer, p.R, p.inner);
    });
  });
}

// ---- max / min ----------------------------------------------------------------------------------

/** The maximum of all elements (a 0-d tensor); the gradient is shared evenly among ties. */
export function amax(x: Tensor, dim?: number | readonly number[] | null, keepdim = false): Tensor {
  checkArgCount("amax", arguments, 3);
  return extremum("amax", x, dim, keepdim, false);
}
/** The minimum of all elements (a 0-d tensor). */
export function amin(x: Tensor, dim?: number | readonly number[] | null, keepdim = false): Tensor {
  checkArgCount("amin", arguments, 3);
  return extremum("amin", x, dim, keepdim, true);
}

function extremum(op: string, x: Tensor, dim: number | readonly number[] | null | undefined, keepdim: boolean, isMin: boolean): Tensor {
  const src0 = requireFloatInput(op, x);
  const dims = dimsOf(op, src0, dim);
  const p = plan(src0, dims, keepdim);
  if (p.R === 0) throw new ShapeError(`${op}: cannot take the ${isMin ? "minimum" : "maximum"} of an empty dimension (input ${shapeStr(x.shape)})`);
  const be = src0.backend;
  const out = opOutput(be, p.outShape, [p.src]);
  be.reduceDim(isMin ? ReduceOp.Min : ReduceOp.Max, out.ptr, p.src.ptr, p.outer, p.R, p.inner, false);
  return record(out, op, [src0], (g, ctx) => {
    // dx = g / (number of ties) at every position equal to the extreme, 0 elsewhere.
    const n = src0.size;
    const dense = contiguousStrides(src0.shape);
    const kept = contiguousStrides(p.keptShape).map((s, i) => (p.keptShape[i] === 1 ? 0 : s));
    const mask = allocTemp(be, n * 4),
      count = allocTemp(be, Math.max(out.size, 1) * 4);
    try {
      const xs = contiguous(src0);
      const [m1, nd1] = stridedMeta(be, src0.shape, [dense, dense, kept]);
      be.binaryStrided(BinaryOp.Eq, mask.ptr, xs.ptr, out.ptr, m1, nd1, false);
      be.cast(mask.ptr, mask.ptr, n, 1);
      sumToShape(be, count.ptr, false, mask.ptr, src0.shape, p.keptShape);
      be.binaryStrided(BinaryOp.Div, count.ptr, g.ptr, count.ptr, ...stridedMeta(be, [out.size], [[1], [1], [1]]), false);
      const [m2, nd2] = stridedMeta(be, src0.shape, [dense, dense, kept]);
      be.binaryStrided(BinaryOp.Mul, mask.ptr, mask.ptr, count.ptr, m2, nd2, false);
      ctx.accumulate(src0, (dx, acc) => {
        if (acc) be.add(dx, dx, mask.ptr, n);
        else be.copy(dx, mask.ptr, n * 4);
      });
    } finally {
      releaseTemp(mask);
      releaseTemp(count);
    }
  });
}

function valuesIndices(values: Tensor, indices: Tensor): ValuesIndices {
  return new ValuesIndices(values, indices);
}

/** Maximum along dim: values and int32 indices (first maximum; NaN wins), torch.max(x, dim). */
export function maxDim(x: Tensor, dim: number, keepdim = false): ValuesIndices {
  checkArgCount("maxDim", arguments, 3);
  return extremeDim("max", x, dim, keepdim, false);
}
/** Minimum along dim: values and int32 indices, torch.min(x, dim). */
export function minDim(x: Tensor, dim: number, keepdim = false): ValuesIndices {
  checkArgCount("minDim", arguments, 3);
  return extremeDim("min", x, dim, keepdim, true);
}

function extremeDim(op: string, x: Tensor, dim: number, keepdim: boolean, isMin: boolean): ValuesIndices {
  const src0 = requireFloatInput(op, x);
  checkBool(op, "keepdim", keepdim);
  const d = normDim(op, dim, src0.ndim);
  const p = plan(src0, src0.ndim === 0 ? [] : [d], keepdim);
  if (p.R === 0) throw new ShapeError(`${op}: dim ${dim} of shape ${shapeStr(x.shape)} is empty`);
  const be = src0.backend;
  const values = opOutput(be, p.outShape, [p.src]);
  const indices = opOutput(be, p.outShape, [], "int32");
  be.argReduceDim(values.ptr, indices.ptr, p.src.ptr, p.outer, p.R, p.inner, isMin);
  const v = record(values, op, [p.src], (g, ctx) => {
    ctx.accumulate(p.src, (dx, acc) => be.scatterDim(dx, g.ptr, indices.ptr, p.outer, p.R, p.inner, acc));
  });
  return valuesIndices(v, indices);
}

/** Indices (int32) of the first maximum: flat over all elements, or along dim. */
export function argmax(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  checkArgCount("argmax", arguments, 3);
  return argExtreme("argmax", x, dim, keepdim, false);
}
/** Indices (int32) of the first minimum: flat over all elements, or along dim. */
export function argmin(x: Tensor, dim?: number | null, keepdim = false): Tensor {
  checkArgCount("argmin", arguments, 3);
  return argExtreme("argmin", x, dim, keepdim, true);
}

function argExtreme(op: string, x: Tensor, dim: number | null | undefined, keepdim: boolean, isMin: boolean): Tensor {
  const src0 = requireFloatInput(op, x);
  checkBool(op, "keepdim", keepdim);
  const be = src0.backend;
  if (dim === undefined || dim === null) {
    if (src0.size === 0) throw new ShapeError(`${op}: an empty tensor has no ${isMin ? "minimum" : "maximum"}`);
    const src = contiguous(src0);
    const out = opOutput(be, keepdim ? src0.shape.map(() => 1) : [], [], "int32");
    be.argReduceDim(0, out.ptr, src.ptr, 1, src.size, 1, isMin);
    return out;
  }
  const d = normDim(op, dim, src0.ndim);
  const p = plan(src0, src0.ndim === 0 ? [] : [d], keepdim);
  if (p.R === 0) throw new ShapeError(`${op}: dim ${dim} of shape ${shapeStr(x.shape)} is empty`);
  const out = opOutput(be, p.outShape, [], "int32");
  be.argReduceDim(0, out.ptr, p.src.ptr, p.outer, p.R, p.inner, isMin);
  return out;
}

// ---- var / std ------------------------------------------------------------------------------------

/** Options of var/std. */
export interface VarOptions {
  /** Subtracted from the count in the denominator: 1 (Bessel, the default) or 0 (population). */
  correction?: number;
  keepdim?: boolean;
}

function varOptions(op: string, options: VarOptions): { correction: number; keepdim: boolean } {
  if (options === null || typeof options !== "object" || Array.isArray(options))
    throw new ValueError(`${op}: options must be an object {correction, keepdim}, got ${describe(options)}`);
  for (const k of Object.keys(options))
    if (k !== "correction" && k !== "keepdim") throw new ValueError(`${op}: unknown option '${k}' (expected 'correction', 'keepdim')`);
  const correction = options.correction ?? 1;
  if (typeof correction !== "number" || !Number.isFinite(correction) || correction < 0)
    throw new ValueError(`${op}: correction must be a finite number ≥ 0, got ${describe(correction)}`);
  const keepdim = options.keepdim ?? false;
  checkBool(op, "keepdim", keepdim);
  return { correction, keepdim };
}

/** Variance over all elements or dim(s): Σ(x - mean)² / (N - correction). */
export function variance(x: Tensor, dim?: number | readonly number[] | null, options: VarOptions = {}): Tensor {
  checkArgCount("variance", arguments, 3);
  return varLike("var", x, dim, options, false);
}

/** Standard deviation: sqrt(var). */
export function std(x: Tensor, dim?: number | readonly number[] | null, options: VarOptions = {}): Tensor {
  checkArgCount("std", arguments, 3);
  return varLike("std", x, dim, options, true);
}

function varLike(op: string, x: Tensor, dim: number | readonly number[] | null | undefined, options: VarOptions, root: boolean): Tensor {
  requireFloat(op, "input", x);
  const src0 = x;
  const { correction, keepdim } = varOptions(op, options);
  const dims = dimsOf(op, src0, dim);
  const p = plan(src0, dims, keepdim);
  const be = src0.backend;
  const out = opOutput(be, p.outShape, [p.src]);
  const meanT = opOutput(be, p.keptShape, [p.src]);
  be.varDim(out.ptr, meanT.ptr, p.src.ptr, p.outer, p.R, p.inner, correction);
  if (root) be.unary(UnaryOp.Sqrt, out.ptr, out.ptr, out.size, 0, 0);
  return record(out, op, [src0], (g, ctx) => {
    // dvar/dx = 2 (x - mean) / (N - c); dstd/dx = dvar/dx / (2 std).
    const n = src0.size;
    const dense = contiguousStrides(src0.shape);
    const kept = contiguousStrides(p.keptShape).map((s, i) => (p.keptShape[i] === 1 ? 0 : s));
    const coef = allocTemp(be, Math.max(out.size, 1) * 4),
      t = allocTemp(be, n * 4);
    try {
      be.affine(coef.ptr, g.ptr, 2 / Math.max(p.R - correction, 0), 0, out.size);
      if (root) be.binaryStrided(BinaryOp.Div, coef.ptr, coef.ptr, out.ptr, ...stridedMeta(be, [out.size], [[1], [1], [1]]), false);
      if (root) be.affine(coef.ptr, coef.ptr, 0.5, 0, out.size);
      const xs = contiguous(src0);
      const [m1, nd1] = stridedMeta(be, src0.shape, [dense, dense, kept]);
      be.binaryStrided(BinaryOp.Sub, t.ptr, xs.ptr, meanT.ptr, m1, nd1, false);
      const [m2, nd2] = stridedMeta(be, src0.shape, [dense, dense, kept]);
      be.binaryStrided(BinaryOp.Mul, t.ptr, t.ptr, coef.ptr, m2, nd2, false);
      ctx.accumulate(src0, (dx, acc) => {
        if (acc) be.add(dx, dx, t.ptr, n);
        else be.copy(dx, t.ptr, n * 4);
      });
    } finally {
      releaseTemp(coef);
      releaseTemp(t);
    }
  });
}

// ---- logsumexp, norm, cumsum ------------------------------------------------------------------------

/** log Σ exp over dim(s), stable (max-subtracted); dx = g · softmax(x). */
export function logsumexp(x: Tensor, dim: number | readonly number[], keepdim = false): Tensor {
  checkArgCount("logsumexp", arguments, 3);
  const src0 = requireFloatInput("logsumexp", x);
  checkBool("logsumexp", "keepdim", keepdim);
  if (dim === undefined || dim === null) throw new ValueError("logsumexp: dim is required (an integer or an array of them)");
  const dims = dimsOf("logsumexp", src0, dim);
  const p = plan(src0, dims, keepdim);
  const be = src0.backend;
  const out = opOutput(be, p.outShape, [p.src]);
  be.logsumexpDim(out.ptr, p.src.ptr, p.outer, p.R, p.inner);
  return record(out, "logsumexp", [src0], (g, ctx) => {
    const n = src0.size;
    const dense = contiguousStrides(src0.shape);
    const kept = contiguousStrides(p.keptShape).map((s, i) => (p.keptShape[i] === 1 ? 0 : s));
    const t = allocTemp(be, n * 4);
    try {
      const xs = contiguous(src0);
      be.binaryStrided(BinaryOp.Sub, t.ptr, xs.ptr, out.ptr, ...stridedMeta(be, src0.shape, [dense, dense, kept]), false);
      be.unary(UnaryOp.Exp, t.ptr, t.ptr, n, 0, 0);
      be.binaryStrided(BinaryOp.Mul, t.ptr, t.ptr, g.ptr, ...stridedMeta(be, src0.shape, [dense, dense, kept]), false);
      ctx.accumulate(src0, (dx, acc) => {
        if (acc) be.add(dx, dx, t.ptr, n);
        else be.copy(dx, t.ptr, n * 4);
      });
    } finally {
      releaseTemp(t);
    }
  });
}

/** The p-norm over all elements or dim(s): 2 (default), 1, "inf", or any p > 0. */
export function norm(x: Tensor, p: NormOrder = 2, dim?: number | readonly number[] | null, keepdim = false): Tensor {
  checkArgCount("norm", arguments, 4);
  const src0 = requireFloatInput("norm", x);
  checkBool("norm", "keepdim", keepdim);
  if (p !== "inf" && (typeof p !== "number" || !(p > 0) || !Number.isFinite(p)))
    throw new ValueError(`norm: p must be a finite number > 0 or "inf", got ${describe(p)}`);
  if (p !== 1 && p !== 2 && p !== "inf") {
    // (Σ |x|^p)^(1/p), composed so autograd differentiates it.
    return (sum(src0.abs().pow(p), dim, keepdim) as Tensor).pow(1 / p);
  }
  const dims = dimsOf("norm", src0, dim);
  const pl = plan(src0, dims, keepdim);
  const be = src0.backend;
  const out = opOutput(be, pl.outShape, [pl.src]);
  be.reduceDim(p === 1 ? ReduceOp.SumAbs : p === 2 ? ReduceOp.SumSq : ReduceOp.MaxAbs, out.ptr, pl.src.ptr, pl.outer, pl.R, pl.inner, false);
  if (p === 2) be.unary(UnaryOp.Sqrt, out.ptr, out.ptr, out.size, 0, 0);
  if (p === "inf") {
    // The gradient of max |x| goes to the positions of the maximum, as amax's does.
    return record(out, "norm", [src0], (g, ctx) => {
      ctx.accumulate(src0, (dx, acc) => normInfBackward(be, dx, acc, g, out, src0, pl.keptShape));
    });
  }
  return record(out, "norm", [src0], (g, ctx) => {
    // p = 1: dx = g · sign(x); p = 2: dx = g · x / norm (0 where the norm is 0).
    const n = src0.size;
    const dense = contiguousStrides(src0.shape);
    const kept = contiguousStrides(pl.keptShape).map((s, i) => (pl.keptShape[i] === 1 ? 0 : s));
    const coef = allocTemp(be, Math.max(out.size, 1) * 4),
      t = allocTemp(be, n * 4);
    try {
      const xs = contiguous(src0);
      if (p === 1) {
        be.unary(UnaryOp.Sign, t.ptr, xs.ptr, n, 0, 0);
        be.copy(coef.ptr, g.ptr, out.size * 4);
      } else {
        be.copy(t.ptr, xs.ptr, n * 4);
        // coef = g / norm, with 0 where norm = 0 (the subgradient PyTorch uses).
        be.binaryStrided(BinaryOp.Div, coef.ptr, g.ptr, out.ptr, ...stridedMeta(be, [out.size], [[1], [1], [1]]), false);
        zeroWhereZero(be, coef.ptr, out.ptr, out.size);
      }
      be.binaryStrided(BinaryOp.Mul, t.ptr, t.ptr, coef.ptr, ...stridedMeta(be, src0.shape, [dense, dense, kept]), false);
      ctx.accumulate(src0, (dx, acc) => {
        if (acc) be.add(dx, dx, t.ptr, n);
        else be.copy(dx, t.ptr, n * 4);
      });
    } finally {
      releaseTemp(coef);
      releaseTemp(t);
    }
  });
}

/** v[i] = 0 where ref[i] = 0 (n elements). */
function zeroWhereZero(be: Backend, v: number, ref: number, n: number): void {
  const mask = allocTemp(be, n * 4),
    zero = allocTemp(be, 4);
  try {
    be.fill(zero.ptr, 1, 0);
    be.binaryStrided(BinaryOp.Eq, mask.ptr, ref, zero.ptr, ...stridedMeta(be, [n], [[1], [1], [0]]), false);
    be.whereStrided(v, mask.ptr, zero.ptr, v, ...stridedMeta(be, [n], [[1], [1], [0], [1]]));
  } finally {
    releaseTemp(mask);
    releaseTemp(zero);
  }
}

function normInfBackward(be: Backend, dx: number, acc: boolean, g: Tensor, out: Tensor, x: Tensor, keptShape: number[]): void {
  // dx = g · sign(x) / ties at positions where |x| equals the max.
  const n = x.size;
  const dense = contiguousStrides(x.shape);
  const kept = contiguousStrides(keptShape).map((s, i) => (keptShape[i] === 1 ? 0 : s));
  const absx = allocTemp(be, n * 4),
    mask = allocTemp(be, n * 4),
    count = allocTemp(be, Math.max(out.size, 1) * 4);
  try {
    const xs = contiguous(x);
    be.unary(UnaryOp.Abs, absx.ptr, xs.ptr, n, 0, 0);
    be.binaryStrided(BinaryOp.Eq, mask.ptr, absx.ptr, out.ptr, ...stridedMeta(be, x.shape, [dense, dense, kept]), false);
    be.cast(mask.ptr, mask.ptr, n, 1);
    sumToShape(be, count.ptr, false, mask.ptr, x.shape, keptShape);
    be.binaryStrided(BinaryOp.Div, count.ptr, g.ptr, count.ptr, ...stridedMeta(be, [out.size], [[1], [1], [1]]), false);
    be.binaryStrided(BinaryOp.Mul, mask.ptr, mask.ptr, count.ptr, ...stridedMeta(be, x.shape, [dense, dense, kept]), false);
    be.unary(UnaryOp.Sign, absx.ptr, xs.ptr, n, 0, 0);
    be.mul(mask.ptr, mask.ptr, absx.ptr, n);
    if (acc) be.add(dx, dx, mask.ptr, n);
    else be.copy(dx, mask.ptr, n * 4);
  } finally {
    releaseTemp(absx);
    releaseTemp(mask);
    releaseTemp(count);
  }
}

/** Running sum along dim (float64 accumulators); dx = reversed running sum of g. */
export function cumsum(x: Tensor, dim: number): Tensor {
  checkArgCount("cumsum", arguments, 2);
  const src0 = requireFloatInput("cumsum", x);
  const d = normDim("cumsum", dim, src0.ndim);
  const src = contiguous(src0);
  const be = src.backend;
  const R = src.ndim === 0 ? 1 : src.shape[d];
  const outer = numel(src.shape.slice(0, d)),
    inner = numel(src.shape.slice(d + 1));
  const out = opOutput(be, src.shape, [src]);
  if (src.size > 0) be.cumsumDim(out.ptr, src.ptr, outer, R, inner, false);
  return record(out, "cumsum", [src], (g, ctx) => {
    ctx.assign(src, (dx) => {
      if (src.size > 0) be.cumsumDim(dx, g.ptr, outer, R, inner, true);
    });
  });
}
