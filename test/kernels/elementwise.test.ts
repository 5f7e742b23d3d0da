// Elementwise kernels (assembly/elementwise.ts): wasm SIMD and the plain-JS reference, on seeded random data over odd and aligned
// sizes, against float64 references (or bit-exactly, where the result is one IEEE operation).
import { describe, expect, it } from "vitest";
import { Generator } from "../../src/random.js";
import { BACKENDS, LENGTHS, ODD, U, alloc, expectBitwise, expectClose, expectGuards, f32, freeAll, randArray, read } from "./buffers.js";

// ---- elementwise ------------------------------------------------------------------------------

describe("elementwise kernels", () => {
  it("fill", () => {
    for (const be of BACKENDS) {
      for (const n of LENGTHS) {
        for (const value of [0, -0, 1.5, -3.25e-3, 0.1, NaN, Infinity]) {
          const d = alloc(be, n, null, { pre: 16 + (n % 4) });
          be.fill(d.ptr, n, value);
          expectBitwise(`fill ${be.name} n=${n} ${value}`, read(d), new Float32Array(n).fill(value));
          expectGuards(`fill ${be.name} n=${n}`, d);
          freeAll(d);
        }
      }
    }
  });

  it("copy: byte counts not a multiple of 4, overlapping regions both ways", () => {
    const g = new Generator(10);
    for (const be of BACKENDS) {
      for (const bytes of [1, 3, 4, 13, 64, 4005]) {
        for (const shift of [0, 3, -5, 64, -64]) {
          const len = bytes + 256;
          const src = new Uint8Array(len);
          for (let i = 0; i < len; i++) src[i] = g.randint(256);
          const base = be.heap.alloc(len + 256);
          const from = base + 128;
          const u8 = be.u8();
          u8.fill(0xa5, base, base + len + 256);
          u8.set(src, from);
          const expected = u8.slice(base, base + len + 256);
          expected.set(src.subarray(0, bytes), 128 + shift);
          be.copy(from + shift, from, bytes);
          expectBitwise(`copy ${be.name} ${bytes}B shift ${shift}`, be.u8().slice(base, base + len + 256), expected);
          be.heap.free(base);
        }
      }
    }
  });

  const binaryOps = [
    ["add", (a: number, b: number) => a + b],
    ["sub", (a: number, b: number) => a - b],
    ["mul", (a: number, b: number) => a * b],
  ] as const;

  it("add, sub, mul: correctly rounded float32, including aliasing dst = a", () => {
    const g = new Generator(11);
    for (const [name, op] of binaryOps) {
      for (const n of LENGTHS) {
        const A = randArray(g, n, -10, 10),
          B = randArray(g, n, -10, 10);
        const ref = A.map((v, i) => f32(op(v, B[i])));
        for (const be of BACKENDS) {
          const a = alloc(be, n, A, { pre: 17 }),
            b = alloc(be, n, B),
            d = alloc(be, n, null, { pre: 18 });
          be[name](d.ptr, a.ptr, b.ptr, n);
          expectBitwise(`${name} ${be.name} n=${n}`, read(d), ref);
          expectGuards(`${name} ${be.name} n=${n}`, d);
          be[name](a.ptr, a.ptr, b.ptr, n);
          expectBitwise(`${name} in place ${be.name} n=${n}`, read(a), ref);
          expectGuards(`${name} in place ${be.name} n=${n}`, a);
          freeAll(a, b, d);
        }
      }
    }
  });

  it("affine and axpy", () => {
    const g = new Generator(12);
    for (const n of LENGTHS) {
      for (const [s, t] of [
        [1, 0],
        [-1, 0],
        [0.1, -0.3],
        [2.5, 1e-3],
        [1 / 3, 0],
      ]) {
        const A = randArray(g, n, -5, 5),
          D = randArray(g, n, -5, 5);
        const affRef = Array.from(A, (v) => v * s + t);
        const axpyRef = Array.from(D, (v, i) => v + s * A[i]);
        // a·s and its sum: a few roundings each, s itself possibly rounded to float32.
        const tolAff = (i: number) => 4 * U * (Math.abs(A[i] * s) + Math.abs(t)) + 1e-30;
        const tolAxpy = (i: number) => 4 * U * (Math.abs(A[i] * s) + Math.abs(D[i])) + 1e-30;
        for (const be of BACKENDS) {
          const a = alloc(be, n, A),
            d = alloc(be, n, null, { pre: 19 });
          be.affine(d.ptr, a.ptr, s, t, n);
          expectClose(`affine ${be.name} n=${n} s=${s} t=${t}`, read(d), affRef, tolAff);
          expectGuards(`affine ${be.name}`, d);
          be.affine(a.ptr, a.ptr, s, t, n);
          expectClose(`affine in place ${be.name} n=${n}`, read(a), affRef, tolAff);
          freeAll(a, d);
          const x = alloc(be, n, A),
            y = alloc(be, n, D, { pre: 17 });
          be.axpy(y.ptr, x.ptr, s, n);
          expectClose(`axpy ${be.name} n=${n} alpha=${s}`, read(y), axpyRef, tolAxpy);
          expectGuards(`axpy ${be.name}`, y);
          expectBitwise(`axpy x unchanged ${be.name}`, read(x), A);
          freeAll(x, y);
        }
      }
    }
  });

  it("rowwise modes 0 (add), 1 (multiply), 2 (subtract)", () => {
    const g = new Generator(13);
    const ops = [(a: number, r: number) => a + r, (a: number, r: number) => a * r, (a: number, r: number) => a - r];
    for (const M of [1, 3, 5]) {
      for (const N of [...ODD, 8]) {
        const A = randArray(g, M * N, -4, 4),
          R = randArray(g, N, -4, 4);
        for (const mode of [0, 1, 2] as const) {
          const ref = A.map((v, i) => f32(ops[mode](v, R[i % N])));
          for (const be of BACKENDS) {
            const a = alloc(be, M * N, A),
              r = alloc(be, N, R, { pre: 17 }),
              d = alloc(be, M * N, null, { pre: 18 });
            be.rowwise(d.ptr, a.ptr, r.ptr, M, N, mode);
            expectBitwise(`rowwise mode ${mode} ${be.name} ${M}x${N}`, read(d), ref);
            expectGuards(`rowwise ${be.name}`, d);
            freeAll(a, r, d);
          }
        }
      }
    }
  });

  it("relu: max(x, 0), NaN stays NaN, -0 gives +0, infinities and subnormals", () => {
    const g = new Generator(14);
    const specials = [NaN, -0, 0, -Infinity, Infinity, 1e-40, -1e-40, -1, 1, 3.4e38, -3.4e38];
    for (const n of LENGTHS) {
      // Random data, then every special at every position (SIMD body lanes and the scalar tail).
      const inputs = [randArray(g, n, -2, 2)];
      for (let off = 0; off < specials.length; off++) {
        inputs.push(Float32Array.from({ length: n }, (_, i) => specials[(i + off) % specials.length]));
      }
      for (const X of inputs) {
        const ref = X.map((v) => (Number.isNaN(v) ? NaN : Math.max(v, 0)));
        for (const be of BACKENDS) {
          const x = alloc(be, n, X),
            d = alloc(be, n, null, { pre: 17 });
          be.relu(d.ptr, x.ptr, n);
          expectBitwise(`relu ${be.name} n=${n} [${Array.from(X.subarray(0, 4))}...]`, read(d), ref);
          expectGuards(`relu ${be.name}`, d);
          freeAll(x, d);
        }
      }
    }
  });

  it("reluBackward: dy where y > 0, else 0 (also for NaN y); NaN dy passes where y > 0", () => {
    const g = new Generator(15);
    // (y, dy) pairs placed at every position: NaN y, zero y, subnormal y, NaN dy, -0 dy.
    const pairs = [
      [NaN, 1],
      [0, 2],
      [-0, -2],
      [1e-40, 3],
      [0.5, NaN],
      [0.25, -0],
      [0, NaN],
      [2, -1.5],
    ];
    for (const n of LENGTHS)
      for (let off = 0; off <= pairs.length; off++) {
        const Y = randArray(g, n, -1, 1).map((v) => Math.max(v, 0));
        const DY = randArray(g, n, -3, 3);
        if (off < pairs.length) {
          for (let i = 0; i < n; i++) [Y[i], DY[i]] = pairs[(i + off) % pairs.length];
        }
        const ref = DY.map((v, i) => (Y[i] > 0 ? v : 0));
        for (const be of BACKENDS) {
          const y = alloc(be, n, Y),
            dy = alloc(be, n, DY, { pre: 19 }),
            dx = alloc(be, n, null, { pre: 17 });
          be.reluBackward(dx.ptr, dy.ptr, y.ptr, n);
          expectBitwise(`reluBackward ${be.name} n=${n}`, read(dx), ref);
          expectGuards(`reluBackward ${be.name}`, dx);
          freeAll(y, dy, dx);
        }
      }
  });
});

describe("scalar arguments", () => {
  it("affine and axpy give the same bits on both backends for scalars that are not float32", () => {
    const g = new Generator(17);
    const src = Float32Array.from({ length: 1001 }, () => g.normal() * 7);
    const results = BACKENDS.map((be) => {
      const a = alloc(be, src.length, src);
      const d = alloc(be, src.length);
      be.affine(d.ptr, a.ptr, 1 / 3, Math.PI, src.length);
      be.axpy(d.ptr, a.ptr, Math.E / 10, src.length);
      const out = read(d);
      freeAll(a, d);
      return Array.from(out);
    });
    expect(results[1]).toEqual(results[0]);
  });
});
