// torch.optim.Adam and AdamW: bias-corrected moments, eps after the square root, optional
// AMSGrad; Adam adds L2 weight decay to the gradient, AdamW decays the weights (decoupled).
import { ValueError } from "../errors.js";
import { checkBool, checkOptions, describe } from "../check.js";
import type { Tensor } from "../tensor.js";
import { Optimizer, type ParamState, type ParamsInput, checkNonNegative } from "./optimizer.js";

export interface AdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

export class Adam extends Optimizer<AdamOptions> {
  protected readonly decoupled: boolean = false;

  get typeName(): string {
    return this.decoupled ? "AdamW" : "Adam";
  }

  constructor(params: ParamsInput<AdamOptions>, options: Partial<AdamOptions> = {}) {
    checkOptions(new.target === AdamW ? "AdamW" : "Adam", options, ["lr", "betas", "eps", "weightDecay", "amsgrad", "maximize"]);
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...options });
  }

  protected validate(o: AdamOptions): void {
    const name = this.constructor.name;
    checkNonNegative(name, "learning rate", o.lr);
    checkNonNegative(name, "eps", o.eps);
    checkNonNegative(name, "weightDecay", o.weightDecay);
    if (!Array.isArray(o.betas) || o.betas.length !== 2) throw new ValueError(`${name}: betas must be a pair [beta1, beta2], got ${describe(o.betas)}`);
    for (const [i, b] of o.betas.entries()) {
      if (typeof b !== "number" || !(b >= 0 && b < 1)) throw new ValueError(`${name}: invalid beta parameter at index ${i}: ${String(b)} (expected 0 ≤ beta < 1)`);
    }
    checkBool(name, "amsgrad", o.amsgrad);
    checkBool(name, "maximize", o.maximize);
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
    p.backend.adamStep(p.ptr, grad.ptr, m.ptr, v.ptr, vmax, p.size, 1 - beta1, beta2, 1 - beta2, o.eps,
      o.weightDecay, 1 - o.lr * o.weightDecay, this.decoupled, o.amsgrad, o.maximize, stepSize, bc2Sqrt);
  }
}

/** Adam with decoupled weight decay (default 0.01), torch.optim.AdamW. */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;

  constructor(params: ParamsInput<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, { weightDecay: 1e-2, ...options });
  }
}
