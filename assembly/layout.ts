import { innerStride, metaAt, nextRow, rowOffset, startRows } from "./strided";

// Layout kernels: strided copies (a view made contiguous, cat, an expanded tensor materialised,
// a write into a view), dtype casts and triangular masks. Elements are 4 bytes of any dtype
// (float32, int32, bool stored as int32 0/1), so copies move bits and never round.

// dst ← src over `shape`, both strided: meta = [shape (nd), dst strides (nd), src strides (nd),
// scratch (nd + 2)] (see assembly/strided.ts)
export function copyStrided(dst: usize, src: usize, meta: usize, nd: i32): void {
  const rows = startRows(meta, nd, 2);
  const n = metaAt(meta, nd - 1);
  const ds = innerStride(meta, nd, 0), ss = innerStride(meta, nd, 1);
  for (let r = 0; r < rows; r++) {
    copyRow(dst + rowOffset(meta, nd, 2, 0), src + rowOffset(meta, nd, 2, 1), n, ds, ss);
    nextRow(meta, nd, 2);
  }
}

@inline function copyRow(d: usize, s: usize, n: i32, ds: i32, ss: i32): void {
  if (ds == 1 && ss == 1) {
    memory.copy(d, s, <usize>n << 2);
  } else if (ds == 1 && ss == 0) {
    const v = load<u32>(s), vv = i32x4.splat(v);
    let i = 0;
    for (; i + 4 <= n; i += 4) v128.store(d + (<usize>i << 2), vv);
    for (; i < n; i++) store<u32>(d + (<usize>i << 2), v);
  } else {
    const dstep = <usize>ds << 2, sstep = <usize>ss << 2;
    for (let i = 0; i < n; i++) {
      store<u32>(d, load<u32>(s));
      d += dstep;
      s += sstep;
    }
  }
}

// dst (n) = src (n) converted: mode 0 float32 → int32 (toward zero, saturating, NaN → 0),
// 1 int32 → float32 (round to nearest even), 2 float32 → bool (x ≠ 0; NaN is true),
// 3 int32 → bool (x ≠ 0)
export function cast(dst: usize, src: usize, n: i32, mode: i32): void {
  let i = 0;
  if (mode == 0) {
    for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), i32x4.trunc_sat_f32x4_s(v128.load(src + (<usize>i << 2))));
    for (; i < n; i++) store<i32>(dst + (<usize>i << 2), <i32>load<f32>(src + (<usize>i << 2)));
  } else if (mode == 1) {
    for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), f32x4.convert_i32x4_s(v128.load(src + (<usize>i << 2))));
    for (; i < n; i++) store<f32>(dst + (<usize>i << 2), <f32>load<i32>(src + (<usize>i << 2)));
  } else if (mode == 2) {
    const one = i32x4.splat(1), zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const x = v128.load(src + (<usize>i << 2));
      v128.store(dst + (<usize>i << 2), v128.and(v128.not(f32x4.eq(x, zero)), one));
    }
    for (; i < n; i++) {
      const x = load<f32>(src + (<usize>i << 2));
      store<i32>(dst + (<usize>i << 2), x != 0 ? 1 : 0);
    }
  } else {
    const one = i32x4.splat(1), zero = i32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const x = v128.load(src + (<usize>i << 2));
      v128.store(dst + (<usize>i << 2), v128.and(v128.not(i32x4.eq(x, zero)), one));
    }
    for (; i < n; i++) store<i32>(dst + (<usize>i << 2), load<i32>(src + (<usize>i << 2)) != 0 ? 1 : 0);
  }
}

// dst (B, R, C) = src where the element is in the triangle, else 0 (any dtype): lower (tril)
// keeps j - i ≤ k, upper (triu) keeps j - i ≥ k. dst may alias src.
export function triangle(dst: usize, src: usize, B: i32, R: i32, C: i32, k: i32, upper: bool): void {
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < R; i++) {
      const row = (<usize>(b * R + i) * <usize>C) << 2;
      // Columns [lo, hi) are kept.
      let lo = upper ? i + k : 0;
      let hi = upper ? C : i + k + 1;
      if (lo < 0) lo = 0;
      if (lo > C) lo = C;
      if (hi > C) hi = C;
      if (hi < lo) hi = lo;
      for (let j = 0; j < lo; j++) store<u32>(dst + row + (<usize>j << 2), 0);
      if (dst != src) memory.copy(dst + row + (<usize>lo << 2), src + row + (<usize>lo << 2), <usize>(hi - lo) << 2);
      for (let j = hi; j < C; j++) store<u32>(dst + row + (<usize>j << 2), 0);
    }
  }
}
