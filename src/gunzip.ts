// Gzipped data files whose own header declares their size (IDX), decompressed no further than
// that size, and never beyond a caller's limit: the header is read from the first bytes of
// output, checked, the whole size allocated once, then the rest decompressed into it; one byte
// more than declared is an error. Synchronously with the decoder in inflate.ts (every runtime),
// or asynchronously with the web-standard DecompressionStream, counting its chunks as they come
// and cancelling at the bound.
import { FormatError, ValueError, WasmgradError } from "./errors.js";
import { Inflater } from "./inflate.js";
import { describe } from "./check.js";

/**
 * The default for maxBytes: the most a gzipped file from an unknown source may decompress to
 * (256 MiB; the MNIST training images are 47 MB).
 */
export const DEFAULT_MAX_BYTES = 256 * 2 ** 20;

/** DEFLATE cannot expand data by more than about 1032 times. */
const MAX_INFLATE_RATIO = 1032;
/** Output read before the declared size is asked for: enough for any IDX header (4 + 4·255). */
const PROBE = 1024;
/** The longest typed array in V8 (Node, Deno, Chrome); a declared size beyond it cannot load. */
const MAX_ARRAY_BYTES = 2 ** 32;

/**
 * The size the decompressed data announces in its own header, given a prefix of it (null: the
 * prefix is too short to tell). May throw a FormatError for a prefix that is already wrong.
 */
export type DeclaredSize = (prefix: Uint8Array) => number | null;

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** A maxBytes option: a positive integer (or Infinity), default DEFAULT_MAX_BYTES. */
export function checkMaxBytes(owner: string, v: unknown): number {
  if (v === undefined) return DEFAULT_MAX_BYTES;
  if (typeof v !== "number" || !(v === Infinity || (Number.isSafeInteger(v) && v > 0))) {
    throw new ValueError(`${owner}: maxBytes must be a positive integer (bytes), got ${describe(v)}`);
  }
  return v;
}

function mib(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;
}

/** The declared size, checked against what the compressed bytes can hold, maxBytes, and arrays. */
function checkDeclared(name: string, declared: number, compressed: number, maxBytes: number): number {
  const most = MAX_INFLATE_RATIO * compressed + 1024;
  if (declared > most) {
    throw new FormatError(
      `${name}: its header declares ${declared} bytes, but ${compressed} bytes of gzip data cannot hold more than ${most} (truncated or corrupt file)`,
    );
  }
  if (declared > maxBytes) {
    throw new ValueError(
      `${name}: its header declares ${declared} bytes (${mib(declared)}) of data, more than maxBytes, the ${maxBytes} bytes (${mib(maxBytes)}) gzip data may ` +
        `decompress to; if you trust the file, raise the limit: { maxBytes: ${declared} } (data.parseIdxFile, datasets.MNIST) or --max-bytes ${declared} (wasmgrad predict)`,
    );
  }
  if (declared > MAX_ARRAY_BYTES) {
    throw new ValueError(
      `${name}: its header declares ${declared} bytes (${mib(declared)}) of data; one array holds at most ${MAX_ARRAY_BYTES} bytes (4 GiB), so the file cannot be loaded whole`,
    );
  }
  return declared;
}

function allocate(name: string, size: number): Uint8Array {
  try {
    return new Uint8Array(size);
  } catch (e) {
    throw new ValueError(`${name}: cannot allocate the ${size} bytes (${mib(size)}) its header declares (${(e as Error).message})`);
  }
}

function tooBig(name: string, declared: number): FormatError {
  return new FormatError(`${name}: the gzip data decompresses to more than the ${declared} bytes its header declares`);
}

/** Data that ended within the probe: all of it, unless it is longer than it declares. */
function short(prefix: Uint8Array, name: string, declaredSize: DeclaredSize): Uint8Array {
  const declared = declaredSize(prefix);
  if (declared !== null && prefix.length > declared) throw tooBig(name, declared);
  return prefix;
}

function noSize(name: string): FormatError {
  return new FormatError(`${name}: no size declared in the first ${PROBE} bytes of the decompressed data`);
}

/**
 * Decompresses gzip bytes (other bytes pass through), synchronously, to no more than the size
 * `declaredSize` reads from the start of the data, which must be at most `maxBytes`.
 */
export function gunzipSync(bytes: Uint8Array, name: string, declaredSize: DeclaredSize, maxBytes = DEFAULT_MAX_BYTES): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  const inf = new Inflater(bytes, "gzip", name);
  const head = new Uint8Array(PROBE);
  const n = inf.read(head);
  if (n < PROBE) return short(head.subarray(0, n), name, declaredSize);
  const declared = declaredSize(head);
  if (declared === null) throw noSize(name);
  const size = checkDeclared(name, declared, bytes.length, maxBytes);
  if (size < PROBE) throw tooBig(name, declared);
  const out = allocate(name, size);
  out.set(head);
  const total = PROBE + inf.read(out, PROBE);
  if (total === size && !inf.atEnd()) throw tooBig(name, declared);
  return total === size ? out : out.subarray(0, total);
}

/**
 * gunzipSync's result through the web-standard DecompressionStream (native, and off the main
 * thread's critical path in browsers); the decoder of gunzipSync where there is none.
 */
export async function gunzip(bytes: Uint8Array, name: string, declaredSize: DeclaredSize, maxBytes = DEFAULT_MAX_BYTES): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  if (typeof DecompressionStream === "undefined") return gunzipSync(bytes, name, declaredSize, maxBytes);
  const head = new Uint8Array(PROBE);
  let have = 0;
  let out: Uint8Array | null = null;
  let declared = 0;
  let total = 0;
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  try {
    reader = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream("gzip")).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let chunk = value;
      if (out === null) {
        const take = Math.min(chunk.length, PROBE - have);
        head.set(chunk.subarray(0, take), have);
        have += take;
        if (have < PROBE) continue;
        const d = declaredSize(head);
        if (d === null) throw noSize(name);
        declared = checkDeclared(name, d, bytes.length, maxBytes);
        if (declared < PROBE) throw tooBig(name, declared);
        out = allocate(name, declared);
        out.set(head);
        total = PROBE;
        chunk = chunk.subarray(take);
      }
      if (chunk.length > declared - total) throw tooBig(name, declared);
      out.set(chunk, total);
      total += chunk.length;
    }
  } catch (e) {
    void reader?.cancel().catch(() => undefined);
    if (e instanceof WasmgradError) throw e;
    throw new FormatError(`${name}: corrupt gzip data (${(e as Error).message})`);
  }
  if (out === null) return short(head.subarray(0, have), name, declaredSize);
  return total === declared ? out : out.subarray(0, total);
}
