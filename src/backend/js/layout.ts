// The plain-JS twin of assembly/layout.ts: strided copies, dtype casts and triangular masks.
// Each kernel's contract is documented once, on the AssemblyScript export.
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";
import { forEachElement } from "./strided.js";

/** Strided copies, casts and triangular masks as plain loops. */
export function layoutKernels({ f32, i32 }: JsMemory) {
  return {
    copyStrided(dst, src, meta, nd) {
      const I = i32(),
        D = dst >>> 2,
        S = src >>> 2;
      forEachElement(I, meta, nd, 2, ([d, s]) => (I[D + d] = I[S + s]));
    },
    cast(dst, src, n, mode) {
      const F = f32(),
        I = i32(),
        D = dst >>> 2,
        S = src >>> 2;
      for (let i = 0; i < n; i++) {
        if (mode === 0) {
          const v = F[S + i];
          I[D + i] = Number.isNaN(v) ? 0 : Math.max(-2147483648, Math.min(2147483647, Math.trunc(v)));
        } else if (mode === 1) F[D + i] = I[S + i];
        else if (mode === 2) I[D + i] = F[S + i] !== 0 ? 1 : 0;
        else I[D + i] = I[S + i] !== 0 ? 1 : 0;
      }
    },
    triangle(dst, src, B, R, C, k, upper) {
      const I = i32(),
        D = dst >>> 2,
        S = src >>> 2;
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < R; i++) {
          for (let j = 0; j < C; j++) {
            const o = (b * R + i) * C + j;
            const keep = upper ? j - i >= k : j - i <= k;
            I[D + o] = keep ? I[S + o] : 0;
          }
        }
      }
    },
  } satisfies Pick<Kernels, "copyStrided" | "cast" | "triangle">;
}
