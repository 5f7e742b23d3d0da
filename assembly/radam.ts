// torch.optim.RAdam's update in place over n parameters. The caller computes in float64, per step,
// bc1 = 1 - β1^t, rectified (whether ρ_t > 5) and, when rectified, k = lr·rect·sqrt(1 - β2^t).

// d = g (+ wd·p); m = β1·m + (1-β1)·d; v = β2·v + (1-β2)·d²; m̂ = m / bc1;
// rectified: p -= m̂ · k / (sqrt(v) + eps); else p -= m̂ · lr
export function radamStep(p: usize, g: usize, m: usize, v: usize, n: i32, beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, eps: f32,
                          weightDecay: f32, bc1: f32, lr: f32, rectified: bool, k: f32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const w = load<f32>(p + o);
    let d = load<f32>(g + o);
    if (weightDecay != 0) d = d + weightDecay * w;
    const mi = load<f32>(m + o) * beta1 + oneMinusBeta1 * d;
    const vi = load<f32>(v + o) * beta2 + oneMinusBeta2 * d * d;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    const mhat = mi / bc1;
    store<f32>(p + o, rectified ? w - mhat * k / (sqrt<f32>(vi) + eps) : w - mhat * lr);
  }
}
