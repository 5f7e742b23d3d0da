// Fitting a fine-tune into a memory budget, on a backend of 12 MiB (the wasm32 limit is 4 GiB; the
// 124M-parameter figures are in docs/lora.md, bench/gpt2-lora.ts): a full fine-tune of a
// 0.84M-parameter GPT (weights, gradients and two AdamW moments: 13.5 MB) raises OutOfMemoryError
// naming the bytes requested, in use and the limit, and pointing to gradient checkpointing and
// LoRA; with checkpointing it gets through backward and AdamW's state is what does not fit (the
// error names the bytes the state needs, and the failed step leaves parameters and optimizer as
// they were); LoRA + checkpointing trains on the same budget, also on the backend and model that
// just ran out of memory.
import { afterEach, describe, expect, it } from "vitest";
import { OutOfMemoryError, type Tensor, createBackend, getBackend, lora, manualSeed, models, optim, setBackend, tensor } from "../../src/index.js";
import { thrown } from "../helpers/errors.js";

const MiB = 2 ** 20;
const BUDGET = 12 * MiB;
const CONFIG = { vocabSize: 256, blockSize: 128, nLayer: 4, nHead: 4, nEmbd: 128 };
const original = getBackend();
afterEach(() => setBackend(original));

/** A seeded GPT on a fresh 12 MiB backend, with a fixed batch of 2×64 tokens. */
function setup(options: { lora?: boolean; checkpointing?: boolean } = {}) {
  const be = createBackend("wasm", { maxMemoryBytes: BUDGET });
  setBackend(be);
  manualSeed(0);
  const gpt = new models.GPT(CONFIG);
  if (options.lora) lora.apply(gpt, { r: 4, alpha: 8, targetModules: ["c_attn", "c_proj"] });
  if (options.checkpointing) gpt.gradientCheckpointingEnable();
  const ids = Int32Array.from({ length: 2 * 65 }, (_, i) => (i * 7 + 3) % 256);
  const rows = (off: number) => Int32Array.from({ length: 2 * 64 }, (_, i) => ids[Math.floor(i / 64) * 65 + (i % 64) + off]);
  const x = tensor(rows(0), { shape: [2, 64], dtype: "int32" }).keep();
  const y = tensor(rows(1), { shape: [2, 64], dtype: "int32" }).keep();
  return { be, gpt, x, y };
}

/** `n` AdamW steps; the losses. */
function trainSteps(gpt: models.GPT, opt: optim.AdamW, x: Tensor, y: Tensor, n: number): number[] {
  const losses: number[] = [];
  for (let s = 0; s < n; s++) {
    const [, loss] = gpt.forward(x, y);
    opt.zeroGrad();
    loss!.backward();
    opt.step();
    losses.push(loss!.item());
  }
  return losses;
}

describe("fine-tuning a GPT within a memory budget", () => {
  it("a full fine-tune raises OutOfMemoryError naming requested/in use/limit and suggesting checkpointing and LoRA", () => {
    const { gpt, x, y } = setup();
    expect(gpt.numParams()).toBe(842_496);
    const opt = new optim.AdamW(gpt.parameters(), { lr: 1e-2 });
    const e = thrown(OutOfMemoryError, () => trainSteps(gpt, opt, x, y, 3));
    expect(e.message).toMatch(/^cannot allocate [\d.]+ [KM]iB: [\d.]+ MiB in use, memory limit 12\.0 MiB/);
    expect(e.message).toMatch(/training step .* released \(gradient checkpointing .*gradientCheckpointingEnable\(\).* LoRA .*lora\.apply/);
  });

  it("with checkpointing, AdamW's state is what does not fit: the error names the bytes it needs; the failed step changes nothing", () => {
    const { be, gpt, x, y } = setup({ checkpointing: true });
    const opt = new optim.AdamW(gpt.parameters(), { lr: 1e-2 });
    const weight = gpt.stateDict()["transformer.h.0.attn.c_attn.weight"] as Tensor;
    const before = weight.toArray();
    const e = thrown(OutOfMemoryError, () => trainSteps(gpt, opt, x, y, 1));
    // Two moments of 842,496 float32s: 6.43 MiB.
    expect(e.message).toMatch(
      /^AdamW\.step: the optimizer state \(exp_avg, exp_avg_sq for 842,496 parameter values\) needs 6\.4 MiB more: [\d.]+ MiB in use, memory limit 12\.0 MiB\. Train fewer parameters \(LoRA: lora\.apply/,
    );
    expect(e.message).toMatch(/The request that failed: cannot allocate [\d.]+ KiB/);
    expect(opt.state.size).toBe(0); // the buffers made before the failure were freed
    expect(weight.toArray()).toEqual(before);
    const inUse = Number(/([\d.]+) MiB in use, memory limit 12\.0 MiB\. Train/.exec(e.message)![1]);
    expect(Math.abs(inUse - be.heap.stats().liveBytes / MiB)).toBeLessThan(0.1); // nothing of the state left behind

    // Recover on the same backend and model: drop the gradients, LoRA, and train.
    opt.zeroGrad();
    lora.apply(gpt, { r: 4, alpha: 8, targetModules: ["c_attn", "c_proj"] });
    const losses = trainSteps(gpt, new optim.AdamW(lora.trainableParameters(gpt), { lr: 1e-2 }), x, y, 3);
    expect(losses[2]).toBeLessThan(losses[0]);
  });

  it("LoRA alone runs out of activation memory; LoRA + gradient checkpointing trains on the same budget", () => {
    const a = setup({ lora: true });
    thrown(OutOfMemoryError, () => trainSteps(a.gpt, new optim.AdamW(lora.trainableParameters(a.gpt), { lr: 1e-2 }), a.x, a.y, 3));

    const { be, gpt, x, y } = setup({ lora: true, checkpointing: true });
    const losses = trainSteps(gpt, new optim.AdamW(lora.trainableParameters(gpt), { lr: 1e-2 }), x, y, 3);
    expect(losses[2]).toBeLessThan(losses[0] - 0.1);
    expect(be.heap.stats().reservedBytes).toBeLessThan(BUDGET);
  });
});
