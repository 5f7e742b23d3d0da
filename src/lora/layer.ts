// lora.LoraLinear: PEFT's lora.Linear around an nn.Linear: y = base(x) + lora_B(lora_A(dropout(x))) · scaling.
// The submodules carry PEFT's names (base_layer, lora_A.default, lora_B.default, lora_dropout.default),
// so a model's state-dict keys read as PEFT ≥ 0.7's without the `base_model.model.` prefix.
import type { Tensor } from "../tensor.js";
import * as F from "../ops/index.js";
import { Module } from "../nn/module.js";
import { Linear } from "../nn/layers.js";
import { Dropout } from "../nn/norm.js";
import { ModuleDict } from "../nn/container.js";
import { Identity } from "../nn/layers.js";
import { zeros_ } from "../nn/init.js";
import { noGrad } from "../lifetime.js";
import { checkArgCount } from "../check.js";

/** PEFT's adapter name; there is one adapter per layer here, always under this key. */
export const ADAPTER_NAME = "default";

/** A LoRA-wrapped Linear, as PEFT's `peft.tuners.lora.Linear` with one adapter. */
export class LoraLinear extends Module {
  /** The wrapped layer (frozen by lora.apply). */
  base_layer: Linear;
  /** nn.Dropout(p) on the adapter's input, nn.Identity when p is 0 (as PEFT). */
  lora_dropout: ModuleDict;
  /** Linear(in, r, no bias), kaiming-uniform (a = √5) as PEFT's default init. */
  lora_A: ModuleDict;
  /** Linear(r, out, no bias), zeros: the wrapped model starts equal to the base model. */
  lora_B: ModuleDict;
  /** Whether the adapter is folded into base_layer.weight (see merge()). */
  declare merged: boolean;

  constructor(
    base: Linear,
    readonly r: number,
    readonly alpha: number,
    dropout: number,
    /** alpha / r, or alpha / √r with rank-stabilised LoRA (use_rslora). */
    readonly scaling: number,
  ) {
    super();
    checkArgCount("LoraLinear", arguments, 5);
    this.base_layer = base;
    this.lora_dropout = new ModuleDict({ [ADAPTER_NAME]: dropout > 0 ? new Dropout(dropout) : new Identity() });
    const a = new Linear(base.inFeatures, r, { bias: false }); // nn.Linear's init is kaiming_uniform(a=√5)
    const b = new Linear(r, base.outFeatures, { bias: false });
    zeros_(b.weight);
    this.lora_A = new ModuleDict({ [ADAPTER_NAME]: a });
    this.lora_B = new ModuleDict({ [ADAPTER_NAME]: b });
    Object.defineProperty(this, "merged", { value: false, writable: true, enumerable: false });
  }

  /** The A matrix's layer (in → r). */
  get loraA(): Linear {
    return this.lora_A.get(ADAPTER_NAME) as Linear;
  }
  /** The B matrix's layer (r → out). */
  get loraB(): Linear {
    return this.lora_B.get(ADAPTER_NAME) as Linear;
  }
  /** The input features of the wrapped layer. */
  get inFeatures(): number {
    return this.base_layer.inFeatures;
  }
  /** The output features of the wrapped layer. */
  get outFeatures(): number {
    return this.base_layer.outFeatures;
  }

  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    const y = this.base_layer.forward(x);
    if (this.merged) return y;
    const h = this.loraB.forward(this.loraA.forward(this.lora_dropout.get(ADAPTER_NAME).forward(x) as Tensor));
    return F.add(y, F.mul(h, this.scaling));
  }

  /** scaling · B·A, [out, in]: what merge() adds to the base weight. */
  deltaWeight(): Tensor {
    checkArgCount("deltaWeight", arguments, 0);
    return noGrad(() => F.mul(F.matmul(this.loraB.weight, this.loraA.weight), this.scaling));
  }

  /** Folds the adapter into the base weight (W += scaling·B·A); forward then runs the base layer only. */
  merge(): void {
    checkArgCount("merge", arguments, 0);
    if (this.merged) return; // PEFT warns "Already merged. Nothing to do."
    this.addDelta(1);
    this.merged = true;
  }

  /** Takes the adapter out of the base weight again (W -= scaling·B·A). */
  unmerge(): void {
    checkArgCount("unmerge", arguments, 0);
    if (!this.merged) return; // PEFT warns "Already unmerged. Nothing to do."
    this.addDelta(-1);
    this.merged = false;
  }

  private addDelta(sign: 1 | -1): void {
    noGrad(() => {
      const delta = this.deltaWeight();
      if (sign > 0) this.base_layer.weight.add_(delta);
      else this.base_layer.weight.sub_(delta);
    });
  }

  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `r=${this.r}, lora_alpha=${this.alpha}, scaling=${this.scaling}${this.merged ? ", merged" : ""}`;
  }
}
