// Per-step overhead of a training step: everything that is not kernel time (tensor and storage
// objects, heap allocation, autograd tape, scope bookkeeping, shape checks, optimizer state
// lookup, JS→wasm call wrappers).
//   node --conditions=wasmgrad-source --import tsx bench/overhead.ts [--quick] [--out file.json]
//
// Method: a step is `zeroGrad(); out = model(x); loss = criterion(out, y); loss.backward();
// optimizer.step(); loss.item()` (SGD lr 0.001 momentum 0.9, CrossEntropyLoss) on a fixed batch.
// The exact kernel calls one steady-state step makes are recorded (a wrapper backend sharing the
// memory of a second backend instance logs method and arguments), then replayed directly on that
// instance: same kernels, same shapes, same pointers, no tensors. overhead = step − replay
// (best − best, and the median of paired differences of alternating samples).
// Recording keeps the baseline honest when ops or kernels change. Steps and replays are timed
// alternately (the machine is shared); best and median are reported.
import { parseFlags } from "../src/cli/flags.js";
import { type BackendName, type Tensor, createBackend, nn, optim, setBackend, tensor } from "../src/index.js";
import { lcg, machineInfo, median, printTable, summarize, writeJson } from "./common.js";
import { type Call as RecordedCall, recordingBackend, replayer } from "./record.js";

interface Case {
  name: string;
  backend: BackendName;
  batch: number;
  layers: number[]; // 784, ..., 10
}

const PHASES = ["zeroGrad", "forward", "loss", "backward", "step", "item"] as const;
type Phase = (typeof PHASES)[number];

type Call = RecordedCall<Phase>;

export interface OverheadResult {
  name: string;
  backend: BackendName;
  batch: number;
  layers: number[];
  kernelCalls: number;
  calls: Record<string, number>;
  stepUs: { best: number; median: number };
  kernelsUs: { best: number; median: number };
  overheadUs: { best: number; median: number };
  /** Median per phase over instrumented steps: step time, kernel time, difference. */
  phases: Record<Phase, { stepUs: number; kernelsUs: number; overheadUs: number }> | null;
}

const rnd = lcg(7);

function buildModel(layers: number[]): nn.Module {
  const mods: nn.Module[] = [];
  for (let i = 0; i + 1 < layers.length; i++) {
    mods.push(new nn.Linear(layers[i], layers[i + 1]));
    if (i + 2 < layers.length) mods.push(new nn.ReLU());
  }
  return mods.length === 1 ? mods[0] : new nn.Sequential(...mods);
}

/** A model, its optimizer and a fixed batch on the current backend, with a step function per phase. */
function makeTrainer(c: Case) {
  const model = buildModel(c.layers);
  const criterion = new nn.CrossEntropyLoss();
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.001, momentum: 0.9 });
  const IN = c.layers[0],
    C = c.layers[c.layers.length - 1];
  const x = tensor(Float32Array.from({ length: c.batch * IN }, rnd), { shape: [c.batch, IN] });
  const y = tensor(Int32Array.from({ length: c.batch }, (_, i) => (i * 7) % C));
  let sink = 0;
  const step = () => {
    optimizer.zeroGrad();
    const out = model(x) as Tensor;
    const loss = criterion(out, y) as Tensor;
    loss.backward();
    optimizer.step();
    sink += loss.item();
  };
  // The same step with a hook before each phase (for recording and the per-phase timing).
  const phased = (at: (p: Phase) => void) => {
    at("zeroGrad");
    optimizer.zeroGrad();
    at("forward");
    const out = model(x) as Tensor;
    at("loss");
    const loss = criterion(out, y) as Tensor;
    at("backward");
    loss.backward();
    at("step");
    optimizer.step();
    at("item");
    sink += loss.item();
  };
  return { step, phased, sink: () => sink };
}

/** Seconds per call of fn over one sample of `inner` calls. */
function sampleOnce(fn: () => void, inner: number): number {
  const t0 = performance.now();
  for (let i = 0; i < inner; i++) fn();
  return (performance.now() - t0) / inner / 1e3;
}

/** Appends per-call seconds of fn, one sample of `inner` calls at a time, for `ms` milliseconds. */
function sampleRound(fn: () => void, inner: number, ms: number, out: number[]): void {
  const start = performance.now();
  do {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) fn();
    out.push((performance.now() - t0) / inner / 1e3);
  } while (performance.now() - start < ms);
}

function innerFor(fn: () => void, minMs = 3): number {
  let inner = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) fn();
    if (performance.now() - t0 >= minMs || inner >= 1 << 16) return inner;
    inner *= 2;
  }
}

function runCase(c: Case, rounds: number, roundMs: number): OverheadResult {
  // 1. Record one steady-state step on a second backend instance.
  const replayBe = createBackend(c.backend);
  const log: Call[] = [];
  let phase: Phase = "zeroGrad",
    recording = false;
  setBackend(
    recordingBackend(
      replayBe,
      log,
      () => phase,
      () => recording,
    ),
  );
  const recT = makeTrainer(c);
  for (let i = 0; i < 3; i++) recT.step();
  recording = true;
  recT.phased((p) => (phase = p));
  recording = false;
  const replayOf = (idx: number[]) => replayer(replayBe, log, idx);
  const all = log.map((_, i) => i);
  const replay = replayOf(all);
  const calls: Record<string, number> = {};
  for (const l of log) calls[l.name] = (calls[l.name] ?? 0) + 1;

  // 2. The timed model on its own backend instance.
  const be = createBackend(c.backend);
  setBackend(be);
  const t = makeTrainer(c);
  for (let i = 0; i < 20; i++) t.step();
  for (let i = 0; i < 20; i++) replay();

  // Paired samples: a few ms of steps, then a few ms of replays, alternating, so both see the
  // same background load; the median overhead is the median of the paired differences.
  const innerStep = innerFor(t.step, 2),
    innerReplay = innerFor(replay, 2);
  const stepS: number[] = [],
    replayS: number[] = [],
    diffs: number[] = [];
  const end = performance.now() + rounds * roundMs;
  while (performance.now() < end || diffs.length < 10) {
    const a = sampleOnce(t.step, innerStep),
      b = sampleOnce(replay, innerReplay);
    stepS.push(a);
    replayS.push(b);
    diffs.push(a - b);
  }
  const st = summarize(stepS),
    ks = summarize(replayS);

  // 3. Per phase (wasm, where kernels are cheap enough for the split to mean something):
  //    instrumented steps (median of per-sample means) against each phase's replay.
  const withPhases = c.backend === "wasm";
  const phaseStep = {} as Record<Phase, number[]>;
  for (const p of PHASES) phaseStep[p] = [];
  const acc = {} as Record<Phase, number>;
  let last = 0,
    cur: Phase = "zeroGrad";
  const mark = (p: Phase) => {
    const now = performance.now();
    acc[cur] += now - last;
    cur = p;
    last = now;
  };
  const instrumented = () => {
    last = performance.now();
    cur = "zeroGrad";
    t.phased(mark);
    mark("zeroGrad"); // closes "item"; the extra zeroGrad interval is empty
  };
  const phases = {} as NonNullable<OverheadResult["phases"]>;
  for (let r = 0; r < rounds && withPhases; r++) {
    const start = performance.now();
    do {
      for (const p of PHASES) acc[p] = 0;
      for (let i = 0; i < innerStep; i++) instrumented();
      for (const p of PHASES) phaseStep[p].push((acc[p] / innerStep) * 1e3);
    } while (performance.now() - start < roundMs / 2);
  }
  for (const p of PHASES) {
    if (!withPhases) break;
    const idx = all.filter((i) => log[i].tag === p);
    const kUs =
      idx.length === 0
        ? 0
        : summarize(
            (() => {
              const f = replayOf(idx),
                s: number[] = [];
              const inner = innerFor(f, 1);
              for (let r = 0; r < rounds; r++) sampleRound(f, inner, roundMs / 6, s);
              return s;
            })(),
          ).median * 1e6;
    const sUs = median(phaseStep[p]);
    phases[p] = { stepUs: sUs, kernelsUs: kUs, overheadUs: sUs - kUs };
  }
  if (!Number.isFinite(t.sink() + recT.sink())) console.warn(`  ${c.name}: loss is not finite`);
  const us = (x: number) => x * 1e6;
  return {
    ...c,
    kernelCalls: log.length,
    calls,
    stepUs: { best: us(st.best), median: us(st.median) },
    kernelsUs: { best: us(ks.best), median: us(ks.median) },
    overheadUs: { best: us(st.best - ks.best), median: us(median(diffs)) },
    phases: withPhases ? phases : null,
  };
}

const CASES: Case[] = [
  { name: "784→10, batch 1", backend: "wasm", batch: 1, layers: [784, 10] },
  { name: "784→10, batch 100", backend: "wasm", batch: 100, layers: [784, 10] },
  { name: "seed MLP, batch 100", backend: "wasm", batch: 100, layers: [784, 128, 64, 10] },
  { name: "784→10, batch 1", backend: "js", batch: 1, layers: [784, 10] },
  { name: "784→10, batch 100", backend: "js", batch: 100, layers: [784, 10] },
];

function printOverhead(results: OverheadResult[]): void {
  const f = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1));
  printTable(
    ["case", "backend", "calls", "step µs best/med", "kernels µs best/med", "overhead µs best/med"],
    results.map((r) => [
      r.name,
      r.backend,
      r.kernelCalls,
      `${f(r.stepUs.best)} / ${f(r.stepUs.median)}`,
      `${f(r.kernelsUs.best)} / ${f(r.kernelsUs.median)}`,
      `${f(r.overheadUs.best)} / ${f(r.overheadUs.median)}`,
    ]),
  );
  // Per phase, the isolated replay of one phase runs with warmer caches than inside a full step,
  // so the split is only meaningful where kernels are a small part of the step.
  const small = results.filter((r) => r.phases !== null && r.kernelsUs.median < 0.8 * r.stepUs.median);
  if (small.length === 0) return;
  console.log("\noverhead by phase, µs (median instrumented step time − median replay time of that phase's kernels)");
  printTable(
    ["case", "backend", ...PHASES],
    small.map((r) => [r.name, r.backend, ...PHASES.map((p) => f(r.phases![p].overheadUs))]),
  );
}

{
  const values = parseFlags("npm run bench:overhead --", "Per-op and per-step overhead of the Tensor API over the bare kernels.", {
    quick: { type: "boolean", help: "fewer, shorter rounds" },
    out: { type: "string", help: "results file" },
  });
  const rounds = values.quick ? 3 : 6;
  const roundMs = values.quick ? 150 : 300;
  const results: OverheadResult[] = [];
  for (const c of CASES) {
    const r = runCase(c, rounds, roundMs);
    results.push(r);
    console.log(
      `  [overhead] ${c.name} (${c.backend}): step ${r.stepUs.best.toFixed(1)} µs, kernels ${r.kernelsUs.best.toFixed(1)} µs, ` +
        `overhead ${r.overheadUs.best.toFixed(1)} µs best (median ${r.overheadUs.median.toFixed(1)})`,
    );
  }
  console.log("\nper-step overhead: full training step minus the same kernel calls replayed directly on the backend");
  printOverhead(results);
  if (values.out) writeJson(values.out, { date: new Date().toISOString(), machine: machineInfo(), rounds, roundMs, results });
}
