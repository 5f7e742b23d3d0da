// torch.optim.NAdam: Adam with Nesterov momentum and a momentum schedule
// μ_t = β1·(1 - ½·0.96^(t·momentumDecay)). The running product Π μ is per-parameter state
// (mu_product), saved with the optimizer. The update follows current PyTorch: PyTorch 1.13
// multiplied μ_t into the next step's product twice, a bug fixed in PyTorch 2.0.
import { checkArgCount } from "../check.js";
import type { Tensor } from "../tensor.js";
import { Optimizer, type ParamState, type ParamsInput } from "./optimizer.js";
import { type HyperValues, betas, nonNegative } from "./hyper.js";

/** NAdam's hyperparameters and defaults (torch.optim.NAdam). */
const HYPER = { lr: nonNegative(2e-3), betas: betas([0.9, 0.999]), eps: nonNegative(1e-8), weightDecay: nonNegative(0), momentumDecay: nonNegative(4e-3) };
/** NAdam's options. */
export type NAdamOptions = HyperValues<typeof HYPER>;

/** torch.optim.NAdam (one fused kernel per parameter; see assembly/nadam.ts). */
export class NAdam extends Optimizer<NAdamOptions> {
  constructor(params: ParamsInput<NAdamOptions>, options: Partial<NAdamOptions> = {}) {
    super(params, options, HYPER, "NAdam");
    checkArgCount("NAdam", arguments, 2);
  }
  protected override stateNames(): string[] {
    return ["exp_avg", "exp_avg_sq"];
  }
  protected override scalarNames(): string[] {
    return ["mu_product"];
  }
  protected update(p: Tensor, grad: Tensor, st: ParamState, o: NAdamOptions): void {
    const [beta1, beta2] = o.betas;
    const t = st.step;
    const mu = beta1 * (1 - 0.5 * 0.96 ** (t * o.momentumDecay));
    const muNext = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * o.momentumDecay));
    const muProduct = (st.scalars.mu_product ?? 1) * mu;
    st.scalars.mu_product = muProduct;
    const c1 = (o.lr * (1 - mu)) / (1 - muProduct);
    const c2 = (o.lr * muNext) / (1 - muProduct * muNext);
    p.backend.nadamStep(
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
      1 - beta2 ** t,
      c1,
      c2,
    );
  }
}
