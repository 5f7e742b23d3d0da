// Training checkpoints: everything a run needs to continue as if it had never stopped.
//
// A checkpoint is one safetensors file (so any safetensors reader can open it):
//   tensors   model.<key>                       the model's state dict (float32)
//             optimizer.<index>.<buffer>        optimizer state per parameter index
//                                               (momentum_buffer, exp_avg, exp_avg_sq, ...)
//   __metadata__
//             "format": "wasmgrad.checkpoint", "version": "1",
//             "checkpoint": JSON {epoch, step, rng, optimizer: {type, paramGroups, steps},
//                                 scheduler, loader, extra}
// Files are written atomically (temp file, fsync, rename): a crash at any point leaves the
// previous checkpoint intact.
import { FormatError, ValueError, WasmgradError } from "../errors.js";
import type { Module, LoadResult, StateValue } from "../nn/module.js";
import type { Optimizer, OptimizerStateInput } from "../optim/optimizer.js";
import { type Generator, defaultGenerator } from "../random.js";
import type { Tensor } from "../tensor.js";
import { type DataLoaderState, isGeneratorState } from "../data/loader.js";
import { asBytes, checkGenerator, describe, checkArgCount } from "../check.js";
import { decodeSafetensors, encodeSafetensors, setOwn, type LoadedTensor } from "./safetensors.js";
import { readBytes, writeBytesAtomic } from "../platform.js";

/** Anything with a JSON-serialisable state: LR schedulers, DataLoaders, your own objects. */
export interface Stateful<S = unknown> {
  /** The state, as JSON. */
  stateDict(): S;
  /** Restores a state made by stateDict(). */
  loadStateDict(state: S): void;
}

/** What a checkpoint holds: model, optimizer, scheduler, loader position, epoch, step, generator and extra JSON. */
export interface CheckpointState {
  model: Module;
  // biome-ignore lint/suspicious/noExplicitAny: any optimizer, whatever its options type
  optimizer?: Optimizer<any>;
  /** An LR scheduler (or anything Stateful whose state is JSON). */
  scheduler?: Stateful;
  /** Epoch to continue from: the current one when saving mid-epoch, the next one between epochs. */
  epoch?: number;
  /** Global step count (optimizer steps taken). */
  step?: number;
  /** The generator to save/restore (default: the global one, seeded by manualSeed). */
  rng?: Generator;
  /** The training DataLoader, to resume an epoch mid-way with the same shuffle order. */
  loader?: Stateful<DataLoaderState>;
  /** Anything else JSON-serialisable (running loss, best accuracy, ...). */
  extra?: unknown;
}

/** What loadCheckpoint returns: epoch, step, extra, and the state dict's missing/unexpected keys. */
export interface CheckpointInfo extends LoadResult {
  epoch: number;
  step: number;
  extra: unknown;
}

interface CheckpointJson {
  epoch: number;
  step: number;
  rng: ReturnType<Generator["getState"]>;
  optimizer: {
    type: string;
    paramGroups: OptimizerStateInput["paramGroups"];
    steps: Record<string, number>;
    scalars?: Record<string, Record<string, number>>;
  } | null;
  scheduler: unknown;
  loader: DataLoaderState | null;
  extra: unknown;
}

const FORMAT = "wasmgrad.checkpoint";
const VERSION = "1";

/** The checkpoint as bytes (what saveCheckpoint writes). */
export function encodeCheckpoint(state: CheckpointState): Uint8Array {
  checkArgCount("encodeCheckpoint", arguments, 1);
  checkState("saveCheckpoint", state);
  for (const k of ["epoch", "step"] as const) {
    const v = state[k];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw new ValueError(`saveCheckpoint: ${k} must be an integer ≥ 0, got ${describe(v)}`);
  }
  const tensors: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(state.model.stateDict())) tensors[`model.${k}`] = v;
  let optimizer: CheckpointJson["optimizer"] = null;
  if (state.optimizer !== undefined) {
    const sd = state.optimizer.stateDict();
    const steps: Record<string, number> = {};
    const scalars: Record<string, Record<string, number>> = {};
    for (const [index, st] of Object.entries(sd.state)) {
      steps[index] = st.step;
      for (const [b, t] of Object.entries(st.buffers)) tensors[`optimizer.${index}.${b}`] = t;
      if (st.scalars !== undefined) scalars[index] = st.scalars;
    }
    optimizer = { type: state.optimizer.typeName, paramGroups: sd.paramGroups, steps, ...(Object.keys(scalars).length > 0 ? { scalars } : {}) };
  }
  const json: CheckpointJson = {
    epoch: state.epoch ?? 0,
    step: state.step ?? 0,
    rng: (state.rng ?? defaultGenerator).getState(),
    optimizer,
    scheduler: state.scheduler?.stateDict() ?? null,
    loader: state.loader?.stateDict() ?? null,
    extra: state.extra ?? null,
  };
  let text: string;
  try {
    text = JSON.stringify(json);
  } catch (e) {
    throw new ValueError(`saveCheckpoint: the checkpoint's state is not JSON-serialisable (extra or scheduler state?): ${(e as Error).message}`);
  }
  return encodeSafetensors(tensors, { format: FORMAT, version: VERSION, checkpoint: text });
}

/** The objects given to saveCheckpoint / loadCheckpoint: checked before anything is read or written. */
function checkState(owner: string, state: CheckpointState & { strict?: boolean }): void {
  if (state === null || typeof state !== "object") throw new ValueError(`${owner}: expected {model, optimizer?, ...}, got ${describe(state)}`);
  // Other keys are allowed: callers pass their whole training setup ({ ...setup, epoch }).
  const isStateful = (v: unknown) =>
    (v !== null && typeof v === "object") || typeof v === "function"
      ? typeof (v as Stateful).stateDict === "function" && typeof (v as Stateful).loadStateDict === "function"
      : false;
  if (!isStateful(state.model) || typeof (state.model as Module).parameters !== "function")
    throw new ValueError(`${owner}: model must be an nn.Module, got ${describe(state.model)}`);
  if (state.optimizer !== undefined && (!isStateful(state.optimizer) || typeof state.optimizer.typeName !== "string")) {
    throw new ValueError(`${owner}: optimizer must be an optimizer (optim.SGD, Adam, ...), got ${describe(state.optimizer)}`);
  }
  for (const k of ["scheduler", "loader"] as const) {
    if (state[k] !== undefined && !isStateful(state[k]))
      throw new ValueError(`${owner}: ${k} must have stateDict() and loadStateDict(), got ${describe(state[k])}`);
  }
  if (state.rng !== undefined) checkGenerator(owner, "rng", state.rng);
}

/**
 * Saves model weights, optimizer state (buffers, step counts, options), scheduler, epoch, step,
 * the generator's state and the DataLoader's position to `path`, atomically (Node, Deno, Bun).
 * Returns the bytes (also what to keep in a browser, where there is no path).
 *
 *   io.saveCheckpoint("run.ckpt", { model, optimizer, epoch, step, rng: defaultGenerator, loader });
 */
export function saveCheckpoint(path: string | null, state: CheckpointState): Uint8Array {
  checkArgCount("saveCheckpoint", arguments, 2);
  if (path !== null && typeof path !== "string") throw new ValueError(`saveCheckpoint: path must be a string (or null for bytes only), got ${describe(path)}`);
  const bytes = encodeCheckpoint(state);
  if (path !== null) writeBytesAtomic(path, bytes, "saveCheckpoint(path)");
  return bytes;
}

/** The checkpoint JSON, checked field by field (anything else is a FormatError naming the field). */
function parseCheckpointJson(text: string, name: string): CheckpointJson {
  const bad = (what: string): never => {
    throw new FormatError(`${name}: the checkpoint metadata ${what}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FormatError(`${name}: the checkpoint metadata is not valid JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) return bad("is not a JSON object");
  const j = json as Record<string, unknown>;
  if (!Number.isSafeInteger(j.epoch) || (j.epoch as number) < 0 || !Number.isSafeInteger(j.step) || (j.step as number) < 0 || !isGeneratorState(j.rng)) {
    bad("lacks a valid epoch, step or rng state (integers ≥ 0; rng: four uint32 words, not all 0, and spareNormal null or a finite number)");
  }
  const isObject = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v);
  const o = j.optimizer;
  if (o !== null && o !== undefined) {
    if (!isObject(o)) bad(`has an invalid optimizer entry (expected an object or null, got ${describe(o)})`);
    const { type, paramGroups, steps } = o as Record<string, unknown>;
    if (typeof type !== "string") bad(`optimizer.type must be a string, got ${describe(type)}`);
    if (!Array.isArray(paramGroups) || paramGroups.some((g) => !isObject(g) || !Array.isArray(g.params))) {
      bad("optimizer.paramGroups must be a list of {params: [indices], ...options}");
    }
    if (!isObject(steps)) bad(`optimizer.steps must be an object of parameter index → step count, got ${describe(steps)}`);
    for (const [k, v] of Object.entries(steps as Record<string, unknown>)) {
      if (!/^(0|[1-9]\d{0,8})$/.test(k) || !Number.isSafeInteger(v) || (v as number) < 0)
        bad(`optimizer.steps has an invalid entry ${JSON.stringify(k)}: ${describe(v)}`);
    }
    const scalars = (o as Record<string, unknown>).scalars;
    if (scalars !== undefined && (!isObject(scalars) || Object.values(scalars as Record<string, unknown>).some((v) => !isObject(v)))) {
      bad(`optimizer.scalars must be an object of parameter index → {name: number}, got ${describe(scalars)}`);
    }
  }
  if (j.loader !== null && j.loader !== undefined && !isObject(j.loader))
    bad(`has an invalid loader entry (expected an object or null, got ${describe(j.loader)})`);
  return {
    epoch: j.epoch as number,
    step: j.step as number,
    rng: j.rng as CheckpointJson["rng"],
    optimizer: (o ?? null) as CheckpointJson["optimizer"],
    scheduler: j.scheduler ?? null,
    loader: (j.loader ?? null) as DataLoaderState | null,
    extra: j.extra ?? null,
  };
}

/** A copy of a tensor's values (not a view of the backend's memory). */
const copyValue = (t: Tensor): StateValue => ({ shape: [...t.shape], data: t.data.slice() });

/** A copy of a module's state dict. */
function copyStateDict(model: Module): Record<string, StateValue> {
  const out: Record<string, StateValue> = {};
  for (const [k, t] of Object.entries(model.stateDict())) setOwn(out, k, copyValue(t));
  return out;
}

/**
 * Restores a checkpoint (a path or its bytes) into the given objects: model weights (strict by
 * default), optimizer buffers/steps/options, scheduler, generator (default: the global one) and
 * DataLoader position. Returns epoch, step, extra and the model's missing/unexpected keys.
 *
 * All or nothing: the file is checked first, and if restoring any of the objects fails (a model
 * of another shape, an optimizer of another kind, ...) the ones already restored are put back
 * as they were, so after an error everything is as before the call.
 */
export function loadCheckpoint(source: string | Uint8Array | ArrayBuffer, into: CheckpointState & { strict?: boolean }): CheckpointInfo {
  checkArgCount("loadCheckpoint", arguments, 2);
  checkState("loadCheckpoint", into);
  const given = typeof source === "string" ? null : asBytes(source);
  if (typeof source !== "string" && given === null) throw new ValueError(`loadCheckpoint: expected a path or the file's bytes, got ${describe(source)}`);
  const name = typeof source === "string" ? source : "checkpoint bytes";
  const bytes = given ?? readBytes(source as string, "loadCheckpoint(path)");
  const { tensors, metadata } = decodeSafetensors(bytes, name);
  if (metadata.format !== FORMAT || metadata.checkpoint === undefined) {
    throw new FormatError(
      `${name}: not a wasmgrad checkpoint (its __metadata__ has no format "${FORMAT}"); ` +
        `for plain weights use model.loadStateDict(io.loadSafetensors(...))`,
    );
  }
  if (metadata.version !== VERSION) throw new FormatError(`${name}: checkpoint version ${metadata.version}, this wasmgrad reads version ${VERSION}`);
  const json = parseCheckpointJson(metadata.checkpoint, name);

  const model: Record<string, LoadedTensor> = {};
  const buffers = new Map<string, Record<string, LoadedTensor>>();
  for (const [key, t] of Object.entries(tensors)) {
    if (key.startsWith("model.")) {
      setOwn(model, key.slice(6), t);
      continue;
    }
    const m = /^optimizer\.(\d+)\.(.+)$/.exec(key);
    if (m === null) throw new FormatError(`${name}: unexpected tensor "${key}" in a checkpoint (expected model.* or optimizer.<index>.*)`);
    if (json.optimizer === null || !Object.hasOwn(json.optimizer.steps, m[1])) {
      throw new FormatError(`${name}: optimizer buffers for parameter ${m[1]}, which has no step count`);
    }
    if (!buffers.has(m[1])) buffers.set(m[1], {});
    setOwn(buffers.get(m[1])!, m[2], t);
  }

  if (into.optimizer !== undefined) {
    if (json.optimizer === null) throw new ValueError(`loadCheckpoint: ${name} holds no optimizer state`);
    if (json.optimizer.type !== into.optimizer.typeName) {
      throw new ValueError(`loadCheckpoint: ${name} holds ${json.optimizer.type} state, the optimizer given is ${into.optimizer.typeName}`);
    }
  }
  if (into.scheduler !== undefined && json.scheduler === null) throw new ValueError(`loadCheckpoint: ${name} holds no scheduler state`);
  if (into.loader !== undefined && json.loader === null) throw new ValueError(`loadCheckpoint: ${name} holds no DataLoader state`);

  // Each restore checks its input before changing anything; later ones can still fail, so the
  // earlier ones are undone then.
  const undo: (() => void)[] = [];
  let result: LoadResult;
  try {
    const modelBefore = copyStateDict(into.model);
    result = into.model.loadStateDict(model, { strict: into.strict ?? true });
    undo.push(() => into.model.loadStateDict(modelBefore, { strict: false }));
    if (into.optimizer !== undefined && json.optimizer !== null) {
      const opt = into.optimizer;
      const before = opt.stateDict();
      for (const st of Object.values(before.state)) {
        for (const [b, t] of Object.entries(st.buffers)) (st.buffers as Record<string, StateValue>)[b] = copyValue(t);
      }
      const state: OptimizerStateInput["state"] = {};
      const scalars = json.optimizer.scalars ?? {};
      for (const [index, step] of Object.entries(json.optimizer.steps)) {
        state[index] = { step, buffers: buffers.get(index) ?? {}, ...(Object.hasOwn(scalars, index) ? { scalars: scalars[index] } : {}) };
      }
      opt.loadStateDict({ state, paramGroups: json.optimizer.paramGroups });
      undo.push(() => opt.loadStateDict(before as OptimizerStateInput));
    }
    if (into.scheduler !== undefined) {
      const scheduler = into.scheduler;
      const before = structuredClone(scheduler.stateDict());
      scheduler.loadStateDict(json.scheduler);
      undo.push(() => scheduler.loadStateDict(before));
    }
    if (into.loader !== undefined && json.loader !== null) into.loader.loadStateDict(json.loader);
  } catch (e) {
    for (const u of undo.reverse()) u();
    if (e instanceof WasmgradError && !e.message.startsWith(name)) {
      const Cls = e.constructor as new (message: string) => WasmgradError;
      throw new Cls(`${name}: ${e.message}`);
    }
    throw e;
  }
  (into.rng ?? defaultGenerator).setState(json.rng);
  return { epoch: json.epoch, step: json.step, extra: json.extra, ...result };
}
