// DataLoader, TensorDataset and transforms against hand-computed expectations.
import { beforeEach, describe, expect, it } from "vitest";
import { DataLoader, Generator, type Tensor, data, manualSeed, setBackend, tensor, transforms } from "../src/index.js";
import { gzipSync } from "node:zlib";
import { idxBytes } from "./helpers/idx.js";

beforeEach(() => setBackend("wasm"));

/** A dataset whose feature row i is [i, 10i, 100i] and label i % 7, to check pairing. */
function indexed(n: number) {
  const x = tensor(
    Float32Array.from({ length: n * 3 }, (_, k) => Math.floor(k / 3) * [1, 10, 100][k % 3]),
    { shape: [n, 3] },
  );
  const y = tensor(Int32Array.from({ length: n }, (_, i) => i % 7));
  return new data.TensorDataset(x, y);
}

function epochRows(loader: Iterable<Tensor[]>) {
  const seen: number[] = [];
  const sizes: number[] = [];
  for (const [x, y] of loader) {
    expect(x.dtype).toBe("float32");
    expect(y.dtype).toBe("int32");
    const xs = x.toArray();
    const ys = y.toArray();
    sizes.push(ys.length);
    for (let r = 0; r < ys.length; r++) {
      const i = xs[3 * r];
      // Contiguous rows, each still paired with its own label.
      expect([xs[3 * r + 1], xs[3 * r + 2]]).toEqual([10 * i, 100 * i]);
      expect(ys[r]).toBe(i % 7);
      seen.push(i);
    }
  }
  return { seen, sizes };
}

describe("DataLoader", () => {
  it("visits every sample exactly once per epoch, shuffled, with the last partial batch", () => {
    manualSeed(1);
    const loader = new DataLoader(indexed(103), { batchSize: 10, shuffle: true });
    expect(loader.length).toBe(11);
    const { seen, sizes } = epochRows(loader);
    expect(sizes).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3]);
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 103 }, (_, i) => i));
    expect(seen).not.toEqual(Array.from({ length: 103 }, (_, i) => i));
    // A second epoch draws a new order.
    expect(epochRows(loader).seen).not.toEqual(seen);
  });

  it("the same seed gives the same order; dropLast drops the partial batch", () => {
    manualSeed(7);
    const a = epochRows(new DataLoader(indexed(50), { batchSize: 8, shuffle: true })).seen;
    manualSeed(7);
    const b = epochRows(new DataLoader(indexed(50), { batchSize: 8, shuffle: true })).seen;
    expect(a).toEqual(b);
    const drop = new DataLoader(indexed(50), { batchSize: 8, dropLast: true, generator: new Generator(3), shuffle: true });
    expect(drop.length).toBe(6);
    const { seen, sizes } = epochRows(drop);
    expect(sizes).toEqual([8, 8, 8, 8, 8, 8]);
    expect(new Set(seen).size).toBe(48);
  });

  it("without shuffle yields samples in order; collates per-item datasets", () => {
    const { seen } = epochRows(new DataLoader(indexed(9), { batchSize: 4 }));
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    class Squares extends data.Dataset<[Tensor, number]> {
      get length() {
        return 5;
      }
      getItem(i: number): [Tensor, number] {
        return [tensor([i, i * i]), i];
      }
    }
    const batches = Array.from(new DataLoader(new Squares(), { batchSize: 2 }));
    expect(batches.length).toBe(3);
    expect(batches[1][0].shape).toEqual([2, 2]);
    expect(batches[1][0].toArray()).toEqual([2, 4, 3, 9]);
    expect(batches[1][1].toArray()).toEqual([2, 3]);
    expect(batches[1][1].dtype).toBe("int32");
  });

  it("randomSplit makes disjoint subsets covering the dataset", () => {
    const [a, b] = data.randomSplit(indexed(20), [15, 5], new Generator(0));
    const rows = (s: data.Subset<Tensor[]>) => Array.from({ length: s.length }, (_, i) => s.getItem(i)[0].toArray()[0]);
    const all = [...rows(a), ...rows(b)].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(() => data.randomSplit(indexed(20), [15, 6])).toThrow(/do not add up/);
  });
});

describe("transforms", () => {
  it("ToTensor + Normalize((0.5,), (0.5,)) maps 0 → -1, 255 → 1, 51 → -0.6 (vectorised = per sample)", () => {
    const t = new transforms.Compose([new transforms.ToTensor(), new transforms.Normalize([0.5], [0.5])]);
    const img = { data: Uint8Array.from([0, 255, 51, 128]), shape: [2, 2] };
    const one = t.apply(img);
    expect(one.shape).toEqual([1, 2, 2]);
    expect(Array.from(one.data)).toEqual([-1, 1, Math.fround((Math.fround(51 / 255) - 0.5) / 0.5), Math.fround((Math.fround(128 / 255) - 0.5) / 0.5)]);
    expect(one.data[2]).toBeCloseTo(-0.6, 6);
    const batch = t.applyBatch!({ data: Uint8Array.from([0, 255, 51, 128, 128, 51, 255, 0]), shape: [2, 2, 2] });
    expect(batch.shape).toEqual([2, 1, 2, 2]);
    expect(Array.from(batch.data.subarray(0, 4))).toEqual(Array.from(one.data));
  });

  it("ToTensor moves channels first; Normalize uses per-channel statistics", () => {
    const hwc = { data: Uint8Array.from([255, 0, 0, 255]), shape: [1, 2, 2] }; // H=1, W=2, C=2
    const chw = new transforms.ToTensor().apply(hwc);
    expect(chw.shape).toEqual([2, 1, 2]);
    expect(Array.from(chw.data)).toEqual([1, 0, 0, 1]);
    const n = new transforms.Normalize([1, 0], [1, 0.5]).apply(chw);
    expect(Array.from(n.data)).toEqual([0, -1, 0, 2]);
    expect(() => new transforms.Normalize([0.5, 0.5, 0.5], [1, 1, 1]).apply(chw)).toThrow(/3 mean\/std values for an image with 2 channels/);
  });

  it("Lambda without a batched form makes Compose per-sample only", () => {
    const c = new transforms.Compose([new transforms.ToTensor(), new transforms.Lambda((x) => x)]);
    expect(c.applyBatch).toBeUndefined();
  });
});

describe("data.parseIdxFile", () => {
  it("reads plain and gzipped IDX bytes alike, and stops a gzip stream that outgrows its header", () => {
    const plain = idxBytes(
      [3, 2, 2],
      Uint8Array.from({ length: 12 }, (_, i) => i * 7),
    );
    const a = data.parseIdxFile(plain, "plain", 3);
    const b = data.parseIdxFile(new Uint8Array(gzipSync(plain)), "gz", 3);
    expect(b.dims).toEqual([3, 2, 2]);
    expect([...b.data]).toEqual([...a.data]);
    expect([...a.data]).toEqual(Array.from({ length: 12 }, (_, i) => i * 7));
    // the header declares 12 bytes of data; the stream carries 100,000
    const long = idxBytes([3, 2, 2], new Uint8Array(100_000));
    expect(() => data.parseIdxFile(new Uint8Array(gzipSync(long)), "long.gz", 3)).toThrow(
      /long\.gz: the gzip data decompresses to more than the 28 bytes its header declares/,
    );
  });
});
