// Convolution and pooling layers over NCHW images.
import { ValueError } from "../errors.js";
import { MAX_DIM, Tensor } from "../tensor.js";
import * as F from "../ops/index.js";
import { type Pair, pair, poolParams } from "../ops/conv.js";
import { Module, Parameter } from "./module.js";
import { checkBool, checkOptions } from "../check.js";
import { kaimingUniform_, uniform_ } from "./init.js";

export interface Conv2dLayerOptions {
  stride?: Pair;
  /** Zero padding per side, or "valid" (none) / "same" (output size = input size, stride 1). */
  padding?: Pair | "valid" | "same";
  dilation?: Pair;
  bias?: boolean;
}

/**
 * nn.Conv2d: weight [out, in, kh, kw] and bias [out], initialised as in PyTorch
 * (kaiming_uniform(a=√5) = U(±1/√fan_in) with fan_in = in·kh·kw; bias U(±1/√fan_in)).
 */
export class Conv2d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, options: Conv2dLayerOptions = {}) {
    super();
    for (const [name, v] of [["inChannels", inChannels], ["outChannels", outChannels]] as const) {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_DIM) throw new ValueError(`Conv2d: ${name} must be a positive integer, got ${v}`);
    }
    checkOptions("Conv2d", options, ["stride", "padding", "dilation", "bias"]);
    if (options.bias !== undefined) checkBool("Conv2d", "bias", options.bias);
    this.kernelSize = pair("Conv2d kernel_size", kernelSize, 1);
    this.stride = pair("Conv2d stride", options.stride ?? 1, 1);
    this.dilation = pair("Conv2d dilation", options.dilation ?? 1, 1);
    const padding = options.padding ?? 0;
    if (padding === "valid") this.padding = [0, 0];
    else if (padding === "same") {
      if (this.stride[0] !== 1 || this.stride[1] !== 1) throw new ValueError("Conv2d: padding='same' is not supported for strided convolutions");
      const total = this.kernelSize.map((k, i) => this.dilation[i] * (k - 1));
      if (total.some((t) => t % 2 !== 0)) throw new ValueError("Conv2d: padding='same' needs an odd kernel extent (symmetric padding only)");
      this.padding = [total[0] / 2, total[1] / 2];
    } else this.padding = pair("Conv2d padding", padding, 0);
    const [kh, kw] = this.kernelSize;
    this.weight = Parameter.empty([outChannels, inChannels, kh, kw]);
    this.bias = options.bias ?? true ? Parameter.empty([outChannels]) : null;
    this.resetParameters();
  }

  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const bound = 1 / Math.sqrt(this.inChannels * this.kernelSize[0] * this.kernelSize[1]);
      uniform_(this.bias, -bound, bound);
    }
  }

  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation });
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernel_size=(${this.kernelSize}), stride=(${this.stride}), padding=(${this.padding})`;
  }
}

abstract class Pool2d extends Module {
  readonly stride: Pair;
  constructor(readonly kernelSize: Pair, readonly options: { stride?: Pair; padding?: Pair; ceilMode?: boolean } = {},
              allowed = ["stride", "padding"]) {
    super();
    // The same checks as the functional form, now rather than at the first forward().
    poolParams(new.target.name, kernelSize, options, allowed);
    this.stride = options.stride ?? kernelSize;
  }
  override extraRepr(): string {
    return `kernel_size=${JSON.stringify(this.kernelSize)}, stride=${JSON.stringify(this.stride)}, padding=${JSON.stringify(this.options.padding ?? 0)}`;
  }
}

/** nn.MaxPool2d(kernelSize, { stride = kernelSize, padding = 0, ceilMode = false }). */
export class MaxPool2d extends Pool2d {
  constructor(kernelSize: Pair, options: { stride?: Pair; padding?: Pair; ceilMode?: boolean } = {}) {
    super(kernelSize, options, ["stride", "padding", "ceilMode"]);
  }
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, { stride: this.stride, padding: this.options.padding, ceilMode: this.options.ceilMode });
  }
  override extraRepr(): string {
    return `${super.extraRepr()}${this.options.ceilMode ? ", ceil_mode=True" : ""}`;
  }
}

/** nn.AvgPool2d(kernelSize, { stride = kernelSize, padding = 0 }), count_include_pad. */
export class AvgPool2d extends Pool2d {
  constructor(kernelSize: Pair, options: { stride?: Pair; padding?: Pair } = {}) {
    super(kernelSize, options);
  }
  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, { stride: this.stride, padding: this.options.padding });
  }
}
