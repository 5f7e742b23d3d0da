// torch.optim.SGD: momentum, dampening, Nesterov, L2 weight decay, maximize.
import { ValueError } from "../errors.js";
import { checkArgCount } from "../check.js";
import type { Tensor } from "../tensor.js";
import { Optimizer, type ParamState, type ParamsInput } from "./optimizer.js";
import { type HyperValues, bool, finite, nonNegative } from "./hyper.js";

/** SGD's hyperparameters and their defaults (torch.optim.SGD, camelCased). */
const HYPER = {
  lr: nonNegative(1e-3),
  momentum: nonNegative(0),
  dampening: finite(0),
  weightDecay: nonNegative(0),
  nesterov: bool(false),
  maximize: bool(false),
};

/** SGD's options. */
export type SGDOptions = HyperValues<typeof HYPER>;

/** torch.optim.SGD (one fused kernel per parameter; see assembly/sgd.ts). */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsInput<SGDOptions>, options: Partial<SGDOptions> = {}) {
    super(params, options, HYPER, "SGD");
    checkArgCount("SGD", arguments, 2);
  }

  protected override crossCheck(o: SGDOptions): void {
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new ValueError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening");
    }
  }

  protected override stateNames(o: SGDOptions): string[] {
    return o.momentum !== 0 ? ["momentum_buffer"] : [];
  }

  protected update(p: Tensor, grad: Tensor, st: ParamState, o: SGDOptions): void {
    // On the first step the kernel sets the momentum buffer to the gradient (PyTorch clones d_p).
    const buf = o.momentum !== 0 ? this.buffer(p, st, "momentum_buffer").ptr : 0;
    p.backend.sgdStep(p.ptr, grad.ptr, buf, p.size, o.lr, o.momentum, 1 - o.dampening, o.weightDecay, o.nesterov, st.step === 1, o.maximize);
  }
}
