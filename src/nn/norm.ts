// Normalisation and regularisation layers: Dropout, BatchNorm1d/2d, LayerNorm, RMSNorm.
import { ShapeError, ValueError, shapeStr } from "../errors.js";
import { MAX_DIM, type Tensor, emptyTensor } from "../tensor.js";
import { getBackend } from "../backend/current.js";
import * as F from "../ops/index.js";
import { Module, Parameter } from "./module.js";
import { checkArgCount, checkBool, checkFiniteNumber, checkOptions } from "../check.js";
import { checkBatchNormOptions } from "../ops/norm.js";

/** nn.Dropout(p): active in train() mode, the identity in eval(). Seeded by manualSeed. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    checkArgCount("Dropout", arguments, 1);
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) throw new ValueError(`Dropout: probability has to be between 0 and 1, but got ${p}`);
  }
  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.dropout(x, this.p, this.training);
  }
  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `p=${this.p}`;
  }
}

/** Options of nn.BatchNorm1d/2d (torch: eps, momentum, affine, track_running_stats). */
export interface BatchNormLayerOptions {
  eps?: number;
  /** Running-average factor; null: cumulative average over all batches. Default 0.1. */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation with PyTorch's state: weight (ones), bias (zeros), and the buffers
 * running_mean (zeros), running_var (ones) and num_batches_tracked (int32 here; int64 in torch).
 */
abstract class BatchNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  declare num_batches_tracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number | null;

  constructor(
    readonly numFeatures: number,
    options: BatchNormLayerOptions = {},
  ) {
    super();
    const name = new.target.name;
    checkArgCount(name, arguments, 2);
    if (typeof numFeatures !== "number" || !Number.isInteger(numFeatures) || numFeatures < 1 || numFeatures > MAX_DIM) {
      throw new ValueError(`${name}: numFeatures must be a positive integer, got ${numFeatures}`);
    }
    checkOptions(name, options, ["eps", "momentum", "affine", "trackRunningStats"]);
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    checkBatchNormOptions(name, this.eps, this.momentum);
    if (options.affine !== undefined) checkBool(name, "affine", options.affine);
    if (options.trackRunningStats !== undefined) checkBool(name, "trackRunningStats", options.trackRunningStats);
    const affine = options.affine ?? true;
    this.weight = affine ? new Parameter(filled([numFeatures], 1)) : null;
    this.bias = affine ? new Parameter(filled([numFeatures], 0)) : null;
    const track = options.trackRunningStats ?? true;
    this.registerBuffer("running_mean", track ? filled([numFeatures], 0) : null);
    this.registerBuffer("running_var", track ? filled([numFeatures], 1) : null);
    this.registerBuffer("num_batches_tracked", track ? filled([], 0, "int32") : null);
  }

  /** Throws a ShapeError unless x has the rank this batch norm takes. */
  protected abstract checkInput(x: Tensor): void;

  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    this.checkInput(x);
    if (x.shape[1] !== this.numFeatures) {
      throw new ShapeError(`${this.constructor.name}(${this.numFeatures}): input ${shapeStr(x.shape)} has ${x.shape[1]} channels`);
    }
    return F.batchNorm(x, this.running_mean, this.running_var, this.weight, this.bias, {
      training: this.training || this.running_mean === null,
      momentum: this.momentum,
      eps: this.eps,
      numBatchesTracked: this.num_batches_tracked,
    });
  }

  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.weight !== null}, track_running_stats=${this.running_mean !== null}`;
  }
}

function filled(shape: number[], value: number, dtype: "float32" | "int32" = "float32"): Tensor {
  return emptyTensor(getBackend(), shape, dtype, null).fill_(value);
}

/** nn.BatchNorm1d over (N, C) or (N, C, L). */
export class BatchNorm1d extends BatchNorm {
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) throw new ShapeError(`BatchNorm1d: expected 2D or 3D input (N, C[, L]), got ${shapeStr(x.shape)}`);
  }
}

/** nn.BatchNorm2d over (N, C, H, W). */
export class BatchNorm2d extends BatchNorm {
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 4) throw new ShapeError(`BatchNorm2d: expected 4D input (N, C, H, W), got ${shapeStr(x.shape)}`);
  }
}

/** A normalized shape given as one size or a list of trailing sizes. */
function normalizedShapeOf(owner: string, s: number | readonly number[]): number[] {
  const list = typeof s === "number" ? [s] : s;
  if (!Array.isArray(list) || list.length === 0 || list.some((d) => !Number.isInteger(d) || d < 1 || d > MAX_DIM)) {
    throw new ValueError(`${owner}: normalizedShape must be a positive integer or a non-empty array of them, got ${JSON.stringify(s)}`);
  }
  return [...list];
}

/** nn.LayerNorm(normalizedShape, { eps = 1e-5, elementwiseAffine = true, bias = true }). */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(normalizedShape: number | readonly number[], options: { eps?: number; elementwiseAffine?: boolean; bias?: boolean } = {}) {
    super();
    checkArgCount("LayerNorm", arguments, 2);
    checkOptions("LayerNorm", options, ["eps", "elementwiseAffine", "bias"]);
    this.normalizedShape = normalizedShapeOf("LayerNorm", normalizedShape);
    this.eps = options.eps ?? 1e-5;
    checkFiniteNumber("LayerNorm", "eps", this.eps, 0);
    const affine = options.elementwiseAffine ?? true,
      bias = options.bias ?? true;
    checkBool("LayerNorm", "elementwiseAffine", affine);
    checkBool("LayerNorm", "bias", bias);
    this.weight = affine ? new Parameter(filled(this.normalizedShape, 1)) : null;
    this.bias = affine && bias ? new Parameter(filled(this.normalizedShape, 0)) : null;
  }
  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `(${this.normalizedShape.join(", ")},), eps=${this.eps}, elementwise_affine=${this.weight !== null}`;
  }
}

/** nn.RMSNorm(normalizedShape, { eps = null (float32 epsilon), elementwiseAffine = true }). */
export class RMSNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number | null;
  weight: Parameter | null;

  constructor(normalizedShape: number | readonly number[], options: { eps?: number | null; elementwiseAffine?: boolean } = {}) {
    super();
    checkArgCount("RMSNorm", arguments, 2);
    checkOptions("RMSNorm", options, ["eps", "elementwiseAffine"]);
    this.normalizedShape = normalizedShapeOf("RMSNorm", normalizedShape);
    this.eps = options.eps ?? null;
    if (this.eps !== null) checkFiniteNumber("RMSNorm", "eps", this.eps, 0);
    const affine = options.elementwiseAffine ?? true;
    checkBool("RMSNorm", "elementwiseAffine", affine);
    this.weight = affine ? new Parameter(filled(this.normalizedShape, 1)) : null;
  }
  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.rmsNorm(x, this.normalizedShape, this.weight, this.eps);
  }
  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `(${this.normalizedShape.join(", ")},), eps=${this.eps}, elementwise_affine=${this.weight !== null}`;
  }
}
