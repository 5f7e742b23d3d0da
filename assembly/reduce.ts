import { sumF64 } from "./sums";

// Reductions. Sums run in float64 in a fixed order so the result is the same on every runtime.

// Σ x[i], i < n
export function sum(x: usize, n: i32): f64 {
  return sumF64(x, n);
}

// dst (N) = (accumulate ? dst : 0) + Σ_i x[i][j] over the rows of x (M,N): the bias gradient.
export function colSum(dst: usize, x: usize, M: i32, N: i32, accumulate: bool): void {
  const rowB = <usize>N << 2;
  let j = 0;
  for (; j + 4 <= N; j += 4) {
    const o = <usize>j << 2;
    let s = accumulate ? v128.load(dst + o) : f32x4.splat(0);
    let p = x + o;
    for (let i = 0; i < M; i++) {
      s = f32x4.add(s, v128.load(p));
      p += rowB;
    }
    v128.store(dst + o, s);
  }
  for (; j < N; j++) {
    const o = <usize>j << 2;
    let s: f32 = accumulate ? load<f32>(dst + o) : 0;
    let p = x + o;
    for (let i = 0; i < M; i++) {
      s += load<f32>(p);
      p += rowB;
    }
    store<f32>(dst + o, s);
  }
}

// dst[i] (int32) = index of the first maximum of row i of x (M,N); NaN counts as the maximum.
export function argmaxRows(dst: usize, x: usize, M: i32, N: i32): void {
  for (let i = 0; i < M; i++) {
    const row = x + (<usize>i * <usize>N << 2);
    let best = load<f32>(row);
    let arg = 0;
    if (best == best) {
      for (let j = 1; j < N; j++) {
        const v = load<f32>(row + (<usize>j << 2));
        if (v != v) { arg = j; break; }
        if (v > best) { best = v; arg = j; }
      }
    }
    store<i32>(dst + (<usize>i << 2), arg);
  }
}

// Σ x[i]², i < n, in float64 (gradient norms)
export function sumsq(x: usize, n: i32): f64 {
  let acc0 = f64x2.splat(0), acc1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
    acc0 = f64x2.add(acc0, f64x2.mul(lo, lo));
    acc1 = f64x2.add(acc1, f64x2.mul(hi, hi));
  }
  let s = (f64x2.extract_lane(acc0, 0) + f64x2.extract_lane(acc1, 0)) +
          (f64x2.extract_lane(acc0, 1) + f64x2.extract_lane(acc1, 1));
  for (; i < n; i++) {
    const v = <f64>load<f32>(x + (<usize>i << 2));
    s += v * v;
  }
  return s;
}

// Number of non-finite elements (NaN, +Inf, -Inf) among x[i], i < n: the anomaly mode's scan.
// v - v is 0 for every finite v and NaN otherwise, so one self-comparison finds both.
export function nonfiniteCount(x: usize, n: i32): i32 {
  let acc = i32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const d = f32x4.sub(v, v);
    acc = i32x4.sub(acc, f32x4.ne(d, d)); // a true lane is -1
  }
  let c = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) +
          i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    if (v - v != 0) c++;
  }
  return c;
}
