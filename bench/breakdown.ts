// Where the time of a training loop goes, kernel by kernel (wasm, one thread):
//   npm run bench:breakdown                 the seed MLP (batch 100, SGD momentum 0.9), full epochs
//   npm run bench:breakdown -- --model cnn  models.MnistCNN as examples/mnist-cnn.ts trains it
//                                           (batch 64, RandomAffine, AdamW), 150-step runs
//   [-- --steps N] [-- --runs R] [-- --out file.json]
//
// Method, all in one process and one run:
// - loop: the example's loop verbatim (DataLoader over datasets.MNIST with its transforms,
//   shuffled; zeroGrad, forward, loss, backward, step, item) for `steps` steps, best of the runs;
// - data pipeline: the same DataLoader iterated with nothing else done (shuffle, gather,
//   augmentation, ToTensor + Normalize into a batch tensor), best run;
// - kernels: one steady-state step's kernel calls, recorded and grouped by kernel (and shape, for
//   gemm), each group replayed on its own (median µs). Replayed alone a group runs with warmer
//   caches than inside a step, so the groups can sum to a little less than in a real step;
// - per-step overhead: a step on a fixed batch minus all its kernel calls replayed (bench/overhead.ts
//   measures this in more detail);
// - the remainder (loop − data − steps × step) is the loop's own cost: batch hand-over, the
//   DataLoader's releases, loss.item(), timer noise.
import { parseFlags } from "../src/cli/flags.js";
import { DataLoader, type Tensor, createBackend, datasets, manualSeed, models, nn, optim, setBackend, tensor, transforms } from "../src/index.js";
import { machineInfo, machineLine, printTable, resultsDir, stamp, time, writeJson } from "./common.js";
import { type Call, recordingBackend, replayer } from "./record.js";
import path from "node:path";

/** Seconds per epoch of the main parts (what `npm run bench` puts in its summary). */
export interface BreakdownParts {
  epoch: number;
  data: number;
  gemm: number;
  otherKernels: number;
  overhead: number;
  rest: number;
}

interface Setup {
  label: string;
  batch: number;
  defaultSteps: number;
  /** Sampling time per kernel replay measurement, ms (a CNN step is ~50× an MLP step). */
  budgetMs: number;
  model: () => nn.Module;
  optimizer: (params: ReturnType<nn.Module["parameters"]>) => optim.Optimizer<{ lr: number }>;
  transform: transforms.Transform;
}

const SETUPS: Record<string, Setup> = {
  mlp: {
    label: "the seed MLP (batch 100, SGD lr 0.001 momentum 0.9)",
    batch: 100,
    defaultSteps: 600,
    budgetMs: 600,
    model: () => new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 64), new nn.ReLU(), new nn.Linear(64, 10)),
    optimizer: (params) => new optim.SGD(params, { lr: 0.001, momentum: 0.9 }),
    transform: new transforms.Compose([new transforms.ToTensor(), new transforms.Normalize([0.5], [0.5])]),
  },
  cnn: {
    label: "models.MnistCNN (batch 64, RandomAffine, AdamW), as examples/mnist-cnn.ts",
    batch: 64,
    defaultSteps: 150,
    budgetMs: 1500,
    model: () => new models.MnistCNN(),
    optimizer: (params) => new optim.AdamW(params, { lr: 0.004, weightDecay: 1e-4 }),
    transform: new transforms.Compose([
      new transforms.RandomAffine({ degrees: 10, translate: [0.1, 0.1], scale: [0.9, 1.1] }),
      new transforms.ToTensor(),
      new transforms.Normalize([0.1307], [0.3081]),
    ]),
  },
};

const values = parseFlags(
  "npm run bench:breakdown --",
  "Where an epoch's time goes: the real loop, the data pipeline, forward, backward and the optimizer step, timed apart.",
  {
    model: { type: "string", default: "mlp", choices: ["mlp", "cnn"], help: "which training setup" },
    steps: { type: "int", min: 1, help: "steps per run (default: the setup's)" },
    runs: { type: "int", default: 3, min: 1, help: "runs per part (the median is reported)" },
    out: { type: "string", help: "results file (default bench/results/breakdown-<date>.json)" },
  },
);
const setup = SETUPS[values.model];
const BATCH = setup.batch;
const runs = values.runs;
const steps = values.steps ?? setup.defaultSteps;

/** Median seconds per call of fn, sampled for about `ms` milliseconds. */
const medianSeconds = (fn: () => void, ms: number): number => time(fn, ms, { minSamples: 5, maxSamples: Infinity }).median;

// ---- 1. the real loop and the data pipeline alone ----
setBackend(createBackend("wasm", { shared: false }));
manualSeed(0);
const trainset = new datasets.MNIST({ train: true, transform: setup.transform });
const loader = new DataLoader(trainset, { batchSize: BATCH, shuffle: true, dropLast: true });
const stepsPerEpoch = loader.length;
const model = setup.model();
const criterion = new nn.CrossEntropyLoss();
const optimizer = setup.optimizer(model.parameters());
let sink = 0;
let batches = loader[Symbol.iterator]();
/** The next batch, starting a new epoch when one ends. */
function nextBatch(): [Tensor, Tensor] {
  let r = batches.next();
  if (r.done) r = (batches = loader[Symbol.iterator]()).next();
  return r.value as [Tensor, Tensor];
}
const trainSteps = (n: number): number => {
  model.train();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const [x, y] = nextBatch();
    optimizer.zeroGrad();
    const loss = criterion(model(x.view(x.shape[0], -1)), y) as Tensor;
    loss.backward();
    optimizer.step();
    sink += loss.item();
  }
  return (performance.now() - t0) / 1e3;
};
const dataSteps = (n: number): number => {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sink += nextBatch()[0].view(BATCH, -1).shape[0];
  return (performance.now() - t0) / 1e3;
};
trainSteps(Math.min(steps, 100)); // warm-up: JIT, heap, kernels
const loopS: number[] = [],
  dataS: number[] = [];
for (let r = 0; r < runs; r++) {
  loopS.push(trainSteps(steps));
  dataS.push(dataSteps(steps));
}
const loopSec = Math.min(...loopS),
  dataSec = Math.min(...dataS);
console.log(`  ${steps} steps: ${loopS.map((s) => s.toFixed(3)).join(" / ")} s, data pipeline alone ${dataS.map((s) => s.toFixed(3)).join(" / ")} s`);

// ---- 2. one step's kernel calls, recorded on a second instance, grouped and replayed ----
const replayBe = createBackend("wasm", { shared: false });
const log: Call<null>[] = [];
let recording = false;
setBackend(
  recordingBackend(
    replayBe,
    log,
    () => null,
    () => recording,
  ),
);
/** A training step on a fixed batch, on the current backend. */
function fixedTrainer(): () => void {
  const fixedModel = setup.model();
  const fixedOpt = setup.optimizer(fixedModel.parameters());
  const x = tensor(
    Float32Array.from({ length: BATCH * 784 }, (_, i) => Math.sin(i) * 0.9),
    { shape: [BATCH, 784] },
  );
  const y = tensor(Int32Array.from({ length: BATCH }, (_, i) => (i * 7) % 10));
  return () => {
    fixedOpt.zeroGrad();
    const loss = criterion(fixedModel(x), y) as Tensor;
    loss.backward();
    fixedOpt.step();
    sink += loss.item();
  };
}
const recordedStep = fixedTrainer();
for (let i = 0; i < 5; i++) recordedStep();
recording = true;
recordedStep();
recording = false;
// The timed step runs on a third instance: the replays write to the recorded pointers.
setBackend(createBackend("wasm", { shared: false }));
const fixedStep = fixedTrainer();

const ROLE: Record<string, string> = { nt: "x·Wᵀ", tn: "dyᵀ·x", nn: "dy·W" };
function groupOf(c: Call<null>): string {
  if (c.name === "gemm") {
    const [form, M, N, K] = c.args as [string, number, number, number];
    return `gemm ${form} ${M}×${N}×${K} (${ROLE[form] ?? form})`;
  }
  return c.name;
}
const groups = new Map<string, number[]>();
log.forEach((c, i) => {
  const g = groupOf(c);
  groups.set(g, [...(groups.get(g) ?? []), i]);
});
const all = log.map((_, i) => i);
const stepSec = medianSeconds(fixedStep, setup.budgetMs);
const kernelsSec = medianSeconds(replayer(replayBe, log, all), setup.budgetMs);
const groupSec = [...groups].map(([name, idx]) => ({ name, calls: idx.length, sec: medianSeconds(replayer(replayBe, log, idx), setup.budgetMs / 4) }));
groupSec.sort((a, b) => b.sec - a.sec);
const gemmSec = groupSec.filter((g) => g.name.startsWith("gemm")).reduce((s, g) => s + g.sec, 0);

// ---- 3. the table: per step and per epoch, share of the loop ----
// Seconds per step of each part.
const loopStep = loopSec / steps;
const dataStep = dataSec / steps;
const overheadStep = stepSec - kernelsSec;
const restStep = loopStep - dataStep - stepSec;
const rows: { part: string; calls: string; stepUs: number; epochSec: number }[] = [];
const add = (part: string, calls: string, secPerStep: number) => rows.push({ part, calls, stepUs: secPerStep * 1e6, epochSec: secPerStep * stepsPerEpoch });
add("data pipeline (shuffle, gather, transforms)", "", dataStep);
for (const g of groupSec) add(`  ${g.name}`, String(g.calls), g.sec);
add("kernels, all replayed together", String(log.length), kernelsSec);
add("per-step overhead (step − its kernels)", "", overheadStep);
add("rest of the loop (loop − data − steps)", "", restStep);
const pct = (stepUs: number) => `${((100 * stepUs) / 1e6 / loopStep).toFixed(1)}%`;
const m = machineInfo();
console.log(`\nwhere the time of a training step goes: ${setup.label}, wasm, 1 thread; ${machineLine(m)}`);
console.log(
  `loop ${(loopStep * 1e6).toFixed(0)} µs/step = ${Math.round(BATCH / loopStep).toLocaleString("en-US")} samples/s ` +
    `(best of ${runs} runs of ${steps} steps; an epoch is ${stepsPerEpoch} steps, ${(loopStep * stepsPerEpoch).toFixed(2)} s); ` +
    `one step on a fixed batch ${(stepSec * 1e6).toFixed(0)} µs, of which gemm ${(gemmSec * 1e6).toFixed(0)} µs (${((100 * gemmSec) / stepSec).toFixed(1)}%)`,
);
printTable(
  ["part", "calls/step", "µs/step", "s/epoch", "% of the loop"],
  rows.map((r) => [r.part, r.calls, r.stepUs.toFixed(1), r.epochSec.toFixed(3), pct(r.stepUs)]),
);
if (!Number.isFinite(sink)) console.warn("  loss is not finite");
const epoch = (secPerStep: number) => secPerStep * stepsPerEpoch;
const parts: BreakdownParts = {
  epoch: epoch(loopStep),
  data: epoch(dataStep),
  gemm: epoch(gemmSec),
  otherKernels: epoch(kernelsSec - gemmSec),
  overhead: epoch(overheadStep),
  rest: epoch(restStep),
};
const out = values.out ?? path.join(resultsDir, `breakdown${values.model === "mlp" ? "" : `-${values.model}`}-${stamp().slice(0, 10)}.json`);
writeJson(out, {
  machine: m,
  model: values.model,
  batch: BATCH,
  steps,
  stepsPerEpoch,
  loopS,
  dataS,
  stepUs: stepSec * 1e6,
  kernelsUs: kernelsSec * 1e6,
  groups: groupSec,
  rows,
  parts,
});
console.log(`results: ${path.relative(process.cwd(), out)}`);
