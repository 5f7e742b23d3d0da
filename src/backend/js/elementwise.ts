// The plain-JS twin of assembly/elementwise.ts: elementwise arithmetic, fills and copies. Each kernel's contract (shapes, modes)
// is documented once, on the AssemblyScript export.
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";
import { BinaryOp } from "../kernel-exports.generated.js";
import { forEachElement } from "./strided.js";

/** One float32 op, rounded to float32 as the wasm instruction rounds it. */
function floatOp(op: number, x: number, y: number): number {
  switch (op) {
    case BinaryOp.Add:
      return x + y;
    case BinaryOp.Sub:
      return x - y;
    case BinaryOp.Mul:
      return x * y;
    case BinaryOp.Div:
      return x / y;
    case BinaryOp.Maximum:
      return Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y);
    case BinaryOp.Minimum:
      return Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y);
    case BinaryOp.Pow:
      return x ** y;
    default:
      throw new Error(`binaryStrided: op ${op} is not a float32 arithmetic op`);
  }
}

function compareOp(op: number, x: number, y: number): boolean {
  switch (op) {
    case BinaryOp.Eq:
      return x === y;
    case BinaryOp.Ne:
      return x !== y;
    case BinaryOp.Lt:
      return x < y;
    case BinaryOp.Le:
      return x <= y;
    case BinaryOp.Gt:
      return x > y;
    default:
      return x >= y;
  }
}

/** One int32 op with int32 wrapping. */
function intOp(op: number, x: number, y: number): number {
  switch (op) {
    case BinaryOp.Add:
      return (x + y) | 0;
    case BinaryOp.Sub:
      return (x - y) | 0;
    case BinaryOp.Mul:
      return Math.imul(x, y);
    case BinaryOp.Maximum:
      return Math.max(x, y);
    case BinaryOp.Minimum:
      return Math.min(x, y);
    case BinaryOp.And:
      return x & y;
    case BinaryOp.Or:
      return x | y;
    case BinaryOp.Xor:
      return x ^ y;
    default:
      return compareOp(op, x, y) ? 1 : 0;
  }
}

/** Elementwise arithmetic, fills and copies as plain loops. */
export function elementwiseKernels({ f32, i32, u8 }: JsMemory) {
  return {
    fill(dst, n, value) {
      f32().fill(value, dst >>> 2, (dst >>> 2) + n);
    },
    copy(dst, src, bytes) {
      const u = u8();
      u.copyWithin(dst, src, src + bytes);
    },
    add(dst, a, b, n) {
      const f = f32(),
        D = dst >>> 2,
        A = a >>> 2,
        B = b >>> 2;
      for (let i = 0; i < n; i++) f[D + i] = f[A + i] + f[B + i];
    },
    sub(dst, a, b, n) {
      const f = f32(),
        D = dst >>> 2,
        A = a >>> 2,
        B = b >>> 2;
      for (let i = 0; i < n; i++) f[D + i] = f[A + i] - f[B + i];
    },
    mul(dst, a, b, n) {
      const f = f32(),
        D = dst >>> 2,
        A = a >>> 2,
        B = b >>> 2;
      for (let i = 0; i < n; i++) f[D + i] = f[A + i] * f[B + i];
    },
    // Scalars arrive as float32, as the wasm parameters do, and each float32 operation is
    // rounded (a double computes one +, × of floats exactly before the rounding): same bits.
    affine(dst, a, s, t, n) {
      const f = f32(),
        D = dst >>> 2,
        A = a >>> 2,
        S = Math.fround(s),
        T = Math.fround(t);
      for (let i = 0; i < n; i++) f[D + i] = Math.fround(f[A + i] * S) + T;
    },
    axpy(dst, x, alpha, n) {
      const f = f32(),
        D = dst >>> 2,
        X = x >>> 2,
        al = Math.fround(alpha);
      for (let i = 0; i < n; i++) f[D + i] += Math.fround(al * f[X + i]);
    },
    rowwise(dst, a, row, M, N, mode) {
      const f = f32(),
        D = dst >>> 2,
        A = a >>> 2,
        R = row >>> 2;
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          const v = f[A + i * N + j];
          const r = f[R + j];
          f[D + i * N + j] = mode === 1 ? v * r : mode === 2 ? v - r : v + r;
        }
      }
    },
    relu(dst, x, n) {
      const f = f32(),
        D = dst >>> 2,
        X = x >>> 2;
      for (let i = 0; i < n; i++) {
        const v = f[X + i];
        f[D + i] = v > 0 || Number.isNaN(v) ? v : 0;
      }
    },
    reluBackward(dx, dy, y, n) {
      const f = f32(),
        DX = dx >>> 2,
        DY = dy >>> 2,
        Y = y >>> 2;
      for (let i = 0; i < n; i++) f[DX + i] = f[Y + i] > 0 ? f[DY + i] : 0;
    },
    binaryStrided(op, dst, a, b, meta, nd, isInt) {
      const F = f32(),
        I = i32(),
        D = dst >>> 2,
        A = a >>> 2,
        B = b >>> 2;
      const compare = op >= BinaryOp.Eq && op <= BinaryOp.Ge;
      forEachElement(I, meta, nd, 3, ([d, x, y]) => {
        if (isInt) I[D + d] = intOp(op, I[A + x], I[B + y]);
        else if (compare) I[D + d] = compareOp(op, F[A + x], F[B + y]) ? 1 : 0;
        else F[D + d] = floatOp(op, F[A + x], F[B + y]);
      });
    },
    whereStrided(dst, cond, a, b, meta, nd) {
      const I = i32(),
        D = dst >>> 2,
        C = cond >>> 2,
        A = a >>> 2,
        B = b >>> 2;
      forEachElement(I, meta, nd, 4, ([d, c, x, y]) => (I[D + d] = I[C + c] !== 0 ? I[A + x] : I[B + y]));
    },
  } satisfies Pick<
    Kernels,
    "fill" | "copy" | "add" | "sub" | "mul" | "affine" | "axpy" | "rowwise" | "relu" | "reluBackward" | "binaryStrided" | "whereStrided"
  >;
}
