// Decompression and parse bombs, built without ever holding what they expand to: gzip and zlib
// streams of a prefix then any number of zero bytes (a zlib-compressed run of zeros repeated, each
// copy starting with a literal), PNGs and IDX files around them, and a PGM header number of any
// length. Used small by test/bombs.test.ts and full size by test/long/bombs.ts.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { constants, crc32, deflateRawSync, gzipSync } from "node:zlib";
import type { BombOutcome, BombTask } from "./bomb-child.js";
import { idxBytes } from "./idx.js";

const ZERO_UNIT = 1 << 20;
let zeroUnit: Uint8Array | null = null;

/** Raw DEFLATE blocks, not final and ending on a byte boundary, that inflate to 1 MiB of zeros. */
function zeroBlocks(): Uint8Array {
  zeroUnit ??= new Uint8Array(deflateRawSync(new Uint8Array(ZERO_UNIT), { level: 9, finishFlush: constants.Z_SYNC_FLUSH }));
  return zeroUnit;
}

/** A stored block (not final) holding `body` (at most 65,535 bytes), from a byte boundary. */
function storedBlock(body: Uint8Array): Uint8Array {
  const n = body.length;
  return Uint8Array.of(0, n & 255, n >> 8, ~n & 255, (~n >> 8) & 255, ...body);
}

/** The final block: fixed codes, only the end-of-block code. */
const FINAL_EMPTY_BLOCK = Uint8Array.of(0x03, 0x00);

export interface BombStream {
  /** Raw DEFLATE data. */
  deflate: Uint8Array;
  /** What it inflates to, in bytes, and that output's CRC-32 and Adler-32. */
  size: number;
  crc: number;
  adler: number;
}

/**
 * DEFLATE data that inflates to `prefix` then `zeros` zero bytes, after `emptyBlocks` empty
 * stored blocks (5 bytes each, no output).
 */
export function zerosStream(prefix: Uint8Array, zeros: number, emptyBlocks = 0): BombStream {
  const unit = zeroBlocks();
  const copies = Math.floor(zeros / ZERO_UNIT);
  const rest = zeros % ZERO_UNIT;
  const tail = rest === 0 ? new Uint8Array(0) : new Uint8Array(deflateRawSync(new Uint8Array(rest), { level: 9, finishFlush: constants.Z_SYNC_FLUSH }));
  const empties = emptyBlocks * 5;
  const out = new Uint8Array(empties + prefix.length + 5 + copies * unit.length + tail.length + FINAL_EMPTY_BLOCK.length);
  for (let i = 0; i < emptyBlocks; i++) out.set([0, 0, 0, 0xff, 0xff], 5 * i);
  let at = empties;
  out.set(storedBlock(prefix), at);
  at += prefix.length + 5;
  for (let i = 0; i < copies; i++, at += unit.length) out.set(unit, at);
  out.set(tail, at);
  out.set(FINAL_EMPTY_BLOCK, at + tail.length);
  let crc = crc32(prefix);
  const zeroMiB = new Uint8Array(ZERO_UNIT);
  for (let i = 0; i < copies; i++) crc = crc32(zeroMiB, crc);
  crc = crc32(zeroMiB.subarray(0, rest), crc);
  // Adler-32 of the prefix then n zeros: the byte sum stays, the running sum grows by it n times.
  let a = 1;
  let b = 0;
  for (const v of prefix) {
    a = (a + v) % 65521;
    b = (b + a) % 65521;
  }
  b = (b + (zeros % 65521) * a) % 65521;
  return { deflate: out, size: prefix.length + zeros, crc: crc >>> 0, adler: ((b << 16) | a) >>> 0 };
}

export function gzipWrap(s: BombStream): Uint8Array {
  const out = new Uint8Array(10 + s.deflate.length + 8);
  out.set([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  out.set(s.deflate, 10);
  const v = new DataView(out.buffer);
  v.setUint32(out.length - 8, s.crc, true);
  v.setUint32(out.length - 4, s.size % 2 ** 32, true);
  return out;
}

export function zlibWrap(s: BombStream): Uint8Array {
  const out = new Uint8Array(2 + s.deflate.length + 4);
  out.set([0x78, 0xda]);
  out.set(s.deflate, 2);
  new DataView(out.buffer).setUint32(out.length - 4, s.adler, false);
  return out;
}

function pngChunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  v.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)) >>> 0);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A 1×1 8-bit grayscale PNG whose image data inflates to `zeros` bytes (it needs 2). */
export function pngBomb(zeros: number): Uint8Array {
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, 1);
  new DataView(ihdr.buffer).setUint32(4, 1);
  ihdr.set([8, 0, 0, 0, 0], 8);
  const idat = zlibWrap(zerosStream(new Uint8Array(0), zeros));
  return concat([
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", idat),
    pngChunk("IEND", new Uint8Array(0)),
  ]);
}

/** 18 bytes of IDX: two 1×1 images (for the labels, LABELS_FOR_TWO). */
export const TINY_IDX = idxBytes([2, 1, 1], [0, 255]);
export const LABELS_FOR_TWO = idxBytes([2], [3, 7]);

/**
 * A gzipped IDX file whose header declares 18 bytes, behind `emptyBlocks` empty stored blocks and
 * followed by `zeros` more bytes (the probe of the old reader inflated a prefix of it unbounded).
 */
export function idxPrefixBomb(emptyBlocks: number, zeros: number): Uint8Array {
  return gzipWrap(zerosStream(TINY_IDX, zeros, emptyBlocks));
}

/** An honest gzipped IDX image file: n 28×28 images, all zeros. */
export function idxHonestImages(n: number): Uint8Array {
  return gzipWrap(zerosStream(idxBytes([n, 28, 28], []), n * 784));
}

/** Labels to go with it (all zeros). */
export function idxHonestLabels(n: number): Uint8Array {
  return gzipWrap(zerosStream(idxBytes([n], []), n));
}

/** A gzipped IDX header that declares `images` 28×28 images, then `bytes` of incompressible data. */
export function idxDeclaring(images: number, bytes: number): Uint8Array {
  const data = new Uint8Array(bytes);
  for (let i = 0, x = 1; i < bytes; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return new Uint8Array(gzipSync(concat([idxBytes([images, 28, 28], []), data]), { level: 0 }));
}

/** A binary PGM whose width is a number of `digits` digits. */
export function pgmBomb(digits: number): Uint8Array {
  return concat([new TextEncoder().encode("P5\n"), new Uint8Array(digits).fill(0x39), new TextEncoder().encode(" 1\n255\n\x00")]);
}

// ---- running bombs in a child process, for its peak RSS ------------------------------------------

const REPO = join(import.meta.dirname, "..", "..");
const CHILD = join(import.meta.dirname, "bomb-child.ts");

/**
 * Runs the tasks in a fresh Node process (the source tree `root`, default this checkout) and
 * returns their outcomes and the process's peak RSS.
 */
export function runBombChild(tasks: BombTask[], root?: string): { outcomes: BombOutcome[]; peakRssMiB: number } {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", "--conditions=wasmgrad-source", CHILD, JSON.stringify(tasks), ...(root === undefined ? [] : [root])],
    { cwd: REPO, encoding: "utf8", maxBuffer: 1 << 24 },
  );
  const line = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !line.startsWith("{")) {
    return {
      outcomes: tasks.map(() => ({ ok: false, result: `child exited with ${r.status ?? r.signal}: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}` })),
      peakRssMiB: NaN,
    };
  }
  return JSON.parse(line);
}
