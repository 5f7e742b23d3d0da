// The plain-JS walk over strided operands, the reference for assembly/strided.ts: reads the
// same meta block ([shape (nd), strides of each of k operands (nd each), scratch]) and calls
// `visit` with every element's offsets, in row-major order of the shape.

/** Calls visit(offsets) for each element; offsets[j] is operand j's element offset. */
export function forEachElement(i32: Int32Array, meta: number, nd: number, k: number, visit: (offsets: readonly number[]) => void): void {
  const m = meta >>> 2;
  const shape = Array.from(i32.subarray(m, m + nd));
  const strides = Array.from({ length: k }, (_, j) => Array.from(i32.subarray(m + nd * (j + 1), m + nd * (j + 2))));
  const total = shape.reduce((a, b) => a * b, 1);
  const index = new Array<number>(nd).fill(0);
  const offsets = new Array<number>(k).fill(0);
  for (let e = 0; e < total; e++) {
    for (let j = 0; j < k; j++) {
      let o = 0;
      for (let d = 0; d < nd; d++) o += index[d] * strides[j][d];
      offsets[j] = o;
    }
    visit(offsets);
    for (let d = nd - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
}
