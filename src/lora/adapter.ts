// lora.saveAdapter / lora.loadAdapter: PEFT's adapter folder, adapter_config.json plus
// adapter_model.safetensors with keys base_model.model.<module path>.lora_A.weight / .lora_B.weight
// (get_peft_model_state_dict drops the adapter name), so adapters move between here and PEFT.
import { FormatError, ShapeError, ValueError, shapeStr } from "../errors.js";
import { Module } from "../nn/module.js";
import { Linear } from "../nn/layers.js";
import { noGrad } from "../lifetime.js";
import { type LoadedTensor, decodeSafetensors, encodeSafetensors } from "../io/safetensors.js";
import { builtin, fileError, readBytes, writeBytesAtomic } from "../platform.js";
import { asBytes, checkArgCount, checkOptions, describe } from "../check.js";
import type { Tensor } from "../tensor.js";
import { type LoraConfig, apply, configOf, loraLayers, matchesTarget } from "./apply.js";

/** The two files of an adapter folder, by file name (what saveAdapter returns, what loadAdapter takes in browsers). */
export interface AdapterFiles {
  "adapter_config.json": Uint8Array;
  "adapter_model.safetensors": Uint8Array;
}

/** Options of lora.saveAdapter: LoraConfig fields that describe the base model, not the adapters. */
export interface SaveAdapterOptions {
  /** base_model_name_or_path (a Hugging Face model id or folder), default null. */
  baseModelNameOrPath?: string | null;
  /** PEFT's task_type: "CAUSAL_LM" for a GPT, "SEQ_CLS", "FEATURE_EXTRACTION", ... (default null). */
  taskType?: string | null;
}

/** Options of lora.loadAdapter. */
export interface LoadAdapterOptions {
  /** Leave the adapters trainable (PEFT's is_trainable); default false: everything frozen, as PEFT loads for inference. */
  isTrainable?: boolean;
}

const CONFIG = "adapter_config.json";
const WEIGHTS = "adapter_model.safetensors";
const PREFIX = "base_model.model.";

/** PEFT's key of one adapter matrix in adapter_model.safetensors. */
export function adapterKey(path: string, which: "A" | "B"): string {
  checkArgCount("lora.adapterKey", arguments, 2);
  if (typeof path !== "string" || path === "") throw new ValueError(`lora.adapterKey: path must be a module path, got ${describe(path)}`);
  if (which !== "A" && which !== "B") throw new ValueError(`lora.adapterKey: which must be "A" or "B", got ${describe(which)}`);
  return `${PREFIX}${path}.lora_${which}.weight`;
}

/** adapter_config.json as PEFT ≥ 0.7's LoraConfig.save_pretrained writes it (keys sorted, indent 2). */
function configJson(c: LoraConfig, o: Required<SaveAdapterOptions>): string {
  const fields: Record<string, unknown> = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: o.baseModelNameOrPath,
    bias: "none",
    fan_in_fan_out: c.fanInFanOut,
    inference_mode: true, // PeftModel.save_pretrained sets it while writing
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: c.alpha,
    lora_dropout: c.dropout,
    megatron_config: null,
    megatron_core: "megatron.core",
    modules_to_save: null,
    peft_type: "LORA",
    r: c.r,
    rank_pattern: {},
    revision: null,
    target_modules: c.targetModules,
    task_type: o.taskType,
    use_rslora: c.useRslora,
  };
  const sorted = Object.fromEntries(
    Object.keys(fields)
      .sort()
      .map((k) => [k, fields[k]]),
  );
  // Python writes the float lora_dropout 0 as 0.0.
  return JSON.stringify(sorted, null, 2).replace(/("lora_dropout": )(-?\d+)(,?)$/m, "$1$2.0$3");
}

/**
 * Writes the model's adapters as PEFT's save_pretrained does: adapter_model.safetensors (keys
 * base_model.model.<path>.lora_A.weight [r, in] and .lora_B.weight [out, r], metadata
 * {format: "pt"}) and adapter_config.json. With a folder (Node, Deno, Bun) both files are written
 * there (the folder is created if needed); the bytes of both are returned either way.
 *
 *   lora.saveAdapter(gpt, "my-adapter", { baseModelNameOrPath: "gpt2", taskType: "CAUSAL_LM" });
 *   const files = lora.saveAdapter(gpt, null); // browsers: files["adapter_model.safetensors"]
 */
export function saveAdapter(model: Module, dir: string | null, options: SaveAdapterOptions = {}): AdapterFiles {
  checkArgCount("lora.saveAdapter", arguments, 3);
  checkOptions("lora.saveAdapter", options, ["baseModelNameOrPath", "taskType"]);
  if (!(model instanceof Module)) throw new ValueError(`lora.saveAdapter: expected an nn.Module, got ${describe(model)}`);
  if (dir !== null && typeof dir !== "string") throw new ValueError(`lora.saveAdapter: dir must be a folder path or null, got ${describe(dir)}`);
  const o = { baseModelNameOrPath: options.baseModelNameOrPath ?? null, taskType: options.taskType ?? null };
  for (const [k, v] of Object.entries(o))
    if (v !== null && typeof v !== "string") throw new ValueError(`lora.saveAdapter: ${k} must be a string or null, got ${describe(v)}`);
  const config = configOf(model);
  const layers = loraLayers(model);
  if (config === null || layers.length === 0) throw new ValueError("lora.saveAdapter: the model has no LoRA adapters (call lora.apply first)");
  const tensors: Record<string, Tensor> = {};
  for (const [path, layer] of layers) {
    if (layer.merged) throw new ValueError(`lora.saveAdapter: the adapter of ${path} is merged into its base weight; call lora.unmerge first`);
    tensors[adapterKey(path, "A")] = layer.loraA.weight.detach();
    tensors[adapterKey(path, "B")] = layer.loraB.weight.detach();
  }
  const files: AdapterFiles = {
    [CONFIG]: new TextEncoder().encode(configJson(config, o as Required<SaveAdapterOptions>)),
    [WEIGHTS]: encodeSafetensors(tensors, { format: "pt" }),
  };
  if (dir !== null) {
    const fs = builtin<{ mkdirSync(p: string, o: { recursive: boolean }): void }>("node:fs");
    const path = builtin<{ join(...p: string[]): string }>("node:path");
    if (fs === null || path === null)
      throw new ValueError("lora.saveAdapter(dir) needs a file system (Node, Deno or Bun); in a browser pass null and keep the bytes");
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw fileError("lora.saveAdapter", "write", dir, e);
    }
    writeBytesAtomic(path.join(dir, WEIGHTS), files[WEIGHTS], "lora.saveAdapter");
    writeBytesAtomic(path.join(dir, CONFIG), files[CONFIG], "lora.saveAdapter");
  }
  return files;
}

/** What we take from an adapter_config.json, checked. */
function parseConfig(bytes: Uint8Array, name: string): LoraConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new FormatError(`lora.loadAdapter: ${name} is not JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new FormatError(`lora.loadAdapter: ${name} must hold a JSON object`);
  const c = raw as Record<string, unknown>;
  const bad = (field: string, want: string) => new FormatError(`lora.loadAdapter: ${name}: ${field} must be ${want}, got ${JSON.stringify(c[field])}`);
  if (c.peft_type !== "LORA") throw bad("peft_type", '"LORA" (only LoRA adapters are supported)');
  if (typeof c.r !== "number" || !Number.isInteger(c.r) || c.r < 1) throw bad("r", "a positive integer");
  if (typeof c.lora_alpha !== "number" || !Number.isFinite(c.lora_alpha)) throw bad("lora_alpha", "a number");
  const dropout = c.lora_dropout ?? 0;
  if (typeof dropout !== "number" || !(dropout >= 0 && dropout <= 1)) throw bad("lora_dropout", "a number in [0, 1]");
  const t = c.target_modules;
  const targets = typeof t === "string" ? t : Array.isArray(t) && t.length > 0 && t.every((x) => typeof x === "string") ? (t as string[]) : null;
  if (targets === null) throw bad("target_modules", "a list of module names or a regex string");
  const fanInFanOut = c.fan_in_fan_out ?? false;
  if (typeof fanInFanOut !== "boolean") throw bad("fan_in_fan_out", "true or false");
  const useRslora = c.use_rslora ?? false;
  if (typeof useRslora !== "boolean") throw bad("use_rslora", "true or false");
  // Features PEFT has and we do not: refuse rather than load something else.
  const unsupported: [string, boolean][] = [
    ["bias", (c.bias ?? "none") !== "none"],
    ["use_dora", c.use_dora === true],
    ["modules_to_save", c.modules_to_save != null && !(Array.isArray(c.modules_to_save) && c.modules_to_save.length === 0)],
    ["layers_to_transform", c.layers_to_transform != null],
    ["rank_pattern", c.rank_pattern != null && Object.keys(c.rank_pattern as object).length > 0],
    ["alpha_pattern", c.alpha_pattern != null && Object.keys(c.alpha_pattern as object).length > 0],
    ["layer_replication", c.layer_replication != null],
  ];
  for (const [field, on] of unsupported) if (on) throw new ValueError(`lora.loadAdapter: ${name}: ${field} = ${JSON.stringify(c[field])} is not supported`);
  return { r: c.r, alpha: c.lora_alpha, dropout, targetModules: targets, fanInFanOut, useRslora };
}

/** The two files' bytes from a folder path or a {file name: bytes} object. */
function readFiles(source: string | Partial<AdapterFiles>): { config: Uint8Array; weights: Uint8Array; where: (f: string) => string } {
  if (typeof source === "string") {
    const path = builtin<{ join(...p: string[]): string }>("node:path");
    if (path === null) throw new ValueError("lora.loadAdapter(folder) needs a file system (Node, Deno or Bun); in a browser pass the files' bytes");
    const where = (f: string) => path.join(source, f);
    return { config: readBytes(where(CONFIG), "lora.loadAdapter"), weights: readBytes(where(WEIGHTS), "lora.loadAdapter"), where };
  }
  if (source === null || typeof source !== "object")
    throw new ValueError(`lora.loadAdapter: source must be a folder path or {"${CONFIG}": bytes, "${WEIGHTS}": bytes}, got ${describe(source)}`);
  const extra = Object.keys(source).filter((k) => k !== CONFIG && k !== WEIGHTS);
  if (extra.length > 0) throw new ValueError(`lora.loadAdapter: unexpected file(s) ${extra.join(", ")}; expected "${CONFIG}" and "${WEIGHTS}"`);
  const get = (f: typeof CONFIG | typeof WEIGHTS) => {
    const v = source[f] as unknown;
    const b = typeof v === "string" && f === CONFIG ? new TextEncoder().encode(v) : asBytes(v);
    if (b === null) throw new ValueError(`lora.loadAdapter: "${f}" must be the file's bytes (Uint8Array or ArrayBuffer), got ${describe(v)}`);
    return b;
  };
  return { config: get(CONFIG), weights: get(WEIGHTS), where: (f) => f };
}

/**
 * Reads a PEFT adapter (a folder with adapter_config.json and adapter_model.safetensors, or
 * their bytes by file name) and adds it to `model` (lora.apply with the file's configuration,
 * then the A/B weights). Everything is checked before the model changes: a key that names no
 * target layer, a missing key, a shape that disagrees with the layer or with r throws an error
 * naming the key. Returns the model.
 *
 *   lora.loadAdapter(gpt, "my-adapter");
 *   lora.loadAdapter(gpt, { "adapter_config.json": configBytes, "adapter_model.safetensors": weightBytes });
 */
export function loadAdapter<M extends Module>(model: M, source: string | Partial<AdapterFiles>, options: LoadAdapterOptions = {}): M {
  checkArgCount("lora.loadAdapter", arguments, 3);
  checkOptions("lora.loadAdapter", options, ["isTrainable"]);
  if (!(model instanceof Module)) throw new ValueError(`lora.loadAdapter: expected an nn.Module, got ${describe(model)}`);
  const isTrainable = options.isTrainable ?? false;
  if (typeof isTrainable !== "boolean") throw new ValueError(`lora.loadAdapter: isTrainable must be true or false, got ${describe(isTrainable)}`);
  if (loraLayers(model).length > 0)
    throw new ValueError("lora.loadAdapter: the model already has LoRA layers (one adapter per model); call lora.mergeAndUnload or lora.unload first");
  const files = readFiles(source);
  const config = parseConfig(files.config, files.where(CONFIG));
  const weightsName = files.where(WEIGHTS);
  const tensors = decodeSafetensors(files.weights, weightsName).tensors;
  // The layers the configuration targets, before anything changes.
  const layers = new Map<string, Linear>();
  for (const [path, m] of model.namedModules()) if (path !== "" && m instanceof Linear && matchesTarget(path, config.targetModules)) layers.set(path, m);
  if (layers.size === 0)
    throw new ValueError(
      `lora.loadAdapter: target_modules ${JSON.stringify(config.targetModules)} of ${files.where(CONFIG)} match no Linear layer of the model`,
    );
  checkTensors(tensors, layers, config.r, weightsName);
  apply(model, config);
  noGrad(() => {
    for (const [path, layer] of loraLayers(model)) {
      layer.loraA.weight.data.set(tensors[adapterKey(path, "A")].data);
      layer.loraB.weight.data.set(tensors[adapterKey(path, "B")].data);
      if (!isTrainable) {
        layer.loraA.weight.requiresGrad = false;
        layer.loraB.weight.requiresGrad = false;
      }
    }
  });
  return model;
}

/** Every adapter key present with the shape its layer and r call for, and nothing else. */
function checkTensors(tensors: Record<string, LoadedTensor>, layers: Map<string, Linear>, r: number, file: string): void {
  const expected = new Map<string, { path: string; which: "A" | "B" }>();
  for (const path of layers.keys()) for (const which of ["A", "B"] as const) expected.set(adapterKey(path, which), { path, which });
  for (const key of Object.keys(tensors)) {
    if (expected.has(key)) continue;
    const m = /^base_model\.model\.(.+)\.lora_[AB]\.weight$/.exec(key);
    const why = m === null ? "not a LoRA weight key (base_model.model.<module>.lora_A.weight / .lora_B.weight)" : `the model has no target layer ${m[1]}`;
    throw new ValueError(`lora.loadAdapter: unexpected key ${key} in ${file}: ${why}`);
  }
  for (const [key, { path, which }] of expected) {
    const t = tensors[key];
    if (t === undefined) throw new ValueError(`lora.loadAdapter: missing key ${key} in ${file} (target layer ${path})`);
    const layer = layers.get(path)!;
    const want = which === "A" ? [r, layer.inFeatures] : [layer.outFeatures, r];
    if (t.shape.length === 2 && t.shape[0] === want[0] && t.shape[1] === want[1]) continue;
    const rDim = which === "A" ? 0 : 1;
    const why =
      t.shape.length !== 2
        ? "a matrix is expected"
        : t.shape[rDim] !== r
          ? `r in adapter_config.json is ${r}`
          : which === "A"
            ? `the layer ${path} has ${layer.inFeatures} input features`
            : `the layer ${path} has ${layer.outFeatures} output features`;
    throw new ShapeError(`lora.loadAdapter: ${key} in ${file} has shape ${shapeStr(t.shape)}, expected ${shapeStr(want)}: ${why}`);
  }
}
