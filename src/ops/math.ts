// Elementwise math: one unary kernel call forward (assembly/math.ts, op by code) and one
// unaryBackward call backward. Inputs of another dtype are taken as float32; non-contiguous
// inputs are copied first.
import { ValueError } from "../errors.js";
import { checkFiniteNumber, describe } from "../check.js";
import type { Tensor } from "../tensor.js";
import { opOutput, record } from "../autograd.js";
import { UnaryOp } from "../backend/kernel-exports.generated.js";
import { contiguous, requireTensor, to } from "./layout.js";

/** y = op(x) elementwise with parameters p0, p1 (see UnaryOp); differentiable unless noGrad. */
function unary(name: string, code: number, x: Tensor, p0 = 0, p1 = 0, differentiable = true): Tensor {
  requireTensor(name, x);
  const src = contiguous(x.dtype === "float32" ? x : to(x, "float32"));
  const be = src.backend;
  const out = opOutput(be, src.shape, [src]);
  if (src.size > 0) be.unary(code, out.ptr, src.ptr, src.size, p0, p1);
  if (!differentiable) return out;
  return record(out, name, [src], (g, ctx) => {
    ctx.assign(src, (dx) => be.unaryBackward(code, dx, g.ptr, src.ptr, out.ptr, src.size, p0, p1));
  });
}

/** -x. */
export const neg = (x: Tensor): Tensor => unary("neg", UnaryOp.Neg, x);
/** |x| (gradient 0 at 0). */
export const abs = (x: Tensor): Tensor => unary("abs", UnaryOp.Abs, x);
/** e^x. */
export const exp = (x: Tensor): Tensor => unary("exp", UnaryOp.Exp, x);
/** e^x - 1, accurate near 0. */
export const expm1 = (x: Tensor): Tensor => unary("expm1", UnaryOp.Expm1, x);
/** Natural logarithm (-inf at 0, NaN below). */
export const log = (x: Tensor): Tensor => unary("log", UnaryOp.Log, x);
/** log(1 + x), accurate near 0. */
export const log1p = (x: Tensor): Tensor => unary("log1p", UnaryOp.Log1p, x);
/** Square root. */
export const sqrt = (x: Tensor): Tensor => unary("sqrt", UnaryOp.Sqrt, x);
/** 1 / sqrt(x). */
export const rsqrt = (x: Tensor): Tensor => unary("rsqrt", UnaryOp.Rsqrt, x);
/** Sine. */
export const sin = (x: Tensor): Tensor => unary("sin", UnaryOp.Sin, x);
/** Cosine. */
export const cos = (x: Tensor): Tensor => unary("cos", UnaryOp.Cos, x);
/** Hyperbolic tangent. */
export const tanh = (x: Tensor): Tensor => unary("tanh", UnaryOp.Tanh, x);
/** Logistic sigmoid 1 / (1 + e^-x). */
export const sigmoid = (x: Tensor): Tensor => unary("sigmoid", UnaryOp.Sigmoid, x);
/** log σ(x), stable for large |x|. */
export const logSigmoid = (x: Tensor): Tensor => unary("logSigmoid", UnaryOp.LogSigmoid, x);
/** x · σ(x) (SiLU, swish). */
export const silu = (x: Tensor): Tensor => unary("silu", UnaryOp.Silu, x);
/** x² (x · x). */
export const square = (x: Tensor): Tensor => unary("square", UnaryOp.Square, x);
/** 1 / x. */
export const reciprocal = (x: Tensor): Tensor => unary("reciprocal", UnaryOp.Reciprocal, x);
/** -1, 0 or 1 by the sign of x (NaN stays NaN); no gradient. */
export const sign = (x: Tensor): Tensor => unary("sign", UnaryOp.Sign, x, 0, 0, false);
/** Rounds down; no gradient. */
export const floor = (x: Tensor): Tensor => unary("floor", UnaryOp.Floor, x, 0, 0, false);
/** Rounds up; no gradient. */
export const ceil = (x: Tensor): Tensor => unary("ceil", UnaryOp.Ceil, x, 0, 0, false);
/** Rounds half to even, as torch.round; no gradient. */
export const round = (x: Tensor): Tensor => unary("round", UnaryOp.Round, x, 0, 0, false);
/** Rounds toward zero; no gradient. */
export const trunc = (x: Tensor): Tensor => unary("trunc", UnaryOp.Trunc, x, 0, 0, false);

/** Options of gelu. */
export interface GeluOptions {
  /** "none" (exact, with erf; the default) or "tanh" (the GPT-2 approximation). */
  approximate?: "none" | "tanh";
}

/** GELU: x·Φ(x) with erf, or the tanh approximation (approximate: "tanh"). */
export function gelu(x: Tensor, options: GeluOptions = {}): Tensor {
  if (options === null || typeof options !== "object") throw new ValueError(`gelu: options must be an object {approximate}, got ${describe(options)}`);
  for (const k of Object.keys(options)) if (k !== "approximate") throw new ValueError(`gelu: unknown option '${k}' (expected 'approximate')`);
  const approximate = options.approximate ?? "none";
  if (approximate !== "none" && approximate !== "tanh") throw new ValueError(`gelu: approximate must be "none" or "tanh", got ${describe(approximate)}`);
  return unary("gelu", approximate === "tanh" ? UnaryOp.GeluTanh : UnaryOp.Gelu, x);
}

/** log(1 + e^(βx))/β, linear (x) where βx > threshold (torch.nn.functional.softplus). */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  checkFiniteNumber("softplus", "beta", beta);
  if (beta === 0) throw new ValueError("softplus: beta must be nonzero");
  checkFiniteNumber("softplus", "threshold", threshold);
  return unary("softplus", UnaryOp.Softplus, x, beta, threshold);
}

/** x where x > 0, else negativeSlope·x. */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  checkFiniteNumber("leakyRelu", "negativeSlope", negativeSlope);
  return unary("leakyRelu", UnaryOp.LeakyRelu, x, negativeSlope);
}

/** x where x > 0, else alpha·(e^x - 1). */
export function elu(x: Tensor, alpha = 1): Tensor {
  checkFiniteNumber("elu", "alpha", alpha);
  return unary("elu", UnaryOp.Elu, x, alpha);
}

/** Clamps into [min, max]; either bound may be null/undefined (not both). NaN stays NaN. */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  const lo = min ?? -Infinity,
    hi = max ?? Infinity;
  if ((min === undefined || min === null) && (max === undefined || max === null)) throw new ValueError("clamp: at least one of min and max must be a number");
  for (const [name, v] of [
    ["min", lo],
    ["max", hi],
  ] as const) {
    if (typeof v !== "number" || Number.isNaN(v)) throw new ValueError(`clamp: ${name} must be a number or null, got ${describe(v)}`);
  }
  return unary("clamp", UnaryOp.Clamp, x, lo, hi);
}

/** max(x, 0) (NaN stays NaN); the existing fused relu kernels. */
export function relu(x: Tensor): Tensor {
  requireTensor("relu", x);
  const src = contiguous(x.dtype === "float32" ? x : to(x, "float32"));
  const be = src.backend;
  const out = opOutput(be, src.shape, [src]);
  be.relu(out.ptr, src.ptr, src.size);
  return record(out, "relu", [src], (g, ctx) => {
    ctx.assign(src, (dx) => be.reluBackward(dx, g.ptr, out.ptr, src.size));
  });
}
