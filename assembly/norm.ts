// Batch normalisation, dropout and per-channel sums over x (N, C, S): N samples, C channels,
// S positions per channel (H·W for images, 1 for BatchNorm1d on (N, C)).

@inline function at(base: usize, n: i32, c: i32, C: i32, S: i32): usize {
  return base + ((<usize>n * <usize>C + <usize>c) * <usize>S << 2);
}

// dst[c] = (accumulate ? dst[c] : 0) + Σ_{n,s} x[n][c][s]  (bias gradients), in float64
export function channel_sum(dst: usize, x: usize, N: i32, C: i32, S: i32, accumulate: bool): void {
  for (let c = 0; c < C; c++) {
    let s: f64 = 0;
    for (let n = 0; n < N; n++) {
      const p = at(x, n, c, C, S);
      for (let k = 0; k < S; k++) s += <f64>load<f32>(p + (<usize>k << 2));
    }
    const d = dst + (<usize>c << 2);
    store<f32>(d, <f32>((accumulate ? <f64>load<f32>(d) : 0) + s));
  }
}

// mean[c] and biased var[c] over N·S values per channel (two passes, float64)
export function bn_stats(mean: usize, variance: usize, x: usize, N: i32, C: i32, S: i32): void {
  const count = <f64>N * <f64>S;
  for (let c = 0; c < C; c++) {
    let s: f64 = 0;
    for (let n = 0; n < N; n++) {
      const p = at(x, n, c, C, S);
      for (let k = 0; k < S; k++) s += <f64>load<f32>(p + (<usize>k << 2));
    }
    const m = s / count;
    let q: f64 = 0;
    for (let n = 0; n < N; n++) {
      const p = at(x, n, c, C, S);
      for (let k = 0; k < S; k++) {
        const d = <f64>load<f32>(p + (<usize>k << 2)) - m;
        q += d * d;
      }
    }
    store<f32>(mean + (<usize>c << 2), <f32>m);
    store<f32>(variance + (<usize>c << 2), <f32>(q / count));
  }
}

// y = (x - mean[c]) · invstd[c] · w[c] + b[c]; weight/bias 0 = affine off
export function bn_forward(y: usize, x: usize, mean: usize, invstd: usize, weight: usize, bias: usize,
                           N: i32, C: i32, S: i32): void {
  for (let c = 0; c < C; c++) {
    const m = load<f32>(mean + (<usize>c << 2));
    const r = load<f32>(invstd + (<usize>c << 2));
    const w: f32 = weight ? load<f32>(weight + (<usize>c << 2)) : 1;
    const b: f32 = bias ? load<f32>(bias + (<usize>c << 2)) : 0;
    for (let n = 0; n < N; n++) {
      const src = at(x, n, c, C, S), dst = at(y, n, c, C, S);
      for (let k = 0; k < S; k++) {
        const o = <usize>k << 2;
        store<f32>(dst + o, (load<f32>(src + o) - m) * r * w + b);
      }
    }
  }
}

// Gradients of bn_forward. With batch statistics (training) the mean and variance depend on x:
//   dx = invstd/M · (M·ĝ - Σĝ - x̂·Σ(ĝ·x̂)), ĝ = dy·w, x̂ = (x - mean)·invstd, M = N·S;
// with fixed (running) statistics dx = dy·w·invstd. dweight (+)= Σ dy·x̂, dbias (+)= Σ dy;
// any of dx, dweight, dbias may be 0 (not needed). Channel sums run in float64.
export function bn_backward(dx: usize, dweight: usize, dbias: usize, dy: usize, x: usize, mean: usize,
                            invstd: usize, weight: usize, N: i32, C: i32, S: i32,
                            batchStats: bool, accumulate: bool): void {
  const M = <f64>N * <f64>S;
  for (let c = 0; c < C; c++) {
    const m = load<f32>(mean + (<usize>c << 2));
    const r = load<f32>(invstd + (<usize>c << 2));
    const w: f32 = weight ? load<f32>(weight + (<usize>c << 2)) : 1;
    let sumDy: f64 = 0, sumDyXhat: f64 = 0;
    for (let n = 0; n < N; n++) {
      const g = at(dy, n, c, C, S), xs = at(x, n, c, C, S);
      for (let k = 0; k < S; k++) {
        const o = <usize>k << 2;
        const d = <f64>load<f32>(g + o);
        sumDy += d;
        sumDyXhat += d * <f64>((load<f32>(xs + o) - m) * r);
      }
    }
    if (dweight) {
      const p = dweight + (<usize>c << 2);
      store<f32>(p, <f32>((accumulate ? <f64>load<f32>(p) : 0) + sumDyXhat));
    }
    if (dbias) {
      const p = dbias + (<usize>c << 2);
      store<f32>(p, <f32>((accumulate ? <f64>load<f32>(p) : 0) + sumDy));
    }
    if (!dx) continue;
    // Σĝ = w·Σdy and Σ(ĝ·x̂) = w·Σ(dy·x̂)
    const a = <f32>(<f64>w * sumDy / M);
    const bq = <f32>(<f64>w * sumDyXhat / M);
    for (let n = 0; n < N; n++) {
      const g = at(dy, n, c, C, S), xs = at(x, n, c, C, S), d = at(dx, n, c, C, S);
      for (let k = 0; k < S; k++) {
        const o = <usize>k << 2;
        const gh = load<f32>(g + o) * w;
        store<f32>(d + o, batchStats ? r * (gh - a - (load<f32>(xs + o) - m) * r * bq) : gh * r);
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
export function channel_fill(y: usize, v: usize, N: i32, C: i32, S: i32): void {
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
