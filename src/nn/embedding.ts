// nn.Embedding: a lookup table of vectors (N(0, 1) init; the padding row zeroed and frozen).
import { ValueError } from "../errors.js";
import { MAX_DIM, type Tensor } from "../tensor.js";
import * as F from "../ops/index.js";
import { Module, Parameter } from "./module.js";
import { normal_ } from "./init.js";
import { checkArgCount, checkOptions, describe } from "../check.js";

/** nn.Embedding(numEmbeddings, embeddingDim, { paddingIdx }): weight (numEmbeddings, embeddingDim). */
export class Embedding extends Module {
  weight: Parameter;
  readonly paddingIdx: number | null;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    options: { paddingIdx?: number | null } = {},
  ) {
    super();
    checkArgCount("Embedding", arguments, 3);
    for (const [name, v] of [
      ["numEmbeddings", numEmbeddings],
      ["embeddingDim", embeddingDim],
    ] as const) {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_DIM)
        throw new ValueError(`Embedding: ${name} must be a positive integer, got ${describe(v)}`);
    }
    checkOptions("Embedding", options, ["paddingIdx"]);
    const p = options.paddingIdx ?? null;
    if (p !== null && (!Number.isInteger(p) || p < -numEmbeddings || p >= numEmbeddings)) {
      throw new ValueError(`Embedding: paddingIdx must be within num_embeddings (from ${-numEmbeddings} to ${numEmbeddings - 1}), got ${describe(p)}`);
    }
    this.paddingIdx = p === null ? null : p < 0 ? p + numEmbeddings : p;
    this.weight = Parameter.empty([numEmbeddings, embeddingDim]);
    this.resetParameters();
  }

  /** N(0, 1), with the padding row set to zeros (as PyTorch's reset_parameters). */
  resetParameters(): void {
    checkArgCount("resetParameters", arguments, 0);
    normal_(this.weight);
    if (this.paddingIdx !== null) this.weight.select(0, this.paddingIdx).fill_(0);
  }

  forward(input: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    return F.embedding(input, this.weight, this.paddingIdx);
  }

  override extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ""}`;
  }
}
