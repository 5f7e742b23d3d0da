// Test fixtures for the command line: MNIST slices as IDX files, and PNG/PGM images of MNIST
// test digits written by an encoder independent of src/cli/image.ts (its own row filters, and
// node:zlib's crc32 for the chunk checksums).
import { deflateSync, crc32, gzipSync } from "node:zlib";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mnistDataDir } from "../examples/browser/server.js";
import { idxBytes as idx } from "./helpers/idx.js";

/** An MNIST file's bytes, read once per test file. */
const rawCache = new Map<string, Uint8Array>();
function raw(name: string): Uint8Array {
  let bytes = rawCache.get(name);
  if (bytes === undefined) rawCache.set(name, (bytes = readFileSync(join(mnistDataDir(), name))));
  return bytes;
}

/** The MNIST test images (N×784 bytes after the header) and labels. */
export function mnistTest(): { images: Uint8Array; labels: Uint8Array } {
  return { images: raw("t10k-images-idx3-ubyte").subarray(16), labels: raw("t10k-labels-idx1-ubyte").subarray(8) };
}

/** A directory with the first `train` training and `test` test images (the test files gzipped). */
export function writeMnistSlice(dir: string, train: number, test: number): void {
  mkdirSync(dir, { recursive: true });
  const ti = raw("train-images-idx3-ubyte").subarray(16, 16 + train * 784);
  const tl = raw("train-labels-idx1-ubyte").subarray(8, 8 + train);
  const vi = raw("t10k-images-idx3-ubyte").subarray(16, 16 + test * 784);
  const vl = raw("t10k-labels-idx1-ubyte").subarray(8, 8 + test);
  writeFileSync(join(dir, "train-images-idx3-ubyte"), idx([train, 28, 28], ti));
  writeFileSync(join(dir, "train-labels-idx1-ubyte"), idx([train], tl));
  writeFileSync(join(dir, "t10k-images-idx3-ubyte.gz"), gzipSync(idx([test, 28, 28], vi)));
  writeFileSync(join(dir, "t10k-labels-idx1-ubyte.gz"), gzipSync(idx([test], vl)));
}

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
  return Buffer.concat([head, body, crc]);
}

const paeth = (a: number, b: number, c: number) => {
  const p = a + b - c;
  const pa = Math.abs(p - a),
    pb = Math.abs(p - b),
    pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
};

/**
 * A PNG of `samples` (rows of width·channels bytes). Row y uses filter (y + filterShift) mod 5,
 * so every filter type appears. colorType: 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA.
 */
export function pngFixture(
  samples: Uint8Array,
  width: number,
  height: number,
  colorType: 0 | 2 | 3 | 4 | 6,
  extra: { palette?: Uint8Array; trns?: Uint8Array; interlace?: boolean; depth?: number } = {},
): Buffer {
  const ch = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType];
  const stride = width * ch;
  const filtered = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const f = y % 5;
    filtered[y * (stride + 1)] = f;
    for (let x = 0; x < stride; x++) {
      const cur = samples[y * stride + x];
      const a = x >= ch ? samples[y * stride + x - ch] : 0;
      const b = y > 0 ? samples[(y - 1) * stride + x] : 0;
      const c = x >= ch && y > 0 ? samples[(y - 1) * stride + x - ch] : 0;
      const pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][f];
      filtered[y * (stride + 1) + 1 + x] = (cur - pred) & 0xff;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([extra.depth ?? 8, colorType, 0, 0, extra.interlace ? 1 : 0], 8);
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr)];
  if (extra.palette) parts.push(chunk("PLTE", extra.palette));
  if (extra.trns) parts.push(chunk("tRNS", extra.trns));
  const z = deflateSync(filtered);
  // Split the data over two IDAT chunks, as encoders may.
  parts.push(chunk("IDAT", z.subarray(0, z.length >> 1)), chunk("IDAT", z.subarray(z.length >> 1)), chunk("IEND", new Uint8Array(0)));
  return Buffer.concat(parts);
}

/** MNIST digit `pixels` (784 bytes) scaled up k× by pixel repetition, as dark ink on white RGB. */
export function upscaledInvertedRgb(pixels: Uint8Array, k: number): { samples: Uint8Array; size: number } {
  const size = 28 * k;
  const samples = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const v = 255 - pixels[Math.floor(y / k) * 28 + Math.floor(x / k)];
      samples.set([v, Math.min(255, v + 10), v], (y * size + x) * 3);
    }
  }
  return { samples, size };
}

export function pgmP5(pixels: Uint8Array, width: number, height: number): Buffer {
  return Buffer.concat([Buffer.from(`P5\n# an MNIST digit\n${width} ${height}\n255\n`, "latin1"), Buffer.from(pixels)]);
}

export function pgmP2(pixels: Uint8Array, width: number, height: number, maxval = 255): Buffer {
  const rows: string[] = [];
  for (let y = 0; y < height; y++) rows.push(Array.from(pixels.subarray(y * width, (y + 1) * width), (v) => Math.round((v * maxval) / 255)).join(" "));
  return Buffer.from(`P2\n# comment line\n${width} ${height}\n${maxval}\n${rows.join("\n")}\n`, "latin1");
}
