// Hugging Face checkpoint folders, in and out: config.json plus model.safetensors, or shards named
// by model.safetensors.index.json ({"metadata": {"total_size": N}, "weight_map": {key: file}}).
// A folder is a path (Node, Deno, Bun) or, in browsers and workers, the files' bytes by name. The
// model-specific mapping (key names, layouts, config fields) lives in hf-gpt2.ts and hf-bert.ts.
import { FormatError, ShapeError, ValueError, brief, shapeStr } from "../errors.js";
import { type LoadedTensor, encodeSafetensors, indexSafetensors, setOwn } from "../io/safetensors.js";
import type { Module } from "../nn/module.js";
import { noGrad } from "../lifetime.js";
import { asBytes, describe } from "../check.js";
import { fs, path, readBytes, writeBytesAtomic } from "../platform.js";

/** File contents as bytes. */
export type FileBytes = Uint8Array | ArrayBuffer;

/**
 * Where a pretrained checkpoint comes from: a folder path (Node, Deno, Bun), or its files' bytes by
 * name — an object or Map (`{"config.json": bytes, "model.safetensors": bytes}`) or a list of
 * `{name, bytes}` (names may carry a folder, as a directory picker's `webkitRelativePath`).
 */
export type PretrainedSource = string | Record<string, FileBytes> | Map<string, FileBytes> | readonly { name: string; bytes: FileBytes }[];

/** The files of a checkpoint as savePretrained makes them: name → bytes. */
export type PretrainedFiles = Record<string, Uint8Array>;

/** A tensor of a checked checkpoint file, converted to float32 when read (into `out`, or a fresh array). */
export interface StoredTensor {
  shape: number[];
  dtype: string;
  read(out?: Float32Array): Float32Array;
}

/** A checkpoint with every file's layout checked: its parsed config.json, every tensor (read on demand) and which file held it. */
export interface PretrainedCheckpoint {
  config: Record<string, unknown>;
  tensors: Record<string, StoredTensor>;
  fileOf: Record<string, string>;
  /** "<folder>" or "the given files", for messages */
  where: string;
}

const INDEX = "model.safetensors.index.json";

/** Reads config.json and every tensor of a checkpoint (single file or shards). */
export function readPretrained(op: string, source: PretrainedSource): PretrainedCheckpoint {
  const files = fileReader(op, source);
  const config = parseJson(op, files, "config.json");
  if (config === null || typeof config !== "object" || Array.isArray(config))
    throw new FormatError(`${op}: ${files.where}/config.json must hold a JSON object`);
  const tensors: Record<string, StoredTensor> = {};
  const fileOf: Record<string, string> = {};
  const add = (file: string, only: Set<string> | null) => {
    // Layouts checked now; elements converted later, straight into the model's memory.
    const index = indexSafetensors(files.read(file), `${files.where}/${file}`);
    for (const [k, e] of Object.entries(index.entries)) {
      if (only !== null && !only.has(k)) continue; // HF reads only what the index names
      setOwn(tensors, k, { shape: e.shape, dtype: e.dtype, read: (out?: Float32Array) => index.read(k, out) });
      setOwn(fileOf, k, file);
    }
  };
  if (files.has(INDEX)) {
    const index = parseJson(op, files, INDEX) as { weight_map?: unknown } | null;
    const map = index?.weight_map;
    if (map === null || typeof map !== "object" || Array.isArray(map)) {
      throw new FormatError(`${op}: ${files.where}/${INDEX} must be {"metadata": {...}, "weight_map": {tensor: file}}, got ${brief(index)}`);
    }
    const byFile = new Map<string, Set<string>>();
    for (const [key, file] of Object.entries(map as Record<string, unknown>)) {
      if (typeof file !== "string" || file.includes("/") || file.includes("\\") || file === "" || file.startsWith(".")) {
        throw new FormatError(`${op}: ${files.where}/${INDEX}: weight_map[${brief(key)}] must name a file in the folder, got ${brief(file)}`);
      }
      if (!byFile.has(file)) byFile.set(file, new Set());
      byFile.get(file)!.add(key);
    }
    for (const [file, keys] of byFile) {
      if (!files.has(file)) {
        throw new FormatError(`${op}: ${files.where}/${INDEX} maps ${keys.size} tensors (e.g. ${brief([...keys][0])}) to ${file}, which is not there`);
      }
      add(file, keys);
      for (const k of keys) {
        if (!Object.hasOwn(tensors, k)) throw new FormatError(`${op}: ${files.where}/${INDEX} says ${k} is in ${file}, but ${file} has no tensor of that name`);
      }
    }
  } else if (files.has("model.safetensors")) {
    add("model.safetensors", null);
  } else {
    const bin = files.has("pytorch_model.bin") ? " (pytorch_model.bin is a pickle, which we do not read: convert it with safetensors' convert script)" : "";
    throw new FormatError(`${op}: neither model.safetensors nor ${INDEX} is in ${files.where}${bin}`);
  }
  return { config: config as Record<string, unknown>, tensors, fileOf, where: files.where };
}

interface FileReader {
  where: string;
  has(name: string): boolean;
  read(name: string): Uint8Array;
}

function fileReader(op: string, source: PretrainedSource): FileReader {
  if (typeof source === "string") {
    const dir = source;
    return {
      where: dir,
      has: (name) => fs(`${op}(path)`).existsSync(path().join(dir, name)),
      read: (name) => readBytes(path().join(dir, name), `${op}(path)`),
    };
  }
  const byName = new Map<string, Uint8Array>();
  const put = (name: unknown, bytes: unknown) => {
    if (typeof name !== "string") throw new ValueError(`${op}: file names must be strings, got ${describe(name)}`);
    const b = asBytes(bytes);
    if (b === null) throw new ValueError(`${op}: the file ${brief(name)} must be bytes (Uint8Array or ArrayBuffer), got ${describe(bytes)}`);
    byName.set(name.split(/[/\\]/).pop()!, b); // a picked folder's files come as "gpt2/config.json"
  };
  if (source instanceof Map) for (const [k, v] of source) put(k, v);
  else if (Array.isArray(source)) {
    for (const f of source) {
      if (f === null || typeof f !== "object") throw new ValueError(`${op}: expected files as {name, bytes}, got ${describe(f)}`);
      put((f as { name?: unknown }).name, (f as { bytes?: unknown }).bytes);
    }
  } else if (source !== null && typeof source === "object" && asBytes(source) === null) {
    for (const [k, v] of Object.entries(source)) put(k, v);
  } else {
    throw new ValueError(
      `${op}: expected a folder path or the files' bytes by name ({"config.json": bytes, "model.safetensors": bytes}), got ${describe(source)}`,
    );
  }
  return {
    where: "the given files",
    has: (name) => byName.has(name),
    read: (name) => byName.get(name)!,
  };
}

function parseJson(op: string, files: FileReader, name: string): unknown {
  if (!files.has(name)) throw new FormatError(`${op}: ${name} is missing from ${files.where}`);
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(files.read(name)));
  } catch (e) {
    throw new FormatError(`${op}: ${files.where}/${name} is not valid JSON: ${(e as Error).message}`);
  }
}

/** config.json as transformers writes it: keys sorted, two-space indent, a final newline. */
export function configBytes(config: Record<string, unknown>): Uint8Array {
  const sorted = (v: unknown): unknown =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
        )
      : v;
  return new TextEncoder().encode(`${JSON.stringify(sorted(config), null, 2)}\n`);
}

/**
 * The files of a checkpoint: config.json and model.safetensors with the tensors sorted by name
 * (the order the reference safetensors writer uses for one dtype) and {"format": "pt"} metadata.
 * With `dir` (Node, Deno, Bun) they are written there, each atomically; the folder is created.
 */
export function writePretrained(op: string, config: Record<string, unknown>, state: Record<string, LoadedTensor>, dir?: string): PretrainedFiles {
  if (dir !== undefined && typeof dir !== "string")
    throw new ValueError(`${op}: dir must be a folder path (or omitted for the bytes only), got ${describe(dir)}`);
  const ordered: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const k of Object.keys(state).sort()) setOwn(ordered, k, { shape: state[k].shape, data: state[k].data });
  const files: PretrainedFiles = {
    "config.json": configBytes(config),
    "model.safetensors": encodeSafetensors(ordered, { format: "pt" }),
  };
  if (dir !== undefined) {
    const mk = fs(`${op}(dir)`) as unknown as { mkdirSync(p: string, o: { recursive: boolean }): void };
    mk.mkdirSync(dir, { recursive: true });
    for (const [name, bytes] of Object.entries(files)) writeBytesAtomic(path().join(dir, name), bytes, `${op}(dir)`);
  }
  return files;
}

/** [rows, cols] → [cols, rows] (into `out` when given): HF's Conv1D stores [in, out], nn.Linear [out, in]. */
export function transpose2d(t: { shape: number[]; data: Float32Array }, out: Float32Array = new Float32Array(t.data.length)): LoadedTensor {
  const [r, c] = t.shape;
  for (let i = 0; i < r; i++) {
    const row = i * c;
    for (let j = 0; j < c; j++) out[j * r + i] = t.data[row + j];
  }
  return { shape: [c, r], data: out, dtype: "F32" };
}

/** A checkpoint tensor destined for one of our keys (stored transposed for HF's Conv1D). */
export interface MappedTensor {
  tensor: StoredTensor;
  transposed: boolean;
}

/**
 * Converts each mapped tensor straight into the model's parameter or buffer of that key (one
 * tensor's float32 copy at a time, only for transposed ones), so a load holds the files' bytes
 * and the model, not a float32 copy of every weight as well.
 */
export function copyInto(model: Module, mapped: Record<string, MappedTensor>): void {
  const own = model.stateDict();
  noGrad(() => {
    for (const [key, { tensor, transposed }] of Object.entries(mapped)) {
      const target = own[key];
      if (transposed) {
        const stored = tensor.read();
        transpose2d({ shape: tensor.shape, data: stored }, target.data as Float32Array); // no wasm allocation since .data: the view holds
      } else {
        tensor.read(target.data as Float32Array);
      }
    }
  });
}

/**
 * Our state (key → expected shape) mapped to a checkpoint's tensors: `source(ourKey)` names the
 * checkpoint key and whether it is stored transposed. Every key must be there with the shape the
 * config implies (a ShapeError names key, file, expected and got shapes; a missing key a
 * ValueError naming it), and every checkpoint key must be used or `ignorable` (a ValueError names
 * the first unexpected one).
 */
export function mapCheckpoint(
  op: string,
  ckpt: PretrainedCheckpoint,
  expected: Record<string, readonly number[]>,
  source: (ourKey: string) => { key: string; transposed: boolean },
  ignorable: (ckptKey: string) => boolean,
  optional: (ourKey: string) => boolean = () => false,
): { state: Record<string, MappedTensor>; absent: string[] } {
  const state: Record<string, MappedTensor> = {};
  const used = new Set<string>();
  const absent: string[] = [];
  for (const [ours, shape] of Object.entries(expected)) {
    const { key, transposed } = source(ours);
    if (!Object.hasOwn(ckpt.tensors, key)) {
      if (optional(ours)) {
        absent.push(ours);
        continue;
      }
      throw new ValueError(`${op}: ${ckpt.where} has no tensor ${key} (missing key; the config's model needs it, shape ${shapeStr(want(shape, transposed))})`);
    }
    used.add(key);
    const t = ckpt.tensors[key];
    const w = want(shape, transposed);
    if (t.shape.length !== w.length || t.shape.some((d, i) => d !== w[i])) {
      throw new ShapeError(
        `${op}: ${key} in ${ckpt.where}/${ckpt.fileOf[key]} has shape ${shapeStr(t.shape)}, but config.json implies ${shapeStr(w)}${transposed ? " (Conv1D, [in, out])" : ""}`,
      );
    }
    setOwn(state, ours, { tensor: t, transposed });
  }
  const unexpected = Object.keys(ckpt.tensors).filter((k) => !used.has(k) && !ignorable(k));
  if (unexpected.length > 0) {
    throw new ValueError(
      `${op}: unexpected key ${unexpected[0]} in ${ckpt.where}/${ckpt.fileOf[unexpected[0]]}${unexpected.length > 1 ? ` (and ${unexpected.length - 1} more)` : ""}: the model has no such tensor`,
    );
  }
  return { state, absent };
}

const want = (shape: readonly number[], transposed: boolean) => (transposed ? [...shape].reverse() : [...shape]);
