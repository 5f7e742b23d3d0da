// models.GPT: the GPT-2 architecture as nanoGPT writes it (token + position embeddings, pre-LN
// blocks of causal self-attention and a GELU-tanh MLP, final LayerNorm, LM head tied to the token
// embedding) with nanoGPT's state-dict keys (transformer.wte.weight, transformer.h.0.attn.c_attn.weight,
// ..., lm_head.weight) and init, and generation with a KV cache.
import { ShapeError, ValueError, shapeStr } from "../errors.js";
import { type Tensor, arange, tensor, zeros } from "../tensor.js";
import * as F from "../ops/index.js";
import { attentionComposed, fusedAttention } from "../ops/attention.js";
import * as nn from "../nn/index.js";
import { normal_, zeros_ } from "../nn/init.js";
import { isGradEnabled, noGrad } from "../lifetime.js";
import { checkpoint } from "../autograd-checkpoint.js";
import { AdamW } from "../optim/adam.js";
import { Generator as Rng, defaultGenerator } from "../random.js";
import { checkArgCount, checkBool, checkFiniteNumber, checkInt, checkOptions, describe } from "../check.js";
import type { LoadedTensor } from "../io/safetensors.js";
import type { PretrainedFiles, PretrainedSource } from "./hf-files.js";
import { type GPTFromPretrainedOptions, gpt2FromPretrained, gpt2SavePretrained, gpt2StateDict } from "./hf-gpt2.js";

/** The size of a GPT (nanoGPT's GPTConfig, camelCased). */
export interface GPTConfig {
  vocabSize: number;
  /** longest context (position embeddings) */
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  /** dropout on embeddings, attention weights and residual branches in training (default 0) */
  dropout?: number;
  /** biases in Linear and LayerNorm layers (default true, as GPT-2) */
  bias?: boolean;
}

/** False while fromPretrained builds a GPT whose weights it overwrites next: skips nanoGPT's init pass (5 s of normals for GPT-2 124M). */
let initWeights = true;

/** A GPT without nanoGPT's init pass, for loaders that overwrite every weight next (from_pretrained's no_init_weights). */
export function uninitializedGPT(config: GPTConfig): GPT {
  initWeights = false;
  try {
    return new GPT(config);
  } finally {
    initWeights = true;
  }
}

/** One layer's cached keys and values, (B, H, blockSize, D) each; `length` positions are filled. */
interface LayerCache {
  k: Tensor;
  v: Tensor;
}

/** Causal self-attention: c_attn (E → 3E) split into heads, fused attention, c_proj (E → E). */
class CausalSelfAttention extends nn.Module {
  c_attn: nn.Linear;
  c_proj: nn.Linear;
  attn_dropout: nn.Dropout;
  resid_dropout: nn.Dropout;

  constructor(
    readonly nHead: number,
    readonly nEmbd: number,
    dropout: number,
    bias: boolean,
  ) {
    super();
    this.c_attn = new nn.Linear(nEmbd, 3 * nEmbd, { bias });
    this.c_proj = new nn.Linear(nEmbd, nEmbd, { bias });
    this.attn_dropout = new nn.Dropout(dropout);
    this.resid_dropout = new nn.Dropout(dropout);
  }

  /** x (B, T, E) → (B, T, E); with a cache, x holds positions pos … pos+T-1 and keys/values are appended. */
  forward(x: Tensor, cache: LayerCache | null = null, pos = 0): Tensor {
    const [B, T, E] = x.shape;
    const H = this.nHead,
      D = E / H;
    const qkv = F.reshape(this.c_attn.forward(x), [B, T, 3, H, D]);
    const head = (i: number) => F.transpose(F.select(qkv, 2, i), 1, 2); // (B, H, T, D) view
    const [q, k, v] = [head(0), head(1), head(2)];
    const scale = 1 / Math.sqrt(D);
    let y: Tensor;
    if (cache !== null) {
      F.copyInPlace(F.narrow(cache.k, 2, pos, T), k);
      F.copyInPlace(F.narrow(cache.v, 2, pos, T), v);
      y = fusedAttention(q, F.narrow(cache.k, 2, 0, pos + T), F.narrow(cache.v, 2, 0, pos + T), null, scale, true, pos, "bthd");
    } else if (this.training && this.attn_dropout.p > 0) {
      y = F.transpose(attentionComposed(q, k, v, null, scale, true, this.attn_dropout.p), 1, 2);
    } else {
      y = fusedAttention(q, k, v, null, scale, true, 0, "bthd");
    }
    return this.resid_dropout.forward(this.c_proj.forward(F.reshape(y, [B, T, E])));
  }
}

/** The MLP of a block: c_fc (E → 4E), GELU (tanh form, as GPT-2), c_proj (4E → E), dropout. */
class MLP extends nn.Module {
  c_fc: nn.Linear;
  c_proj: nn.Linear;
  dropout: nn.Dropout;
  constructor(nEmbd: number, dropout: number, bias: boolean) {
    super();
    this.c_fc = new nn.Linear(nEmbd, 4 * nEmbd, { bias });
    this.c_proj = new nn.Linear(4 * nEmbd, nEmbd, { bias });
    this.dropout = new nn.Dropout(dropout);
  }
  forward(x: Tensor): Tensor {
    return this.dropout.forward(this.c_proj.forward(F.gelu(this.c_fc.forward(x), { approximate: "tanh" })));
  }
}

/** A pre-LN transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x)). */
class Block extends nn.Module {
  ln_1: nn.LayerNorm;
  attn: CausalSelfAttention;
  ln_2: nn.LayerNorm;
  mlp: MLP;
  constructor(c: Required<GPTConfig>) {
    super();
    this.ln_1 = new nn.LayerNorm(c.nEmbd, { bias: c.bias });
    this.attn = new CausalSelfAttention(c.nHead, c.nEmbd, c.dropout, c.bias);
    this.ln_2 = new nn.LayerNorm(c.nEmbd, { bias: c.bias });
    this.mlp = new MLP(c.nEmbd, c.dropout, c.bias);
  }
  forward(x: Tensor, cache: LayerCache | null = null, pos = 0): Tensor {
    const h = F.add(x, this.attn.forward(this.ln_1.forward(x), cache, pos));
    return F.add(h, this.mlp.forward(this.ln_2.forward(h)));
  }
}

/** Options of GPT.generate / GPT.stream. */
export interface GenerateOptions {
  /** tokens to add (each batch row) */
  maxNewTokens: number;
  /** divides the logits; 0 picks the most likely token (greedy). Default 1 */
  temperature?: number;
  /** sample only among the k most likely tokens */
  topK?: number | null;
  /** sample only among the most likely tokens whose probabilities add up to topP (nucleus) */
  topP?: number | null;
  /** seed of a generator of its own (default: the global generator, see manualSeed) */
  seed?: number | null;
  /** called with each new token of every batch row, as it is chosen */
  onToken?: ((tokens: Int32Array, step: number) => void) | null;
}

const GENERATE_KEYS = ["maxNewTokens", "temperature", "topK", "topP", "seed", "onToken"] as const;

/**
 * A GPT-2-style language model (nanoGPT's GPT): forward(idx (B, T) int32, targets?) →
 * [logits (B, T, vocab), loss | null]; generate() samples with a KV cache.
 */
export class GPT extends nn.Module {
  readonly config: Required<GPTConfig>;
  transformer: nn.ModuleDict;
  lm_head: nn.Linear;
  #positions: Tensor | null = null;
  #checkpointing = false;

  constructor(config: GPTConfig) {
    super();
    checkArgCount("GPT", arguments, 1);
    this.config = gptConfig(config);
    const c = this.config;
    this.transformer = new nn.ModuleDict({
      wte: new nn.Embedding(c.vocabSize, c.nEmbd),
      wpe: new nn.Embedding(c.blockSize, c.nEmbd),
      drop: new nn.Dropout(c.dropout),
      h: new nn.ModuleList(Array.from({ length: c.nLayer }, () => new Block(c))),
      ln_f: new nn.LayerNorm(c.nEmbd, { bias: c.bias }),
    });
    this.lm_head = new nn.Linear(c.nEmbd, c.vocabSize, { bias: false });
    const untied = this.lm_head.weight;
    this.lm_head.weight = this.wte.weight; // weight tying, as GPT-2
    untied.dispose(); // vocab × nEmbd floats nobody uses any more (147 MiB for GPT-2 124M)
    if (initWeights) this.initWeights();
  }

  /**
   * A Hugging Face GPT-2 checkpoint (GPT2LMHeadModel, as from_pretrained): a folder path (Node,
   * Deno, Bun) or its files' bytes by name; config.json plus model.safetensors or shards with
   * model.safetensors.index.json; F32/F16/BF16 weights (held as float32). Returns the model in
   * eval mode. See docs/pretrained.md.
   */
  static fromPretrained(source: PretrainedSource, options: GPTFromPretrainedOptions = {}): GPT {
    checkArgCount("GPT.fromPretrained", arguments, 2);
    return gpt2FromPretrained(source, options);
  }

  /**
   * Saves the model as Hugging Face's save_pretrained does (config.json, model.safetensors with
   * GPT2LMHeadModel's keys), into `dir` when given; returns the files' bytes either way.
   */
  savePretrained(dir?: string): PretrainedFiles {
    checkArgCount("savePretrained", arguments, 1);
    return gpt2SavePretrained(this, dir);
  }

  /** The weights under GPT2LMHeadModel's keys and layouts (Conv1D [in, out]; tied lm_head.weight left out), copied. */
  toHuggingFaceStateDict(): Record<string, LoadedTensor> {
    checkArgCount("toHuggingFaceStateDict", arguments, 0);
    return gpt2StateDict(this);
  }

  private get wte(): nn.Embedding {
    return this.transformer.get("wte") as nn.Embedding;
  }
  private get wpe(): nn.Embedding {
    return this.transformer.get("wpe") as nn.Embedding;
  }
  private get blocks(): Block[] {
    return [...(this.transformer.get("h") as nn.ModuleList)] as Block[];
  }

  /** nanoGPT's init: N(0, 0.02) weights and embeddings, zero biases, residual projections N(0, 0.02/√(2·nLayer)). */
  private initWeights(): void {
    for (const m of this.modules()) {
      if (m instanceof nn.Linear) {
        normal_(m.weight, 0, 0.02);
        if (m.bias) zeros_(m.bias);
      } else if (m instanceof nn.Embedding) {
        normal_(m.weight, 0, 0.02);
      }
    }
    for (const [name, p] of this.namedParameters()) if (name.endsWith("c_proj.weight")) normal_(p, 0, 0.02 / Math.sqrt(2 * this.config.nLayer));
  }

  /**
   * nanoGPT's configure_optimizers: AdamW with weight decay on the matrices and embeddings (≥ 2-D
   * parameters) and none on biases and LayerNorm weights.
   */
  configureOptimizers(options: { lr: number; weightDecay: number; betas?: [number, number] }): AdamW {
    checkArgCount("configureOptimizers", arguments, 1);
    checkOptions("GPT.configureOptimizers", options, ["lr", "weightDecay", "betas"]);
    const params = this.parameters();
    return new AdamW(
      [
        { params: params.filter((p) => p.ndim >= 2), weightDecay: options.weightDecay },
        { params: params.filter((p) => p.ndim < 2), weightDecay: 0 },
      ],
      { lr: options.lr, betas: options.betas ?? [0.9, 0.95] },
    );
  }

  /**
   * Gradient checkpointing (Hugging Face's gradient_checkpointing_enable): in training, each block
   * keeps only its input and recomputes its activations in backward (autograd.checkpoint), for
   * about one more forward pass of compute and the activations of one block instead of all.
   */
  gradientCheckpointingEnable(): void {
    checkArgCount("gradientCheckpointingEnable", arguments, 0);
    this.#checkpointing = true;
  }

  /** Turns gradient checkpointing off again. */
  gradientCheckpointingDisable(): void {
    checkArgCount("gradientCheckpointingDisable", arguments, 0);
    this.#checkpointing = false;
  }

  /** Whether gradient checkpointing is on (Hugging Face's is_gradient_checkpointing). */
  get isGradientCheckpointing(): boolean {
    return this.#checkpointing;
  }

  /** Parameters counted once (the tied head too), nanoGPT's get_num_params(non_embedding=false). */
  numParams(): number {
    checkArgCount("numParams", arguments, 0);
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** idx (B, T) int32 token ids, T ≤ blockSize; targets (B, T) int32 (-1 ignored) → [logits (B, T, V), mean cross-entropy | null]. */
  forward(idx: Tensor, targets: Tensor | null = null): [Tensor, Tensor | null] {
    checkArgCount("forward", arguments, 2);
    this.checkIds("forward", "idx", idx);
    const [B, T] = idx.shape;
    if (targets !== null) {
      this.checkIds("forward", "targets", targets, true);
      if (targets.shape[0] !== B || targets.shape[1] !== T)
        throw new ShapeError(`GPT.forward: targets ${shapeStr(targets.shape)} must match idx ${shapeStr(idx.shape)}`);
    }
    const logits = this.run(idx, null, 0);
    const V = this.config.vocabSize;
    const loss = targets === null ? null : F.crossEntropy(F.reshape(logits, [B * T, V]), F.reshape(targets, [B * T]), { ignoreIndex: -1 });
    return [logits, loss];
  }

  /** Embeddings → blocks → ln_f → lm_head for positions pos … pos+T-1 (with caches, appending to them). */
  private run(idx: Tensor, caches: LayerCache[] | null, pos: number): Tensor {
    const T = idx.shape[1];
    const positions = F.narrow(this.positionIds(), 0, pos, T);
    let x = (this.transformer.get("drop") as nn.Dropout).forward(F.add(this.wte.forward(idx), this.wpe.forward(positions)));
    const recompute = this.#checkpointing && this.training && caches === null && isGradEnabled();
    this.blocks.forEach((block, i) => {
      x = recompute ? checkpoint((h: Tensor) => block.forward(h), x) : block.forward(x, caches === null ? null : caches[i], pos);
    });
    return this.lm_head.forward((this.transformer.get("ln_f") as nn.LayerNorm).forward(x));
  }

  /** 0 … blockSize-1 as a persistent int32 tensor, made once (a per-step arange would be kept forever). */
  private positionIds(): Tensor {
    if (this.#positions === null) this.#positions = arange(0, this.config.blockSize, { dtype: "int32", backend: this.wte.weight.backend }).keep();
    return this.#positions;
  }

  private checkIds(op: string, what: string, t: Tensor, allowIgnore = false): void {
    if (t.dtype !== "int32") throw new ValueError(`GPT.${op}: ${what} must be an int32 tensor of token ids, got ${t.dtype}`);
    if (t.ndim !== 2) throw new ShapeError(`GPT.${op}: ${what} must be (batch, time), got ${shapeStr(t.shape)}`);
    if (t.shape[1] > this.config.blockSize) {
      throw new ShapeError(`GPT.${op}: cannot forward a sequence of length ${t.shape[1]}, block size is only ${this.config.blockSize}`);
    }
    if (t.shape[1] === 0) throw new ShapeError(`GPT.${op}: ${what} has no positions (${shapeStr(t.shape)})`);
    if (!allowIgnore) {
      const V = this.config.vocabSize;
      const ids = t.toArray();
      for (let i = 0; i < ids.length; i++) {
        if (ids[i] < 0 || ids[i] >= V) throw new ValueError(`GPT.${op}: ${what}[${i}] = ${ids[i]} is not a token id (vocabSize ${V})`);
      }
    }
  }

  /**
   * Samples maxNewTokens tokens after idx (B, T) (int32 tensor or arrays of ids) with a KV cache
   * and returns idx followed by them, (B, T + maxNewTokens). Contexts longer than blockSize keep
   * their last blockSize tokens, as nanoGPT.
   */
  generate(idx: Tensor | readonly (readonly number[])[], options: GenerateOptions): Tensor {
    checkArgCount("generate", arguments, 2);
    const rows = this.promptRows("generate", idx);
    for (const tokens of this.stream(rows, options)) tokens.forEach((t, b) => rows[b].push(t));
    return tensorOfRows(rows, this.wte.weight.backend);
  }

  /** The new tokens one step at a time (each batch row's token per step), for streaming output. */
  *stream(idx: Tensor | readonly (readonly number[])[], options: GenerateOptions): IterableIterator<Int32Array> {
    checkArgCount("stream", arguments, 2);
    const rows = this.promptRows("stream", idx);
    const o = generateOptions(options, this.config.vocabSize);
    const rng: Rng = o.seed === null ? defaultGenerator : new Rng(o.seed);
    const B = rows.length,
      c = this.config;
    const be = this.wte.weight.backend;
    const D = c.nEmbd / c.nHead;
    // Persistent caches (outside every noGrad scope), released when the generator ends.
    const caches: LayerCache[] = this.blocks.map(() => ({
      k: zeros([B, c.nHead, c.blockSize, D], { backend: be }).keep(),
      v: zeros([B, c.nHead, c.blockSize, D], { backend: be }).keep(),
    }));
    const wasTraining = this.training;
    this.eval();
    try {
      let filled = 0;
      const prefill = (): Float32Array => {
        const ctx = rows.map((r) => r.slice(-c.blockSize));
        filled = ctx[0].length;
        return noGrad(() => lastLogits(this.run(tensorOfRows(ctx, be), caches, 0)));
      };
      let logits = prefill();
      for (let step = 0; step < o.maxNewTokens; step++) {
        const next = sample(logits, B, c.vocabSize, o, rng);
        next.forEach((t, b) => rows[b].push(t));
        o.onToken?.(next, step);
        yield next;
        if (step === o.maxNewTokens - 1) break;
        if (filled === c.blockSize) {
          logits = prefill(); // the window slides: recompute the cache for the last blockSize tokens
        } else {
          const pos = filled;
          filled++;
          logits = noGrad(() =>
            lastLogits(
              this.run(
                tensorOfRows(
                  rows.map((r) => [r[r.length - 1]]),
                  be,
                ),
                caches,
                pos,
              ),
            ),
          );
        }
      }
    } finally {
      for (const cache of caches) {
        cache.k.dispose();
        cache.v.dispose();
      }
      this.train(wasTraining);
    }
  }

  private promptRows(op: string, idx: Tensor | readonly (readonly number[])[]): number[][] {
    let rows: number[][];
    if (Array.isArray(idx)) rows = idx.map((r) => Array.from(r as readonly number[]));
    else if (idx && typeof idx === "object" && "shape" in idx) {
      const t = idx as Tensor;
      if (t.ndim !== 2) throw new ShapeError(`GPT.${op}: idx must be (batch, time), got ${shapeStr(t.shape)}`);
      const flat = Array.from(t.toArray());
      rows = Array.from({ length: t.shape[0] }, (_, b) => flat.slice(b * t.shape[1], (b + 1) * t.shape[1]));
    } else throw new ValueError(`GPT.${op}: idx must be an int32 tensor (B, T) or arrays of token ids, got ${describe(idx)}`);
    if (rows.length === 0 || rows[0].length === 0) throw new ShapeError(`GPT.${op}: the prompt needs at least one token in at least one row`);
    const V = this.config.vocabSize;
    rows.forEach((r, b) => {
      if (r.length !== rows[0].length) throw new ShapeError(`GPT.${op}: prompt rows differ in length (${rows[0].length} and ${r.length} at row ${b})`);
      r.forEach((t, i) => {
        if (!Number.isInteger(t) || t < 0 || t >= V)
          throw new ValueError(`GPT.${op}: prompt row ${b} position ${i} is ${describe(t)}, not a token id (vocabSize ${V})`);
      });
    });
    return rows;
  }
}

function gptConfig(config: GPTConfig): Required<GPTConfig> {
  if (config === null || typeof config !== "object")
    throw new ValueError(`GPT: config must be an object {vocabSize, blockSize, nLayer, nHead, nEmbd}, got ${describe(config)}`);
  checkOptions("GPT", config, ["vocabSize", "blockSize", "nLayer", "nHead", "nEmbd", "dropout", "bias"]);
  for (const k of ["vocabSize", "blockSize", "nLayer", "nHead", "nEmbd"] as const) checkInt("GPT", k, config[k], 1);
  if (config.nEmbd % config.nHead !== 0) throw new ValueError(`GPT: nEmbd (${config.nEmbd}) must be divisible by nHead (${config.nHead})`);
  const dropout = config.dropout ?? 0;
  checkFiniteNumber("GPT", "dropout", dropout, 0, 1);
  const bias = config.bias ?? true;
  checkBool("GPT", "bias", bias);
  return { ...config, dropout, bias };
}

function generateOptions(options: GenerateOptions, V: number) {
  if (options === null || typeof options !== "object")
    throw new ValueError(`GPT.generate: options must be an object {maxNewTokens, ...}, got ${describe(options)}`);
  checkOptions("GPT.generate", options, GENERATE_KEYS);
  checkInt("GPT.generate", "maxNewTokens", options.maxNewTokens, 0);
  const temperature = options.temperature ?? 1;
  checkFiniteNumber("GPT.generate", "temperature", temperature, 0);
  const topK = options.topK ?? null;
  if (topK !== null) checkInt("GPT.generate", "topK", topK, 1, V);
  const topP = options.topP ?? null;
  if (topP !== null) checkFiniteNumber("GPT.generate", "topP", topP, 0, 1);
  const seed = options.seed ?? null;
  if (seed !== null) checkInt("GPT.generate", "seed", seed, 0);
  const onToken = options.onToken ?? null;
  if (onToken !== null && typeof onToken !== "function") throw new ValueError(`GPT.generate: onToken must be a function, got ${describe(onToken)}`);
  return { maxNewTokens: options.maxNewTokens, temperature, topK, topP, seed, onToken };
}

/** Rows of token ids as an int32 (B, T) tensor. */
function tensorOfRows(rows: readonly (readonly number[])[], backend: Tensor["backend"]): Tensor {
  const T = rows[0].length;
  const data = new Int32Array(rows.length * T);
  rows.forEach((r, b) => data.set(r, b * T));
  return tensor(data, { shape: [rows.length, T], dtype: "int32", backend });
}

/** The logits of the last position of (B, T, V) as B·V floats. */
function lastLogits(logits: Tensor): Float32Array {
  const [, T] = logits.shape;
  return Float32Array.from(F.select(logits, 1, T - 1).toArray());
}

/** One token per row from logits (B·V): temperature, top-k, top-p, then a draw (temperature 0: argmax). */
function sample(logits: Float32Array, B: number, V: number, o: ReturnType<typeof generateOptions>, rng: Rng): Int32Array {
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const row = logits.subarray(b * V, (b + 1) * V);
    if (o.temperature === 0) {
      let best = 0;
      for (let i = 1; i < V; i++) if (row[i] > row[best]) best = i;
      out[b] = best;
      continue;
    }
    const order = Array.from({ length: V }, (_, i) => i).sort((x, y) => row[y] - row[x] || x - y);
    let keep = o.topK === null ? V : Math.min(o.topK, V);
    const m = row[order[0]];
    const p = order.slice(0, keep).map((i) => Math.exp((row[i] - m) / o.temperature));
    let total = p.reduce((s, x) => s + x, 0);
    if (o.topP !== null) {
      let cum = 0,
        n = 0;
      while (n < keep && (n === 0 || cum < o.topP * total)) cum += p[n++];
      keep = n;
      total = cum;
    }
    let u = rng.random() * total;
    let pick = order[keep - 1];
    for (let i = 0; i < keep; i++) {
      u -= p[i];
      if (u < 0) {
        pick = order[i];
        break;
      }
    }
    out[b] = pick;
  }
  return out;
}
