// A seeded mutation fuzzer for the file parsers: IDX (datasets.MNIST from bytes, data.parseIdx),
// safetensors (io.decodeSafetensors / loadSafetensors + loadStateDict) and checkpoints
// (io.loadCheckpoint). Each case takes a valid file, applies 1–4 random mutations — truncation,
// bit flips, byte insertions and deletions, huge or odd lengths, dims and offsets written into
// the header, and for the JSON headers edits of the parsed JSON (re-encoded with a consistent
// length, so the parser gets past the framing) — and loads it. A case passes when the load
// either succeeds with a self-consistent result or throws a documented error class (a
// WasmgradError), and meanwhile:
//  - takes less than `maxCaseMs` (no hang),
//  - allocates (typed arrays, ArrayBuffers, Arrays, watched for the duration of the call) no
//    single block larger than a bound derived from the input's size — a parser must not size an
//    allocation from a length it has not checked against the bytes it has,
//  - (checkpoints) changes nothing when it fails: model, optimizer, scheduler, loader and
//    generator are as before; when it succeeds the model holds exactly the file's tensors.
// test/fuzz.test.ts runs a CI-sized number of cases; test/long/fuzz.ts (npm run fuzz) runs long.
import { gzipSync } from "node:zlib";
import {
  DataLoader,
  FormatError,
  Generator as Prng,
  ValueError,
  WasmgradError,
  data,
  datasets,
  io,
  manualSeed,
  nn,
  noGrad,
  optim,
  tensor,
  transforms,
} from "../../src/index.js";
import { idxBytes } from "./idx.js";

// ---- seeded randomness ------------------------------------------------------------------------

export class Rand {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  /** mulberry32 */
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  int(n: number): number {
    return n <= 1 ? 0 : this.u32() % n;
  }
  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}

// ---- allocation watch ---------------------------------------------------------------------------

const TYPED = [
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Int32Array",
  "Uint32Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
] as const;

export interface AllocWatch {
  /** Largest single allocation seen, in bytes, and what it was. */
  maxBytes: number;
  maxWhat: string;
}

/**
 * Runs fn with the global typed-array, ArrayBuffer and Array constructors (and
 * ArrayBuffer.prototype.slice, Array.from) wrapped to record allocation sizes; restores them after.
 */
export function watchAllocations<T>(fn: () => T): { value?: T; error?: unknown; watch: AllocWatch } {
  const g = globalThis as unknown as Record<string, unknown>;
  const watch: AllocWatch = { maxBytes: 0, maxWhat: "" };
  const note = (bytes: number, what: string) => {
    if (!(bytes >= 0)) bytes = Infinity;
    if (bytes > watch.maxBytes) {
      watch.maxBytes = bytes;
      watch.maxWhat = what;
    }
  };
  const saved: [string, unknown][] = [];
  const wrap = (name: string, bytesOf: (args: unknown[]) => number) => {
    const orig = g[name] as new (...a: unknown[]) => unknown;
    saved.push([name, orig]);
    const proxy: unknown = new Proxy(orig, {
      construct(target, args, newTarget) {
        note(bytesOf(args), `new ${name}(${args.map((a) => (typeof a === "number" ? a : typeof a)).join(", ")})`);
        return Reflect.construct(target, args, newTarget === proxy ? target : newTarget);
      },
      apply(target, thisArg, args) {
        if (name === "Array") note(bytesOf(args), `Array(${String(args[0])})`);
        return Reflect.apply(target as unknown as (...a: unknown[]) => unknown, thisArg, args);
      },
    });
    g[name] = proxy;
  };
  const lengthOf = (a: unknown): number => {
    if (typeof a === "number") return a;
    if (a instanceof ArrayBuffer) return NaN; // a view over an existing buffer: see below
    if (a !== null && typeof a === "object" && typeof (a as { length?: unknown }).length === "number") return (a as { length: number }).length;
    return 0;
  };
  for (const name of TYPED) {
    const bpe = (g[name] as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    wrap(name, (args) => {
      if (args[0] instanceof ArrayBuffer || (typeof SharedArrayBuffer === "function" && args[0] instanceof SharedArrayBuffer)) return 0; // a view
      return lengthOf(args[0]) * bpe;
    });
  }
  wrap("ArrayBuffer", (args) => Number(args[0] ?? 0));
  wrap("Array", (args) => (args.length === 1 && typeof args[0] === "number" ? args[0] * 8 : args.length * 8));
  const slice = ArrayBuffer.prototype.slice;
  ArrayBuffer.prototype.slice = function (this: ArrayBuffer, begin?: number, end?: number) {
    const r = slice.call(this, begin, end);
    note(r.byteLength, "ArrayBuffer.slice");
    return r;
  };
  const from = Array.from;
  Array.from = function (this: unknown, src: unknown, ...rest: unknown[]) {
    const len = (src as { length?: unknown })?.length;
    if (typeof len === "number") note(len * 8, `Array.from(length ${len})`);
    return (from as (...a: unknown[]) => unknown[]).call(Array, src, ...rest);
  } as typeof Array.from;
  try {
    return { value: fn(), watch };
  } catch (error) {
    return { error, watch };
  } finally {
    for (const [name, orig] of saved) g[name] = orig;
    ArrayBuffer.prototype.slice = slice;
    Array.from = from;
  }
}

// ---- byte-level mutations -----------------------------------------------------------------------

/** Values worth writing into length, dim and offset fields. */
function interesting32(r: Rand, near: number): number {
  return (
    r.pick([
      0,
      1,
      2,
      3,
      4,
      7,
      8,
      255,
      256,
      0xffff,
      0x10000,
      0x7fffffff,
      0x80000000,
      0xffffffff,
      0xfffffffe,
      2 ** 24,
      2 ** 28,
      near,
      near + 1,
      Math.max(0, near - 1),
      near * 2,
      r.u32(),
    ]) >>> 0
  );
}

export type Mutator = (b: Uint8Array, r: Rand, ctx: MutationContext) => Uint8Array;

export interface MutationContext {
  /** End of the header region (mutations favour it). */
  headerEnd: number;
}

function pos(b: Uint8Array, r: Rand, ctx: MutationContext): number {
  const inHeader = r.chance(0.7) && ctx.headerEnd > 0;
  return inHeader ? r.int(Math.min(ctx.headerEnd, b.length)) : r.int(b.length);
}

export const BYTE_MUTATORS: Record<string, Mutator> = {
  truncate: (b, r, ctx) => b.slice(0, r.chance(0.5) ? r.int(Math.min(b.length, ctx.headerEnd + 16)) : r.int(b.length)),
  flipBits: (b, r, ctx) => {
    const out = b.slice();
    const n = 1 + r.int(8);
    for (let i = 0; i < n && out.length > 0; i++) out[pos(out, r, ctx)] ^= 1 << r.int(8);
    return out;
  },
  setByte: (b, r, ctx) => {
    const out = b.slice();
    if (out.length > 0) out[pos(out, r, ctx)] = r.pick([0, 0xff, 0x7f, 0x80, 0x20, 0x22, 0x2c, 0x5b, 0x7b, 0x30, r.int(256)]);
    return out;
  },
  insert: (b, r, ctx) => {
    const at = pos(b, r, ctx);
    const n = 1 + r.int(16);
    const ins = Uint8Array.from({ length: n }, () => (r.chance(0.5) ? r.int(256) : r.pick([0, 0x20, 0x22, 0x2c, 0x7d, 0x5d, 0x31])));
    const out = new Uint8Array(b.length + n);
    out.set(b.subarray(0, at));
    out.set(ins, at);
    out.set(b.subarray(at), at + n);
    return out;
  },
  remove: (b, r, ctx) => {
    if (b.length === 0) return b;
    const at = pos(b, r, ctx);
    const n = 1 + r.int(Math.min(32, b.length - at));
    const out = new Uint8Array(b.length - n);
    out.set(b.subarray(0, at));
    out.set(b.subarray(at + n), at);
    return out;
  },
  duplicate: (b, r) => {
    if (b.length === 0) return b;
    const at = r.int(b.length),
      n = 1 + r.int(Math.min(64, b.length - at)),
      to = r.int(b.length);
    const chunk = b.slice(at, at + n);
    const out = new Uint8Array(b.length + n);
    out.set(b.subarray(0, to));
    out.set(chunk, to);
    out.set(b.subarray(to), to + n);
    return out;
  },
  append: (b, r) => {
    const n = 1 + r.int(64);
    const out = new Uint8Array(b.length + n);
    out.set(b);
    for (let i = b.length; i < out.length; i++) out[i] = r.int(256);
    return out;
  },
  word32: (b, r, ctx) => {
    const out = b.slice();
    if (out.length < 4) return out;
    const at = Math.min(pos(out, r, ctx) & ~3, out.length - 4);
    new DataView(out.buffer).setUint32(at, interesting32(r, new DataView(out.buffer).getUint32(at, r.chance(0.5))), r.chance(0.5));
    return out;
  },
};

// ---- IDX ------------------------------------------------------------------------------------------

export { idxBytes };

const IDX_MUTATORS: Record<string, Mutator> = {
  ...BYTE_MUTATORS,
  dim: (b, r) => {
    const out = b.slice();
    if (out.length < 8) return out;
    const nd = Math.max(1, Math.min(out[3], Math.floor((out.length - 4) / 4)));
    const at = 4 + 4 * r.int(nd);
    const v = new DataView(out.buffer);
    v.setUint32(at, interesting32(r, v.getUint32(at, false)), false);
    return out;
  },
  ndims: (b, r) => {
    const out = b.slice();
    if (out.length >= 4) out[3] = r.pick([0, 1, 2, 3, 4, 255, r.int(256)]);
    return out;
  },
  type: (b, r) => {
    const out = b.slice();
    if (out.length >= 4) out[2] = r.pick([0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, r.int(256)]);
    return out;
  },
};

// ---- safetensors / checkpoint headers ------------------------------------------------------------

function headerOf(b: Uint8Array): { json: unknown; end: number } | null {
  if (b.length < 8) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = v.getUint32(0, true);
  if (v.getUint32(4, true) !== 0 || 8 + n > b.length) return null;
  try {
    return { json: JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + n))), end: 8 + n };
  } catch {
    return null;
  }
}

function withHeader(b: Uint8Array, json: unknown, end: number, r: Rand): Uint8Array {
  let text = JSON.stringify(json) ?? "null";
  if (r.chance(0.5)) text += " ".repeat((8 - (text.length % 8)) % 8);
  const head = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + head.length + (b.length - end));
  new DataView(out.buffer).setUint32(0, head.length, true);
  out.set(head, 8);
  out.set(b.subarray(end), 8 + head.length);
  return out;
}

/** A value that breaks assumptions: huge, negative, fractional, wrong type, deep, long. */
function oddValue(r: Rand, near: unknown): unknown {
  const n = typeof near === "number" ? near : 1;
  switch (r.int(16)) {
    case 0:
      return r.pick([2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e308, Number.MAX_SAFE_INTEGER, 2 ** 32, 2 ** 31, 0xffffffff]);
    case 1:
      return r.pick([-1, -n, -(2 ** 31), -1e308]);
    case 2:
      return r.pick([n + 0.5, 0.1, 1e-300, n * 1.0000001]);
    case 3:
      return r.pick([n + 1, n - 1, n * 2, 0, 1, Math.floor(n / 2)]);
    case 4:
      return r.pick(["", "1", "NaN", "Infinity", "-Infinity", "__proto__", "F32", "F16", "BF16", "I64", "F8_E4M3", "U8", "x".repeat(1000)]);
    case 5:
      return r.pick([null, true, false]);
    case 6:
      return [];
    case 7:
      return {};
    case 8:
      return Array.from({ length: 1 + r.int(6) }, () => r.pick([0, 1, 7, 2 ** 31, 2 ** 32, -1, 1.5]));
    case 9:
      return Array.from({ length: 10000 }, () => 1);
    case 10:
      return [[n]];
    case 11: {
      let deep: unknown = n;
      for (let i = 0; i < 200; i++) deep = [deep];
      return deep;
    }
    case 12:
      return { __proto__: null, dtype: "F32", shape: [n], data_offsets: [0, 4 * n] };
    case 13:
      return r.pick([1, 2, 3, 4, 8, 16, 64, 784]);
    case 14:
      return [r.pick([0, n, 2 ** 40]), r.pick([0, n, 2 ** 40, 4 * n])];
    default:
      return r.u32();
  }
}

type Json = Record<string, unknown> | unknown[];

/** Every container and key in a JSON value: [parent, key] pairs. */
function slots(v: unknown, out: [Json, string | number][] = []): [Json, string | number][] {
  if (Array.isArray(v))
    v.forEach((x, i) => {
      out.push([v, i]);
      slots(x, out);
    });
  else if (v !== null && typeof v === "object") {
    for (const k of Object.keys(v)) {
      out.push([v as Json, k]);
      slots((v as Record<string, unknown>)[k], out);
    }
  }
  return out;
}

/** One structural edit of a parsed JSON value (in place when possible); returns the new root. */
function mutateJson(root: unknown, r: Rand): unknown {
  const all = slots(root);
  if (all.length === 0) return oddValue(r, 1);
  const [parent, key] = r.pick(all);
  const obj = parent as Record<string | number, unknown>;
  switch (r.int(6)) {
    case 0: // replace a value
    case 1:
      obj[key] = oddValue(r, obj[key]);
      break;
    case 2: // delete a key / element
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete obj[key];
      break;
    case 3: // rename a key
      if (!Array.isArray(parent)) {
        const v = obj[key];
        delete obj[key];
        obj[
          r.pick([
            "",
            "__metadata__",
            "__proto__",
            "constructor",
            `${String(key)}x`,
            String(key).slice(1),
            "model.0.weight",
            "optimizer.0.momentum_buffer",
            "optimizer.99.exp_avg",
          ])
        ] = v;
      } else obj[key] = oddValue(r, obj[key]);
      break;
    case 4: // duplicate an entry under another key
      if (!Array.isArray(parent)) obj[`${String(key)}_copy`] = structuredClone(obj[key]);
      else parent.push(structuredClone(obj[key]));
      break;
    default: {
      // swap two values
      const [p2, k2] = r.pick(all);
      const o2 = p2 as Record<string | number, unknown>;
      [obj[key], o2[k2]] = [o2[k2], obj[key]];
    }
  }
  return root;
}

function jsonMutator(inner: boolean): Mutator {
  return (b, r) => {
    const h = headerOf(b);
    if (h === null) return BYTE_MUTATORS.flipBits(b, r, { headerEnd: 64 });
    let json = h.json;
    const meta = (json as Record<string, Record<string, unknown>> | null)?.__metadata__;
    if (inner && meta && typeof meta.checkpoint === "string") {
      // Edit inside the checkpoint's own JSON (epoch, rng, optimizer groups, loader, ...).
      try {
        let c: unknown = JSON.parse(meta.checkpoint);
        for (let k = 0, n = 1 + r.int(3); k < n; k++) c = mutateJson(c, r);
        meta.checkpoint = r.chance(0.1) ? String(meta.checkpoint).slice(0, r.int(String(meta.checkpoint).length)) : (JSON.stringify(c) ?? "");
      } catch {
        json = mutateJson(json, r);
      }
    } else {
      json = mutateJson(json, r);
    }
    return withHeader(b, json, h.end, r);
  };
}

const SAFETENSORS_MUTATORS: Record<string, Mutator> = {
  ...BYTE_MUTATORS,
  headerLength: (b, r) => {
    const out = b.slice();
    if (out.length < 8) return out;
    const v = new DataView(out.buffer);
    const n = v.getUint32(0, true);
    const pick = r.pick([
      [0, 0],
      [1, 0],
      [n + 1, 0],
      [Math.max(0, n - 1), 0],
      [out.length, 0],
      [0xffffffff, 0],
      [0, 1],
      [0xffffffff, 0xffffffff],
      [0, 0x200000],
      [0, 0x1fffff],
      [n, 1],
      [r.u32(), 0],
      [100_000_001, 0],
    ]);
    v.setUint32(0, pick[0] >>> 0, true);
    v.setUint32(4, pick[1] >>> 0, true);
    return out;
  },
  json: jsonMutator(false),
  json2: jsonMutator(false),
};

const CHECKPOINT_MUTATORS: Record<string, Mutator> = {
  ...SAFETENSORS_MUTATORS,
  inner: jsonMutator(true),
  inner2: jsonMutator(true),
};

// ---- targets --------------------------------------------------------------------------------------

export interface FuzzTarget {
  name: string;
  /** Valid inputs the mutations start from. */
  seeds: { label: string; bytes: Uint8Array }[];
  mutators: Record<string, Mutator>;
  /** Where the header ends in an input (mutations favour the header). */
  headerEnd(b: Uint8Array): number;
  /** Loads the input; throws the parser's error (violated properties come from after()). */
  load(b: Uint8Array, r: Rand, seedIndex: number): void;
  /** Bytes a single allocation may take for an input of this size (the parser's own bound). */
  allocBound(b: Uint8Array): number;
  /** Called after every case (success or failure): returns a violated property or null. */
  after?(ok: boolean): string | null;
}

/** The seeds for IDX: small image/label pairs (MNIST needs both files). */
function idxPairs(): { images: Uint8Array; labels: Uint8Array }[] {
  const r = new Rand(7);
  const pair = (n: number, h: number, w: number) => ({
    images: idxBytes(
      [n, h, w],
      Uint8Array.from({ length: n * h * w }, () => r.int(256)),
    ),
    labels: idxBytes(
      [n],
      Uint8Array.from({ length: n }, () => r.int(10)),
    ),
  });
  return [pair(6, 5, 4), pair(3, 28, 28), pair(1, 1, 1), pair(0, 28, 28), pair(12, 3, 7)];
}

export function idxTarget(): FuzzTarget {
  const pairs = idxPairs();
  const seeds = pairs.flatMap((p, i) => [
    { label: `images#${i}`, bytes: p.images },
    { label: `labels#${i}`, bytes: p.labels },
    { label: `images#${i}.gz`, bytes: new Uint8Array(gzipSync(p.images)) },
    { label: `labels#${i}.gz`, bytes: new Uint8Array(gzipSync(p.labels)) },
  ]);
  const tf = new transforms.Compose([new transforms.ToTensor(), new transforms.Normalize([0.5], [0.5])]);
  return {
    name: "idx",
    seeds,
    mutators: IDX_MUTATORS,
    headerEnd: (b) => (b[0] === 0x1f ? 24 : 4 + 4 * Math.min(b[3] ?? 0, 4)),
    allocBound: (b) => 16 * (b[0] === 0x1f && b[1] === 0x8b ? 1032 * b.length + 1024 : b.length) + (1 << 16),
    load(b, r, seedIndex) {
      // The mutated file is one of a pair; the other one is its partner, unchanged (plain or gzip).
      const pair = pairs[seedIndex >> 2];
      const isLabels = (seedIndex & 1) === 1;
      const partner = (x: Uint8Array) => (r.chance(0.5) ? x : new Uint8Array(gzipSync(x)));
      const images = isLabels ? partner(pair.images) : b;
      const labels = isLabels ? b : partner(pair.labels);
      if (r.chance(0.15)) {
        const parsed = data.parseIdx(b, "fuzz.idx", r.chance(0.5) ? undefined : isLabels ? 1 : 3);
        const count = parsed.dims.reduce((x, y) => x * y, 1);
        if (parsed.data.length !== count) throw new Error(`parseIdx: ${parsed.data.length} bytes of data for dims [${parsed.dims}]`);
        return;
      }
      const ds = new datasets.MNIST({ images, labels, transform: r.chance(0.5) ? tf : undefined });
      // Loaded: it must be consistent, and batches must come out right.
      const n = ds.length;
      if (ds.targets.length !== n || ds.data.length !== n * ds.height * ds.width)
        throw new Error(`MNIST: inconsistent sizes (${n} labels, ${ds.data.length} pixels of ${ds.height}×${ds.width})`);
      for (const t of ds.targets) if (!(t >= 0 && t <= 9)) throw new Error(`MNIST: label ${t}`);
      if (n > 0) {
        noGrad(() => {
          const idx = Int32Array.from([0, n - 1, r.int(n)]);
          const [x, y] = ds.getBatch(idx);
          if (x.shape[0] !== 3 || y.shape[0] !== 3 || x.size !== 3 * ds.sampleShape.reduce((p, q) => p * q, 1))
            throw new Error(`MNIST: batch of shape ${x.shape}`);
          if (!Array.from(x.data).every(Number.isFinite)) throw new Error("MNIST: non-finite pixels");
        });
      }
    },
  };
}

function safetensorsSeeds(): { label: string; bytes: Uint8Array }[] {
  manualSeed(3);
  const model = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 2));
  const f32 = io.saveSafetensors(model.stateDict(), undefined, { metadata: { format: "pt" } });
  // Hand-built: every dtype family, a 0-d and an empty tensor, unpadded header.
  const build = (header: Record<string, unknown>, body: Uint8Array) => {
    const text = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + text.length + body.length);
    new DataView(out.buffer).setUint32(0, text.length, true);
    out.set(text, 8);
    out.set(body, 8 + text.length);
    return out;
  };
  const r = new Rand(11);
  const body = Uint8Array.from({ length: 8 * 3 + 2 * 4 + 2 * 2 + 4 + 8 * 2 + 3 }, () => r.int(256));
  let at = 0;
  const span = (n: number) => [at, (at += n)];
  const mixed = build(
    {
      __metadata__: { a: "b" },
      f64: { dtype: "F64", shape: [3], data_offsets: span(24) },
      f16: { dtype: "F16", shape: [2, 2], data_offsets: span(8) },
      bf16: { dtype: "BF16", shape: [2], data_offsets: span(4) },
      scalar: { dtype: "F32", shape: [], data_offsets: span(4) },
      empty: { dtype: "F32", shape: [0, 5], data_offsets: [at, at] },
      i64: { dtype: "I64", shape: [2], data_offsets: span(16) },
      u8: { dtype: "BOOL", shape: [3], data_offsets: span(3) },
    },
    body,
  );
  return [
    { label: "mlp-f32", bytes: f32 },
    { label: "mixed-dtypes", bytes: mixed },
    { label: "empty", bytes: build({}, new Uint8Array(0)) },
  ];
}

export function safetensorsTarget(): FuzzTarget {
  manualSeed(3);
  const model = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 2));
  return {
    name: "safetensors",
    seeds: safetensorsSeeds(),
    mutators: SAFETENSORS_MUTATORS,
    headerEnd: (b) => (b.length >= 8 ? Math.min(b.length, 8 + new DataView(b.buffer, b.byteOffset).getUint32(0, true)) : b.length),
    // Decoding converts every element to float32: at most 4 bytes per input byte (U8/BOOL).
    allocBound: (b) => 4 * b.length + (1 << 16),
    load(b, r) {
      const { tensors, metadata } = io.readSafetensors(b);
      for (const [k, t] of Object.entries(tensors)) {
        const n = t.shape.reduce((x, y) => x * y, 1);
        if (!(t.data instanceof Float32Array) || t.data.length !== n) throw new Error(`tensor ${k}: ${t.data.length} values for shape [${t.shape}]`);
      }
      for (const [k, v] of Object.entries(metadata)) if (typeof v !== "string") throw new Error(`metadata ${k} is ${typeof v}`);
      // What loads must go into a model of that shape (or fail with a documented error).
      if (r.chance(0.5)) model.loadStateDict(tensors, { strict: r.chance(0.5) });
    },
  };
}

/** A small training setup whose state a checkpoint captures. */
function checkpointSetup(kind: "sgd" | "adam") {
  manualSeed(5);
  const g = new Prng(17);
  const x = tensor(
    Array.from({ length: 32 * 4 }, () => g.normal()),
    { shape: [32, 4] },
  );
  const y = tensor(Int32Array.from({ length: 32 }, (_, i) => i % 3));
  const model = new nn.Sequential(new nn.Linear(4, 5), new nn.ReLU(), new nn.Linear(5, 3));
  const [first, ...rest] = model.parameters();
  const optimizer =
    kind === "sgd"
      ? new optim.SGD([{ params: [first] }, { params: rest, lr: 0.02 }], { lr: 0.05, momentum: 0.9 })
      : new optim.Adam(model.parameters(), { lr: 1e-2, amsgrad: true });
  const scheduler = new optim.lrScheduler.StepLR(optimizer, { stepSize: 3, gamma: 0.5 });
  const rng = new Prng(23);
  const loader = new DataLoader(new data.TensorDataset(x, y), { batchSize: 8, shuffle: true, generator: rng });
  const criterion = new nn.CrossEntropyLoss();
  let step = 0;
  for (const [bx, by] of loader) {
    optimizer.zeroGrad();
    criterion(model(bx), by).backward();
    optimizer.step();
    scheduler.step();
    if (++step === 2) break;
  }
  return { model, optimizer, scheduler, loader, rng };
}

type Setup = ReturnType<typeof checkpointSetup>;

/** Everything a checkpoint restores, as comparable plain data. */
function fingerprint(s: Setup): string {
  const bits = (d: Float32Array | Int32Array) => Array.from(new Uint32Array(d.slice().buffer)).join(",");
  const model = Object.entries(s.model.stateDict())
    .map(([k, t]) => `${k}:${t.shape}:${bits(t.data)}`)
    .join(";");
  const sd = s.optimizer.stateDict();
  const opt = JSON.stringify({
    groups: sd.paramGroups,
    state: Object.entries(sd.state).map(([k, st]) => [k, st.step, Object.entries(st.buffers).map(([b, t]) => `${b}:${bits(t.data)}`)]),
  });
  const rng = s.rng.getState();
  const words = (w: number[]) => w.map((x) => x >>> 0); // getState may give int32 or uint32 words
  const loader = s.loader.stateDict();
  if (loader.generator) loader.generator.words = words(loader.generator.words) as typeof loader.generator.words;
  return [model, opt, JSON.stringify(s.scheduler.stateDict()), JSON.stringify(loader), JSON.stringify({ ...rng, words: words(rng.words) })].join("|");
}

/** `halfLoad` (for testing the harness): every load changes a weight, then throws. */
export function checkpointTarget(options: { halfLoad?: boolean } = {}): FuzzTarget {
  const make = (kind: "sgd" | "adam") => {
    const s = checkpointSetup(kind);
    const bytes = io.saveCheckpoint(null, { ...s, epoch: 1, step: 2, extra: { note: "fuzz", best: 0.5 } });
    return { kind, s, bytes, print: fingerprint(s) };
  };
  const setups = (["sgd", "adam"] as const).map(make);
  let current = setups[0];
  let violation: string | null = null;
  return {
    name: "checkpoint",
    seeds: setups.map((x) => ({ label: x.kind, bytes: x.bytes })),
    mutators: CHECKPOINT_MUTATORS,
    headerEnd: (b) => (b.length >= 8 ? Math.min(b.length, 8 + new DataView(b.buffer, b.byteOffset).getUint32(0, true)) : b.length),
    allocBound: (b) => 4 * b.length + (1 << 16),
    load(b, r) {
      // Load into the setup of either kind (a checkpoint of the other kind must fail cleanly).
      current = setups[r.int(setups.length)];
      const s = current.s;
      violation = null;
      if (options.halfLoad) {
        s.model.parameters()[0].data[0] += 1;
        throw new ValueError("half a load");
      }
      const useOptimizer = r.chance(0.8),
        useScheduler = r.chance(0.7),
        useLoader = r.chance(0.7);
      const info = io.loadCheckpoint(b, {
        model: s.model,
        rng: s.rng,
        ...(useOptimizer ? { optimizer: s.optimizer } : {}),
        ...(useScheduler ? { scheduler: s.scheduler } : {}),
        ...(useLoader ? { loader: s.loader } : {}),
        strict: r.chance(0.8),
      });
      if (!Number.isSafeInteger(info.epoch) || !Number.isSafeInteger(info.step)) violation = `loaded epoch ${info.epoch}, step ${info.step}`;
      // A restored generator must still generate: four words not all 0 (xoshiro would emit 0
      // forever) and a cached normal that is null or a finite number.
      const st = s.rng.getState();
      if (st.words.every((w) => w >>> 0 === 0) || !(st.spareNormal === null || Number.isFinite(st.spareNormal))) {
        violation = `loaded a broken generator state ${JSON.stringify(st)}`;
      }
      // The model must hold exactly the file's model.* tensors (bit for bit, NaN payloads aside).
      const file = io.loadSafetensors(b);
      for (const [k, t] of Object.entries(s.model.stateDict())) {
        const f = file[`model.${k}`];
        if (f === undefined) continue; // non-strict: missing keys keep their values
        const a = t.data,
          c = f.data;
        for (let i = 0; i < a.length; i++) {
          if (Math.fround(c[i]) !== a[i] && !(Number.isNaN(c[i]) && Number.isNaN(a[i])) && t.dtype === "float32") {
            violation = `model ${k}[${i}] is ${a[i]}, the file says ${c[i]}`;
            break;
          }
        }
      }
    },
    after(ok) {
      const print = fingerprint(current.s);
      let v = violation;
      if (!ok && print !== current.print) v = "a failed loadCheckpoint changed the model, optimizer, scheduler, loader or generator";
      // Back to the starting state for the next case.
      if (print !== current.print) {
        io.loadCheckpoint(current.bytes, {
          model: current.s.model,
          optimizer: current.s.optimizer,
          scheduler: current.s.scheduler,
          loader: current.s.loader,
          rng: current.s.rng,
        });
        const again = fingerprint(current.s);
        if (again !== current.print) {
          const [x, y] = [again.split("|"), current.print.split("|")];
          const part = x.findIndex((p, i) => p !== y[i]);
          v ??= `loading the original checkpoint again does not restore the starting state (part ${part}: ${x[part]?.slice(0, 300)} vs ${y[part]?.slice(0, 300)})`;
          // Fresh objects, so the next cases do not inherit the damage.
          const i = setups.indexOf(current);
          setups[i] = make(current.kind);
        }
      }
      return v;
    },
  };
}

// ---- the runner ----------------------------------------------------------------------------------

export interface FuzzFailure {
  target: string;
  caseIndex: number;
  seedLabel: string;
  mutations: string[];
  problem: string;
  bytes: Uint8Array;
}

export interface FuzzReport {
  target: string;
  cases: number;
  loaded: number;
  /** Documented errors thrown, by class name. */
  errors: Record<string, number>;
  failures: FuzzFailure[];
  slowestMs: number;
  /** Largest single allocation of any case, and its ratio to that case's bound. */
  maxAllocBytes: number;
  maxAllocRatio: number;
  ms: number;
  /** Distinct error messages (first 60 characters after the file name), for a look at variety. */
  messages: Map<string, number>;
}

export interface FuzzOptions {
  cases: number;
  seed: number;
  maxCaseMs?: number;
  /** Stop early after this many milliseconds. */
  budgetMs?: number;
  /** Called every `progressEvery` cases. */
  onProgress?: (done: number) => void;
  progressEvery?: number;
}

/** Runs the cases synchronously. */
export function runFuzz(target: FuzzTarget, options: FuzzOptions): FuzzReport {
  const run = fuzzCases(target, options);
  for (;;) {
    const step = run.next();
    if (step.done) return step.value;
  }
}

/**
 * Runs the cases, letting the event loop turn every `yieldEvery` cases: Node frees the native
 * memory of a zlib call that failed only from the event loop, so a long synchronous loop over
 * corrupt gzip files would grow without bound (a property of the loop, not of the parser).
 */
export async function runFuzzAsync(target: FuzzTarget, options: FuzzOptions, yieldEvery = 500): Promise<FuzzReport> {
  const run = fuzzCases(target, options);
  for (let i = 1; ; i++) {
    const step = run.next();
    if (step.done) return step.value;
    if (i % yieldEvery === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

function* fuzzCases(target: FuzzTarget, options: FuzzOptions): Generator<void, FuzzReport> {
  const r = new Rand(options.seed);
  const maxCaseMs = options.maxCaseMs ?? 2000;
  const report: FuzzReport = {
    target: target.name,
    cases: 0,
    loaded: 0,
    errors: {},
    failures: [],
    slowestMs: 0,
    maxAllocBytes: 0,
    maxAllocRatio: 0,
    ms: 0,
    messages: new Map(),
  };
  const names = Object.keys(target.mutators);
  const t0 = performance.now();
  for (let i = 0; i < options.cases; i++) {
    if (options.budgetMs !== undefined && performance.now() - t0 > options.budgetMs) break;
    const seedIndex = r.int(target.seeds.length);
    const seed = target.seeds[seedIndex];
    let bytes = seed.bytes;
    const applied: string[] = [];
    for (let k = 0, n = 1 + r.int(r.chance(0.7) ? 2 : 4); k < n; k++) {
      const m = r.pick(names);
      bytes = target.mutators[m](bytes, r, { headerEnd: target.headerEnd(bytes) });
      applied.push(m);
    }
    const loadRand = new Rand(r.u32());
    const start = performance.now();
    const { error, watch } = watchAllocations(() => target.load(bytes, loadRand, seedIndex));
    const ms = performance.now() - start;
    report.cases++;
    report.slowestMs = Math.max(report.slowestMs, ms);
    const bound = target.allocBound(bytes);
    report.maxAllocBytes = Math.max(report.maxAllocBytes, watch.maxBytes);
    report.maxAllocRatio = Math.max(report.maxAllocRatio, watch.maxBytes / bound);
    const problems: string[] = [];
    if (error === undefined) report.loaded++;
    else if (error instanceof WasmgradError) {
      report.errors[error.name] = (report.errors[error.name] ?? 0) + 1;
      const key = `${error.name}: ${error.message.replace(/^[^:]*: /, "").slice(0, 60)}`;
      report.messages.set(key, (report.messages.get(key) ?? 0) + 1);
      if (
        error instanceof FormatError &&
        !/^(images|labels|MNIST: label\/image count mismatch: labels .* images|fuzz\.idx|safetensors data|checkpoint bytes)\b/.test(error.message)
      ) {
        problems.push(`a FormatError that does not name the file: ${error.message}`);
      }
    } else {
      problems.push(
        `undocumented error ${(error as Error)?.name ?? typeof error}: ${(error as Error)?.message ?? String(error)}\n${(error as Error)?.stack ?? ""}`,
      );
    }
    if (ms > maxCaseMs) problems.push(`took ${ms.toFixed(0)} ms (limit ${maxCaseMs})`);
    if (watch.maxBytes > bound) problems.push(`allocated ${watch.maxBytes} bytes at once (${watch.maxWhat}) for a ${bytes.length}-byte input (bound ${bound})`);
    const after = target.after?.(error === undefined) ?? null;
    if (after !== null) problems.push(after);
    for (const problem of problems) {
      report.failures.push({ target: target.name, caseIndex: i, seedLabel: seed.label, mutations: applied, problem, bytes });
    }
    if (options.onProgress && options.progressEvery && (i + 1) % options.progressEvery === 0) options.onProgress(i + 1);
    yield;
  }
  report.ms = performance.now() - t0;
  return report;
}

export function allTargets(): FuzzTarget[] {
  return [idxTarget(), safetensorsTarget(), checkpointTarget()];
}
