// lora.apply and friends: wrap the target Linear layers of a model in LoraLinear (PEFT's
// inject_adapter), freeze everything else, and fold adapters into the base weights or take them out.
import { ValueError } from "../errors.js";
import { Module, type Parameter } from "../nn/module.js";
import { Linear } from "../nn/layers.js";
import { checkArgCount, checkBool, checkFiniteNumber, checkInt, checkOptions, describe } from "../check.js";
import { LoraLinear } from "./layer.js";

/** Options of lora.apply: LoraConfig's fields, camelCased. */
export interface LoraOptions {
  /** The rank (LoraConfig.r, default 8). */
  r?: number;
  /** lora_alpha (default 8, as PEFT): the adapter's output is scaled by alpha / r. */
  alpha?: number;
  /** lora_dropout (default 0): dropout on the adapter's input in training. */
  dropout?: number;
  /**
   * Which layers to wrap (target_modules): names matched against the end of each module path
   * (PEFT's rule: the path equals a name or ends with "." + name), or a RegExp / regex string
   * that must match the whole path (PEFT's fullmatch).
   */
  targetModules: readonly string[] | string | RegExp;
  /**
   * fan_in_fan_out: whether the layer this adapter is for stores its weight as [in, out]
   * (Hugging Face's Conv1D in GPT-2). Recorded in adapter_config.json; the A/B shapes do not
   * change (default false, PEFT's default; PEFT turns it on itself for Conv1D targets).
   */
  fanInFanOut?: boolean;
  /** Rank-stabilised LoRA: scale by alpha / √r instead of alpha / r (use_rslora, default false). */
  useRslora?: boolean;
}

/** The resolved configuration of the adapters lora.apply put into a model. */
export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  /** As given: a list of names, or a regex source (PEFT writes either into adapter_config.json). */
  targetModules: string[] | string;
  fanInFanOut: boolean;
  useRslora: boolean;
}

const configs = new WeakMap<Module, LoraConfig>();

/** The LoRA configuration of a model lora.apply (or lora.loadAdapter) prepared, or null. */
export function configOf(model: Module): LoraConfig | null {
  checkArgCount("lora.configOf", arguments, 1);
  return configs.get(model) ?? null;
}

/** Checks options and fills PEFT's defaults. */
export function resolveOptions(op: string, options: LoraOptions): LoraConfig {
  if (options === null || typeof options !== "object")
    throw new ValueError(`${op}: options must be an object {r, alpha, dropout, targetModules}, got ${describe(options)}`);
  checkOptions(op, options, ["r", "alpha", "dropout", "targetModules", "fanInFanOut", "useRslora"]);
  const r = options.r ?? 8;
  checkInt(op, "r", r, 1);
  const alpha = options.alpha ?? 8;
  checkFiniteNumber(op, "alpha", alpha);
  const dropout = options.dropout ?? 0;
  checkFiniteNumber(op, "dropout", dropout, 0, 1);
  const fanInFanOut = options.fanInFanOut ?? false;
  checkBool(op, "fanInFanOut", fanInFanOut);
  const useRslora = options.useRslora ?? false;
  checkBool(op, "useRslora", useRslora);
  const t = options.targetModules;
  let targetModules: string[] | string;
  if (t instanceof RegExp) targetModules = t.source;
  else if (typeof t === "string") {
    try {
      new RegExp(t);
    } catch (e) {
      throw new ValueError(`${op}: targetModules ${JSON.stringify(t)} is not a valid regex (${(e as Error).message})`);
    }
    targetModules = t;
  } else if (Array.isArray(t) && t.length > 0 && t.every((x) => typeof x === "string" && x !== "")) targetModules = [...t];
  else throw new ValueError(`${op}: targetModules must be a non-empty array of module names, a RegExp or a regex string, got ${describe(t)}`);
  return { r, alpha, dropout, targetModules, fanInFanOut, useRslora };
}

/** PEFT's check_target_module_exists: fullmatch for a regex, equality or "." + name suffix for a list. */
export function matchesTarget(path: string, targets: string[] | string): boolean {
  if (typeof targets === "string") return new RegExp(`^(?:${targets})$`).test(path);
  return targets.some((t) => path === t || path.endsWith(`.${t}`));
}

/** Every LoraLinear of the model with its module path. */
export function loraLayers(model: Module): [string, LoraLinear][] {
  checkArgCount("lora.loraLayers", arguments, 1);
  checkModule("lora.loraLayers", model);
  return Array.from(model.namedModules()).filter((e): e is [string, LoraLinear] => e[1] instanceof LoraLinear);
}

/**
 * Adds LoRA adapters to `model` in place, as peft.get_peft_model(model, LoraConfig(...)): every
 * nn.Linear whose module path matches targetModules becomes a LoraLinear (state-dict keys
 * `<path>.base_layer.weight`, `<path>.lora_A.default.weight`, `<path>.lora_B.default.weight`),
 * and every parameter outside the adapters is frozen (requiresGrad false). Returns the model.
 *
 *   lora.apply(gpt, { r: 8, alpha: 16, dropout: 0.05, targetModules: ["c_attn", "c_proj"] });
 *   const opt = new optim.AdamW(lora.trainableParameters(gpt), { lr: 1e-3 });
 */
export function apply<M extends Module>(model: M, options: LoraOptions): M {
  checkArgCount("lora.apply", arguments, 2);
  const config = resolveOptions("lora.apply", options);
  checkModule("lora.apply", model);
  if (loraLayers(model).length > 0)
    throw new ValueError("lora.apply: the model already has LoRA layers (one adapter per model); call lora.mergeAndUnload or lora.unload first");
  const targets = Array.from(model.namedModules()).filter(([path]) => path !== "" && matchesTarget(path, config.targetModules));
  if (targets.length === 0) {
    const names = [...new Set(Array.from(model.namedModules(), ([p, m]) => (m instanceof Linear ? p.split(".").pop()! : "")).filter((n) => n !== ""))];
    throw new ValueError(
      `lora.apply: target modules ${JSON.stringify(config.targetModules)} not found in the base model (its Linear layers are named ${names.join(", ") || "nothing"})` +
        (typeof config.targetModules === "string" ? "; a string is a regex that must match the whole module path, pass an array for names" : ""),
    );
  }
  for (const [path, m] of targets) {
    if (!(m instanceof Linear)) throw new ValueError(`lora.apply: target module ${path} is a ${m.constructor.name}; only nn.Linear layers can be wrapped`);
  }
  const scaling = config.useRslora ? config.alpha / Math.sqrt(config.r) : config.alpha / config.r;
  for (const [path, m] of targets) {
    const layer = new LoraLinear(m as Linear, config.r, config.alpha, config.dropout, scaling);
    replaceAt(model, path, layer.train(m.training));
  }
  for (const [name, p] of model.namedParameters()) if (!name.includes("lora_")) p.requiresGrad = false; // PEFT's bias "none"
  configs.set(model, config);
  return model;
}

/** The parameters an optimizer should get: those that require grad (the adapters after apply). */
export function trainableParameters(model: Module): Parameter[] {
  checkArgCount("lora.trainableParameters", arguments, 1);
  checkModule("lora.trainableParameters", model);
  return model.parameters().filter((p) => p.requiresGrad);
}

/** Parameter counts as PEFT's print_trainable_parameters reports them. */
export function parameterCounts(model: Module): { trainable: number; total: number } {
  checkArgCount("lora.parameterCounts", arguments, 1);
  checkModule("lora.parameterCounts", model);
  let trainable = 0,
    total = 0;
  for (const p of model.parameters()) {
    total += p.size;
    if (p.requiresGrad) trainable += p.size;
  }
  return { trainable, total };
}

/** Folds every adapter into its base weight (W += scaling·B·A); forward is then the base model's. */
export function merge(model: Module): void {
  checkArgCount("lora.merge", arguments, 1);
  for (const [, layer] of requireLayers("lora.merge", model)) layer.merge();
}

/** Takes merged adapters out of the base weights again (W -= scaling·B·A). */
export function unmerge(model: Module): void {
  checkArgCount("lora.unmerge", arguments, 1);
  for (const [, layer] of requireLayers("lora.unmerge", model)) layer.unmerge();
}

/**
 * PEFT's merge_and_unload: merges every adapter and puts the plain nn.Linear layers back, so the
 * model has its original structure and state-dict keys. Frozen parameters stay frozen (call
 * model.requiresGrad_() to train everything). Returns the model.
 */
export function mergeAndUnload<M extends Module>(model: M): M {
  checkArgCount("lora.mergeAndUnload", arguments, 1);
  for (const [path, layer] of requireLayers("lora.mergeAndUnload", model)) {
    layer.merge();
    replaceAt(model, path, layer.base_layer);
  }
  configs.delete(model);
  return model;
}

/** PEFT's unload: puts the base layers back without merging (the adapters are dropped). Returns the model. */
export function unload<M extends Module>(model: M): M {
  checkArgCount("lora.unload", arguments, 1);
  for (const [path, layer] of requireLayers("lora.unload", model)) {
    layer.unmerge();
    replaceAt(model, path, layer.base_layer);
  }
  configs.delete(model);
  return model;
}

function requireLayers(op: string, model: Module): [string, LoraLinear][] {
  checkModule(op, model);
  const layers = loraLayers(model);
  if (layers.length === 0) throw new ValueError(`${op}: the model has no LoRA layers (call lora.apply or lora.loadAdapter first)`);
  return layers;
}

function checkModule(op: string, model: unknown): asserts model is Module {
  if (!(model instanceof Module)) throw new ValueError(`${op}: expected an nn.Module, got ${describe(model)}`);
}

/** Sets the submodule at a dotted path (the parent's own property, as PEFT's setattr(parent, name, new)). */
function replaceAt(model: Module, path: string, m: Module): void {
  const parts = path.split(".");
  let parent: Module = model;
  for (const p of parts.slice(0, -1)) parent = (parent as unknown as Record<string, Module>)[p];
  (parent as unknown as Record<string, Module>)[parts[parts.length - 1]] = m;
}
