// torch.optim.Adamax: Adam with the infinity norm of past gradients.
import { checkArgCount } from "../check.js";
import type { Tensor } from "../tensor.js";
import { Optimizer, type ParamState, type ParamsInput } from "./optimizer.js";
import { type HyperValues, betas, bool, nonNegative } from "./hyper.js";

/** Adamax's hyperparameters and defaults (torch.optim.Adamax). */
const HYPER = { lr: nonNegative(2e-3), betas: betas([0.9, 0.999]), eps: nonNegative(1e-8), weightDecay: nonNegative(0), maximize: bool(false) };
/** Adamax's options. */
export type AdamaxOptions = HyperValues<typeof HYPER>;

/** torch.optim.Adamax (one fused kernel per parameter; see assembly/adamax.ts). */
export class Adamax extends Optimizer<AdamaxOptions> {
  constructor(params: ParamsInput<AdamaxOptions>, options: Partial<AdamaxOptions> = {}) {
    super(params, options, HYPER, "Adamax");
    checkArgCount("Adamax", arguments, 2);
  }
  protected override stateNames(): string[] {
    return ["exp_avg", "exp_inf"];
  }
  protected update(p: Tensor, grad: Tensor, st: ParamState, o: AdamaxOptions): void {
    const [beta1, beta2] = o.betas;
    const clr = o.lr / (1 - beta1 ** st.step);
    p.backend.adamaxStep(
      p.ptr,
      grad.ptr,
      this.buffer(p, st, "exp_avg").ptr,
      this.buffer(p, st, "exp_inf").ptr,
      p.size,
      beta1,
      1 - beta1,
      beta2,
      o.eps,
      o.weightDecay,
      clr,
      o.maximize,
    );
  }
}
