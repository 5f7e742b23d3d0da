// torch.optim.RMSprop: running average of squared gradients, optional centering and momentum.
import { checkArgCount } from "../check.js";
import type { Tensor } from "../tensor.js";
import { Optimizer, type ParamState, type ParamsInput } from "./optimizer.js";
import { type HyperValues, bool, nonNegative } from "./hyper.js";

/** RMSprop's hyperparameters and defaults (torch.optim.RMSprop). */
const HYPER = {
  lr: nonNegative(1e-2),
  alpha: nonNegative(0.99),
  eps: nonNegative(1e-8),
  weightDecay: nonNegative(0),
  momentum: nonNegative(0),
  centered: bool(false),
  maximize: bool(false),
};
/** RMSprop's options. */
export type RMSpropOptions = HyperValues<typeof HYPER>;

/** torch.optim.RMSprop (one fused kernel per parameter; see assembly/rmsprop.ts). */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: ParamsInput<RMSpropOptions>, options: Partial<RMSpropOptions> = {}) {
    super(params, options, HYPER, "RMSprop");
    checkArgCount("RMSprop", arguments, 2);
  }
  protected override stateNames(o: RMSpropOptions): string[] {
    return ["square_avg", ...(o.momentum > 0 ? ["momentum_buffer"] : []), ...(o.centered ? ["grad_avg"] : [])];
  }
  protected update(p: Tensor, grad: Tensor, st: ParamState, o: RMSpropOptions): void {
    const sq = this.buffer(p, st, "square_avg").ptr;
    const buf = o.momentum > 0 ? this.buffer(p, st, "momentum_buffer").ptr : 0;
    const gavg = o.centered ? this.buffer(p, st, "grad_avg").ptr : 0;
    p.backend.rmspropStep(p.ptr, grad.ptr, sq, gavg, buf, p.size, o.lr, o.alpha, 1 - o.alpha, o.eps, o.weightDecay, o.momentum, o.centered, o.maximize);
  }
}
