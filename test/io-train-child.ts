// Child process for io-kill9.test.ts (run with `tsx --conditions=wasmgrad-source`).
//
// Training mode: a small MLP on synthetic data, shuffled, Adam + a step LR schedule, noise from
// the global generator every step; checkpoints every --every steps, resumes with --resume,
// writes the final checkpoint to --out. Prints "ckpt <step> <epoch> <batchesDone>" after each
// checkpoint is on disk.
//
// Write mode (--write-loop): saves a 4 MB checkpoint over and over, weights all equal to the
// step number, printing "writing <step>" before and "saved <step>" after each, so the parent
// can kill it in the middle of a write.
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { DataLoader, Generator, data, defaultGenerator, io, manualSeed, nn, noGrad, optim, setBackend, tensor } from "../src/index.js";

const { values: args } = parseArgs({
  options: {
    checkpoint: { type: "string" },
    resume: { type: "boolean", default: false },
    out: { type: "string" },
    epochs: { type: "string", default: "4" },
    every: { type: "string", default: "7" },
    delay: { type: "string", default: "0" },
    "write-loop": { type: "string" },
  },
});
setBackend("wasm");

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number) => ms > 0 && Atomics.wait(sleeper, 0, 0, ms);

if (args["write-loop"] !== undefined) {
  const path = args["write-loop"];
  const model = new nn.Linear(1024, 1024);
  for (let step = 1; ; step++) {
    noGrad(() => model.parameters().forEach((p) => p.fill_(step)));
    console.log(`writing ${step}`);
    io.saveCheckpoint(path, { model, step });
    console.log(`saved ${step}`);
  }
}

// 640 samples × 32 features, 4 classes from a fixed teacher; independent of the training seed.
const g = new Generator(2024);
const N = 640,
  F = 32;
const x = Float32Array.from({ length: N * F }, () => g.normal());
const y = Int32Array.from({ length: N }, (_, i) => {
  let best = 0,
    bestV = -Infinity;
  for (let c = 0; c < 4; c++) {
    let v = 0;
    for (let f = 0; f < F; f++) v += x[i * F + f] * Math.sin(1 + c * 7 + f * 3);
    if (v > bestV) [best, bestV] = [c, v];
  }
  return best;
});
const dataset = new data.TensorDataset(tensor(x, { shape: [N, F] }), tensor(y));

manualSeed(42);
const model = new nn.Sequential(new nn.Linear(F, 64), new nn.ReLU(), new nn.Linear(64, 4));
const optimizer = new optim.Adam(model.parameters(), { lr: 3e-3 });
const scheduler = new optim.lrScheduler.StepLR(optimizer, { stepSize: 25, gamma: 0.8 });
const loader = new DataLoader(dataset, { batchSize: 16, shuffle: true }); // 40 batches per epoch
const criterion = new nn.CrossEntropyLoss();
const epochs = Number(args.epochs);
const every = Number(args.every);
const delay = Number(args.delay);

let epoch = 0;
let step = 0;
if (args.resume && args.checkpoint !== undefined && existsSync(args.checkpoint)) {
  const info = io.loadCheckpoint(args.checkpoint, { model, optimizer, scheduler, loader, rng: defaultGenerator });
  ({ epoch, step } = info);
  console.log(`resumed ${epoch} ${step} ${loader.stateDict().batchesDone}`);
}
for (; epoch < epochs; epoch++) {
  for (const [xb, yb] of loader) {
    const noise = defaultGenerator.normal() * 0.1;
    optimizer.zeroGrad();
    criterion(model(xb.add(noise)), yb).backward();
    optimizer.step();
    scheduler.step();
    step++;
    if (args.checkpoint !== undefined && step % every === 0) {
      io.saveCheckpoint(args.checkpoint, { model, optimizer, scheduler, loader, epoch, step, rng: defaultGenerator });
      console.log(`ckpt ${step} ${epoch} ${loader.stateDict().batchesDone}`);
    }
    sleep(delay);
  }
}
if (args.out !== undefined) io.saveCheckpoint(args.out, { model, optimizer, scheduler, loader, epoch, step, rng: defaultGenerator });
console.log(`done ${step}`);
