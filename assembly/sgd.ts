// Optimizer steps with PyTorch's update rules (torch.optim, single-tensor path), in place over
// n parameters. Scalars derived from hyperparameters (1 - dampening, bias corrections, ...) are
// computed once per step in float64 by the caller, as PyTorch does in Python. The f32x4 body and
// the scalar tail apply the same IEEE operations in the same order, so results match bit for bit.

// SGD. d = ±g (+ wd·p); with momentum: buf = first ? d : momentum·buf + (1-dampening)·d,
// d = nesterov ? d + momentum·buf : buf; then p -= lr·d.
export function sgdStep(p: usize, g: usize, buf: usize, n: i32, lr: f32, momentum: f32,
                         oneMinusDampening: f32, weightDecay: f32, nesterov: bool,
                         firstStep: bool, maximize: bool): void {
  const vlr = f32x4.splat(lr), vmom = f32x4.splat(momentum);
  const vdamp = f32x4.splat(oneMinusDampening), vwd = f32x4.splat(weightDecay);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const w = v128.load(p + o);
    let d = v128.load(g + o);
    if (maximize) d = f32x4.neg(d);
    if (weightDecay != 0) d = f32x4.add(d, f32x4.mul(vwd, w));
    if (momentum != 0) {
      const b = firstStep ? d : f32x4.add(f32x4.mul(vmom, v128.load(buf + o)), f32x4.mul(vdamp, d));
      v128.store(buf + o, b);
      d = nesterov ? f32x4.add(d, f32x4.mul(vmom, b)) : b;
    }
    v128.store(p + o, f32x4.sub(w, f32x4.mul(vlr, d)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const w = load<f32>(p + o);
    let d = load<f32>(g + o);
    if (maximize) d = -d;
    if (weightDecay != 0) d = d + weightDecay * w;
    if (momentum != 0) {
      const b: f32 = firstStep ? d : momentum * load<f32>(buf + o) + oneMinusDampening * d;
      store<f32>(buf + o, b);
      d = nesterov ? d + momentum * b : b;
    }
    store<f32>(p + o, w - lr * d);
  }
}

