import { sumF64 } from "./sums";

// Batch normalisation, dropout and per-channel sums over x (N, C, S): N samples, C channels,
// S positions per channel (H·W for images, 1 for BatchNorm1d on (N, C)).

@inline function at(base: usize, n: i32, c: i32, C: i32, S: i32): usize {
  return base + ((<usize>n * <usize>C + <usize>c) * <usize>S << 2);
}

// dst[c] = (accumulate ? dst[c] : 0) + Σ_{n,s} x[n][c][s]  (bias gradients), in float64, for the
// channels c0 ≤ c < c1 (0, C: all; a range is what one thread of the pool computes)
export function channelSum(dst: usize, x: usize, N: i32, C: i32, S: i32, accumulate: bool, c0: i32, c1: i32): void {
  for (let c = c0; c < c1; c++) {
    let s: f64 = 0;
    for (let n = 0; n < N; n++) s += sumF64(at(x, n, c, C, S), S);
    const d = dst + (<usize>c << 2);
    store<f32>(d, <f32>((accumulate ? <f64>load<f32>(d) : 0) + s));
  }
}

// mean[c] and biased var[c] over N·S values per channel (two passes, float64), channels c0 ≤ c < c1
export function bnStats(mean: usize, variance: usize, x: usize, N: i32, C: i32, S: i32, c0: i32, c1: i32): void {
  const count = <f64>N * <f64>S;
  for (let c = c0; c < c1; c++) {
    let s: f64 = 0;
    for (let n = 0; n < N; n++) s += sumF64(at(x, n, c, C, S), S);
    const m = s / count;
    const vm = f64x2.splat(m);
    let q0 = f64x2.splat(0), q1 = f64x2.splat(0);
    let q: f64 = 0;
    for (let n = 0; n < N; n++) {
      const p = at(x, n, c, C, S);
      let k = 0;
      for (; k + 4 <= S; k += 4) {
        const v = v128.load(p + (<usize>k << 2));
        const d0 = f64x2.sub(f64x2.promote_low_f32x4(v), vm);
        const d1 = f64x2.sub(f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)), vm);
        q0 = f64x2.add(q0, f64x2.mul(d0, d0));
        q1 = f64x2.add(q1, f64x2.mul(d1, d1));
      }
      for (; k < S; k++) {
        const d = <f64>load<f32>(p + (<usize>k << 2)) - m;
        q += d * d;
      }
    }
    q += (f64x2.extract_lane(q0, 0) + f64x2.extract_lane(q1, 0)) + (f64x2.extract_lane(q0, 1) + f64x2.extract_lane(q1, 1));
    store<f32>(mean + (<usize>c << 2), <f32>m);
    store<f32>(variance + (<usize>c << 2), <f32>(q / count));
  }
}

// y = (x - mean[c]) · invstd[c] · w[c] + b[c]; weight/bias 0 = affine off
export function bnForward(y: usize, x: usize, mean: usize, invstd: usize, weight: usize, bias: usize,
                           N: i32, C: i32, S: i32): void {
  for (let c = 0; c < C; c++) {
    const m = load<f32>(mean + (<usize>c << 2));
    const r = load<f32>(invstd + (<usize>c << 2));
    const w: f32 = weight ? load<f32>(weight + (<usize>c << 2)) : 1;
    const b: f32 = bias ? load<f32>(bias + (<usize>c << 2)) : 0;
    const vm = f32x4.splat(m), vr = f32x4.splat(r), vw = f32x4.splat(w), vb = f32x4.splat(b);
    for (let n = 0; n < N; n++) {
      const src = at(x, n, c, C, S), dst = at(y, n, c, C, S);
      let k = 0;
      for (; k + 4 <= S; k += 4) {
        const o = <usize>k << 2;
        v128.store(dst + o, f32x4.add(f32x4.mul(f32x4.mul(f32x4.sub(v128.load(src + o), vm), vr), vw), vb));
      }
      for (; k < S; k++) {
        const o = <usize>k << 2;
        store<f32>(dst + o, (load<f32>(src + o) - m) * r * w + b);
      }
    }
  }
}

// The channel sums batch-norm gradients need: sums[c] = Σ dy, sums[C + c] = Σ dy·x̂ with
// x̂ = (x - mean)·invstd, over n and s, in float64, channels c0 ≤ c < c1. dweight = Σ dy·x̂ and
// dbias = Σ dy.
export function bnBackwardSums(sums: usize, dy: usize, x: usize, mean: usize, invstd: usize,
                                 N: i32, C: i32, S: i32, c0: i32, c1: i32): void {
  for (let c = c0; c < c1; c++) {
    const m = load<f32>(mean + (<usize>c << 2));
    const r = load<f32>(invstd + (<usize>c << 2));
    const vm = f32x4.splat(m), vr = f32x4.splat(r);
    let d0 = f64x2.splat(0), d1 = f64x2.splat(0), e0 = f64x2.splat(0), e1 = f64x2.splat(0);
    let sumDy: f64 = 0, sumDyXhat: f64 = 0;
    for (let n = 0; n < N; n++) {
      const g = at(dy, n, c, C, S), xs = at(x, n, c, C, S);
      let k = 0;
      for (; k + 4 <= S; k += 4) {
        const o = <usize>k << 2;
        const gv = v128.load(g + o);
        const xh = f32x4.mul(f32x4.sub(v128.load(xs + o), vm), vr);
        const glo = f64x2.promote_low_f32x4(gv), ghi = f64x2.promote_low_f32x4(i32x4.shuffle(gv, gv, 2, 3, 0, 1));
        d0 = f64x2.add(d0, glo);
        d1 = f64x2.add(d1, ghi);
        e0 = f64x2.add(e0, f64x2.mul(glo, f64x2.promote_low_f32x4(xh)));
        e1 = f64x2.add(e1, f64x2.mul(ghi, f64x2.promote_low_f32x4(i32x4.shuffle(xh, xh, 2, 3, 0, 1))));
      }
      for (; k < S; k++) {
        const o = <usize>k << 2;
        const d = <f64>load<f32>(g + o);
        sumDy += d;
        sumDyXhat += d * <f64>((load<f32>(xs + o) - m) * r);
      }
    }
    sumDy += (f64x2.extract_lane(d0, 0) + f64x2.extract_lane(d1, 0)) + (f64x2.extract_lane(d0, 1) + f64x2.extract_lane(d1, 1));
    sumDyXhat += (f64x2.extract_lane(e0, 0) + f64x2.extract_lane(e1, 0)) + (f64x2.extract_lane(e0, 1) + f64x2.extract_lane(e1, 1));
    store<f32>(sums + (<usize>c << 2), <f32>sumDy);
    store<f32>(sums + (<usize>(C + c) << 2), <f32>sumDyXhat);
  }
}

// dx of batch norm. With batch statistics (training) the mean and variance depend on x:
//   dx = invstd · (ĝ - w·Σdy/M - x̂·w·Σ(dy·x̂)/M), ĝ = dy·w, M = N·S;
// with fixed (running) statistics dx = dy·w·invstd. sums from bnBackwardSums. Channels c0 ≤ c < c1.
export function bnBackwardDx(dx: usize, dy: usize, x: usize, mean: usize, invstd: usize, weight: usize,
                               sums: usize, N: i32, C: i32, S: i32, batchStats: bool, c0: i32, c1: i32): void {
  const M = <f64>N * <f64>S;
  for (let c = c0; c < c1; c++) {
    const m = load<f32>(mean + (<usize>c << 2));
    const r = load<f32>(invstd + (<usize>c << 2));
    const w: f32 = weight ? load<f32>(weight + (<usize>c << 2)) : 1;
    const a = batchStats ? <f32>(<f64>w * <f64>load<f32>(sums + (<usize>c << 2)) / M) : 0;
    const bq = batchStats ? <f32>(<f64>w * <f64>load<f32>(sums + (<usize>(C + c) << 2)) / M) : 0;
    const vm = f32x4.splat(m), vr = f32x4.splat(r), vw = f32x4.splat(w), va = f32x4.splat(a), vb = f32x4.splat(bq);
    for (let n = 0; n < N; n++) {
      const g = at(dy, n, c, C, S), xs = at(x, n, c, C, S), d = at(dx, n, c, C, S);
      let k = 0;
      for (; k + 4 <= S; k += 4) {
        const o = <usize>k << 2;
        const gh = f32x4.mul(v128.load(g + o), vw);
        const v = batchStats
          ? f32x4.mul(vr, f32x4.sub(f32x4.sub(gh, va), f32x4.mul(f32x4.mul(f32x4.sub(v128.load(xs + o), vm), vr), vb)))
          : f32x4.mul(gh, vr);
        v128.store(d + o, v);
      }
      for (; k < S; k++) {
        const o = <usize>k << 2;
        const gh = load<f32>(g + o) * w;
        store<f32>(d + o, batchStats ? r * ((gh - a) - (load<f32>(xs + o) - m) * r * bq) : gh * r);
      }
    }
  }
}

// Inverted dropout with a counter-based hash RNG: element i is kept when
// fmix32(i·0x9E3779B1 + seed) ≥ threshold (= p·2³²); kept values are scaled by 1/(1-p).
// mask[i] holds the factor (scale or 0) for the backward (dx = dy · mask). Same bits in JS.
export function dropout(y: usize, mask: usize, x: usize, n: i32, threshold: u32, scale: f32, seed: u32): void {
  const vGold = i32x4.splat(<i32>0x9e3779b1), vSeed = i32x4.splat(<i32>seed);
  const vC1 = i32x4.splat(<i32>0x85ebca6b), vC2 = i32x4.splat(<i32>0xc2b2ae35);
  const vThr = i32x4.splat(<i32>threshold), vScale = f32x4.splat(scale);
  let vi = i32x4(0, 1, 2, 3);
  const four = i32x4.splat(4);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    let h = i32x4.add(i32x4.mul(vi, vGold), vSeed);
    h = v128.xor(h, i32x4.shr_u(h, 16));
    h = i32x4.mul(h, vC1);
    h = v128.xor(h, i32x4.shr_u(h, 13));
    h = i32x4.mul(h, vC2);
    h = v128.xor(h, i32x4.shr_u(h, 16));
    const m = v128.and(vScale, i32x4.ge_u(h, vThr));
    const o = <usize>i << 2;
    v128.store(mask + o, m);
    v128.store(y + o, f32x4.mul(v128.load(x + o), m));
    vi = i32x4.add(vi, four);
  }
  for (; i < n; i++) {
    let h: u32 = <u32>i * 0x9e3779b1 + seed;
    h ^= h >>> 16;
    h *= 0x85ebca6b;
    h ^= h >>> 13;
    h *= 0xc2b2ae35;
    h ^= h >>> 16;
    const m: f32 = h >= threshold ? scale : 0;
    const o = <usize>i << 2;
    store<f32>(mask + o, m);
    store<f32>(y + o, load<f32>(x + o) * m);
  }
}

// y[n][c][s] = v[c]: a per-channel constant (the conv bias the gemm then accumulates onto)
export function channelFill(y: usize, v: usize, N: i32, C: i32, S: i32): void {
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const val = f32x4.splat(load<f32>(v + (<usize>c << 2)));
      const p = at(y, n, c, C, S);
      let k = 0;
      for (; k + 4 <= S; k += 4) v128.store(p + (<usize>k << 2), val);
      for (; k < S; k++) store<f32>(p + (<usize>k << 2), load<f32>(v + (<usize>c << 2)));
    }
  }
}

// ---- layer norm and RMS norm over rows of x (M, N) ----------------------------------------------

// y (M, N) = (x - mean) · rstd · w + b per row, with the row's mean and rstd = 1/sqrt(var + eps)
// (biased variance; both in float64, two passes) also written to mean (M) and rstd (M) for the
// backward; w and b (N) may be 0 (no affine)
export function layerNorm(y: usize, mean: usize, rstd: usize, x: usize, w: usize, b: usize, M: i32, N: i32, eps: f32): void {
  for (let i = 0; i < M; i++) {
    const row = <usize>i * <usize>N << 2;
    const m = sumF64(x + row, N) / <f64>N;
    let q: f64 = 0;
    for (let j = 0; j < N; j++) {
      const d = <f64>load<f32>(x + row + (<usize>j << 2)) - m;
      q += d * d;
    }
    const mf = <f32>m;
    const r = <f32>(1 / Math.sqrt(q / <f64>N + <f64>eps));
    store<f32>(mean + (<usize>i << 2), mf);
    store<f32>(rstd + (<usize>i << 2), r);
    const vm = f32x4.splat(mf), vr = f32x4.splat(r);
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const o = <usize>j << 2;
      let v = f32x4.mul(f32x4.sub(v128.load(x + row + o), vm), vr);
      if (w != 0) v = f32x4.mul(v, v128.load(w + o));
      if (b != 0) v = f32x4.add(v, v128.load(b + o));
      v128.store(y + row + o, v);
    }
    for (; j < N; j++) {
      const o = <usize>j << 2;
      let v = (load<f32>(x + row + o) - mf) * r;
      if (w != 0) v = v * load<f32>(w + o);
      if (b != 0) v = v + load<f32>(b + o);
      store<f32>(y + row + o, v);
    }
  }
}

// The layer-norm backward in one pass over the rows: with x̂ = (x - mean)·rstd and g = dy·w,
// dx (M, N) = rstd · (g - mean(g) - x̂ · mean(g·x̂)) (dx may be 0), and the parameter gradients
// dw (N) (+)= Σ_rows dy·x̂, db (N) (+)= Σ_rows dy (either may be 0; accW/accB add to what is there)
export function layerNormBackward(dx: usize, dw: usize, db: usize, dy: usize, x: usize, mean: usize, rstd: usize, w: usize,
                                  M: i32, N: i32, accW: bool, accB: bool): void {
  if (dw != 0 && !accW) memory.fill(dw, 0, <usize>N << 2);
  if (db != 0 && !accB) memory.fill(db, 0, <usize>N << 2);
  for (let i = 0; i < M; i++) {
    const row = <usize>i * <usize>N << 2;
    const m = load<f32>(mean + (<usize>i << 2)), r = load<f32>(rstd + (<usize>i << 2));
    let sg: f64 = 0, sgx: f64 = 0;
    // Four columns at a time for the float32 work and the parameter gradients; the float64 row
    // sums still take the lanes in column order (the same bits as one column at a time).
    const vm = f32x4.splat(m), vr = f32x4.splat(r);
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const o = <usize>j << 2;
      const g0 = v128.load(dy + row + o);
      const xh = f32x4.mul(f32x4.sub(v128.load(x + row + o), vm), vr);
      const g = w != 0 ? f32x4.mul(g0, v128.load(w + o)) : g0;
      const gx = f32x4.mul(g, xh);
      sg += <f64>f32x4.extract_lane(g, 0);
      sgx += <f64>f32x4.extract_lane(gx, 0);
      sg += <f64>f32x4.extract_lane(g, 1);
      sgx += <f64>f32x4.extract_lane(gx, 1);
      sg += <f64>f32x4.extract_lane(g, 2);
      sgx += <f64>f32x4.extract_lane(gx, 2);
      sg += <f64>f32x4.extract_lane(g, 3);
      sgx += <f64>f32x4.extract_lane(gx, 3);
      if (dw != 0) v128.store(dw + o, f32x4.add(v128.load(dw + o), f32x4.mul(g0, xh)));
      if (db != 0) v128.store(db + o, f32x4.add(v128.load(db + o), g0));
    }
    for (; j < N; j++) {
      const o = <usize>j << 2;
      const g0 = load<f32>(dy + row + o);
      const xh = (load<f32>(x + row + o) - m) * r;
      const g = w != 0 ? g0 * load<f32>(w + o) : g0;
      sg += <f64>g;
      sgx += <f64>(g * xh);
      if (dw != 0) store<f32>(dw + o, load<f32>(dw + o) + g0 * xh);
      if (db != 0) store<f32>(db + o, load<f32>(db + o) + g0);
    }
    if (dx == 0) continue;
    const a = <f32>(sg / <f64>N), c = <f32>(sgx / <f64>N);
    const va = f32x4.splat(a), vc = f32x4.splat(c);
    j = 0;
    for (; j + 4 <= N; j += 4) {
      const o = <usize>j << 2;
      const xh = f32x4.mul(f32x4.sub(v128.load(x + row + o), vm), vr);
      const g = w != 0 ? f32x4.mul(v128.load(dy + row + o), v128.load(w + o)) : v128.load(dy + row + o);
      v128.store(dx + row + o, f32x4.mul(vr, f32x4.sub(f32x4.sub(g, va), f32x4.mul(xh, vc))));
    }
    for (; j < N; j++) {
      const o = <usize>j << 2;
      const xh = (load<f32>(x + row + o) - m) * r;
      const g = w != 0 ? load<f32>(dy + row + o) * load<f32>(w + o) : load<f32>(dy + row + o);
      store<f32>(dx + row + o, r * (g - a - xh * c));
    }
  }
}

// y (M, N) = x · rstd · w per row with rstd = 1/sqrt(mean(x²) + eps) (float64), written to
// rstd (M); w (N) may be 0
export function rmsNorm(y: usize, rstd: usize, x: usize, w: usize, M: i32, N: i32, eps: f32): void {
  for (let i = 0; i < M; i++) {
    const row = <usize>i * <usize>N << 2;
    const r = <f32>(1 / Math.sqrt(sumSquaresF64(x + row, N) / <f64>N + <f64>eps));
    store<f32>(rstd + (<usize>i << 2), r);
    const vr = f32x4.splat(r);
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const o = <usize>j << 2;
      let v = f32x4.mul(v128.load(x + row + o), vr);
      if (w != 0) v = f32x4.mul(v, v128.load(w + o));
      v128.store(y + row + o, v);
    }
    for (; j < N; j++) {
      const o = <usize>j << 2;
      let v = load<f32>(x + row + o) * r;
      if (w != 0) v = v * load<f32>(w + o);
      store<f32>(y + row + o, v);
    }
  }
}

// The RMS-norm backward: with x̂ = x·rstd and g = dy·w, dx (M, N) = rstd · (g - x̂ · mean(g·x̂))
// (dx may be 0) and dw (N) (+)= Σ_rows dy·x̂ (dw may be 0)
export function rmsNormBackward(dx: usize, dw: usize, dy: usize, x: usize, rstd: usize, w: usize, M: i32, N: i32, accW: bool): void {
  if (dw != 0 && !accW) memory.fill(dw, 0, <usize>N << 2);
  for (let i = 0; i < M; i++) {
    const row = <usize>i * <usize>N << 2;
    const r = load<f32>(rstd + (<usize>i << 2));
    let sgx: f64 = 0;
    for (let j = 0; j < N; j++) {
      const o = <usize>j << 2;
      const g0 = load<f32>(dy + row + o);
      const xh = load<f32>(x + row + o) * r;
      const g = w != 0 ? g0 * load<f32>(w + o) : g0;
      sgx += <f64>(g * xh);
      if (dw != 0) store<f32>(dw + o, load<f32>(dw + o) + g0 * xh);
    }
    if (dx == 0) continue;
    const c = <f32>(sgx / <f64>N);
    for (let j = 0; j < N; j++) {
      const o = <usize>j << 2;
      const xh = load<f32>(x + row + o) * r;
      const g = w != 0 ? load<f32>(dy + row + o) * load<f32>(w + o) : load<f32>(dy + row + o);
      store<f32>(dx + row + o, r * (g - xh * c));
    }
  }
}

// Σ x² of n floats in float64.
@inline function sumSquaresF64(p: usize, n: i32): f64 {
  let s: f64 = 0;
  for (let k = 0; k < n; k++) {
    const v = <f64>load<f32>(p + (<usize>k << 2));
    s += v * v;
  }
  return s;
}
