// Layers: Linear, activations, containers and shape helpers.
import { ShapeError, ValueError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import * as F from "../ops/index.js";
import { linearRelu } from "../ops/matmul.js";
import { Module, Parameter } from "./module.js";
import { kaimingUniform_, uniform_ } from "./init.js";
import { checkBool, checkInt, checkOptions, checkArgCount } from "../check.js";
import { MAX_DIM } from "../tensor.js";

/**
 * y = x Wᵀ + b with weight [out_features, in_features] and bias [out_features], initialised as
 * in PyTorch: kaiming_uniform(a=√5) for W (= U(±1/√in)) and U(±1/√in) for b.
 */
export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: { bias?: boolean } = {},
  ) {
    super();

    checkArgCount("Linear", arguments, 3);
    for (const [name, v] of [
      ["inFeatures", inFeatures],
      ["outFeatures", outFeatures],
    ] as const) {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_DIM)
        throw new ValueError(`Linear: ${name} must be a non-negative integer, got ${v}`);
    }
    checkOptions("Linear", options, ["bias"]);
    const bias = options.bias ?? true;
    checkBool("Linear", "bias", bias);
    this.weight = Parameter.empty([outFeatures, inFeatures]);
    this.bias = bias ? Parameter.empty([outFeatures]) : null;
    this.resetParameters();
  }

  /** Draws weight and bias again with PyTorch's default init. */
  resetParameters(): void {
    checkArgCount("resetParameters", arguments, 0);
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const bound = this.inFeatures > 0 ? 1 / Math.sqrt(this.inFeatures) : 0;
      uniform_(this.bias, -bound, bound);
    }
  }

  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** nn.ReLU: max(x, 0). */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.relu(x);
  }
}

/** nn.Identity: returns its input. */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return x;
  }
}

/** Flattens dims startDim..endDim (default 1..-1: keeps the batch dim), as nn.Flatten. */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
    checkArgCount("Flatten", arguments, 2);
    checkInt("Flatten", "startDim", startDim, -MAX_DIM);
    checkInt("Flatten", "endDim", endDim, -MAX_DIM);
  }
  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.flatten(x, this.startDim, this.endDim);
  }
  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** nn.Softmax(dim): softmax along dim. */
export class Softmax extends Module {
  constructor(readonly dim = -1) {
    super();
    checkArgCount("Softmax", arguments, 1);
    checkInt("Softmax", "dim", dim, -MAX_DIM);
  }
  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.softmax(x, this.dim);
  }
  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `dim=${this.dim}`;
  }
}

/** nn.LogSoftmax(dim): log-softmax along dim. */
export class LogSoftmax extends Module {
  constructor(readonly dim = -1) {
    super();
    checkArgCount("LogSoftmax", arguments, 1);
    checkInt("LogSoftmax", "dim", dim, -MAX_DIM);
  }
  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.logSoftmax(x, this.dim);
  }
  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `dim=${this.dim}`;
  }
}

/**
 * Runs modules in order. Children are named "0", "1", ... as in PyTorch, or by the keys of an
 * object: `new Sequential({ fc1: new Linear(784, 128), act: new ReLU() })`.
 */
export class Sequential extends Module {
  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    const one = modules[0] as unknown;
    const isRecord =
      modules.length === 1 && one !== null && typeof one === "object" && !(one instanceof Module) && Object.getPrototypeOf(one) === Object.prototype;
    const named: [string, Module][] = isRecord ? Object.entries(modules[0] as Record<string, Module>) : (modules as Module[]).map((m, i) => [String(i), m]);
    for (const [name, m] of named) {
      if (!(m instanceof Module)) throw new ValueError(`Sequential: element '${name}' is not a Module`);
      (this as unknown as Record<string, Module>)[name] = m;
    }
  }

  /** Number of layers. */
  override get length(): number {
    return Array.from(this.children()).length;
  }

  /** The i-th module (negative counts from the end). */
  at(i: number): Module {
    checkArgCount("at", arguments, 1);
    const kids = Array.from(this.children());
    const m = kids[i < 0 ? i + kids.length : i];
    if (m === undefined) throw new ShapeError(`Sequential: index ${i} out of range for ${kids.length} modules`);
    return m;
  }

  /** Appends a module under the next integer name. */
  append(m: Module): this {
    checkArgCount("append", arguments, 1);
    (this as unknown as Record<string, Module>)[String(this.length)] = m;
    return this;
  }

  /**
   * Runs the children in order. A Linear directly followed by a ReLU (both with their own
   * forward, not overridden) runs as one fused gemm + ReLU (ops linearRelu): the same bits.
   */
  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    const kids = Array.from(this.children());
    let y: unknown = x;
    for (let i = 0; i < kids.length; i++) {
      const m = kids[i];
      if (fusesWithRelu(m, kids[i + 1])) {
        y = linearRelu(y as Tensor, m.weight, m.bias);
        i++;
      } else y = m.forward(y);
    }
    return y as Tensor;
  }
}

/** Whether m is a plain Linear followed by a plain ReLU (subclasses may change what forward does). */
function fusesWithRelu(m: Module, next: Module | undefined): m is Linear {
  return m instanceof Linear && m.forward === Linear.prototype.forward && next instanceof ReLU && next.forward === ReLU.prototype.forward;
}
