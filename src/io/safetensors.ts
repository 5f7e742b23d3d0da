// safetensors (https://github.com/huggingface/safetensors), the weights format of the PyTorch
// and Hugging Face ecosystem:
//
//   bytes 0..8        N, the header length, unsigned 64-bit little-endian
//   bytes 8..8+N      JSON object (UTF-8, may end in spaces):
//                       { "__metadata__": { string: string }            (optional)
//                         "<name>": { "dtype": "F32", "shape": [out, in], "data_offsets": [begin, end] }, ... }
//   bytes 8+N..       the data section: each tensor's elements row-major, little-endian, at
//                     [begin, end) relative to the section's start; tensors tile it exactly
//
// Reading accepts F32, F16, BF16, F64 (and integer/bool dtypes) and returns float32; writing
// produces F32 (I32 for int32 tensors), the header padded with spaces to a multiple of 8 bytes as
// the reference writer does, tensors in the order given. A file that breaks the layout throws a
// FormatError naming the file, the byte offset and what was expected; nothing is allocated
// before the header has been checked against the file's size.
import { FormatError, ValueError, brief, shapeStr } from "../errors.js";
import { Tensor } from "../tensor.js";
import { asBytes, checkArgCount, checkOptions, describe } from "../check.js";
import type { StateValue } from "../nn/module.js";
import { readBytes, writeBytesAtomic } from "../platform.js";

/** A tensor read from a file: shape, elements converted to float32, and the file's dtype. */
export interface LoadedTensor {
  shape: number[];
  data: Float32Array;
  dtype: string;
}

/** A safetensors file read whole: its tensors and its string metadata. */
export interface SafetensorsContents {
  tensors: Record<string, LoadedTensor>;
  /** The header's `__metadata__` (string → string), or {} when there is none. */
  metadata: Record<string, string>;
}

/** Bytes per element and a little-endian reader for each dtype we can convert to float32. */
const DTYPES: Record<string, { size: number; get: (v: DataView, at: number) => number }> = {
  F64: { size: 8, get: (v, at) => v.getFloat64(at, true) },
  F32: { size: 4, get: (v, at) => v.getFloat32(at, true) },
  F16: { size: 2, get: (v, at) => halfToFloat(v.getUint16(at, true)) },
  BF16: { size: 2, get: (v, at) => bfloat16ToFloat(v.getUint16(at, true)) },
  I64: { size: 8, get: (v, at) => Number(v.getBigInt64(at, true)) },
  I32: { size: 4, get: (v, at) => v.getInt32(at, true) },
  I16: { size: 2, get: (v, at) => v.getInt16(at, true) },
  I8: { size: 1, get: (v, at) => v.getInt8(at) },
  U64: { size: 8, get: (v, at) => Number(v.getBigUint64(at, true)) },
  U32: { size: 4, get: (v, at) => v.getUint32(at, true) },
  U16: { size: 2, get: (v, at) => v.getUint16(at, true) },
  U8: { size: 1, get: (v, at) => v.getUint8(at) },
  BOOL: { size: 1, get: (v, at) => (v.getUint8(at) !== 0 ? 1 : 0) },
};
/** dtypes of the format we recognise but cannot convert (8-bit and smaller floats, complex). */
const UNSUPPORTED = new Set(["F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"]);

/** The header may not exceed this (the reference implementation's limit). */
const MAX_HEADER = 100_000_000;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Deepest nesting a safetensors header needs is 3 ({ name: { shape: [...] } }); allow some room. */
const MAX_HEADER_DEPTH = 32;

/**
 * Checks what JSON.parse lets pass: a key twice in one object (JSON.parse keeps the last; the
 * format forbids duplicates) and nesting deeper than MAX_HEADER_DEPTH. Returns what is wrong
 * (with the byte offset in the header text), or null. Assumes nothing about validity otherwise:
 * JSON.parse checks that next.
 */
export function checkJsonStructure(text: string): string | null {
  const stack: (Set<string> | null)[] = []; // a Set of keys per object, null per array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        let key: string;
        try {
          key = JSON.parse(text.slice(i, j + 1)) as string;
        } catch {
          return null; // malformed: JSON.parse reports it
        }
        if (top.has(key)) return `has the key ${brief(key)} twice in one object (at character ${i}); keys must be unique`;
        top.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === "{" || c === "[") {
      stack.push(c === "{" ? new Set() : null);
      if (stack.length > MAX_HEADER_DEPTH) return `nests objects/arrays more than ${MAX_HEADER_DEPTH} deep (at character ${i})`;
      expectKey = c === "{";
    } else if (c === "}" || c === "]") {
      stack.pop();
      expectKey = false;
    } else if (c === ",") {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
  return null;
}

/** obj[key] = value as an own property, even for keys like "__proto__" (names come from files). */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function bfloat16ToFloat(h: number): number {
  u32Scratch[0] = h << 16;
  return f32Scratch[0];
}

/** A checked safetensors file whose tensors are converted one at a time (loaders of large models). */
export interface SafetensorsIndex {
  /** Each tensor's file dtype and shape, by name. */
  entries: Record<string, { dtype: string; shape: number[] }>;
  metadata: Record<string, string>;
  /** The tensor's elements as float32: into `out` (which must hold them all) or a fresh array. */
  read(key: string, out?: Float32Array): Float32Array;
}

/**
 * Parses safetensors bytes; every tensor comes back as float32 in a fresh array (the input is
 * not referenced). `name` (a path or a label) goes into error messages.
 */
export function decodeSafetensors(bytes: Uint8Array | ArrayBuffer, name = "safetensors data"): SafetensorsContents {
  checkArgCount("decodeSafetensors", arguments, 2);
  const index = indexSafetensors(bytes, name);
  const tensors: Record<string, LoadedTensor> = {};
  for (const [key, e] of Object.entries(index.entries)) setOwn(tensors, key, { shape: [...e.shape], data: index.read(key), dtype: e.dtype });
  return { tensors, metadata: index.metadata };
}

/**
 * Checks the whole layout of safetensors bytes as decodeSafetensors does, converting nothing yet:
 * tensors are read on demand (the bytes stay referenced until the index is dropped).
 */
export function indexSafetensors(bytes: Uint8Array | ArrayBuffer, name = "safetensors data"): SafetensorsIndex {
  checkArgCount("indexSafetensors", arguments, 2);
  const buf = asBytes(bytes);
  if (buf === null) throw new ValueError(`loadSafetensors: expected a path or the file's bytes (Uint8Array or ArrayBuffer), got ${describe(bytes)}`);
  const fail = (msg: string): never => {
    throw new FormatError(`${name}: ${msg}`);
  };
  if (buf.length < 8) fail(`${buf.length} bytes is too short for a safetensors file (it starts with an 8-byte little-endian header length)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
  if (headerLen > buf.length - 8) {
    fail(`the header length at byte 0 says ${headerLen} bytes, but only ${buf.length - 8} bytes follow it (truncated file, or not a safetensors file)`);
  }
  if (headerLen > MAX_HEADER) fail(`the header length at byte 0 says ${headerLen} bytes, more than the format's limit of ${MAX_HEADER}`);
  if (headerLen < 2 || buf[8] !== 0x7b /* { */) fail(`expected the JSON header to start with '{' at byte 8 (header length ${headerLen})`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(8, 8 + headerLen));
  } catch {
    return fail(`the header (bytes 8 to ${8 + headerLen}) is not valid UTF-8`);
  }
  const structure = checkJsonStructure(text);
  if (structure !== null) fail(`the header (bytes 8 to ${8 + headerLen}) ${structure}`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`the header (bytes 8 to ${8 + headerLen}) is not valid JSON: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) fail("the header (byte 8) must be a JSON object");

  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { key: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [key, info] of Object.entries(header as Record<string, unknown>)) {
    if (key === "__metadata__") {
      if (info === null) continue;
      if (typeof info !== "object" || Array.isArray(info)) fail("__metadata__ in the header must be an object of strings");
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__[${brief(k)}] must be a string, got ${brief(v)}`);
        setOwn(metadata, k, v as string);
      }
      continue;
    }
    const what = `tensor "${key}"`;
    if (info === null || typeof info !== "object" || Array.isArray(info)) fail(`${what}: expected {dtype, shape, data_offsets} in the header`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== "string") fail(`${what}: missing or non-string dtype`);
    const dt = DTYPES[dtype as string];
    if (dt === undefined) {
      fail(
        UNSUPPORTED.has(dtype as string)
          ? `${what}: dtype ${dtype} is not supported (readable: ${Object.keys(DTYPES).join(", ")})`
          : `${what}: unknown dtype ${JSON.stringify(dtype)} (readable: ${Object.keys(DTYPES).join(", ")})`,
      );
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`${what}: shape must be an array of non-negative integers, got ${brief(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`${what}: data_offsets must be [begin, end] with non-negative integers, got ${brief(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLen) {
      fail(
        `${what}: data_offsets [${begin}, ${end}] (bytes ${dataStart + begin} to ${dataStart + end} of the file) ` +
          `lie outside the data section, which holds ${dataLen} bytes from byte ${dataStart}`,
      );
    }
    // Element count; stops once it exceeds what the byte range holds (no overflow, no allocation).
    const span = end - begin;
    let count = 1;
    let tooBig = false;
    for (const d of shape as number[]) {
      count *= d;
      if (count * dt.size > span) tooBig = true;
    }
    if ((shape as number[]).includes(0)) [count, tooBig] = [0, false];
    if (tooBig || count * dt.size !== span) {
      fail(
        `${what}: shape ${shapeStr(shape as number[])} of ${dtype} needs ` +
          `${tooBig && count * dt.size > 2 ** 53 ? `more than ${span}` : count * dt.size} bytes, ` +
          `but data_offsets [${begin}, ${end}] (from byte ${dataStart + begin}) span ${span}`,
      );
    }
    entries.push({ key, dtype: dtype as string, shape: shape as number[], begin, end });
  }

  // The tensors must tile the data section: no overlap, no gap, nothing after the last one.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of sorted) {
    if (e.begin < pos) {
      const other = sorted.find((o) => o !== e && o.begin < e.end && e.begin < o.end) ?? e;
      fail(
        `tensor "${e.key}": data_offsets [${e.begin}, ${e.end}] overlap those of tensor "${other.key}" [${other.begin}, ${other.end}] (byte ${dataStart + e.begin})`,
      );
    }
    if (e.begin > pos) fail(`${e.begin - pos} unused bytes in the data section before tensor "${e.key}" (bytes ${dataStart + pos} to ${dataStart + e.begin})`);
    pos = e.end;
  }
  if (pos !== dataLen) fail(`${dataLen - pos} bytes after the last tensor, at byte ${dataStart + pos} (the data section must end with the last tensor)`);

  const byKey = new Map(entries.map((e) => [e.key, e]));
  const index: Record<string, { dtype: string; shape: number[] }> = {};
  for (const e of entries) setOwn(index, e.key, { dtype: e.dtype, shape: [...e.shape] });
  const read = (key: string, out?: Float32Array): Float32Array => {
    const e = byKey.get(key);
    if (e === undefined) throw new ValueError(`${name}: no tensor ${brief(key)}`);
    const at = buf.byteOffset + dataStart + e.begin;
    const dt = DTYPES[e.dtype];
    const n = (e.end - e.begin) / dt.size;
    if (out !== undefined && out.length !== n) throw new ValueError(`${name}: tensor "${key}" has ${n} elements, the output holds ${out.length}`);
    if (e.dtype === "F32" && LITTLE_ENDIAN) {
      if (out === undefined) return new Float32Array(buf.buffer.slice(at, at + (e.end - e.begin)));
      if (at % 4 === 0) out.set(new Float32Array(buf.buffer, at, n));
      else out.set(new Float32Array(buf.buffer.slice(at, at + (e.end - e.begin))));
      return out;
    }
    const data = out ?? new Float32Array(n);
    const v = new DataView(buf.buffer, at, e.end - e.begin);
    for (let i = 0; i < n; i++) data[i] = dt.get(v, i * dt.size);
    return data;
  };
  return { entries: index, metadata, read };
}

/**
 * Serialises tensors (a state dict: Tensors or {shape, data}) as safetensors bytes: float32 as
 * F32, int32 tensors (and Int32Array data) as I32. Metadata values must be strings.
 */
export function encodeSafetensors(tensors: Record<string, StateValue>, metadata?: Record<string, string>): Uint8Array {
  checkArgCount("encodeSafetensors", arguments, 2);
  if (tensors === null || typeof tensors !== "object" || Array.isArray(tensors) || tensors instanceof Tensor) {
    throw new ValueError(`saveSafetensors: expected an object of name → tensor (model.stateDict()), got ${describe(tensors)}`);
  }
  if (metadata !== undefined && (metadata === null || typeof metadata !== "object")) {
    throw new ValueError(`saveSafetensors: metadata must be an object of strings, got ${describe(metadata)}`);
  }
  for (const [key, value] of Object.entries(tensors)) {
    const v = value as { shape?: unknown; data?: { length?: unknown } } | null;
    if (!(value instanceof Tensor) && (v === null || typeof v !== "object" || !Array.isArray(v.shape) || typeof v.data?.length !== "number")) {
      throw new ValueError(`saveSafetensors: tensor "${key}" must be a Tensor or {shape, data}, got ${describe(value)}`);
    }
  }
  const header: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new ValueError(`saveSafetensors: metadata["${k}"] must be a string, got ${typeof v}`);
    }
    const own: Record<string, string> = {};
    for (const [k, v] of Object.entries(metadata)) setOwn(own, k, v);
    setOwn(header, "__metadata__", own);
  }
  const parts: { data: ArrayLike<number>; int: boolean; begin: number }[] = [];
  let offset = 0;
  for (const [key, value] of Object.entries(tensors)) {
    if (key === "__metadata__" || key.length === 0) throw new ValueError(`saveSafetensors: "${key}" cannot be a tensor name`);
    const shape = [...value.shape];
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new ValueError(`saveSafetensors: tensor "${key}" has an invalid shape ${shapeStr(shape)}`);
    const data = value.data;
    const count = shape.reduce((a, b) => a * b, 1);
    if (data.length !== count) {
      throw new ValueError(`saveSafetensors: tensor "${key}" has ${data.length} values for shape ${shapeStr(shape)} (${count} elements)`);
    }
    const int = value instanceof Tensor ? value.dtype === "int32" : data instanceof Int32Array;
    setOwn(header, key, { dtype: int ? "I32" : "F32", shape, data_offsets: [offset, offset + 4 * count] });
    parts.push({ data, int, begin: offset });
    offset += 4 * count;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  const dataStart = 8 + json.length; // a multiple of 8, so the section is 4-byte aligned
  for (const { data, int, begin } of parts) {
    // Copies right away: a tensor's `data` view is only valid until the backend allocates.
    if (LITTLE_ENDIAN) {
      const dst = int ? new Int32Array(out.buffer, dataStart + begin, data.length) : new Float32Array(out.buffer, dataStart + begin, data.length);
      dst.set(data);
    } else {
      for (let i = 0; i < data.length; i++) {
        if (int) view.setInt32(dataStart + begin + 4 * i, data[i], true);
        else view.setFloat32(dataStart + begin + 4 * i, data[i], true);
      }
    }
  }
  return out;
}

/** Options of saveSafetensors: string metadata for the header. */
export interface SaveSafetensorsOptions {
  /** String → string pairs stored as the header's `__metadata__` (PyTorch writes {format: "pt"}). */
  metadata?: Record<string, string>;
}

/**
 * Saves a state dict (or any name → tensor record) in the safetensors format, as
 * safetensors.torch.save_file does. With a path (Node, Deno, Bun) the file is written atomically;
 * the bytes are returned either way (browsers: keep them, download them, put them in IndexedDB).
 *
 *   io.saveSafetensors(model.stateDict(), "model.safetensors");
 *   const bytes = io.saveSafetensors(model.stateDict());
 */
export function saveSafetensors(tensors: Record<string, StateValue>, path?: string, options: SaveSafetensorsOptions = {}): Uint8Array {
  checkArgCount("saveSafetensors", arguments, 3);
  checkOptions("saveSafetensors", options, ["metadata"]);
  if (path !== undefined && typeof path !== "string")
    throw new ValueError(`saveSafetensors: path must be a string (or omitted for the bytes only), got ${describe(path)}`);
  const bytes = encodeSafetensors(tensors, options.metadata);
  if (path !== undefined) writeBytesAtomic(path, bytes, "saveSafetensors(path)");
  return bytes;
}

/** A safetensors file's tensors and metadata, from a path (Node, Deno, Bun) or from bytes. */
export function readSafetensors(source: string | Uint8Array | ArrayBuffer): SafetensorsContents {
  checkArgCount("readSafetensors", arguments, 1);
  if (typeof source === "string") return decodeSafetensors(readBytes(source, "loadSafetensors(path)"), source);
  return decodeSafetensors(source);
}

/**
 * Loads the tensors of a safetensors file (a path, or its bytes) as float32 {shape, data, dtype}
 * records keyed by name, ready for `model.loadStateDict(...)`, as safetensors.torch.load_file.
 *
 *   model.loadStateDict(io.loadSafetensors("model.safetensors"));
 *   model.loadStateDict(io.loadSafetensors(new Uint8Array(await (await fetch(url)).arrayBuffer())));
 */
export function loadSafetensors(source: string | Uint8Array | ArrayBuffer): Record<string, LoadedTensor> {
  checkArgCount("loadSafetensors", arguments, 1);
  return readSafetensors(source).tensors;
}
