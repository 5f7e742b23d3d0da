// Hugging Face BERT checkpoints into models.Bert / models.BertForSequenceClassification and back.
// Our modules carry HF's names, so keys map one to one; what varies between files: a `bert.`
// prefix (BertFor… models) or none (BertModel, e.g. sentence-transformers' MiniLM), task heads
// we do not build (cls.* of pretraining, classifier.* when loading the bare encoder), the
// position_ids / token_type_ids buffers older versions saved, and a pooler that may be absent.
import { ValueError, brief } from "../errors.js";
import type { LoadedTensor } from "../io/safetensors.js";
import { checkInt, checkOptions, describe } from "../check.js";
import { noGrad } from "../lifetime.js";
import { Bert, type BertClassifierConfig, type BertConfig, BertForSequenceClassification } from "./bert.js";
import { type PretrainedFiles, type PretrainedSource, copyInto, mapCheckpoint, readPretrained, writePretrained } from "./hf-files.js";

/** Options of Bert.fromPretrained / BertForSequenceClassification.fromPretrained. */
export interface BertFromPretrainedOptions {
  /** BertForSequenceClassification only: classes of the head (default: config.json's id2label, num_labels, else 2) */
  numLabels?: number;
}

const sourceConfigs = new WeakMap<object, Record<string, unknown>>();
/** Buffers some transformers versions saved with the weights; values we rebuild ourselves. */
const BUFFERS = /(^|\.)embeddings\.(position_ids|token_type_ids)$/;
/** Heads of other BERT tasks (pretraining, QA, token or sequence classification) the encoder does not use. */
const HEADS = /^(cls|classifier|qa_outputs)\./;

/** BertConfig fields (config.json) → our BertConfig; what we cannot build is a ValueError naming the field. */
export function bertConfigFromJson(op: string, c: Record<string, unknown>): BertConfig {
  const where = "config.json";
  if (c.model_type !== undefined && c.model_type !== "bert") {
    throw new ValueError(`${op}: ${where} has model_type ${brief(c.model_type)}; models.Bert reads BERT checkpoints (model_type "bert")`);
  }
  const int = (name: string, fallback?: number): number => {
    const v = c[name] ?? fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < (name === "pad_token_id" ? 0 : 1))
      throw new ValueError(`${op}: ${where} field ${name} must be a positive integer, got ${brief(v)}`);
    return v;
  };
  const rate = (name: string): number => {
    const v = c[name] ?? 0.1;
    if (typeof v !== "number" || !(v >= 0 && v < 1)) throw new ValueError(`${op}: ${where} field ${name} must be a rate in [0, 1), got ${brief(v)}`);
    return v;
  };
  const unsupported = (name: string, value: unknown, why: string) => {
    throw new ValueError(`${op}: ${where} field ${name} is ${brief(value)}; models.Bert supports only ${why}`);
  };
  const act = c.hidden_act ?? "gelu";
  if (!["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"].includes(act as string))
    unsupported("hidden_act", act, `"gelu", "gelu_new", "gelu_pytorch_tanh" or "relu"`);
  const pos = c.position_embedding_type ?? "absolute";
  if (pos !== "absolute") unsupported("position_embedding_type", pos, `"absolute"`);
  for (const flag of ["is_decoder", "add_cross_attention"]) if ((c[flag] ?? false) !== false) unsupported(flag, c[flag], "false (an encoder)");
  const eps = c.layer_norm_eps ?? 1e-12;
  if (typeof eps !== "number" || !(eps > 0)) throw new ValueError(`${op}: ${where} field layer_norm_eps must be a positive number, got ${brief(eps)}`);
  const range = c.initializer_range ?? 0.02;
  return {
    vocabSize: int("vocab_size"),
    hiddenSize: int("hidden_size"),
    numHiddenLayers: int("num_hidden_layers"),
    numAttentionHeads: int("num_attention_heads"),
    intermediateSize: int("intermediate_size"),
    maxPositionEmbeddings: int("max_position_embeddings", 512),
    typeVocabSize: int("type_vocab_size", 2),
    layerNormEps: eps,
    hiddenAct: act as BertConfig["hiddenAct"],
    hiddenDropoutProb: rate("hidden_dropout_prob"),
    attentionProbsDropoutProb: rate("attention_probs_dropout_prob"),
    padTokenId: int("pad_token_id", 0),
    initializerRange: typeof range === "number" && range >= 0 ? range : 0.02,
  };
}

/** The classification head's settings from config.json (id2label / num_labels, classifier_dropout, problem_type). */
function classifierFromJson(
  op: string,
  c: Record<string, unknown>,
  numLabels: number | undefined,
): Pick<BertClassifierConfig, "numLabels" | "classifierDropout" | "id2label"> {
  const where = "config.json";
  const id2label = c.id2label !== null && typeof c.id2label === "object" && !Array.isArray(c.id2label) ? (c.id2label as Record<string, string>) : null;
  const n = numLabels ?? (id2label !== null ? Object.keys(id2label).length : ((c.num_labels as number | undefined) ?? 2));
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) throw new ValueError(`${op}: ${where} gives ${brief(n)} labels; expected a positive integer`);
  const problem = c.problem_type ?? null;
  if (problem !== null && problem !== "single_label_classification" && problem !== "regression")
    throw new ValueError(
      `${op}: ${where} field problem_type is ${brief(problem)}; models.BertForSequenceClassification supports single_label_classification and regression`,
    );
  const drop = c.classifier_dropout ?? null;
  if (drop !== null && (typeof drop !== "number" || !(drop >= 0 && drop < 1)))
    throw new ValueError(`${op}: ${where} field classifier_dropout must be null or a rate, got ${brief(drop)}`);
  const keepNames = id2label !== null && Object.keys(id2label).length === n;
  return { numLabels: n, classifierDropout: drop as number | null, id2label: keepNames ? id2label : null };
}

/** Our keys and shapes (prefix "" for Bert, "bert." under the classifier). */
function bertShapes(c: BertConfig, prefix: string, pooler: boolean, numLabels: number | null): Record<string, number[]> {
  const H = c.hiddenSize,
    I = c.intermediateSize;
  const s: Record<string, number[]> = {};
  const lin = (name: string, out: number, inp: number) => {
    s[`${prefix}${name}.weight`] = [out, inp];
    s[`${prefix}${name}.bias`] = [out];
  };
  const ln = (name: string) => {
    s[`${prefix}${name}.weight`] = [H];
    s[`${prefix}${name}.bias`] = [H];
  };
  s[`${prefix}embeddings.word_embeddings.weight`] = [c.vocabSize, H];
  s[`${prefix}embeddings.position_embeddings.weight`] = [c.maxPositionEmbeddings ?? 512, H];
  s[`${prefix}embeddings.token_type_embeddings.weight`] = [c.typeVocabSize ?? 2, H];
  ln("embeddings.LayerNorm");
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const l = `encoder.layer.${i}`;
    for (const q of ["query", "key", "value"]) lin(`${l}.attention.self.${q}`, H, H);
    lin(`${l}.attention.output.dense`, H, H);
    ln(`${l}.attention.output.LayerNorm`);
    lin(`${l}.intermediate.dense`, I, H);
    lin(`${l}.output.dense`, H, I);
    ln(`${l}.output.LayerNorm`);
  }
  if (pooler) lin("pooler.dense", H, H);
  if (numLabels !== null) {
    s["classifier.weight"] = [numLabels, H];
    s["classifier.bias"] = [numLabels];
  }
  return s;
}

/** Bert.fromPretrained / BertForSequenceClassification.fromPretrained. */
export function bertFromPretrained(source: PretrainedSource, options: BertFromPretrainedOptions, classifier: boolean): Bert | BertForSequenceClassification {
  const op = classifier ? "BertForSequenceClassification.fromPretrained" : "Bert.fromPretrained";
  if (options === null || typeof options !== "object") throw new ValueError(`${op}: options must be an object, got ${describe(options)}`);
  checkOptions(op, options, classifier ? ["numLabels"] : []);
  if (options.numLabels !== undefined) checkInt(op, "numLabels", options.numLabels, 1);
  const ckpt = readPretrained(op, source);
  const config = bertConfigFromJson(op, ckpt.config);
  const prefixed = Object.keys(ckpt.tensors).some((k) => k.startsWith("bert."));
  const ckptPrefix = prefixed ? "bert." : "";
  const hasPooler = Object.hasOwn(ckpt.tensors, `${ckptPrefix}pooler.dense.weight`) || Object.hasOwn(ckpt.tensors, `${ckptPrefix}pooler.dense.bias`);
  const head = classifier ? classifierFromJson(op, ckpt.config, options.numLabels) : null;
  const ourPrefix = classifier ? "bert." : "";
  const ignorable = (k: string) => BUFFERS.test(k) || (!classifier && HEADS.test(k)) || (classifier && k.startsWith("cls."));
  const { state } = mapCheckpoint(
    op,
    ckpt,
    bertShapes(config, ourPrefix, classifier || hasPooler, head?.numLabels ?? null),
    (ours) => ({ key: ours.startsWith(ourPrefix) && !ours.startsWith("classifier.") ? ckptPrefix + ours.slice(ourPrefix.length) : ours, transposed: false }),
    ignorable,
    // A bare encoder checkpoint gets a new classification head (HF's init), as from_pretrained.
    (ours) => classifier && ours.startsWith("classifier.") && !Object.keys(ckpt.tensors).some((k) => k.startsWith("classifier.")),
  );
  let model: Bert | BertForSequenceClassification;
  if (classifier) {
    model = new BertForSequenceClassification({ ...config, ...head! }); // a head absent from the file keeps this init
  } else {
    model = new Bert({ ...config, addPoolingLayer: hasPooler });
  }
  copyInto(model, state);
  model.eval(); // as from_pretrained: dropout off until model.train()
  sourceConfigs.set(model, ckpt.config);
  return model;
}

/** The weights under HF's keys (BertModel's bare ones, or bert.* + classifier.*), copied. */
export function bertStateDict(model: Bert | BertForSequenceClassification): Record<string, LoadedTensor> {
  const out: Record<string, LoadedTensor> = {};
  noGrad(() => {
    for (const [k, t] of Object.entries(model.stateDict())) {
      const dense = t.contiguous();
      out[k] = { shape: [...dense.shape], data: new Float32Array(dense.data), dtype: "F32" };
    }
  });
  return out;
}

/** config.json for the model: the loaded config's other fields kept, ours written over them. */
export function bertConfigJson(model: Bert | BertForSequenceClassification): Record<string, unknown> {
  const bert = model instanceof Bert ? model : model.bert;
  const c = bert.config;
  const out: Record<string, unknown> = {
    classifier_dropout: null,
    position_embedding_type: "absolute",
    use_cache: true,
    ...(sourceConfigs.get(model) ?? {}),
    architectures: [model instanceof Bert ? "BertModel" : "BertForSequenceClassification"],
    model_type: "bert",
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    num_hidden_layers: c.numHiddenLayers,
    num_attention_heads: c.numAttentionHeads,
    intermediate_size: c.intermediateSize,
    max_position_embeddings: c.maxPositionEmbeddings,
    type_vocab_size: c.typeVocabSize,
    layer_norm_eps: c.layerNormEps,
    hidden_act: c.hiddenAct,
    hidden_dropout_prob: c.hiddenDropoutProb,
    attention_probs_dropout_prob: c.attentionProbsDropoutProb,
    pad_token_id: c.padTokenId,
    initializer_range: c.initializerRange,
    torch_dtype: "float32",
  };
  if (model instanceof BertForSequenceClassification) {
    const names = model.id2label ?? Object.fromEntries(Array.from({ length: model.numLabels }, (_, i) => [String(i), `LABEL_${i}`]));
    out.id2label = names;
    out.label2id = Object.fromEntries(Object.entries(names).map(([i, name]) => [name, Number(i)]));
    out.classifier_dropout = model.dropout.p === c.hiddenDropoutProb ? (out.classifier_dropout ?? null) : model.dropout.p;
    delete out.num_labels;
  } else {
    delete out.id2label;
    delete out.label2id;
  }
  return out;
}

/** savePretrained of either model: config.json + model.safetensors (written to `dir` when given). */
export function bertSavePretrained(model: Bert | BertForSequenceClassification, dir?: string): PretrainedFiles {
  const op = model instanceof Bert ? "Bert.savePretrained" : "BertForSequenceClassification.savePretrained";
  return writePretrained(op, bertConfigJson(model), bertStateDict(model), dir);
}
