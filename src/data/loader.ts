// DataLoader (torch.utils.data.DataLoader): batches of a dataset, optionally shuffled by the
// seeded generator each epoch. Batches are contiguous tensors in the current step scope, so a
// training loop's batches are released with the step's other temporaries.
import { ValueError, shapeStr } from "../errors.js";
import { contiguous } from "../ops/layout.js";
import { Tensor, emptyTensor, type DType } from "../tensor.js";
import { type ScopeMark, currentScope, markScope, releaseBetween } from "../lifetime.js";
import { getBackend } from "../backend/current.js";
import { Generator, defaultGenerator, type RngState } from "../random.js";
import type { BatchOf, Dataset } from "./dataset.js";
import type { NDArray } from "./transforms.js";
import { checkBool, checkFunction, checkGenerator, checkOptions, describe, checkArgCount } from "../check.js";

/** Options of DataLoader (torch's batch_size, shuffle, drop_last, generator, collate_fn). */
export interface DataLoaderOptions<T, B> {
  batchSize?: number;
  shuffle?: boolean;
  dropLast?: boolean;
  /** PRNG for shuffling (default: the global one seeded by manualSeed). */
  generator?: Generator;
  /** Turns a list of samples into a batch (default: stack tensors, numbers and arrays). */
  collate?: (samples: T[]) => B;
}

/**
 * Where an epoch stands, for resuming it after a restart (torchdata's StatefulDataLoader):
 * the shuffling generator's state just before it drew the epoch's permutation, and how many
 * batches of the epoch were handed out. JSON-serialisable; checkpoints store it.
 */
export interface DataLoaderState {
  /** Dataset size and batch size, checked on load. */
  samples: number;
  batchSize: number;
  /** Generator state before this epoch's permutation (null: not shuffled, or no epoch begun). */
  generator: { words: RngState; spareNormal: number | null } | null;
  /** Batches of the current epoch already yielded (0: start the next epoch afresh). */
  batchesDone: number;
}

/** Batches of a Dataset, shuffled or in order, collated into tensors (torch.utils.data.DataLoader); its position can be checkpointed. */
export class DataLoader<T = unknown, B = BatchOf<T>> implements Iterable<B> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  private readonly generator: Generator;
  private readonly collate: (samples: T[]) => B;
  /** The epoch being iterated (null between epochs), and one to resume on the next iteration. */
  private epoch: DataLoaderState | null = null;
  private resume: DataLoaderState | null = null;

  constructor(
    readonly dataset: Dataset<T>,
    options: DataLoaderOptions<T, B> = {},
  ) {
    checkArgCount("DataLoader", arguments, 2);
    const d = dataset as Partial<Dataset<T>> | null;
    if (d === null || typeof d !== "object" || typeof d.getItem !== "function" || !Number.isSafeInteger(d.length) || (d.length as number) < 0) {
      throw new ValueError(`DataLoader: dataset must be a Dataset (a non-negative integer length and getItem(i)), got ${describe(dataset)}`);
    }
    checkOptions("DataLoader", options, ["batchSize", "shuffle", "dropLast", "generator", "collate"]);
    this.batchSize = options.batchSize ?? 1;
    if (typeof this.batchSize !== "number" || !Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new ValueError(`DataLoader: batchSize must be a positive integer, got ${describe(options.batchSize)}`);
    }
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    checkBool("DataLoader", "shuffle", this.shuffle);
    checkBool("DataLoader", "dropLast", this.dropLast);
    this.generator = options.generator ?? defaultGenerator;
    checkGenerator("DataLoader", "generator", this.generator);
    if (options.collate !== undefined) checkFunction("DataLoader", "collate", options.collate);
    this.collate = options.collate ?? (defaultCollate as (samples: T[]) => B);
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The batches of one epoch (a new shuffle each epoch). */
  *[Symbol.iterator](): Iterator<B> {
    const n = this.dataset.length;
    const resume = this.resume;
    this.resume = null;
    let order: Int32Array;
    let generator: DataLoaderState["generator"] = null;
    if (resume !== null && resume.generator !== null && this.shuffle) {
      // Replays the interrupted epoch's permutation from a copy: the shared generator was
      // restored to where it stood mid-epoch and must not be advanced again.
      generator = resume.generator;
      const replay = new Generator();
      replay.setState(generator);
      order = replay.permutation(n);
    } else if (this.shuffle) {
      generator = this.generator.getState();
      order = this.generator.permutation(n);
    } else {
      order = Int32Array.from({ length: n }, (_, i) => i);
    }
    const start = resume?.batchesDone ?? 0;
    const epoch: DataLoaderState = { samples: n, batchSize: this.batchSize, generator, batchesDone: start };
    this.epoch = epoch;
    const batches = this.length;
    // Where each of the last two batches began in the current scope: once batch b starts, what
    // batch b-2's iteration made is released (lifetime.ts releaseBetween).
    let older: ScopeMark | null = null;
    let previous: ScopeMark | null = null;
    for (let b = start; b < batches; b++) {
      const mark = markScope();
      if (older !== null && previous !== null) releaseBetween(older, previous);
      older = previous;
      previous = mark;
      const idx = order.subarray(b * this.batchSize, Math.min(n, (b + 1) * this.batchSize));
      // Counted before the yield: a checkpoint taken in the loop body (after the step on this
      // batch) records the batch as done.
      epoch.batchesDone = b + 1;
      if (this.dataset.getBatch) {
        yield this.dataset.getBatch(idx) as B;
      } else {
        yield this.collate(Array.from(idx, (i) => this.dataset.getItem(i)));
      }
    }
    if (this.epoch === epoch) this.epoch = null;
  }

  /**
   * Where the current epoch stands (see DataLoaderState). Taken inside the loop body it names
   * the batches done so far; taken between epochs it says "start the next epoch afresh".
   */
  stateDict(): DataLoaderState {
    checkArgCount("stateDict", arguments, 0);
    const s = this.resume ?? this.epoch ?? { samples: this.dataset.length, batchSize: this.batchSize, generator: null, batchesDone: 0 };
    return structuredClone(s);
  }

  /**
   * Makes the next iteration resume an epoch from stateDict(): the same permutation (drawn
   * from the saved generator state, leaving the loader's generator alone), skipping the batches
   * already done. Restore the generator itself (checkpoints do) to continue the same sequence.
   */
  loadStateDict(state: DataLoaderState): void {
    checkArgCount("loadStateDict", arguments, 1);
    if (state === null || typeof state !== "object" || !Number.isSafeInteger(state.batchesDone) || state.batchesDone < 0) {
      throw new ValueError(`DataLoader.loadStateDict: expected {samples, batchSize, generator, batchesDone}, got ${JSON.stringify(state)}`);
    }
    if (state.samples !== this.dataset.length || state.batchSize !== this.batchSize) {
      throw new ValueError(
        `DataLoader.loadStateDict: the state is for ${state.samples} samples in batches of ${state.batchSize}, ` +
          `this loader has ${this.dataset.length} in batches of ${this.batchSize}`,
      );
    }
    if (state.batchesDone > this.length) {
      throw new ValueError(`DataLoader.loadStateDict: ${state.batchesDone} batches done, but an epoch has ${this.length}`);
    }
    if (state.generator !== null && !isGeneratorState(state.generator)) {
      throw new ValueError("DataLoader.loadStateDict: generator must be null or {words: [4 uint32, not all 0], spareNormal: null or a finite number}");
    }
    this.resume = state.batchesDone === 0 && state.generator === null ? null : structuredClone(state);
  }
}

/** A generator state as Generator.getState() gives it: four 32-bit words (not all zero, which
 *  would stall xoshiro128**) and the cached normal (null or a finite number). */
export function isGeneratorState(s: unknown): s is { words: RngState; spareNormal: number | null } {
  if (s === null || typeof s !== "object") return false;
  const { words, spareNormal } = s as { words?: unknown; spareNormal?: unknown };
  // getState() gives the words as int32 or uint32 (xor results are signed); setState takes both.
  return (
    Array.isArray(words) &&
    words.length === 4 &&
    words.every((w) => Number.isInteger(w) && w >= -0x80000000 && w <= 0xffffffff) &&
    words.some((w) => w !== 0) &&
    (spareNormal === null || (typeof spareNormal === "number" && Number.isFinite(spareNormal)))
  );
}

/** Stacks samples: tuples field by field; tensors, NDArrays and numbers into one tensor each.
 *  Every sample must match the first (kind, tuple length, shape, dtype, backend): a ValueError
 *  names the first sample that does not, instead of batching the wrong bytes. */
export function defaultCollate(samples: unknown[]): unknown {
  checkArgCount("defaultCollate", arguments, 1);
  const first = samples[0];
  if (Array.isArray(first)) {
    samples.forEach((s, i) => {
      if (!Array.isArray(s) || s.length !== first.length) {
        throw new ValueError(
          `DataLoader: sample ${i} of the batch is ${describe(s)}, but sample 0 is a tuple of ${first.length}; every sample must have the same fields`,
        );
      }
    });
    return first.map((_, k) =>
      stack(
        samples.map((s) => (s as unknown[])[k]),
        ` (field ${k})`,
      ),
    );
  }
  return stack(samples, "");
}

function stack(values: unknown[], field: string): Tensor {
  const first = values[0];
  const n = values.length;
  const mismatch = (i: number, what: string) =>
    new ValueError(`DataLoader: sample ${i} of the batch${field} ${what}; every sample must match sample 0 (or pass a collate function)`);
  if (typeof first === "number") {
    values.forEach((v, i) => {
      if (typeof v !== "number") throw mismatch(i, `is ${describe(v)}, but sample 0 is a number`);
    });
    const ints = values.every((v) => Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 31);
    const dtype: DType = ints ? "int32" : "float32";
    const be = getBackend();
    const out = emptyTensor(be, [n], dtype, currentScope(be));
    out.data.set(values as number[]);
    return out;
  }
  if (first instanceof Tensor) {
    values.forEach((v, i) => {
      if (!(v instanceof Tensor)) throw mismatch(i, `is ${describe(v)}, but sample 0 is a Tensor`);
      if (v.backend !== first.backend) throw mismatch(i, `is on the ${v.backend.name} backend, sample 0 on ${first.backend.name}`);
      if (v.dtype !== first.dtype) throw mismatch(i, `has dtype ${v.dtype}, sample 0 ${first.dtype}`);
      if (v.shape.length !== first.shape.length || v.shape.some((d, k) => d !== first.shape[k])) {
        throw mismatch(i, `has shape ${shapeStr(v.shape)}, sample 0 ${shapeStr(first.shape)}`);
      }
    });
    const out = emptyTensor(first.backend, [n, ...first.shape], first.dtype, currentScope(first.backend));
    const bytes = first.size * 4;
    values.forEach((v, i) => first.backend.copy(out.ptr + i * bytes, contiguous(v as Tensor).ptr, bytes));
    return out;
  }
  if (first !== null && typeof first === "object" && "data" in first && "shape" in first) {
    const a = first as NDArray;
    values.forEach((v, i) => {
      const b = v as NDArray;
      if (b === null || typeof b !== "object" || !(b.data instanceof Float32Array || b.data instanceof Uint8Array) || !Array.isArray(b.shape))
        throw mismatch(i, `is ${describe(v)}, but sample 0 is an image array`);
      if (b.shape.length !== a.shape.length || b.shape.some((d, k) => d !== a.shape[k]) || b.data.length !== a.data.length) {
        throw mismatch(i, `has shape ${shapeStr(b.shape)}, sample 0 ${shapeStr(a.shape)}`);
      }
    });
    const be = getBackend();
    const out = emptyTensor(be, [n, ...a.shape], "float32", currentScope(be));
    const data = out.data;
    values.forEach((v, i) => data.set((v as NDArray).data, i * a.data.length));
    return out;
  }
  throw new ValueError(`DataLoader: cannot batch samples of type ${typeof first}${field}; pass a collate function`);
}
