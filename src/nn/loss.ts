// Loss modules (nn.CrossEntropyLoss, nn.NLLLoss, nn.MSELoss); default reduction 'mean'.
import { Tensor } from "../tensor.js";
import * as F from "../ops/index.js";
import type { Reduction } from "../ops/index.js";
import { checkReduction } from "../ops/loss.js";
import { checkOptions } from "../check.js";
import { Module } from "./module.js";

abstract class Loss extends Module {
  readonly reduction: Reduction;
  constructor(options: { reduction?: Reduction } = {}) {
    super();
    checkOptions(new.target.name, options, ["reduction"]);
    const reduction = options.reduction ?? "mean";
    checkReduction(new.target.name, reduction);
    this.reduction = reduction;
  }
  abstract override forward(input: Tensor, target: Tensor): Tensor;
  override extraRepr(): string {
    return `reduction='${this.reduction}'`;
  }
}

/** Softmax + cross-entropy on logits (N, C) against int32 class indices (N). */
export class CrossEntropyLoss extends Loss {
  forward(input: Tensor, target: Tensor): Tensor {
    return F.crossEntropy(input, target, this.reduction);
  }
}

/** Negative log-likelihood on log-probabilities (N, C) against int32 class indices (N). */
export class NLLLoss extends Loss {
  forward(input: Tensor, target: Tensor): Tensor {
    return F.nllLoss(input, target, this.reduction);
  }
}

export class MSELoss extends Loss {
  forward(input: Tensor, target: Tensor): Tensor {
    return F.mseLoss(input, target, this.reduction);
  }
}
