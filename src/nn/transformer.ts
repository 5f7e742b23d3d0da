// nn.MultiheadAttention, nn.TransformerEncoderLayer and nn.TransformerDecoderLayer with
// torch's parameter names (in_proj_weight, in_proj_bias, out_proj; self_attn, linear1, norm1, ...),
// init and mask conventions, so state dicts move both ways. Attention runs on the fused kernel
// (heads read in place from the projection, written next to each other for out_proj); attention
// weights (needWeights) and attention dropout take the composed form.
import { ShapeError, ValueError, shapeStr } from "../errors.js";
import { MAX_DIM, type Tensor, full } from "../tensor.js";
import * as F from "../ops/index.js";
import { fusedAttention } from "../ops/attention.js";
import { Module, Parameter } from "./module.js";
import { Linear } from "./layers.js";
import { Dropout, LayerNorm } from "./norm.js";
import { constant_, xavierUniform_ } from "./init.js";
import { checkArgCount, checkBool, checkFiniteNumber, checkOptions, describe } from "../check.js";

/** Options of nn.MultiheadAttention (torch's keyword arguments, camelCased). */
export interface MultiheadAttentionOptions {
  /** dropout on the attention weights in training (default 0) */
  dropout?: number;
  bias?: boolean;
  /** inputs and outputs (batch, seq, feature) instead of (seq, batch, feature) */
  batchFirst?: boolean;
  /** only false (torch's add_bias_kv) */
  addBiasKv?: boolean;
  /** only false (torch's add_zero_attn) */
  addZeroAttn?: boolean;
  /** only embedDim (separate key/value sizes are not supported) */
  kdim?: number | null;
  /** only embedDim */
  vdim?: number | null;
}

/** Options of MultiheadAttention.forward (torch's key_padding_mask, need_weights, attn_mask, ...). */
export interface MultiheadAttentionForwardOptions {
  /** (B, S) or (S,): true (bool) hides that key; float values are added */
  keyPaddingMask?: Tensor | null;
  /** return the attention weights too (as torch, default true; false runs the fused kernel) */
  needWeights?: boolean;
  /** (T, S) or (B·H, T, S): true (bool) hides; float values are added */
  attnMask?: Tensor | null;
  /** average the returned weights over heads (default true) */
  averageAttnWeights?: boolean;
  /** causal self-attention: key j hidden from query i when j > i (on top of attnMask, if given) */
  isCausal?: boolean;
}

function positiveInt(owner: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_DIM)
    throw new ValueError(`${owner}: ${name} must be a positive integer, got ${describe(v)}`);
  return v;
}

function probability(owner: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !(v >= 0 && v <= 1)) throw new ValueError(`${owner}: ${name} must be a probability from 0 to 1, got ${describe(v)}`);
  return v;
}

/**
 * nn.MultiheadAttention(embedDim, numHeads, options): in_proj_weight (3E, E) xavier-uniform,
 * in_proj_bias zeros, out_proj Linear(E, E) with a zero bias. forward returns [output, weights].
 */
export class MultiheadAttention extends Module {
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  in_proj_weight: Parameter;
  in_proj_bias: Parameter | null;
  out_proj: Linear;

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    options: MultiheadAttentionOptions = {},
  ) {
    super();
    const name = "MultiheadAttention";
    checkArgCount(name, arguments, 3);
    positiveInt(name, "embedDim", embedDim);
    positiveInt(name, "numHeads", numHeads);
    if (embedDim % numHeads !== 0) throw new ValueError(`${name}: embedDim must be divisible by numHeads, got ${embedDim} and ${numHeads}`);
    checkOptions(name, options, ["dropout", "bias", "batchFirst", "addBiasKv", "addZeroAttn", "kdim", "vdim"]);
    this.headDim = embedDim / numHeads;
    this.dropout = probability(name, "dropout", options.dropout ?? 0);
    const bias = options.bias ?? true;
    checkBool(name, "bias", bias);
    this.batchFirst = options.batchFirst ?? false;
    checkBool(name, "batchFirst", this.batchFirst);
    for (const key of ["addBiasKv", "addZeroAttn"] as const) {
      if (options[key] !== undefined && options[key] !== false) throw new ValueError(`${name}: ${key} is not supported (got ${describe(options[key])})`);
    }
    for (const key of ["kdim", "vdim"] as const) {
      const v = options[key];
      if (v !== undefined && v !== null && v !== embedDim)
        throw new ValueError(`${name}: ${key} other than embedDim (${embedDim}) is not supported, got ${describe(v)}`);
    }
    this.in_proj_weight = Parameter.empty([3 * embedDim, embedDim]);
    this.in_proj_bias = bias ? Parameter.empty([3 * embedDim]) : null;
    this.out_proj = new Linear(embedDim, embedDim, { bias });
    this.resetParameters();
  }

  /** torch's _reset_parameters: xavier-uniform in_proj_weight, zero biases. */
  resetParameters(): void {
    checkArgCount("resetParameters", arguments, 0);
    xavierUniform_(this.in_proj_weight);
    if (this.in_proj_bias) constant_(this.in_proj_bias, 0);
    if (this.out_proj.bias) constant_(this.out_proj.bias, 0);
  }

  /**
   * query (T, B, E) / key, value (S, B, E) (batchFirst: (B, T, E), (B, S, E); or unbatched
   * (T, E), (S, E)) → [output like query, weights (B, T, S) averaged over heads or (B, H, T, S), or
   * null when needWeights is false].
   */
  forward(query: Tensor, key: Tensor, value: Tensor, options: MultiheadAttentionForwardOptions = {}): [Tensor, Tensor | null] {
    checkArgCount("forward", arguments, 4);
    const name = "MultiheadAttention";
    checkOptions(`${name}.forward`, options, ["keyPaddingMask", "needWeights", "attnMask", "averageAttnWeights", "isCausal"]);
    const { keyPaddingMask = null, needWeights = true, attnMask = null, averageAttnWeights = true, isCausal = false } = options;
    checkBool(name, "needWeights", needWeights);
    checkBool(name, "averageAttnWeights", averageAttnWeights);
    checkBool(name, "isCausal", isCausal);
    const E = this.embedDim,
      H = this.numHeads,
      D = this.headDim;
    for (const [what, t] of [
      ["query", query],
      ["key", key],
      ["value", value],
    ] as const) {
      if (t.ndim !== 2 && t.ndim !== 3) throw new ShapeError(`${name}: ${what} must be 2-D (unbatched) or 3-D, got ${shapeStr(t.shape)}`);
      if (t.shape[t.ndim - 1] !== E) throw new ShapeError(`${name}: ${what} of shape ${shapeStr(t.shape)} must end in embedDim ${E}`);
    }
    if (key.ndim !== query.ndim || value.ndim !== query.ndim) {
      throw new ShapeError(
        `${name}: query, key and value must all be batched or all unbatched, got ${shapeStr(query.shape)}, ${shapeStr(key.shape)}, ${shapeStr(value.shape)}`,
      );
    }
    const unbatched = query.ndim === 2;
    // Work batch-first (B, T, E) or sequence-first (T, B, E) as given; unbatched gets B = 1.
    const bf = this.batchFirst || unbatched;
    const batched = (t: Tensor) => (unbatched ? F.unsqueeze(t, 0) : t);
    const [q, k, v] = [batched(query), batched(key), batched(value)];
    const [B, T] = bf ? [q.shape[0], q.shape[1]] : [q.shape[1], q.shape[0]];
    const [Bk, S] = bf ? [k.shape[0], k.shape[1]] : [k.shape[1], k.shape[0]];
    if (Bk !== B || !shapesEqual(k.shape, v.shape)) {
      throw new ShapeError(`${name}: key ${shapeStr(key.shape)} and value ${shapeStr(value.shape)} must have the same shape, with query's batch size ${B}`);
    }
    // Projections: one gemm for self-attention, else query and key/value rows of in_proj_weight.
    const w = this.in_proj_weight,
      b = this.in_proj_bias;
    const rows = (t: Tensor | null, from: number, n: number) => (t === null ? null : F.narrow(t, 0, from, n));
    let qp: Tensor, kp: Tensor, vp: Tensor;
    const heads = (t: Tensor, at: number, parts: number) => {
      // t (B, n, parts·E) or (n, B, parts·E) → the heads of part `at` as a (B, H, n, D) view
      const split = F.select(F.reshape(t, [...t.shape.slice(0, 2), parts, H, D]), 2, at);
      return bf ? F.transpose(split, 1, 2) : F.permute(split, [1, 2, 0, 3]);
    };
    if (query === key && key === value) {
      const qkv = F.linear(q, w, b);
      [qp, kp, vp] = [heads(qkv, 0, 3), heads(qkv, 1, 3), heads(qkv, 2, 3)];
    } else if (key === value) {
      qp = heads(F.linear(q, rows(w, 0, E)!, rows(b, 0, E)), 0, 1);
      const kv = F.linear(k, rows(w, E, 2 * E)!, rows(b, E, 2 * E));
      [kp, vp] = [heads(kv, 0, 2), heads(kv, 1, 2)];
    } else {
      qp = heads(F.linear(q, rows(w, 0, E)!, rows(b, 0, E)), 0, 1);
      kp = heads(F.linear(k, rows(w, E, E)!, rows(b, E, E)), 0, 1);
      vp = heads(F.linear(v, rows(w, 2 * E, E)!, rows(b, 2 * E, E)), 0, 1);
    }
    const mask = this.combinedMask(attnMask, keyPaddingMask, B, T, S, unbatched);
    const scale = 1 / Math.sqrt(D);
    const dropoutP = this.training ? this.dropout : 0;
    let out: Tensor;
    let weights: Tensor | null = null;
    if (needWeights || dropoutP > 0) {
      const attn = F.softmax(maskedScores(F.mul(F.matmul(qp, F.transpose(kp, -2, -1)), scale), mask, isCausal), -1);
      if (needWeights) weights = averageAttnWeights ? F.mean(attn, 1) : attn;
      const ctx = F.matmul(dropoutP > 0 ? F.dropout(attn, dropoutP, true) : attn, vp); // (B, H, T, D)
      out = bf ? F.reshape(F.transpose(ctx, 1, 2), [B, T, E]) : F.reshape(F.permute(ctx, [2, 0, 1, 3]), [T, B, E]);
    } else {
      const o = fusedAttention(qp, kp, vp, mask, scale, isCausal, 0, bf ? "bthd" : "tbhd");
      out = F.reshape(o, bf ? [B, T, E] : [T, B, E]);
    }
    out = this.out_proj.forward(out);
    if (unbatched) {
      out = F.squeeze(out, 0);
      if (weights !== null) weights = F.squeeze(weights, 0);
    }
    return [out, weights];
  }

  /** attnMask and keyPaddingMask as one additive float mask broadcastable to (B, H, T, S), or null. */
  private combinedMask(attnMask: Tensor | null, keyPaddingMask: Tensor | null, B: number, T: number, S: number, unbatched: boolean): Tensor | null {
    const name = "MultiheadAttention";
    const H = this.numHeads;
    let mask: Tensor | null = null;
    if (attnMask !== null) {
      const ok =
        (attnMask.ndim === 2 && attnMask.shape[0] === T && attnMask.shape[1] === S) || (attnMask.ndim === 3 && shapesEqual(attnMask.shape, [B * H, T, S]));
      if (!ok) throw new ShapeError(`${name}: attnMask must be (${T}, ${S}) or (${B * H}, ${T}, ${S}) (B·numHeads, T, S), got ${shapeStr(attnMask.shape)}`);
      const m = additive(name, "attnMask", attnMask);
      mask = attnMask.ndim === 2 ? F.reshape(m, [1, 1, T, S]) : F.reshape(m, [B, H, T, S]);
    }
    if (keyPaddingMask !== null) {
      const want = unbatched ? [S] : [B, S];
      if (!shapesEqual(keyPaddingMask.shape, want))
        throw new ShapeError(`${name}: keyPaddingMask must be ${shapeStr(want)} (batch, source length), got ${shapeStr(keyPaddingMask.shape)}`);
      const kp = F.reshape(additive(name, "keyPaddingMask", keyPaddingMask), [B, 1, 1, S]);
      mask = mask === null ? kp : F.add(mask, kp);
    }
    return mask === null ? null : F.expand(mask, [B, mask.shape[1], T, S]);
  }
}

/** torch's attention-mask convention for modules: bool true hides (−inf), floats are added. */
function additive(owner: string, what: string, m: Tensor): Tensor {
  if (m.dtype === "bool") return F.where(m, -Infinity, 0);
  if (m.dtype === "float32") return m;
  throw new ValueError(`${owner}: ${what} must be bool or float32, got ${m.dtype}`);
}

function maskedScores(scores: Tensor, mask: Tensor | null, causal: boolean): Tensor {
  let s = scores;
  if (causal) {
    const [T, S] = s.shape.slice(-2);
    s = F.maskedFill(s, F.to(F.triu(full([T, S], 1, { backend: s.backend }), 1), "bool"), -Infinity);
  }
  return mask === null ? s : F.add(s, mask);
}

function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The feed-forward activation of a transformer layer: "relu", "gelu" (erf) or a function. */
export type TransformerActivation = "relu" | "gelu" | ((x: Tensor) => Tensor);

/** Options of nn.TransformerEncoderLayer / nn.TransformerDecoderLayer. */
export interface TransformerLayerOptions {
  /** hidden size of the feed-forward block (default 2048) */
  dimFeedforward?: number;
  /** dropout after attention, inside and after the feed-forward block (default 0.1) */
  dropout?: number;
  activation?: TransformerActivation;
  layerNormEps?: number;
  batchFirst?: boolean;
  /** pre-norm (LayerNorm before each block) instead of post-norm */
  normFirst?: boolean;
  bias?: boolean;
}

/** The parts both layer kinds share: sizes, the feed-forward block and its activation. */
abstract class TransformerLayerBase extends Module {
  /** LayerNorm before each block (pre-norm) instead of after (post-norm). */
  readonly normFirst: boolean;
  /** The feed-forward activation (relu, gelu or the given function). */
  protected readonly act: (x: Tensor) => Tensor;

  protected constructor(owner: string, dModel: number, nhead: number, options: TransformerLayerOptions) {
    super();
    positiveInt(owner, "dModel", dModel);
    positiveInt(owner, "nhead", nhead);
    checkOptions(owner, options, ["dimFeedforward", "dropout", "activation", "layerNormEps", "batchFirst", "normFirst", "bias"]);
    this.normFirst = options.normFirst ?? false;
    checkBool(owner, "normFirst", this.normFirst);
    const a = options.activation ?? "relu";
    if (a === "relu") this.act = (x) => F.relu(x);
    else if (a === "gelu") this.act = (x) => F.gelu(x);
    else if (typeof a === "function") this.act = a;
    else throw new ValueError(`${owner}: activation must be "relu", "gelu" or a function, got ${describe(a)}`);
  }

  /** The checked options both layer kinds build their parts from. */
  protected static settings(owner: string, options: TransformerLayerOptions) {
    const dimFeedforward = positiveInt(owner, "dimFeedforward", options.dimFeedforward ?? 2048);
    const dropout = probability(owner, "dropout", options.dropout ?? 0.1);
    const eps = options.layerNormEps ?? 1e-5;
    checkFiniteNumber(owner, "layerNormEps", eps, 0);
    const batchFirst = options.batchFirst ?? false;
    checkBool(owner, "batchFirst", batchFirst);
    const bias = options.bias ?? true;
    checkBool(owner, "bias", bias);
    return { dimFeedforward, dropout, eps, batchFirst, bias };
  }
}

/** Options of TransformerEncoderLayer.forward (torch's src_mask, src_key_padding_mask, is_causal). */
export interface EncoderLayerForwardOptions {
  srcMask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  isCausal?: boolean;
}

/**
 * nn.TransformerEncoderLayer(dModel, nhead, options): self_attn, linear1, dropout, linear2,
 * norm1, norm2, dropout1, dropout2 as torch (post-norm unless normFirst).
 */
export class TransformerEncoderLayer extends TransformerLayerBase {
  self_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;

  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    const owner = "TransformerEncoderLayer";
    checkArgCount(owner, arguments, 3);
    super(owner, dModel, nhead, options);
    const s = TransformerLayerBase.settings(owner, options);
    this.self_attn = new MultiheadAttention(dModel, nhead, { dropout: s.dropout, batchFirst: s.batchFirst, bias: s.bias });
    this.linear1 = new Linear(dModel, s.dimFeedforward, { bias: s.bias });
    this.dropout = new Dropout(s.dropout);
    this.linear2 = new Linear(s.dimFeedforward, dModel, { bias: s.bias });
    this.norm1 = new LayerNorm(dModel, { eps: s.eps, bias: s.bias });
    this.norm2 = new LayerNorm(dModel, { eps: s.eps, bias: s.bias });
    this.dropout1 = new Dropout(s.dropout);
    this.dropout2 = new Dropout(s.dropout);
  }

  /** src (T, B, E) (batchFirst: (B, T, E)) → the same shape. */
  forward(src: Tensor, options: EncoderLayerForwardOptions = {}): Tensor {
    checkArgCount("forward", arguments, 2);
    checkOptions("TransformerEncoderLayer.forward", options, ["srcMask", "srcKeyPaddingMask", "isCausal"]);
    const { srcMask = null, srcKeyPaddingMask = null, isCausal = false } = options;
    const sa = (x: Tensor) =>
      this.dropout1.forward(this.self_attn.forward(x, x, x, { attnMask: srcMask, keyPaddingMask: srcKeyPaddingMask, isCausal, needWeights: false })[0]);
    const ff = (x: Tensor) => this.dropout2.forward(this.linear2.forward(this.dropout.forward(this.act(this.linear1.forward(x)))));
    let x = src;
    if (this.normFirst) {
      x = F.add(x, sa(this.norm1.forward(x)));
      return F.add(x, ff(this.norm2.forward(x)));
    }
    x = this.norm1.forward(F.add(x, sa(x)));
    return this.norm2.forward(F.add(x, ff(x)));
  }
}

/** Options of TransformerDecoderLayer.forward (torch's masks and causal flags, camelCased). */
export interface DecoderLayerForwardOptions {
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  tgtIsCausal?: boolean;
  memoryIsCausal?: boolean;
}

/**
 * nn.TransformerDecoderLayer(dModel, nhead, options): self_attn, multihead_attn, linear1, dropout,
 * linear2, norm1..3, dropout1..3 as torch.
 */
export class TransformerDecoderLayer extends TransformerLayerBase {
  self_attn: MultiheadAttention;
  multihead_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  norm3: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  dropout3: Dropout;

  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    const owner = "TransformerDecoderLayer";
    checkArgCount(owner, arguments, 3);
    super(owner, dModel, nhead, options);
    const s = TransformerLayerBase.settings(owner, options);
    this.self_attn = new MultiheadAttention(dModel, nhead, { dropout: s.dropout, batchFirst: s.batchFirst, bias: s.bias });
    this.multihead_attn = new MultiheadAttention(dModel, nhead, { dropout: s.dropout, batchFirst: s.batchFirst, bias: s.bias });
    this.linear1 = new Linear(dModel, s.dimFeedforward, { bias: s.bias });
    this.dropout = new Dropout(s.dropout);
    this.linear2 = new Linear(s.dimFeedforward, dModel, { bias: s.bias });
    this.norm1 = new LayerNorm(dModel, { eps: s.eps, bias: s.bias });
    this.norm2 = new LayerNorm(dModel, { eps: s.eps, bias: s.bias });
    this.norm3 = new LayerNorm(dModel, { eps: s.eps, bias: s.bias });
    this.dropout1 = new Dropout(s.dropout);
    this.dropout2 = new Dropout(s.dropout);
    this.dropout3 = new Dropout(s.dropout);
  }

  /** tgt (T, B, E), memory (S, B, E) (batchFirst: batch first) → like tgt. */
  forward(tgt: Tensor, memory: Tensor, options: DecoderLayerForwardOptions = {}): Tensor {
    checkArgCount("forward", arguments, 3);
    checkOptions("TransformerDecoderLayer.forward", options, [
      "tgtMask",
      "memoryMask",
      "tgtKeyPaddingMask",
      "memoryKeyPaddingMask",
      "tgtIsCausal",
      "memoryIsCausal",
    ]);
    const o = options;
    const sa = (x: Tensor) =>
      this.dropout1.forward(
        this.self_attn.forward(x, x, x, {
          attnMask: o.tgtMask ?? null,
          keyPaddingMask: o.tgtKeyPaddingMask ?? null,
          isCausal: o.tgtIsCausal ?? false,
          needWeights: false,
        })[0],
      );
    const mha = (x: Tensor) =>
      this.dropout2.forward(
        this.multihead_attn.forward(x, memory, memory, {
          attnMask: o.memoryMask ?? null,
          keyPaddingMask: o.memoryKeyPaddingMask ?? null,
          isCausal: o.memoryIsCausal ?? false,
          needWeights: false,
        })[0],
      );
    const ff = (x: Tensor) => this.dropout3.forward(this.linear2.forward(this.dropout.forward(this.act(this.linear1.forward(x)))));
    let x = tgt;
    if (this.normFirst) {
      x = F.add(x, sa(this.norm1.forward(x)));
      x = F.add(x, mha(this.norm2.forward(x)));
      return F.add(x, ff(this.norm3.forward(x)));
    }
    x = this.norm1.forward(F.add(x, sa(x)));
    x = this.norm2.forward(F.add(x, mha(x)));
    return this.norm3.forward(F.add(x, ff(x)));
  }
}
