// Memory pressure and isolation: a request beyond the memory limit — a huge batch through the
// MLP, a DataLoader batch, conv2d's scratch, backward, optimizer state — throws a clear
// OutOfMemoryError and the same backend then keeps training normal-sized batches (the abandoned
// step's tensors are released, so they do not crowd out the next one). Two models on two
// backends in one process, trained interleaved, give the bits each gives alone; an out-of-memory
// error on one backend leaves the other's tensors alone.
import { afterEach, describe, expect, it } from "vitest";
import {
  DataLoader,
  Generator,
  OutOfMemoryError,
  ReleasedTensorError,
  type Tensor,
  createBackend,
  data,
  datasets,
  getBackend,
  manualSeed,
  nn,
  noGrad,
  ops,
  optim,
  setBackend,
  tensor,
  transforms,
  zeros,
} from "../src/index.js";
import type { Backend } from "../src/backend/index.js";
import { stepScopeSizes } from "../src/lifetime.js";

const MiB = 2 ** 20;
const original = getBackend();
afterEach(() => {
  setBackend(original);
});

function thrown(fn: () => unknown): OutOfMemoryError {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, "expected an OutOfMemoryError").toBeInstanceOf(OutOfMemoryError);
  return caught as OutOfMemoryError;
}

/** The seed MLP on `be` (setBackend(be) first: parameters go to the current backend). */
function seedMlp(be: Backend, seed = 0) {
  setBackend(be);
  manualSeed(seed);
  const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 64), new nn.ReLU(), new nn.Linear(64, 10));
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  return { model, optimizer, criterion: new nn.CrossEntropyLoss() };
}

/** n synthetic 784-pixel images whose label is the brightest of 10 stripes (learnable). */
function stripes(be: Backend, n: number, seed: number): [Tensor, Tensor] {
  const g = new Generator(seed);
  const x = new Float32Array(n * 784);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = g.randint(10);
    for (let p = 0; p < 784; p++) x[i * 784 + p] = (Math.floor(p / 78.4) === y[i] ? 1 : 0) + 0.3 * g.normal();
  }
  return [tensor(x, { shape: [n, 784], backend: be }), tensor(y, { backend: be })];
}

function step(m: ReturnType<typeof seedMlp>, x: Tensor, y: Tensor): number {
  m.optimizer.zeroGrad();
  const loss = m.criterion(m.model(x), y);
  loss.backward();
  m.optimizer.step();
  return loss.item();
}

describe("out of memory, then back to work", () => {
  it("a batch of 10^6 images does not fit; one of 60,000 fails inside the MLP; batches of 100 then train", () => {
    const be = createBackend("wasm", { maxMemoryBytes: 256 * MiB });
    const m = seedMlp(be);
    const [x, y] = stripes(be, 100, 1);
    step(m, x, y); // warm: gradients, momentum buffers, gemm scratch
    const base = be.heap.stats().liveBytes;

    // 10^6 × 784 float32 = 2.9 GiB.
    const e1 = thrown(() => zeros([1_000_000, 784]));
    expect(e1.message).toMatch(
      /^cannot allocate 2\.92 GiB: [\d.]+ [KM]iB in use, memory limit 256\.0 MiB \(free tensors, use smaller batches, or raise maxMemoryBytes\)/,
    );
    expect(be.memory.buffer.byteLength).toBeLessThanOrEqual(256 * MiB);

    // 60,000 images (179 MiB) fit, but not with what the MLP needs for them (the first gemm packs
    // its input: another 179 MiB).
    const big = zeros([60_000, 784]);
    const labels = zeros([60_000], { dtype: "int32" });
    const outs: Tensor[] = [];
    const e2 = thrown(() => {
      m.optimizer.zeroGrad();
      outs.push(m.model(x)); // a tensor of this step, made before the failure
      m.criterion(m.model(big), labels).backward();
    });
    const out = outs[0];
    expect(e2.message).toMatch(
      /memory limit 256\.0 MiB.*; the tensors of the unfinished training step on this backend were released \(gradient checkpointing .* LoRA .*\)$/,
    );
    // The abandoned step's tensors are gone (say so when touched), and their memory is free again.
    expect(() => out.data).toThrow(ReleasedTensorError);
    expect(() => out.data).toThrow(/released at an OutOfMemoryError during the training step that made it/);
    big.dispose();
    labels.dispose();
    expect(be.heap.stats().liveBytes).toBeLessThanOrEqual(base);

    // Halve the batch and retry: 30,000 images fit now (in the room the failed attempt left).
    const half = zeros([30_000, 784]);
    const halfLabels = zeros([30_000], { dtype: "int32" });
    expect(Number.isFinite(step(m, half, halfLabels))).toBe(true);
    half.dispose();
    halfLabels.dispose();
    step(m, x, y);
    const after = be.heap.stats().liveBytes; // (the gemm packing scratch grew with the big batch)

    // The same backend trains on.
    const losses: number[] = [];
    for (let i = 0; i < 30; i++) losses.push(step(m, x, y));
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[29]).toBeLessThan(0.5 * losses[0]);
    expect(be.heap.stats().liveBytes).toBeLessThanOrEqual(after);
  });

  it("with the default limit (4 GiB): a request beyond it fails at once, without growing the memory", () => {
    const be = createBackend("wasm");
    setBackend(be);
    const before = be.memory.buffer.byteLength;
    const e = thrown(() => zeros([1_000_000, 784, 2])); // 5.8 GiB
    expect(e.message).toMatch(/^cannot allocate 5\.84 GiB: .* memory limit 4\.00 GiB, wasm32's maximum \(free tensors, use smaller batches\)/);
    expect(be.memory.buffer.byteLength).toBe(before);
    expect(Array.from(tensor([1, 2]).add(1).data)).toEqual([2, 3]);
  });

  it("a DataLoader batch too big for the memory: the loop throws, a smaller loader trains on the same backend", () => {
    const be = createBackend("wasm", { maxMemoryBytes: 24 * MiB });
    const m = seedMlp(be);
    const testset = new datasets.MNIST({
      train: false,
      transform: new transforms.Compose([new transforms.ToTensor(), new transforms.Normalize([0.5], [0.5])]),
    });
    const huge = new DataLoader(testset, { batchSize: 1_000_000 }); // one batch of all 10,000 images: 30 MiB
    const e = thrown(() => {
      for (const [images, labels] of huge) step(m, images.view(images.shape[0], -1), labels);
    });
    expect(e.message).toMatch(/^cannot allocate 29\.9 MiB: .* memory limit 24\.0 MiB/);
    // Skipping a batch that does not fit, inside the loop, works too.
    const sub = new data.Subset(
      testset,
      Int32Array.from({ length: 2000 }, (_, i) => i),
    );
    const loader = new DataLoader(sub, { batchSize: 100, shuffle: true });
    const losses: number[] = [];
    for (const [images, labels] of loader) {
      try {
        if (losses.length === 3) zeros([8 << 20]); // 32 MiB: an allocation that fails mid-epoch
        losses.push(step(m, images.view(images.shape[0], -1), labels));
      } catch (err) {
        expect(err).toBeInstanceOf(OutOfMemoryError);
        losses.push(NaN);
      }
    }
    expect(losses).toHaveLength(20);
    expect(losses.filter(Number.isNaN)).toHaveLength(1);
    const finite = losses.filter(Number.isFinite);
    expect(finite[finite.length - 1]).toBeLessThan(finite[0]);
  });

  it("conv2d's column buffer, backward's gradients and the optimizer's state: each fails cleanly", () => {
    // conv2d: the output fits (4 MiB); 8 images' im2col columns (52 MiB) do not.
    let be = createBackend("wasm", { maxMemoryBytes: 32 * MiB });
    setBackend(be);
    manualSeed(0);
    const conv = new nn.Conv2d(16, 32, 5, { padding: 2 });
    const x = zeros([8, 16, 64, 64]);
    const live0 = be.heap.stats().liveBytes;
    expect(thrown(() => ops.conv2d(x, conv.weight, conv.bias, { imagesPerGemm: 8 })).message).toMatch(/^cannot allocate [\d.]+ MiB: .* memory limit 32\.0 MiB/);
    expect(be.heap.stats().liveBytes).toBeLessThanOrEqual(live0); // neither scratch nor output left behind
    expect(noGrad(() => conv(zeros([1, 16, 8, 8])).shape)).toEqual([1, 32, 8, 8]);

    // backward: the forward fits; the 16 MiB gradient of a 4096 × 1024 weight does not.
    be = createBackend("wasm", { maxMemoryBytes: 40 * MiB });
    setBackend(be);
    const W = zeros([4096, 1024], { requiresGrad: true });
    const input = zeros([8, 1024]);
    const pad = zeros([10 << 18]); // 10 MiB of something else
    const loss = ops.linear(input, W).sum();
    thrown(() => loss.backward());
    expect(W.grad).toBeNull();
    expect(() => loss.item()).toThrow(ReleasedTensorError); // the abandoned step
    const small = zeros([64, 1024], { requiresGrad: true });
    ops.linear(input, small).sum().backward(); // a normal-sized step works
    expect(small.grad!.shape).toEqual([64, 1024]);
    pad.dispose();
    W.dispose();

    // optimizer.step() on a fresh backend: W and its gradient take 32 MiB, Adam's state 32 more.
    be = createBackend("wasm", { maxMemoryBytes: 40 * MiB });
    setBackend(be);
    const V = zeros([4096, 1024], { requiresGrad: true });
    V.grad = zeros([4096, 1024]).fill_(1);

    V.data[0] = 5;
    const adam = new optim.Adam([V]);
    thrown(() => adam.step());
    expect(V.data[0]).toBe(5); // no half-done step
    const sgd = new optim.SGD([V], { lr: 0.5 }); // no state: this one fits
    sgd.step();
    expect(V.data[0]).toBe(4.5);
  });
});

describe("two models, two backends, one process", () => {
  for (const [a, b] of [
    ["wasm", "js"],
    ["wasm", "wasm"],
  ] as const) {
    it(`${a} + ${b}: interleaved training gives each model the bits it gets alone; memory stays flat`, () => {
      const run = (pairs: { be: Backend; seed: number }[], steps: number) => {
        const setups = pairs.map(({ be, seed }) => ({ be, m: seedMlp(be, seed), batch: stripes(be, 64, seed + 10) }));
        const losses: number[][] = setups.map(() => []);
        const live: number[][] = setups.map(() => []);
        for (let i = 0; i < steps; i++) {
          // Both steps first, then both losses read: each backend's step is its own.
          const ls = setups.map((s) => {
            s.m.optimizer.zeroGrad();
            const loss = s.m.criterion(s.m.model(s.batch[0]), s.batch[1]);
            loss.backward();
            s.m.optimizer.step();
            return loss;
          });
          ls.forEach((l, k) => losses[k].push(l.item()));
          setups.forEach((s, k) => live[k].push(s.be.heap.stats().liveBytes));
        }
        return { losses, live, weights: setups.map((s) => s.m.model.parameters().map((p) => Array.from(p.data))) };
      };
      const together = run(
        [
          { be: createBackend(a), seed: 1 },
          { be: createBackend(b), seed: 2 },
        ],
        20,
      );
      const aloneA = run([{ be: createBackend(a), seed: 1 }], 20);
      const aloneB = run([{ be: createBackend(b), seed: 2 }], 20);
      expect(together.losses[0]).toEqual(aloneA.losses[0]);
      expect(together.losses[1]).toEqual(aloneB.losses[0]);
      expect(together.weights[0]).toEqual(aloneA.weights[0]);
      expect(together.weights[1]).toEqual(aloneB.weights[0]);
      for (const live of together.live) expect(Math.max(...live.slice(3))).toBeLessThanOrEqual(live[2]);
    });
  }

  it("two models on one backend, interleaved step by step: the same bits as alone", () => {
    const be = createBackend("wasm");
    const m1 = seedMlp(be, 1),
      m2 = seedMlp(be, 2);
    const [x1, y1] = stripes(be, 32, 11),
      [x2, y2] = stripes(be, 32, 12);
    const l1: number[] = [],
      l2: number[] = [];
    for (let i = 0; i < 10; i++) {
      l1.push(step(m1, x1, y1));
      l2.push(step(m2, x2, y2));
    }
    const b1 = createBackend("wasm"),
      b2 = createBackend("wasm");
    const alone1 = seedMlp(b1, 1);
    const [ax1, ay1] = stripes(b1, 32, 11);
    const a1 = Array.from({ length: 10 }, () => step(alone1, ax1, ay1));
    const alone2 = seedMlp(b2, 2);
    const [ax2, ay2] = stripes(b2, 32, 12);
    const a2 = Array.from({ length: 10 }, () => step(alone2, ax2, ay2));
    expect(l1).toEqual(a1);
    expect(l2).toEqual(a2);
  });

  it("an out-of-memory error on one backend leaves the other backend's step alone", () => {
    const roomy = createBackend("wasm");
    const tight = createBackend("wasm", { maxMemoryBytes: 16 * MiB });
    const A = seedMlp(roomy, 1);
    const [xa, ya] = stripes(roomy, 64, 3);
    A.optimizer.zeroGrad();
    const outA = A.model(xa);
    const lossA = A.criterion(outA, ya); // A's step is in progress: forward done, no backward yet
    const B = seedMlp(tight, 2);
    setBackend(tight);
    thrown(() => B.model(zeros([20_000, 784]).add(0))); // B's step is abandoned
    expect(() => outA.data).not.toThrow(); // A's tensors are untouched
    lossA.backward();
    A.optimizer.step();
    expect(Number.isFinite(lossA.item())).toBe(true);
    expect(stepScopeSizes(tight).current).toBe(0);
  });
});

// Above 2 GiB a byte offset no longer fits a signed int32: `ptr >> 2` turned negative and `.data`,
// `item()` and the js kernels read and wrote the wrong floats (GPT-2 124M's full fine-tune went to
// NaN once its gradients and AdamW state passed 2 GiB). A hole of 2 GiB (never touched, so it
// costs no RAM) puts the tensors above the line.
describe("tensors above 2 GiB of wasm memory", () => {
  it.each(["wasm", "js"] as const)("%s: values written and read above 2 GiB are the values", (name) => {
    const be = createBackend(name);
    const hole = be.heap.alloc(2 ** 31);
    try {
      setBackend(be);
      const a = tensor([1, 2, 3, 4], { shape: [2, 2] });
      const b = tensor([10, 20, 30, 40], { shape: [2, 2] });
      expect(a.ptr).toBeGreaterThanOrEqual(2 ** 31);
      expect(Array.from(a.data)).toEqual([1, 2, 3, 4]);
      const c = noGrad(() => a.add(b).mul(2).sum());
      expect(c.item()).toBe(220);
      const col = zeros([2, 2]);
      col.select(1, 0).fill_(7); // a strided view: the fill goes through a one-element temporary
      expect(Array.from(col.toArray())).toEqual([7, 0, 7, 0]);
      const ids = tensor(Int32Array.from([5, 6, 7]), { dtype: "int32" });
      expect(Array.from(ids.data)).toEqual([5, 6, 7]);
    } finally {
      be.heap.free(hole);
    }
  });
});
