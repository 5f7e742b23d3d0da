// Where the time of one MNIST epoch of the seed MLP goes (batch 100, SGD momentum 0.9, wasm).
//   npm run bench:breakdown [-- --epochs 3] [-- --out file.json]
//
// Method, all in one process and one run:
// - epoch: the seed example's loop verbatim (DataLoader over datasets.MNIST with ToTensor +
//   Normalize, shuffled; zeroGrad, forward, loss, backward, step, item), best of the timed epochs;
// - data pipeline: the same DataLoader iterated with nothing else done (shuffle, gather,
//   ToTensor + Normalize into a batch tensor), best epoch;
// - kernels: one steady-state step's kernel calls, recorded and grouped by kernel and shape, each
//   group replayed on its own (median µs, × steps per epoch). Replayed alone a group runs with
//   warmer caches than inside a step, so the groups can sum to a little less than in a real step;
// - per-step overhead: a step on a fixed batch minus all its kernel calls replayed (bench/overhead.ts
//   measures this in more detail);
// - the remainder (epoch − data − steps × step) is the loop's own cost: batch hand-over, the
//   DataLoader's releases, loss.item(), timer noise.
import { parseArgs } from "node:util";
import { DataLoader, type Tensor, createBackend, datasets, manualSeed, nn, optim, setBackend, tensor, transforms } from "../src/index.js";
import { machineInfo, machineLine, median, printTable, resultsDir, stamp, writeJson } from "./common.js";
import { type Call, recordingBackend, replayer } from "./record.js";
import path from "node:path";

export interface BreakdownParts { epoch: number; data: number; gemm: number; otherKernels: number; overhead: number; rest: number }

const { values } = parseArgs({ options: { epochs: { type: "string", default: "3" }, out: { type: "string" } } });
const epochs = Math.max(1, Number(values.epochs) | 0);
const BATCH = 100;

function seedModel(): nn.Module {
  return new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 64), new nn.ReLU(), new nn.Linear(64, 10));
}

/** Median seconds per call of fn over samples of at least ~2 ms, for about `ms` milliseconds. */
function medianSeconds(fn: () => void, ms: number): number {
  let inner = 1;
  for (let t0 = performance.now(); performance.now() - t0 < 2 && inner < 1 << 16; inner *= 2) {
    for (let i = 0; i < inner; i++) fn();
  }
  const samples: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end || samples.length < 5) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) fn();
    samples.push((performance.now() - t0) / inner / 1e3);
  }
  return median(samples);
}

// ---- 1. the real epoch and the data pipeline alone ----
setBackend(createBackend("wasm", { shared: false }));
manualSeed(0);
const transform = new transforms.Compose([new transforms.ToTensor(), new transforms.Normalize([0.5], [0.5])]);
const trainset = new datasets.MNIST({ train: true, transform });
const loader = new DataLoader(trainset, { batchSize: BATCH, shuffle: true });
const stepsPerEpoch = Math.ceil(trainset.length / BATCH);
const model = seedModel();
const criterion = new nn.CrossEntropyLoss();
const optimizer = new optim.SGD(model.parameters(), { lr: 0.001, momentum: 0.9 });
let sink = 0;
const trainEpoch = (): number => {
  const t0 = performance.now();
  for (const [x, y] of loader) {
    optimizer.zeroGrad();
    const loss = criterion(model(x.view(x.shape[0], -1)), y) as Tensor;
    loss.backward();
    optimizer.step();
    sink += loss.item();
  }
  return (performance.now() - t0) / 1e3;
};
const dataEpoch = (): number => {
  const t0 = performance.now();
  for (const [x] of loader) sink += x.view(x.shape[0], -1).shape[0];
  return (performance.now() - t0) / 1e3;
};
trainEpoch(); // warm-up: JIT, heap, kernels
const epochS: number[] = [], dataS: number[] = [];
for (let e = 0; e < epochs; e++) {
  epochS.push(trainEpoch());
  dataS.push(dataEpoch());
}
const epochSec = Math.min(...epochS), dataSec = Math.min(...dataS);
console.log(`  epoch ${epochS.map((s) => s.toFixed(3)).join(" / ")} s, data pipeline alone ${dataS.map((s) => s.toFixed(3)).join(" / ")} s`);

// ---- 2. one step's kernel calls, recorded on a second instance, grouped and replayed ----
const replayBe = createBackend("wasm", { shared: false });
const log: Call<null>[] = [];
let recording = false;
setBackend(recordingBackend(replayBe, log, () => null, () => recording));
/** A training step on a fixed batch, on the current backend. */
function fixedTrainer(): () => void {
  const fixedModel = seedModel();
  const fixedOpt = new optim.SGD(fixedModel.parameters(), { lr: 0.001, momentum: 0.9 });
  const x = tensor(Float32Array.from({ length: BATCH * 784 }, (_, i) => Math.sin(i) * 0.9), { shape: [BATCH, 784] });
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

const ROLE: Record<string, string> = { nt: "x·Wᵀ, forward", tn: "dyᵀ·x, weight grad", nn: "dy·W, input grad" };
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
const replayAll = replayer(replayBe, log, all);
const stepSec = medianSeconds(fixedStep, 600);
const kernelsSec = medianSeconds(replayAll, 600);
const groupSec = [...groups].map(([name, idx]) => ({ name, calls: idx.length, sec: medianSeconds(replayer(replayBe, log, idx), 150) }));
groupSec.sort((a, b) => b.sec - a.sec);

// ---- 3. the table: per step and per epoch, share of the epoch ----
const rows: { part: string; calls: string; stepUs: number; epochSec: number }[] = [];
const add = (part: string, calls: string, sec: number, perStep: boolean) =>
  rows.push({ part, calls, stepUs: perStep ? sec * 1e6 : (sec / stepsPerEpoch) * 1e6, epochSec: perStep ? sec * stepsPerEpoch : sec });
add("data pipeline (shuffle, gather, ToTensor + Normalize)", "", dataSec, false);
const gemmSec = groupSec.filter((g) => g.name.startsWith("gemm")).reduce((s, g) => s + g.sec, 0);
for (const g of groupSec) add(`  ${g.name}`, String(g.calls), g.sec, true);
add("kernels, all replayed together", String(log.length), kernelsSec, true);
add("per-step overhead (step − its kernels)", "", stepSec - kernelsSec, true);
add("rest of the loop (epoch − data − steps)", "", epochSec - dataSec - stepSec * stepsPerEpoch, false);
const pct = (s: number) => `${((100 * s) / epochSec).toFixed(1)}%`;
const m = machineInfo();
console.log(`\nwhere one epoch of the seed MLP goes (wasm, 1 thread, batch ${BATCH}, ${stepsPerEpoch} steps), ${machineLine(m)}`);
console.log(`epoch ${epochSec.toFixed(3)} s = ${Math.round(trainset.length / epochSec).toLocaleString("en-US")} samples/s (best of ${epochs}); ` +
  `one step on a fixed batch ${(stepSec * 1e6).toFixed(0)} µs, of which gemm ${(gemmSec * 1e6).toFixed(0)} µs (${((100 * gemmSec) / stepSec).toFixed(1)}%)`);
printTable(
  ["part", "calls/step", "µs/step", "s/epoch", "% of epoch"],
  rows.map((r) => [r.part, r.calls, r.stepUs.toFixed(1), r.epochSec.toFixed(3), pct(r.epochSec)]),
);
if (!Number.isFinite(sink)) console.warn("  loss is not finite");
const out = values.out ?? path.join(resultsDir, `breakdown-${stamp().slice(0, 10)}.json`);
// Seconds per epoch of the main parts (what `npm run bench` puts in its summary).
const parts: BreakdownParts = {
  epoch: epochSec,
  data: dataSec,
  gemm: gemmSec * stepsPerEpoch,
  otherKernels: (kernelsSec - gemmSec) * stepsPerEpoch,
  overhead: (stepSec - kernelsSec) * stepsPerEpoch,
  rest: epochSec - dataSec - stepSec * stepsPerEpoch,
};
writeJson(out, { machine: m, batch: BATCH, stepsPerEpoch, epochS, dataS, stepUs: stepSec * 1e6, kernelsUs: kernelsSec * 1e6, groups: groupSec, rows, parts });
console.log(`results: ${path.relative(process.cwd(), out)}`);
