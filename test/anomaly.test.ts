// Anomaly mode (autograd.setDetectAnomaly / detectAnomaly, like torch.autograd.detect_anomaly):
// off by default and then free (no scan runs); on, the first NaN/Inf an op makes — in forward,
// in a gradient in backward, or in a parameter in optimizer.step() — throws an AnomalyError that
// names the op, the direction and the shapes, and the library goes on working afterwards.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AnomalyError, Generator, autograd, createBackend, manualSeed, nn, noGrad, ops, optim, setBackend, tensor, zeros } from "../src/index.js";
import { thrown } from "./helpers/errors.js";
import type { Backend } from "../src/backend/index.js";

afterEach(() => autograd.setDetectAnomaly(false));

/** Counts calls of the scan kernel on top of a real backend. */
function counting(real: Backend) {
  let scans = 0;
  const b = {
    ...real,
    nonfiniteCount: (x: number, n: number) => {
      scans++;
      return real.nonfiniteCount(x, n);
    },
  } as Backend;
  return { backend: b, scans: () => scans };
}

/** Calls fn, expects an AnomalyError, returns it. */
const anomaly = (fn: () => unknown): AnomalyError => thrown(AnomalyError, fn);

function trainSteps(be: Backend, steps: number) {
  setBackend(be);
  manualSeed(4);
  const g = new Generator(8);
  const x = tensor(
    Array.from({ length: 32 * 5 }, () => g.normal()),
    { shape: [32, 5] },
  );
  const y = tensor(Int32Array.from({ length: 32 }, (_, i) => i % 3));
  const model = new nn.Sequential(new nn.Linear(5, 7), new nn.ReLU(), new nn.Linear(7, 3));
  const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    opt.zeroGrad();
    const loss = nn.functional.crossEntropy(model(x), y);
    loss.backward();
    opt.step();
    losses.push(loss.item());
  }
  return { losses, weights: model.parameters().map((p) => Array.from(p.data)) };
}

for (const name of ["wasm", "js"] as const) {
  describe(`anomaly mode [${name}]`, () => {
    it("is off by default, and then no scan runs; on, training gives the same bits", () => {
      expect(autograd.isAnomalyEnabled()).toBe(false);
      const off = counting(createBackend(name));
      const a = trainSteps(off.backend, 5);
      expect(off.scans()).toBe(0);
      const on = counting(createBackend(name));
      autograd.setDetectAnomaly(true);
      const b = trainSteps(on.backend, 5);
      expect(on.scans()).toBeGreaterThan(5 * 10); // every op output, gradient and parameter
      expect(b).toEqual(a);
    });

    it("forward: names the op that made NaN/Inf from finite inputs, with the shapes", () => {
      const be = createBackend(name);
      const x = tensor(
        [
          [0, 1],
          [2, 3],
        ],
        { backend: be, requiresGrad: true },
      );
      autograd.setDetectAnomaly(true);
      const e = anomaly(() => x.mul(Infinity)); // 0 · ∞ = NaN, the rest ±∞
      expect(e.message).toMatch(
        /^mul \(forward\) produced 4 non-finite values \(NaN or ±Infinity\) in its output of shape \[2, 2\], first NaN at index 0; inputs: a \(input 0\) \[2, 2\]\. All its inputs were finite: this op made them/,
      );
      // An overflow inside a fused kernel: logits of 1e38 · 1e38.
      const W = tensor([[1e38, 1e38]], { backend: be, requiresGrad: true });
      const big = tensor([[1e38, 1]], { backend: be });
      const e2 = anomaly(() => ops.linear(big, W));
      expect(e2.message).toMatch(
        /^linear \(forward\) produced 1 non-finite value .* output of shape \[1, 1\], first Infinity at index 0; inputs: input \(input 0\) \[1, 2\], weight \(input 1\) \[1, 2\]\. All its inputs were finite/,
      );
    });

    it("forward: says when the NaN came in with an input (the data or a parameter)", () => {
      const be = createBackend(name);
      const x = tensor([[1, NaN, 3]], { backend: be });
      const W = tensor(
        [
          [1, 1, 1],
          [2, 2, 2],
        ],
        { backend: be, requiresGrad: true },
      );
      const e = autograd.detectAnomaly(() => anomaly(() => ops.linear(x, W)));
      expect(e.message).toMatch(
        /^linear \(forward\) produced 2 non-finite values .* inputs: input \(input 0\) \[1, 3\] with 1 non-finite, weight \(input 1\) \[2, 3\]\. An input was already non-finite: the values came from before this op/,
      );
      // Views are not blamed (reshape shares its input's memory): the next op is.
      autograd.setDetectAnomaly(true);
      const v = x.view(3);
      expect(v.shape).toEqual([3]);
      expect(anomaly(() => v.relu()).message).toMatch(/^relu \(forward\)/);
    });

    it("backward: names the op whose gradient became non-finite, the input, and the forward call", () => {
      const be = createBackend(name);
      // Finite forward (Σ 1e38 · 1e-38 = 2 per row), but dx = Σ_out dy · W = 4 · 1e38 overflows.
      const W = tensor(new Float32Array(8).fill(1e38), { shape: [4, 2], backend: be, requiresGrad: true });
      const x = tensor([[1e-38, 1e-38]], { backend: be, requiresGrad: true });
      autograd.setDetectAnomaly(true);
      const loss = ops.linear(x, W).sum();
      expect(loss.item()).toBeCloseTo(8, 3);
      const e = anomaly(() => loss.backward());
      expect(e.message).toMatch(
        /^linear \(backward\) produced 2 non-finite values \(NaN or ±Infinity\) in the gradient of its input \(input 0\) of shape \[1, 2\], first Infinity at index 0; the gradient flowing into it \(shape \[1, 4\]\) was finite; forward: \[1, 2\], \[4, 2\] → \[1, 4\]\./,
      );
      expect(e.message).toMatch(/The forward call of linear:\n/);
      expect(e.message).toContain("anomaly.test.ts"); // where ops.linear was called
      // A gradient passed in that is already non-finite is named as such.
      const y = x.mul(2);
      const e2 = anomaly(() => y.backward(tensor([[NaN, 1]], { backend: be })));
      expect(e2.message).toMatch(/^backward\(gradient\): the gradient passed in \(shape \[1, 2\]\) holds 1 non-finite values, first NaN at index 0/);
    });

    it("optimizer.step(): names the parameter an update made non-finite", () => {
      const be = createBackend(name);
      const p = tensor([1, 2, 3], { backend: be, requiresGrad: true });
      const opt = new optim.SGD([p], { lr: 1e38 });
      autograd.setDetectAnomaly(true);
      p.mul(1e10).sum().backward(); // grad 1e10 everywhere, finite; the update is 1e48
      const e = anomaly(() => opt.step());
      expect(e.message).toMatch(
        /^SGD\.step made 3 values of parameter 0 of group 0 \(shape \[3\]\) non-finite \(NaN or ±Infinity\); its gradient was finite \(options: lr 1e\+38; a learning rate too high\?\)/,
      );
    });

    it("detectAnomaly(fn) turns it on for fn only, also when fn throws; the library goes on", () => {
      const be = createBackend(name);
      const x = tensor([0, 1], { backend: be, requiresGrad: true });
      expect(autograd.detectAnomaly(() => autograd.isAnomalyEnabled())).toBe(true);
      expect(autograd.isAnomalyEnabled()).toBe(false);
      anomaly(() => autograd.detectAnomaly(() => x.mul(Infinity)));
      expect(autograd.isAnomalyEnabled()).toBe(false);
      // Off, the same op just computes NaN (as in PyTorch).
      expect(Number.isNaN(x.mul(Infinity).data[0])).toBe(true);
      // After errors in forward and backward, training still works on the same backend.
      const a = trainSteps(be, 10);
      expect(a.losses[9]).toBeLessThan(a.losses[0]);
      autograd.setDetectAnomaly(true);
      const b = trainSteps(be, 3);
      expect(b.losses.every(Number.isFinite)).toBe(true);
    });

    it("async: detectAnomaly keeps the mode on until the promise settles", async () => {
      const be = createBackend(name);
      const result = autograd.detectAnomaly(async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return autograd.isAnomalyEnabled();
      });
      expect(autograd.isAnomalyEnabled()).toBe(true);
      expect(await result).toBe(true);
      expect(autograd.isAnomalyEnabled()).toBe(false);
      noGrad(() => zeros([2], { backend: be }).add(1)); // fine either way
    });
  });
}

describe("the nonfiniteCount kernel", () => {
  it("counts NaN, +Inf and -Inf (not huge or subnormal values) at any length and alignment, same on both backends", () => {
    const g = new Generator(2);
    for (const name of ["wasm", "js"] as const) {
      const be = createBackend(name);
      for (const n of [0, 1, 3, 4, 5, 17, 64, 1001]) {
        for (const offset of [0, 1, 3]) {
          const base = be.heap.alloc((n + offset + 8) * 4);
          const at = (base >> 2) + offset;
          const f = be.f32();
          f.fill(7, base >> 2, at + n + 8); // finite guards on both sides
          let expected = 0;
          for (let i = 0; i < n; i++) {
            const r = g.random();
            f[at + i] = r < 0.1 ? NaN : r < 0.15 ? Infinity : r < 0.2 ? -Infinity : r < 0.3 ? 3.4e38 : r < 0.4 ? 1e-45 : g.normal();
            if (r < 0.2) expected++;
          }
          f[at + n] = NaN; // just past the end: must not be counted
          expect(be.nonfiniteCount(at * 4, n), `${name}, n ${n}, offset ${offset}`).toBe(expected);
          be.heap.free(base);
        }
      }
    }
  });
});

describe("examples/mnist-mlp.ts on a diverging run", () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", "--conditions=wasmgrad-source", join(import.meta.dirname, "..", "examples", "mnist-mlp.ts"), ...args],
        { cwd: join(import.meta.dirname, ".."), stdio: ["ignore", "pipe", "pipe"] },
      );
      let out = "",
        err = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (err += d));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, out, err }));
    });

  it("stops at the first NaN loss with a clear message (and names the op with --detect-anomaly)", async () => {
    const common = ["--lr", "1e6", "--limit", "2000", "--epochs", "3"];
    const [plain, anomaly] = await Promise.all([run(common), run([...common, "--detect-anomaly"])]);
    expect(plain.code).toBe(1);
    expect(plain.out).not.toMatch(/NaN/);
    expect(plain.out).not.toMatch(/Epoch \d+ - Training loss/);
    expect(plain.err).toMatch(
      /^Epoch 1, batch \d+: the training loss is NaN\. Training diverged; stopping \(a learning rate of 1000000 may be too high\)\. Rerun with --detect-anomaly/m,
    );
    expect(anomaly.code).toBe(1);
    expect(anomaly.err).toMatch(/^Epoch 1, batch \d+: \w+ \((forward|backward)\) produced \d+ non-finite values? .* Training diverged; stopping/m);
    expect(anomaly.err).not.toMatch(/ {4}at /); // a message, not a stack trace
  });
});
