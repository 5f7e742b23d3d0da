import { logSoftmaxBackward, logSoftmaxForward, softmaxBackward, softmaxForward } from "./loss";

// Softmax, log-softmax and log-sum-exp along one dim of x viewed as (outer, R, inner). With
// inner = 1 (the last dim) they run the row kernels of assembly/loss.ts; otherwise each column
// is walked with stride inner. exp/log are AssemblyScript's own (pure wasm): the same bits on
// every runtime.

// y (outer, R, inner) = softmax over R of x (log: log-softmax), max-subtracted
export function softmaxDim(y: usize, x: usize, outer: i32, R: i32, inner: i32, log: bool): void {
  if (inner == 1) {
    if (log) logSoftmaxForward(y, x, outer, R);
    else softmaxForward(y, x, outer, R);
    return;
  }
  const rowB = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const base = <usize>o * <usize>R * rowB;
    for (let j = 0; j < inner; j++) {
      const col = base + (<usize>j << 2);
      const l = columnLogSumExp(x + col, R, rowB);
      for (let r = 0; r < R; r++) {
        const at = col + <usize>r * rowB;
        const v = load<f32>(x + at) - l;
        store<f32>(y + at, log ? v : Mathf.exp(v));
      }
    }
  }
}

// dx = y (dy - Σ_R dy·y) (log: dx = dy - exp(y) Σ_R dy) over R, y the forward output
export function softmaxDimBackward(dx: usize, dy: usize, y: usize, outer: i32, R: i32, inner: i32, log: bool): void {
  if (inner == 1) {
    if (log) logSoftmaxBackward(dx, dy, y, outer, R);
    else softmaxBackward(dx, dy, y, outer, R);
    return;
  }
  const rowB = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const base = <usize>o * <usize>R * rowB;
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
        store<f32>(dx + at, log ? g - Mathf.exp(v) * s : v * (g - s));
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
  for (let r = 0; r < R; r++) s += Mathf.exp(load<f32>(p + <usize>r * step) - m);
  return m + Mathf.log(s);
}
