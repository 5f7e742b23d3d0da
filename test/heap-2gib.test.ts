// Tensors placed past 2 GiB of a backend's memory: pointers there are above 2^31, where a signed
// shift (ptr >> 2) gives negative indices. A block of 2 GiB is taken first, then a small training
// step runs above it on each backend and must equal the same step on a fresh backend.
import { describe, expect, it } from "vitest";
import { createBackend } from "../src/backend/index.js";
import type { Backend } from "../src/backend/index.js";
import { manualSeed, nn, optim, setBackend, tensor } from "../src/index.js";

/** Three Adam steps of a small MLP with dropout and a filled tensor; the losses and final weights. */
function steps(be: Backend): number[] {
  setBackend(be);
  manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(12, 16), new nn.ReLU(), new nn.Dropout(0.2), new nn.Linear(16, 3));
  const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
  const x = tensor(
    Float32Array.from({ length: 8 * 12 }, (_, i) => Math.sin(i)),
    { shape: [8, 12] },
  );
  const y = tensor(
    Int32Array.from({ length: 8 }, (_, i) => i % 3),
    { dtype: "int32" },
  );
  const out: number[] = [];
  for (let i = 0; i < 3; i++) {
    opt.zeroGrad();
    const loss = nn.functional.crossEntropy(model.forward(x), y);
    loss.backward();
    opt.step();
    out.push(loss.item());
  }
  const filled = x.clone();
  filled.fill_(0.5);
  out.push(filled.sum().item(), ...x.data.slice(0, 3));
  return [...out, ...model.parameters().flatMap((p) => p.toArray().flat() as number[])];
}

describe.each(["wasm", "js"] as const)("tensors above 2 GiB of memory [%s]", (name) => {
  it("train and read back as they do at the bottom of a fresh memory", () => {
    const expected = steps(createBackend(name));
    const high = createBackend(name);
    const pad = high.heap.alloc(2 ** 31 + 2 ** 16);
    expect(pad).toBeLessThan(2 ** 16 + 2 ** 20); // the pad sits low, so what follows is above 2 GiB
    expect(steps(high)).toEqual(expected);
    high.heap.free(pad);
  }, 120_000);
});
