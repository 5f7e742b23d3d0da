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
import { FormatError, ValueError } from "../errors.js";
import type { Module, LoadResult } from "../nn/module.js";
import type { Optimizer, OptimizerStateInput } from "../optim/optimizer.js";
import { Generator, defaultGenerator } from "../random.js";
import type { Tensor } from "../tensor.js";
import type { DataLoaderState } from "../data/loader.js";
import { decodeSafetensors, encodeSafetensors, setOwn, type LoadedTensor } from "./safetensors.js";
import { readBytes, writeBytesAtomic } from "./files.js";

/** Anything with a JSON-serialisable state: LR schedulers, DataLoaders, your own objects. */
export interface Stateful<S = unknown> {
  stateDict(): S;
  loadStateDict(state: S): void;
}

export interface CheckpointState {
  model: Module;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
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

export interface CheckpointInfo extends LoadResult {
  epoch: number;
  step: number;
  extra: unknown;
}

interface CheckpointJson {
  epoch: number;
  step: number;
  rng: ReturnType<Generator["getState"]>;
  optimizer: { type: string; paramGroups: OptimizerStateInput["paramGroups"]; steps: Record<string, number> } | null;
  scheduler: unknown;
  loader: DataLoaderState | null;
  extra: unknown;
}

const FORMAT = "wasmgrad.checkpoint";
const VERSION = "1";

/** The checkpoint as bytes (what saveCheckpoint writes). */
export function encodeCheckpoint(state: CheckpointState): Uint8Array {
  const tensors: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(state.model.stateDict())) tensors[`model.${k}`] = v;
  let optimizer: CheckpointJson["optimizer"] = null;
  if (state.optimizer !== undefined) {
    const sd = state.optimizer.stateDict();
    const steps: Record<string, number> = {};
    for (const [index, st] of Object.entries(sd.state)) {
      steps[index] = st.step;
      for (const [b, t] of Object.entries(st.buffers)) tensors[`optimizer.${index}.${b}`] = t;
    }
    optimizer = { type: state.optimizer.typeName, paramGroups: sd.paramGroups, steps };
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
  return encodeSafetensors(tensors, { format: FORMAT, version: VERSION, checkpoint: JSON.stringify(json) });
}

/**
 * Saves model weights, optimizer state (buffers, step counts, options), scheduler, epoch, step,
 * the generator's state and the DataLoader's position to `path`, atomically (Node, Deno, Bun).
 * Returns the bytes (also what to keep in a browser, where there is no path).
 *
 *   io.saveCheckpoint("run.ckpt", { model, optimizer, epoch, step, rng: defaultGenerator, loader });
 */
export function saveCheckpoint(path: string | null, state: CheckpointState): Uint8Array {
  const bytes = encodeCheckpoint(state);
  if (path !== null) writeBytesAtomic(path, bytes, "saveCheckpoint(path)");
  return bytes;
}

/**
 * Restores a checkpoint (a path or its bytes) into the given objects: model weights (strict by
 * default), optimizer buffers/steps/options, scheduler, generator (default: the global one) and
 * DataLoader position. Returns epoch, step, extra and the model's missing/unexpected keys.
 */
export function loadCheckpoint(source: string | Uint8Array | ArrayBuffer, into: CheckpointState & { strict?: boolean }): CheckpointInfo {
  const name = typeof source === "string" ? source : "checkpoint bytes";
  const bytes = typeof source === "string" ? readBytes(source, "loadCheckpoint(path)") : source;
  const { tensors, metadata } = decodeSafetensors(bytes, name);
  if (metadata.format !== FORMAT || metadata.checkpoint === undefined) {
    throw new FormatError(`${name}: not a wasmgrad checkpoint (its __metadata__ has no format "${FORMAT}"); ` +
      `for plain weights use model.loadStateDict(io.loadSafetensors(...))`);
  }
  if (metadata.version !== VERSION) throw new FormatError(`${name}: checkpoint version ${metadata.version}, this wasmgrad reads version ${VERSION}`);
  let json: CheckpointJson;
  try {
    json = JSON.parse(metadata.checkpoint) as CheckpointJson;
  } catch (e) {
    throw new FormatError(`${name}: the checkpoint metadata is not valid JSON: ${(e as Error).message}`);
  }
  const words = json?.rng?.words;
  if (!Array.isArray(words) || words.length !== 4 || !words.every((w) => Number.isInteger(w)) || !Number.isSafeInteger(json.epoch) || !Number.isSafeInteger(json.step)) {
    throw new FormatError(`${name}: the checkpoint metadata lacks a valid epoch, step or rng state`);
  }

  const model: Record<string, LoadedTensor> = {};
  const buffers = new Map<string, Record<string, LoadedTensor>>();
  for (const [key, t] of Object.entries(tensors)) {
    if (key.startsWith("model.")) {
      setOwn(model, key.slice(6), t);
      continue;
    }
    const m = /^optimizer\.(\d+)\.(.+)$/.exec(key);
    if (m === null) throw new FormatError(`${name}: unexpected tensor "${key}" in a checkpoint (expected model.* or optimizer.<index>.*)`);
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

  const result = into.model.loadStateDict(model, { strict: into.strict ?? true });
  if (into.optimizer !== undefined && json.optimizer !== null) {
    const state: OptimizerStateInput["state"] = {};
    for (const [index, step] of Object.entries(json.optimizer.steps)) state[index] = { step, buffers: buffers.get(index) ?? {} };
    for (const index of buffers.keys()) {
      if (!(index in json.optimizer.steps)) throw new FormatError(`${name}: optimizer buffers for parameter ${index}, which has no step count`);
    }
    into.optimizer.loadStateDict({ state, paramGroups: json.optimizer.paramGroups });
  }
  if (into.scheduler !== undefined) into.scheduler.loadStateDict(json.scheduler);
  if (into.loader !== undefined && json.loader !== null) into.loader.loadStateDict(json.loader);
  (into.rng ?? defaultGenerator).setState(json.rng);
  return { epoch: json.epoch, step: json.step, extra: json.extra, ...result };
}
