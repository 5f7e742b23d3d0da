// Everything that depends on the runtime: Node built-ins reached through
// process.getBuiltinModule (never a static `node:` import, so the package stays loadable in
// browsers and workers, which pass bytes or URLs instead of paths), file reads and atomic
// writes. The rest of the library asks here. (Gzip is decompressed in gunzip.ts, the same way
// in every runtime.)
import { FileError, ValueError, WasmgradError } from "./errors.js";

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
  readdirSync(path: string): string[];
}
interface NodeModule {
  createRequire(base: string): { resolve(id: string): string };
}
export interface NodePath {
  join(...parts: string[]): string;
  dirname(path: string): string;
  basename(path: string): string;
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
// An atomic write goes to `<path>.<pid>-<unique>.tmp`, is fsync'ed, then renamed over `<path>`
// (and the directory is fsync'ed so the rename itself is durable). A crash or kill -9 at any
// moment leaves either the previous file or the new one at `path`, never a torn mix; a temp file
// a killed process left behind is removed by the next write of that path (its pid is gone), and
// two processes writing one path never share a temp file.

/** The whole file at `path`. */
export function readBytes(path: string, what: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fs(what).readFileSync(path);
  } catch (e) {
    throw fileError(what, "read", path, e);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const REASONS: Record<string, string> = {
  ENOENT: "no such file or directory",
  EISDIR: "it is a directory",
  ENOTDIR: "a part of the path is not a directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  EEXIST: "it already exists",
};

/** A node:fs error as a FileError naming the operation and the path (the system code kept). */
export function fileError(what: string, op: "read" | "write", path: string, e: unknown): Error {
  if (e instanceof WasmgradError) return e;
  const code = (e as { code?: string }).code;
  const reason = code !== undefined ? `${REASONS[code] ?? (e as Error).message} (${code})` : (e as Error).message;
  return new FileError(`${what}: cannot ${op} ${path}: ${reason}`, code);
}

/** Removes temp files of `path` left by processes that no longer run (killed mid-write). */
function removeStaleTemps(files: NodeFs, path: string): void {
  const p = builtin<NodePath>("node:path");
  const proc = (globalThis as { process?: { kill?: (pid: number, signal: number) => void } }).process;
  if (p === null || proc?.kill === undefined) return;
  const dir = p.dirname(path),
    base = p.basename(path);
  let names: string[];
  try {
    names = files.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = name.startsWith(`${base}.`) ? /^(\d+)-[0-9a-z]+-[0-9a-z]+\.tmp$/.exec(name.slice(base.length + 1)) : null;
    if (m === null) continue;
    try {
      proc.kill(Number(m[1]), 0); // throws ESRCH when no such process runs
    } catch (e) {
      if ((e as { code?: string }).code !== "ESRCH") continue;
      try {
        files.unlinkSync(p.join(dir, name));
      } catch {
        // removed by someone else
      }
    }
  }
}

/** A temp-file name beside `path` that no other process or call uses at the same time. */
function tempName(path: string): string {
  const pid = (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;
  return `${path}.${pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}.tmp`;
}

/**
 * Writes `bytes` to `path` atomically: a temp file of its own (two writers of one path never
 * share it), fsync, rename, fsync of the directory. Any failure removes the temp file and throws
 * a FileError naming `path`; the previous file at `path`, if any, is left as it was.
 */
export function writeBytesAtomic(path: string, bytes: Uint8Array, what: string): void {
  const files = fs(what);
  const tmp = tempName(path);
  let fd: number;
  try {
    fd = files.openSync(tmp, "w");
  } catch (e) {
    throw fileError(what, "write", path, e);
  }
  try {
    try {
      for (let off = 0; off < bytes.length; ) off += files.writeSync(fd, bytes, off, bytes.length - off);
      files.fsyncSync(fd);
    } finally {
      files.closeSync(fd);
    }
    files.renameSync(tmp, path);
  } catch (e) {
    try {
      files.unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw fileError(what, "write", path, e);
  }
  removeStaleTemps(files, path);
  const dir = builtin<NodePath>("node:path")?.dirname(path);
  if (dir === undefined) return;
  try {
    // Makes the rename durable on POSIX file systems; directories cannot be opened on Windows.
    const dfd = files.openSync(dir, "r");
    try {
      files.fsyncSync(dfd);
    } finally {
      files.closeSync(dfd);
    }
  } catch {
    // best effort
  }
}
