// torch.optim.Adagrad's update in place over n parameters; the step's learning rate
// clr = lr / (1 + (step - 1)·lrDecay) is computed by the caller.

// d = ±g (+ wd·p); sum += d²; p -= clr · d / (sqrt(sum) + eps)
export function adagradStep(p: usize, g: usize, sum: usize, n: i32, clr: f32, eps: f32, weightDecay: f32, maximize: bool): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const w = load<f32>(p + o);
    let d = load<f32>(g + o);
    if (maximize) d = -d;
    if (weightDecay != 0) d = d + weightDecay * w;
    const s = load<f32>(sum + o) + d * d;
    store<f32>(sum + o, s);
    store<f32>(p + o, w - clr * (d / (sqrt<f32>(s) + eps)));
  }
}
