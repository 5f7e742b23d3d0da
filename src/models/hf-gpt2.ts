// Hugging Face GPT-2 checkpoints (GPT2LMHeadModel) into models.GPT and back. Our GPT already
// uses nanoGPT's key names, which are HF's; what differs: HF's Conv1D stores c_attn, c_proj and
// c_fc weights as [in, out] (we transpose), the tied lm_head.weight is left out of HF's files, old
// hub files (openai-community/gpt2) have bare keys (h.0..., wte.weight) and the attn.bias mask
// buffers, and config.json speaks GPT2Config (n_embd, n_positions, ...).
import { ValueError, brief } from "../errors.js";
import type { LoadedTensor } from "../io/safetensors.js";
import { checkFiniteNumber, checkOptions, describe } from "../check.js";
import { noGrad } from "../lifetime.js";
import { type GPT, type GPTConfig, uninitializedGPT } from "./gpt.js";
import {
  type MappedTensor,
  type PretrainedCheckpoint,
  copyInto,
  type PretrainedFiles,
  type PretrainedSource,
  mapCheckpoint,
  readPretrained,
  transpose2d,
  writePretrained,
} from "./hf-files.js";

/** Options of GPT.fromPretrained. */
export interface GPTFromPretrainedOptions {
  /** dropout in training (default: the config's resid/embd/attn_pdrop, which must then agree) */
  dropout?: number;
}

/** The config.json each loaded model came from, so savePretrained writes its other fields back. */
const sourceConfigs = new WeakMap<GPT, Record<string, unknown>>();

const CONV1D = /\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
/** Causal-mask buffers older transformers saved with the weights. */
const MASK_BUFFER = /(^|\.)h\.\d+\.attn\.(bias|masked_bias)$/;

/** GPT2Config fields (config.json) → GPTConfig; anything models.GPT cannot express is a ValueError naming the field. */
export function gpt2Config(op: string, c: Record<string, unknown>, options: GPTFromPretrainedOptions): GPTConfig {
  const where = "config.json";
  if (c.model_type !== undefined && c.model_type !== "gpt2") {
    throw new ValueError(`${op}: ${where} has model_type ${brief(c.model_type)}; models.GPT reads GPT-2 checkpoints (model_type "gpt2")`);
  }
  const int = (name: string, fallback?: string): number => {
    const v = c[name] ?? (fallback !== undefined ? c[fallback] : undefined);
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1)
      throw new ValueError(`${op}: ${where} field ${name} must be a positive integer, got ${brief(v)}`);
    return v;
  };
  const config: GPTConfig = {
    vocabSize: int("vocab_size"),
    blockSize: int("n_positions", "n_ctx"),
    nLayer: int("n_layer"),
    nHead: int("n_head"),
    nEmbd: int("n_embd"),
  };
  const unsupported = (name: string, value: unknown, why: string) => {
    throw new ValueError(`${op}: ${where} field ${name} is ${brief(value)}; models.GPT supports only ${why}`);
  };
  const act = c.activation_function ?? "gelu_new";
  if (act !== "gelu_new" && act !== "gelu_pytorch_tanh") unsupported("activation_function", act, `"gelu_new" / "gelu_pytorch_tanh" (GELU, tanh form)`);
  if (c.n_inner !== undefined && c.n_inner !== null && c.n_inner !== 4 * config.nEmbd)
    unsupported("n_inner", c.n_inner, `null or 4 * n_embd (${4 * config.nEmbd})`);
  const eps = c.layer_norm_epsilon ?? 1e-5;
  if (eps !== 1e-5) unsupported("layer_norm_epsilon", eps, "1e-5");
  if ((c.scale_attn_weights ?? true) !== true) unsupported("scale_attn_weights", c.scale_attn_weights, "true");
  for (const flag of ["scale_attn_by_inverse_layer_idx", "add_cross_attention"]) if ((c[flag] ?? false) !== false) unsupported(flag, c[flag], "false");
  if ((c.tie_word_embeddings ?? true) !== true) unsupported("tie_word_embeddings", c.tie_word_embeddings, "true (lm_head shares wte)");
  if (options.dropout !== undefined) {
    checkFiniteNumber(op, "dropout", options.dropout, 0, 1);
    config.dropout = options.dropout;
  } else {
    const rates = ["resid_pdrop", "embd_pdrop", "attn_pdrop"].map((k) => [k, c[k] ?? 0.1] as const);
    for (const [k, v] of rates)
      if (typeof v !== "number" || !(v >= 0 && v < 1)) throw new ValueError(`${op}: ${where} field ${k} must be a rate in [0, 1), got ${brief(v)}`);
    if (rates.some(([, v]) => v !== rates[0][1])) {
      throw new ValueError(
        `${op}: ${where} has different dropout rates (${rates.map(([k, v]) => `${k} ${v}`).join(", ")}); models.GPT has one: pass { dropout }`,
      );
    }
    config.dropout = rates[0][1] as number;
  }
  return config;
}

/** Our keys and shapes for a config, in our state dict's order (lm_head.weight tied to wte). */
function gptShapes(c: GPTConfig): Record<string, number[]> {
  const E = c.nEmbd;
  const s: Record<string, number[]> = { "transformer.wte.weight": [c.vocabSize, E], "transformer.wpe.weight": [c.blockSize, E] };
  for (let i = 0; i < c.nLayer; i++) {
    const h = `transformer.h.${i}`;
    Object.assign(s, {
      [`${h}.ln_1.weight`]: [E],
      [`${h}.ln_1.bias`]: [E],
      [`${h}.attn.c_attn.weight`]: [3 * E, E],
      [`${h}.attn.c_attn.bias`]: [3 * E],
      [`${h}.attn.c_proj.weight`]: [E, E],
      [`${h}.attn.c_proj.bias`]: [E],
      [`${h}.ln_2.weight`]: [E],
      [`${h}.ln_2.bias`]: [E],
      [`${h}.mlp.c_fc.weight`]: [4 * E, E],
      [`${h}.mlp.c_fc.bias`]: [4 * E],
      [`${h}.mlp.c_proj.weight`]: [E, 4 * E],
      [`${h}.mlp.c_proj.bias`]: [E],
    });
  }
  s["transformer.ln_f.weight"] = [E];
  s["transformer.ln_f.bias"] = [E];
  s["lm_head.weight"] = [c.vocabSize, E];
  return s;
}

/** GPT.fromPretrained: a GPT2LMHeadModel checkpoint (folder or files) as a models.GPT in eval mode. */
export function gpt2FromPretrained(source: PretrainedSource, options: GPTFromPretrainedOptions = {}): GPT {
  const op = "GPT.fromPretrained";
  if (options === null || typeof options !== "object") throw new ValueError(`${op}: options must be an object, got ${describe(options)}`);
  checkOptions(op, options, ["dropout"]);
  const ckpt = readPretrained(op, source);
  const config = gpt2Config(op, ckpt.config, options);
  // Old hub files have bare keys (wte.weight, h.0...): the same model without the "transformer." prefix.
  const bare = !Object.keys(ckpt.tensors).some((k) => k.startsWith("transformer."));
  const { state } = mapCheckpoint(
    op,
    ckpt,
    gptShapes(config),
    (ours) => ({ key: bare && ours.startsWith("transformer.") ? ours.slice("transformer.".length) : ours, transposed: CONV1D.test(ours) }),
    (k) => MASK_BUFFER.test(k),
    (ours) => ours === "lm_head.weight",
  );
  checkTied(op, ckpt, state);
  delete state["lm_head.weight"]; // the same memory as wte in our model
  const model = uninitializedGPT(config);
  copyInto(model, state);
  model.eval(); // as from_pretrained: dropout off until model.train()
  sourceConfigs.set(model, ckpt.config);
  return model;
}

/** A stored lm_head.weight must equal wte: models.GPT ties them (tie_word_embeddings). */
function checkTied(op: string, ckpt: PretrainedCheckpoint, state: Record<string, MappedTensor>): void {
  if (!Object.hasOwn(state, "lm_head.weight")) return;
  const a = state["lm_head.weight"].tensor.read(),
    b = state["transformer.wte.weight"].tensor.read();
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) {
      throw new ValueError(
        `${op}: lm_head.weight in ${ckpt.where}/${ckpt.fileOf["lm_head.weight"]} differs from the token embedding (element ${i}); models.GPT ties them, as tie_word_embeddings`,
      );
    }
  }
}

/** The model's weights under HF's GPT2LMHeadModel keys as save_pretrained writes them: Conv1D weights [in, out], the tied lm_head.weight left out. */
export function gpt2StateDict(model: GPT): Record<string, LoadedTensor> {
  const out: Record<string, LoadedTensor> = {};
  noGrad(() => {
    for (const [k, t] of Object.entries(model.stateDict())) {
      if (k === "lm_head.weight") continue;
      const dense = t.contiguous();
      // Copied right away: a tensor's data view is valid only until the backend allocates.
      const copy = { shape: [...dense.shape], data: new Float32Array(dense.data), dtype: "F32" };
      out[k] = CONV1D.test(k) ? transpose2d(copy) : copy;
    }
  });
  return out;
}

/** config.json for the model: the loaded config's fields kept, the sizes and dropout ours. */
export function gpt2ConfigJson(model: GPT): Record<string, unknown> {
  const c = model.config;
  if (!c.bias) throw new ValueError("GPT.savePretrained: a GPT without biases (bias: false) has no GPT2LMHeadModel equivalent");
  const base = sourceConfigs.get(model) ?? {
    activation_function: "gelu_new",
    bos_token_id: c.vocabSize - 1,
    eos_token_id: c.vocabSize - 1,
    initializer_range: 0.02,
    layer_norm_epsilon: 1e-5,
    n_inner: null,
    reorder_and_upcast_attn: false,
    scale_attn_by_inverse_layer_idx: false,
    scale_attn_weights: true,
    summary_activation: null,
    summary_first_dropout: 0.1,
    summary_proj_to_labels: true,
    summary_type: "cls_index",
    summary_use_proj: true,
    use_cache: true,
  };
  const out: Record<string, unknown> = {
    ...base,
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    vocab_size: c.vocabSize,
    n_positions: c.blockSize,
    n_embd: c.nEmbd,
    n_layer: c.nLayer,
    n_head: c.nHead,
    resid_pdrop: c.dropout,
    embd_pdrop: c.dropout,
    attn_pdrop: c.dropout,
    torch_dtype: "float32",
  };
  if ("n_ctx" in out) out.n_ctx = c.blockSize;
  return out;
}

/** GPT.savePretrained: config.json + model.safetensors in HF's layout (written to `dir` when given). */
export function gpt2SavePretrained(model: GPT, dir?: string): PretrainedFiles {
  const config = gpt2ConfigJson(model);
  return writePretrained("GPT.savePretrained", config, gpt2StateDict(model), dir);
}
