import { serf, sexp, slog, ssigmoid, stanh, verf, vexp, vlog, vsigmoid, vtanh } from "./vmath";

// Elementwise math over n contiguous float32s and its derivatives. Each op runs f32x4 over the
// bulk and the same operations on one lane over the n % 4 tail (assembly/vmath.ts), so every
// element gets the same bits wherever it sits. sin, cos and pow use AssemblyScript's scalar
// Mathf (pure wasm: still the same bits on every runtime).

// The ops of unary/unaryBackward; p0/p1 are their parameters where they have any.
export enum UnaryOp {
  Neg = 0, Abs = 1, Exp = 2, Log = 3, Log1p = 4, Sqrt = 5, Rsqrt = 6, Sin = 7, Cos = 8, Tanh = 9,
  Sigmoid = 10, Gelu = 11, GeluTanh = 12, Silu = 13, Softplus = 14, LeakyRelu = 15, Elu = 16,
  Clamp = 17, PowScalar = 18, Square = 19, Reciprocal = 20, Sign = 21, Floor = 22, Ceil = 23,
  Round = 24, Trunc = 25, Expm1 = 26, LogSigmoid = 27,
}

// Softplus: p0 = beta, p1 = threshold. LeakyRelu: p0 = negative slope. Elu: p0 = alpha.
// Clamp: p0 = min, p1 = max (±inf for none). PowScalar: p0 = exponent.

// dst (n) = op(x (n)) with parameters p0, p1; dst may alias x
export function unary(op: i32, dst: usize, x: usize, n: i32, p0: f32, p1: f32): void {
  switch (op) {
    case UnaryOp.Neg: unaryLoop(UnaryOp.Neg, dst, x, n, p0, p1); break;
    case UnaryOp.Abs: unaryLoop(UnaryOp.Abs, dst, x, n, p0, p1); break;
    case UnaryOp.Exp: unaryLoop(UnaryOp.Exp, dst, x, n, p0, p1); break;
    case UnaryOp.Log: unaryLoop(UnaryOp.Log, dst, x, n, p0, p1); break;
    case UnaryOp.Log1p: unaryLoop(UnaryOp.Log1p, dst, x, n, p0, p1); break;
    case UnaryOp.Sqrt: unaryLoop(UnaryOp.Sqrt, dst, x, n, p0, p1); break;
    case UnaryOp.Rsqrt: unaryLoop(UnaryOp.Rsqrt, dst, x, n, p0, p1); break;
    case UnaryOp.Sin: scalarLoop(UnaryOp.Sin, dst, x, n, p0, p1); break;
    case UnaryOp.Cos: scalarLoop(UnaryOp.Cos, dst, x, n, p0, p1); break;
    case UnaryOp.Tanh: unaryLoop(UnaryOp.Tanh, dst, x, n, p0, p1); break;
    case UnaryOp.Sigmoid: unaryLoop(UnaryOp.Sigmoid, dst, x, n, p0, p1); break;
    case UnaryOp.Gelu: unaryLoop(UnaryOp.Gelu, dst, x, n, p0, p1); break;
    case UnaryOp.GeluTanh: unaryLoop(UnaryOp.GeluTanh, dst, x, n, p0, p1); break;
    case UnaryOp.Silu: unaryLoop(UnaryOp.Silu, dst, x, n, p0, p1); break;
    case UnaryOp.Softplus: unaryLoop(UnaryOp.Softplus, dst, x, n, p0, p1); break;
    case UnaryOp.LeakyRelu: unaryLoop(UnaryOp.LeakyRelu, dst, x, n, p0, p1); break;
    case UnaryOp.Elu: unaryLoop(UnaryOp.Elu, dst, x, n, p0, p1); break;
    case UnaryOp.Clamp: unaryLoop(UnaryOp.Clamp, dst, x, n, p0, p1); break;
    case UnaryOp.PowScalar: scalarLoop(UnaryOp.PowScalar, dst, x, n, p0, p1); break;
    case UnaryOp.Square: unaryLoop(UnaryOp.Square, dst, x, n, p0, p1); break;
    case UnaryOp.Reciprocal: unaryLoop(UnaryOp.Reciprocal, dst, x, n, p0, p1); break;
    case UnaryOp.Sign: unaryLoop(UnaryOp.Sign, dst, x, n, p0, p1); break;
    case UnaryOp.Floor: unaryLoop(UnaryOp.Floor, dst, x, n, p0, p1); break;
    case UnaryOp.Ceil: unaryLoop(UnaryOp.Ceil, dst, x, n, p0, p1); break;
    case UnaryOp.Round: unaryLoop(UnaryOp.Round, dst, x, n, p0, p1); break;
    case UnaryOp.Trunc: unaryLoop(UnaryOp.Trunc, dst, x, n, p0, p1); break;
    case UnaryOp.Expm1: unaryLoop(UnaryOp.Expm1, dst, x, n, p0, p1); break;
    case UnaryOp.LogSigmoid: unaryLoop(UnaryOp.LogSigmoid, dst, x, n, p0, p1); break;
  }
}

@inline function unaryLoop(op: i32, dst: usize, x: usize, n: i32, p0: f32, p1: f32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, vop(op, v128.load(x + o), p0, p1));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, sop(op, load<f32>(x + o), p0, p1));
  }
}

@inline function scalarLoop(op: i32, dst: usize, x: usize, n: i32, p0: f32, p1: f32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, sop(op, load<f32>(x + o), p0, p1));
  }
}

const SQRT1_2: f32 = 0.70710678118654752;
const SQRT_2_PI: f32 = 0.79788456080286536; // sqrt(2/π)
const GELU_C: f32 = 0.044715;
const TWO_SQRT_2_PI: f32 = 2 * SQRT_2_PI;
const GELU_TINY: f32 = 8.673617379884035e-19; // 2^-60
const INV_SQRT_2PI: f32 = 0.39894228040143268; // 1/sqrt(2π)

// log(1 + x) as log(u)·(x / (u - 1)) with u = 1 + x (exact where u - 1 is), x where u = 1.
@inline function vlog1p(x: v128): v128 {
  const u = f32x4.add(x, f32x4.splat(1));
  const d = f32x4.sub(u, f32x4.splat(1));
  const r = f32x4.mul(vlog(u), f32x4.div(x, d));
  const exact = v128.or(f32x4.eq(d, f32x4.splat(0)), f32x4.eq(x, f32x4.splat(Infinity)));
  return v128.bitselect(v128.bitselect(x, u, f32x4.eq(d, f32x4.splat(0))), r, exact);
}

@inline function slog1p(x: f32): f32 {
  const u = x + 1;
  const d = u - 1;
  if (d == 0) return x;
  if (x == Infinity) return u;
  return slog(u) * (x / d);
}

// e^x - 1 as (u - 1)·x / log(u) with u = e^x (Kahan), exact at the ends.
@inline function vexpm1(x: v128): v128 {
  const u = vexp(x);
  const um1 = f32x4.sub(u, f32x4.splat(1));
  const r = f32x4.div(f32x4.mul(um1, x), vlog(u));
  let out = v128.bitselect(x, r, f32x4.eq(um1, f32x4.splat(0)));
  out = v128.bitselect(um1, out, f32x4.eq(um1, f32x4.splat(-1)));
  return v128.bitselect(u, out, f32x4.eq(u, f32x4.splat(Infinity)));
}

@inline function sexpm1(x: f32): f32 {
  const u = sexp(x);
  const um1 = u - 1;
  if (u == Infinity) return u;
  if (um1 == -1) return um1;
  if (um1 == 0) return x;
  return um1 * x / slog(u);
}

@inline function vop(op: i32, x: v128, p0: f32, p1: f32): v128 {
  const zero = f32x4.splat(0), one = f32x4.splat(1);
  switch (op) {
    case UnaryOp.Neg: return f32x4.neg(x);
    case UnaryOp.Abs: return f32x4.abs(x);
    case UnaryOp.Exp: return vexp(x);
    case UnaryOp.Log: return vlog(x);
    case UnaryOp.Log1p: return vlog1p(x);
    case UnaryOp.Sqrt: return f32x4.sqrt(x);
    case UnaryOp.Rsqrt: return f32x4.div(one, f32x4.sqrt(x));
    case UnaryOp.Tanh: return vtanh(x);
    case UnaryOp.Sigmoid: return vsigmoid(x);
    case UnaryOp.Gelu: return f32x4.mul(f32x4.mul(x, f32x4.splat(0.5)), f32x4.add(one, verf(f32x4.mul(x, f32x4.splat(SQRT1_2)))));
    case UnaryOp.GeluTanh: {
      // 0.5·x·(1 + tanh u) = x·σ(2u) = x / (1 + e^(-2u)): one exp and one division.
      const inner = f32x4.mul(f32x4.splat(SQRT_2_PI), f32x4.add(x, f32x4.mul(f32x4.splat(GELU_C), f32x4.mul(f32x4.mul(x, x), x))));
      return f32x4.div(x, f32x4.add(one, vexp(f32x4.mul(inner, f32x4.splat(-2)))));
    }
    case UnaryOp.Silu: return f32x4.mul(x, vsigmoid(x));
    case UnaryOp.Softplus: {
      const bx = f32x4.mul(x, f32x4.splat(p0));
      const soft = f32x4.div(vlog1p(vexp(bx)), f32x4.splat(p0));
      return v128.bitselect(x, soft, f32x4.gt(bx, f32x4.splat(p1)));
    }
    case UnaryOp.LeakyRelu: return v128.bitselect(x, f32x4.mul(x, f32x4.splat(p0)), f32x4.gt(x, zero));
    case UnaryOp.Elu: return v128.bitselect(x, f32x4.mul(f32x4.splat(p0), vexpm1(x)), f32x4.gt(x, zero));
    case UnaryOp.Clamp: return f32x4.max(f32x4.min(x, f32x4.splat(p1)), f32x4.splat(p0));
    case UnaryOp.Square: return f32x4.mul(x, x);
    case UnaryOp.Reciprocal: return f32x4.div(one, x);
    case UnaryOp.Sign: {
      // 1, -1 or 0 (NaN stays NaN): (x > 0) - (x < 0), with x itself where x is NaN.
      const s = f32x4.sub(v128.and(f32x4.gt(x, zero), one), v128.and(f32x4.lt(x, zero), one));
      return v128.bitselect(x, s, f32x4.ne(x, x));
    }
    case UnaryOp.Floor: return f32x4.floor(x);
    case UnaryOp.Ceil: return f32x4.ceil(x);
    case UnaryOp.Round: return f32x4.nearest(x);
    case UnaryOp.Trunc: return f32x4.trunc(x);
    case UnaryOp.Expm1: return vexpm1(x);
    default: {
      // log σ(x) = min(x, 0) - log1p(e^-|x|), stable for large |x|.
      return f32x4.sub(f32x4.min(x, zero), vlog1p(vexp(f32x4.neg(f32x4.abs(x)))));
    }
  }
}

@inline function sop(op: i32, x: f32, p0: f32, p1: f32): f32 {
  switch (op) {
    case UnaryOp.Neg: return -x;
    case UnaryOp.Abs: return abs<f32>(x);
    case UnaryOp.Exp: return sexp(x);
    case UnaryOp.Log: return slog(x);
    case UnaryOp.Log1p: return slog1p(x);
    case UnaryOp.Sqrt: return sqrt<f32>(x);
    case UnaryOp.Rsqrt: return <f32>1 / sqrt<f32>(x);
    case UnaryOp.Sin: return Mathf.sin(x);
    case UnaryOp.Cos: return Mathf.cos(x);
    case UnaryOp.Tanh: return stanh(x);
    case UnaryOp.Sigmoid: return ssigmoid(x);
    case UnaryOp.Gelu: return x * <f32>0.5 * (<f32>1 + serf(x * SQRT1_2));
    case UnaryOp.GeluTanh: {
      const inner = SQRT_2_PI * (x + GELU_C * (x * x * x));
      return x / (<f32>1 + sexp(inner * -2));
    }
    case UnaryOp.Silu: return x * ssigmoid(x);
    case UnaryOp.Softplus: {
      const bx = x * p0;
      return bx > p1 ? x : slog1p(sexp(bx)) / p0;
    }
    case UnaryOp.LeakyRelu: return x > 0 ? x : x * p0;
    case UnaryOp.Elu: return x > 0 ? x : p0 * sexpm1(x);
    case UnaryOp.Clamp: return max<f32>(min<f32>(x, p1), p0);
    case UnaryOp.PowScalar: return powScalar(x, p0);
    case UnaryOp.Square: return x * x;
    case UnaryOp.Reciprocal: return <f32>1 / x;
    case UnaryOp.Sign: return x != x ? x : x > 0 ? 1 : x < 0 ? -1 : 0;
    case UnaryOp.Floor: return floor<f32>(x);
    case UnaryOp.Ceil: return ceil<f32>(x);
    case UnaryOp.Round: return nearest<f32>(x);
    case UnaryOp.Trunc: return trunc<f32>(x);
    case UnaryOp.Expm1: return sexpm1(x);
    default: return min<f32>(x, 0) - slog1p(sexp(-abs<f32>(x)));
  }
}

// x^p with the exact forms PyTorch uses for common exponents.
@inline function powScalar(x: f32, p: f32): f32 {
  if (p == 2) return x * x;
  if (p == 1) return x;
  if (p == 0) return 1;
  if (p == 0.5) return sqrt<f32>(x);
  if (p == -1) return <f32>1 / x;
  if (p == 3) return x * x * x;
  if (p == -0.5) return <f32>1 / sqrt<f32>(x);
  if (p == -2) return <f32>1 / (x * x);
  return Mathf.pow(x, p);
}

// dx (n) = dy · op'(x) (n), with y = op(x) the forward output where the derivative is cheaper
// from it (Exp, Sqrt, Rsqrt, Tanh, Sigmoid, Reciprocal); ops without a gradient (Sign, Floor,
// Ceil, Round, Trunc) give 0
export function unaryBackward(op: i32, dx: usize, dy: usize, x: usize, y: usize, n: i32, p0: f32, p1: f32): void {
  let i = 0;
  switch (op) {
    case UnaryOp.Exp: i = backwardLoop(UnaryOp.Exp, dx, dy, x, y, n); break;
    case UnaryOp.Tanh: i = backwardLoop(UnaryOp.Tanh, dx, dy, x, y, n); break;
    case UnaryOp.Sigmoid: i = backwardLoop(UnaryOp.Sigmoid, dx, dy, x, y, n); break;
    case UnaryOp.Gelu: i = backwardLoop(UnaryOp.Gelu, dx, dy, x, y, n); break;
    case UnaryOp.GeluTanh: i = backwardLoop(UnaryOp.GeluTanh, dx, dy, x, y, n); break;
    case UnaryOp.Silu: i = backwardLoop(UnaryOp.Silu, dx, dy, x, y, n); break;
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(dy + o) * derivative(op, load<f32>(x + o), load<f32>(y + o), p0, p1));
  }
}

// dx = dy · f'(x) four lanes at a time for the ops with a vector derivative (the activations of
// transformers and RNNs); returns how many elements it did (the rest take the scalar loop).
@inline function backwardLoop(op: i32, dx: usize, dy: usize, x: usize, y: usize, n: i32): i32 {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, f32x4.mul(v128.load(dy + o), vderivative(op, v128.load(x + o), v128.load(y + o))));
  }
  return i;
}

// derivative() lane by lane, with the same operations in the same order (same bits).
@inline function vderivative(op: i32, x: v128, y: v128): v128 {
  const one = f32x4.splat(1), half = f32x4.splat(0.5);
  switch (op) {
    case UnaryOp.Exp: return y;
    case UnaryOp.Tanh: return f32x4.sub(one, f32x4.mul(y, y));
    case UnaryOp.Sigmoid: return f32x4.mul(y, f32x4.sub(one, y));
    case UnaryOp.Gelu: {
      const cdf = f32x4.mul(half, f32x4.add(one, verf(f32x4.mul(x, f32x4.splat(SQRT1_2)))));
      const pdf = f32x4.mul(f32x4.mul(x, f32x4.splat(INV_SQRT_2PI)), vexp(f32x4.mul(f32x4.mul(f32x4.splat(-0.5), x), x)));
      return f32x4.add(cdf, pdf);
    }
    case UnaryOp.GeluTanh: {
      const x2 = f32x4.mul(x, x);
      // d/dx x·σ(2u) = s + x·s·(1 − s)·2u' with s = σ(2u), u' = √(2/π)(1 + 3c·x²); s comes from
      // the output y = x·s without a second exp (it is exactly 0.5 where |x| < 2^-60).
      const s = v128.bitselect(half, f32x4.div(y, x), f32x4.lt(f32x4.abs(x), f32x4.splat(GELU_TINY)));
      const right = f32x4.mul(
        f32x4.mul(f32x4.mul(f32x4.mul(x, s), f32x4.sub(one, s)), f32x4.splat(TWO_SQRT_2_PI)),
        f32x4.add(one, f32x4.mul(f32x4.mul(f32x4.splat(3), f32x4.splat(GELU_C)), x2)),
      );
      return f32x4.add(s, right);
    }
    case UnaryOp.Silu: {
      const s = vsigmoid(x);
      return f32x4.mul(s, f32x4.add(one, f32x4.mul(x, f32x4.sub(one, s))));
    }
    default: return one;
  }
}

@inline function derivative(op: i32, x: f32, y: f32, p0: f32, p1: f32): f32 {
  switch (op) {
    case UnaryOp.Neg: return -1;
    case UnaryOp.Abs: return x > 0 ? 1 : x < 0 ? -1 : 0;
    case UnaryOp.Exp: return y;
    case UnaryOp.Log: return <f32>1 / x;
    case UnaryOp.Log1p: return <f32>1 / (x + 1);
    case UnaryOp.Sqrt: return <f32>0.5 / y;
    case UnaryOp.Rsqrt: return <f32>-0.5 * y * y * y;
    case UnaryOp.Sin: return Mathf.cos(x);
    case UnaryOp.Cos: return -Mathf.sin(x);
    case UnaryOp.Tanh: return <f32>1 - y * y;
    case UnaryOp.Sigmoid: return y * (<f32>1 - y);
    case UnaryOp.Gelu: return <f32>0.5 * (<f32>1 + serf(x * SQRT1_2)) + x * INV_SQRT_2PI * sexp(<f32>-0.5 * x * x);
    case UnaryOp.GeluTanh: {
      const x2 = x * x;
      const s: f32 = abs<f32>(x) < GELU_TINY ? 0.5 : y / x;
      return s + x * s * (<f32>1 - s) * TWO_SQRT_2_PI * (<f32>1 + <f32>3 * GELU_C * x2);
    }
    case UnaryOp.Silu: {
      const s = ssigmoid(x);
      return s * (<f32>1 + x * (<f32>1 - s));
    }
    case UnaryOp.Softplus: return x * p0 > p1 ? 1 : ssigmoid(x * p0);
    case UnaryOp.LeakyRelu: return x > 0 ? 1 : p0;
    case UnaryOp.Elu: return x > 0 ? 1 : y + p0;
    case UnaryOp.Clamp: return x >= p0 && x <= p1 ? 1 : 0;
    case UnaryOp.PowScalar: return p0 == 0 ? 0 : p0 * powScalar(x, p0 - 1);
    case UnaryOp.Square: return <f32>2 * x;
    case UnaryOp.Reciprocal: return -(y * y);
    case UnaryOp.Expm1: return y + 1;
    case UnaryOp.LogSigmoid: return <f32>1 - ssigmoid(x);
    default: return 0;
  }
}
