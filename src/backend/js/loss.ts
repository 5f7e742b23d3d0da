// The plain-JS twin of assembly/loss.ts: losses and (log-)softmax over rows. Each kernel's contract (shapes, modes)
// is documented once, on the AssemblyScript export.
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";

/** Row-wise log Σ exp over row `o` (element index) of width C. */
const logSumExp = (f: Float32Array, o: number, C: number): number => {
  let m = -Infinity;
  for (let j = 0; j < C; j++) m = Math.max(m, f[o + j]);
  let s = 0;
  for (let j = 0; j < C; j++) s += Math.exp(f[o + j] - m);
  return m + Math.log(s);
};
const rowScale = (f: Float32Array, scale: number, scales: number, i: number) => (scales ? scale * f[(scales >>> 2) + i] : scale);

/** Losses and (log-)softmax over rows as plain loops. */
export function lossKernels({ f32, i32 }: JsMemory) {
  return {
    softmaxXentForward(x, labels, M, C, losses, lse, ignoreIndex) {
      const f = f32(),
        I = i32(),
        X = x >>> 2;
      let total = 0;
      for (let i = 0; i < M; i++) {
        const l = logSumExp(f, X + i * C, C);
        const label = I[(labels >>> 2) + i];
        const loss = label === ignoreIndex ? 0 : l - f[X + i * C + label];
        f[(lse >>> 2) + i] = l;
        if (losses) f[(losses >>> 2) + i] = loss;
        total += loss;
      }
      return total;
    },
    softmaxXentBackward(dx, x, labels, lse, M, C, scale, scales, ignoreIndex) {
      const f = f32(),
        I = i32(),
        X = x >>> 2,
        DX = dx >>> 2;
      for (let i = 0; i < M; i++) {
        const l = f[(lse >>> 2) + i];
        const label = I[(labels >>> 2) + i];
        if (label === ignoreIndex) {
          f.fill(0, DX + i * C, DX + (i + 1) * C);
          continue;
        }
        const s = rowScale(f, scale, scales, i);
        for (let j = 0; j < C; j++) {
          const p = Math.exp(f[X + i * C + j] - l);
          f[DX + i * C + j] = (j === label ? p - 1 : p) * s;
        }
      }
    },
    logSoftmaxForward(y, x, M, C) {
      const f = f32(),
        X = x >>> 2,
        Y = y >>> 2;
      for (let i = 0; i < M; i++) {
        const l = logSumExp(f, X + i * C, C);
        for (let j = 0; j < C; j++) f[Y + i * C + j] = f[X + i * C + j] - l;
      }
    },
    logSoftmaxBackward(dx, dy, y, M, C) {
      const f = f32(),
        DX = dx >>> 2,
        DY = dy >>> 2,
        Y = y >>> 2;
      for (let i = 0; i < M; i++) {
        let s = 0;
        for (let j = 0; j < C; j++) s += f[DY + i * C + j];
        for (let j = 0; j < C; j++) {
          f[DX + i * C + j] = f[DY + i * C + j] - Math.exp(f[Y + i * C + j]) * s;
        }
      }
    },
    softmaxForward(y, x, M, C) {
      const f = f32(),
        X = x >>> 2,
        Y = y >>> 2;
      for (let i = 0; i < M; i++) {
        const l = logSumExp(f, X + i * C, C);
        for (let j = 0; j < C; j++) f[Y + i * C + j] = Math.exp(f[X + i * C + j] - l);
      }
    },
    softmaxBackward(dx, dy, y, M, C) {
      const f = f32(),
        DX = dx >>> 2,
        DY = dy >>> 2,
        Y = y >>> 2;
      for (let i = 0; i < M; i++) {
        let s = 0;
        for (let j = 0; j < C; j++) s += f[DY + i * C + j] * f[Y + i * C + j];
        for (let j = 0; j < C; j++) {
          f[DX + i * C + j] = f[Y + i * C + j] * (f[DY + i * C + j] - s);
        }
      }
    },
    nllForward(x, labels, M, C, losses, ignoreIndex) {
      const f = f32(),
        I = i32();
      let total = 0;
      for (let i = 0; i < M; i++) {
        const label = I[(labels >>> 2) + i];
        const loss = label === ignoreIndex ? 0 : -f[(x >>> 2) + i * C + label];
        if (losses) f[(losses >>> 2) + i] = loss;
        total += loss;
      }
      return total;
    },
    nllBackward(dx, labels, M, C, scale, scales, ignoreIndex) {
      const f = f32(),
        I = i32(),
        DX = dx >>> 2;
      f.fill(0, DX, DX + M * C);
      for (let i = 0; i < M; i++) {
        const label = I[(labels >>> 2) + i];
        if (label !== ignoreIndex) f[DX + i * C + label] = -rowScale(f, scale, scales, i);
      }
    },
    mseForward(a, b, n, out) {
      const f = f32(),
        A = a >>> 2,
        B = b >>> 2;
      let total = 0;
      for (let i = 0; i < n; i++) {
        const d = f[A + i] - f[B + i];
        if (out) f[(out >>> 2) + i] = d * d;
        total += d * d;
      }
      return total;
    },
    mseBackward(dx, a, b, n, scale, scales) {
      const f = f32(),
        A = a >>> 2,
        B = b >>> 2,
        DX = dx >>> 2;
      for (let i = 0; i < n; i++) f[DX + i] = (f[A + i] - f[B + i]) * rowScale(f, scale, scales, i);
    },
  } satisfies Pick<
    Kernels,
    | "softmaxXentForward"
    | "softmaxXentBackward"
    | "logSoftmaxForward"
    | "logSoftmaxBackward"
    | "softmaxForward"
    | "softmaxBackward"
    | "nllForward"
    | "nllBackward"
    | "mseForward"
    | "mseBackward"
  >;
}
