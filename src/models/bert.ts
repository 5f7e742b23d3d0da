// models.Bert: the BERT encoder as Hugging Face's BertModel builds it (embeddings of words,
// positions and token types, post-LN layers of bidirectional self-attention and a GELU MLP, a
// tanh pooler on the first token), with HF's module names, so its state-dict keys are HF's
// (embeddings.word_embeddings.weight, encoder.layer.0.attention.self.query.weight, ...,
// pooler.dense.weight); models.BertForSequenceClassification puts HF's head on it (bert.*,
// classifier.*). Sentence-embedding checkpoints of this family (all-MiniLM-L6-v2: 6 layers,
// hidden 384, 12 heads) load with fromPretrained; meanPool gives their sentence vectors.
import { ShapeError, ValueError, shapeStr } from "../errors.js";
import { type Tensor, arange, tensor } from "../tensor.js";
import { intoCurrentStep, isGradEnabled } from "../lifetime.js";
import * as F from "../ops/index.js";
import { attentionComposed, fusedAttention } from "../ops/attention.js";
import * as nn from "../nn/index.js";
import { normal_, zeros_ } from "../nn/init.js";
import { checkArgCount, checkBool, checkFiniteNumber, checkInt, checkOptions, describe } from "../check.js";
import type { LoadedTensor } from "../io/safetensors.js";
import type { PretrainedFiles, PretrainedSource } from "./hf-files.js";
import { type BertFromPretrainedOptions, bertFromPretrained, bertSavePretrained, bertStateDict } from "./hf-bert.js";

/** The size and settings of a BERT encoder (HF's BertConfig fields, camelCased). */
export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  /** longest input (position embeddings); default 512 */
  maxPositionEmbeddings?: number;
  /** token types (segments); default 2 */
  typeVocabSize?: number;
  /** default 1e-12 */
  layerNormEps?: number;
  /** the MLP's activation: "gelu" (exact, erf; default), "gelu_new" / "gelu_pytorch_tanh" (tanh form) or "relu" */
  hiddenAct?: "gelu" | "gelu_new" | "gelu_pytorch_tanh" | "relu";
  /** dropout on embeddings and residual branches in training; default 0.1 */
  hiddenDropoutProb?: number;
  /** dropout on attention weights in training; default 0.1 */
  attentionProbsDropoutProb?: number;
  /** the [PAD] token id, whose embedding row is zero and gets no gradient; default 0 */
  padTokenId?: number;
  /** std of the normal init; default 0.02 */
  initializerRange?: number;
  /** the tanh pooler on the first token (pooler.dense); default true */
  addPoolingLayer?: boolean;
}

/** Optional inputs of Bert.forward: which tokens to attend to, and their segment ids. */
export interface BertInputs {
  /** (B, T): 1 (or true) = a real token, 0 = padding; default all ones */
  attentionMask?: Tensor | null;
  /** (B, T) int32 segment ids < typeVocabSize; default zeros */
  tokenTypeIds?: Tensor | null;
}

const CONFIG_KEYS = [
  "vocabSize",
  "hiddenSize",
  "numHiddenLayers",
  "numAttentionHeads",
  "intermediateSize",
  "maxPositionEmbeddings",
  "typeVocabSize",
  "layerNormEps",
  "hiddenAct",
  "hiddenDropoutProb",
  "attentionProbsDropoutProb",
  "padTokenId",
  "initializerRange",
  "addPoolingLayer",
] as const;
const ACTIVATIONS = ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"];

/** The most negative float32: HF's additive mask value for padding ((1 - mask) · finfo.min). */
const F32_MIN = -3.4028234663852886e38;

function bertConfig(owner: string, config: BertConfig): Required<BertConfig> {
  if (config === null || typeof config !== "object")
    throw new ValueError(
      `${owner}: config must be an object {vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads, intermediateSize}, got ${describe(config)}`,
    );
  const c = {
    maxPositionEmbeddings: 512,
    typeVocabSize: 2,
    layerNormEps: 1e-12,
    hiddenAct: "gelu" as const,
    hiddenDropoutProb: 0.1,
    attentionProbsDropoutProb: 0.1,
    padTokenId: 0,
    initializerRange: 0.02,
    addPoolingLayer: true,
    ...Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)),
  } as Required<BertConfig>;
  for (const k of ["vocabSize", "hiddenSize", "numHiddenLayers", "numAttentionHeads", "intermediateSize", "maxPositionEmbeddings", "typeVocabSize"] as const) {
    checkInt(owner, k, c[k], 1);
  }
  if (c.hiddenSize % c.numAttentionHeads !== 0)
    throw new ValueError(`${owner}: hiddenSize (${c.hiddenSize}) must be divisible by numAttentionHeads (${c.numAttentionHeads})`);
  checkFiniteNumber(owner, "layerNormEps", c.layerNormEps, 0);
  if (!ACTIVATIONS.includes(c.hiddenAct)) throw new ValueError(`${owner}: hiddenAct must be one of ${ACTIVATIONS.join(", ")}, got ${describe(c.hiddenAct)}`);
  checkFiniteNumber(owner, "hiddenDropoutProb", c.hiddenDropoutProb, 0, 1);
  checkFiniteNumber(owner, "attentionProbsDropoutProb", c.attentionProbsDropoutProb, 0, 1);
  checkInt(owner, "padTokenId", c.padTokenId, 0, c.vocabSize - 1);
  checkFiniteNumber(owner, "initializerRange", c.initializerRange, 0);
  checkBool(owner, "addPoolingLayer", c.addPoolingLayer);
  return c;
}

class BertEmbeddings extends nn.Module {
  word_embeddings: nn.Embedding;
  position_embeddings: nn.Embedding;
  token_type_embeddings: nn.Embedding;
  LayerNorm: nn.LayerNorm;
  dropout: nn.Dropout;
  constructor(c: Required<BertConfig>) {
    super();
    this.word_embeddings = new nn.Embedding(c.vocabSize, c.hiddenSize, { paddingIdx: c.padTokenId });
    this.position_embeddings = new nn.Embedding(c.maxPositionEmbeddings, c.hiddenSize);
    this.token_type_embeddings = new nn.Embedding(c.typeVocabSize, c.hiddenSize);
    this.LayerNorm = new nn.LayerNorm(c.hiddenSize, { eps: c.layerNormEps });
    this.dropout = new nn.Dropout(c.hiddenDropoutProb);
  }
  forward(ids: Tensor, tokenTypes: Tensor, positions: Tensor): Tensor {
    const e = F.add(F.add(this.word_embeddings.forward(ids), this.token_type_embeddings.forward(tokenTypes)), this.position_embeddings.forward(positions));
    return this.dropout.forward(this.LayerNorm.forward(e));
  }
}

class BertSelfAttention extends nn.Module {
  query: nn.Linear;
  key: nn.Linear;
  value: nn.Linear;
  dropout: nn.Dropout;
  constructor(
    readonly heads: number,
    hidden: number,
    dropout: number,
  ) {
    super();
    this.query = new nn.Linear(hidden, hidden);
    this.key = new nn.Linear(hidden, hidden);
    this.value = new nn.Linear(hidden, hidden);
    this.dropout = new nn.Dropout(dropout);
  }
  /** x (B, T, H), mask (B, 1, T, T) additive → (B, T, H). */
  forward(x: Tensor, mask: Tensor): Tensor {
    const [B, T, E] = x.shape;
    const H = this.heads,
      D = E / H;
    const split = (t: Tensor) => F.transpose(F.reshape(t, [B, T, H, D]), 1, 2); // (B, H, T, D) view
    const [q, k, v] = [split(this.query.forward(x)), split(this.key.forward(x)), split(this.value.forward(x))];
    const scale = 1 / Math.sqrt(D);
    const y =
      this.training && this.dropout.p > 0
        ? F.transpose(attentionComposed(q, k, v, mask, scale, false, this.dropout.p), 1, 2)
        : fusedAttention(q, k, v, F.expand(mask, [B, H, T, T]), scale, false, 0, "bthd");
    return F.reshape(y, [B, T, E]);
  }
}

/** dense, dropout, then LayerNorm of the sum with the block's input (post-LN). */
class BertResidualOutput extends nn.Module {
  dense: nn.Linear;
  LayerNorm: nn.LayerNorm;
  dropout: nn.Dropout;
  constructor(inFeatures: number, c: Required<BertConfig>) {
    super();
    this.dense = new nn.Linear(inFeatures, c.hiddenSize);
    this.LayerNorm = new nn.LayerNorm(c.hiddenSize, { eps: c.layerNormEps });
    this.dropout = new nn.Dropout(c.hiddenDropoutProb);
  }
  forward(h: Tensor, input: Tensor): Tensor {
    return this.LayerNorm.forward(F.add(this.dropout.forward(this.dense.forward(h)), input));
  }
}

class BertAttention extends nn.Module {
  self: BertSelfAttention;
  output: BertResidualOutput;
  constructor(c: Required<BertConfig>) {
    super();
    this.self = new BertSelfAttention(c.numAttentionHeads, c.hiddenSize, c.attentionProbsDropoutProb);
    this.output = new BertResidualOutput(c.hiddenSize, c);
  }
  forward(x: Tensor, mask: Tensor): Tensor {
    return this.output.forward(this.self.forward(x, mask), x);
  }
}

class BertIntermediate extends nn.Module {
  dense: nn.Linear;
  constructor(
    c: Required<BertConfig>,
    readonly act: string,
  ) {
    super();
    this.dense = new nn.Linear(c.hiddenSize, c.intermediateSize);
  }
  forward(x: Tensor): Tensor {
    const h = this.dense.forward(x);
    if (this.act === "relu") return F.relu(h);
    return F.gelu(h, { approximate: this.act === "gelu" ? "none" : "tanh" });
  }
}

class BertLayer extends nn.Module {
  attention: BertAttention;
  intermediate: BertIntermediate;
  output: BertResidualOutput;
  constructor(c: Required<BertConfig>) {
    super();
    this.attention = new BertAttention(c);
    this.intermediate = new BertIntermediate(c, c.hiddenAct);
    this.output = new BertResidualOutput(c.intermediateSize, c);
  }
  forward(x: Tensor, mask: Tensor): Tensor {
    const a = this.attention.forward(x, mask);
    return this.output.forward(this.intermediate.forward(a), a);
  }
}

class BertEncoder extends nn.Module {
  layer: nn.ModuleList;
  constructor(c: Required<BertConfig>) {
    super();
    this.layer = new nn.ModuleList(Array.from({ length: c.numHiddenLayers }, () => new BertLayer(c)));
  }
  forward(x: Tensor, mask: Tensor): Tensor {
    let h = x;
    for (const layer of this.layer) h = (layer as BertLayer).forward(h, mask);
    return h;
  }
}

class BertPooler extends nn.Module {
  dense: nn.Linear;
  constructor(hidden: number) {
    super();
    this.dense = new nn.Linear(hidden, hidden);
  }
  forward(h: Tensor): Tensor {
    return F.tanh(this.dense.forward(F.select(h, 1, 0)));
  }
}

/** HF's _init_weights: N(0, initializerRange) weights and embeddings (padding row zero), zero biases; LayerNorm stays ones/zeros. */
function initBert(root: nn.Module, std: number): void {
  for (const m of root.modules()) {
    if (m instanceof nn.Linear) {
      normal_(m.weight, 0, std);
      if (m.bias) zeros_(m.bias);
    } else if (m instanceof nn.Embedding) {
      normal_(m.weight, 0, std);
      if (m.paddingIdx !== null) m.weight.select(0, m.paddingIdx).fill_(0);
    }
  }
}

/**
 * A BERT-family encoder (Hugging Face's BertModel, same keys): forward(inputIds (B, T) int32,
 * {attentionMask, tokenTypeIds}) → last hidden state (B, T, hiddenSize); pool() is BERT's pooler,
 * meanPool() sentence-transformers' mean pooling.
 */
export class Bert extends nn.Module {
  readonly config: Required<BertConfig>;
  embeddings: BertEmbeddings;
  encoder: BertEncoder;
  pooler: BertPooler | null;
  #positions: Tensor | null = null;

  constructor(config: BertConfig) {
    super();
    checkArgCount("Bert", arguments, 1);
    if (config !== null && typeof config === "object") checkOptions("Bert", config, CONFIG_KEYS);
    this.config = bertConfig("Bert", config);
    const c = this.config;
    this.embeddings = new BertEmbeddings(c);
    this.encoder = new BertEncoder(c);
    this.pooler = c.addPoolingLayer ? new BertPooler(c.hiddenSize) : null;
    initBert(this, c.initializerRange);
  }

  /**
   * A Hugging Face BERT checkpoint (BertModel, or the encoder of BertFor… models: the `bert.`
   * prefix is dropped and task heads ignored) as from_pretrained loads it, in eval mode. See
   * docs/pretrained.md.
   */
  static fromPretrained(source: PretrainedSource, options: BertFromPretrainedOptions = {}): Bert {
    checkArgCount("Bert.fromPretrained", arguments, 2);
    return bertFromPretrained(source, options, false) as Bert;
  }

  /** Saves config.json and model.safetensors as BertModel's save_pretrained (into `dir` when given); returns the bytes. */
  savePretrained(dir?: string): PretrainedFiles {
    checkArgCount("savePretrained", arguments, 1);
    return bertSavePretrained(this, dir);
  }

  /** The weights under HF's BertModel keys, copied. */
  toHuggingFaceStateDict(): Record<string, LoadedTensor> {
    checkArgCount("toHuggingFaceStateDict", arguments, 0);
    return bertStateDict(this);
  }

  /** inputIds (B, T) int32, T ≤ maxPositionEmbeddings → the last hidden state (B, T, hiddenSize). */
  forward(inputIds: Tensor, options: BertInputs = {}): Tensor {
    checkArgCount("Bert.forward", arguments, 2);
    if (options === null || typeof options !== "object") throw new ValueError(`Bert.forward: options must be an object, got ${describe(options)}`);
    checkOptions("Bert.forward", options, ["attentionMask", "tokenTypeIds"]);
    const c = this.config;
    checkIds("Bert.forward", "inputIds", inputIds, c.vocabSize, "vocabSize");
    const [B, T] = inputIds.shape;
    if (T > c.maxPositionEmbeddings) throw new ShapeError(`Bert.forward: ${T} tokens is more than maxPositionEmbeddings (${c.maxPositionEmbeddings})`);
    const be = this.embeddings.word_embeddings.weight.backend;
    let types = options.tokenTypeIds ?? null;
    if (types === null) types = perInput(tensor(new Int32Array(B * T), { shape: [B, T], dtype: "int32", backend: be }));
    else {
      checkIds("Bert.forward", "tokenTypeIds", types, c.typeVocabSize, "typeVocabSize");
      sameShape("tokenTypeIds", types, inputIds);
    }
    const mask = additiveMask(options.attentionMask ?? null, inputIds, be);
    const positions = F.narrow(this.positionIds(), 0, 0, T);
    return this.encoder.forward(this.embeddings.forward(inputIds, types, positions), mask);
  }

  /** BERT's pooler: tanh(dense(hidden[:, 0])), (B, hiddenSize). */
  pool(hidden: Tensor): Tensor {
    checkArgCount("pool", arguments, 1);
    if (this.pooler === null) throw new ValueError("Bert.pool: this model has no pooler (addPoolingLayer: false, or a checkpoint without pooler.dense)");
    this.checkHidden("pool", hidden);
    return this.pooler.forward(hidden);
  }

  /**
   * Mean of the token vectors where attentionMask is 1 (sentence-transformers' mean pooling, the
   * sentence embedding of MiniLM-style checkpoints): hidden (B, T, H), mask (B, T) → (B, H).
   */
  meanPool(hidden: Tensor, attentionMask: Tensor | null = null): Tensor {
    checkArgCount("meanPool", arguments, 2);
    this.checkHidden("meanPool", hidden);
    if (attentionMask === null) return F.mean(hidden, 1);
    const [B, T] = hidden.shape;
    if (attentionMask.ndim !== 2 || attentionMask.shape[0] !== B || attentionMask.shape[1] !== T)
      throw new ShapeError(`Bert.meanPool: attentionMask ${shapeStr(attentionMask.shape)} must be (B, T) = ${shapeStr([B, T])}`);
    const m = F.unsqueeze(attentionMask.dtype === "float32" ? attentionMask : F.to(attentionMask, "float32"), -1);
    return F.div(F.sum(F.mul(hidden, m), 1), F.clamp(F.sum(m, 1), 1e-9));
  }

  private checkHidden(op: string, hidden: Tensor): void {
    if (hidden === null || typeof hidden !== "object" || !("shape" in hidden))
      throw new ValueError(`Bert.${op}: hidden must be a tensor, got ${describe(hidden)}`);
    if (hidden.ndim !== 3 || hidden.shape[2] !== this.config.hiddenSize)
      throw new ShapeError(`Bert.${op}: hidden must be (B, T, ${this.config.hiddenSize}), got ${shapeStr(hidden.shape)}`);
  }

  /** 0 … maxPositionEmbeddings-1 as a persistent int32 tensor, made once. */
  private positionIds(): Tensor {
    if (this.#positions === null) {
      const be = this.embeddings.word_embeddings.weight.backend;
      this.#positions = arange(0, this.config.maxPositionEmbeddings, { dtype: "int32", backend: be }).keep();
    }
    return this.#positions;
  }
}

/** Options of BertForSequenceClassification's constructor (beside the encoder's config). */
export interface BertClassifierConfig extends BertConfig {
  /** classes (default 2); 1 makes it a regression head with a mean-squared-error loss, as HF */
  numLabels?: number;
  /** dropout before the classifier (default: hiddenDropoutProb) */
  classifierDropout?: number | null;
  /** class names by index (HF's id2label), kept for config.json */
  id2label?: Record<string, string> | null;
}

/** Options of BertForSequenceClassification.forward: Bert's inputs and the labels. */
export interface BertClassifierInputs extends BertInputs {
  /** (B,) int32 class ids (float32 targets when numLabels is 1) */
  labels?: Tensor | null;
}

/**
 * Hugging Face's BertForSequenceClassification (keys bert.*, classifier.*): the pooled first
 * token, dropout, a Linear to numLabels. forward → [logits (B, numLabels), loss | null]: cross
 * entropy for class ids, mean squared error when numLabels is 1.
 */
export class BertForSequenceClassification extends nn.Module {
  readonly numLabels: number;
  readonly id2label: Record<string, string> | null;
  bert: Bert;
  dropout: nn.Dropout;
  classifier: nn.Linear;

  constructor(config: BertClassifierConfig) {
    super();
    checkArgCount("BertForSequenceClassification", arguments, 1);
    const owner = "BertForSequenceClassification";
    if (config === null || typeof config !== "object") throw new ValueError(`${owner}: config must be an object, got ${describe(config)}`);
    checkOptions(owner, config, [...CONFIG_KEYS, "numLabels", "classifierDropout", "id2label"]);
    const { numLabels = 2, classifierDropout = null, id2label = null, ...encoder } = config;
    checkInt(owner, "numLabels", numLabels, 1);
    if (classifierDropout !== null) checkFiniteNumber(owner, "classifierDropout", classifierDropout, 0, 1);
    this.numLabels = numLabels;
    this.id2label = id2label;
    this.bert = new Bert({ ...encoder, addPoolingLayer: true });
    this.dropout = new nn.Dropout(classifierDropout ?? this.bert.config.hiddenDropoutProb);
    this.classifier = new nn.Linear(this.bert.config.hiddenSize, numLabels);
    initBert(this.classifier, this.bert.config.initializerRange);
  }

  /**
   * A Hugging Face BertForSequenceClassification checkpoint; a bare encoder checkpoint (BertModel,
   * e.g. MiniLM) gets a new head at HF's init (numLabels from the options, else 2). Eval mode.
   */
  static fromPretrained(source: PretrainedSource, options: BertFromPretrainedOptions = {}): BertForSequenceClassification {
    checkArgCount("BertForSequenceClassification.fromPretrained", arguments, 2);
    return bertFromPretrained(source, options, true) as BertForSequenceClassification;
  }

  /** Saves config.json (with id2label) and model.safetensors as save_pretrained (into `dir` when given); returns the bytes. */
  savePretrained(dir?: string): PretrainedFiles {
    checkArgCount("savePretrained", arguments, 1);
    return bertSavePretrained(this, dir);
  }

  /** The weights under HF's BertForSequenceClassification keys, copied. */
  toHuggingFaceStateDict(): Record<string, LoadedTensor> {
    checkArgCount("toHuggingFaceStateDict", arguments, 0);
    return bertStateDict(this);
  }

  /** inputIds (B, T) int32 → [logits (B, numLabels), loss | null]. */
  forward(inputIds: Tensor, options: BertClassifierInputs = {}): [Tensor, Tensor | null] {
    checkArgCount("BertForSequenceClassification.forward", arguments, 2);
    if (options === null || typeof options !== "object")
      throw new ValueError(`BertForSequenceClassification.forward: options must be an object, got ${describe(options)}`);
    checkOptions("BertForSequenceClassification.forward", options, ["attentionMask", "tokenTypeIds", "labels"]);
    const { labels = null, ...inputs } = options;
    const hidden = this.bert.forward(inputIds, inputs);
    const logits = this.classifier.forward(this.dropout.forward(this.bert.pool(hidden)));
    if (labels === null) return [logits, null];
    const B = inputIds.shape[0];
    if (labels.ndim !== 1 || labels.shape[0] !== B)
      throw new ShapeError(`BertForSequenceClassification.forward: labels must be (B,) = [${B}], got ${shapeStr(labels.shape)}`);
    if (this.numLabels === 1) return [logits, F.mseLoss(F.squeeze(logits, -1), labels.dtype === "float32" ? labels : F.to(labels, "float32"))];
    checkIds("BertForSequenceClassification.forward", "labels", labels, this.numLabels, "numLabels", 1);
    return [logits, F.crossEntropy(logits, labels)];
  }
}

function checkIds(op: string, what: string, t: Tensor, limit: number, limitName: string, ndim = 2): void {
  if (t === null || typeof t !== "object" || !("dtype" in t)) throw new ValueError(`${op}: ${what} must be an int32 tensor, got ${describe(t)}`);
  if (t.dtype !== "int32") throw new ValueError(`${op}: ${what} must be an int32 tensor of ids, got ${t.dtype}`);
  if (t.ndim !== ndim) throw new ShapeError(`${op}: ${what} must be ${ndim === 2 ? "(batch, time)" : "(batch,)"}, got ${shapeStr(t.shape)}`);
  if (t.size === 0) throw new ShapeError(`${op}: ${what} is empty (${shapeStr(t.shape)})`);
  const ids = t.toArray();
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] >= limit) throw new ValueError(`${op}: ${what}[${i}] = ${ids[i]} is out of range (${limitName} ${limit})`);
  }
}

function sameShape(what: string, t: Tensor, ids: Tensor): void {
  if (t.ndim !== 2 || t.shape[0] !== ids.shape[0] || t.shape[1] !== ids.shape[1])
    throw new ShapeError(`Bert.forward: ${what} ${shapeStr(t.shape)} must match inputIds ${shapeStr(ids.shape)}`);
}

/** (1 - mask) · float32 min for every (query, key) pair, (B, 1, T, T), as HF's extended attention mask. */
function additiveMask(mask: Tensor | null, ids: Tensor, backend: Tensor["backend"]): Tensor {
  const [B, T] = ids.shape;
  const keep = new Float32Array(B * T).fill(1);
  if (mask !== null) {
    if (mask === null || typeof mask !== "object" || !("dtype" in mask))
      throw new ValueError(`Bert.forward: attentionMask must be a tensor, got ${describe(mask)}`);
    sameShape("attentionMask", mask, ids);
    keep.set(mask.toArray().map(Number));
  }
  const out = new Float32Array(B * T * T);
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < T; s++) {
      const add = Math.fround((1 - keep[b * T + s]) * F32_MIN);
      for (let t = 0; t < T; t++) out[(b * T + t) * T + s] = add;
    }
  }
  return perInput(tensor(out, { shape: [B, 1, T, T], backend }));
}

/** A tensor made for this forward call only: with autograd on it is freed with the training step (the B·T² mask alone is 2 MB a step at batch 32 × 128). */
function perInput(t: Tensor): Tensor {
  return isGradEnabled() ? intoCurrentStep(t) : t;
}
