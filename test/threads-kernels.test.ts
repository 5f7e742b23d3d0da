// Every kernel family the thread pool splits (src/backend/split-kernels.ts) gives bitwise the
// results of the same backend without a pool — and of the plain-JS backend where those agree —
// on sizes past the split thresholds and not multiples of 4; whole training steps (a CNN with
// batch norm and Adam, a small GPT) give bitwise the same weights with 1 and 2 threads.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Backend, createBackend } from "../src/backend/index.js";
import { JOBS } from "../src/backend/threads.js";
import { DataLoader, Generator, data, getBackend, manualSeed, models, nn, optim, setBackend, setNumThreads, tensor } from "../src/index.js";
import { workersReady } from "./helpers/threads.js";

describe("the pool's job table", () => {
  it("gives every job the argument kinds of the kernel's wasm signature (f32 → f, the rest → i)", () => {
    const text = readFileSync(new URL("../src/backend/kernel-exports.generated.ts", import.meta.url), "utf8");
    const kinds = new Map<string, string>();
    for (const m of text.matchAll(/wasm: \(([^)]*)\)[^\n]*\n\s*\*\/\n\s*(\w+)\(/g)) {
      const params = m[1].trim() === "" ? [] : m[1].split(",").map((p) => p.split(":")[1].trim());
      kinds.set(m[2], params.map((t) => (t === "f32" ? "f" : t === "f64" ? "d" : "i")).join(""));
    }
    expect(kinds.size).toBeGreaterThan(50);
    for (const [name, sig] of Object.entries(JOBS)) expect(`${name}(${sig})`).toBe(`${name}(${kinds.get(name)})`);
  });
});

/** A buffer of a case: n floats drawn N(0, 1) (|N(0, 1)| if positive), or the given int32 values. */
type Buf = { n: number; positive?: boolean } | { ints: Int32Array };

/**
 * Runs `call` on fresh copies of `bufs` on `be` and returns every buffer's bytes afterwards (inputs
 * and outputs: a range that wrote outside its slice would show too).
 */
function runOn(be: Backend, bufs: Buf[], call: (be: Backend, p: number[]) => void): Buffer[] {
  const g = new Generator(7);
  const ptrs = bufs.map((b) => {
    const n = "ints" in b ? b.ints.length : b.n;
    const p = be.heap.alloc(Math.max(4, n * 4));
    if ("ints" in b) be.i32().set(b.ints, p >> 2);
    else {
      const f = be.f32();
      for (let i = 0; i < n; i++) f[(p >> 2) + i] = b.positive ? Math.abs(g.normal()) : g.normal();
    }
    return p;
  });
  call(be, ptrs);
  const out = bufs.map((b, i) => Buffer.from(be.u8().slice(ptrs[i], ptrs[i] + 4 * ("ints" in b ? b.ints.length : b.n))));
  for (const p of ptrs) be.heap.free(p);
  return out;
}

describe("kernels on a 2-thread pool", () => {
  const one = createBackend("wasm");
  const two = createBackend("wasm");
  const js = createBackend("js");
  beforeAll(async () => {
    expect(two.setNumThreads(2)).toBe(2);
    await workersReady(two);
    // Split whenever the call is past the spinning-worker threshold, even if the worker sleeps:
    // the split itself, not the worker's timing, is under test.
    two.threadPool!()!.splitMinFlops = 0;
  });
  afterAll(() => two.setNumThreads(1));

  /**
   * Checks `call` on 2 threads against 1 thread, and that the pool split it; and against the js
   * backend if `vsJs` (kernels whose js twin is bitwise equal to the wasm one; the others, the
   * optimizers, softmax, the norms and average pooling, differ in the last bits on one thread too).
   */
  const check = (name: string, bufs: Buf[], call: (be: Backend, p: number[]) => void, vsJs = true) => {
    const before = two.threadStats()!.postedSlices;
    const threaded = runOn(two, bufs, call);
    expect(two.threadStats()!.postedSlices, `${name} was split`).toBeGreaterThan(before);
    const single = runOn(one, bufs, call);
    threaded.forEach((b, i) => expect(b.equals(single[i]), `${name}: buffer ${i} equals one thread's`).toBe(true));
    if (vsJs) {
      const plain = runOn(js, bufs, call);
      threaded.forEach((b, i) => expect(b.equals(plain[i]), `${name}: buffer ${i} equals the js backend's`).toBe(true));
    }
  };

  it("splits elementwise kernels by element ranges", () => {
    const n = 700_001; // past 1e6 / COST.elementwise, odd
    const three = [{ n }, { n }, { n }];
    check("add", three, (be, [d, a, b]) => be.add(d, a, b, n));
    check("sub", three, (be, [d, a, b]) => be.sub(d, a, b, n));
    check("mul", three, (be, [d, a, b]) => be.mul(d, a, b, n));
    check("affine", three, (be, [d, a]) => be.affine(d, a, 1.7, -0.3, n));
    check("axpy", three, (be, [d, a]) => be.axpy(d, a, 0.37, n));
    check("fill", three, (be, [d]) => be.fill(d, n, 2.5));
    check("relu", three, (be, [d, a]) => be.relu(d, a, n));
    check("reluBackward", three, (be, [dx, dy, y]) => be.reluBackward(dx, dy, y, n));
    check("rowwise", [{ n: 1001 * 701 }, { n: 1001 * 701 }, { n: 701 }], (be, [d, a, row]) => be.rowwise(d, a, row, 1001, 701, 2));
  });

  it("splits the optimizer steps by parameter ranges (absent optional states stay absent)", () => {
    const n = 250_003;
    const bufs = (k: number) => Array.from({ length: k }, (_, i) => ({ n, positive: i >= 2 }));
    check("sgd", bufs(3), (be, [p, g, b]) => be.sgdStep(p, g, b, n, 0.01, 0.9, 1, 1e-4, true, false, false), false);
    check("sgd without momentum", bufs(2), (be, [p, g]) => be.sgdStep(p, g, 0, n, 0.01, 0, 1, 0, false, true, false), false);
    check(
      "adam amsgrad",
      bufs(5),
      (be, [p, g, m, v, vm]) => be.adamStep(p, g, m, v, vm, n, 0.1, 0.999, 0.001, 1e-8, 0.01, 0.999, true, true, false, 1e-3, 0.03),
      false,
    );
    check("adam", bufs(4), (be, [p, g, m, v]) => be.adamStep(p, g, m, v, 0, n, 0.1, 0.999, 0.001, 1e-8, 0, 1, false, false, true, 1e-3, 0.03), false);
    check("rmsprop", bufs(5), (be, [p, g, sq, avg, buf]) => be.rmspropStep(p, g, sq, avg, buf, n, 0.01, 0.99, 0.01, 1e-8, 0.001, 0.9, true, false), false);
    check("adagrad", bufs(3), (be, [p, g, s]) => be.adagradStep(p, g, s, n, 0.01, 1e-10, 0.001, false), false);
    check("adadelta", bufs(4), (be, [p, g, sq, acc]) => be.adadeltaStep(p, g, sq, acc, n, 1, 0.9, 0.1, 1e-6, 0.001, false), false);
    check("adamax", bufs(4), (be, [p, g, m, u]) => be.adamaxStep(p, g, m, u, n, 0.9, 0.1, 0.999, 1e-8, 0.001, 0.002, false), false);
    check("nadam", bufs(4), (be, [p, g, m, v]) => be.nadamStep(p, g, m, v, n, 0.9, 0.1, 0.999, 0.001, 1e-8, 0.001, 0.3, 0.9, 0.05), false);
    check("radam", bufs(4), (be, [p, g, m, v]) => be.radamStep(p, g, m, v, n, 0.9, 0.1, 0.999, 0.001, 1e-8, 0.001, 0.5, 0.001, true, 0.7), false);
  });

  it("splits softmax, log-softmax and logsumexp over a dim by outer blocks", () => {
    for (const [outer, R, inner] of [
      [101, 83, 11],
      [1001, 97, 1],
    ]) {
      const n = outer * R * inner;
      for (const log of [false, true]) {
        check(`softmaxDim ${outer}×${R}×${inner} log=${log}`, [{ n }, { n }], (be, [y, x]) => be.softmaxDim(y, x, outer, R, inner, log), false);
        check(
          `softmaxDimBackward ${outer}×${R}×${inner} log=${log}`,
          [{ n }, { n }, { n }],
          (be, [dx, dy, y]) => be.softmaxDimBackward(dx, dy, y, outer, R, inner, log),
          false,
        );
      }
      check(`logsumexpDim ${outer}×${R}×${inner}`, [{ n: outer * inner }, { n }], (be, [d, x]) => be.logsumexpDim(d, x, outer, R, inner), false);
    }
  });

  it("splits layer norm and RMS norm forward by rows", () => {
    const [M, N] = [1001, 173];
    const rows = [{ n: M * N }, { n: M }, { n: M }, { n: M * N }, { n: N }, { n: N }];
    check("layerNorm", rows, (be, [y, mean, rstd, x, w, b]) => be.layerNorm(y, mean, rstd, x, w, b, M, N, 1e-5), false);
    check("layerNorm without affine", rows, (be, [y, mean, rstd, x]) => be.layerNorm(y, mean, rstd, x, 0, 0, M, N, 1e-5), false);
    check("rmsNorm", rows, (be, [y, rstd, x, w]) => be.rmsNorm(y, rstd, x, w, M, N, 1e-6), false);
  });

  it("splits batch norm forward by samples", () => {
    const [N, C, S] = [11, 5, 9803];
    check(
      "bnForward",
      [{ n: N * C * S }, { n: N * C * S }, { n: C }, { n: C, positive: true }, { n: C }, { n: C }],
      (be, [y, x, m, r, w, b]) => be.bnForward(y, x, m, r, w, b, N, C, S),
      false,
    );
  });

  it("splits im2col and col2im by channels (col2im's overlapping windows stay in one thread)", () => {
    for (const [C, H, k, s, p, d] of [
      [99, 15, 5, 1, 2, 1],
      [251, 31, 3, 2, 1, 2],
    ]) {
      const W = H;
      const OH = Math.floor((H + 2 * p - d * (k - 1) - 1) / s) + 1;
      const ld = 2 * OH * OH + 3; // the columns of one image inside a wider group
      const geometry = [C, H, W, k, k, s, s, p, p, d, d, OH, OH, ld] as const;
      const bufs = [{ n: C * k * k * ld }, { n: C * H * W }];
      expect(C * k * k * OH * OH * 2).toBeGreaterThan(1e6); // past the threshold
      check(`im2col k${k} s${s}`, bufs, (be, [cols, x]) => be.im2col(cols, x, ...geometry, 1));
      for (const acc of [false, true]) check(`col2im k${k} s${s} acc=${acc}`, bufs, (be, [cols, dx]) => be.col2im(dx, cols, ...geometry, acc, 1));
    }
  });

  it("splits im2col and col2im over several images by images, as the conv gemm splits its columns", () => {
    // A conv group of 8 images, 6 channels 20×20, 3×3 pad 1: below the one-image channel
    // threshold, above the several-image one.
    const [G, C, H] = [8, 6, 20];
    const P = H * H;
    const geometry = [C, H, H, 3, 3, 1, 1, 1, 1, 1, 1, H, H, G * P] as const;
    const bufs = [{ n: C * 9 * G * P }, { n: G * C * H * H }];
    check("im2col of 8 images", bufs, (be, [cols, x]) => be.im2col(cols, x, ...geometry, G));
    for (const acc of [false, true]) check(`col2im of 8 images acc=${acc}`, bufs, (be, [cols, dx]) => be.col2im(dx, cols, ...geometry, acc, G));
    // …and equal to one call per image (what conv2d made before), on one thread.
    const perImage = runOn(one, bufs, (be, [cols, x]) => {
      for (let i = 0; i < G; i++) be.im2col(cols + 4 * i * P, x + 4 * i * C * H * H, ...geometry, 1);
    });
    const whole = runOn(one, bufs, (be, [cols, x]) => be.im2col(cols, x, ...geometry, G));
    expect(whole[0].equals(perImage[0])).toBe(true);
    const perImageDx = runOn(one, bufs, (be, [cols, dx]) => {
      for (let i = 0; i < G; i++) be.col2im(dx + 4 * i * C * H * H, cols + 4 * i * P, ...geometry, false, 1);
    });
    const wholeDx = runOn(one, bufs, (be, [cols, dx]) => be.col2im(dx, cols, ...geometry, false, G));
    expect(wholeDx[1].equals(perImageDx[1])).toBe(true);
  });

  it("splits max and average pooling by planes", () => {
    const [P, H, W] = [1001, 23, 23];
    for (const [k, s, p] of [
      [2, 2, 0],
      [3, 2, 1],
    ]) {
      const OH = Math.floor((H + 2 * p - k) / s) + 1;
      const geometry = [H, W, k, k, s, s, p, p, OH, OH] as const;
      const outN = P * OH * OH;
      check(`maxPool2d k${k}`, [{ n: outN }, { n: outN }, { n: P * H * W }], (be, [y, idx, x]) => be.maxPool2d(y, idx, x, P, ...geometry));
      // indices from a real forward pass
      const idx = new Int32Array(
        runOn(one, [{ n: outN }, { n: outN }, { n: P * H * W }], (be, [y, i, x]) => be.maxPool2d(y, i, x, P, ...geometry))[1].buffer.slice(0),
      );
      for (const acc of [false, true]) {
        check(`maxPool2dBackward k${k} acc=${acc}`, [{ n: P * H * W }, { n: outN }, { ints: idx }], (be, [dx, dy, i]) =>
          be.maxPool2dBackward(dx, dy, i, P, H, W, OH, OH, acc),
        );
        check(
          `avgPool2dBackward k${k} acc=${acc}`,
          [{ n: P * H * W }, { n: outN }],
          (be, [dx, dy]) => be.avgPool2dBackward(dx, dy, P, ...geometry, acc),
          false,
        );
      }
      check(`avgPool2d k${k}`, [{ n: outN }, { n: P * H * W }], (be, [y, x]) => be.avgPool2d(y, x, P, ...geometry), false);
    }
  });

  it("does not split a call below the threshold while the worker sleeps", async () => {
    const be = createBackend("wasm");
    be.setNumThreads(2);
    await workersReady(be);
    await new Promise((r) => setTimeout(r, 50)); // the worker spins 2 ms after its last job
    const before = be.threadStats()!.postedSlices;
    runOn(be, [{ n: 100_001 }, { n: 100_001 }], (b, [d, a]) => b.relu(d, a, 100_001));
    expect(be.threadStats()!.postedSlices).toBe(before);
    be.setNumThreads(1);
  });
});

describe("training steps on 2 threads", () => {
  afterAll(() => {
    setNumThreads(1);
    setBackend("wasm");
  });

  /** Runs `train` on a fresh wasm backend with `threads` threads (every call past the spinning threshold split). */
  const on = async (threads: number, train: () => Float32Array[]) => {
    const be = createBackend("wasm");
    setBackend(be);
    be.setNumThreads(threads);
    await workersReady(be);
    if (threads > 1) be.threadPool!()!.splitMinFlops = 0;
    const weights = train().map((w) => Buffer.from(w.buffer.slice(0)));
    const stats = be.threadStats();
    be.setNumThreads(1);
    return { weights, stats };
  };

  it("a CNN (Conv2d + BatchNorm2d + ReLU + MaxPool2d + Linear, Adam) gets bitwise the same weights", async () => {
    const train = () => {
      manualSeed(0);
      const g = new Generator(1);
      // 64 × 32 × 28 × 28 activations and a 627k-weight Linear: past every family's threshold
      const x = tensor(
        Float32Array.from({ length: 128 * 784 }, () => g.normal()),
        { shape: [128, 1, 28, 28] },
      );
      const y = tensor(Int32Array.from({ length: 128 }, () => g.randint(10)));
      const model = new nn.Sequential(
        new nn.Conv2d(1, 32, 3, { padding: 1 }),
        new nn.BatchNorm2d(32),
        new nn.ReLU(),
        new nn.MaxPool2d(2),
        new nn.Flatten(),
        new nn.Linear(32 * 14 * 14, 100),
        new nn.ReLU(),
        new nn.Linear(100, 10),
      );
      const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
      const loss = new nn.CrossEntropyLoss();
      for (const [xb, yb] of new DataLoader(new data.TensorDataset(x, y), { batchSize: 64 })) {
        opt.zeroGrad();
        loss(model(xb), yb).backward();
        opt.step();
      }
      return [...model.parameters(), ...model.buffers()].map((p) => p.data.slice() as Float32Array);
    };
    const one = await on(1, train);
    const two = await on(2, train);
    // (conv1's im2col has one channel; col2im is not needed for the input)
    for (const k of [
      "gemm",
      "bnStats",
      "bnForward",
      "bnBackwardSums",
      "bnBackwardDx",
      "relu",
      "reluBackward",
      "maxPool2d",
      "maxPool2dBackward",
      "adamStep",
    ] as const) {
      expect(two.stats!.byKernel[k], `${k} was split`).toBeGreaterThan(0);
    }
    two.weights.forEach((w, i) => expect(w.equals(one.weights[i]), `tensor ${i}`).toBe(true));
  }, 60_000);

  it("a small GPT gets bitwise the same weights", async () => {
    const train = () => {
      manualSeed(0);
      const g = new Generator(2);
      // 8 × 96 tokens of 256 features (layer norm past its threshold), a 262k-weight MLP matrix (Adam's)
      const [B, T] = [8, 96];
      const model = new models.GPT({ vocabSize: 301, blockSize: T, nLayer: 1, nHead: 4, nEmbd: 256, dropout: 0 });
      const opt = new optim.AdamW(model.parameters(), { lr: 1e-3 });
      for (let step = 0; step < 2; step++) {
        const idx = tensor(
          Int32Array.from({ length: B * T }, () => g.randint(301)),
          { shape: [B, T] },
        );
        const targets = tensor(
          Int32Array.from({ length: B * T }, () => g.randint(301)),
          { shape: [B, T] },
        );
        opt.zeroGrad();
        model.forward(idx, targets)[1]!.backward();
        opt.step();
      }
      return model.parameters().map((p) => p.data.slice() as Float32Array);
    };
    const one = await on(1, train);
    const two = await on(2, train);
    for (const k of ["gemm", "attentionForward", "attentionBackward", "unary", "unaryBackward", "layerNorm", "adamStep"] as const) {
      expect(two.stats!.byKernel[k], `${k} was split`).toBeGreaterThan(0);
    }
    expect(getBackend().name).toBe("wasm");
    two.weights.forEach((w, i) => expect(w.equals(one.weights[i]), `parameter ${i}`).toBe(true));
  }, 60_000);
});
