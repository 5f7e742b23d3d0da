// Reductions (assembly/reduce.ts): wasm SIMD and the plain-JS reference, on seeded random data over odd and aligned
// sizes, against float64 references (or bit-exactly, where the result is one IEEE operation).
import { describe, expect, it } from "vitest";
import { Generator } from "../../src/random.js";
import { BACKENDS, LENGTHS, ODD, U, alloc, expectClose, expectGuards, freeAll, randArray, read, readI32 } from "./buffers.js";

// ---- reductions -------------------------------------------------------------------------------

describe("reductions", () => {
  it("sum is accumulated in float64", () => {
    const g = new Generator(20);
    for (const n of [...LENGTHS, 0, 100003]) {
      const X = randArray(g, n, -1, 1);
      if (n > 0) X[0] = 1e7; // a large term: a float32 accumulator would lose the small ones
      let ref = 0,
        mag = 0;
      for (let i = 0; i < n; i++) {
        ref += X[i];
        mag += Math.abs(X[i]);
      }
      for (const be of BACKENDS) {
        const x = alloc(be, n, X, { pre: 17 });
        const s = be.sum(x.ptr, n);
        expect(Math.abs(s - ref), `sum ${be.name} n=${n}: ${s} vs ${ref}`).toBeLessThanOrEqual(n * 2 ** -52 * mag);
        freeAll(x);
      }
    }
  });

  it("colSum, with and without accumulate", () => {
    const g = new Generator(21);
    for (const M of [1, 3, 17, 100]) {
      for (const N of [...ODD, 4, 33]) {
        const X = randArray(g, M * N, -2, 2),
          D0 = randArray(g, N, -2, 2);
        for (const acc of [false, true]) {
          const ref = new Float64Array(N),
            mag = new Float64Array(N);
          for (let j = 0; j < N; j++) {
            ref[j] = acc ? D0[j] : 0;
            mag[j] = Math.abs(ref[j]);
            for (let i = 0; i < M; i++) {
              ref[j] += X[i * N + j];
              mag[j] += Math.abs(X[i * N + j]);
            }
          }
          for (const be of BACKENDS) {
            const x = alloc(be, M * N, X),
              d = alloc(be, N, D0, { pre: 18 });
            be.colSum(d.ptr, x.ptr, M, N, acc);
            expectClose(`colSum ${be.name} ${M}x${N} acc=${acc}`, read(d), ref, (j) => 2 * (M + 1) * U * mag[j]);
            expectGuards(`colSum ${be.name}`, d);
            freeAll(x, d);
          }
        }
      }
    }
  });

  it("argmaxRows: first maximum; ties, NaN (the maximum, first one wins), infinities, ±0", () => {
    const g = new Generator(22);
    const argmaxRef = (row: Float32Array): number => {
      for (let j = 0; j < row.length; j++) if (Number.isNaN(row[j])) return j;
      let best = 0;
      for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
      return best;
    };
    for (const N of [...ODD, 4, 8]) {
      const rows: Float32Array[] = [];
      const plain = () => randArray(g, N, -5, 5);
      rows.push(plain());
      rows.push(new Float32Array(N).fill(2)); // all equal: 0
      rows.push(new Float32Array(N).fill(-Infinity));
      if (N > 1) {
        let r = plain();
        r[N - 1] = 9;
        r[Math.floor(N / 2)] = 9;
        rows.push(r); // tie: the earlier
        r = plain();
        r[0] = NaN;
        rows.push(r);
        r = plain();
        r[N - 1] = NaN;
        rows.push(r);
        r = plain();
        r[N - 1] = NaN;
        r[Math.floor((N - 1) / 2)] = NaN;
        rows.push(r);
        r = plain();
        r[0] = 100;
        r[N - 1] = NaN;
        rows.push(r); // NaN after the maximum still wins
        r = plain();
        r[N - 1] = Infinity;
        rows.push(r);
        r = new Float32Array(N).fill(-1);
        r[0] = -0;
        r[N - 1] = 0;
        rows.push(r); // -0 == +0: first
        r = new Float32Array(N).fill(-Infinity);
        r[N - 1] = -3e38;
        rows.push(r);
      } else {
        rows.push(new Float32Array([NaN]));
      }
      const M = rows.length;
      const X = new Float32Array(M * N);
      rows.forEach((r, i) => X.set(r, i * N));
      const ref = rows.map(argmaxRef);
      for (const be of BACKENDS) {
        const x = alloc(be, M * N, X),
          d = alloc(be, M, null, { pre: 17 });
        be.argmaxRows(d.ptr, x.ptr, M, N);
        expect(Array.from(readI32(d)), `argmaxRows ${be.name} N=${N}`).toEqual(ref);
        expectGuards(`argmaxRows ${be.name}`, d);
        freeAll(x, d);
      }
    }
  });
});

// ---- reductions along one dim of (outer, R, inner) ------------------------------------------------

import { ReduceOp } from "../../src/backend/kernel-exports.generated.js";

/** float64 reference of reduceDim's ops. */
function reduceRef(op: number, v: number[]): number {
  if (v.some(Number.isNaN) && op !== ReduceOp.Sum && op !== ReduceOp.Prod && op !== ReduceOp.SumAbs && op !== ReduceOp.SumSq) return NaN;
  switch (op) {
    case ReduceOp.Sum:
      return v.reduce((a, b) => a + b, 0);
    case ReduceOp.Prod:
      return v.reduce((a, b) => a * b, 1);
    case ReduceOp.Max:
      return v.reduce((a, b) => Math.max(a, b), -Infinity);
    case ReduceOp.Min:
      return v.reduce((a, b) => Math.min(a, b), Infinity);
    case ReduceOp.SumAbs:
      return v.reduce((a, b) => a + Math.abs(b), 0);
    case ReduceOp.MaxAbs:
      return v.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
    default:
      return v.reduce((a, b) => a + b * b, 0);
  }
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 1],
  [3, 1001, 1],
  [2, 5, 3],
  [2, 9, 4],
  [3, 4, 9],
  [1, 0, 5],
  [0, 3, 2],
  [4, 3, 1001],
];

describe("reductions along a dim", () => {
  it("reduceDim: every op, every (outer, R, inner) path, accumulate, against float64", () => {
    const g = new Generator(41);
    for (const be of BACKENDS) {
      for (const op of [ReduceOp.Sum, ReduceOp.Prod, ReduceOp.Max, ReduceOp.Min, ReduceOp.SumAbs, ReduceOp.MaxAbs, ReduceOp.SumSq]) {
        for (const [outer, R, inner] of SHAPES) {
          const n = outer * R * inner;
          const x = Float32Array.from({ length: n }, () => (op === ReduceOp.Prod ? g.uniform(0.5, 1.5) * (g.random() < 0.5 ? -1 : 1) : g.normal()));
          if (n > 3 && op !== ReduceOp.Prod) x[1] = NaN;
          const xb = alloc(be, n, x),
            d = alloc(be, outer * inner, null, { pre: 17 });
          be.reduceDim(op, d.ptr, xb.ptr, outer, R, inner, false);
          const got = read(d);
          for (let o = 0; o < outer; o++) {
            for (let j = 0; j < inner; j++) {
              const col = Array.from({ length: R }, (_, r) => x[(o * R + r) * inner + j]);
              const ref = reduceRef(op, col);
              const mag = col.reduce((a, b) => a + Math.abs(op === ReduceOp.SumSq ? b * b : b), 0);
              const ok = Number.isNaN(ref)
                ? Number.isNaN(got[o * inner + j])
                : !Number.isFinite(ref)
                  ? got[o * inner + j] === ref
                  : Math.abs(got[o * inner + j] - ref) <= 2 ** -23 * Math.max(Math.abs(ref), op === ReduceOp.Prod ? 0 : mag * 1e-6) + 1e-30;
              expect(ok, `reduceDim op ${op} ${be.name} (${outer}, ${R}, ${inner}) [${o}, ${j}]: ${got[o * inner + j]} vs ${ref}`).toBe(true);
            }
          }
          if (op === ReduceOp.Sum && n > 0) {
            // accumulate adds onto what is there
            const before = read(d);
            be.reduceDim(op, d.ptr, xb.ptr, outer, R, inner, true);
            const after = read(d);
            for (let i = 0; i < after.length; i++) if (!Number.isNaN(before[i])) expect(after[i]).toBeCloseTo(2 * before[i], 4);
          }
          expectGuards(`reduceDim ${be.name}`, d);
          freeAll(xb, d);
        }
      }
    }
  });

  it("argReduceDim: first extreme on ties, first NaN wins, values optional", () => {
    for (const be of BACKENDS) {
      for (const isMin of [false, true]) {
        // (2, 4, 3): ties in column 0, a NaN in column 1 of the second slab, -inf/+inf in column 2
        const x = [1, 5, -Infinity, 3, 2, Infinity, 3, 5, 0, 1, 5, 0, 2, 1, 4, 2, NaN, 4, 0, NaN, 9, 2, 1, -4];
        const xb = alloc(be, x.length, x),
          v = alloc(be, 6),
          idx = alloc(be, 6, null, { int: true });
        be.argReduceDim(v.ptr, idx.ptr, xb.ptr, 2, 4, 3, isMin);
        const ref = isMin
          ? [
              [0, 1, 0],
              [2, 1, 3],
            ]
          : [
              [1, 0, 1],
              [0, 1, 2],
            ];
        expect(Array.from(readI32(idx)), `${be.name} isMin=${isMin}`).toEqual(ref.flat());
        const vals = read(v);
        ref.flat().forEach((r, k) => {
          const o = Math.floor(k / 3),
            j = k % 3;
          expect(Object.is(vals[k], Math.fround(x[(o * 4 + r) * 3 + j])) || (Number.isNaN(vals[k]) && Number.isNaN(x[(o * 4 + r) * 3 + j]))).toBe(true);
        });
        be.argReduceDim(0, idx.ptr, xb.ptr, 1, 24, 1, isMin);
        expect(readI32(idx)[0]).toBe(16); // the first NaN, flat
        freeAll(xb, v, idx);
      }
    }
  });

  it("varDim, cumsumDim, scatterDim and prodBackward against float64", () => {
    const g = new Generator(42);
    for (const be of BACKENDS) {
      for (const [outer, R, inner] of [
        [1, 5, 1],
        [2, 7, 3],
        [3, 2, 5],
        [1, 1, 4],
      ]) {
        const n = outer * R * inner;
        const x = Float32Array.from({ length: n }, () => g.normal());
        x[0] = 0; // prodBackward must not divide by zero
        const xb = alloc(be, n, x),
          o = alloc(be, outer * inner),
          m = alloc(be, outer * inner),
          y = alloc(be, n),
          gb = alloc(
            be,
            outer * inner,
            Float32Array.from({ length: outer * inner }, () => g.normal()),
          );
        const idx = alloc(
          be,
          outer * inner,
          Int32Array.from({ length: outer * inner }, () => g.randint(R)),
          { int: true },
        );
        for (const correction of [0, 1]) {
          be.varDim(o.ptr, m.ptr, xb.ptr, outer, R, inner, correction);
          const got = read(o),
            gotMean = read(m);
          for (let a = 0; a < outer; a++)
            for (let j = 0; j < inner; j++) {
              const col = Array.from({ length: R }, (_, r) => x[(a * R + r) * inner + j]);
              const mean = col.reduce((s, v) => s + v, 0) / R;
              const v = col.reduce((s, c) => s + (c - mean) ** 2, 0) / (R - correction);
              if (R - correction > 0) expect(got[a * inner + j]).toBeCloseTo(v, 5);
              else expect(Number.isNaN(got[a * inner + j]) || !Number.isFinite(got[a * inner + j])).toBe(true);
              expect(gotMean[a * inner + j]).toBeCloseTo(mean, 6);
            }
        }
        for (const reverse of [false, true]) {
          be.cumsumDim(y.ptr, xb.ptr, outer, R, inner, reverse);
          const got = read(y);
          for (let a = 0; a < outer; a++)
            for (let j = 0; j < inner; j++) {
              let s = 0;
              for (let k = 0; k < R; k++) {
                const r = reverse ? R - 1 - k : k;
                s += x[(a * R + r) * inner + j];
                expect(got[(a * R + r) * inner + j]).toBeCloseTo(s, 5);
              }
            }
        }
        be.scatterDim(y.ptr, gb.ptr, idx.ptr, outer, R, inner, false);
        const sc = read(y),
          G = read(gb),
          I = readI32(idx);
        for (let a = 0; a < outer; a++)
          for (let r = 0; r < R; r++)
            for (let j = 0; j < inner; j++) {
              expect(sc[(a * R + r) * inner + j]).toBe(I[a * inner + j] === r ? G[a * inner + j] : 0);
            }
        be.prodBackward(y.ptr, gb.ptr, xb.ptr, outer, R, inner);
        const pb = read(y);
        for (let a = 0; a < outer; a++)
          for (let r = 0; r < R; r++)
            for (let j = 0; j < inner; j++) {
              let p = 1;
              for (let k = 0; k < R; k++) if (k !== r) p *= x[(a * R + k) * inner + j];
              expect(pb[(a * R + r) * inner + j]).toBeCloseTo(p * G[a * inner + j], 5);
            }
        expectGuards(`reduce helpers ${be.name}`, o, m, y);
        freeAll(xb, o, m, y, gb, idx);
      }
    }
  });
});
