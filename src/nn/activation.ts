// Activation modules (torch.nn.GELU, SiLU, ...): each wraps its functional form.
import { ValueError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import * as F from "../ops/index.js";
import { Module } from "./module.js";
import { checkArgCount, checkFiniteNumber, checkOptions, describe } from "../check.js";

/** nn.GELU({ approximate: "none" | "tanh" }). */
export class GELU extends Module {
  readonly approximate: "none" | "tanh";
  constructor(options: { approximate?: "none" | "tanh" } = {}) {
    super();
    checkArgCount("GELU", arguments, 1);
    checkOptions("GELU", options, ["approximate"]);
    const a = options.approximate ?? "none";
    if (a !== "none" && a !== "tanh") throw new ValueError(`GELU: approximate must be "none" or "tanh", got ${describe(a)}`);
    this.approximate = a;
  }
  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.gelu(x, { approximate: this.approximate });
  }
  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `approximate='${this.approximate}'`;
  }
}

/** nn.SiLU: x · σ(x). */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.silu(x);
  }
}

/** nn.Sigmoid. */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.sigmoid(x);
  }
}

/** nn.Tanh. */
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.tanh(x);
  }
}

/** nn.LeakyReLU(negativeSlope = 0.01). */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
    checkArgCount("LeakyReLU", arguments, 1);
    checkFiniteNumber("LeakyReLU", "negativeSlope", negativeSlope);
  }
  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.leakyRelu(x, this.negativeSlope);
  }
  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `negative_slope=${this.negativeSlope}`;
  }
}

/** nn.ELU(alpha = 1). */
export class ELU extends Module {
  constructor(readonly alpha = 1) {
    super();
    checkArgCount("ELU", arguments, 1);
    checkFiniteNumber("ELU", "alpha", alpha);
  }
  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.elu(x, this.alpha);
  }
  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `alpha=${this.alpha}`;
  }
}

/** nn.Softplus(beta = 1, threshold = 20). */
export class Softplus extends Module {
  constructor(
    readonly beta = 1,
    readonly threshold = 20,
  ) {
    super();
    checkArgCount("Softplus", arguments, 2);
    checkFiniteNumber("Softplus", "beta", beta);
    checkFiniteNumber("Softplus", "threshold", threshold);
  }
  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.softplus(x, this.beta, this.threshold);
  }
  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}
