// Everything that depends on the runtime: Node built-ins reached through
// process.getBuiltinModule (never a static `node:` import, so the package stays loadable in
// browsers and workers, which pass bytes or URLs instead of paths), file reads and atomic
// writes, and gzip decompression. The rest of the library asks here.
import { FormatError, ValueError } from "./errors.js";

// The few parts of node:fs, node:zlib, node:module and node:path used here, typed locally so
// the published .d.ts files do not depend on @types/node.
export interface NodeFs {
  existsSync(path: string): boolean;
  readFileSync(path: string): Uint8Array;
  openSync(path: string, flags: string): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
}
interface NodeZlib {
  gunzipSync(data: Uint8Array, options?: { finishFlush?: number; maxOutputLength?: number }): Uint8Array;
}
interface NodeModule {
  createRequire(base: string): { resolve(id: string): string };
}
export interface NodePath {
  join(...parts: string[]): string;
  dirname(path: string): string;
}

interface BuiltinLoader {
  getBuiltinModule?: (id: string) => unknown;
}

/** A Node built-in module (Node ≥ 20.16, Deno, Bun), or null where there is none. */
export function builtin<T>(id: string): T | null {
  const proc = (globalThis as { process?: BuiltinLoader }).process;
  return (proc?.getBuiltinModule?.(id) as T | undefined) ?? null;
}

function requireBuiltin<T>(id: string, what: string): T {
  const m = builtin<T>(id);
  if (m === null)
    throw new ValueError(`${what} needs a file system (Node, Deno or Bun); in a browser or worker pass or take the bytes (or URLs) instead of a path`);
  return m;
}

/** node:fs, or a ValueError saying that `what` needs a file system. */
export function fs(what = "reading files"): NodeFs {
  return requireBuiltin<NodeFs>("node:fs", what);
}

/** node:path, or a ValueError. */
export function path(): NodePath {
  return requireBuiltin<NodePath>("node:path", "resolving paths");
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** DEFLATE cannot expand data by more than about 1032 times. */
const MAX_INFLATE_RATIO = 1032;
/** zlib's Z_SYNC_FLUSH: decompress what a truncated stream holds without failing. */
const Z_SYNC_FLUSH = 2;

/**
 * The size the decompressed data announces in its own header, given a prefix of it (null: the
 * prefix is too short to tell). May throw a FormatError for a prefix that is already wrong.
 */
export type DeclaredSize = (prefix: Uint8Array) => number | null;

/** The declared size, checked against what the compressed bytes can hold at most. */
function checkDeclared(name: string, declared: number, compressed: number): number {
  const most = MAX_INFLATE_RATIO * compressed + 1024;
  if (declared > most) {
    throw new FormatError(
      `${name}: its header declares ${declared} bytes, but ${compressed} bytes of gzip data cannot hold more than ${most} (truncated or corrupt file)`,
    );
  }
  return Math.max(1, declared);
}

function tooBig(name: string, limit: number): FormatError {
  return new FormatError(`${name}: the gzip data decompresses to more than the ${limit} bytes its header declares`);
}

/**
 * Decompresses gzip bytes synchronously (Node zlib); other bytes pass through. With
 * `declaredSize`, the header of the data is read from a decompressed prefix first and
 * decompression stops at the size it declares: a corrupt or hostile file cannot make it
 * allocate more than its own header announces (nor more than the input can inflate to).
 */
export function gunzipSync(bytes: Uint8Array, name: string, declaredSize?: DeclaredSize): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  const zlib = builtin<NodeZlib>("node:zlib");
  if (zlib === null) throw new ValueError(`${name}: gzip data needs node:zlib here; use the async URL/bytes loader instead`);
  const corrupt = (e: unknown) => new FormatError(`${name}: corrupt gzip data (${(e as Error).message})`);
  let limit: number | undefined;
  if (declaredSize !== undefined) {
    // Growing prefixes (each inflates to at most ~1032× its size) until the header is complete.
    for (let k = 64; ; k *= 4) {
      const part = bytes.subarray(0, Math.min(k, bytes.length));
      let prefix: Uint8Array;
      try {
        prefix = new Uint8Array(zlib.gunzipSync(part, { finishFlush: Z_SYNC_FLUSH }));
      } catch (e) {
        throw corrupt(e);
      }
      const declared = declaredSize(prefix);
      if (declared !== null) {
        limit = checkDeclared(name, declared, bytes.length);
        break;
      }
      if (part.length === bytes.length) break;
    }
  }
  try {
    // A view of zlib's buffer, not a copy (the training set's images are 47 MB).
    const out = zlib.gunzipSync(bytes, limit === undefined ? undefined : { maxOutputLength: limit });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE" && limit !== undefined) throw tooBig(name, limit);
    throw corrupt(e);
  }
}

/**
 * Decompresses gzip bytes with the web-standard DecompressionStream; other bytes pass through.
 * `declaredSize` bounds the output as in gunzipSync.
 */
export async function gunzip(bytes: Uint8Array, name: string, declaredSize?: DeclaredSize): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  if (typeof DecompressionStream === "undefined") return gunzipSync(bytes, name, declaredSize);
  const chunks: Uint8Array[] = [];
  let total = 0;
  let limit = Infinity;
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  try {
    reader = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream("gzip")).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.length;
      if (declaredSize !== undefined && limit === Infinity) {
        const declared = declaredSize(concat(chunks, total));
        if (declared !== null) limit = checkDeclared(name, declared, bytes.length);
      }
      if (total > limit) throw tooBig(name, limit);
    }
  } catch (e) {
    void reader?.cancel().catch(() => undefined);
    if (e instanceof FormatError) throw e;
    throw new FormatError(`${name}: corrupt gzip data (${(e as Error).message})`);
  }
  return concat(chunks, total);
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Directory of an installed npm package, resolved from here or from the working directory. */
export function packageDir(pkg: string): string | null {
  const mod = builtin<NodeModule>("node:module");
  const proc = (globalThis as { process?: { cwd?: () => string } }).process;
  if (mod === null) return null;
  const bases = [import.meta.url, proc?.cwd ? `${proc.cwd()}/` : null].filter((b): b is string => !!b);
  for (const base of bases) {
    try {
      const pj = mod.createRequire(base).resolve(`${pkg}/package.json`);
      return path().dirname(pj);
    } catch {
      // not resolvable from this base
    }
  }
  return null;
}

// ---- whole files, written atomically --------------------------------------------------------
//
// An atomic write goes to `<path>.tmp`, is fsync'ed, then renamed over `<path>` (and the
// directory is fsync'ed so the rename itself is durable). A crash or kill -9 at any moment leaves
// either the previous file or the new one at `path`, never a torn mix; at worst a stale
// `<path>.tmp` stays behind and is overwritten by the next write.

/** The whole file at `path`. */
export function readBytes(path: string, what: string): Uint8Array {
  const bytes = fs(what).readFileSync(path);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Writes `bytes` to `path` atomically: temp file, fsync, rename, fsync of the directory. */
export function writeBytesAtomic(path: string, bytes: Uint8Array, what: string): void {
  const files = fs(what);
  const tmp = `${path}.tmp`;
  let fd = files.openSync(tmp, "w");
  try {
    for (let off = 0; off < bytes.length; ) off += files.writeSync(fd, bytes, off, bytes.length - off);
    files.fsyncSync(fd);
  } catch (e) {
    files.closeSync(fd);
    try {
      files.unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw e;
  }
  files.closeSync(fd);
  files.renameSync(tmp, path);
  const dir = builtin<NodePath>("node:path")?.dirname(path);
  if (dir === undefined) return;
  try {
    // Makes the rename durable on POSIX file systems; directories cannot be opened on Windows.
    fd = files.openSync(dir, "r");
    try {
      files.fsyncSync(fd);
    } finally {
      files.closeSync(fd);
    }
  } catch {
    // best effort
  }
}
