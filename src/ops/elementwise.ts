// Elementwise arithmetic with PyTorch-style broadcasting of a trailing shape (a bias row
// [N] against [M, N], a scalar against anything), and ReLU.
import type { RowwiseMode } from "../backend/backend.js";
import { ShapeError, ValueError, shapeStr } from "../errors.js";
import { describe } from "../check.js";
import { Tensor, requireFloat, sameBackend } from "../tensor.js";
import { type BackwardContext, opOutput, record } from "../autograd.js";

type BinaryOp = "add" | "sub" | "mul";
const ROW_MODE: Record<BinaryOp, RowwiseMode> = { add: 0, mul: 1, sub: 2 };

export function add(a: Tensor, b: Tensor | number): Tensor {
  return isScalar("add", b) ? affine("add", a, 1, b) : binary("add", a, b);
}
export function sub(a: Tensor, b: Tensor | number): Tensor {
  return isScalar("sub", b) ? affine("sub", a, 1, -b) : binary("sub", a, b);
}
export function mul(a: Tensor, b: Tensor | number): Tensor {
  return isScalar("mul", b) ? affine("mul", a, b, 0) : binary("mul", a, b);
}
/** a / s, computed as a · (1/s). */
export function div(a: Tensor, s: number): Tensor {
  if (typeof s !== "number") throw new ValueError(`div: the divisor must be a number, got ${describe(s)} (dividing by a tensor is not supported)`);
  return affine("div", a, 1 / s, 0);
}

/** A number operand (NaN and ±Infinity allowed, as in torch), or else it must be a Tensor. */
function isScalar(op: string, b: unknown): b is number {
  if (typeof b === "number") return true;
  if (!(b instanceof Tensor)) throw new ValueError(`${op}: the second operand must be a Tensor or a number, got ${describe(b)}`);
  return false;
}

/** y = x·s + t with scalars; dx = dy·s. */
function affine(op: string, x: Tensor, s: number, t: number): Tensor {
  requireFloat(op, "input", x);
  const be = x.backend;
  const out = opOutput(be, x.shape, [x]);
  be.affine(out.ptr, x.ptr, s, t, x.size);
  return record(out, op, [x], (g, ctx) => {
    if (s === 1) ctx.pass(x, g);
    else ctx.assign(x, (dx) => be.affine(dx, g.ptr, s, 0, x.size));
  });
}

/** Is `small` a trailing part of `big` (so it repeats over big's leading dims)? */
function isSuffix(small: readonly number[], big: readonly number[]): boolean {
  if (small.length > big.length) return false;
  const off = big.length - small.length;
  return small.every((d, i) => d === big[off + i]);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const be = sameBackend(op, a, b);
  requireFloat(op, "first operand", a);
  requireFloat(op, "second operand", b);
  if (sameShape(a.shape, b.shape)) {
    const n = a.size;
    const out = opOutput(be, a.shape, [a, b]);
    be[op](out.ptr, a.ptr, b.ptr, n);
    return record(out, op, [a, b], (g, ctx) => {
      if (op === "mul") {
        ctx.assign(a, (da) => be.mul(da, g.ptr, b.ptr, n));
        ctx.assign(b, (db) => be.mul(db, g.ptr, a.ptr, n));
      } else {
        ctx.pass(a, g);
        if (op === "add") ctx.pass(b, g);
        else ctx.assign(b, (db) => be.affine(db, g.ptr, -1, 0, n));
      }
    });
  }
  const bRow = isSuffix(b.shape, a.shape);
  if (!bRow && !isSuffix(a.shape, b.shape)) {
    throw new ShapeError(
      `${op}: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} cannot be broadcast ` +
        `(supported: equal shapes, or one shape equal to the trailing dimensions of the other)`,
    );
  }
  const [big, row] = bRow ? [a, b] : [b, a];
  const N = row.size;
  const M = N === 0 ? 0 : big.size / N;
  const out = opOutput(be, big.shape, [a, b]);
  be.rowwise(out.ptr, big.ptr, row.ptr, M, N, ROW_MODE[op]);
  // row - big = -(big - row) exactly: IEEE subtraction is symmetric under negation.
  if (op === "sub" && !bRow) be.affine(out.ptr, out.ptr, -1, 0, out.size);
  return record(out, op, [a, b], (g, ctx) => {
    const rowSign = op === "sub" && bRow ? -1 : 1;
    const bigSign = op === "sub" && !bRow ? -1 : 1;
    if (op === "mul") {
      ctx.assign(big, (d) => be.rowwise(d, g.ptr, row.ptr, M, N, 1));
      reduceRows(ctx, row, M, (tmp) => be.mul(tmp, g.ptr, big.ptr, big.size));
    } else {
      if (bigSign === 1) ctx.pass(big, g);
      else ctx.assign(big, (d) => be.affine(d, g.ptr, -1, 0, big.size));
      if (rowSign === 1) ctx.accumulate(row, (d, acc) => be.colSum(d, g.ptr, M, N, acc));
      else reduceRows(ctx, row, M, (tmp) => be.affine(tmp, g.ptr, -1, 0, big.size));
    }
  });
}

/** Gradient of a broadcast row: column sums over M rows of a (M, row.size) product. */
function reduceRows(ctx: BackwardContext, row: Tensor, M: number, product: (tmp: number) => void): void {
  if (!row.requiresGrad) return;
  const be = row.backend;
  const tmp = be.heap.alloc(M * row.size * 4);
  try {
    product(tmp);
    ctx.accumulate(row, (d, acc) => be.colSum(d, tmp, M, row.size, acc));
  } finally {
    be.heap.free(tmp);
  }
}

/** y = max(x, 0); dx = dy where y > 0. */
export function relu(x: Tensor): Tensor {
  requireFloat("relu", "input", x);
  const be = x.backend;
  const out = opOutput(be, x.shape, [x]);
  be.relu(out.ptr, x.ptr, x.size);
  return record(out, "relu", [x], (g, ctx) => {
    ctx.assign(x, (dx) => be.reluBackward(dx, g.ptr, out.ptr, x.size));
  });
}
