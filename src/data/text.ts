// Language-model data over a token array: fixed windows as a Dataset (x = ids[s : s+T], y = the
// next tokens ids[s+1 : s+T+1]), random windows as nanoGPT's get_batch, and a train/val split.
import { ValueError } from "../errors.js";
import { type Tensor, tensor } from "../tensor.js";
import { type Generator, defaultGenerator } from "../random.js";
import { checkArgCount, checkGenerator, checkInt, checkOptions, describe } from "../check.js";
import { Dataset } from "./dataset.js";

function checkIds(owner: string, ids: unknown): asserts ids is Int32Array {
  if (!(ids instanceof Int32Array)) throw new ValueError(`${owner}: token ids must be an Int32Array, got ${describe(ids)}`);
}

/** x, y (int32, blockSize each) of the window starting at s. */
function window(ids: Int32Array, s: number, blockSize: number): [Tensor, Tensor] {
  return [tensor(ids.slice(s, s + blockSize), { dtype: "int32" }), tensor(ids.slice(s + 1, s + blockSize + 1), { dtype: "int32" })];
}

/**
 * Windows of blockSize tokens over ids, `stride` apart (default blockSize: no overlap); item i is
 * [x, y] with y the tokens that follow x's, for next-token prediction.
 */
export class TokenWindows extends Dataset<[Tensor, Tensor]> {
  readonly blockSize: number;
  readonly stride: number;
  readonly #ids: Int32Array;
  readonly #length: number;

  constructor(ids: Int32Array, options: { blockSize: number; stride?: number }) {
    super();
    checkArgCount("TokenWindows", arguments, 2);
    checkIds("TokenWindows", ids);
    checkOptions("TokenWindows", options, ["blockSize", "stride"]);
    checkInt("TokenWindows", "blockSize", options?.blockSize, 1);
    this.blockSize = options.blockSize;
    this.stride = options.stride ?? this.blockSize;
    checkInt("TokenWindows", "stride", this.stride, 1);
    if (ids.length < this.blockSize + 1) {
      throw new ValueError(
        `TokenWindows: ${ids.length} tokens are too few for one window of blockSize ${this.blockSize} (needs ${this.blockSize + 1}: inputs and the next token)`,
      );
    }
    this.#ids = ids;
    this.#length = Math.floor((ids.length - this.blockSize - 1) / this.stride) + 1;
  }

  get length(): number {
    return this.#length;
  }

  getItem(index: number): [Tensor, Tensor] {
    checkArgCount("getItem", arguments, 1);
    checkInt("TokenWindows.getItem", "index", index, 0, this.#length - 1);
    return window(this.#ids, index * this.stride, this.blockSize);
  }
}

/**
 * nanoGPT's get_batch: batchSize windows at random starts in [0, n - blockSize - 1], as x, y of
 * shape [batchSize, blockSize] (int32).
 */
export function randomWindows(ids: Int32Array, blockSize: number, batchSize: number, generator: Generator = defaultGenerator): [Tensor, Tensor] {
  checkArgCount("randomWindows", arguments, 4);
  checkIds("randomWindows", ids);
  checkInt("randomWindows", "blockSize", blockSize, 1);
  checkInt("randomWindows", "batchSize", batchSize, 1);
  checkGenerator("randomWindows", "generator", generator);
  const starts = ids.length - blockSize;
  if (starts < 1) throw new ValueError(`randomWindows: ${ids.length} tokens are too few for blockSize ${blockSize} (needs ${blockSize + 1})`);
  const x = new Int32Array(batchSize * blockSize),
    y = new Int32Array(batchSize * blockSize);
  for (let b = 0; b < batchSize; b++) {
    const s = Math.min(starts - 1, Math.floor(generator.random() * starts));
    x.set(ids.subarray(s, s + blockSize), b * blockSize);
    y.set(ids.subarray(s + 1, s + blockSize + 1), b * blockSize);
  }
  return [tensor(x, { shape: [batchSize, blockSize], dtype: "int32" }), tensor(y, { shape: [batchSize, blockSize], dtype: "int32" })];
}

/** The first trainFraction of the tokens for training, the rest for validation (nanoGPT's split; views, no copy). */
export function splitTokens(ids: Int32Array, trainFraction = 0.9): { train: Int32Array; val: Int32Array } {
  checkArgCount("splitTokens", arguments, 2);
  checkIds("splitTokens", ids);
  if (typeof trainFraction !== "number" || !(trainFraction > 0 && trainFraction < 1)) {
    throw new ValueError(`splitTokens: trainFraction must be a number between 0 and 1, got ${describe(trainFraction)}`);
  }
  const n = Math.floor(ids.length * trainFraction);
  return { train: ids.subarray(0, n), val: ids.subarray(n) };
}
