// Optimizer steps with PyTorch's update rules (torch.optim, single-tensor path), in place over
// n parameters. Scalars derived from hyperparameters (1 - dampening, bias corrections, ...) are
// computed once per step in float64 by the caller, as PyTorch does in Python. The f32x4 body and
// the scalar tail apply the same IEEE operations in the same order, so results match bit for bit.

// Adam / AdamW. d = ±g; AdamW: p *= decay (= 1 - lr·wd); Adam: d += wd·p.
// m = lerp(m, d, 1-β1) = m + (1-β1)(d - m); v = β2·v + (1-β2)·d²;
// vmax = max(vmax, v) with amsgrad; p -= stepSize · m / (sqrt(v or vmax) / bc2Sqrt + eps)
// with stepSize = lr / (1 - β1^t) and bc2Sqrt = sqrt(1 - β2^t).
export function adamStep(p: usize, g: usize, m: usize, v: usize, vmax: usize, n: i32,
                          oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, eps: f32,
                          weightDecay: f32, decay: f32, decoupled: bool, amsgrad: bool,
                          maximize: bool, stepSize: f32, bc2Sqrt: f32): void {
  const vb1 = f32x4.splat(oneMinusBeta1), vbeta2 = f32x4.splat(beta2);
  const vb2 = f32x4.splat(oneMinusBeta2), veps = f32x4.splat(eps), vwd = f32x4.splat(weightDecay);
  const vdecay = f32x4.splat(decay), vstep = f32x4.splat(stepSize), vbc2 = f32x4.splat(bc2Sqrt);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    let w = v128.load(p + o);
    let d = v128.load(g + o);
    if (maximize) d = f32x4.neg(d);
    if (weightDecay != 0) {
      if (decoupled) w = f32x4.mul(w, vdecay);
      else d = f32x4.add(d, f32x4.mul(vwd, w));
    }
    let mi = v128.load(m + o);
    mi = f32x4.add(mi, f32x4.mul(vb1, f32x4.sub(d, mi)));
    const vi = f32x4.add(f32x4.mul(vbeta2, v128.load(v + o)), f32x4.mul(vb2, f32x4.mul(d, d)));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    let vd = vi;
    if (amsgrad) {
      vd = f32x4.max(v128.load(vmax + o), vi);
      v128.store(vmax + o, vd);
    }
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vd), vbc2), veps);
    v128.store(p + o, f32x4.sub(w, f32x4.mul(vstep, f32x4.div(mi, denom))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    let w = load<f32>(p + o);
    let d = load<f32>(g + o);
    if (maximize) d = -d;
    if (weightDecay != 0) {
      if (decoupled) w = w * decay;
      else d = d + weightDecay * w;
    }
    let mi = load<f32>(m + o);
    mi = mi + oneMinusBeta1 * (d - mi);
    const vi = beta2 * load<f32>(v + o) + oneMinusBeta2 * (d * d);
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    let vd = vi;
    if (amsgrad) {
      vd = max(load<f32>(vmax + o), vi);
      store<f32>(vmax + o, vd);
    }
    const denom = Mathf.sqrt(vd) / bc2Sqrt + eps;
    store<f32>(p + o, w - stepSize * (mi / denom));
  }
}
