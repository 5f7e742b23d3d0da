// Turning any grayscale picture of a digit into an MNIST-like 28×28 image: light ink on a dark
// background (inverted when the background is light), the digit's bounding box scaled to fit
// 20×20 with area averaging, then placed so its centre of mass sits at the centre of the 28×28
// field — how the MNIST digits themselves were made. Pure functions (no node: imports): the CLI's
// `predict` and the browser playground's drawing canvas share them.

export interface GrayImage {
  width: number;
  height: number;
  /** Row-major luminance 0–255. */
  data: Float32Array | Uint8Array | Uint8ClampedArray;
}

export interface Preprocessed {
  /** 784 bytes, ink bright (as in MNIST). */
  pixels: Uint8Array;
  /** True if the input had a light background and was inverted. */
  inverted: boolean;
  /** True if no ink was found (the result is all zeros). */
  blank: boolean;
}

/** Mean of the outermost rows and columns: the background's brightness. */
export function borderMean(img: GrayImage): number {
  const { width: w, height: h, data } = img;
  let sum = 0;
  let n = 0;
  for (let x = 0; x < w; x++) {
    sum += data[x] + data[(h - 1) * w + x];
    n += 2;
  }
  for (let y = 1; y < h - 1; y++) {
    sum += data[y * w] + data[y * w + w - 1];
    n += 2;
  }
  return n === 0 ? 0 : sum / n;
}

/**
 * An MNIST-style 28×28 digit from a grayscale image of any size. A 28×28 input is taken as it is
 * (only inverted if its background is light), so MNIST images round-trip exactly.
 */
export function toMnist28(img: GrayImage): Preprocessed {
  const { width: w, height: h } = img;
  const inverted = borderMean(img) > 127.5;
  const ink = new Float32Array(w * h);
  for (let i = 0; i < ink.length; i++) ink[i] = inverted ? 255 - img.data[i] : img.data[i];

  if (w === 28 && h === 28) {
    const pixels = Uint8Array.from(ink, (v) => Math.max(0, Math.min(255, Math.round(v))));
    return { pixels, inverted, blank: pixels.every((v) => v === 0) };
  }

  // Ink = clearly above the background: the bounding box of pixels over 20% of the peak.
  let peak = 0;
  for (const v of ink) if (v > peak) peak = v;
  let x0 = w,
    y0 = h,
    x1 = -1,
    y1 = -1;
  const threshold = Math.max(0.2 * peak, 8);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (ink[y * w + x] > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return { pixels: new Uint8Array(784), inverted, blank: true };

  // Scale the box so its longer side is 20 pixels (area averaging keeps thin strokes visible).
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const scale = 20 / Math.max(bw, bh);
  const ow = Math.max(1, Math.min(20, Math.round(bw * scale)));
  const oh = Math.max(1, Math.min(20, Math.round(bh * scale)));
  const box = resizeArea(ink, w, x0, y0, bw, bh, ow, oh);
  // Stretch so the brightest ink is 255, as MNIST's anti-aliased strokes are.
  let boxPeak = 0;
  for (const v of box) if (v > boxPeak) boxPeak = v;
  if (boxPeak > 0) for (let i = 0; i < box.length; i++) box[i] = (box[i] * 255) / boxPeak;

  // Centre of mass to the middle of the 28×28 field.
  let mass = 0,
    cx = 0,
    cy = 0;
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const v = box[y * ow + x];
      mass += v;
      cx += v * x;
      cy += v * y;
    }
  }
  cx = mass > 0 ? cx / mass : (ow - 1) / 2;
  cy = mass > 0 ? cy / mass : (oh - 1) / 2;
  const dx = Math.max(0, Math.min(28 - ow, Math.round(13.5 - cx)));
  const dy = Math.max(0, Math.min(28 - oh, Math.round(13.5 - cy)));
  const pixels = new Uint8Array(784);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) pixels[(y + dy) * 28 + x + dx] = Math.max(0, Math.min(255, Math.round(box[y * ow + x])));
  }
  return { pixels, inverted, blank: false };
}

/**
 * Area-averaging resize of the (x0, y0, bw, bh) window of a w-wide image to ow × oh: each output
 * pixel is the mean of the source area it covers, with fractional edge pixels weighted.
 */
export function resizeArea(src: Float32Array, w: number, x0: number, y0: number, bw: number, bh: number, ow: number, oh: number): Float32Array {
  const weights = (n: number, on: number) => {
    // For each output cell, the source cells it covers and by how much.
    const cells: { i: number; w: number }[][] = [];
    const step = n / on;
    for (let o = 0; o < on; o++) {
      const a = o * step;
      const b = (o + 1) * step;
      const list: { i: number; w: number }[] = [];
      for (let i = Math.floor(a); i < Math.min(n, Math.ceil(b)); i++) {
        const cover = Math.min(b, i + 1) - Math.max(a, i);
        if (cover > 0) list.push({ i, w: cover / step });
      }
      cells.push(list);
    }
    return cells;
  };
  const wx = weights(bw, ow);
  const wy = weights(bh, oh);
  const rows = new Float32Array(bh * ow);
  for (let y = 0; y < bh; y++) {
    const base = (y0 + y) * w + x0;
    for (let o = 0; o < ow; o++) {
      let s = 0;
      for (const c of wx[o]) s += src[base + c.i] * c.w;
      rows[y * ow + o] = s;
    }
  }
  const out = new Float32Array(oh * ow);
  for (let o = 0; o < oh; o++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (const c of wy[o]) s += rows[c.i * ow + x] * c.w;
      out[o * ow + x] = s;
    }
  }
  return out;
}

/** MNIST normalisation used by the CLI and the playground: (x/255 − mean) / std. */
export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

/**
 * Raw pixels → normalised float32 inputs, rounded step by step exactly as the dataset transform
 * `Compose([ToTensor(), Normalize([mean], [std])])` does, so both paths give the same bits.
 */
export function normalizePixels(
  pixels: ArrayLike<number>,
  mean = MNIST_MEAN,
  std = MNIST_STD,
  out = new Float32Array(pixels.length),
  offset = 0,
): Float32Array {
  const m = Math.fround(mean);
  const sd = Math.fround(std);
  for (let i = 0; i < pixels.length; i++) out[offset + i] = Math.fround(Math.fround(pixels[i] / 255) - m) / sd;
  return out;
}
