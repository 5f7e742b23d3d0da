// torch.optim.Adadelta: updates scaled by the ratio of running RMS of updates and of gradients.
import { checkArgCount } from "../check.js";
import type { Tensor } from "../tensor.js";
import { Optimizer, type ParamState, type ParamsInput } from "./optimizer.js";
import { type HyperValues, bool, inRange, nonNegative } from "./hyper.js";

/** Adadelta's hyperparameters and defaults (torch.optim.Adadelta). */
const HYPER = { lr: nonNegative(1.0), rho: inRange(0, 1, 0.9), eps: nonNegative(1e-6), weightDecay: nonNegative(0), maximize: bool(false) };
/** Adadelta's options. */
export type AdadeltaOptions = HyperValues<typeof HYPER>;

/** torch.optim.Adadelta (one fused kernel per parameter; see assembly/adadelta.ts). */
export class Adadelta extends Optimizer<AdadeltaOptions> {
  constructor(params: ParamsInput<AdadeltaOptions>, options: Partial<AdadeltaOptions> = {}) {
    super(params, options, HYPER, "Adadelta");
    checkArgCount("Adadelta", arguments, 2);
  }
  protected override stateNames(): string[] {
    return ["square_avg", "acc_delta"];
  }
  protected update(p: Tensor, grad: Tensor, st: ParamState, o: AdadeltaOptions): void {
    p.backend.adadeltaStep(
      p.ptr,
      grad.ptr,
      this.buffer(p, st, "square_avg").ptr,
      this.buffer(p, st, "acc_delta").ptr,
      p.size,
      o.lr,
      o.rho,
      1 - o.rho,
      o.eps,
      o.weightDecay,
      o.maximize,
    );
  }
}
