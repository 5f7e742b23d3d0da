// Reductions (assembly/reduce.ts): wasm SIMD and the plain-JS reference, on seeded random data over odd and aligned
// sizes, against float64 references (or bit-exactly, where the result is one IEEE operation).
import { describe, expect, it } from "vitest";
import type { Backend, GemmForm } from "../../src/backend/index.js";
import { Generator } from "../../src/random.js";
import { BACKENDS, LENGTHS, ODD, SENTINEL, U, alloc, expectBitwise, expectClose, expectGuards, f32, freeAll, mismatch, randArray, randLabels, read, readI32 } from "./buffers.js";

// ---- reductions -------------------------------------------------------------------------------

describe("reductions", () => {
  it("sum is accumulated in float64", () => {
    const g = new Generator(20);
    for (const n of [...LENGTHS, 0, 100003]) {
      const X = randArray(g, n, -1, 1);
      if (n > 0) X[0] = 1e7; // a large term: a float32 accumulator would lose the small ones
      let ref = 0, mag = 0;
      for (let i = 0; i < n; i++) { ref += X[i]; mag += Math.abs(X[i]); }
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
        const X = randArray(g, M * N, -2, 2), D0 = randArray(g, N, -2, 2);
        for (const acc of [false, true]) {
          const ref = new Float64Array(N), mag = new Float64Array(N);
          for (let j = 0; j < N; j++) {
            ref[j] = acc ? D0[j] : 0;
            mag[j] = Math.abs(ref[j]);
            for (let i = 0; i < M; i++) { ref[j] += X[i * N + j]; mag[j] += Math.abs(X[i * N + j]); }
          }
          for (const be of BACKENDS) {
            const x = alloc(be, M * N, X), d = alloc(be, N, D0, { pre: 18 });
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
        let r = plain(); r[N - 1] = 9; r[Math.floor(N / 2)] = 9; rows.push(r); // tie: the earlier
        r = plain(); r[0] = NaN; rows.push(r);
        r = plain(); r[N - 1] = NaN; rows.push(r);
        r = plain(); r[N - 1] = NaN; r[Math.floor((N - 1) / 2)] = NaN; rows.push(r);
        r = plain(); r[0] = 100; r[N - 1] = NaN; rows.push(r); // NaN after the maximum still wins
        r = plain(); r[N - 1] = Infinity; rows.push(r);
        r = new Float32Array(N).fill(-1); r[0] = -0; r[N - 1] = 0; rows.push(r); // -0 == +0: first
        r = new Float32Array(N).fill(-Infinity); r[N - 1] = -3e38; rows.push(r);
      } else {
        rows.push(new Float32Array([NaN]));
      }
      const M = rows.length;
      const X = new Float32Array(M * N);
      rows.forEach((r, i) => X.set(r, i * N));
      const ref = rows.map(argmaxRef);
      for (const be of BACKENDS) {
        const x = alloc(be, M * N, X), d = alloc(be, M, null, { pre: 17 });
        be.argmaxRows(d.ptr, x.ptr, M, N);
        expect(Array.from(readI32(d)), `argmaxRows ${be.name} N=${N}`).toEqual(ref);
        expectGuards(`argmaxRows ${be.name}`, d);
        freeAll(x, d);
      }
    }
  });
});
