// torch.optim.NAdam's update in place over n parameters. The caller computes, in float64, the
// momentum schedule's products and passes c1 = lr·(1 - μ_t)/(1 - Π_{≤t} μ) and
// c2 = lr·μ_{t+1}/(1 - Π_{≤t+1} μ), and bc2 = 1 - β2^t.

// d = g (+ wd·p); m = β1·m + (1-β1)·d; v = β2·v + (1-β2)·d²; denom = sqrt(v / bc2) + eps;
// p -= c1 · d / denom; p -= c2 · m / denom
export function nadamStep(p: usize, g: usize, m: usize, v: usize, n: i32, beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, eps: f32,
                          weightDecay: f32, bc2: f32, c1: f32, c2: f32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    let w = load<f32>(p + o);
    let d = load<f32>(g + o);
    if (weightDecay != 0) d = d + weightDecay * w;
    const mi = load<f32>(m + o) * beta1 + oneMinusBeta1 * d;
    const vi = load<f32>(v + o) * beta2 + oneMinusBeta2 * d * d;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    const denom = sqrt<f32>(vi / bc2) + eps;
    w = w - c1 * (d / denom);
    w = w - c2 * (mi / denom);
    store<f32>(p + o, w);
  }
}
