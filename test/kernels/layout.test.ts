// Layout and strided kernels (assembly/layout.ts, assembly/elementwise.ts's broadcasting ops,
// assembly/strided.ts's walk): random shapes of 1 to 8 dims with random strides (including 0 for
// broadcast dims and merged/unmerged neighbours), checked element by element against a reference
// that indexes with Σ index·stride here, on both backends, with guard cells around outputs.
import { describe, expect, it } from "vitest";
import { BinaryOp } from "../../src/backend/kernel-exports.generated.js";
import type { Backend } from "../../src/backend/index.js";
import { contiguousStrides, stridedMeta } from "../../src/layout.js";
import { Generator } from "../../src/random.js";
import { BACKENDS, alloc, expectBitwise, expectGuards, freeAll, read, readI32 } from "./buffers.js";

interface Layout {
  shape: number[];
  strides: number[];
  /** elements the strided operand spans in memory */
  span: number;
}

/** A random shape of nd dims and a random strided layout of it (permuted, padded, broadcast). */
function randomLayout(g: Generator, shape: number[], broadcast: boolean): Layout {
  const nd = shape.length;
  const order = shape.map((_, i) => i);
  for (let i = nd - 1; i > 0; i--) {
    const j = g.randint(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const strides = new Array<number>(nd).fill(0);
  let acc = 1;
  for (const d of order.reverse()) {
    if (broadcast && g.random() < 0.3) {
      strides[d] = 0;
      continue;
    }
    strides[d] = acc;
    acc *= shape[d] + (g.random() < 0.3 ? g.randint(3) : 0);
  }
  const span = shape.reduce((s, n, d) => s + (n - 1) * strides[d], 0) + 1;
  return { shape, strides, span };
}

function randomShape(g: Generator): number[] {
  const nd = 1 + g.randint(8);
  const shape: number[] = [];
  for (let i = 0; i < nd; i++) shape.push(1 + g.randint(nd > 4 ? 3 : 5));
  return shape;
}

/** Σ index·stride for the flat row-major position `flat` of `shape`. */
function offsetOf(flat: number, shape: readonly number[], strides: readonly number[]): number {
  let o = 0;
  for (let d = shape.length - 1; d >= 0; d--) {
    o += (flat % shape[d]) * strides[d];
    flat = Math.floor(flat / shape[d]);
  }
  return o;
}

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

describe("copyStrided", () => {
  it("copies any strided layout into dense order and back into a strided destination", () => {
    const g = new Generator(31);
    for (let trial = 0; trial < 120; trial++) {
      const shape = randomShape(g);
      const src = randomLayout(g, shape, true);
      const dstL = randomLayout(g, shape, false);
      const values = Float32Array.from({ length: src.span }, () => g.normal());
      for (const be of BACKENDS) {
        const s = alloc(be, src.span, values);
        const d = alloc(be, dstL.span, new Float32Array(dstL.span), { pre: 17 });
        const [meta, nd] = stridedMeta(be, shape, [dstL.strides, src.strides]);
        be.copyStrided(d.ptr, s.ptr, meta, nd);
        const got = read(d);
        // Elements the destination layout does not cover keep the buffer's initial zeros.
        const ref = new Float32Array(dstL.span);
        for (let i = 0; i < numel(shape); i++) ref[offsetOf(i, shape, dstL.strides)] = values[offsetOf(i, shape, src.strides)];
        expectBitwise(`copyStrided ${be.name} shape [${shape}] src strides [${src.strides}] dst strides [${dstL.strides}]`, got, ref);
        expectGuards(`copyStrided ${be.name}`, d);
        freeAll(s, d);
      }
    }
  });

  it("moves bits, not values: int32 and NaN payloads survive", () => {
    for (const be of BACKENDS) {
      const n = 13;
      const bits = Int32Array.from({ length: n }, (_, i) => (i * 0x7fc00001) | 0);
      const s = alloc(be, n, bits, { int: true });
      const d = alloc(be, n);
      const [meta, nd] = stridedMeta(be, [n], [[1], [1]]);
      be.copyStrided(d.ptr, s.ptr, meta, nd);
      expect(Array.from(readI32(d))).toEqual(Array.from(bits));
      freeAll(s, d);
    }
  });
});

describe("binaryStrided and whereStrided", () => {
  const FLOAT_OPS: [number, (a: number, b: number) => number][] = [
    [BinaryOp.Add, (a, b) => a + b],
    [BinaryOp.Sub, (a, b) => a - b],
    [BinaryOp.Mul, (a, b) => a * b],
    [BinaryOp.Div, (a, b) => a / b],
    [BinaryOp.Maximum, (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b))],
    [BinaryOp.Minimum, (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b))],
    [BinaryOp.Eq, (a, b) => +(a === b)],
    [BinaryOp.Ne, (a, b) => +(a !== b)],
    [BinaryOp.Lt, (a, b) => +(a < b)],
    [BinaryOp.Le, (a, b) => +(a <= b)],
    [BinaryOp.Gt, (a, b) => +(a > b)],
    [BinaryOp.Ge, (a, b) => +(a >= b)],
  ];
  const INT_OPS: [number, (a: number, b: number) => number][] = [
    [BinaryOp.Add, (a, b) => (a + b) | 0],
    [BinaryOp.Sub, (a, b) => (a - b) | 0],
    [BinaryOp.Mul, (a, b) => Math.imul(a, b)],
    [BinaryOp.Maximum, Math.max],
    [BinaryOp.Minimum, Math.min],
    [BinaryOp.Eq, (a, b) => +(a === b)],
    [BinaryOp.Lt, (a, b) => +(a < b)],
    [BinaryOp.Ge, (a, b) => +(a >= b)],
    [BinaryOp.And, (a, b) => a & b],
    [BinaryOp.Or, (a, b) => a | b],
    [BinaryOp.Xor, (a, b) => a ^ b],
  ];

  function check(be: Backend, g: Generator, op: number, ref: (a: number, b: number) => number, isInt: boolean, shape: number[]): void {
    const la = randomLayout(g, shape, true),
      lb = randomLayout(g, shape, true);
    const pick = () => (isInt ? g.randint(7) - 3 : ([NaN, 0, -0, 1.5, -2][g.randint(5)] ?? 0));
    const va = Float32Array.from({ length: la.span }, () => (g.random() < 0.1 ? pick() : isInt ? g.randint(200) - 100 : g.normal()));
    const vb = Float32Array.from({ length: lb.span }, () => (g.random() < 0.1 ? pick() : isInt ? g.randint(200) - 100 : g.normal()));
    const a = alloc(be, la.span, isInt ? Int32Array.from(va) : va, { int: isInt });
    const b = alloc(be, lb.span, isInt ? Int32Array.from(vb) : vb, { int: isInt });
    const n = numel(shape);
    const d = alloc(be, n, null, { pre: 19 });
    const [meta, nd] = stridedMeta(be, shape, [contiguousStrides(shape), la.strides, lb.strides]);
    be.binaryStrided(op, d.ptr, a.ptr, b.ptr, meta, nd, isInt);
    const intOut = isInt || op >= BinaryOp.Eq;
    const got = intOut ? readI32(d) : read(d);
    const A = isInt ? readI32(a) : read(a),
      B = isInt ? readI32(b) : read(b);
    for (let i = 0; i < n; i++) {
      const r = ref(A[offsetOf(i, shape, la.strides)], B[offsetOf(i, shape, lb.strides)]);
      const want = intOut ? r : Math.fround(r);
      if (!Object.is(got[i], want) && !(Number.isNaN(got[i]) && Number.isNaN(want))) {
        expect.fail(
          `binaryStrided op ${op} ${isInt ? "int" : "float"} ${be.name} shape [${shape}] strides [${la.strides}] / [${lb.strides}]: [${i}] = ${got[i]}, expected ${want}`,
        );
      }
    }
    expectGuards(`binaryStrided ${be.name}`, d);
    freeAll(a, b, d);
  }

  it("every float32 op over broadcast and strided operands (SIMD and scalar paths)", () => {
    const g = new Generator(32);
    for (const be of BACKENDS) {
      for (const [op, ref] of FLOAT_OPS) {
        for (let t = 0; t < 12; t++) check(be, g, op, ref, false, randomShape(g));
        // Long rows hit the f32x4 loops: contiguous, broadcast-left, broadcast-right.
        check(be, g, op, ref, false, [3, 37]);
        check(be, g, op, ref, false, [1001]);
      }
    }
  });

  it("every int32 op", () => {
    const g = new Generator(33);
    for (const be of BACKENDS) {
      for (const [op, ref] of INT_OPS) {
        for (let t = 0; t < 10; t++) check(be, g, op, ref, true, randomShape(g));
        check(be, g, op, ref, true, [2, 45]);
      }
    }
  });

  it("whereStrided selects 4-byte elements by a broadcast condition", () => {
    const g = new Generator(34);
    for (const be of BACKENDS) {
      for (let t = 0; t < 30; t++) {
        const shape = t < 3 ? [77] : randomShape(g);
        const [lc, la, lb] = [randomLayout(g, shape, true), randomLayout(g, shape, true), randomLayout(g, shape, true)];
        const c = alloc(
          be,
          lc.span,
          Int32Array.from({ length: lc.span }, () => g.randint(3) - 1),
          { int: true },
        );
        const a = alloc(
          be,
          la.span,
          Float32Array.from({ length: la.span }, () => g.normal()),
        );
        const b = alloc(
          be,
          lb.span,
          Float32Array.from({ length: lb.span }, () => g.normal()),
        );
        const n = numel(shape);
        const d = alloc(be, n);
        const [meta, nd] = stridedMeta(be, shape, [contiguousStrides(shape), lc.strides, la.strides, lb.strides]);
        be.whereStrided(d.ptr, c.ptr, a.ptr, b.ptr, meta, nd);
        const C = readI32(c),
          A = read(a),
          B = read(b),
          got = read(d);
        for (let i = 0; i < n; i++) {
          const want = C[offsetOf(i, shape, lc.strides)] !== 0 ? A[offsetOf(i, shape, la.strides)] : B[offsetOf(i, shape, lb.strides)];
          expect(got[i], `where ${be.name} shape [${shape}] [${i}]`).toBe(want);
        }
        expectGuards(`where ${be.name}`, d);
        freeAll(c, a, b, d);
      }
    }
  });
});

describe("cast and triangle", () => {
  it("casts with PyTorch's rules: toward zero, saturating, NaN → 0; bool is ≠ 0", () => {
    const floats = [0, -0, 1.9, -1.9, 2.5, -2.5, 3e9, -3e9, NaN, Infinity, -Infinity, 1e-40, 0.5];
    const ints = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 16777217, 7];
    for (const be of BACKENDS) {
      const fb = alloc(be, floats.length, floats),
        ib = alloc(be, ints.length, ints, { int: true });
      const o1 = alloc(be, floats.length),
        o2 = alloc(be, ints.length),
        o3 = alloc(be, floats.length),
        o4 = alloc(be, ints.length);
      be.cast(o1.ptr, fb.ptr, floats.length, 0);
      be.cast(o2.ptr, ib.ptr, ints.length, 1);
      be.cast(o3.ptr, fb.ptr, floats.length, 2);
      be.cast(o4.ptr, ib.ptr, ints.length, 3);
      expect(Array.from(readI32(o1))).toEqual([0, 0, 1, -1, 2, -2, 2147483647, -2147483648, 0, 2147483647, -2147483648, 0, 0]);
      expect(Array.from(read(o2))).toEqual(ints.map(Math.fround));
      expect(Array.from(readI32(o3))).toEqual([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
      expect(Array.from(readI32(o4))).toEqual([0, 1, 1, 1, 1, 1, 1]);
      expectGuards(`cast ${be.name}`, o1, o2, o3, o4);
      freeAll(fb, ib, o1, o2, o3, o4);
    }
  });

  it("triangle keeps j - i ≤ k (lower) or ≥ k (upper), in place or not", () => {
    const g = new Generator(35);
    for (const be of BACKENDS) {
      for (const [B, R, C] of [
        [1, 1, 1],
        [2, 3, 5],
        [3, 5, 2],
        [1, 7, 7],
      ]) {
        for (const k of [-8, -2, -1, 0, 1, 3, 9]) {
          for (const upper of [false, true]) {
            const n = B * R * C;
            const v = Float32Array.from({ length: n }, () => g.normal());
            const s = alloc(be, n, v),
              d = alloc(be, n);
            be.triangle(d.ptr, s.ptr, B, R, C, k, upper);
            const ref = v.map((x, idx) => {
              const j = idx % C,
                i = Math.floor(idx / C) % R;
              return (upper ? j - i >= k : j - i <= k) ? x : 0;
            });
            expectBitwise(`triangle ${be.name} ${B}x${R}x${C} k=${k} upper=${upper}`, read(d), ref);
            be.triangle(s.ptr, s.ptr, B, R, C, k, upper);
            expectBitwise(`triangle in place ${be.name}`, read(s), ref);
            expectGuards(`triangle ${be.name}`, d, s);
            freeAll(s, d);
          }
        }
      }
    }
  });
});
