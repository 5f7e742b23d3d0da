// torch.optim.SGD: momentum, dampening, Nesterov, L2 weight decay, maximize.
import { ValueError } from "../errors.js";
import { checkBool, checkOptions } from "../check.js";
import type { Tensor } from "../tensor.js";
import { Optimizer, type ParamState, type ParamsInput, checkNonNegative } from "./optimizer.js";

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

export class SGD extends Optimizer<SGDOptions> {
  get typeName(): string {
    return "SGD";
  }

  constructor(params: ParamsInput<SGDOptions>, options: Partial<SGDOptions> = {}) {
    checkOptions("SGD", options, ["lr", "momentum", "dampening", "weightDecay", "nesterov", "maximize"]);
    super(params, { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...options });
  }

  protected validate(o: SGDOptions): void {
    checkNonNegative("SGD", "learning rate", o.lr);
    checkNonNegative("SGD", "momentum", o.momentum);
    checkNonNegative("SGD", "weightDecay", o.weightDecay);
    if (typeof o.dampening !== "number" || !Number.isFinite(o.dampening)) throw new ValueError(`SGD: invalid dampening ${String(o.dampening)} (expected a finite number)`);
    checkBool("SGD", "nesterov", o.nesterov);
    checkBool("SGD", "maximize", o.maximize);
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
    p.backend.sgdStep(p.ptr, grad.ptr, buf, p.size, o.lr, o.momentum, 1 - o.dampening, o.weightDecay,
      o.nesterov, st.step === 1, o.maximize);
  }
}
