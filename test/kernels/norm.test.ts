// Layer norm and RMS norm kernels (assembly/norm.ts): forward and the fused backward (dx, dweight,
// dbias in one pass, with and without accumulation, with and without affine parameters) on both
// backends against float64 references; adaptive average pooling (assembly/conv.ts) too.
import { describe, expect, it } from "vitest";
import { Generator } from "../../src/random.js";
import { BACKENDS, SENTINEL, alloc, expectGuards, freeAll, read } from "./buffers.js";

function rows(x: Float32Array, M: number, N: number): number[][] {
  return Array.from({ length: M }, (_, i) => Array.from(x.subarray(i * N, (i + 1) * N)));
}

describe("layerNorm / rmsNorm kernels", () => {
  it("forward and backward against float64 (affine and not, accumulating parameter grads)", () => {
    const g = new Generator(71);
    for (const be of BACKENDS) {
      for (const [M, N] of [
        [1, 1],
        [3, 5],
        [4, 33],
        [2, 128],
      ]) {
        const x = Float32Array.from({ length: M * N }, () => g.normal() * 3 + 1);
        const w = Float32Array.from({ length: N }, () => g.normal()),
          b = Float32Array.from({ length: N }, () => g.normal());
        const dy = Float32Array.from({ length: M * N }, () => g.normal());
        for (const affine of [true, false]) {
          const xb = alloc(be, M * N, x),
            wb = alloc(be, N, w),
            bb = alloc(be, N, b),
            y = alloc(be, M * N, null, { pre: 17 });
          const mean = alloc(be, M),
            rstd = alloc(be, M),
            dyb = alloc(be, M * N, dy),
            dx = alloc(be, M * N, null, { pre: 18 });
          const dw = alloc(be, N, new Float32Array(N).fill(0.5)),
            db = alloc(be, N, new Float32Array(N).fill(-0.25));
          const eps = 1e-5;
          be.layerNorm(y.ptr, mean.ptr, rstd.ptr, xb.ptr, affine ? wb.ptr : 0, affine ? bb.ptr : 0, M, N, eps);
          be.layerNormBackward(dx.ptr, affine ? dw.ptr : 0, affine ? db.ptr : 0, dyb.ptr, xb.ptr, mean.ptr, rstd.ptr, affine ? wb.ptr : 0, M, N, true, true);
          const Y = read(y),
            DX = read(dx),
            DW = read(dw),
            DB = read(db);
          const gw = new Float64Array(N).fill(0.5),
            gb = new Float64Array(N).fill(-0.25);
          rows(x, M, N).forEach((row, i) => {
            const m = row.reduce((a, c) => a + c, 0) / N;
            const v = row.reduce((a, c) => a + (c - m) ** 2, 0) / N;
            const r = 1 / Math.sqrt(v + eps);
            const xh = row.map((c) => (c - m) * r);
            const gg = xh.map((_, j) => dy[i * N + j] * (affine ? w[j] : 1));
            const mg = gg.reduce((a, c) => a + c, 0) / N,
              mgx = gg.reduce((a, c, j) => a + c * xh[j], 0) / N;
            xh.forEach((h, j) => {
              const want = affine ? h * w[j] + b[j] : h;
              expect(Math.abs(Y[i * N + j] - want), `${be.name} y`).toBeLessThan(1e-5 * (1 + Math.abs(want)));
              const dxr = r * (gg[j] - mg - h * mgx);
              expect(Math.abs(DX[i * N + j] - dxr), `${be.name} dx (${M},${N})`).toBeLessThan(1e-4 * (1 + Math.abs(dxr)));
              gw[j] += dy[i * N + j] * h;
              gb[j] += dy[i * N + j];
            });
          });
          if (affine)
            for (let j = 0; j < N; j++) {
              expect(Math.abs(DW[j] - gw[j])).toBeLessThan(1e-4 * (1 + Math.abs(gw[j])));
              expect(Math.abs(DB[j] - gb[j])).toBeLessThan(1e-4 * (1 + Math.abs(gb[j])));
            }
          // RMS norm on the same data.
          be.rmsNorm(y.ptr, rstd.ptr, xb.ptr, affine ? wb.ptr : 0, M, N, eps);
          be.rmsNormBackward(dx.ptr, affine ? dw.ptr : 0, dyb.ptr, xb.ptr, rstd.ptr, affine ? wb.ptr : 0, M, N, false);
          const Y2 = read(y),
            DX2 = read(dx),
            DW2 = read(dw);
          const gw2 = new Float64Array(N);
          rows(x, M, N).forEach((row, i) => {
            const r = 1 / Math.sqrt(row.reduce((a, c) => a + c * c, 0) / N + eps);
            const xh = row.map((c) => c * r);
            const gg = xh.map((_, j) => dy[i * N + j] * (affine ? w[j] : 1));
            const mgx = gg.reduce((a, c, j) => a + c * xh[j], 0) / N;
            xh.forEach((h, j) => {
              const want = affine ? h * w[j] : h;
              expect(Math.abs(Y2[i * N + j] - want)).toBeLessThan(1e-5 * (1 + Math.abs(want)));
              const dxr = r * (gg[j] - h * mgx);
              expect(Math.abs(DX2[i * N + j] - dxr)).toBeLessThan(1e-4 * (1 + Math.abs(dxr)));
              gw2[j] += dy[i * N + j] * h;
            });
          });
          if (affine) for (let j = 0; j < N; j++) expect(Math.abs(DW2[j] - gw2[j])).toBeLessThan(1e-4 * (1 + Math.abs(gw2[j])));
          expectGuards(`norm ${be.name}`, y, dx);
          freeAll(xb, wb, bb, y, mean, rstd, dyb, dx, dw, db);
        }
      }
    }
  });
});

describe("adaptiveAvgPool2d kernels", () => {
  it("PyTorch's windows (floor/ceil bounds, overlapping when sizes do not divide) and the spread backward", () => {
    const g = new Generator(72);
    for (const be of BACKENDS) {
      for (const [H, W, OH, OW] of [
        [7, 9, 3, 4],
        [4, 4, 2, 2],
        [5, 3, 5, 3],
        [3, 5, 6, 7],
      ]) {
        const P = 2;
        const x = Float32Array.from({ length: P * H * W }, () => g.normal());
        const xb = alloc(be, x.length, x),
          y = alloc(be, P * OH * OW),
          dx = alloc(be, x.length, null, { pre: 19 });
        be.adaptiveAvgPool2d(y.ptr, xb.ptr, P, H, W, OH, OW);
        const dy = Float32Array.from({ length: P * OH * OW }, () => g.normal());
        const dyb = alloc(be, dy.length, dy);
        be.adaptiveAvgPool2dBackward(dx.ptr, dyb.ptr, P, H, W, OH, OW, false);
        const Y = read(y),
          DX = read(dx);
        const ref = new Float64Array(x.length);
        for (let p = 0; p < P; p++)
          for (let i = 0; i < OH; i++)
            for (let j = 0; j < OW; j++) {
              const y0 = Math.floor((i * H) / OH),
                y1 = Math.ceil(((i + 1) * H) / OH),
                x0 = Math.floor((j * W) / OW),
                x1 = Math.ceil(((j + 1) * W) / OW);
              let s = 0;
              for (let r = y0; r < y1; r++) for (let c = x0; c < x1; c++) s += x[(p * H + r) * W + c];
              const n = (y1 - y0) * (x1 - x0);
              expect(Y[(p * OH + i) * OW + j]).toBeCloseTo(s / n, 5);
              for (let r = y0; r < y1; r++) for (let c = x0; c < x1; c++) ref[(p * H + r) * W + c] += dy[(p * OH + i) * OW + j] / n;
            }
        ref.forEach((v, k) => expect(DX[k]).toBeCloseTo(v, 5));
        expectGuards(`adaptive ${be.name}`, y, dx);
        freeAll(xb, y, dx, dyb);
      }
    }
  });
});

describe("batch-norm kernels' channel range [c0, c1)", () => {
  it("computes exactly the channels of the range, with the bits of the whole call (both backends)", () => {
    const g = new Generator(73);
    const [N, C, S] = [3, 5, 7];
    const x = Float32Array.from({ length: N * C * S }, () => g.normal() * 2 + 0.5);
    const dy = Float32Array.from({ length: N * C * S }, () => g.normal());
    const stats = Float32Array.from({ length: 2 * C }, () => Math.abs(g.normal()) + 0.1);
    for (const be of BACKENDS) {
      // Every output starts at the sentinel: a range must leave the other channels' untouched.
      const run = (c0: number, c1: number) => {
        const xb = alloc(be, N * C * S, x),
          dyb = alloc(be, N * C * S, dy),
          st = alloc(be, 2 * C, stats);
        const mean = alloc(be, C, new Float32Array(C).fill(SENTINEL)),
          variance = alloc(be, C, new Float32Array(C).fill(SENTINEL)),
          bias = alloc(be, C, new Float32Array(C).fill(SENTINEL)),
          sums = alloc(be, 2 * C, new Float32Array(2 * C).fill(SENTINEL)),
          dx = alloc(be, N * C * S, new Float32Array(N * C * S).fill(SENTINEL));
        be.bnStats(mean.ptr, variance.ptr, xb.ptr, N, C, S, c0, c1);
        be.channelSum(bias.ptr, dyb.ptr, N, C, S, false, c0, c1);
        be.bnBackwardSums(sums.ptr, dyb.ptr, xb.ptr, st.ptr, st.ptr + 4 * C, N, C, S, c0, c1);
        be.bnBackwardDx(dx.ptr, dyb.ptr, xb.ptr, st.ptr, st.ptr + 4 * C, 0, st.ptr, N, C, S, true, c0, c1);
        const out = [read(mean), read(variance), read(bias), read(sums), read(dx)];
        freeAll(xb, dyb, st, mean, variance, bias, sums, dx);
        return out;
      };
      const whole = run(0, C);
      const part = run(1, 3);
      const inRange = (i: number, per: number) => {
        const c = Math.floor(i / per) % C;
        return c >= 1 && c < 3;
      };
      // mean, variance, bias: per channel; sums: [Σdy (C), Σdy·x̂ (C)]; dx: (N, C, S)
      const per = [1, 1, 1, 1, S];
      part.forEach((p, k) => {
        for (let i = 0; i < p.length; i++) expect(p[i], `${be.name} output ${k}[${i}]`).toBe(inRange(i, per[k]) ? whole[k][i] : SENTINEL);
      });
    }
  });
});
