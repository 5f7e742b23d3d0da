// The plain-JS twin of assembly/norm.ts: batch norm, per-channel sums and dropout. Each kernel's contract (shapes, modes)
// is documented once, on the AssemblyScript export.
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";

/** Batch norm, per-channel sums and dropout as plain loops. */
export function normKernels({ f32 }: JsMemory) {
  return {
    channelFill(y, v, N, C, S) {
      const f = f32();
      for (let n = 0; n < N; n++)
        for (let c = 0; c < C; c++) {
          const o = (y >>> 2) + (n * C + c) * S;
          f.fill(f[(v >>> 2) + c], o, o + S);
        }
    },
    channelSum(dst, x, N, C, S, accumulate, c0, c1) {
      const f = f32();
      for (let c = c0; c < c1; c++) {
        let s = accumulate ? f[(dst >>> 2) + c] : 0;
        for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) s += f[(x >>> 2) + (n * C + c) * S + k];
        f[(dst >>> 2) + c] = s;
      }
    },
    bnStats(mean, variance, x, N, C, S, c0, c1) {
      const f = f32();
      for (let c = c0; c < c1; c++) {
        let s = 0;
        for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) s += f[(x >>> 2) + (n * C + c) * S + k];
        const m = s / (N * S);
        let q = 0;
        for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) q += (f[(x >>> 2) + (n * C + c) * S + k] - m) ** 2;
        f[(mean >>> 2) + c] = m;
        f[(variance >>> 2) + c] = q / (N * S);
      }
    },
    bnForward(y, x, mean, invstd, weight, bias, N, C, S) {
      const f = f32();
      for (let c = 0; c < C; c++) {
        const m = f[(mean >>> 2) + c],
          r = f[(invstd >>> 2) + c];
        const w = weight ? f[(weight >>> 2) + c] : 1,
          b = bias ? f[(bias >>> 2) + c] : 0;
        for (let n = 0; n < N; n++)
          for (let k = 0; k < S; k++) {
            const o = (n * C + c) * S + k;
            f[(y >>> 2) + o] = (f[(x >>> 2) + o] - m) * r * w + b;
          }
      }
    },
    bnBackwardSums(sums, dy, x, mean, invstd, N, C, S, c0, c1) {
      const f = f32();
      for (let c = c0; c < c1; c++) {
        const m = f[(mean >>> 2) + c],
          r = f[(invstd >>> 2) + c];
        let sumDy = 0,
          sumDyXhat = 0;
        for (let n = 0; n < N; n++)
          for (let k = 0; k < S; k++) {
            const o = (n * C + c) * S + k;
            sumDy += f[(dy >>> 2) + o];
            sumDyXhat += f[(dy >>> 2) + o] * (f[(x >>> 2) + o] - m) * r;
          }
        f[(sums >>> 2) + c] = sumDy;
        f[(sums >>> 2) + C + c] = sumDyXhat;
      }
    },
    bnBackwardDx(dx, dy, x, mean, invstd, weight, sums, N, C, S, batchStats, c0, c1) {
      const f = f32(),
        M = N * S;
      for (let c = c0; c < c1; c++) {
        const m = f[(mean >>> 2) + c],
          r = f[(invstd >>> 2) + c],
          w = weight ? f[(weight >>> 2) + c] : 1;
        const a = (w * f[(sums >>> 2) + c]) / M,
          b = (w * f[(sums >>> 2) + C + c]) / M;
        for (let n = 0; n < N; n++)
          for (let k = 0; k < S; k++) {
            const o = (n * C + c) * S + k;
            const gh = f[(dy >>> 2) + o] * w;
            f[(dx >>> 2) + o] = batchStats ? r * (gh - a - (f[(x >>> 2) + o] - m) * r * b) : gh * r;
          }
      }
    },
    dropout(y, mask, x, n, threshold, scale, seed) {
      const f = f32();
      for (let i = 0; i < n; i++) {
        let h = (Math.imul(i, 0x9e3779b1) + seed) >>> 0;
        h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
        h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
        h = (h ^ (h >>> 16)) >>> 0;
        const m = h >= threshold >>> 0 ? scale : 0;
        f[(mask >>> 2) + i] = m;
        f[(y >>> 2) + i] = f[(x >>> 2) + i] * m;
      }
    },
    layerNorm(y, mean, rstd, x, w, b, M, N, eps) {
      const F = f32();
      for (let i = 0; i < M; i++) {
        const row = (x >>> 2) + i * N;
        let s = 0;
        for (let j = 0; j < N; j++) s += F[row + j];
        const m = s / N;
        let q = 0;
        for (let j = 0; j < N; j++) q += (F[row + j] - m) ** 2;
        const mf = Math.fround(m),
          r = Math.fround(1 / Math.sqrt(q / N + Math.fround(eps)));
        F[(mean >>> 2) + i] = mf;
        F[(rstd >>> 2) + i] = r;
        for (let j = 0; j < N; j++) {
          let v = (F[row + j] - mf) * r;
          if (w) v *= F[(w >>> 2) + j];
          if (b) v += F[(b >>> 2) + j];
          F[(y >>> 2) + i * N + j] = v;
        }
      }
    },
    layerNormBackward(dx, dw, db, dy, x, mean, rstd, w, M, N, accW, accB) {
      const F = f32();
      const gw = new Float64Array(N),
        gb = new Float64Array(N);
      for (let i = 0; i < M; i++) {
        const m = F[(mean >>> 2) + i],
          r = F[(rstd >>> 2) + i];
        let sg = 0,
          sgx = 0;
        for (let j = 0; j < N; j++) {
          const g0 = F[(dy >>> 2) + i * N + j],
            xh = (F[(x >>> 2) + i * N + j] - m) * r;
          const g = w ? g0 * F[(w >>> 2) + j] : g0;
          sg += g;
          sgx += g * xh;
          gw[j] += g0 * xh;
          gb[j] += g0;
        }
        if (!dx) continue;
        for (let j = 0; j < N; j++) {
          const xh = (F[(x >>> 2) + i * N + j] - m) * r;
          const g = w ? F[(dy >>> 2) + i * N + j] * F[(w >>> 2) + j] : F[(dy >>> 2) + i * N + j];
          F[(dx >>> 2) + i * N + j] = r * (g - sg / N - xh * (sgx / N));
        }
      }
      for (let j = 0; j < N; j++) {
        if (dw) F[(dw >>> 2) + j] = (accW ? F[(dw >>> 2) + j] : 0) + gw[j];
        if (db) F[(db >>> 2) + j] = (accB ? F[(db >>> 2) + j] : 0) + gb[j];
      }
    },
    rmsNorm(y, rstd, x, w, M, N, eps) {
      const F = f32();
      for (let i = 0; i < M; i++) {
        let q = 0;
        for (let j = 0; j < N; j++) q += F[(x >>> 2) + i * N + j] ** 2;
        const r = Math.fround(1 / Math.sqrt(q / N + Math.fround(eps)));
        F[(rstd >>> 2) + i] = r;
        for (let j = 0; j < N; j++) F[(y >>> 2) + i * N + j] = F[(x >>> 2) + i * N + j] * r * (w ? F[(w >>> 2) + j] : 1);
      }
    },
    rmsNormBackward(dx, dw, dy, x, rstd, w, M, N, accW) {
      const F = f32();
      const gw = new Float64Array(N);
      for (let i = 0; i < M; i++) {
        const r = F[(rstd >>> 2) + i];
        let sgx = 0;
        for (let j = 0; j < N; j++) {
          const g0 = F[(dy >>> 2) + i * N + j],
            xh = F[(x >>> 2) + i * N + j] * r;
          sgx += (w ? g0 * F[(w >>> 2) + j] : g0) * xh;
          gw[j] += g0 * xh;
        }
        if (!dx) continue;
        for (let j = 0; j < N; j++) {
          const xh = F[(x >>> 2) + i * N + j] * r;
          const g = w ? F[(dy >>> 2) + i * N + j] * F[(w >>> 2) + j] : F[(dy >>> 2) + i * N + j];
          F[(dx >>> 2) + i * N + j] = r * (g - xh * (sgx / N));
        }
      }
      if (dw) for (let j = 0; j < N; j++) F[(dw >>> 2) + j] = (accW ? F[(dw >>> 2) + j] : 0) + gw[j];
    },
  } satisfies Pick<
    Kernels,
    | "channelFill"
    | "channelSum"
    | "bnStats"
    | "bnForward"
    | "bnBackwardSums"
    | "bnBackwardDx"
    | "dropout"
    | "layerNorm"
    | "layerNormBackward"
    | "rmsNorm"
    | "rmsNormBackward"
  >;
}
