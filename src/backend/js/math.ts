// The plain-JS twin of assembly/math.ts: elementwise math and its derivatives, float32 step by
// step (js/vmath.ts), so results equal the wasm kernels bit for bit — except sin, cos and pow,
// which use Math's float64 functions rounded once (within an ulp of AssemblyScript's Mathf).
// Each kernel's contract is documented once, on the AssemblyScript export.
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";
import { UnaryOp } from "../kernel-exports.generated.js";
import { fmax, fmin, nearest, serf, sexp, sexpm1, slog, slog1p, ssigmoid, stanh } from "./vmath.js";

const f = Math.fround;
const SQRT1_2 = f(Math.SQRT1_2),
  SQRT_2_PI = f(Math.sqrt(2 / Math.PI)),
  GELU_C = f(0.044715),
  TWO_SQRT_2_PI = f(2 * SQRT_2_PI),
  GELU_TINY = 2 ** -60;
const INV_SQRT_2PI = f(1 / Math.sqrt(2 * Math.PI));

function powScalar(x: number, p: number): number {
  if (p === 2) return f(x * x);
  if (p === 1) return x;
  if (p === 0) return 1;
  if (p === 0.5) return f(Math.sqrt(x));
  if (p === -1) return f(1 / x);
  if (p === 3) return f(f(x * x) * x);
  if (p === -0.5) return f(1 / f(Math.sqrt(x)));
  if (p === -2) return f(1 / f(x * x));
  return f(x ** p);
}

/** op(x) in float32, the same steps as the kernel's scalar tail. */
function op1(op: number, x: number, p0: number, p1: number): number {
  switch (op) {
    case UnaryOp.Neg:
      return -x;
    case UnaryOp.Abs:
      return Math.abs(x);
    case UnaryOp.Exp:
      return sexp(x);
    case UnaryOp.Log:
      return slog(x);
    case UnaryOp.Log1p:
      return slog1p(x);
    case UnaryOp.Sqrt:
      return f(Math.sqrt(x));
    case UnaryOp.Rsqrt:
      return f(1 / f(Math.sqrt(x)));
    case UnaryOp.Sin:
      return f(Math.sin(x));
    case UnaryOp.Cos:
      return f(Math.cos(x));
    case UnaryOp.Tanh:
      return stanh(x);
    case UnaryOp.Sigmoid:
      return ssigmoid(x);
    case UnaryOp.Gelu:
      return f(f(x * 0.5) * f(1 + serf(f(x * SQRT1_2))));
    case UnaryOp.GeluTanh: {
      const inner = f(SQRT_2_PI * f(x + f(GELU_C * f(f(x * x) * x))));
      return f(x / f(1 + sexp(f(inner * -2))));
    }
    case UnaryOp.Silu:
      return f(x * ssigmoid(x));
    case UnaryOp.Softplus: {
      const bx = f(x * p0);
      return bx > p1 ? x : f(slog1p(sexp(bx)) / p0);
    }
    case UnaryOp.LeakyRelu:
      return x > 0 ? x : f(x * p0);
    case UnaryOp.Elu:
      return x > 0 ? x : f(p0 * sexpm1(x));
    case UnaryOp.Clamp:
      return fmax(fmin(x, p1), p0);
    case UnaryOp.PowScalar:
      return powScalar(x, p0);
    case UnaryOp.Square:
      return f(x * x);
    case UnaryOp.Reciprocal:
      return f(1 / x);
    case UnaryOp.Sign:
      return Number.isNaN(x) ? x : x > 0 ? 1 : x < 0 ? -1 : 0;
    case UnaryOp.Floor:
      return Math.floor(x);
    case UnaryOp.Ceil:
      return Math.ceil(x);
    case UnaryOp.Round:
      return nearest(x);
    case UnaryOp.Trunc:
      return Math.trunc(x);
    case UnaryOp.Expm1:
      return sexpm1(x);
    case UnaryOp.LogSigmoid:
      return f(fmin(x, 0) - slog1p(sexp(-Math.abs(x))));
    default:
      throw new Error(`unary: unknown op ${op}`);
  }
}

/** op'(x) (from y = op(x) where the kernel uses it), in float32. */
function derivative(op: number, x: number, y: number, p0: number, p1: number): number {
  switch (op) {
    case UnaryOp.Neg:
      return -1;
    case UnaryOp.Abs:
      return x > 0 ? 1 : x < 0 ? -1 : 0;
    case UnaryOp.Exp:
      return y;
    case UnaryOp.Log:
      return f(1 / x);
    case UnaryOp.Log1p:
      return f(1 / f(x + 1));
    case UnaryOp.Sqrt:
      return f(0.5 / y);
    case UnaryOp.Rsqrt:
      return f(f(f(-0.5 * y) * y) * y);
    case UnaryOp.Sin:
      return f(Math.cos(x));
    case UnaryOp.Cos:
      return f(-Math.sin(x));
    case UnaryOp.Tanh:
      return f(1 - f(y * y));
    case UnaryOp.Sigmoid:
      return f(y * f(1 - y));
    case UnaryOp.Gelu:
      return f(f(0.5 * f(1 + serf(f(x * SQRT1_2)))) + f(f(x * INV_SQRT_2PI) * sexp(f(f(-0.5 * x) * x))));
    case UnaryOp.GeluTanh: {
      const x2 = f(x * x);
      const s = Math.abs(x) < GELU_TINY ? 0.5 : f(y / x);
      const right = f(f(f(f(x * s) * f(1 - s)) * TWO_SQRT_2_PI) * f(1 + f(f(3 * GELU_C) * x2)));
      return f(s + right);
    }
    case UnaryOp.Silu: {
      const s = ssigmoid(x);
      return f(s * f(1 + f(x * f(1 - s))));
    }
    case UnaryOp.Softplus:
      return f(x * p0) > p1 ? 1 : ssigmoid(f(x * p0));
    case UnaryOp.LeakyRelu:
      return x > 0 ? 1 : p0;
    case UnaryOp.Elu:
      return x > 0 ? 1 : f(y + p0);
    case UnaryOp.Clamp:
      return x >= p0 && x <= p1 ? 1 : 0;
    case UnaryOp.PowScalar:
      return p0 === 0 ? 0 : f(p0 * powScalar(x, f(p0 - 1)));
    case UnaryOp.Square:
      return f(2 * x);
    case UnaryOp.Reciprocal:
      return -f(y * y);
    case UnaryOp.Expm1:
      return f(y + 1);
    case UnaryOp.LogSigmoid:
      return f(1 - ssigmoid(x));
    default:
      return 0;
  }
}

/** Elementwise math as plain loops. */
export function mathKernels({ f32 }: JsMemory) {
  return {
    unary(op, dst, x, n, p0, p1) {
      const F = f32(),
        D = dst >>> 2,
        X = x >>> 2,
        a = f(p0),
        b = f(p1);
      for (let i = 0; i < n; i++) F[D + i] = op1(op, F[X + i], a, b);
    },
    unaryBackward(op, dx, dy, x, y, n, p0, p1) {
      const F = f32(),
        a = f(p0),
        b = f(p1);
      for (let i = 0; i < n; i++) {
        F[(dx >>> 2) + i] = F[(dy >>> 2) + i] * derivative(op, F[(x >>> 2) + i], F[(y >>> 2) + i], a, b);
      }
    },
  } satisfies Pick<Kernels, "unary" | "unaryBackward">;
}
