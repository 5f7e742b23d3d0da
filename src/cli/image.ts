// Minimal image codecs for the command line.
//   decodePng: 8-bit, non-interlaced grayscale, gray+alpha, RGB, RGBA and palette images, all five
//              row filters → luminance 0–255 (alpha composited over the background). Chunk CRCs
//              are checked, and the image data is inflated (src/inflate.ts) to exactly the size
//              the IHDR implies: more is an error, found after one byte more.
//   decodePgm: netpbm P2 (ASCII) and P5 (binary), maxval up to 65535
//   encodePng: 8-bit grayscale (node:zlib), for the report's digit thumbnails and test fixtures
import { deflateSync } from "node:zlib";
import { FormatError } from "../errors.js";
import { Inflater, crc32 } from "../inflate.js";
import type { GrayImage } from "./preprocess.js";

export class ImageFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImageFormatError";
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

export function isPgm(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x50 /* P */ && (bytes[1] === 0x32 || bytes[1] === 0x35);
}

/** A PNG or PGM file's bytes → grayscale image; `name` goes into error messages. */
export function decodeImage(bytes: Uint8Array, name: string): GrayImage {
  if (isPng(bytes)) return decodePng(bytes, name);
  if (isPgm(bytes)) return decodePgm(bytes, name);
  throw new ImageFormatError(`${name}: not a PNG or PGM (P2/P5) image`);
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const COLOR_NAMES: Record<number, string> = { 0: "grayscale", 2: "RGB", 3: "palette", 4: "gray+alpha", 6: "RGBA" };

export function decodePng(bytes: Uint8Array, name: string): GrayImage {
  if (!isPng(bytes)) throw new ImageFormatError(`${name}: not a PNG file (bad signature)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0,
    height = 0,
    colorType = -1;
  let palette: Uint8Array | null = null;
  let alphaTable: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (pos + 8 <= bytes.length) {
    const length = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const start = pos + 8;
    if (start + length + 4 > bytes.length) throw new ImageFormatError(`${name}: PNG chunk ${type} at byte ${pos} runs past the end of the file`);
    const body = bytes.subarray(start, start + length);
    const stored = view.getUint32(start + length);
    const computed = crc32(bytes, 0, pos + 4, start + length);
    if (stored !== computed)
      throw new ImageFormatError(`${name}: PNG chunk ${type} at byte ${pos} is corrupt: its CRC is 0x${hex8(stored)}, its contents give 0x${hex8(computed)}`);
    if (type === "IHDR") {
      if (length < 13) throw new ImageFormatError(`${name}: PNG IHDR chunk too short`);
      width = view.getUint32(start);
      height = view.getUint32(start + 4);
      const depth = body[8];
      colorType = body[9];
      const interlace = body[12];
      if (!(colorType in CHANNELS)) throw new ImageFormatError(`${name}: unknown PNG color type ${colorType}`);
      if (depth !== 8) throw new ImageFormatError(`${name}: ${depth}-bit PNG is not supported (8-bit ${COLOR_NAMES[colorType]} only)`);
      if (interlace !== 0) throw new ImageFormatError(`${name}: interlaced PNG is not supported (save it without interlacing)`);
      if (width === 0 || height === 0 || width * height > 1 << 26) throw new ImageFormatError(`${name}: PNG size ${width}×${height} is not supported`);
    } else if (type === "PLTE") {
      palette = body.slice();
    } else if (type === "tRNS") {
      alphaTable = body.slice();
    } else if (type === "IDAT") {
      idat.push(body);
    } else if (type === "IEND") {
      ended = true;
      break;
    }
    pos = start + length + 4; // skip the CRC
  }
  if (colorType < 0) throw new ImageFormatError(`${name}: PNG has no IHDR chunk`);
  if (idat.length === 0) throw new ImageFormatError(`${name}: PNG has no image data (IDAT)`);
  if (!ended) throw new ImageFormatError(`${name}: PNG is truncated (no IEND chunk)`);
  if (colorType === 3 && palette === null) throw new ImageFormatError(`${name}: palette PNG without a PLTE chunk`);

  const channels = CHANNELS[colorType];
  const px = unfilter(inflateImageData(Buffer.concat(idat), width, height, colorType, name), width, height, channels, name);

  // Samples → luminance (BT.601) and alpha; then composite over the background: white unless the
  // visible pixels are mostly light (light ink on a transparent background).
  const lum = new Float32Array(width * height);
  const alpha = new Float32Array(width * height).fill(1);
  for (let i = 0; i < width * height; i++) {
    const o = i * channels;
    switch (colorType) {
      case 0:
        lum[i] = px[o];
        break;
      case 4:
        lum[i] = px[o];
        alpha[i] = px[o + 1] / 255;
        break;
      case 2:
        lum[i] = 0.299 * px[o] + 0.587 * px[o + 1] + 0.114 * px[o + 2];
        break;
      case 6:
        lum[i] = 0.299 * px[o] + 0.587 * px[o + 1] + 0.114 * px[o + 2];
        alpha[i] = px[o + 3] / 255;
        break;
      case 3: {
        const k = px[o];
        if (3 * k + 2 >= palette!.length) throw new ImageFormatError(`${name}: PNG palette index ${k} out of range`);
        lum[i] = 0.299 * palette![3 * k] + 0.587 * palette![3 * k + 1] + 0.114 * palette![3 * k + 2];
        if (alphaTable !== null && k < alphaTable.length) alpha[i] = alphaTable[k] / 255;
        break;
      }
    }
  }
  let weight = 0,
    weighted = 0,
    transparent = 0;
  for (let i = 0; i < lum.length; i++) {
    weight += alpha[i];
    weighted += alpha[i] * lum[i];
    if (alpha[i] < 0.5) transparent++;
  }
  const background = transparent > 0 && weight > 0 && weighted / weight > 127.5 ? 0 : 255;
  const data = new Float32Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = alpha[i] * lum[i] + (1 - alpha[i]) * background;
  return { width, height, data };
}

/** DEFLATE cannot expand data by more than about 1032 times. */
const MAX_INFLATE_RATIO = 1032;

/** The zlib stream of the IDAT chunks → exactly the rows × (1 + stride) bytes the IHDR implies. */
function inflateImageData(zdata: Uint8Array, width: number, height: number, colorType: number, name: string): Uint8Array {
  const stride = width * CHANNELS[colorType];
  const need = height * (stride + 1);
  const image = `${width}×${height} ${COLOR_NAMES[colorType]} image`;
  if (need > MAX_INFLATE_RATIO * zdata.length + 1024) {
    throw new ImageFormatError(`${name}: PNG image data of ${zdata.length} bytes cannot hold the ${need} bytes a ${image} needs (truncated or corrupt file)`);
  }
  const raw = new Uint8Array(need);
  try {
    const inf = new Inflater(zdata, "zlib", `${name}: PNG image data`);
    const n = inf.read(raw);
    if (n < need) throw new ImageFormatError(`${name}: PNG image data is ${n} bytes, ${width}×${height} ${COLOR_NAMES[colorType]} needs ${need}`);
    if (!inf.atEnd()) {
      throw new ImageFormatError(
        `${name}: PNG image data decompresses to more than the ${need} bytes a ${image} needs (${height} row${height === 1 ? "" : "s"} of 1 + ${stride} bytes)`,
      );
    }
  } catch (e) {
    if (e instanceof FormatError) throw new ImageFormatError(e.message);
    throw e;
  }
  return raw;
}

function hex8(v: number): string {
  return v.toString(16).padStart(8, "0");
}

/** Reverses the per-row PNG filters (None, Sub, Up, Average, Paeth). */
function unfilter(raw: Uint8Array, width: number, height: number, bpp: number, name: string): Uint8Array {
  const stride = width * bpp;
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const prev = row - stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[row + x - bpp] : 0;
      const b = y > 0 ? out[prev + x] : 0;
      const c = x >= bpp && y > 0 ? out[prev + x - bpp] : 0;
      let pred: number;
      switch (filter) {
        case 0:
          pred = 0;
          break;
        case 1:
          pred = a;
          break;
        case 2:
          pred = b;
          break;
        case 3:
          pred = (a + b) >> 1;
          break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a),
            pb = Math.abs(p - b),
            pc = Math.abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw new ImageFormatError(`${name}: unknown PNG row filter ${filter} in row ${y}`);
      }
      out[row + x] = (raw[src + x] + pred) & 0xff;
    }
  }
  return out;
}

export function decodePgm(bytes: Uint8Array, name: string): GrayImage {
  if (!isPgm(bytes)) throw new ImageFormatError(`${name}: not a PGM file (expected P2 or P5)`);
  const binary = bytes[1] === 0x35;
  let pos = 2;
  // Header tokens (whitespace separated, '#' comments to end of line): decimal numbers, read digit
  // by digit and rejected beyond 9 digits, so a long one costs nothing.
  const token = (what = "header number"): number => {
    for (;;) {
      while (pos < bytes.length && /\s/.test(String.fromCharCode(bytes[pos]))) pos++;
      if (bytes[pos] === 0x23) {
        while (pos < bytes.length && bytes[pos] !== 0x0a && bytes[pos] !== 0x0d) pos++;
        continue;
      }
      break;
    }
    const start = pos;
    let v = 0;
    for (; pos < bytes.length && bytes[pos] >= 0x30 && bytes[pos] <= 0x39; pos++) {
      v = 10 * v + bytes[pos] - 0x30;
      if (v > 999_999_999) throw new ImageFormatError(`${name}: PGM ${what} at byte ${start} is too large (more than 9 digits)`);
    }
    if (pos === start) throw new ImageFormatError(`${name}: malformed PGM header or data at byte ${start}`);
    return v;
  };
  const width = token();
  const height = token();
  const maxval = token();
  if (width === 0 || height === 0 || width * height > 1 << 26) throw new ImageFormatError(`${name}: PGM size ${width}×${height} is not supported`);
  if (maxval < 1 || maxval > 65535) throw new ImageFormatError(`${name}: PGM maxval ${maxval} out of range 1–65535`);
  const n = width * height;
  const data = new Float32Array(n);
  const scale = 255 / maxval;
  if (binary) {
    pos++; // the single whitespace after maxval
    const wide = maxval > 255;
    const need = n * (wide ? 2 : 1);
    if (bytes.length - pos < need) throw new ImageFormatError(`${name}: PGM data is truncated: ${bytes.length - pos} bytes, ${width}×${height} needs ${need}`);
    for (let i = 0; i < n; i++) data[i] = (wide ? (bytes[pos + 2 * i] << 8) | bytes[pos + 2 * i + 1] : bytes[pos + i]) * scale;
  } else {
    for (let i = 0; i < n; i++) {
      const v = token("sample");
      if (v > maxval) throw new ImageFormatError(`${name}: PGM sample ${v} exceeds maxval ${maxval}`);
      data[i] = v * scale;
    }
  }
  return { width, height, data };
}

// ---- encoding ----------------------------------------------------------------------------------

/** Wraps a chunk body with its length, type and CRC. */
export function pngChunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out, 0, 4, 8 + body.length));
  return out;
}

/** Assembles a PNG from an IHDR's fields and already filtered, uncompressed scanlines. */
export function assemblePng(width: number, height: number, colorType: number, filtered: Uint8Array, extraChunks: Uint8Array[] = []): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, colorType, 0, 0, 0], 8);
  const parts = [
    Uint8Array.from(PNG_SIGNATURE),
    pngChunk("IHDR", ihdr),
    ...extraChunks,
    pngChunk("IDAT", new Uint8Array(deflateSync(filtered))),
    pngChunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** 8-bit grayscale PNG (filter None on every row). */
export function encodePng(gray: Uint8Array, width: number, height: number): Uint8Array {
  const filtered = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) filtered.set(gray.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  return assemblePng(width, height, 0, filtered);
}

/** Binary PGM (P5). */
export function encodePgm(gray: Uint8Array, width: number, height: number): Uint8Array {
  const header = new TextEncoder().encode(`P5\n${width} ${height}\n255\n`);
  const out = new Uint8Array(header.length + gray.length);
  out.set(header);
  out.set(gray, header.length);
  return out;
}
