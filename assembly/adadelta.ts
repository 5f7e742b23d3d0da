// torch.optim.Adadelta's update in place over n parameters (1 - ρ computed by the caller in float64).

// d = ±g (+ wd·p); sq = ρ·sq + (1-ρ)·d²; delta = sqrt(acc + eps) / sqrt(sq + eps) · d;
// acc = ρ·acc + (1-ρ)·delta²; p -= lr·delta
export function adadeltaStep(p: usize, g: usize, sq: usize, acc: usize, n: i32, lr: f32, rho: f32, oneMinusRho: f32, eps: f32,
                             weightDecay: f32, maximize: bool): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const w = load<f32>(p + o);
    let d = load<f32>(g + o);
    if (maximize) d = -d;
    if (weightDecay != 0) d = d + weightDecay * w;
    const s = load<f32>(sq + o) * rho + oneMinusRho * d * d;
    store<f32>(sq + o, s);
    const delta = sqrt<f32>(load<f32>(acc + o) + eps) / sqrt<f32>(s + eps) * d;
    store<f32>(acc + o, load<f32>(acc + o) * rho + oneMinusRho * delta * delta);
    store<f32>(p + o, w - lr * delta);
  }
}
