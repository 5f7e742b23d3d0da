// DataLoader (torch.utils.data.DataLoader): batches of a dataset, optionally shuffled by the
// seeded generator each epoch. Batches are contiguous tensors in the current step scope, so a
// training loop's batches are released with the step's other temporaries.
import { ValueError } from "../errors.js";
import { Tensor, emptyTensor, type DType } from "../tensor.js";
import { currentScope } from "../lifetime.js";
import { getBackend } from "../backend/index.js";
import { type Generator, defaultGenerator } from "../random.js";
import type { BatchOf, Dataset } from "./dataset.js";
import type { NDArray } from "./transforms.js";

export interface DataLoaderOptions<T, B> {
  batchSize?: number;
  shuffle?: boolean;
  dropLast?: boolean;
  /** PRNG for shuffling (default: the global one seeded by manualSeed). */
  generator?: Generator;
  /** Turns a list of samples into a batch (default: stack tensors, numbers and arrays). */
  collate?: (samples: T[]) => B;
}

export class DataLoader<T = unknown, B = BatchOf<T>> implements Iterable<B> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  private readonly generator: Generator;
  private readonly collate: (samples: T[]) => B;

  constructor(readonly dataset: Dataset<T>, options: DataLoaderOptions<T, B> = {}) {
    this.batchSize = options.batchSize ?? 1;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new ValueError(`DataLoader: batchSize must be a positive integer, got ${options.batchSize}`);
    }
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.generator = options.generator ?? defaultGenerator;
    this.collate = options.collate ?? (defaultCollate as (samples: T[]) => B);
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  *[Symbol.iterator](): Iterator<B> {
    const n = this.dataset.length;
    const order = this.shuffle ? this.generator.permutation(n) : Int32Array.from({ length: n }, (_, i) => i);
    const batches = this.length;
    for (let b = 0; b < batches; b++) {
      const idx = order.subarray(b * this.batchSize, Math.min(n, (b + 1) * this.batchSize));
      if (this.dataset.getBatch) {
        yield this.dataset.getBatch(idx) as B;
      } else {
        yield this.collate(Array.from(idx, (i) => this.dataset.getItem(i)));
      }
    }
  }
}

/** Stacks samples: tuples field by field; tensors, NDArrays and numbers into one tensor each. */
export function defaultCollate(samples: unknown[]): unknown {
  const first = samples[0];
  if (Array.isArray(first)) {
    return first.map((_, k) => stack(samples.map((s) => (s as unknown[])[k])));
  }
  return stack(samples);
}

function stack(values: unknown[]): Tensor {
  const first = values[0];
  const n = values.length;
  if (typeof first === "number") {
    const dtype: DType = values.every((v) => Number.isInteger(v)) ? "int32" : "float32";
    const out = emptyTensor(getBackend(), [n], dtype, currentScope());
    out.data.set(values as number[]);
    return out;
  }
  if (first instanceof Tensor) {
    const out = emptyTensor(first.backend, [n, ...first.shape], first.dtype, currentScope());
    const bytes = first.size * 4;
    values.forEach((v, i) => first.backend.copy(out.ptr + i * bytes, (v as Tensor).ptr, bytes));
    return out;
  }
  if (first !== null && typeof first === "object" && "data" in first && "shape" in first) {
    const a = first as NDArray;
    const out = emptyTensor(getBackend(), [n, ...a.shape], "float32", currentScope());
    const data = out.data;
    values.forEach((v, i) => data.set((v as NDArray).data, i * a.data.length));
    return out;
  }
  throw new ValueError(`DataLoader: cannot batch samples of type ${typeof first}; pass a collate function`);
}
