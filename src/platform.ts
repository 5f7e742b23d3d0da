// Everything that depends on the runtime: Node built-ins reached through
// process.getBuiltinModule (never a static `node:` import, so the package stays loadable in
// browsers and workers, which pass bytes or URLs instead of paths), file reads and atomic
// writes. The rest of the library asks here. (Gzip is decompressed in gunzip.ts, the same way
// in every runtime.)
import { ValueError } from "./errors.js";

// The few parts of node:fs, node:module and node:path used here, typed locally so
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
