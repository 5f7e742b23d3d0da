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
  // 32 columns a pass: eight independent add chains over whole cache lines of each row (a chain
  // of one vector waits on the add latency, and a 4-column walk reads every line eight times).
  // Each column is still summed row by row in order, so the bits are those of the 4-column loop.
  for (; j + 32 <= N; j += 32) {
    const o = <usize>j << 2;
    let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    if (accumulate) {
      s0 = v128.load(dst + o); s1 = v128.load(dst + o + 16); s2 = v128.load(dst + o + 32); s3 = v128.load(dst + o + 48);
      s4 = v128.load(dst + o + 64); s5 = v128.load(dst + o + 80); s6 = v128.load(dst + o + 96); s7 = v128.load(dst + o + 112);
    }
    let p = x + o;
    for (let i = 0; i < M; i++) {
      s0 = f32x4.add(s0, v128.load(p));
      s1 = f32x4.add(s1, v128.load(p + 16));
      s2 = f32x4.add(s2, v128.load(p + 32));
      s3 = f32x4.add(s3, v128.load(p + 48));
      s4 = f32x4.add(s4, v128.load(p + 64));
      s5 = f32x4.add(s5, v128.load(p + 80));
      s6 = f32x4.add(s6, v128.load(p + 96));
      s7 = f32x4.add(s7, v128.load(p + 112));
      p += rowB;
    }
    v128.store(dst + o, s0); v128.store(dst + o + 16, s1); v128.store(dst + o + 32, s2); v128.store(dst + o + 48, s3);
    v128.store(dst + o + 64, s4); v128.store(dst + o + 80, s5); v128.store(dst + o + 96, s6); v128.store(dst + o + 112, s7);
  }
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

// ---- reductions along one dim of x viewed as (outer, R, inner) ---------------------------------

// The ops of reduceDim. Sums and products accumulate in float64; Max and Min propagate NaN.
export enum ReduceOp { Sum = 0, Prod = 1, Max = 2, Min = 3, SumAbs = 4, MaxAbs = 5, SumSq = 6 }

// dst (outer, inner) = (accumulate ? dst : 0) + op over R of x (outer, R, inner). An empty R
// gives the op's identity (0, 1, -inf, +inf); accumulate only makes sense for the sums.
export function reduceDim(op: i32, dst: usize, x: usize, outer: i32, R: i32, inner: i32, accumulate: bool): void {
  switch (op) {
    case ReduceOp.Sum: reduceAll(ReduceOp.Sum, dst, x, outer, R, inner, accumulate); break;
    case ReduceOp.Prod: reduceAll(ReduceOp.Prod, dst, x, outer, R, inner, accumulate); break;
    case ReduceOp.Max: reduceAll(ReduceOp.Max, dst, x, outer, R, inner, accumulate); break;
    case ReduceOp.Min: reduceAll(ReduceOp.Min, dst, x, outer, R, inner, accumulate); break;
    case ReduceOp.SumAbs: reduceAll(ReduceOp.SumAbs, dst, x, outer, R, inner, accumulate); break;
    case ReduceOp.MaxAbs: reduceAll(ReduceOp.MaxAbs, dst, x, outer, R, inner, accumulate); break;
    default: reduceAll(ReduceOp.SumSq, dst, x, outer, R, inner, accumulate); break;
  }
}

@inline function isSum(op: i32): bool {
  return op == ReduceOp.Sum || op == ReduceOp.SumAbs || op == ReduceOp.SumSq;
}

// The float64 identity of op (sums 0, product 1, max -inf, min +inf, max-abs 0).
@inline function identity(op: i32): f64 {
  return op == ReduceOp.Prod ? 1 : op == ReduceOp.Max ? -Infinity : op == ReduceOp.Min ? Infinity : 0;
}

// One step of op on a float64 accumulator (max/min keep NaN once seen).
@inline function step(op: i32, acc: f64, v: f64): f64 {
  switch (op) {
    case ReduceOp.Sum: return acc + v;
    case ReduceOp.Prod: return acc * v;
    case ReduceOp.Max: return acc != acc || v != v ? NaN : max<f64>(acc, v);
    case ReduceOp.Min: return acc != acc || v != v ? NaN : min<f64>(acc, v);
    case ReduceOp.SumAbs: return acc + abs<f64>(v);
    case ReduceOp.MaxAbs: return acc != acc || v != v ? NaN : max<f64>(acc, abs<f64>(v));
    default: return acc + v * v;
  }
}

@inline function reduceAll(op: i32, dst: usize, x: usize, outer: i32, R: i32, inner: i32, accumulate: bool): void {
  const rowB = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const base = x + <usize>o * <usize>R * rowB;
    const out = dst + <usize>o * rowB;
    let j = 0;
    if (inner == 1) {
      const v = rowReduce(op, base, R);
      store<f32>(out, <f32>(accumulate ? <f64>load<f32>(out) + v : v));
      continue;
    }
    if (isSum(op) || op == ReduceOp.Prod) {
      // Four columns at a time, each in float64 (two f64x2 accumulators), rows in order.
      for (; j + 4 <= inner; j += 4) {
        let lo = f64x2.splat(identity(op)), hi = lo;
        let p = base + (<usize>j << 2);
        for (let r = 0; r < R; r++) {
          const v = v128.load(p);
          let a = f64x2.promote_low_f32x4(v), b = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
          if (op == ReduceOp.SumAbs) { a = f64x2.abs(a); b = f64x2.abs(b); }
          if (op == ReduceOp.SumSq) { a = f64x2.mul(a, a); b = f64x2.mul(b, b); }
          if (op == ReduceOp.Prod) { lo = f64x2.mul(lo, a); hi = f64x2.mul(hi, b); }
          else { lo = f64x2.add(lo, a); hi = f64x2.add(hi, b); }
          p += rowB;
        }
        let res = i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
        if (accumulate) res = f32x4.add(v128.load(out + (<usize>j << 2)), res);
        v128.store(out + (<usize>j << 2), res);
      }
    } else {
      // Max, Min, MaxAbs: exact in float32, four columns per f32x4 (NaN propagates lane-wise).
      for (; j + 4 <= inner; j += 4) {
        let p = base + (<usize>j << 2);
        let acc = f32x4.splat(<f32>identity(op));
        for (let r = 0; r < R; r++) {
          let v = v128.load(p);
          if (op == ReduceOp.MaxAbs) v = f32x4.abs(v);
          acc = op == ReduceOp.Min ? f32x4.min(acc, v) : f32x4.max(acc, v);
          p += rowB;
        }
        v128.store(out + (<usize>j << 2), acc);
      }
    }
    for (; j < inner; j++) {
      let acc = identity(op);
      let p = base + (<usize>j << 2);
      for (let r = 0; r < R; r++) {
        acc = step(op, acc, <f64>load<f32>(p));
        p += rowB;
      }
      const at = out + (<usize>j << 2);
      store<f32>(at, <f32>(accumulate ? <f64>load<f32>(at) + acc : acc));
    }
  }
}

// op over n contiguous floats from p, in float64 (max/min exact in float32, NaN propagates).
@inline function rowReduce(op: i32, p: usize, n: i32): f64 {
  if (op == ReduceOp.Sum) return sumF64(p, n);
  if (op == ReduceOp.SumSq) return sumsq(p, n);
  if (op == ReduceOp.Max || op == ReduceOp.Min || op == ReduceOp.MaxAbs) {
    let acc = f32x4.splat(<f32>identity(op));
    let k = 0;
    for (; k + 4 <= n; k += 4) {
      let v = v128.load(p + (<usize>k << 2));
      if (op == ReduceOp.MaxAbs) v = f32x4.abs(v);
      acc = op == ReduceOp.Min ? f32x4.min(acc, v) : f32x4.max(acc, v);
    }
    let r = <f64>f32x4.extract_lane(acc, 0);
    r = step(op == ReduceOp.MaxAbs ? ReduceOp.Max : op, r, <f64>f32x4.extract_lane(acc, 1));
    r = step(op == ReduceOp.MaxAbs ? ReduceOp.Max : op, r, <f64>f32x4.extract_lane(acc, 2));
    r = step(op == ReduceOp.MaxAbs ? ReduceOp.Max : op, r, <f64>f32x4.extract_lane(acc, 3));
    for (; k < n; k++) r = step(op, r, <f64>load<f32>(p + (<usize>k << 2)));
    return r;
  }
  let acc = identity(op);
  for (let k = 0; k < n; k++) acc = step(op, acc, <f64>load<f32>(p + (<usize>k << 2)));
  return acc;
}

// values (outer, inner; 0 = not wanted) and indices int32 (outer, inner) of the maximum (isMin:
// minimum) over R of x (outer, R, inner): the first one on ties; a NaN is the extreme (the first
// NaN wins), as in PyTorch. R ≥ 1.
export function argReduceDim(values: usize, indices: usize, x: usize, outer: i32, R: i32, inner: i32, isMin: bool): void {
  const rowB = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const base = x + <usize>o * <usize>R * rowB;
    for (let j = 0; j < inner; j++) {
      let p = base + (<usize>j << 2);
      let best = load<f32>(p);
      let arg = 0;
      if (best == best) {
        for (let r = 1; r < R; r++) {
          p += rowB;
          const v = load<f32>(p);
          if (v != v) { best = v; arg = r; break; }
          if (isMin ? v < best : v > best) { best = v; arg = r; }
        }
      }
      const at = (<usize>o * <usize>inner + <usize>j) << 2;
      if (values != 0) store<f32>(values + at, best);
      store<i32>(indices + at, arg);
    }
  }
}

// dst (outer, inner) = Σ_r (x - mean)² / max(R - correction, 0) over R of x (outer, R, inner),
// in float64 with the mean computed first (two passes); mean (outer, inner) also written
// unless 0. R - correction ≤ 0 gives NaN/inf as in PyTorch (0/0, x/0).
export function varDim(dst: usize, mean: usize, x: usize, outer: i32, R: i32, inner: i32, correction: f64): void {
  const rowB = <usize>inner << 2;
  const denom = max<f64>(<f64>R - correction, 0);
  for (let o = 0; o < outer; o++) {
    const base = x + <usize>o * <usize>R * rowB;
    for (let j = 0; j < inner; j++) {
      let s: f64 = 0;
      let p = base + (<usize>j << 2);
      for (let r = 0; r < R; r++) { s += <f64>load<f32>(p); p += rowB; }
      const m = s / <f64>R;
      let q: f64 = 0;
      p = base + (<usize>j << 2);
      for (let r = 0; r < R; r++) {
        const d = <f64>load<f32>(p) - m;
        q += d * d;
        p += rowB;
      }
      const at = (<usize>o * <usize>inner + <usize>j) << 2;
      store<f32>(dst + at, <f32>(q / denom));
      if (mean != 0) store<f32>(mean + at, <f32>m);
    }
  }
}

// y (outer, R, inner) = running sums over R of x (float64 accumulators); reverse: from the end
// (the backward of cumsum). y may alias x.
export function cumsumDim(y: usize, x: usize, outer: i32, R: i32, inner: i32, reverse: bool): void {
  const rowB = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const base = <usize>o * <usize>R * rowB;
    for (let j = 0; j < inner; j++) {
      let s: f64 = 0;
      for (let k = 0; k < R; k++) {
        const r = reverse ? R - 1 - k : k;
        const at = base + <usize>r * rowB + (<usize>j << 2);
        s += <f64>load<f32>(x + at);
        store<f32>(y + at, <f32>s);
      }
    }
  }
}

// dx (outer, R, inner) = (accumulate ? dx : 0) + g (outer, inner) placed at int32 index[o][j]
// along R, 0 elsewhere (the backward of max/min along a dim)
export function scatterDim(dx: usize, g: usize, index: usize, outer: i32, R: i32, inner: i32, accumulate: bool): void {
  const rowB = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const base = dx + <usize>o * <usize>R * rowB;
    if (!accumulate) memory.fill(base, 0, <usize>R * rowB);
    for (let j = 0; j < inner; j++) {
      const at = (<usize>o * <usize>inner + <usize>j) << 2;
      const p = base + <usize>load<i32>(index + at) * rowB + (<usize>j << 2);
      store<f32>(p, load<f32>(p) + load<f32>(g + at));
    }
  }
}

// dx (outer, R, inner) = dy (outer, inner) · Π_{k≠r} x[o][k][j]: suffix times prefix products,
// so zeros in x need no division (the backward of prod)
export function prodBackward(dx: usize, dy: usize, x: usize, outer: i32, R: i32, inner: i32): void {
  const rowB = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const base = <usize>o * <usize>R * rowB;
    for (let j = 0; j < inner; j++) {
      const col = base + (<usize>j << 2);
      const g = <f64>load<f32>(dy + ((<usize>o * <usize>inner + <usize>j) << 2));
      // Suffix products first (stored in dx, rounded once), then prefix products in float64.
      let suf: f64 = 1;
      for (let r = R - 1; r >= 0; r--) {
        const at = col + <usize>r * rowB;
        store<f32>(dx + at, <f32>suf);
        suf *= <f64>load<f32>(x + at);
      }
      let pre: f64 = 1;
      for (let r = 0; r < R; r++) {
        const at = col + <usize>r * rowB;
        store<f32>(dx + at, <f32>(<f64>load<f32>(dx + at) * pre * g));
        pre *= <f64>load<f32>(x + at);
      }
    }
  }
}
