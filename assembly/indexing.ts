import { innerStride, metaAt, nextRow, rowOffset, startRows } from "./strided";

// Indexing kernels: rows picked by an int32 index along one dim of (outer, R, inner), their
// scatter-add backward, and gather/scatter-add over strided operands. Indices are checked by the
// caller (0 ≤ index < size of the indexed dim) before any call. Elements are 4 bytes of any dtype
// for the copies; the adds are float32.

// dst (outer, n, inner) = src (outer, R, inner) at rows index[j] (int32, n of them) along R
export function indexSelect(dst: usize, src: usize, index: usize, outer: i32, R: i32, inner: i32, n: i32): void {
  const rowB = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const s = src + <usize>o * <usize>R * rowB, d = dst + <usize>o * <usize>n * rowB;
    for (let j = 0; j < n; j++) {
      memory.copy(d + <usize>j * rowB, s + <usize>load<i32>(index + (<usize>j << 2)) * rowB, rowB);
    }
  }
}

// dst (outer, R, inner) += src (outer, n, inner) at rows index[j] along R, in order of j
// (repeated indices add up: the backward of indexSelect and of an embedding lookup)
export function indexAdd(dst: usize, src: usize, index: usize, outer: i32, R: i32, inner: i32, n: i32): void {
  const rowB = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const d0 = dst + <usize>o * <usize>R * rowB, s0 = src + <usize>o * <usize>n * rowB;
    for (let j = 0; j < n; j++) {
      const d = d0 + <usize>load<i32>(index + (<usize>j << 2)) * rowB, s = s0 + <usize>j * rowB;
      let k = 0;
      for (; k + 4 <= inner; k += 4) {
        const o4 = <usize>k << 2;
        v128.store(d + o4, f32x4.add(v128.load(d + o4), v128.load(s + o4)));
      }
      for (; k < inner; k++) {
        const o1 = <usize>k << 2;
        store<f32>(d + o1, load<f32>(d + o1) + load<f32>(s + o1));
      }
    }
  }
}

// dst = src gathered along one dim: over the index's shape, dst[i] = src at i with the indexed
// dim's coordinate replaced by index[i]: meta = [index shape (nd), dst strides, src strides (0 at
// the indexed dim), index strides, scratch (nd + 3)]; dimStride = src's stride along that dim
export function gather(dst: usize, src: usize, index: usize, meta: usize, nd: i32, dimStride: i32): void {
  const rows = startRows(meta, nd, 3);
  const n = metaAt(meta, nd - 1);
  const ds = innerStride(meta, nd, 0), ss = innerStride(meta, nd, 1), is = innerStride(meta, nd, 2);
  const step = <usize>dimStride << 2;
  for (let r = 0; r < rows; r++) {
    const d = dst + rowOffset(meta, nd, 3, 0), s = src + rowOffset(meta, nd, 3, 1), x = index + rowOffset(meta, nd, 3, 2);
    for (let i = 0; i < n; i++) {
      const k = <usize>load<i32>(x + (<usize>(i * is) << 2));
      store<u32>(d + (<usize>(i * ds) << 2), load<u32>(s + (<usize>(i * ss) << 2) + k * step));
    }
    nextRow(meta, nd, 3);
  }
}

// dst (float32) += src scattered along one dim: over the index's shape, dst at i with the indexed
// dim's coordinate replaced by index[i] += src[i] (in row-major order of i): meta = [index shape
// (nd), dst strides (0 at the indexed dim), src strides, index strides, scratch (nd + 3)];
// dimStride = dst's stride along that dim
export function scatterAdd(dst: usize, src: usize, index: usize, meta: usize, nd: i32, dimStride: i32): void {
  const rows = startRows(meta, nd, 3);
  const n = metaAt(meta, nd - 1);
  const ds = innerStride(meta, nd, 0), ss = innerStride(meta, nd, 1), is = innerStride(meta, nd, 2);
  const step = <usize>dimStride << 2;
  for (let r = 0; r < rows; r++) {
    const d = dst + rowOffset(meta, nd, 3, 0), s = src + rowOffset(meta, nd, 3, 1), x = index + rowOffset(meta, nd, 3, 2);
    for (let i = 0; i < n; i++) {
      const k = <usize>load<i32>(x + (<usize>(i * is) << 2));
      const at = d + (<usize>(i * ds) << 2) + k * step;
      store<f32>(at, load<f32>(at) + load<f32>(s + (<usize>(i * ss) << 2)));
    }
    nextRow(meta, nd, 3);
  }
}

// Number of int32 indices among index (n) outside [0, size): 0 means all are valid
export function countOutOfRange(index: usize, n: i32, size: i32): i32 {
  let c = 0;
  for (let i = 0; i < n; i++) {
    const v = load<i32>(index + (<usize>i << 2));
    if (v < 0 || v >= size) c++;
  }
  return c;
}

// The positions i (int32, ascending) where mask[i] ≠ 0, written to dst unless dst is 0;
// returns how many there are (a bool mask turned into indices)
export function maskPositions(dst: usize, mask: usize, n: i32): i32 {
  let c = 0;
  for (let i = 0; i < n; i++) {
    if (load<i32>(mask + (<usize>i << 2)) != 0) {
      if (dst != 0) store<i32>(dst + (<usize>c << 2), i);
      c++;
    }
  }
  return c;
}
