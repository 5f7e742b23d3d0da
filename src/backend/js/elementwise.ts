// The plain-JS twin of assembly/elementwise.ts: elementwise arithmetic, fills and copies. Each kernel's contract (shapes, modes)
// is documented once, on the AssemblyScript export.
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";

/** Elementwise arithmetic, fills and copies as plain loops. */
export function elementwiseKernels({ f32, u8 }: JsMemory) {
  return {
    fill(dst, n, value) {
      f32().fill(value, dst >> 2, (dst >> 2) + n);
    },
    copy(dst, src, bytes) {
      const u = u8();
      u.copyWithin(dst, src, src + bytes);
    },
    add(dst, a, b, n) {
      const f = f32(), D = dst >> 2, A = a >> 2, B = b >> 2;
      for (let i = 0; i < n; i++) f[D + i] = f[A + i] + f[B + i];
    },
    sub(dst, a, b, n) {
      const f = f32(), D = dst >> 2, A = a >> 2, B = b >> 2;
      for (let i = 0; i < n; i++) f[D + i] = f[A + i] - f[B + i];
    },
    mul(dst, a, b, n) {
      const f = f32(), D = dst >> 2, A = a >> 2, B = b >> 2;
      for (let i = 0; i < n; i++) f[D + i] = f[A + i] * f[B + i];
    },
    // Scalars arrive as float32, as the wasm parameters do, and each float32 operation is
    // rounded (a double computes one +, × of floats exactly before the rounding): same bits.
    affine(dst, a, s, t, n) {
      const f = f32(), D = dst >> 2, A = a >> 2, S = Math.fround(s), T = Math.fround(t);
      for (let i = 0; i < n; i++) f[D + i] = Math.fround(f[A + i] * S) + T;
    },
    axpy(dst, x, alpha, n) {
      const f = f32(), D = dst >> 2, X = x >> 2, al = Math.fround(alpha);
      for (let i = 0; i < n; i++) f[D + i] += Math.fround(al * f[X + i]);
    },
    rowwise(dst, a, row, M, N, mode) {
      const f = f32(), D = dst >> 2, A = a >> 2, R = row >> 2;
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          const v = f[A + i * N + j];
          const r = f[R + j];
          f[D + i * N + j] = mode === 1 ? v * r : mode === 2 ? v - r : v + r;
        }
      }
    },
    relu(dst, x, n) {
      const f = f32(), D = dst >> 2, X = x >> 2;
      for (let i = 0; i < n; i++) {
        const v = f[X + i];
        f[D + i] = v > 0 || Number.isNaN(v) ? v : 0;
      }
    },
    reluBackward(dx, dy, y, n) {
      const f = f32(), DX = dx >> 2, DY = dy >> 2, Y = y >> 2;
      for (let i = 0; i < n; i++) f[DX + i] = f[Y + i] > 0 ? f[DY + i] : 0;
    },
  } satisfies Pick<Kernels, "fill" | "copy" | "add" | "sub" | "mul" | "affine" | "axpy" | "rowwise" | "relu" | "reluBackward">;
}
