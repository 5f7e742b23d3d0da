// Elementwise math: one unary kernel call forward (assembly/math.ts, op by code) and one
// unaryBackward call backward. Inputs of another dtype are taken as float32; non-contiguous
// inputs are copied first.
import { ValueError } from "../errors.js";
import { checkFiniteNumber, describe, checkArgCount } from "../check.js";
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
export function neg(x: Tensor): Tensor {
  checkArgCount("neg", arguments, 1);
  return unary("neg", UnaryOp.Neg, x);
}
/** |x| (gradient 0 at 0). */
export function abs(x: Tensor): Tensor {
  checkArgCount("abs", arguments, 1);
  return unary("abs", UnaryOp.Abs, x);
}
/** e^x. */
export function exp(x: Tensor): Tensor {
  checkArgCount("exp", arguments, 1);
  return unary("exp", UnaryOp.Exp, x);
}
/** e^x - 1, accurate near 0. */
export function expm1(x: Tensor): Tensor {
  checkArgCount("expm1", arguments, 1);
  return unary("expm1", UnaryOp.Expm1, x);
}
/** Natural logarithm (-inf at 0, NaN below). */
export function log(x: Tensor): Tensor {
  checkArgCount("log", arguments, 1);
  return unary("log", UnaryOp.Log, x);
}
/** log(1 + x), accurate near 0. */
export function log1p(x: Tensor): Tensor {
  checkArgCount("log1p", arguments, 1);
  return unary("log1p", UnaryOp.Log1p, x);
}
/** Square root. */
export function sqrt(x: Tensor): Tensor {
  checkArgCount("sqrt", arguments, 1);
  return unary("sqrt", UnaryOp.Sqrt, x);
}
/** 1 / sqrt(x). */
export function rsqrt(x: Tensor): Tensor {
  checkArgCount("rsqrt", arguments, 1);
  return unary("rsqrt", UnaryOp.Rsqrt, x);
}
/** Sine. */
export function sin(x: Tensor): Tensor {
  checkArgCount("sin", arguments, 1);
  return unary("sin", UnaryOp.Sin, x);
}
/** Cosine. */
export function cos(x: Tensor): Tensor {
  checkArgCount("cos", arguments, 1);
  return unary("cos", UnaryOp.Cos, x);
}
/** Hyperbolic tangent. */
export function tanh(x: Tensor): Tensor {
  checkArgCount("tanh", arguments, 1);
  return unary("tanh", UnaryOp.Tanh, x);
}
/** Logistic sigmoid 1 / (1 + e^-x). */
export function sigmoid(x: Tensor): Tensor {
  checkArgCount("sigmoid", arguments, 1);
  return unary("sigmoid", UnaryOp.Sigmoid, x);
}
/** log σ(x), stable for large |x|. */
export function logSigmoid(x: Tensor): Tensor {
  checkArgCount("logSigmoid", arguments, 1);
  return unary("logSigmoid", UnaryOp.LogSigmoid, x);
}
/** x · σ(x) (SiLU, swish). */
export function silu(x: Tensor): Tensor {
  checkArgCount("silu", arguments, 1);
  return unary("silu", UnaryOp.Silu, x);
}
/** x² (x · x). */
export function square(x: Tensor): Tensor {
  checkArgCount("square", arguments, 1);
  return unary("square", UnaryOp.Square, x);
}
/** 1 / x. */
export function reciprocal(x: Tensor): Tensor {
  checkArgCount("reciprocal", arguments, 1);
  return unary("reciprocal", UnaryOp.Reciprocal, x);
}
/** -1, 0 or 1 by the sign of x (NaN stays NaN); no gradient. */
export function sign(x: Tensor): Tensor {
  checkArgCount("sign", arguments, 1);
  return unary("sign", UnaryOp.Sign, x, 0, 0, false);
}
/** Rounds down; no gradient. */
export function floor(x: Tensor): Tensor {
  checkArgCount("floor", arguments, 1);
  return unary("floor", UnaryOp.Floor, x, 0, 0, false);
}
/** Rounds up; no gradient. */
export function ceil(x: Tensor): Tensor {
  checkArgCount("ceil", arguments, 1);
  return unary("ceil", UnaryOp.Ceil, x, 0, 0, false);
}
/** Rounds half to even, as torch.round; no gradient. */
export function round(x: Tensor): Tensor {
  checkArgCount("round", arguments, 1);
  return unary("round", UnaryOp.Round, x, 0, 0, false);
}
/** Rounds toward zero; no gradient. */
export function trunc(x: Tensor): Tensor {
  checkArgCount("trunc", arguments, 1);
  return unary("trunc", UnaryOp.Trunc, x, 0, 0, false);
}

/** Options of gelu. */
export interface GeluOptions {
  /** "none" (exact, with erf; the default) or "tanh" (the GPT-2 approximation). */
  approximate?: "none" | "tanh";
}

/** GELU: x·Φ(x) with erf, or the tanh approximation (approximate: "tanh"). */
export function gelu(x: Tensor, options: GeluOptions = {}): Tensor {
  checkArgCount("gelu", arguments, 2);
  if (options === null || typeof options !== "object") throw new ValueError(`gelu: options must be an object {approximate}, got ${describe(options)}`);
  for (const k of Object.keys(options)) if (k !== "approximate") throw new ValueError(`gelu: unknown option '${k}' (expected 'approximate')`);
  const approximate = options.approximate ?? "none";
  if (approximate !== "none" && approximate !== "tanh") throw new ValueError(`gelu: approximate must be "none" or "tanh", got ${describe(approximate)}`);
  return unary("gelu", approximate === "tanh" ? UnaryOp.GeluTanh : UnaryOp.Gelu, x);
}

/** log(1 + e^(βx))/β, linear (x) where βx > threshold (torch.nn.functional.softplus). */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  checkArgCount("softplus", arguments, 3);
  checkFiniteNumber("softplus", "beta", beta);
  if (beta === 0) throw new ValueError("softplus: beta must be nonzero");
  checkFiniteNumber("softplus", "threshold", threshold);
  return unary("softplus", UnaryOp.Softplus, x, beta, threshold);
}

/** x where x > 0, else negativeSlope·x. */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  checkArgCount("leakyRelu", arguments, 2);
  checkFiniteNumber("leakyRelu", "negativeSlope", negativeSlope);
  return unary("leakyRelu", UnaryOp.LeakyRelu, x, negativeSlope);
}

/** x where x > 0, else alpha·(e^x - 1). */
export function elu(x: Tensor, alpha = 1): Tensor {
  checkArgCount("elu", arguments, 2);
  checkFiniteNumber("elu", "alpha", alpha);
  return unary("elu", UnaryOp.Elu, x, alpha);
}

/** Clamps into [min, max]; either bound may be null/undefined (not both). NaN stays NaN. */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  checkArgCount("clamp", arguments, 3);
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
  checkArgCount("relu", arguments, 1);
  requireTensor("relu", x);
  const src = contiguous(x.dtype === "float32" ? x : to(x, "float32"));
  const be = src.backend;
  const out = opOutput(be, src.shape, [src]);
  be.relu(out.ptr, src.ptr, src.size);
  return record(out, "relu", [src], (g, ctx) => {
    ctx.assign(src, (dx) => be.reluBackward(dx, g.ptr, out.ptr, src.size));
  });
}
