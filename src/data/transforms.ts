// torchvision-style transforms on images held in plain typed arrays (not yet tensors).
// Every deterministic transform also has a vectorised form over a whole batch [N, ...], which
// datasets apply once to all samples instead of calling the per-sample form in a JS loop.
import { ShapeError, ValueError } from "../errors.js";

/** An image (or batch of images) as a flat typed array plus its shape. */
export interface NDArray {
  data: Float32Array | Uint8Array;
  shape: number[];
}

export interface Transform {
  /** Transforms one sample. */
  apply(x: NDArray): NDArray;
  /** Transforms a batch [N, ...sample] at once; present only when equal to per-sample apply. */
  applyBatch?(x: NDArray): NDArray;
}

/** Chains transforms; batchable when every part is. */
export class Compose implements Transform {
  readonly applyBatch?: (x: NDArray) => NDArray;

  constructor(readonly transforms: Transform[]) {
    if (transforms.every((t) => t.applyBatch)) {
      this.applyBatch = (x) => transforms.reduce((acc, t) => t.applyBatch!(acc), x);
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
  apply(x: NDArray): NDArray {
    return toCHW(x, 0);
  }
  applyBatch(x: NDArray): NDArray {
    return toCHW(x, 1);
  }
}

function toCHW(x: NDArray, lead: number): NDArray {
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
    this.mean = Array.isArray(mean) ? mean : [mean];
    this.std = Array.isArray(std) ? std : [std];
    if (this.mean.length !== this.std.length) {
      throw new ValueError(`Normalize: mean has ${this.mean.length} channels, std has ${this.std.length}`);
    }
    if (this.std.some((s) => s === 0)) throw new ValueError("Normalize: std evaluated to zero, leading to division by zero");
  }

  apply(x: NDArray): NDArray {
    return this.normalize(x, 0);
  }
  applyBatch(x: NDArray): NDArray {
    return this.normalize(x, 1);
  }

  private normalize(x: NDArray, lead: number): NDArray {
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
    const out = new Float32Array(x.data.length);
    const src = x.data;
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

  constructor(readonly fn: (x: NDArray) => NDArray, options: { batched?: (x: NDArray) => NDArray } = {}) {
    if (options.batched) this.applyBatch = options.batched;
  }

  apply(x: NDArray): NDArray {
    return this.fn(x);
  }
}
