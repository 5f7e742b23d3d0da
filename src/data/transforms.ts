// torchvision-style transforms on images held in plain typed arrays (not yet tensors).
// Every deterministic transform also has a vectorised form over a whole batch [N, ...], which
// datasets apply once to all samples instead of calling the per-sample form in a JS loop.
import { ShapeError, ValueError } from "../errors.js";
import { Tensor, emptyTensor } from "../tensor.js";
import { getBackend } from "../backend/current.js";
import type { Scope } from "../lifetime.js";
import { type Generator, defaultGenerator } from "../random.js";
import { checkFiniteNumber, checkFunction, checkGenerator, checkOptions, describe, checkArgCount } from "../check.js";

/** x must be {data: Float32Array | Uint8Array, shape} with as many values as the shape holds. */
function checkNDArray(owner: string, x: NDArray): void {
  if (x === null || typeof x !== "object" || !(x.data instanceof Float32Array || x.data instanceof Uint8Array) || !Array.isArray(x.shape)) {
    throw new ValueError(`${owner}: expected an image {data: Float32Array or Uint8Array, shape}, got ${describe(x)}`);
  }
  let n = 1;
  for (const d of x.shape) {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0) throw new ShapeError(`${owner}: invalid shape [${x.shape.join(", ")}]`);
    n *= d;
  }
  if (n !== x.data.length) throw new ShapeError(`${owner}: shape [${x.shape.join(", ")}] holds ${n} values, the data has ${x.data.length}`);
}

/** An image (or batch of images) as a flat typed array plus its shape. */
export interface NDArray {
  data: Float32Array | Uint8Array;
  shape: number[];
}

/** A transform of one sample (or of a whole batch, where the transform can), as torchvision's. */
export interface Transform {
  /** Transforms one sample. */
  apply(x: NDArray): NDArray;
  /**
   * Transforms a batch [N, ...sample] at once; present only when equal to per-sample apply.
   * `owned`: x is an intermediate of a Compose, which the transform may overwrite.
   */
  applyBatch?(x: NDArray, owned?: boolean): NDArray;
  /** For pixel-wise transforms: the value a pixel of `channel` becomes (maps fill values). */
  pixel?(value: number, channel: number): number;
}

/** Chains transforms; batchable when every part is. */
export class Compose implements Transform {
  readonly applyBatch?: (x: NDArray) => NDArray;

  constructor(readonly transforms: Transform[]) {
    checkArgCount("Compose", arguments, 1);
    if (!Array.isArray(transforms)) throw new ValueError(`Compose: expected a list of transforms, got ${describe(transforms)}`);
    transforms.forEach((t, i) => {
      if (t === null || typeof t !== "object" || typeof t.apply !== "function")
        throw new ValueError(`Compose: element ${i} is not a transform (an object with apply()), got ${describe(t)}`);
    });
    if (transforms.every((t) => t.applyBatch)) {
      // Later steps get the earlier steps' results, which nobody else holds: no copy needed.
      this.applyBatch = (x, owned = false) => transforms.reduce((acc, t, i) => t.applyBatch!(acc, owned || i > 0), x);
    }
  }

  apply(x: NDArray): NDArray {
    return this.transforms.reduce((acc, t) => t.apply(acc), x);
  }
}

/**
 * uint8 [H, W] or [H, W, C] → float32 [C, H, W] in [0, 1] (x / 255), as transforms.ToTensor.
 * Float input is only reshaped to [C, H, W]. Batches: [N, H, W] or [N, H, W, C] → [N, C, H, W].
 */
export class ToTensor implements Transform {
  constructor() {
    checkArgCount("ToTensor", arguments, 0);
  }
  /** Pixel values are bytes here (fills of transforms before ToTensor are in 0–255). */
  pixel(value: number): number {
    return Math.fround(value / 255);
  }
  apply(x: NDArray): NDArray {
    return toCHW(x, 0);
  }
  applyBatch(x: NDArray): NDArray {
    return toCHW(x, 1);
  }
}

function toCHW(x: NDArray, lead: number): NDArray {
  checkNDArray("ToTensor", x);
  const s = x.shape;
  const nd = s.length - lead;
  if (nd !== 2 && nd !== 3) throw new ShapeError(`ToTensor: expected an image [H, W] or [H, W, C], got shape [${s.slice(lead).join(", ")}]`);
  const N = lead ? s[0] : 1;
  const [H, W] = [s[lead], s[lead + 1]];
  const C = nd === 3 ? s[lead + 2] : 1;
  const scale = x.data instanceof Uint8Array ? 1 / 255 : 1;
  const out = new Float32Array(N * C * H * W);
  const src = x.data;
  if (C === 1) {
    // x / 255 in float32, as torch does (fround of the division, not a multiply by 1/255).
    if (scale !== 1) for (let i = 0; i < out.length; i++) out[i] = src[i] / 255;
    else out.set(src);
  } else {
    const hw = H * W;
    for (let n = 0; n < N; n++) {
      for (let p = 0; p < hw; p++) {
        for (let c = 0; c < C; c++) {
          const v = src[(n * hw + p) * C + c];
          out[(n * C + c) * hw + p] = scale !== 1 ? v / 255 : v;
        }
      }
    }
  }
  return { data: out, shape: lead ? [N, C, H, W] : [C, H, W] };
}

/** (x - mean[c]) / std[c] per channel of [C, H, W] (or [N, C, H, W]), as transforms.Normalize. */
export class Normalize implements Transform {
  readonly mean: number[];
  readonly std: number[];

  constructor(mean: number[] | number, std: number[] | number) {
    checkArgCount("Normalize", arguments, 2);
    this.mean = Array.isArray(mean) ? [...mean] : [mean];
    this.std = Array.isArray(std) ? [...std] : [std];
    for (const [name, list] of [
      ["mean", this.mean],
      ["std", this.std],
    ] as const) {
      if (list.length === 0) throw new ValueError(`Normalize: ${name} must have at least one value`);
      list.forEach((v, i) => checkFiniteNumber("Normalize", `${name}[${i}]`, v));
    }
    if (this.mean.length !== this.std.length) {
      throw new ValueError(`Normalize: mean has ${this.mean.length} channels, std has ${this.std.length}`);
    }
    if (this.std.some((s) => s === 0)) throw new ValueError("Normalize: std evaluated to zero, leading to division by zero");
  }

  pixel(value: number, channel: number): number {
    const c = this.mean.length === 1 ? 0 : channel;
    return Math.fround(Math.fround(value - Math.fround(this.mean[c])) / Math.fround(this.std[c]));
  }
  apply(x: NDArray): NDArray {
    return this.normalize(x, 0);
  }
  applyBatch(x: NDArray, owned = false): NDArray {
    return this.normalize(x, 1, owned);
  }

  private normalize(x: NDArray, lead: number, inPlace = false): NDArray {
    checkNDArray("Normalize", x);
    if (!(x.data instanceof Float32Array)) throw new ValueError("Normalize: expects float32 input (apply ToTensor first)");
    const s = x.shape;
    if (s.length - lead !== 3) throw new ShapeError(`Normalize: expected [C, H, W], got [${s.slice(lead).join(", ")}]`);
    const C = s[lead];
    const channels = this.mean.length;
    if (channels !== 1 && channels !== C) {
      throw new ShapeError(`Normalize: ${channels} mean/std values for an image with ${C} channels`);
    }
    const hw = s[lead + 1] * s[lead + 2];
    const N = lead ? s[0] : 1;
    const src = x.data;
    const out = inPlace ? src : new Float32Array(src.length);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const m = Math.fround(this.mean[channels === 1 ? 0 : c]);
        const sd = Math.fround(this.std[channels === 1 ? 0 : c]);
        const base = (n * C + c) * hw;
        // (x - m) then / sd, each rounded to float32 as torch's sub_ and div_.
        for (let i = base; i < base + hw; i++) out[i] = Math.fround(src[i] - m) / sd;
      }
    }
    return { data: out, shape: [...s] };
  }
}

/** A user function as a transform; pass { batched: fn } to give it a vectorised form too. */
export class Lambda implements Transform {
  readonly applyBatch?: (x: NDArray) => NDArray;

  constructor(
    /** The function applied to each sample. */
    readonly fn: (x: NDArray) => NDArray,
    options: { batched?: (x: NDArray) => NDArray } = {},
  ) {
    checkArgCount("Lambda", arguments, 2);
    checkFunction("Lambda", "fn", fn);
    checkOptions("Lambda", options, ["batched"]);
    if (options.batched !== undefined) checkFunction("Lambda", "batched", options.batched);
    if (options.batched) this.applyBatch = options.batched;
  }

  apply(x: NDArray): NDArray {
    return this.fn(x);
  }
}

// ---- random geometric augmentation ------------------------------------------------------------
//
// RandomAffine and RandomCrop draw per-image parameters from the seeded generator and warp with
// one wasm kernel call per batch (nearest neighbour). Pixel-wise transforms (ToTensor,
// Normalize) commute with them once the fill value is mapped through, so a dataset applies the
// pixel-wise part to all images once and only the warp per batch (see planBatches).

/** A random geometric transform: per-image affine maps from output pixels to input pixels. */
export abstract class RandomGeometric implements Transform {
  readonly geometric = true;
  /** Value of the pixels a warp brings in from outside the image. */
  readonly fill: number;
  protected readonly generator?: Generator;

  constructor(options: { fill?: number; generator?: Generator }) {
    checkArgCount("RandomGeometric", arguments, 1);
    const name = new.target.name;
    if (options === null || typeof options !== "object") throw new ValueError(`${name}: options must be an object, got ${describe(options)}`);
    this.fill = options.fill ?? 0;
    checkFiniteNumber(name, "fill", this.fill);
    if (options.generator !== undefined) checkGenerator(name, "generator", options.generator);
    this.generator = options.generator;
  }

  /** Output (height, width) for an input of (H, W). */
  abstract outputSize(H: number, W: number): [number, number];
  /** Appends one map (6 numbers: a, b, c, d, e, f) for an input of (H, W). */
  protected abstract sampleMap(H: number, W: number, g: Generator, out: number[]): void;

  /** Maps for n images: output (x, y) → input (a·x + b·y + c, d·x + e·y + f). */
  sampleMaps(n: number, H: number, W: number): Float64Array {
    const g = this.generator ?? defaultGenerator;
    const out: number[] = [];
    for (let i = 0; i < n; i++) this.sampleMap(H, W, g, out);
    return Float64Array.from(out);
  }

  apply(x: NDArray): NDArray {
    checkNDArray(this.constructor.name, x);
    if (x.shape.length !== 2 && x.shape.length !== 3)
      throw new ShapeError(`${this.constructor.name}: expected an image [H, W] or [C, H, W], got shape [${x.shape.join(", ")}]`);
    const [C, H, W] = x.shape.length === 2 ? [1, x.shape[0], x.shape[1]] : (x.shape as [number, number, number]);
    const be = getBackend();
    const img = emptyTensor(be, [1, C, H, W], "float32", null);
    try {
      img.data.set(x.data);
      const out = warpBatch(img, this, new Array(C).fill(this.fill));
      // Bytes stay bytes (a warped PIL image is still uint8, and ToTensor must still scale it).
      const data = x.data instanceof Uint8Array ? Uint8Array.from(out.data) : Float32Array.from(out.data);
      out.dispose();
      return { data, shape: x.shape.length === 2 ? [out.shape[2], out.shape[3]] : out.shape.slice(1) };
    } finally {
      img.dispose();
    }
  }
}

/** Options of RandomAffine (torchvision's degrees, translate, scale, fill). */
export interface RandomAffineOptions {
  /** Rotation range in degrees: d means (-d, d). */
  degrees: number | [number, number];
  /** Maximum shift as fractions of width and height. */
  translate?: [number, number];
  /** Scale factor range. */
  scale?: [number, number];
  fill?: number;
  generator?: Generator;
}

/** torchvision's RandomAffine (no shear): rotate, shift and scale about the image centre. */
export class RandomAffine extends RandomGeometric {
  readonly degrees: [number, number];
  readonly translate?: [number, number];
  readonly scale?: [number, number];

  constructor(options: RandomAffineOptions) {
    super(options);

    checkArgCount("RandomAffine", arguments, 1);
    checkOptions("RandomAffine", options, ["degrees", "translate", "scale", "fill", "generator"]);
    const d = options.degrees;
    const isPair = (v: unknown): v is [number, number] => Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number" && Number.isFinite(x));
    if (!(typeof d === "number" && Number.isFinite(d)) && !(isPair(d) && d[0] <= d[1])) {
      throw new ValueError(`RandomAffine: degrees must be a finite number d (for (-d, d)) or a range [lo, hi], got ${describe(d)}`);
    }
    this.degrees = typeof d === "number" ? [-Math.abs(d), Math.abs(d)] : [d[0], d[1]];
    if (options.translate !== undefined && !(isPair(options.translate) && options.translate.every((t) => t >= 0 && t <= 1))) {
      throw new ValueError(`RandomAffine: translate must be a pair of fractions between 0 and 1, got ${describe(options.translate)}`);
    }
    if (options.scale !== undefined && !(isPair(options.scale) && options.scale[0] > 0 && options.scale[1] >= options.scale[0])) {
      throw new ValueError(`RandomAffine: scale should be a positive range [lo, hi], got ${describe(options.scale)}`);
    }
    this.translate = options.translate;
    this.scale = options.scale;
  }

  outputSize(H: number, W: number): [number, number] {
    return [H, W];
  }

  protected sampleMap(H: number, W: number, g: Generator, out: number[]): void {
    const angle = (g.uniform(this.degrees[0], this.degrees[1]) * Math.PI) / 180;
    const tx = this.translate ? Math.round(g.uniform(-this.translate[0] * W, this.translate[0] * W)) : 0;
    const ty = this.translate ? Math.round(g.uniform(-this.translate[1] * H, this.translate[1] * H)) : 0;
    const s = this.scale ? g.uniform(this.scale[0], this.scale[1]) : 1;
    // Inverse of p_out = centre + t + s·R(angle)·(p_in - centre).
    const cx = (W - 1) / 2,
      cy = (H - 1) / 2;
    const cos = Math.cos(angle) / s,
      sin = Math.sin(angle) / s;
    const ox = cx + tx,
      oy = cy + ty;
    out.push(cos, sin, cx - cos * ox - sin * oy, -sin, cos, cy + sin * ox - cos * oy);
  }
}

/** torchvision's RandomCrop: pad each side by `padding` (with fill), cut a random size×size window. */
export class RandomCrop extends RandomGeometric {
  readonly size: [number, number];
  readonly padding: number;

  constructor(size: number | [number, number], options: { padding?: number; fill?: number; generator?: Generator } = {}) {
    super(options);

    checkArgCount("RandomCrop", arguments, 2);
    checkOptions("RandomCrop", options, ["padding", "fill", "generator"]);
    if (typeof size !== "number" && !(Array.isArray(size) && size.length === 2)) {
      throw new ValueError(`RandomCrop: size must be an integer or a pair [h, w], got ${describe(size)}`);
    }
    this.size = typeof size === "number" ? [size, size] : [size[0], size[1]];
    this.padding = options.padding ?? 0;
    if (this.size.some((d) => !Number.isInteger(d) || d < 1 || d > 2 ** 24) || !Number.isInteger(this.padding) || this.padding < 0 || this.padding > 2 ** 24) {
      throw new ValueError(
        `RandomCrop: size must be positive integers and padding a non-negative integer, got size ${JSON.stringify(size)}, padding ${this.padding}`,
      );
    }
  }

  outputSize(H: number, W: number): [number, number] {
    const [h, w] = this.size;
    if (h > H + 2 * this.padding || w > W + 2 * this.padding) {
      throw new ShapeError(`RandomCrop: crop ${h}×${w} is larger than the padded image ${H + 2 * this.padding}×${W + 2 * this.padding}`);
    }
    return [h, w];
  }

  protected sampleMap(H: number, W: number, g: Generator, out: number[]): void {
    const [h, w] = this.outputSize(H, W);
    const oy = g.randint(H + 2 * this.padding - h + 1),
      ox = g.randint(W + 2 * this.padding - w + 1);
    out.push(1, 0, ox - this.padding, 0, 1, oy - this.padding);
  }
}

/** Warps a batch (N, C, H, W) by fresh random maps of `t`; fills[c] outside the image. */
export function warpBatch(batch: Tensor, t: RandomGeometric, fills: number[], scope: Scope | null = null): Tensor {
  checkArgCount("warpBatch", arguments, 4);
  if (!(batch instanceof Tensor) || batch.dtype !== "float32" || batch.ndim !== 4) {
    throw new ShapeError(`warpBatch: expected a float32 batch (N, C, H, W), got ${describe(batch)}`);
  }
  if (!(t instanceof RandomGeometric)) throw new ValueError(`warpBatch: expected a RandomAffine or RandomCrop, got ${describe(t)}`);
  if (!Array.isArray(fills) || fills.length !== batch.shape[1])
    throw new ValueError(`warpBatch: expected ${batch.shape[1]} fill values (one per channel), got ${describe(fills)}`);
  const [N, C, H, W] = batch.shape;
  const [OH, OW] = t.outputSize(H, W);
  const be = batch.backend;
  const maps = t.sampleMaps(N, H, W);
  const out = emptyTensor(be, [N, C, OH, OW], "float32", scope);
  const mapPtr = be.heap.alloc(maps.byteLength);
  const fillPtr = be.heap.alloc(C * 4);
  try {
    new Float64Array(be.memory.buffer, mapPtr, maps.length).set(maps);
    be.f32().set(fills, fillPtr >>> 2);
    be.affineNearest(out.ptr, batch.ptr, N, C, H, W, OH, OW, mapPtr, fillPtr);
  } finally {
    be.heap.free(mapPtr);
    be.heap.free(fillPtr);
  }
  return out;
}

/**
 * How a dataset can batch a transform: `once` (pixel-wise and vectorised) runs over all images
 * up front, then each batch gets the random geometric transforms in order, each with its fill
 * mapped through the pixel-wise transforms that followed it. null: apply per sample.
 */
export interface BatchPlan {
  once: Transform | null;
  /** The random warps applied per batch, each with its fill value per channel. */
  perBatch: {
    /** A random warp. */
    transform: RandomGeometric;
    /** Its fill value for a channel, after the pixel-wise steps that follow it. */
    fill: (channel: number) => number;
  }[];
}

/** How a Compose splits into per-sample steps done once and random warps done per batch (null when it cannot). */
export function planBatches(t: Transform | undefined): BatchPlan | null {
  checkArgCount("planBatches", arguments, 1);
  if (t === undefined) return { once: null, perBatch: [] };
  const list = flatten(t);
  const pixelwise = list.filter((x) => !isGeometric(x));
  if (!pixelwise.every((x) => x.applyBatch && x.pixel)) {
    return list.some(isGeometric) || !t.applyBatch ? null : { once: t, perBatch: [] };
  }
  const perBatch = list.flatMap((x, i) => {
    if (!isGeometric(x)) return [];
    const after = list.slice(i + 1).filter((y) => !isGeometric(y));
    return [{ transform: x, fill: (c: number) => after.reduce((v, y) => y.pixel!(v, c), x.fill) }];
  });
  return { once: pixelwise.length === 0 ? null : new Compose(pixelwise), perBatch };
}

function flatten(t: Transform): Transform[] {
  return t instanceof Compose ? t.transforms.flatMap(flatten) : [t];
}

function isGeometric(t: Transform): t is RandomGeometric {
  return t instanceof RandomGeometric;
}
