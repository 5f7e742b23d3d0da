// Convolution and pooling layers over NCHW images.
import { ValueError } from "../errors.js";
import { MAX_DIM, type Tensor } from "../tensor.js";
import * as F from "../ops/index.js";
import { type Pair, pair, poolParams } from "../ops/conv.js";
import { Module, Parameter } from "./module.js";
import { checkArgCount, checkBool, checkInt, checkOptions } from "../check.js";
import { kaimingUniform_, uniform_ } from "./init.js";

/** Options of nn.Conv2d (torch: stride, padding, dilation, groups, bias). */
export interface Conv2dLayerOptions {
  stride?: Pair;
  /** Zero padding per side, or "valid" (none) / "same" (output size = input size, stride 1). */
  padding?: Pair | "valid" | "same";
  dilation?: Pair;
  /** Channel groups: weight [out, in/groups, kh, kw]; groups = in is depthwise. */
  groups?: number;
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
  readonly groups: number;

  /** `options` may also be the stride, as torch's positional `Conv2d(in, out, kernel_size, stride)`. */
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    options: Conv2dLayerOptions | Pair = {},
  ) {
    super();
    checkArgCount("Conv2d", arguments, 4);
    if (typeof options === "number" || Array.isArray(options)) options = { stride: options as Pair };
    for (const [name, v] of [
      ["inChannels", inChannels],
      ["outChannels", outChannels],
    ] as const) {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_DIM) throw new ValueError(`Conv2d: ${name} must be a positive integer, got ${v}`);
    }
    checkOptions("Conv2d", options, ["stride", "padding", "dilation", "groups", "bias"]);
    this.groups = options.groups ?? 1;
    checkInt("Conv2d", "groups", this.groups, 1);
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new ValueError(`Conv2d: groups ${this.groups} must divide inChannels (${inChannels}) and outChannels (${outChannels})`);
    }
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
    this.weight = Parameter.empty([outChannels, inChannels / this.groups, kh, kw]);
    this.bias = (options.bias ?? true) ? Parameter.empty([outChannels]) : null;
    this.resetParameters();
  }

  /** Draws weight and bias again with PyTorch's default init. */
  resetParameters(): void {
    checkArgCount("resetParameters", arguments, 0);
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const bound = 1 / Math.sqrt((this.inChannels / this.groups) * this.kernelSize[0] * this.kernelSize[1]);
      uniform_(this.bias, -bound, bound);
    }
  }

  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }

  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `${this.inChannels}, ${this.outChannels}, kernel_size=(${this.kernelSize}), stride=(${this.stride}), padding=(${this.padding})${this.groups > 1 ? `, groups=${this.groups}` : ""}`;
  }
}

/** Options of nn.Conv1d. */
export interface Conv1dLayerOptions {
  stride?: number;
  /** Zero padding per side, or "valid" / "same" (stride 1). */
  padding?: number | "valid" | "same";
  dilation?: number;
  groups?: number;
  bias?: boolean;
}

/**
 * nn.Conv1d over (N, C, L): weight [out, in/groups, k], bias [out], PyTorch's init; runs as a 2-D
 * convolution of height 1.
 */
export class Conv1d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly groups: number;

  /** `options` may also be the stride, as torch's positional `Conv1d(in, out, kernel_size, stride)`. */
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    options: Conv1dLayerOptions | number = {},
  ) {
    super();
    checkArgCount("Conv1d", arguments, 4);
    for (const [name, v] of [
      ["inChannels", inChannels],
      ["outChannels", outChannels],
      ["kernelSize", kernelSize],
    ] as const) {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_DIM) throw new ValueError(`Conv1d: ${name} must be a positive integer, got ${v}`);
    }
    if (typeof options === "number") options = { stride: options };
    checkOptions("Conv1d", options, ["stride", "padding", "dilation", "groups", "bias"]);
    this.stride = options.stride ?? 1;
    this.dilation = options.dilation ?? 1;
    this.groups = options.groups ?? 1;
    checkInt("Conv1d", "stride", this.stride, 1);
    checkInt("Conv1d", "dilation", this.dilation, 1);
    checkInt("Conv1d", "groups", this.groups, 1);
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0)
      throw new ValueError(`Conv1d: groups ${this.groups} must divide inChannels (${inChannels}) and outChannels (${outChannels})`);
    const padding = options.padding ?? 0;
    if (padding === "valid") this.padding = 0;
    else if (padding === "same") {
      if (this.stride !== 1) throw new ValueError("Conv1d: padding='same' is not supported for strided convolutions");
      const total = this.dilation * (kernelSize - 1);
      if (total % 2 !== 0) throw new ValueError("Conv1d: padding='same' needs an odd kernel extent (symmetric padding only)");
      this.padding = total / 2;
    } else {
      checkInt("Conv1d", "padding", padding, 0);
      this.padding = padding;
    }
    if (options.bias !== undefined) checkBool("Conv1d", "bias", options.bias);
    this.weight = Parameter.empty([outChannels, inChannels / this.groups, kernelSize]);
    this.bias = (options.bias ?? true) ? Parameter.empty([outChannels]) : null;
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const bound = 1 / Math.sqrt((inChannels / this.groups) * kernelSize);
      uniform_(this.bias, -bound, bound);
    }
  }

  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.conv1d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }

  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `${this.inChannels}, ${this.outChannels}, kernel_size=(${this.kernelSize},), stride=(${this.stride},)`;
  }
}

/** nn.AdaptiveAvgPool2d(outputSize): averages over windows that tile the input into outputSize. */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
    checkArgCount("AdaptiveAvgPool2d", arguments, 1);
    pair("AdaptiveAvgPool2d outputSize", outputSize, 1);
  }
  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.adaptiveAvgPool2d(x, this.outputSize);
  }
  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `output_size=${JSON.stringify(this.outputSize)}`;
  }
}

abstract class Pool2d extends Module {
  readonly stride: Pair;
  constructor(
    readonly kernelSize: Pair,
    readonly options: { stride?: Pair; padding?: Pair; ceilMode?: boolean } = {},
    allowed = ["stride", "padding"],
  ) {
    super();
    // The same checks as the functional form, now rather than at the first forward().
    poolParams(new.target.name, kernelSize, options, allowed);
    this.stride = options.stride ?? kernelSize;
  }
  /** The pooling settings as torch prints them. */
  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `kernel_size=${JSON.stringify(this.kernelSize)}, stride=${JSON.stringify(this.stride)}, padding=${JSON.stringify(this.options.padding ?? 0)}`;
  }
}

/** nn.MaxPool2d(kernelSize, { stride = kernelSize, padding = 0, ceilMode = false }). */
export class MaxPool2d extends Pool2d {
  constructor(kernelSize: Pair, options: { stride?: Pair; padding?: Pair; ceilMode?: boolean } = {}) {
    super(kernelSize, options, ["stride", "padding", "ceilMode"]);
    checkArgCount("MaxPool2d", arguments, 2);
  }
  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.maxPool2d(x, this.kernelSize, { stride: this.stride, padding: this.options.padding, ceilMode: this.options.ceilMode });
  }
  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `${super.extraRepr()}${this.options.ceilMode ? ", ceil_mode=True" : ""}`;
  }
}

/** nn.AvgPool2d(kernelSize, { stride = kernelSize, padding = 0 }), count_include_pad. */
export class AvgPool2d extends Pool2d {
  constructor(kernelSize: Pair, options: { stride?: Pair; padding?: Pair } = {}) {
    super(kernelSize, options);
    checkArgCount("AvgPool2d", arguments, 2);
  }
  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.avgPool2d(x, this.kernelSize, { stride: this.stride, padding: this.options.padding });
  }
}
