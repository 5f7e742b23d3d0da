// Reading and atomically writing whole files in Node-like runtimes (Node, Deno, Bun), reached
// through process.getBuiltinModule so the package stays loadable in browsers and workers, which
// pass and receive bytes instead of paths.
//
// An atomic write goes to `<path>.tmp`, is fsync'ed, then renamed over `<path>` (and the
// directory is fsync'ed so the rename itself is durable). A crash or kill -9 at any moment leaves
// either the previous file or the new one at `path`, never a torn mix; at worst a stale
// `<path>.tmp` stays behind and is overwritten by the next write.
import { ValueError } from "../errors.js";
import { builtin } from "../data/files.js";

// The few parts of node:fs and node:path used here, typed locally so the published .d.ts files
// do not depend on @types/node.
interface Fs {
  readFileSync(path: string): Uint8Array;
  openSync(path: string, flags: string): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
}
interface Path {
  dirname(path: string): string;
}

function nodeFs(what: string): Fs {
  const fs = builtin<Fs>("node:fs");
  if (fs === null) {
    throw new ValueError(`${what} needs a file system (Node, Deno or Bun); in a browser or worker pass or take the bytes instead of a path`);
  }
  return fs;
}

/** The whole file at `path`. */
export function readBytes(path: string, what: string): Uint8Array {
  const bytes = nodeFs(what).readFileSync(path);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Writes `bytes` to `path` atomically: temp file, fsync, rename, fsync of the directory. */
export function writeBytesAtomic(path: string, bytes: Uint8Array, what: string): void {
  const fs = nodeFs(what);
  const tmp = `${path}.tmp`;
  let fd = fs.openSync(tmp, "w");
  try {
    for (let off = 0; off < bytes.length;) off += fs.writeSync(fd, bytes, off, bytes.length - off);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    try {
      fs.unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, path);
  const dir = builtin<Path>("node:path")?.dirname(path);
  if (dir === undefined) return;
  try {
    // Makes the rename durable on POSIX file systems; directories cannot be opened on Windows.
    fd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // best effort
  }
}
