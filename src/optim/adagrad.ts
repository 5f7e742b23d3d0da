// torch.optim.Adagrad: per-element learning rates from the sum of squared gradients.
import { checkArgCount } from "../check.js";
import type { Tensor } from "../tensor.js";
import { Optimizer, type ParamState, type ParamsInput } from "./optimizer.js";
import { type HyperValues, bool, nonNegative } from "./hyper.js";

/** Adagrad's hyperparameters and defaults (torch.optim.Adagrad). */
const HYPER = {
  lr: nonNegative(1e-2),
  lrDecay: nonNegative(0),
  weightDecay: nonNegative(0),
  initialAccumulatorValue: nonNegative(0),
  eps: nonNegative(1e-10),
  maximize: bool(false),
};
/** Adagrad's options. */
export type AdagradOptions = HyperValues<typeof HYPER>;

/** torch.optim.Adagrad (one fused kernel per parameter; see assembly/adagrad.ts). */
export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(params: ParamsInput<AdagradOptions>, options: Partial<AdagradOptions> = {}) {
    super(params, options, HYPER, "Adagrad");
    checkArgCount("Adagrad", arguments, 2);
  }
  protected override stateNames(): string[] {
    return ["sum"];
  }
  /** torch fills the accumulator with initial_accumulator_value when the state is created. */
  protected override initialValue(_name: string, o: AdagradOptions): number {
    return o.initialAccumulatorValue;
  }
  protected update(p: Tensor, grad: Tensor, st: ParamState, o: AdagradOptions): void {
    const sum = this.buffer(p, st, "sum", o.initialAccumulatorValue);
    const clr = o.lr / (1 + (st.step - 1) * o.lrDecay);
    p.backend.adagradStep(p.ptr, grad.ptr, sum.ptr, p.size, clr, o.eps, o.weightDecay, o.maximize);
  }
}
