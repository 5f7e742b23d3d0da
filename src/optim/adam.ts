// torch.optim.Adam and AdamW: bias-corrected moments, eps after the square root, optional
// AMSGrad; Adam adds L2 weight decay to the gradient, AdamW decays the weights (decoupled).
import { checkArgCount } from "../check.js";
import type { Tensor } from "../tensor.js";
import { Optimizer, type ParamState, type ParamsInput } from "./optimizer.js";
import { type HyperValues, betas, bool, nonNegative } from "./hyper.js";

/** Adam's hyperparameters and defaults (torch.optim.Adam); AdamW differs only in weightDecay (0.01). */
const ADAM = {
  lr: nonNegative(1e-3),
  betas: betas([0.9, 0.999]),
  eps: nonNegative(1e-8),
  weightDecay: nonNegative(0),
  amsgrad: bool(false),
  maximize: bool(false),
};
const ADAMW = { ...ADAM, weightDecay: nonNegative(1e-2) };

/** Adam's and AdamW's options. */
export type AdamOptions = HyperValues<typeof ADAM>;

/** torch.optim.Adam (one fused kernel per parameter; see assembly/adam.ts). */
export class Adam extends Optimizer<AdamOptions> {
  /** AdamW: weight decay applied to the weights, not added to the gradient. */
  protected get decoupled(): boolean {
    return this.typeName === "AdamW";
  }

  constructor(params: ParamsInput<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, options, new.target === AdamW ? ADAMW : ADAM, new.target === AdamW ? "AdamW" : "Adam");
    checkArgCount(this.typeName, arguments, 2);
  }

  protected override stateNames(o: AdamOptions): string[] {
    return o.amsgrad ? ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] : ["exp_avg", "exp_avg_sq"];
  }

  protected update(p: Tensor, grad: Tensor, st: ParamState, o: AdamOptions): void {
    const [beta1, beta2] = o.betas;
    const m = this.buffer(p, st, "exp_avg");
    const v = this.buffer(p, st, "exp_avg_sq");
    const vmax = o.amsgrad ? this.buffer(p, st, "max_exp_avg_sq").ptr : 0;
    const stepSize = o.lr / (1 - beta1 ** st.step);
    const bc2Sqrt = Math.sqrt(1 - beta2 ** st.step);
    p.backend.adamStep(
      p.ptr,
      grad.ptr,
      m.ptr,
      v.ptr,
      vmax,
      p.size,
      1 - beta1,
      beta2,
      1 - beta2,
      o.eps,
      o.weightDecay,
      1 - o.lr * o.weightDecay,
      this.decoupled,
      o.amsgrad,
      o.maximize,
      stepSize,
      bc2Sqrt,
    );
  }
}

/** Adam with decoupled weight decay (default 0.01), torch.optim.AdamW. */
export class AdamW extends Adam {
  constructor(params: ParamsInput<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, options);
    checkArgCount("AdamW", arguments, 2);
  }
}
