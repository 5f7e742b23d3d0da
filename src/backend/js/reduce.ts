// The plain-JS twin of assembly/reduce.ts: sums, column sums, argmax and scans. Each kernel's contract (shapes, modes)
// is documented once, on the AssemblyScript export.
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";
import { ReduceOp } from "../kernel-exports.generated.js";

function reduceIdentity(op: number): number {
  return op === ReduceOp.Prod ? 1 : op === ReduceOp.Max ? -Infinity : op === ReduceOp.Min ? Infinity : 0;
}

/** One step of a reduction in float64; max/min keep a NaN once seen. */
function reduceStep(op: number, acc: number, v: number): number {
  switch (op) {
    case ReduceOp.Sum:
      return acc + v;
    case ReduceOp.Prod:
      return acc * v;
    case ReduceOp.Max:
      return Number.isNaN(acc) || Number.isNaN(v) ? NaN : Math.max(acc, v);
    case ReduceOp.Min:
      return Number.isNaN(acc) || Number.isNaN(v) ? NaN : Math.min(acc, v);
    case ReduceOp.SumAbs:
      return acc + Math.abs(v);
    case ReduceOp.MaxAbs:
      return Number.isNaN(acc) || Number.isNaN(v) ? NaN : Math.max(acc, Math.abs(v));
    default:
      return acc + v * v;
  }
}

/** Sums, column sums, argmax and scans as plain loops. */
export function reduceKernels({ f32, i32 }: JsMemory) {
  return {
    sum(x, n) {
      const f = f32(),
        X = x >>> 2;
      let s = 0;
      for (let i = 0; i < n; i++) s += f[X + i];
      return s;
    },
    colSum(dst, x, M, N, accumulate) {
      const f = f32(),
        D = dst >>> 2,
        X = x >>> 2;
      for (let j = 0; j < N; j++) {
        let s = accumulate ? f[D + j] : 0;
        for (let i = 0; i < M; i++) s += f[X + i * N + j];
        f[D + j] = s;
      }
    },
    argmaxRows(dst, x, M, N) {
      const f = f32(),
        I = i32(),
        X = x >>> 2;
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
        I[(dst >>> 2) + i] = arg;
      }
    },
    sumsq(x, n) {
      const f = f32(),
        X = x >>> 2;
      let s = 0;
      for (let i = 0; i < n; i++) s += f[X + i] * f[X + i];
      return s;
    },
    nonfiniteCount(x, n) {
      const f = f32(),
        X = x >>> 2;
      let c = 0;
      for (let i = 0; i < n; i++) if (!Number.isFinite(f[X + i])) c++;
      return c;
    },
    reduceDim(op, dst, x, outer, R, inner, accumulate) {
      const F = f32(),
        D = dst >>> 2,
        X = x >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < inner; j++) {
          let acc = reduceIdentity(op);
          for (let r = 0; r < R; r++) acc = reduceStep(op, acc, F[X + (o * R + r) * inner + j]);
          const at = D + o * inner + j;
          F[at] = accumulate ? F[at] + acc : acc;
        }
      }
    },
    argReduceDim(values, indices, x, outer, R, inner, isMin) {
      const F = f32(),
        I = i32(),
        X = x >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < inner; j++) {
          let best = F[X + o * R * inner + j],
            arg = 0;
          for (let r = 1; r < R && !Number.isNaN(best); r++) {
            const v = F[X + (o * R + r) * inner + j];
            if (Number.isNaN(v) || (isMin ? v < best : v > best)) {
              best = v;
              arg = r;
            }
          }
          if (values) F[(values >>> 2) + o * inner + j] = best;
          I[(indices >>> 2) + o * inner + j] = arg;
        }
      }
    },
    varDim(dst, mean, x, outer, R, inner, correction) {
      const F = f32(),
        X = x >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < inner; j++) {
          let s = 0;
          for (let r = 0; r < R; r++) s += F[X + (o * R + r) * inner + j];
          const m = s / R;
          let q = 0;
          for (let r = 0; r < R; r++) q += (F[X + (o * R + r) * inner + j] - m) ** 2;
          F[(dst >>> 2) + o * inner + j] = q / Math.max(R - correction, 0);
          if (mean) F[(mean >>> 2) + o * inner + j] = m;
        }
      }
    },
    cumsumDim(y, x, outer, R, inner, reverse) {
      const F = f32(),
        X = x >>> 2,
        Y = y >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < inner; j++) {
          let s = 0;
          for (let k = 0; k < R; k++) {
            const at = (o * R + (reverse ? R - 1 - k : k)) * inner + j;
            s += F[X + at];
            F[Y + at] = s;
          }
        }
      }
    },
    scatterDim(dx, g, index, outer, R, inner, accumulate) {
      const F = f32(),
        I = i32(),
        D = dx >>> 2;
      for (let o = 0; o < outer; o++) {
        if (!accumulate) F.fill(0, D + o * R * inner, D + (o + 1) * R * inner);
        for (let j = 0; j < inner; j++) {
          const at = o * inner + j;
          F[D + (o * R + I[(index >>> 2) + at]) * inner + j] += F[(g >>> 2) + at];
        }
      }
    },
    prodBackward(dx, dy, x, outer, R, inner) {
      const F = f32(),
        X = x >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < inner; j++) {
          const g = F[(dy >>> 2) + o * inner + j];
          for (let r = 0; r < R; r++) {
            let p = 1;
            for (let k = 0; k < R; k++) if (k !== r) p *= F[X + (o * R + k) * inner + j];
            F[(dx >>> 2) + (o * R + r) * inner + j] = p * g;
          }
        }
      }
    },
  } satisfies Pick<
    Kernels,
    "sum" | "colSum" | "argmaxRows" | "sumsq" | "nonfiniteCount" | "reduceDim" | "argReduceDim" | "varDim" | "cumsumDim" | "scatterDim" | "prodBackward"
  >;
}
