// Loss modules (torch.nn.*Loss): options as in PyTorch (camelCased), default reduction 'mean';
// class/element weights are buffers named as in PyTorch (weight, pos_weight).
import type { Tensor } from "../tensor.js";
import * as F from "../ops/index.js";
import type { Reduction } from "../ops/index.js";
import { checkReduction } from "../ops/loss.js";
import { checkArgCount, checkOptions } from "../check.js";
import { Module } from "./module.js";

abstract class Loss extends Module {
  readonly reduction: Reduction;
  constructor(options: Record<string, unknown> & { reduction?: Reduction }, keys: readonly string[], extraReductions: readonly string[] = []) {
    super();
    checkOptions(new.target.name, options, ["reduction", ...keys]);
    const reduction = options.reduction ?? "mean";
    checkReduction(new.target.name, reduction, extraReductions);
    this.reduction = reduction;
  }
  /** The loss of input against target, reduced as configured. */
  abstract override forward(input: Tensor, target: Tensor): Tensor;
  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `reduction='${this.reduction}'`;
  }
  /** A weight option kept as a buffer (in the state dict, as in PyTorch), or null. */
  protected weightBuffer(name: string, t: Tensor | null | undefined): Tensor | null {
    if (t === null || t === undefined) return null;
    this.registerBuffer(name, t);
    return t;
  }
}

/** nn.CrossEntropyLoss({ weight, ignoreIndex = -100, reduction, labelSmoothing = 0 }) on logits. */
export class CrossEntropyLoss extends Loss {
  declare weight: Tensor | null;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  constructor(options: F.CrossEntropyOptions = {}) {
    super(options as Record<string, unknown>, ["weight", "ignoreIndex", "labelSmoothing"]);
    checkArgCount("CrossEntropyLoss", arguments, 1);
    this.weight = this.weightBuffer("weight", options.weight);
    this.ignoreIndex = options.ignoreIndex ?? -100;
    this.labelSmoothing = options.labelSmoothing ?? 0;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    checkArgCount("forward", arguments, 2);
    return F.crossEntropy(input, target, {
      weight: this.weight,
      ignoreIndex: this.ignoreIndex,
      reduction: this.reduction,
      labelSmoothing: this.labelSmoothing,
    });
  }
}

/** nn.NLLLoss({ weight, ignoreIndex = -100, reduction }) on log-probabilities. */
export class NLLLoss extends Loss {
  declare weight: Tensor | null;
  readonly ignoreIndex: number;
  constructor(options: F.NLLLossOptions = {}) {
    super(options as Record<string, unknown>, ["weight", "ignoreIndex"]);
    checkArgCount("NLLLoss", arguments, 1);
    this.weight = this.weightBuffer("weight", options.weight);
    this.ignoreIndex = options.ignoreIndex ?? -100;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    checkArgCount("forward", arguments, 2);
    return F.nllLoss(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction });
  }
}

/** nn.MSELoss({ reduction }). */
export class MSELoss extends Loss {
  constructor(options: { reduction?: Reduction } = {}) {
    super(options, []);
    checkArgCount("MSELoss", arguments, 1);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    checkArgCount("forward", arguments, 2);
    return F.mseLoss(input, target, this.reduction);
  }
}

/** nn.L1Loss({ reduction }). */
export class L1Loss extends Loss {
  constructor(options: { reduction?: Reduction } = {}) {
    super(options, []);
    checkArgCount("L1Loss", arguments, 1);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    checkArgCount("forward", arguments, 2);
    return F.l1Loss(input, target, { reduction: this.reduction });
  }
}

/** nn.SmoothL1Loss({ reduction, beta = 1 }). */
export class SmoothL1Loss extends Loss {
  readonly beta: number;
  constructor(options: { reduction?: Reduction; beta?: number } = {}) {
    super(options, ["beta"]);
    checkArgCount("SmoothL1Loss", arguments, 1);
    this.beta = options.beta ?? 1;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    checkArgCount("forward", arguments, 2);
    return F.smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta });
  }
}

/** nn.HuberLoss({ reduction, delta = 1 }). */
export class HuberLoss extends Loss {
  readonly delta: number;
  constructor(options: { reduction?: Reduction; delta?: number } = {}) {
    super(options, ["delta"]);
    checkArgCount("HuberLoss", arguments, 1);
    this.delta = options.delta ?? 1;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    checkArgCount("forward", arguments, 2);
    return F.huberLoss(input, target, { reduction: this.reduction, delta: this.delta });
  }
}

/** nn.BCELoss({ weight, reduction }) on probabilities. */
export class BCELoss extends Loss {
  declare weight: Tensor | null;
  constructor(options: F.BCEOptions = {}) {
    super(options as Record<string, unknown>, ["weight"]);
    checkArgCount("BCELoss", arguments, 1);
    this.weight = this.weightBuffer("weight", options.weight);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    checkArgCount("forward", arguments, 2);
    return F.binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction });
  }
}

/** nn.BCEWithLogitsLoss({ weight, posWeight, reduction }) on logits (buffers weight, pos_weight). */
export class BCEWithLogitsLoss extends Loss {
  declare weight: Tensor | null;
  declare pos_weight: Tensor | null;
  constructor(options: F.BCEWithLogitsOptions = {}) {
    super(options as Record<string, unknown>, ["weight", "posWeight"]);
    checkArgCount("BCEWithLogitsLoss", arguments, 1);
    this.weight = this.weightBuffer("weight", options.weight);
    this.pos_weight = this.weightBuffer("pos_weight", options.posWeight);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    checkArgCount("forward", arguments, 2);
    return F.binaryCrossEntropyWithLogits(input, target, { weight: this.weight, posWeight: this.pos_weight, reduction: this.reduction });
  }
}

/** nn.KLDivLoss({ reduction ("mean" | "batchmean" | "sum" | "none"), logTarget }) on log-probabilities. */
export class KLDivLoss extends Module {
  readonly reduction: Reduction | "batchmean";
  readonly logTarget: boolean;
  constructor(options: F.KLDivOptions = {}) {
    super();
    checkArgCount("KLDivLoss", arguments, 1);
    checkOptions("KLDivLoss", options, ["reduction", "logTarget"]);
    this.reduction = options.reduction ?? "mean";
    checkReduction("KLDivLoss", this.reduction, ["batchmean"]);
    this.logTarget = options.logTarget ?? false;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    checkArgCount("forward", arguments, 2);
    return F.klDiv(input, target, { reduction: this.reduction, logTarget: this.logTarget });
  }
  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `reduction='${this.reduction}'`;
  }
}
