// models.GPT: a 2-layer GPT against real PyTorch 1.13 (test/reference/gpt.py, the model in
// examples/pytorch/gpt_model.py): torch's state dict loads unchanged, logits, loss and every
// parameter's gradient match, and three AdamW steps with nanoGPT's parameter groups follow torch's
// trajectory; KV-cache generation equals the no-cache forward token for token (also past the block
// size); memory stays flat over 1,000 training steps; bad input names the problem.
import { describe, expect, it } from "vitest";
import { type Backend, createBackend } from "../../src/backend/index.js";
import { ShapeError, type Tensor, ValueError, models, setBackend, tensor } from "../../src/index.js";
import { Generator } from "../../src/random.js";
import { thrown } from "../helpers/errors.js";
import { type GoldenTensor, expectGoldenClose, loadGolden, toTensor } from "../helpers/golden.js";

interface GptGolden {
  state: Record<string, GoldenTensor>;
  idx: GoldenTensor;
  targets: GoldenTensor;
  logits: GoldenTensor;
  loss: number;
  grads: Record<string, GoldenTensor>;
  adamw: { lr: number; weightDecay: number; betas: [number, number]; losses: number[]; params: Record<string, GoldenTensor> };
}
const golden = loadGolden<GptGolden>("gpt");
const CONFIG = { vocabSize: 11, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 8 };

/** nanoGPT's configure_optimizers. */
const nanoAdamW = (model: models.GPT, lr: number, weightDecay: number, betas: [number, number]) => model.configureOptimizers({ lr, weightDecay, betas });

describe.each(["wasm", "js"] as const)("models.GPT vs PyTorch 1.13 [%s]", (name) => {
  const be: Backend = createBackend(name);

  it("loads torch's state dict; logits, loss and every gradient match", () => {
    setBackend(be);
    const model = new models.GPT(CONFIG);
    expect(Object.keys(model.stateDict())).toEqual(Object.keys(golden.state));
    model.loadStateDict(Object.fromEntries(Object.entries(golden.state).map(([k, v]) => [k, toTensor(v, be)])));
    const idx = toTensor(golden.idx, be),
      targets = toTensor(golden.targets, be);
    const [logits, loss] = model.forward(idx, targets);
    expectGoldenClose("logits", logits.toArray(), golden.logits, 1e-5, 1e-6);
    expect(loss!.item()).toBeCloseTo(golden.loss, 5);
    loss!.backward();
    const params = Object.fromEntries(model.namedParameters());
    expect(Object.keys(params)).toEqual(Object.keys(golden.grads));
    for (const [k, g] of Object.entries(golden.grads)) expectGoldenClose(`${k} grad`, params[k].grad!.toArray(), g, 1e-4, 1e-5);
  });

  it("three AdamW steps (nanoGPT's groups) follow torch's trajectory", () => {
    setBackend(be);
    const model = new models.GPT(CONFIG);
    model.loadStateDict(Object.fromEntries(Object.entries(golden.state).map(([k, v]) => [k, toTensor(v, be)])));
    const { lr, weightDecay, betas, losses, params } = golden.adamw;
    const opt = nanoAdamW(model, lr, weightDecay, betas);
    const idx = toTensor(golden.idx, be),
      targets = toTensor(golden.targets, be);
    for (const want of losses) {
      const [, loss] = model.forward(idx, targets);
      expect(loss!.item()).toBeCloseTo(want, 4);
      opt.zeroGrad();
      loss!.backward();
      opt.step();
    }
    const ours = Object.fromEntries(model.namedParameters());
    for (const [k, p] of Object.entries(params)) {
      let got = Array.from(ours[k].toArray());
      let want = p;
      if (k.endsWith("c_attn.bias")) {
        // The key bias gets a gradient that is zero in exact arithmetic (softmax ignores a shift
        // shared by all keys): Adam turns its float noise into ±lr steps, in torch as here.
        const E = CONFIG.nEmbd;
        got = [...got.slice(0, E), ...got.slice(2 * E)];
        want = { ...p, data: [...p.data.slice(0, E), ...p.data.slice(2 * E)] };
      }
      expectGoldenClose(`${k} after 3 steps`, got, want, 1e-4, 1e-5);
    }
  });

  it("KV-cache generation equals the no-cache forward token for token (greedy, past the block size)", () => {
    setBackend(be);
    const model = new models.GPT({ ...CONFIG, vocabSize: 13 });
    const prompt = [
      [1, 5, 2],
      [7, 7, 0],
    ];
    const cached = model.generate(prompt, { maxNewTokens: 12, temperature: 0 });
    // No cache: the whole (cropped) context through forward for every token, as nanoGPT.
    const rows = prompt.map((r) => [...r]);
    for (let step = 0; step < 12; step++) {
      const ctx = rows.map((r) => r.slice(-CONFIG.blockSize));
      const [logits] = model.forward(tensor(ctx, { dtype: "int32" }));
      const V = 13,
        T = ctx[0].length;
      const all = Float32Array.from(logits.toArray());
      rows.forEach((r, b) => {
        const last = all.subarray((b * T + T - 1) * V, (b * T + T) * V);
        r.push(last.indexOf(Math.max(...last)));
      });
    }
    expect(cached.tolist()).toEqual(rows);
    expect(cached.dtype).toBe("int32");
  });

  it("streams tokens through onToken and stream(); a seed makes sampling repeatable", () => {
    setBackend(be);
    const model = new models.GPT(CONFIG);
    const seen: number[] = [];
    const out = model.generate([[3]], { maxNewTokens: 5, seed: 7, topK: 4, topP: 0.9, temperature: 0.8, onToken: (t) => seen.push(t[0]) });
    expect(out.shape).toEqual([1, 6]);
    expect(seen).toEqual((out.tolist() as number[][])[0].slice(1));
    expect(Array.from(model.stream([[3]], { maxNewTokens: 5, seed: 7, topK: 4, topP: 0.9, temperature: 0.8 }), (t) => t[0])).toEqual(seen);
    // topK 1 is greedy
    expect(model.generate([[3]], { maxNewTokens: 4, topK: 1, seed: 1 }).tolist()).toEqual(model.generate([[3]], { maxNewTokens: 4, temperature: 0 }).tolist());
  });
});

describe("models.GPT memory", () => {
  it("stays flat over 1,000 AdamW training steps (live bytes, blocks and wasm memory)", () => {
    const be = createBackend("wasm");
    setBackend(be);
    const model = new models.GPT({ vocabSize: 16, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16 });
    const opt = nanoAdamW(model, 3e-3, 0.1, [0.9, 0.95]);
    const g = new Generator(0);
    // A fixed rule to learn: the next token is (token + 1) mod 16.
    const batch = () => {
      const x = Array.from({ length: 4 }, () => {
        const s = Math.floor(g.random() * 16);
        return Array.from({ length: 8 }, (_, t) => (s + t) % 16);
      });
      return [
        tensor(x, { dtype: "int32" }),
        tensor(
          x.map((r) => r.map((v) => (v + 1) % 16)),
          { dtype: "int32" },
        ),
      ];
    };
    let warm: ReturnType<Backend["heap"]["stats"]> | null = null;
    const worst = { liveBytes: 0, liveBlocks: 0, memoryBytes: 0 };
    const losses: number[] = [];
    for (let k = 1; k <= 1000; k++) {
      const [x, y] = batch();
      const [, loss] = model.forward(x, y);
      opt.zeroGrad();
      loss!.backward();
      opt.step();
      losses.push(loss!.item());
      x.dispose();
      y.dispose();
      const s = be.heap.stats();
      if (k === 10) warm = s;
      else if (k > 10) {
        worst.liveBytes = Math.max(worst.liveBytes, s.liveBytes);
        worst.liveBlocks = Math.max(worst.liveBlocks, s.liveBlocks);
        worst.memoryBytes = Math.max(worst.memoryBytes, s.memoryBytes);
      }
    }
    expect(worst.liveBytes, "liveBytes grew after warm-up").toBeLessThanOrEqual(warm!.liveBytes);
    expect(worst.liveBlocks, "live blocks grew after warm-up").toBeLessThanOrEqual(warm!.liveBlocks);
    expect(worst.memoryBytes, "wasm memory grew after warm-up").toBeLessThanOrEqual(warm!.memoryBytes);
    expect(losses.slice(-10).reduce((a, b) => a + b) / 10).toBeLessThan(0.2);
  }, 120_000);
});

describe("models.GPT bad input", () => {
  const be = createBackend("wasm");
  it("names the problem", () => {
    setBackend(be);
    const model = new models.GPT(CONFIG);
    const ids = (rows: number[][]) => tensor(rows, { dtype: "int32" });
    expect(thrown(ValueError, () => model.forward(tensor([[1, 2]]))).message).toMatch(/idx must be an int32 tensor of token ids, got float32/);
    expect(thrown(ShapeError, () => model.forward(ids([[1, 2, 3, 4, 5, 6, 7, 8, 9]]))).message).toMatch(/length 9, block size is only 8/);
    expect(thrown(ValueError, () => model.forward(ids([[1, 11]]))).message).toMatch(/idx\[1\] = 11 is not a token id \(vocabSize 11\)/);
    expect(thrown(ShapeError, () => model.forward(ids([[1, 2]]), ids([[1, 2, 3]]))).message).toMatch(/targets \[1, 3\] must match idx \[1, 2\]/);
    expect(thrown(ValueError, () => model.generate([[1]], { maxNewTokens: 2, topk: 3 } as never)).message).toMatch(/topk/);
    expect(thrown(ValueError, () => model.generate([[1, 99]], { maxNewTokens: 2 })).message).toMatch(/position 1 is number 99, not a token id/);
    expect(thrown(ValueError, () => new models.GPT({ ...CONFIG, nEmbd: 9 })).message).toMatch(/nEmbd \(9\) must be divisible by nHead \(2\)/);
    expect(thrown(ValueError, () => new models.GPT({ ...CONFIG, nLayers: 2 } as never)).message).toMatch(/nLayers/);
    const t: Tensor = ids([[1]]);
    expect(() => model.generate(t, { maxNewTokens: 0 })).not.toThrow();
  });
});
