// torch.optim.Adamax's update in place over n parameters; clr = lr / (1 - β1^step) is computed by
// the caller.

// d = ±g (+ wd·p); m = β1·m + (1-β1)·d; u = max(β2·u, |d| + eps); p -= clr · m / u
export function adamaxStep(p: usize, g: usize, m: usize, u: usize, n: i32, beta1: f32, oneMinusBeta1: f32, beta2: f32, eps: f32,
                           weightDecay: f32, clr: f32, maximize: bool): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const w = load<f32>(p + o);
    let d = load<f32>(g + o);
    if (maximize) d = -d;
    if (weightDecay != 0) d = d + weightDecay * w;
    const mi = load<f32>(m + o) * beta1 + oneMinusBeta1 * d;
    store<f32>(m + o, mi);
    const ui = max<f32>(load<f32>(u + o) * beta2, abs<f32>(d) + eps);
    store<f32>(u + o, ui);
    store<f32>(p + o, w - clr * (mi / ui));
  }
}
