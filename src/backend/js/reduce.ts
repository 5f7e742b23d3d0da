// The plain-JS twin of assembly/reduce.ts: sums, column sums, argmax and scans. Each kernel's contract (shapes, modes)
// is documented once, on the AssemblyScript export.
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";

/** Sums, column sums, argmax and scans as plain loops. */
export function reduceKernels({ f32, i32 }: JsMemory) {
  return {
    sum(x, n) {
      const f = f32(), X = x >> 2;
      let s = 0;
      for (let i = 0; i < n; i++) s += f[X + i];
      return s;
    },
    colSum(dst, x, M, N, accumulate) {
      const f = f32(), D = dst >> 2, X = x >> 2;
      for (let j = 0; j < N; j++) {
        let s = accumulate ? f[D + j] : 0;
        for (let i = 0; i < M; i++) s += f[X + i * N + j];
        f[D + j] = s;
      }
    },
    argmaxRows(dst, x, M, N) {
      const f = f32(), I = i32(), X = x >> 2;
      for (let i = 0; i < M; i++) {
        let arg = 0;
        let best = f[X + i * N];
        for (let j = 1; j < N && !Number.isNaN(best); j++) {
          const v = f[X + i * N + j];
          if (Number.isNaN(v) || v > best) {
            best = v;
            arg = j;
          }
        }
        I[(dst >> 2) + i] = arg;
      }
    },
    sumsq(x, n) {
      const f = f32(), X = x >> 2;
      let s = 0;
      for (let i = 0; i < n; i++) s += f[X + i] * f[X + i];
      return s;
    },
    nonfiniteCount(x, n) {
      const f = f32(), X = x >> 2;
      let c = 0;
      for (let i = 0; i < n; i++) if (!Number.isFinite(f[X + i])) c++;
      return c;
    },
  } satisfies Pick<Kernels, "sum" | "colSum" | "argmaxRows" | "sumsq" | "nonfiniteCount">;
}
