// autograd.checkpoint and GPT.gradientCheckpointingEnable: gradients bit for bit those without
// checkpointing (dropout included: the replay rewinds the generator), on both backends, for the full
// model and for LoRA; autograd.grad through a checkpoint; peak live bytes drop (counted at every
// allocation); no memory growth over steps; misuse is refused.
import { describe, expect, it } from "vitest";
import { type Backend, createBackend } from "../../src/backend/index.js";
import { type Tensor, ValueError, autograd, defaultGenerator, lora, manualSeed, models, noGrad, randn, setBackend, tensor } from "../../src/index.js";
import { thrown } from "../helpers/errors.js";

const CONFIG = { vocabSize: 50, blockSize: 32, nLayer: 4, nHead: 4, nEmbd: 32, dropout: 0.1 };

/** Peak heap live bytes above the starting point while fn runs (sampled at every allocation). */
function peakBytes(be: Backend, fn: () => void): number {
  const heap = be.heap as unknown as { alloc(n: number): number; stats(): { liveBytes: number } };
  const alloc = heap.alloc;
  const start = heap.stats().liveBytes;
  let peak = start;
  heap.alloc = (n: number) => {
    const p = alloc.call(heap, n);
    peak = Math.max(peak, heap.stats().liveBytes);
    return p;
  };
  try {
    fn();
  } finally {
    heap.alloc = alloc;
  }
  return peak - start;
}

/** One training step of a seeded GPT (dropout on): loss, every gradient, the generator after, peak bytes. */
function step(be: Backend, checkpointing: boolean, withLora: boolean) {
  setBackend(be);
  manualSeed(0);
  const gpt = new models.GPT(CONFIG);
  if (withLora) lora.apply(gpt, { r: 4, alpha: 8, dropout: 0.1, targetModules: ["c_attn", "c_proj", "c_fc"] });
  if (checkpointing) gpt.gradientCheckpointingEnable();
  expect(gpt.isGradientCheckpointing).toBe(checkpointing);
  const idx = tensor(
    Int32Array.from({ length: 2 * 32 }, (_, i) => (i * 7 + 3) % 50),
    { shape: [2, 32], dtype: "int32" },
  );
  manualSeed(5);
  let loss = 0;
  const peak = peakBytes(be, () => {
    const [, l] = gpt.forward(idx, idx);
    l!.backward();
    loss = l!.item();
  });
  const grads = gpt.parameters().map((p) => (p.grad === null ? null : Array.from(p.grad.toArray())));
  const rng = defaultGenerator.getState();
  return { loss, grads, rng: { ...rng, words: rng.words.map((w) => w >>> 0) }, peak };
}

describe.each(["wasm", "js"] as const)("gradient checkpointing [%s]", (name) => {
  const be = createBackend(name);

  for (const withLora of [false, true]) {
    it(`GPT with dropout${withLora ? " and LoRA" : ""}: the same loss and gradients bit for bit, the generator where it would be, less peak memory`, () => {
      const plain = step(be, false, withLora);
      const ckpt = step(be, true, withLora);
      expect(ckpt.loss).toBe(plain.loss);
      expect(ckpt.grads.filter((g) => g !== null).length).toBe(withLora ? 32 : 52);
      expect(ckpt.grads).toEqual(plain.grads); // toEqual on numbers: exact
      expect(ckpt.rng).toEqual(plain.rng);
      expect(ckpt.peak).toBeLessThan(0.6 * plain.peak);
    });
  }

  it("eval mode and noGrad do not checkpoint (generation is unchanged)", () => {
    setBackend(be);
    manualSeed(1);
    const gpt = new models.GPT({ ...CONFIG, dropout: 0 });
    gpt.gradientCheckpointingEnable();
    const out = gpt.generate([[1, 2, 3]], { maxNewTokens: 5, temperature: 0 });
    gpt.gradientCheckpointingDisable();
    expect(Array.from(gpt.generate([[1, 2, 3]], { maxNewTokens: 5, temperature: 0 }).toArray())).toEqual(Array.from(out.toArray()));
  });
});

describe("autograd.checkpoint", () => {
  const be = createBackend("wasm");
  const block = (w: Tensor) => (x: Tensor, y: Tensor) => x.matmul(w).tanh().mul(y).add(x.square().sum());

  it("gradients of inputs and parameters equal those without it, through backward() and autograd.grad", () => {
    setBackend(be);
    manualSeed(2);
    const w = randn([3, 3]).requiresGrad_();
    const x = randn([2, 3]).requiresGrad_();
    const y = randn([2, 3]).requiresGrad_();
    const R = randn([2, 3]);
    const f = block(w);
    f(x, y).mul(R).sum().backward();
    const want = [w, x, y].map((t) => Array.from(t.grad!.toArray()));
    for (const t of [w, x, y]) t.grad = null;
    const out = autograd.checkpoint(f, x, y);
    out.mul(R).sum().backward();
    expect([w, x, y].map((t) => Array.from(t.grad!.toArray()))).toEqual(want);
    const viaGrad = autograd.grad(autograd.checkpoint(f, x, y).mul(R).sum(), [w, x, y]);
    expect(viaGrad.map((g) => Array.from(g!.toArray()))).toEqual(want);
    // nested checkpoints, an input that needs no gradient
    const z = randn([2, 3]);
    const g1 = autograd.grad(f(f(x, z), z).mul(R).sum(), [w, x]).map((g) => Array.from(g!.toArray()));
    const g2 = autograd.grad(
      autograd
        .checkpoint((a: Tensor) => autograd.checkpoint(f, autograd.checkpoint(f, a, z), z), x)
        .mul(R)
        .sum(),
      [w, x],
    );
    expect(g2.map((g) => Array.from(g!.toArray()))).toEqual(g1);
  });

  it("matches float64 finite differences (gradcheck)", () => {
    setBackend(be);
    manualSeed(3);
    const w = randn([3, 3]).requiresGrad_();
    const x = randn([2, 3]).requiresGrad_();
    expect(autograd.gradcheck((a: Tensor, b: Tensor) => autograd.checkpoint((u: Tensor) => u.matmul(b).sin(), a), [x, w], { atol: 2e-3 })).toBe(true);
  });

  it("many steps of a checkpointed GPT hold memory flat", () => {
    setBackend(be);
    manualSeed(0);
    // with dropout: attention then takes the composed path, whose causal mask is kept per size
    const gpt = new models.GPT(CONFIG);
    gpt.gradientCheckpointingEnable();
    const idx = tensor(
      Int32Array.from({ length: 32 }, (_, i) => i % 50),
      { shape: [1, 32], dtype: "int32" },
    );
    const live: number[] = [];
    for (let i = 0; i < 6; i++) {
      gpt.zeroGrad();
      gpt.forward(idx, idx)[1]!.backward();
      live.push(be.heap.stats().liveBytes);
    }
    expect(live[5]).toBe(live[3]);
  });

  it("refuses what it cannot replay; inside noGrad it just calls fn", () => {
    setBackend(be);
    const x = randn([2, 2]).requiresGrad_();
    const outside = x.mul(2); // needs a gradient, computed outside fn
    expect(thrown(ValueError, () => autograd.checkpoint((a: Tensor) => a.add(outside), x)).message).toMatch(
      /computed outside it; pass it to checkpoint as an input/,
    );
    expect(thrown(ValueError, () => autograd.checkpoint((() => [x]) as never, x)).message).toMatch(/must return one Tensor/);
    expect(thrown(ValueError, () => autograd.checkpoint(42 as never, x)).message).toMatch(/fn must be a function/);
    const y = noGrad(() => autograd.checkpoint((a: Tensor) => a.mul(3), x));
    expect(y.requiresGrad).toBe(false);
  });
});
