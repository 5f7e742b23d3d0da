// Indexing kernels (assembly/indexing.ts): index select/add along a dim, strided gather and
// scatter-add, the range scan and mask positions, against references indexing here, on both
// backends with guard cells.
import { describe, expect, it } from "vitest";
import { contiguousStrides, stridedMeta } from "../../src/layout.js";
import { Generator } from "../../src/random.js";
import { BACKENDS, alloc, expectBitwise, expectGuards, freeAll, read, readI32 } from "./buffers.js";

describe("indexing kernels", () => {
  it("indexSelect copies rows (any bits) and indexAdd adds them back in order, repeats summed", () => {
    const g = new Generator(61);
    for (const be of BACKENDS) {
      for (const [outer, R, inner, n] of [
        [1, 5, 3, 7],
        [2, 4, 1, 3],
        [3, 2, 9, 0],
        [1, 1, 5, 4],
      ]) {
        const x = Float32Array.from({ length: outer * R * inner }, () => g.normal());
        const idx = Int32Array.from({ length: n }, () => g.randint(R));
        const xb = alloc(be, x.length, x),
          ib = alloc(be, n, idx, { int: true }),
          out = alloc(be, outer * n * inner, null, { pre: 19 });
        be.indexSelect(out.ptr, xb.ptr, ib.ptr, outer, R, inner, n);
        const ref = new Float32Array(outer * n * inner);
        for (let o = 0; o < outer; o++)
          for (let j = 0; j < n; j++) for (let k = 0; k < inner; k++) ref[(o * n + j) * inner + k] = x[(o * R + idx[j]) * inner + k];
        expectBitwise(`indexSelect ${be.name}`, read(out), ref);
        const acc = alloc(be, x.length, new Float32Array(x.length));
        be.indexAdd(acc.ptr, out.ptr, ib.ptr, outer, R, inner, n);
        const sum = new Float32Array(x.length);
        for (let o = 0; o < outer; o++)
          for (let j = 0; j < n; j++) for (let k = 0; k < inner; k++) sum[(o * R + idx[j]) * inner + k] += ref[(o * n + j) * inner + k];
        expectBitwise(`indexAdd ${be.name}`, read(acc), sum);
        expectGuards(`indexing ${be.name}`, out, acc);
        freeAll(xb, ib, out, acc);
      }
    }
  });

  it("gather and scatterAdd along each dim of a 3-D tensor, with a transposed (strided) index", () => {
    const g = new Generator(62);
    const shape = [3, 4, 5];
    for (const be of BACKENDS) {
      for (let d = 0; d < 3; d++) {
        const xs = contiguousStrides(shape);
        const x = Float32Array.from({ length: 60 }, () => g.normal());
        const ishape = shape.map((s, k) => (k === d ? 6 : s - 1));
        const icount = ishape.reduce((a, b) => a * b, 1);
        // The index stored transposed in its last two dims: strides (.., 1, rows).
        const istr = [ishape[1] * ishape[2], 1, ishape[1]];
        const idx = Int32Array.from({ length: icount }, () => g.randint(shape[d]));
        const xb = alloc(be, 60, x),
          ib = alloc(be, icount, idx, { int: true }),
          out = alloc(be, icount);
        const [meta, nd] = stridedMeta(be, ishape, [contiguousStrides(ishape), xs.map((s, k) => (k === d ? 0 : s)), istr]);
        be.gather(out.ptr, xb.ptr, ib.ptr, meta, nd, xs[d]);
        const ref = new Float32Array(icount);
        const at = (p: number[], st: number[]) => p.reduce((s, v, k) => s + v * st[k], 0);
        for (let i = 0; i < icount; i++) {
          const p = [Math.floor(i / (ishape[1] * ishape[2])), Math.floor(i / ishape[2]) % ishape[1], i % ishape[2]];
          const q = [...p];
          q[d] = idx[at(p, istr)];
          ref[i] = x[at(q, xs)];
        }
        expectBitwise(`gather dim ${d} ${be.name}`, read(out), ref);
        const acc = alloc(be, 60, new Float32Array(60));
        const [meta2, nd2] = stridedMeta(be, ishape, [xs.map((s, k) => (k === d ? 0 : s)), contiguousStrides(ishape), istr]);
        be.scatterAdd(acc.ptr, out.ptr, ib.ptr, meta2, nd2, xs[d]);
        const sum = new Float32Array(60);
        for (let i = 0; i < icount; i++) {
          const p = [Math.floor(i / (ishape[1] * ishape[2])), Math.floor(i / ishape[2]) % ishape[1], i % ishape[2]];
          const q = [...p];
          q[d] = idx[at(p, istr)];
          sum[at(q, xs)] += ref[i];
        }
        expectBitwise(`scatterAdd dim ${d} ${be.name}`, read(acc), sum);
        freeAll(xb, ib, out, acc);
      }
    }
  });

  it("countOutOfRange and maskPositions", () => {
    for (const be of BACKENDS) {
      const v = [0, 3, -1, 4, 2, 5, 4];
      const b = alloc(be, v.length, v, { int: true }),
        d = alloc(be, v.length, null, { int: true });
      expect(be.countOutOfRange(b.ptr, v.length, 4)).toBe(4);
      expect(be.countOutOfRange(b.ptr, v.length, 6)).toBe(1);
      expect(be.maskPositions(0, b.ptr, v.length)).toBe(6);
      expect(be.maskPositions(d.ptr, b.ptr, v.length)).toBe(6);
      expect(Array.from(readI32(d)).slice(0, 6)).toEqual([1, 2, 3, 4, 5, 6]);
      freeAll(b, d);
    }
  });
});
