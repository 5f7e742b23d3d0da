// torch.optim.RAdam: Adam with the variance of the adaptive learning rate rectified, and plain
// momentum SGD while that variance is intractable (ρ_t ≤ 5).
import { checkArgCount } from "../check.js";
import type { Tensor } from "../tensor.js";
import { Optimizer, type ParamState, type ParamsInput } from "./optimizer.js";
import { type HyperValues, betas, nonNegative } from "./hyper.js";

/** RAdam's hyperparameters and defaults (torch.optim.RAdam). */
const HYPER = { lr: nonNegative(1e-3), betas: betas([0.9, 0.999]), eps: nonNegative(1e-8), weightDecay: nonNegative(0) };
/** RAdam's options. */
export type RAdamOptions = HyperValues<typeof HYPER>;

/** torch.optim.RAdam (one fused kernel per parameter; see assembly/radam.ts). */
export class RAdam extends Optimizer<RAdamOptions> {
  constructor(params: ParamsInput<RAdamOptions>, options: Partial<RAdamOptions> = {}) {
    super(params, options, HYPER, "RAdam");
    checkArgCount("RAdam", arguments, 2);
  }
  protected override stateNames(): string[] {
    return ["exp_avg", "exp_avg_sq"];
  }
  protected update(p: Tensor, grad: Tensor, st: ParamState, o: RAdamOptions): void {
    const [beta1, beta2] = o.betas;
    const t = st.step;
    const bc1 = 1 - beta1 ** t,
      bc2 = 1 - beta2 ** t;
    const rhoInf = 2 / (1 - beta2) - 1;
    const rhoT = rhoInf - (2 * t * beta2 ** t) / bc2;
    const rectified = rhoT > 5;
    const k = rectified ? o.lr * Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) * Math.sqrt(bc2) : 0;
    p.backend.radamStep(
      p.ptr,
      grad.ptr,
      this.buffer(p, st, "exp_avg").ptr,
      this.buffer(p, st, "exp_avg_sq").ptr,
      p.size,
      beta1,
      1 - beta1,
      beta2,
      1 - beta2,
      o.eps,
      o.weightDecay,
      bc1,
      o.lr,
      rectified,
      k,
    );
  }
}
