// File access for Node-like runtimes without importing node: modules statically, so the package
// stays loadable in browsers and workers (which pass bytes or URLs instead of paths).
import { FormatError, ValueError } from "../errors.js";

// The few parts of node:fs, node:zlib, node:module and node:path used here, typed locally so
// the published .d.ts files do not depend on @types/node.
export interface NodeFs {
  existsSync(path: string): boolean;
  readFileSync(path: string): Uint8Array;
}
interface NodeZlib {
  gunzipSync(data: Uint8Array): Uint8Array;
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
  if (m === null) throw new ValueError(`${what} needs a file system (Node, Deno or Bun); in a browser or worker pass the bytes or URLs instead`);
  return m;
}

export function fs(): NodeFs {
  return requireBuiltin<NodeFs>("node:fs", "reading files");
}

export function path(): NodePath {
  return requireBuiltin<NodePath>("node:path", "resolving paths");
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Decompresses gzip bytes synchronously (Node zlib); other bytes pass through. */
export function gunzipSync(bytes: Uint8Array, name: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  const zlib = builtin<NodeZlib>("node:zlib");
  if (zlib === null) throw new ValueError(`${name}: gzip data needs node:zlib here; use the async URL/bytes loader instead`);
  try {
    return new Uint8Array(zlib.gunzipSync(bytes));
  } catch (e) {
    throw new FormatError(`${name}: corrupt gzip data (${(e as Error).message})`);
  }
}

/** Decompresses gzip bytes with the web-standard DecompressionStream; other bytes pass through. */
export async function gunzip(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  if (typeof DecompressionStream === "undefined") return gunzipSync(bytes, name);
  try {
    const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new FormatError(`${name}: corrupt gzip data (${(e as Error).message})`);
  }
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
