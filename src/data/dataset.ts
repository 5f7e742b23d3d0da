// Dataset and TensorDataset (torch.utils.data). A dataset may offer getBatch(indices) to build
// a whole batch at once; DataLoader uses it instead of collating items one by one.
import { ShapeError, ValueError, shapeStr } from "../errors.js";
import { Tensor, emptyTensor, sameBackend } from "../tensor.js";
import { currentScope } from "../lifetime.js";
import type { Generator } from "../random.js";
import { defaultGenerator } from "../random.js";
import { checkGenerator, describe, checkArgCount } from "../check.js";

/** What a batch of samples of type T looks like: a tensor per tuple field, or one tensor. */
export type BatchOf<T> = T extends unknown[] ? { [K in keyof T]: Tensor } : Tensor;

/** A map-style dataset (torch.utils.data.Dataset): implement getItem(index) and length. */
export abstract class Dataset<T = unknown> {
  constructor() {
    checkArgCount(new.target.name, arguments, 0); // also a subclass without its own constructor given arguments
  }
  /** Number of samples. */
  abstract get length(): number;
  /** The sample at index (0 ≤ index < length). */
  abstract getItem(index: number): T;
  /** Optional fast path: the samples at `indices`, already batched. */
  getBatch?(indices: Int32Array): BatchOf<T>;

  /** Throws an IndexError unless 0 ≤ index < length. */
  protected checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new ValueError(`${this.constructor.name}: index ${index} out of range for ${this.length} samples`);
    }
  }
}

/** Rows of tensors that share their first dimension, e.g. new TensorDataset(images, labels). */
export class TensorDataset extends Dataset<Tensor[]> {
  readonly tensors: Tensor[];

  constructor(...tensors: Tensor[]) {
    super();
    if (tensors.length === 0) throw new ValueError("TensorDataset: needs at least one tensor");
    sameBackend("TensorDataset", ...tensors);
    const n = tensors[0].shape[0];
    for (const t of tensors) {
      if (t.ndim === 0 || t.shape[0] !== n) {
        throw new ShapeError(
          `TensorDataset: size mismatch between tensors: ${tensors.map((x) => shapeStr(x.shape)).join(" vs ")} (first dimensions must be equal)`,
        );
      }
    }
    // Rows are handed out as views of dense memory: a strided tensor is copied once here.
    this.tensors = tensors.map((t) => (t.isContiguous() ? t : t.contiguous()).keep());
  }

  get length(): number {
    return this.tensors[0].shape[0];
  }

  /** Row `index` of every tensor, as views (no copy). */
  getItem(index: number): Tensor[] {
    checkArgCount("getItem", arguments, 1);
    this.checkIndex(index);
    return this.tensors.map((t) => {
      const rowBytes = (t.size / t.shape[0]) * 4;
      return new Tensor(t.storage, t.shape.slice(1), t.dtype, t.offset + index * rowBytes);
    });
  }

  override getBatch(indices: Int32Array): Tensor[] {
    checkArgCount("getBatch", arguments, 1);
    for (const i of indices) this.checkIndex(i);
    return this.tensors.map((t) => gatherRows(t, indices));
  }
}

/** A new tensor [indices.length, ...rest] of t's rows, in the current step/noGrad scope. */
export function gatherRows(t: Tensor, indices: Int32Array): Tensor {
  checkArgCount("gatherRows", arguments, 2);
  const be = t.backend;
  const rowBytes = (t.size / t.shape[0]) * 4;
  const out = emptyTensor(be, [indices.length, ...t.shape.slice(1)], t.dtype, currentScope(be));
  const src = t.ptr;
  const dst = out.ptr;
  for (let i = 0; i < indices.length; i++) be.copy(dst + i * rowBytes, src + indices[i] * rowBytes, rowBytes);
  return out;
}

/**
 * Splits a dataset into non-overlapping subsets of the given lengths (or fractions summing to
 * 1), shuffled by the seeded generator, as torch.utils.data.random_split.
 */
export function randomSplit<T>(dataset: Dataset<T>, lengths: number[], generator: Generator = defaultGenerator): Subset<T>[] {
  checkArgCount("randomSplit", arguments, 3);
  const n = dataset.length;
  if (!Array.isArray(lengths) || lengths.length === 0 || lengths.some((l) => typeof l !== "number" || !Number.isFinite(l) || l < 0)) {
    throw new ValueError(
      `randomSplit: lengths must be a non-empty list of non-negative numbers (sizes, or fractions summing to 1), got ${JSON.stringify(lengths)}`,
    );
  }
  checkGenerator("randomSplit", "generator", generator);
  let sizes = lengths;
  if (lengths.every((l) => l > 0 && l < 1) && Math.abs(lengths.reduce((a, b) => a + b, 0) - 1) < 1e-9) {
    sizes = lengths.map((f) => Math.floor(f * n));
    for (let i = 0; sizes.reduce((a, b) => a + b, 0) < n; i++) sizes[i % sizes.length]++;
  }
  if (sizes.reduce((a, b) => a + b, 0) !== n) {
    throw new ValueError(`randomSplit: lengths [${lengths.join(", ")}] do not add up to the dataset size ${n}`);
  }
  if (sizes.some((l) => !Number.isInteger(l))) {
    throw new ValueError(`randomSplit: lengths [${lengths.join(", ")}] must be integers (or fractions summing to 1)`);
  }
  const perm = generator.permutation(n);
  let start = 0;
  return sizes.map((len) => {
    const subset = new Subset(dataset, perm.slice(start, start + len));
    start += len;
    return subset;
  });
}

/** The samples of `dataset` at `indices` (torch.utils.data.Subset). */
export class Subset<T> extends Dataset<T> {
  readonly indices: Int32Array;

  constructor(
    readonly dataset: Dataset<T>,
    indices: Int32Array | readonly number[],
  ) {
    super();

    checkArgCount("Subset", arguments, 2);
    if (dataset === null || typeof dataset !== "object" || typeof dataset.getItem !== "function") {
      throw new ValueError(`Subset: dataset must be a Dataset, got ${describe(dataset)}`);
    }
    if (!(indices instanceof Int32Array) && !Array.isArray(indices)) {
      throw new ValueError(`Subset: indices must be an Int32Array or an array of integers, got ${describe(indices)}`);
    }
    // Checked here, so a bad index fails now rather than at some batch of some epoch.
    const n = dataset.length;
    for (let i = 0; i < indices.length; i++) {
      const v = indices[i] as unknown;
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= n) {
        throw new ValueError(`Subset: index ${describe(v)} at position ${i} is out of range for a dataset of ${n} samples`);
      }
    }
    this.indices = indices instanceof Int32Array ? indices : Int32Array.from(indices);
    if (dataset.getBatch) {
      this.getBatch = ((idx: Int32Array) => dataset.getBatch!(idx.map((i) => this.indices[i]))) as Dataset<T>["getBatch"];
    }
  }
  get length(): number {
    return this.indices.length;
  }
  getItem(index: number): T {
    checkArgCount("getItem", arguments, 1);
    this.checkIndex(index);
    return this.dataset.getItem(this.indices[index]);
  }
}
