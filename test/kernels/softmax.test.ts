// Softmax, log-softmax and log-sum-exp along a dim of (outer, R, inner) (assembly/softmax.ts):
// both backends against float64 references, the row kernels (inner = 1) and the strided walk
// (inner > 1), extreme values and guard cells.
import { describe, expect, it } from "vitest";
import { Generator } from "../../src/random.js";
import { BACKENDS, alloc, expectGuards, freeAll, read } from "./buffers.js";

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [2, 7, 1],
  [3, 33, 1],
  [2, 5, 3],
  [1, 4, 9],
  [3, 1, 2],
];

function refSoftmax(col: number[], log: boolean): number[] {
  const m = Math.max(...col);
  const lse = m + Math.log(col.reduce((s, v) => s + Math.exp(v - m), 0));
  return col.map((v) => (log ? v - lse : Math.exp(v - lse)));
}

describe("softmax along a dim", () => {
  it("softmaxDim / softmaxDimBackward / logsumexpDim against float64", () => {
    const g = new Generator(51);
    for (const be of BACKENDS) {
      for (const [outer, R, inner] of SHAPES) {
        const n = outer * R * inner;
        const x = Float32Array.from({ length: n }, () => g.normal() * 5);
        const dy = Float32Array.from({ length: n }, () => g.normal());
        for (const log of [false, true]) {
          const xb = alloc(be, n, x),
            y = alloc(be, n),
            dyb = alloc(be, n, dy),
            dx = alloc(be, n, null, { pre: 18 }),
            l = alloc(be, outer * inner);
          be.softmaxDim(y.ptr, xb.ptr, outer, R, inner, log);
          be.softmaxDimBackward(dx.ptr, dyb.ptr, y.ptr, outer, R, inner, log);
          be.logsumexpDim(l.ptr, xb.ptr, outer, R, inner);
          const Y = read(y),
            DX = read(dx),
            L = read(l);
          for (let o = 0; o < outer; o++)
            for (let j = 0; j < inner; j++) {
              const at = (r: number) => (o * R + r) * inner + j;
              const col = Array.from({ length: R }, (_, r) => x[at(r)]);
              const ref = refSoftmax(col, log);
              const p = refSoftmax(col, false);
              const m = Math.max(...col);
              expect(L[o * inner + j]).toBeCloseTo(m + Math.log(col.reduce((s, v) => s + Math.exp(v - m), 0)), 4);
              const gcol = Array.from({ length: R }, (_, r) => dy[at(r)]);
              const s = log ? gcol.reduce((a, b) => a + b, 0) : gcol.reduce((a, b, r) => a + b * p[r], 0);
              for (let r = 0; r < R; r++) {
                expect(Math.abs(Y[at(r)] - ref[r]), `${be.name} y (${outer},${R},${inner}) log=${log}`).toBeLessThan(2e-6 * Math.max(1, Math.abs(ref[r])));
                const dref = log ? gcol[r] - p[r] * s : p[r] * (gcol[r] - s);
                expect(Math.abs(DX[at(r)] - dref), `${be.name} dx`).toBeLessThan(1e-5 * Math.max(1, Math.abs(dref)));
              }
            }
          expectGuards(`softmax ${be.name}`, y, dx, l);
          freeAll(xb, y, dyb, dx, l);
        }
      }
    }
  });

  it("extremes: ±inf and large values stay finite where they should, NaN propagates", () => {
    for (const be of BACKENDS) {
      const x = [1000, 0, -1000, -Infinity, Infinity, 1, NaN, 2, 3];
      const xb = alloc(be, 9, x),
        y = alloc(be, 9),
        l = alloc(be, 3);
      be.softmaxDim(y.ptr, xb.ptr, 3, 3, 1, false);
      be.logsumexpDim(l.ptr, xb.ptr, 3, 3, 1);
      const Y = read(y),
        L = read(l);
      expect(Array.from(Y.slice(0, 3))).toEqual([1, 0, 0]);
      expect(L[0]).toBe(1000);
      expect(L[1]).toBe(Infinity);
      expect(Number.isNaN(L[2])).toBe(true);
      expect(Y.slice(6).every(Number.isNaN)).toBe(true);
      freeAll(xb, y, l);
    }
  });
});
