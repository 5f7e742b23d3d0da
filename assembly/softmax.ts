import { sexp, slog, vexp } from "./vmath";
import { rowMax } from "./rows";

// Softmax, log-softmax and log-sum-exp along one dim of x viewed as (outer, R, inner): four
// lanes at a time along the row (inner = 1) or across four neighbouring columns (inner > 1),
// with the vectorised exp of assembly/vmath.ts. Sums of exponentials accumulate in float32
// lanes, then lanes are added in a fixed order: the same bits on every runtime.

// y (outer, R, inner) = softmax over R of x (log: log-softmax), max-subtracted
export function softmaxDim(y: usize, x: usize, outer: i32, R: i32, inner: i32, log: bool): void {
  const rowB = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const base = <usize>o * <usize>R * rowB;
    if (inner == 1) {
      softmaxRow(y + base, x + base, R, log);
      continue;
    }
    let j = 0;
    for (; j + 4 <= inner; j += 4) softmaxColumns4(y + base + (<usize>j << 2), x + base + (<usize>j << 2), R, rowB, log);
    for (; j < inner; j++) {
      const col = base + (<usize>j << 2);
      const l = columnLogSumExp(x + col, R, rowB);
      for (let r = 0; r < R; r++) {
        const at = col + <usize>r * rowB;
        const v = load<f32>(x + at) - l;
        store<f32>(y + at, log ? v : sexp(v));
      }
    }
  }
}

// softmax (log-softmax) of one contiguous row of n: exp(x - max) summed in four lanes, then
// scaled by the sum's reciprocal (log: x - max - log Σ).
@inline function softmaxRow(y: usize, x: usize, n: i32, log: bool): void {
  const m = rowMax(x, n);
  if (m == Infinity || m == -Infinity || m != m) {
    // Degenerate rows (±inf or NaN max) take the scalar path's rules.
    const l = columnLogSumExp(x, n, 4);
    for (let k = 0; k < n; k++) {
      const v = load<f32>(x + (<usize>k << 2)) - l;
      store<f32>(y + (<usize>k << 2), log ? v : sexp(v));
    }
    return;
  }
  const vm = f32x4.splat(m);
  let acc = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const e = vexp(f32x4.sub(v128.load(x + (<usize>k << 2)), vm));
    if (!log) v128.store(y + (<usize>k << 2), e);
    acc = f32x4.add(acc, e);
  }
  let s = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (let t = k; t < n; t++) {
    const e = sexp(load<f32>(x + (<usize>t << 2)) - m);
    if (!log) store<f32>(y + (<usize>t << 2), e);
    s += e;
  }
  if (log) {
    const l = m + slog(s);
    const vl = f32x4.splat(l);
    let i = 0;
    for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), f32x4.sub(v128.load(x + (<usize>i << 2)), vl));
    for (; i < n; i++) store<f32>(y + (<usize>i << 2), load<f32>(x + (<usize>i << 2)) - l);
    return;
  }
  const inv: f32 = <f32>1 / s;
  const vinv = f32x4.splat(inv);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), f32x4.mul(v128.load(y + (<usize>i << 2)), vinv));
  for (; i < n; i++) store<f32>(y + (<usize>i << 2), load<f32>(y + (<usize>i << 2)) * inv);
}

// softmax over R of four neighbouring columns (rows `step` bytes apart), one lane each; a column
// with an infinite or NaN maximum goes through the scalar rules.
@inline function softmaxColumns4(y: usize, x: usize, R: i32, step: usize, log: bool): void {
  let vm = f32x4.splat(-Infinity);
  for (let r = 0; r < R; r++) vm = f32x4.max(vm, v128.load(x + <usize>r * step));
  const finite = f32x4.eq(f32x4.sub(vm, vm), f32x4.splat(0));
  if (!i32x4.all_true(finite)) {
    for (let j = 0; j < 4; j++) {
      const col = <usize>j << 2;
      const l = columnLogSumExp(x + col, R, step);
      for (let r = 0; r < R; r++) {
        const v = load<f32>(x + col + <usize>r * step) - l;
        store<f32>(y + col + <usize>r * step, log ? v : sexp(v));
      }
    }
    return;
  }
  let acc = f32x4.splat(0);
  for (let r = 0; r < R; r++) {
    const e = vexp(f32x4.sub(v128.load(x + <usize>r * step), vm));
    if (!log) v128.store(y + <usize>r * step, e);
    acc = f32x4.add(acc, e);
  }
  if (log) {
    // log Σ lane by lane with the scalar log (four calls per column group)
    const l = f32x4(
      f32x4.extract_lane(vm, 0) + slog(f32x4.extract_lane(acc, 0)), f32x4.extract_lane(vm, 1) + slog(f32x4.extract_lane(acc, 1)),
      f32x4.extract_lane(vm, 2) + slog(f32x4.extract_lane(acc, 2)), f32x4.extract_lane(vm, 3) + slog(f32x4.extract_lane(acc, 3)),
    );
    for (let r = 0; r < R; r++) v128.store(y + <usize>r * step, f32x4.sub(v128.load(x + <usize>r * step), l));
    return;
  }
  const inv = f32x4.div(f32x4.splat(1), acc);
  for (let r = 0; r < R; r++) v128.store(y + <usize>r * step, f32x4.mul(v128.load(y + <usize>r * step), inv));
}

// dx = y (dy - Σ_R dy·y) (log: dx = dy - exp(y) Σ_R dy) over R, y the forward output
export function softmaxDimBackward(dx: usize, dy: usize, y: usize, outer: i32, R: i32, inner: i32, log: bool): void {
  const rowB = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const base = <usize>o * <usize>R * rowB;
    if (inner == 1) {
      softmaxRowBackward(dx + base, dy + base, y + base, R, log);
      continue;
    }
    for (let j = 0; j < inner; j++) {
      const col = base + (<usize>j << 2);
      let s: f32 = 0;
      for (let r = 0; r < R; r++) {
        const at = col + <usize>r * rowB;
        s += log ? load<f32>(dy + at) : load<f32>(dy + at) * load<f32>(y + at);
      }
      for (let r = 0; r < R; r++) {
        const at = col + <usize>r * rowB;
        const g = load<f32>(dy + at), v = load<f32>(y + at);
        store<f32>(dx + at, log ? g - sexp(v) * s : v * (g - s));
      }
    }
  }
}

// dst (outer, inner) = log Σ_R exp(x) over R of x (outer, R, inner), max-subtracted; an empty R
// gives -inf
export function logsumexpDim(dst: usize, x: usize, outer: i32, R: i32, inner: i32): void {
  const rowB = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const base = <usize>o * <usize>R * rowB;
    for (let j = 0; j < inner; j++) {
      store<f32>(dst + ((<usize>o * <usize>inner + <usize>j) << 2), columnLogSumExp(x + base + (<usize>j << 2), R, rowB));
    }
  }
}

// log Σ exp over R values `step` bytes apart, stable: max + log Σ exp(x - max); ±inf max as is.
@inline function columnLogSumExp(p: usize, R: i32, step: usize): f32 {
  let m: f32 = -Infinity;
  for (let r = 0; r < R; r++) {
    const v = load<f32>(p + <usize>r * step);
    if (v != v) return v;
    m = max<f32>(m, v);
  }
  if (m == Infinity || m == -Infinity) return m;
  let s: f32 = 0;
  for (let r = 0; r < R; r++) s += sexp(load<f32>(p + <usize>r * step) - m);
  return m + slog(s);
}

// dx = y (dy - Σ dy·y) (log: dx = dy - exp(y) Σ dy) over one contiguous row of n
@inline function softmaxRowBackward(dx: usize, dy: usize, y: usize, n: i32, log: bool): void {
  let acc = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const g = v128.load(dy + (<usize>k << 2));
    acc = f32x4.add(acc, log ? g : f32x4.mul(g, v128.load(y + (<usize>k << 2))));
  }
  let s = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; k < n; k++) {
    const g = load<f32>(dy + (<usize>k << 2));
    s += log ? g : g * load<f32>(y + (<usize>k << 2));
  }
  const vs = f32x4.splat(s);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(dy + o), v = v128.load(y + o);
    v128.store(dx + o, log ? f32x4.sub(g, f32x4.mul(vexp(v), vs)) : f32x4.mul(v, f32x4.sub(g, vs)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(dy + o), v = load<f32>(y + o);
    store<f32>(dx + o, log ? g - sexp(v) * s : v * (g - s));
  }
}
