// Losses and (log-)softmax over rows of x (M,C). Labels are int32 in [0, C), checked by the
// caller before the call. exp/log are AssemblyScript's own (pure wasm), so results are identical
// on every runtime. Loss totals are summed in float64; the caller divides for 'mean'.

// log Σ_j exp(x[j]) of one row, stable: max + log Σ exp(x - max).
@inline function rowLogSumExp(row: usize, C: i32): f32 {
  let m = load<f32>(row);
  for (let j = 1; j < C; j++) m = max(m, load<f32>(row + (<usize>j << 2)));
  let s: f32 = 0;
  for (let j = 0; j < C; j++) s += Mathf.exp(load<f32>(row + (<usize>j << 2)) - m);
  return m + Mathf.log(s);
}

@inline function rowScale(scale: f32, scales: usize, i: i32): f32 {
  return scales ? scale * load<f32>(scales + (<usize>i << 2)) : scale;
}

// Fused softmax + cross-entropy forward: losses[i] = lse_i - x[i][label_i] (losses may be 0),
// lse[i] kept for the backward; a row whose label is ignoreIndex has loss 0. Returns Σ_i losses[i].
export function softmaxXentForward(x: usize, labels: usize, M: i32, C: i32,
                                     losses: usize, lse: usize, ignoreIndex: i32): f64 {
  let total: f64 = 0;
  for (let i = 0; i < M; i++) {
    const row = x + (<usize>i * <usize>C << 2);
    const l = rowLogSumExp(row, C);
    const label = load<i32>(labels + (<usize>i << 2));
    const loss: f32 = label == ignoreIndex ? 0 : l - load<f32>(row + (<usize>label << 2));
    store<f32>(lse + (<usize>i << 2), l);
    if (losses) store<f32>(losses + (<usize>i << 2), loss);
    total += <f64>loss;
  }
  return total;
}

// dx[i][j] = (softmax(x)[i][j] - [j == label_i]) * scale * (scales ? scales[i] : 1), and 0 in
// rows whose label is ignoreIndex. scale is gradOut/(rows counted) for 'mean', gradOut for
// 'sum'; scales carries per-row grads for 'none'.
export function softmaxXentBackward(dx: usize, x: usize, labels: usize, lse: usize, M: i32,
                                      C: i32, scale: f32, scales: usize, ignoreIndex: i32): void {
  for (let i = 0; i < M; i++) {
    const o = <usize>i * <usize>C << 2;
    const l = load<f32>(lse + (<usize>i << 2));
    const label = load<i32>(labels + (<usize>i << 2));
    if (label == ignoreIndex) {
      memory.fill(dx + o, 0, <usize>C << 2);
      continue;
    }
    const s = rowScale(scale, scales, i);
    for (let j = 0; j < C; j++) {
      const p = Mathf.exp(load<f32>(x + o + (<usize>j << 2)) - l);
      store<f32>(dx + o + (<usize>j << 2), (j == label ? p - 1 : p) * s);
    }
  }
}

// y = x - logsumexp(x) per row
export function logSoftmaxForward(y: usize, x: usize, M: i32, C: i32): void {
  for (let i = 0; i < M; i++) {
    const o = <usize>i * <usize>C << 2;
    const l = rowLogSumExp(x + o, C);
    for (let j = 0; j < C; j++) {
      const q = o + (<usize>j << 2);
      store<f32>(y + q, load<f32>(x + q) - l);
    }
  }
}

// dx = dy - exp(y) * Σ_j dy[j] per row, y the log-softmax output
export function logSoftmaxBackward(dx: usize, dy: usize, y: usize, M: i32, C: i32): void {
  for (let i = 0; i < M; i++) {
    const o = <usize>i * <usize>C << 2;
    let s: f32 = 0;
    for (let j = 0; j < C; j++) s += load<f32>(dy + o + (<usize>j << 2));
    for (let j = 0; j < C; j++) {
      const q = o + (<usize>j << 2);
      store<f32>(dx + q, load<f32>(dy + q) - Mathf.exp(load<f32>(y + q)) * s);
    }
  }
}

// y = exp(x - logsumexp(x)) per row
export function softmaxForward(y: usize, x: usize, M: i32, C: i32): void {
  for (let i = 0; i < M; i++) {
    const o = <usize>i * <usize>C << 2;
    const l = rowLogSumExp(x + o, C);
    for (let j = 0; j < C; j++) {
      const q = o + (<usize>j << 2);
      store<f32>(y + q, Mathf.exp(load<f32>(x + q) - l));
    }
  }
}

// dx = y * (dy - Σ_j dy[j] y[j]) per row, y the softmax output
export function softmaxBackward(dx: usize, dy: usize, y: usize, M: i32, C: i32): void {
  for (let i = 0; i < M; i++) {
    const o = <usize>i * <usize>C << 2;
    let s: f32 = 0;
    for (let j = 0; j < C; j++) {
      const q = o + (<usize>j << 2);
      s += load<f32>(dy + q) * load<f32>(y + q);
    }
    for (let j = 0; j < C; j++) {
      const q = o + (<usize>j << 2);
      store<f32>(dx + q, load<f32>(y + q) * (load<f32>(dy + q) - s));
    }
  }
}

// NLL on log-probabilities: losses[i] = -x[i][label_i] (losses may be 0), 0 where the label is
// ignoreIndex. Returns the sum.
export function nllForward(x: usize, labels: usize, M: i32, C: i32, losses: usize, ignoreIndex: i32): f64 {
  let total: f64 = 0;
  for (let i = 0; i < M; i++) {
    const label = load<i32>(labels + (<usize>i << 2));
    const loss: f32 = label == ignoreIndex ? 0 : -load<f32>(x + ((<usize>i * <usize>C + <usize>label) << 2));
    if (losses) store<f32>(losses + (<usize>i << 2), loss);
    total += <f64>loss;
  }
  return total;
}

// dx = 0 except dx[i][label_i] = -scale * (scales ? scales[i] : 1) for labels ≠ ignoreIndex
export function nllBackward(dx: usize, labels: usize, M: i32, C: i32, scale: f32, scales: usize, ignoreIndex: i32): void {
  memory.fill(dx, 0, <usize>M * <usize>C << 2);
  for (let i = 0; i < M; i++) {
    const label = load<i32>(labels + (<usize>i << 2));
    if (label == ignoreIndex) continue;
    store<f32>(dx + ((<usize>i * <usize>C + <usize>label) << 2), -rowScale(scale, scales, i));
  }
}

// Σ (a - b)², n elements; each squared difference is also written to out when out != 0
export function mseForward(a: usize, b: usize, n: i32, out: usize): f64 {
  let total: f64 = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const d = load<f32>(a + o) - load<f32>(b + o);
    const sq = d * d;
    if (out) store<f32>(out + o, sq);
    total += <f64>sq;
  }
  return total;
}

// dx = (a - b) * scale * (scales ? scales[i] : 1); scale = 2·gradOut/n for 'mean'
export function mseBackward(dx: usize, a: usize, b: usize, n: i32, scale: f32, scales: usize): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, (load<f32>(a + o) - load<f32>(b + o)) * rowScale(scale, scales, i));
  }
}
