// The plain-JS twin of assembly/indexing.ts: index select/add along a dim and strided
// gather/scatter-add. Each kernel's contract is documented once, on the AssemblyScript export.
import type { Kernels } from "../backend.js";
import type { JsMemory } from "./memory.js";
import { forEachElement } from "./strided.js";

/** Indexing as plain loops. */
export function indexingKernels({ f32, i32 }: JsMemory) {
  return {
    indexSelect(dst, src, index, outer, R, inner, n) {
      const I = i32();
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < n; j++) {
          const r = I[(index >>> 2) + j];
          for (let k = 0; k < inner; k++) I[(dst >>> 2) + (o * n + j) * inner + k] = I[(src >>> 2) + (o * R + r) * inner + k];
        }
      }
    },
    indexAdd(dst, src, index, outer, R, inner, n) {
      const F = f32(),
        I = i32();
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < n; j++) {
          const r = I[(index >>> 2) + j];
          for (let k = 0; k < inner; k++) F[(dst >>> 2) + (o * R + r) * inner + k] += F[(src >>> 2) + (o * n + j) * inner + k];
        }
      }
    },
    gather(dst, src, index, meta, nd, dimStride) {
      const I = i32();
      forEachElement(I, meta, nd, 3, ([d, s, x]) => {
        I[(dst >>> 2) + d] = I[(src >>> 2) + s + I[(index >>> 2) + x] * dimStride];
      });
    },
    scatterAdd(dst, src, index, meta, nd, dimStride) {
      const F = f32(),
        I = i32();
      forEachElement(I, meta, nd, 3, ([d, s, x]) => {
        F[(dst >>> 2) + d + I[(index >>> 2) + x] * dimStride] += F[(src >>> 2) + s];
      });
    },
    countOutOfRange(index, n, size) {
      const I = i32();
      let c = 0;
      for (let i = 0; i < n; i++) if (I[(index >>> 2) + i] < 0 || I[(index >>> 2) + i] >= size) c++;
      return c;
    },
    maskPositions(dst, mask, n) {
      const I = i32();
      let c = 0;
      for (let i = 0; i < n; i++) {
        if (I[(mask >>> 2) + i] !== 0) {
          if (dst) I[(dst >>> 2) + c] = i;
          c++;
        }
      }
      return c;
    },
  } satisfies Pick<Kernels, "indexSelect" | "indexAdd" | "gather" | "scatterAdd" | "countOutOfRange" | "maskPositions">;
}
