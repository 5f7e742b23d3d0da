// The fused linear + ReLU epilogue against the two ops it replaces, side by side in one process:
// seed-MLP training steps (784→128→64→10, batch 100, SGD momentum, pre-batched tensors) as
// nn.Sequential with its Linear→ReLU pairs fused and with them unfused (a ReLU subclass), and
// forward passes of the first layer and of a wide one (16 → 4096). Rounds alternate the two
// forms so a busy moment hits both; medians and the ratio are printed. Also checks both train to the same bits.
//   npm run bench:fusion -- [--rounds R] [--steps S]
import { parseFlags } from "../src/cli/flags.js";
import { type Tensor, Generator, manualSeed, nn, noGrad, optim, tensor } from "../src/index.js";
import { fmt, machineInfo, machineLine, median, printTable } from "./common.js";

const LAYERS = [784, 128, 64, 10];
const BATCH = 100;

/** A ReLU whose forward is its own, so Sequential does not fuse it with the Linear before it. */
class UnfusedReLU extends nn.ReLU {
  override forward(x: Tensor): Tensor {
    return super.forward(x);
  }
}

/** The seed MLP as a Sequential whose Linear→ReLU pairs run fused, or not (UnfusedReLU). */
function makeModel(fused: boolean): { model: nn.Sequential; forward: (x: Tensor) => Tensor } {
  manualSeed(0);
  const mods: nn.Module[] = [];
  for (let i = 0; i + 1 < LAYERS.length; i++) {
    mods.push(new nn.Linear(LAYERS[i], LAYERS[i + 1]));
    if (i + 2 < LAYERS.length) mods.push(fused ? new nn.ReLU() : new UnfusedReLU());
  }
  const model = new nn.Sequential(...mods);
  return { model, forward: (x: Tensor) => model(x) };
}

function batches(n: number): [Tensor, Tensor][] {
  const g = new Generator(1);
  return Array.from({ length: n }, () => [
    tensor(
      Float32Array.from({ length: BATCH * 784 }, () => g.normal()),
      { shape: [BATCH, 784] },
    ),
    tensor(Int32Array.from({ length: BATCH }, () => g.randint(10))),
  ]);
}

export function runFusionBench(rounds = 7, steps = 200) {
  const data = batches(20);
  // A layer with few inputs and many outputs: the ReLU's pass over y is a large part of its time.
  const wideLayer = new nn.Linear(16, 4096);
  const wideInput = tensor(
    Float32Array.from({ length: 256 * 16 }, (_, i) => Math.sin(i)),
    { shape: [256, 16] },
  );
  const trainers = [true, false].map((fused) => {
    const { model, forward } = makeModel(fused);
    const opt = new optim.SGD(model.parameters(), { lr: 0.001, momentum: 0.9 });
    const loss = new nn.CrossEntropyLoss();
    return {
      fused,
      model,
      forward,
      train(n: number): number {
        const t0 = performance.now();
        for (let s = 0; s < n; s++) {
          const [x, y] = data[s % data.length];
          opt.zeroGrad();
          loss(forward(x), y).backward();
          opt.step();
        }
        return performance.now() - t0;
      },
      forwardOnly(n: number, wide: boolean): number {
        const x = wide ? wideInput : data[0][0];
        const first = wide ? wideLayer : (model.at(0) as nn.Linear);
        const pair = new nn.Sequential(first, new nn.ReLU());
        const t0 = performance.now();
        // One noGrad scope per call: its outputs are freed as it ends.
        for (let s = 0; s < n; s++) {
          noGrad(() => {
            if (fused) pair(x);
            else nn.functional.relu(first(x));
          });
        }
        return performance.now() - t0;
      },
    };
  });
  const times = new Map<string, number[]>();
  const add = (k: string, v: number) => times.set(k, [...(times.get(k) ?? []), v]);
  for (const t of trainers) t.train(50); // warm up
  for (let r = 0; r < rounds; r++) {
    for (const t of r % 2 === 0 ? trainers : [...trainers].reverse()) {
      add(`train ${t.fused}`, t.train(steps));
      add(`fwd ${t.fused}`, t.forwardOnly(steps * 5, false));
      add(`wide ${t.fused}`, t.forwardOnly(steps * 5, true));
    }
  }
  const bytes = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const [fused, unfused] = trainers.map((t) => t.model.parameters());
  const sameWeights = fused.every((p, i) => bytes(p).equals(bytes(unfused[i])));
  const trainRate = (f: boolean) => (BATCH * steps) / (median(times.get(`train ${f}`) ?? []) / 1000);
  const fwdUs = (f: boolean, k = "fwd") => (1000 * median(times.get(`${k} ${f}`) ?? [])) / (steps * 5);
  return {
    trainSamplesPerSec: { fused: trainRate(true), unfused: trainRate(false) },
    firstLayerForwardUs: { fused: fwdUs(true), unfused: fwdUs(false) },
    wideLayerForwardUs: { fused: fwdUs(true, "wide"), unfused: fwdUs(false, "wide") },
    sameWeights,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const flags = parseFlags("npm run bench:fusion --", "The fused linear + ReLU epilogue vs linear then relu: seed-MLP training and one layer's forward.", {
    rounds: { type: "int", default: 7, min: 1, help: "alternating rounds per form" },
    steps: { type: "int", default: 200, min: 1, help: "training steps per round" },
  });
  console.log(machineLine(machineInfo()));
  const r = runFusionBench(flags.rounds, flags.steps);
  printTable(
    ["", "fused", "unfused", "speed-up"],
    [
      [
        "seed MLP training, samples/s",
        fmt(r.trainSamplesPerSec.fused),
        fmt(r.trainSamplesPerSec.unfused),
        (r.trainSamplesPerSec.fused / r.trainSamplesPerSec.unfused).toFixed(3),
      ],
      [
        "100×784 → 128 forward + ReLU, µs",
        r.firstLayerForwardUs.fused.toFixed(1),
        r.firstLayerForwardUs.unfused.toFixed(1),
        (r.firstLayerForwardUs.unfused / r.firstLayerForwardUs.fused).toFixed(3),
      ],
      [
        "256×16 → 4096 forward + ReLU, µs",
        r.wideLayerForwardUs.fused.toFixed(1),
        r.wideLayerForwardUs.unfused.toFixed(1),
        (r.wideLayerForwardUs.unfused / r.wideLayerForwardUs.fused).toFixed(3),
      ],
    ],
  );
  console.log(`same weights after training (bitwise): ${r.sameWeights}`);
}
