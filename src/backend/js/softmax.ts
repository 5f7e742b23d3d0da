// The plain-JS twin of assembly/softmax.ts: softmax, log-softmax and log-sum-exp along one dim
// of (outer, R, inner), in float64. Each kernel's contract is documented once, on the
// AssemblyScript export.
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";

/** log Σ exp of R values `step` elements apart from element `p`, stable. */
function columnLogSumExp(F: Float32Array, p: number, R: number, step: number): number {
  let m = -Infinity;
  for (let r = 0; r < R; r++) {
    const v = F[p + r * step];
    if (Number.isNaN(v)) return v;
    m = Math.max(m, v);
  }
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (let r = 0; r < R; r++) s += Math.exp(F[p + r * step] - m);
  return m + Math.log(s);
}

/** Softmax along a dim as plain loops. */
export function softmaxKernels({ f32 }: JsMemory) {
  return {
    softmaxDim(y, x, outer, R, inner, log) {
      const F = f32(),
        X = x >>> 2,
        Y = y >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < inner; j++) {
          const col = o * R * inner + j;
          const l = columnLogSumExp(F, X + col, R, inner);
          for (let r = 0; r < R; r++) {
            const v = F[X + col + r * inner] - l;
            F[Y + col + r * inner] = log ? v : Math.exp(v);
          }
        }
      }
    },
    softmaxDimBackward(dx, dy, y, outer, R, inner, log) {
      const F = f32(),
        DX = dx >>> 2,
        DY = dy >>> 2,
        Y = y >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < inner; j++) {
          const col = o * R * inner + j;
          let s = 0;
          for (let r = 0; r < R; r++) s += log ? F[DY + col + r * inner] : F[DY + col + r * inner] * F[Y + col + r * inner];
          for (let r = 0; r < R; r++) {
            const at = col + r * inner;
            F[DX + at] = log ? F[DY + at] - Math.exp(F[Y + at]) * s : F[Y + at] * (F[DY + at] - s);
          }
        }
      }
    },
    logsumexpDim(dst, x, outer, R, inner) {
      const F = f32(),
        X = x >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < inner; j++) F[(dst >>> 2) + o * inner + j] = columnLogSumExp(F, X + o * R * inner + j, R, inner);
      }
    },
  } satisfies Pick<Kernels, "softmaxDim" | "softmaxDimBackward" | "logsumexpDim">;
}
