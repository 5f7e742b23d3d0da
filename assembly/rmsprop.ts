// torch.optim.RMSprop's update in place over n parameters. Scalars derived from hyperparameters are
// computed by the caller in float64 (1 - α, as PyTorch computes it in Python). One scalar loop (the square root and division dominate).

// d = ±g (+ wd·p); sq = α·sq + (1-α)·d²; centered: ga = α·ga + (1-α)·d, avg = sqrt(sq - ga²) + eps,
// else avg = sqrt(sq) + eps; momentum > 0: buf = μ·buf + d/avg, p -= lr·buf; else p -= lr·d/avg.
// gavg and buf may be 0 when unused
export function rmspropStep(p: usize, g: usize, sq: usize, gavg: usize, buf: usize, n: i32, lr: f32, alpha: f32, oneMinusAlpha: f32, eps: f32,
                            weightDecay: f32, momentum: f32, centered: bool, maximize: bool): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const w = load<f32>(p + o);
    let d = load<f32>(g + o);
    if (maximize) d = -d;
    if (weightDecay != 0) d = d + weightDecay * w;
    const s = load<f32>(sq + o) * alpha + oneMinusAlpha * d * d;
    store<f32>(sq + o, s);
    let avg: f32;
    if (centered) {
      const ga = load<f32>(gavg + o) * alpha + oneMinusAlpha * d;
      store<f32>(gavg + o, ga);
      avg = sqrt<f32>(s - ga * ga) + eps;
    } else {
      avg = sqrt<f32>(s) + eps;
    }
    if (momentum > 0) {
      const b = load<f32>(buf + o) * momentum + d / avg;
      store<f32>(buf + o, b);
      store<f32>(p + o, w - lr * b);
    } else {
      store<f32>(p + o, w - lr * (d / avg));
    }
  }
}
