// Seeded augmentation: warps checked against hand-computed pixel moves; the per-batch path of a
// dataset (pixel-wise once, warp per batch) equals the per-sample path bit for bit.
import { describe, expect, it } from "vitest";
import { Generator, datasets, setBackend, tensor, transforms, type Tensor } from "../src/index.js";
import { createBackend } from "../src/backend/index.js";
import { planBatches, warpBatch } from "../src/data/transforms.js";

/** A batch of N distinct images (values n·1000 + y·W + x + 1, so 0 means "filled"). */
function batch(N: number, C: number, H: number, W: number, be = createBackend("wasm")): Tensor {
  return tensor(
    Float32Array.from({ length: N * C * H * W }, (_, i) => i + 1),
    { shape: [N, C, H, W], backend: be },
  );
}

describe("RandomCrop", () => {
  it("cuts each image at its own random offset of the zero-padded image", () => {
    const [N, C, H, W, pad] = [6, 2, 5, 7, 2];
    const x = batch(N, C, H, W);
    const src = x.toArray();
    const out = warpBatch(x, new transforms.RandomCrop([5, 7], { padding: pad, generator: new Generator(3) }), [0, 0]).toArray();
    const offsets = new Set<string>();
    for (let n = 0; n < N; n++) {
      // Find the shift that explains the first channel, then check every pixel of both channels.
      const found = [];
      for (let oy = 0; oy <= 2 * pad; oy++)
        for (let ox = 0; ox <= 2 * pad; ox++) {
          let ok = true;
          for (let c = 0; c < C && ok; c++)
            for (let y = 0; y < H && ok; y++)
              for (let xx = 0; xx < W && ok; xx++) {
                const sy = y + oy - pad,
                  sx = xx + ox - pad;
                const want = sy >= 0 && sy < H && sx >= 0 && sx < W ? src[((n * C + c) * H + sy) * W + sx] : 0;
                ok = out[((n * C + c) * H + y) * W + xx] === want;
              }
          if (ok) found.push(`${oy},${ox}`);
        }
      expect(found.length, `image ${n}`).toBe(1);
      offsets.add(found[0]);
    }
    expect(offsets.size).toBeGreaterThan(1); // offsets differ between images
  });

  it("can change the size and rejects crops larger than the padded image", () => {
    const x = batch(2, 1, 6, 6);
    expect(warpBatch(x, new transforms.RandomCrop(4, { generator: new Generator(0) }), [0]).shape).toEqual([2, 1, 4, 4]);
    expect(() => warpBatch(x, new transforms.RandomCrop(9, { padding: 1 }), [0])).toThrow(/larger than the padded image 8×8/);
  });
});

describe("RandomAffine", () => {
  it("a 90° rotation of a square image moves pixel (x, y) from (y, W-1-x)", () => {
    const W = 5;
    const x = batch(1, 1, W, W);
    const src = x.toArray();
    const out = warpBatch(x, new transforms.RandomAffine({ degrees: [90, 90] }), [0]).toArray();
    for (let y = 0; y < W; y++)
      for (let xx = 0; xx < W; xx++) {
        expect(out[y * W + xx]).toBe(src[(W - 1 - xx) * W + y]);
      }
  });

  it("translation only shifts by whole pixels within the range; scale 2 zooms about the centre", () => {
    const [H, W] = [8, 10];
    const x = batch(5, 1, H, W);
    const src = x.toArray();
    const out = warpBatch(x, new transforms.RandomAffine({ degrees: 0, translate: [0.2, 0.25], generator: new Generator(9) }), [0]).toArray();
    for (let n = 0; n < 5; n++) {
      const shifts = [];
      for (let ty = -2; ty <= 2; ty++)
        for (let tx = -2; tx <= 2; tx++) {
          let ok = true;
          for (let y = 0; y < H && ok; y++)
            for (let xx = 0; xx < W && ok; xx++) {
              const sy = y - ty,
                sx = xx - tx;
              ok = out[(n * H + y) * W + xx] === (sy >= 0 && sy < H && sx >= 0 && sx < W ? src[(n * H + sy) * W + sx] : 0);
            }
          if (ok) shifts.push([tx, ty]);
        }
      expect(shifts.length, `image ${n}`).toBe(1);
    }
    const zoom = warpBatch(batch(1, 1, 5, 5), new transforms.RandomAffine({ degrees: 0, scale: [2, 2] }), [0]).toArray();
    expect(zoom[2 * 5 + 2]).toBe(2 * 5 + 2 + 1); // the centre stays
    expect(zoom[0]).toBe(1 * 5 + 1 + 1); // output (0,0) samples input (1,1): floor(0.5·(0-2)+2+0.5)
  });

  it("is seeded and gives the same bits on the wasm and js backends", () => {
    const run = (be: ReturnType<typeof createBackend>) =>
      warpBatch(
        batch(4, 3, 9, 9, be),
        new transforms.RandomAffine({ degrees: 30, translate: [0.1, 0.1], scale: [0.8, 1.2], generator: new Generator(1) }),
        [0, 0, 0],
      ).toArray();
    const wasm = run(createBackend("wasm"));
    expect(run(createBackend("wasm"))).toEqual(wasm);
    expect(run(createBackend("js"))).toEqual(wasm);
  });
});

describe("augmented datasets", () => {
  it("batches pixel-wise transforms once and warps per batch with the mapped fill, equal to per sample", () => {
    setBackend("wasm");
    const pipeline = (seed: number) =>
      new transforms.Compose([
        new transforms.RandomAffine({ degrees: 15, translate: [0.1, 0.1], generator: new Generator(seed) }),
        new transforms.ToTensor(),
        new transforms.Normalize([0.1307], [0.3081]),
      ]);
    const plan = planBatches(pipeline(0))!;
    expect(plan.perBatch.length).toBe(1);
    expect(plan.perBatch[0].fill(0)).toBeCloseTo((0 - 0.1307) / 0.3081, 6);
    const test = new datasets.MNIST({ train: false, transform: pipeline(7) });
    const [x] = test.getBatch(Int32Array.from([0, 1, 2]));
    expect(x.shape).toEqual([3, 1, 28, 28]);
    const perSample = new datasets.MNIST({ train: false, transform: pipeline(7) });
    const items = [0, 1, 2].map((i) => perSample.getItem(i)[0].toArray());
    expect(x.toArray()).toEqual(items.flat());
    // Some pixels were filled: the background maps to (0 - mean) / std.
    expect(x.toArray().some((v) => v === Math.fround(Math.fround(0 - Math.fround(0.1307)) / Math.fround(0.3081)))).toBe(true);
  });

  it("falls back to per-sample transforms when a step is not pixel-wise", () => {
    const t = new transforms.Compose([new transforms.RandomCrop(28, { padding: 2 }), new transforms.Lambda((x) => x)]);
    expect(planBatches(t)).toBeNull();
  });
});
