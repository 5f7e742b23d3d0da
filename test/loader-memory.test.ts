// DataLoader loops release each batch's tensors once two newer batches have started, so an
// evaluation loop inside one noGrad (or without backward) keeps a bounded amount of memory.
import { describe, expect, it } from "vitest";
import { DataLoader, Generator, ReleasedTensorError, data, getBackend, manualSeed, nn, noGrad, optim, setBackend, tensor } from "../src/index.js";

function setup() {
  setBackend("wasm");
  manualSeed(0);
  const g = new Generator(2);
  const x = tensor(
    Float32Array.from({ length: 4000 * 64 }, () => g.normal()),
    { shape: [4000, 64] },
  );
  const y = tensor(Int32Array.from({ length: 4000 }, () => g.randint(10)));
  const model = new nn.Sequential(new nn.Linear(64, 512), new nn.ReLU(), new nn.Linear(512, 10));
  return { loader: new DataLoader(new data.TensorDataset(x, y), { batchSize: 200 }), model };
}

describe("DataLoader loops and memory", () => {
  for (const inNoGrad of [true, false]) {
    it(`an evaluation loop ${inNoGrad ? "inside noGrad" : "without noGrad or backward"} holds at most a few batches`, () => {
      const { loader, model } = setup();
      model.eval();
      const live: number[] = [];
      const loop = () => {
        for (const [x] of loader) {
          model(x).relu().sum().item();
          live.push(getBackend().heap.stats().liveBytes);
        }
      };
      if (inNoGrad) noGrad(loop);
      else loop();
      // 20 batches; each makes ~450 KB of activations. Flat after the first batches.
      expect(live.length).toBe(20);
      expect(Math.max(...live.slice(4))).toBeLessThanOrEqual(live[3]);
    });
  }

  it("keeps the previous batch readable, releases older ones with a clear error, keep() saves one", () => {
    const { loader, model } = setup();
    const outs: ReturnType<typeof model>[] = [];
    let kept: ReturnType<typeof model> | null = null;
    noGrad(() => {
      let b = 0;
      for (const [x] of loader) {
        const out = model(x);
        if (b === 0) kept = model(x).keep();
        outs.push(out);
        if (b >= 1) expect(() => outs[b - 1].toArray()).not.toThrow();
        if (b >= 2) expect(() => outs[b - 2].toArray()).toThrow(ReleasedTensorError);
        b++;
      }
    });
    expect(kept!.shape).toEqual([200, 10]);
    expect(() => kept!.toArray()).not.toThrow();
  });

  it("does not interfere with training: backward() steps the scope, batches stay valid in their step", () => {
    const { loader, model } = setup();
    const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
    let steps = 0;
    for (const [x, y] of loader) {
      opt.zeroGrad();
      const loss = nn.functional.crossEntropy(model(x), y);
      loss.backward();
      opt.step();
      expect(Number.isFinite(loss.item())).toBe(true);
      steps++;
    }
    expect(steps).toBe(20);
  });
});
