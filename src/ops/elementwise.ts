// Elementwise arithmetic and comparisons with full NumPy/PyTorch broadcasting: both operands,
// size-1 dims anywhere, any layout. The shapes are resolved here into one strided kernel call
// (binaryStrided: after merging dims, the common cases are a flat loop, a row or a column
// broadcast). Gradients are reduced over the broadcast dims (sumToShape).
//
// Dtypes: float32 with float32 gives float32; int32 with int32 keeps int32 for + - × max min
// (true division and pow give float32); a float32 operand promotes the other to float32; bool
// in arithmetic counts as int32 0/1. Comparisons give bool. A number operand takes the
// tensor's dtype when it is an integer and the tensor is integral, else float32.
import { DTypeError, ValueError } from "../errors.js";
import { describe, checkArgCount } from "../check.js";
import { Tensor, type DType, numel, sameBackend } from "../tensor.js";
import { type BackwardContext, opOutput, record } from "../autograd.js";
import { BinaryOp, UnaryOp } from "../backend/kernel-exports.generated.js";
import type { Backend } from "../backend/backend.js";
import { allocTemp, intoCurrentStep, isGradEnabled, releaseTemp } from "../lifetime.js";
import { broadcastShapes, broadcastStrides, contiguousStrides, stridedMeta } from "../layout.js";
import { contiguous, requireTensor, to } from "./layout.js";
import { sumToShape } from "./reduce.js";
import { full } from "../tensor.js";

type Arith = "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum";
type Compare = "eq" | "ne" | "lt" | "le" | "gt" | "ge";
type Logical = "logicalAnd" | "logicalOr" | "logicalXor";

const CODES: Record<Arith | Compare | Logical, number> = {
  add: BinaryOp.Add,
  sub: BinaryOp.Sub,
  mul: BinaryOp.Mul,
  div: BinaryOp.Div,
  pow: BinaryOp.Pow,
  maximum: BinaryOp.Maximum,
  minimum: BinaryOp.Minimum,
  eq: BinaryOp.Eq,
  ne: BinaryOp.Ne,
  lt: BinaryOp.Lt,
  le: BinaryOp.Le,
  gt: BinaryOp.Gt,
  ge: BinaryOp.Ge,
  logicalAnd: BinaryOp.And,
  logicalOr: BinaryOp.Or,
  logicalXor: BinaryOp.Xor,
};

/** a + b (broadcasting). */
export function add(a: Tensor, b: Tensor | number): Tensor {
  checkArgCount("add", arguments, 2);
  return arith("add", a, b);
}
/** a - b (broadcasting). */
export function sub(a: Tensor, b: Tensor | number): Tensor {
  checkArgCount("sub", arguments, 2);
  return arith("sub", a, b);
}
/** a × b (broadcasting). */
export function mul(a: Tensor, b: Tensor | number): Tensor {
  checkArgCount("mul", arguments, 2);
  return arith("mul", a, b);
}
/** a / b, true division (broadcasting; integers divide as float32). */
export function div(a: Tensor, b: Tensor | number): Tensor {
  checkArgCount("div", arguments, 2);
  return arith("div", a, b);
}
/** a ** b (b a number or a broadcast tensor). */
export function pow(a: Tensor, b: Tensor | number): Tensor {
  checkArgCount("pow", arguments, 2);
  requireTensor("pow", a);
  if (typeof b === "number") return powScalar(a, b);
  return arith("pow", a, b);
}
/** Elementwise maximum (NaN propagates); gradient split evenly on ties, as in PyTorch. */
export function maximum(a: Tensor, b: Tensor): Tensor {
  checkArgCount("maximum", arguments, 2);
  requireTensor("maximum", b);
  return arith("maximum", a, b);
}
/** Elementwise minimum (NaN propagates); gradient split evenly on ties. */
export function minimum(a: Tensor, b: Tensor): Tensor {
  checkArgCount("minimum", arguments, 2);
  requireTensor("minimum", b);
  return arith("minimum", a, b);
}

/** a == b as bool. */
export function eq(a: Tensor, b: Tensor | number): Tensor {
  checkArgCount("eq", arguments, 2);
  return compare("eq", a, b);
}
/** a != b as bool. */
export function ne(a: Tensor, b: Tensor | number): Tensor {
  checkArgCount("ne", arguments, 2);
  return compare("ne", a, b);
}
/** a < b as bool. */
export function lt(a: Tensor, b: Tensor | number): Tensor {
  checkArgCount("lt", arguments, 2);
  return compare("lt", a, b);
}
/** a <= b as bool. */
export function le(a: Tensor, b: Tensor | number): Tensor {
  checkArgCount("le", arguments, 2);
  return compare("le", a, b);
}
/** a > b as bool. */
export function gt(a: Tensor, b: Tensor | number): Tensor {
  checkArgCount("gt", arguments, 2);
  return compare("gt", a, b);
}
/** a >= b as bool. */
export function ge(a: Tensor, b: Tensor | number): Tensor {
  checkArgCount("ge", arguments, 2);
  return compare("ge", a, b);
}

/** Elementwise and (operands taken as bool: nonzero is true). */
export function logicalAnd(a: Tensor, b: Tensor): Tensor {
  checkArgCount("logicalAnd", arguments, 2);
  return logical("logicalAnd", a, b);
}
/** Elementwise or. */
export function logicalOr(a: Tensor, b: Tensor): Tensor {
  checkArgCount("logicalOr", arguments, 2);
  return logical("logicalOr", a, b);
}
/** Elementwise exclusive or. */
export function logicalXor(a: Tensor, b: Tensor): Tensor {
  checkArgCount("logicalXor", arguments, 2);
  return logical("logicalXor", a, b);
}
/** Elementwise not (nonzero → false). */
export function logicalNot(a: Tensor): Tensor {
  checkArgCount("logicalNot", arguments, 1);
  requireTensor("logicalNot", a);
  return compare("eq", a.dtype === "float32" ? a : to(a, "int32"), 0);
}

// ---- the shared machinery ----------------------------------------------------------------------

/**
 * A number operand as a 0-d tensor that lives as long as the op's result: in the current step when
 * the other operand is a per-step tensor or the op is recorded (inside noGrad, full() already puts
 * it in that block), else persistent like the result. Left persistent in a training step, one
 * would wait for garbage collection every step.
 */
function scalarTensor(op: string, v: number, dtype: DType, be: Backend, like: Tensor): Tensor {
  if (typeof v !== "number") throw new ValueError(`${op}: the second operand must be a Tensor or a number, got ${describe(v)}`);
  const t = full([], v, { dtype, backend: be });
  return like.storage.scope !== null || (isGradEnabled() && like.requiresGrad) ? intoCurrentStep(t) : t;
}

function operand(op: string, a: unknown, which: string): asserts a is Tensor {
  if (!(a instanceof Tensor))
    throw new ValueError(`${op}: the ${which} operand must be a Tensor${which === "second" ? " or a number" : ""}, got ${describe(a)}`);
}

/** The dtype of an arithmetic result (before the per-op rules for div/pow). */
function promote(a: DType, b: DType): DType {
  if (a === "float32" || b === "float32") return "float32";
  return "int32";
}

function arith(op: Arith, a: Tensor, b: Tensor | number): Tensor {
  operand(op, a, "first");
  if (typeof b === "number") {
    if (a.dtype === "float32" && op !== "maximum" && op !== "minimum" && op !== "pow") return affineScalar(op, a, b);
    const dtype = a.dtype !== "float32" && Number.isInteger(b) && op !== "div" ? "int32" : "float32";
    return arith(op, a, scalarTensor(op, b, dtype, a.backend, a));
  }
  operand(op, b, "second");
  const be = sameBackend(op, a, b);
  let dtype = promote(a.dtype, b.dtype);
  if (op === "div" || op === "pow") dtype = "float32";
  const x = a.dtype === dtype ? a : to(a, dtype);
  const y = b.dtype === dtype ? b : to(b, dtype);
  const shape = broadcastShapes(op, x.shape, y.shape);
  const out = opOutput(be, shape, [x, y], dtype);
  stridedBinary(be, CODES[op], out.ptr, shape, x, y, dtype !== "float32");
  if (dtype !== "float32") return out;
  return record(out, op, [x, y], (g, ctx) => arithBackward(op, ctx, g, out, x, y));
}

/** dst (dense, shape) = x op y with x and y broadcast to shape (any layouts). */
function stridedBinary(be: Backend, code: number, dst: number, shape: readonly number[], x: Tensor, y: Tensor, isInt: boolean): void {
  if (numel(shape) === 0) return;
  const [meta, nd] = stridedMeta(be, shape, [
    contiguousStrides(shape),
    broadcastStrides(x.shape, x.strides, shape),
    broadcastStrides(y.shape, y.strides, shape),
  ]);
  be.binaryStrided(code, dst, x.basePtr, y.basePtr, meta, nd, isInt);
}

/** Raw form of stridedBinary over pointers with explicit layouts (for backward passes). */
export function binaryInto(
  be: Backend,
  code: number,
  dst: number,
  shape: readonly number[],
  a: number,
  aShape: readonly number[],
  aStrides: readonly number[],
  b: number,
  bShape: readonly number[],
  bStrides: readonly number[],
): void {
  if (numel(shape) === 0) return;
  const [meta, nd] = stridedMeta(be, shape, [contiguousStrides(shape), broadcastStrides(aShape, aStrides, shape), broadcastStrides(bShape, bStrides, shape)]);
  be.binaryStrided(code, dst, a, b, meta, nd, false);
}

/** y = x·s + t for a float32 tensor and a number; dx = dy·s. */
function affineScalar(op: Arith, x: Tensor, v: number): Tensor {
  const src = contiguous(x);
  const [s, t] = op === "add" ? [1, v] : op === "sub" ? [1, -v] : op === "mul" ? [v, 0] : [1 / v, 0];
  if (op === "div") {
    // x / v with one IEEE division per element (x · (1/v) can differ in the last bit).
    return arith("div", src, scalarTensor("div", v, "float32", x.backend, src));
  }
  const be = src.backend;
  const out = opOutput(be, src.shape, [src]);
  be.affine(out.ptr, src.ptr, s, t, src.size);
  return record(out, op, [src], (g, ctx) => {
    if (s === 1) ctx.pass(src, g);
    else ctx.assign(src, (dx) => be.affine(dx, g.ptr, s, 0, src.size));
  });
}

/** x ** p for a number p (exact forms for 2, 3, 0.5, -1, ...); dx = p·x^(p-1)·dy. */
function powScalar(x: Tensor, p: number): Tensor {
  if (typeof p !== "number") throw new ValueError(`pow: the exponent must be a number or a Tensor, got ${describe(p)}`);
  const src = contiguous(x.dtype === "float32" ? x : to(x, "float32"));
  const be = src.backend;
  const out = opOutput(be, src.shape, [src]);
  be.unary(UnaryOp.PowScalar, out.ptr, src.ptr, src.size, p, 0);
  return record(out, "pow", [src], (g, ctx) => {
    ctx.assign(src, (dx) => be.unaryBackward(UnaryOp.PowScalar, dx, g.ptr, src.ptr, out.ptr, src.size, p, 0));
  });
}

/** A dense float32 temporary of n elements, freed by `use`'s end. */
function withTemp(be: Backend, n: number, use: (ptr: number) => void): void {
  const t = allocTemp(be, n * 4);
  try {
    use(t.ptr);
  } finally {
    releaseTemp(t);
  }
}

/**
 * Gradient of one operand: the full-size product `fill(tmp)` (shape of the output) reduced over
 * the operand's broadcast dims; without broadcasting it is written straight into the gradient.
 */
function gradOf(ctx: BackwardContext, t: Tensor, outShape: readonly number[], fill: (dst: number) => void): void {
  if (!t.requiresGrad) return;
  const be = t.backend;
  const n = numel(outShape);
  if (n === t.size && t.ndim === outShape.length) {
    ctx.assign(t, (dst) => fill(dst));
    return;
  }
  withTemp(be, n, (tmp) => {
    fill(tmp);
    ctx.accumulate(t, (dst, acc) => sumToShape(be, dst, acc, tmp, outShape, t.shape));
  });
}

function arithBackward(op: Arith, ctx: BackwardContext, g: Tensor, out: Tensor, x: Tensor, y: Tensor): void {
  const be = x.backend;
  const shape = out.shape;
  const dense = contiguousStrides(shape);
  /** dst = g op operand (operand broadcast to the output shape). */
  const withG = (code: number, dst: number, t: Tensor) => binaryInto(be, code, dst, shape, g.ptr, shape, dense, t.basePtr, t.shape, t.strides);
  switch (op) {
    case "add":
    case "sub":
      if (x.requiresGrad) {
        if (x.size === g.size && x.ndim === shape.length) ctx.pass(x, g);
        else ctx.accumulate(x, (dst, acc) => sumToShape(be, dst, acc, g.ptr, shape, x.shape));
      }
      if (y.requiresGrad) {
        if (op === "add" && y.size === g.size && y.ndim === shape.length) ctx.pass(y, g);
        else gradOf(ctx, y, shape, (dst) => be.affine(dst, g.ptr, op === "add" ? 1 : -1, 0, g.size));
      }
      return;
    case "mul":
      gradOf(ctx, x, shape, (dst) => withG(BinaryOp.Mul, dst, y));
      gradOf(ctx, y, shape, (dst) => withG(BinaryOp.Mul, dst, x));
      return;
    case "div":
      // da = g / b; db = -g · out / b
      gradOf(ctx, x, shape, (dst) => withG(BinaryOp.Div, dst, y));
      gradOf(ctx, y, shape, (dst) => {
        be.mul(dst, g.ptr, out.ptr, g.size);
        binaryInto(be, BinaryOp.Div, dst, shape, dst, shape, dense, y.basePtr, y.shape, y.strides);
        be.affine(dst, dst, -1, 0, g.size);
      });
      return;
    case "pow":
      // da = g · b · a^(b-1) = g · b · out / a (as a^(b-1) computed directly); db = g · out · ln a
      gradOf(ctx, x, shape, (dst) => {
        binaryInto(be, BinaryOp.Sub, dst, shape, y.basePtr, y.shape, y.strides, onePtr(be), [], []);
        binaryInto(be, BinaryOp.Pow, dst, shape, x.basePtr, x.shape, x.strides, dst, shape, dense);
        binaryInto(be, BinaryOp.Mul, dst, shape, dst, shape, dense, y.basePtr, y.shape, y.strides);
        be.mul(dst, dst, g.ptr, g.size);
      });
      gradOf(ctx, y, shape, (dst) => {
        withTemp(be, numel(x.shape), (lnA) => {
          const xd = contiguous(x);
          be.unary(UnaryOp.Log, lnA, xd.ptr, xd.size, 0, 0);
          binaryInto(be, BinaryOp.Mul, dst, shape, out.ptr, shape, dense, lnA, x.shape, contiguousStrides(x.shape));
        });
        be.mul(dst, dst, g.ptr, g.size);
      });
      return;
    case "maximum":
    case "minimum": {
      // g where this operand wins, g/2 on ties, 0 where it loses (PyTorch's rule).
      const share = (dst: number, self: Tensor, other: Tensor) => {
        withTemp(be, g.size, (mask) => {
          const win = op === "maximum" ? BinaryOp.Gt : BinaryOp.Lt;
          // mask = (self wins) + 0.5·(tie), as float32
          binaryInto(be, win, mask, shape, self.basePtr, self.shape, self.strides, other.basePtr, other.shape, other.strides);
          be.cast(mask, mask, g.size, 1);
          binaryInto(be, BinaryOp.Eq, dst, shape, self.basePtr, self.shape, self.strides, other.basePtr, other.shape, other.strides);
          be.cast(dst, dst, g.size, 1);
          be.axpy(mask, dst, 0.5, g.size);
          be.mul(dst, mask, g.ptr, g.size);
        });
      };
      gradOf(ctx, x, shape, (dst) => share(dst, x, y));
      gradOf(ctx, y, shape, (dst) => share(dst, y, x));
      return;
    }
  }
}

/** A float32 1 in the backend's memory (for kernels that need a tensor operand of 1). */
const ones = new WeakMap<Backend, Tensor>();
function onePtr(be: Backend): number {
  let t = ones.get(be);
  if (t === undefined || t.storage.released) {
    t = full([], 1, { backend: be }).keep();
    ones.set(be, t);
  }
  return t.basePtr;
}

function compare(op: Compare, a: Tensor, b: Tensor | number): Tensor {
  operand(op, a, "first");
  if (typeof b === "number") {
    const dtype = a.dtype !== "float32" && Number.isInteger(b) ? "int32" : "float32";
    return compare(op, a, scalarTensor(op, b, dtype, a.backend, a));
  }
  operand(op, b, "second");
  const be = sameBackend(op, a, b);
  const dtype = promote(a.dtype, b.dtype);
  const x = a.dtype === dtype ? a : to(a, dtype);
  const y = b.dtype === dtype ? b : to(b, dtype);
  const shape = broadcastShapes(op, x.shape, y.shape);
  const out = opOutput(be, shape, [x, y], "bool");
  stridedBinary(be, CODES[op], out.ptr, shape, x, y, dtype !== "float32");
  return out;
}

function logical(op: Logical, a: Tensor, b: Tensor): Tensor {
  operand(op, a, "first");
  operand(op, b, "second");
  const be = sameBackend(op, a, b);
  const x = a.dtype === "bool" ? a : to(a, "bool");
  const y = b.dtype === "bool" ? b : to(b, "bool");
  const shape = broadcastShapes(op, x.shape, y.shape);
  const out = opOutput(be, shape, [x, y], "bool");
  stridedBinary(be, CODES[op], out.ptr, shape, x, y, true);
  return out;
}

/** cond ? a : b elementwise with broadcasting (torch.where); a and b may be numbers. */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  checkArgCount("where", arguments, 3);
  operand("where", cond, "first");
  const be = cond.backend;
  const isNum = (v: unknown) => typeof v === "number";
  if (!(a instanceof Tensor) && !isNum(a)) throw new ValueError(`where: the second argument must be a Tensor or a number, got ${describe(a)}`);
  if (!(b instanceof Tensor) && !isNum(b)) throw new ValueError(`where: the third argument must be a Tensor or a number, got ${describe(b)}`);
  const dtypeOf = (v: Tensor | number) => (v instanceof Tensor ? v.dtype : Number.isInteger(v) ? "int32" : "float32");
  let dtype: DType = promote(dtypeOf(a), dtypeOf(b));
  if (a instanceof Tensor && b instanceof Tensor && a.dtype === "bool" && b.dtype === "bool") dtype = "bool";
  if (a instanceof Tensor && !isNum(b) && a.dtype === "float32") dtype = "float32";
  const asTensor = (v: Tensor | number) =>
    v instanceof Tensor
      ? v.dtype === dtype
        ? v
        : to(v, dtype)
      : scalarTensor("where", v, dtype, be, a instanceof Tensor ? a : b instanceof Tensor ? b : cond);
  const x = asTensor(a),
    y = asTensor(b);
  sameBackend("where", cond, x, y);
  const c = cond.dtype === "bool" ? cond : to(cond, "bool");
  const shape = broadcastShapes("where", c.shape, x.shape, y.shape);
  const out = opOutput(be, shape, [x, y], dtype);
  if (numel(shape) > 0) {
    const [meta, nd] = stridedMeta(be, shape, [
      contiguousStrides(shape),
      broadcastStrides(c.shape, c.strides, shape),
      broadcastStrides(x.shape, x.strides, shape),
      broadcastStrides(y.shape, y.strides, shape),
    ]);
    be.whereStrided(out.ptr, c.basePtr, x.basePtr, y.basePtr, meta, nd);
  }
  if (dtype !== "float32") return out;
  return record(out, "where", [x, y], (g, ctx) => {
    const dense = contiguousStrides(shape);
    const zero = scalarPtr(be, 0);
    // dx = cond ? g : 0; dy = cond ? 0 : g
    for (const [t, first] of [
      [x, true],
      [y, false],
    ] as const) {
      gradOf(ctx, t, shape, (dst) => {
        const [meta, nd] = stridedMeta(be, shape, [
          dense,
          broadcastStrides(c.shape, c.strides, shape),
          first ? dense : [...shape].map(() => 0),
          first ? [...shape].map(() => 0) : dense,
        ]);
        be.whereStrided(dst, c.basePtr, first ? g.ptr : zero, first ? zero : g.ptr, meta, nd);
      });
    }
  });
}

const zeros = new WeakMap<Backend, Tensor>();
function scalarPtr(be: Backend, _v: 0): number {
  let t = zeros.get(be);
  if (t === undefined || t.storage.released) {
    t = full([], 0, { backend: be }).keep();
    zeros.set(be, t);
  }
  return t.basePtr;
}

/** x with `value` where the (broadcast) bool mask is true (torch.masked_fill). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  checkArgCount("maskedFill", arguments, 3);
  operand("maskedFill", x, "first");
  operand("maskedFill", mask, "second");
  if (mask.dtype !== "bool") throw new DTypeError(`maskedFill: mask must be a bool tensor, got ${mask.dtype}`);
  if (typeof value !== "number" && typeof value !== "boolean") throw new ValueError(`maskedFill: value must be a number, got ${describe(value)}`);
  const shape = broadcastShapes("maskedFill", x.shape, mask.shape);
  if (shape.length !== x.ndim || shape.some((n, i) => n !== x.shape[i])) {
    throw new ValueError(`maskedFill: the mask ${JSON.stringify(mask.shape)} must broadcast to the input's shape ${JSON.stringify(x.shape)}`);
  }
  return where(mask, Number(value), x);
}
