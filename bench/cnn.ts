// CNN training throughput: models.MnistCNN (conv 32 → BN → ReLU → pool, conv 64 → BN →
// ReLU → pool, dropout, dense 128, dense 10) with Adam at batch 64 on real MNIST, for wasmgrad
// (wasm, 1 and 2 threads; js) and TensorFlow.js (wasm, cpu) with the same layers. Each
// implementation runs in its own process; samples/s over timed steps after warm-up.
//   npx tsx --conditions=wasmgrad-source bench/cnn.ts [--steps N] [--out file.json]
//   npx tsx --conditions=wasmgrad-source bench/cnn.ts --impl wasmgrad-wasm --threads 2 --out x.json  (one)
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseFlags } from "../src/cli/flags.js";
import { fmt, loadMnistRaw, machineInfo, machineLine, median, printTable, resultsDir, stamp, writeJson } from "./common.js";
import { runTs } from "./e2e.js";

export interface CnnResult {
  id: string;
  label: string;
  samplesPerSec: number | null;
  medianSamplesPerSec: number | null;
  steps: number;
  error?: string;
}

const BATCH = 64;
const CONFIGS = [
  { id: "wasmgrad-wasm", label: "wasmgrad wasm", impl: "wasmgrad-wasm", threads: 1, steps: 60 },
  { id: "wasmgrad-wasm-2t", label: "wasmgrad wasm 2 threads", impl: "wasmgrad-wasm", threads: 2, steps: 60 },
  { id: "wasmgrad-js", label: "wasmgrad js", impl: "wasmgrad-js", threads: 1, steps: 3 },
  { id: "tfjs-wasm", label: "TF.js wasm", impl: "tfjs-wasm", threads: 1, steps: 10 },
  { id: "tfjs-cpu", label: "TF.js cpu", impl: "tfjs-cpu", threads: 1, steps: 3 },
];

/** Times `steps` training steps (after 3 warm-up steps) in windows of a few steps. */
async function timeSteps(step: (i: number) => Promise<void> | void, steps: number): Promise<number[]> {
  for (let i = 0; i < 3; i++) await step(i);
  const window = Math.max(1, Math.floor(steps / 5));
  const rates: number[] = [];
  for (let done = 0; done < steps; done += window) {
    const t0 = performance.now();
    for (let i = 0; i < window; i++) await step(3 + done + i);
    rates.push((window * BATCH) / ((performance.now() - t0) / 1000));
  }
  return rates;
}

async function runOne(impl: string, threads: number, steps: number): Promise<number[]> {
  const { x, labels } = loadMnistRaw(true);
  const batchAt = (i: number) => {
    const start = (i * BATCH) % (60000 - BATCH);
    return { xs: x.subarray(start * 784, (start + BATCH) * 784), ys: labels.subarray(start, start + BATCH) };
  };
  if (impl.startsWith("wasmgrad")) {
    const w = await import("wasmgrad");
    w.setBackend(impl === "wasmgrad-js" ? "js" : "wasm");
    w.setNumThreads(threads);
    await new Promise((r) => setTimeout(r, 300));
    w.manualSeed(0);
    const model = new w.models.MnistCNN();
    const opt = new w.optim.Adam(model.parameters(), { lr: 1e-3 });
    return timeSteps((i) => {
      const { xs, ys } = batchAt(i);
      opt.zeroGrad();
      w.nn.functional.crossEntropy(model(w.tensor(xs, { shape: [BATCH, 1, 28, 28] })), w.tensor(ys)).backward();
      opt.step();
    }, steps);
  }
  const tf = await import("@tensorflow/tfjs");
  if (impl === "tfjs-wasm") {
    const tfwasm = await import("@tensorflow/tfjs-backend-wasm");
    tfwasm.setWasmPaths(path.join(process.cwd(), "node_modules", "@tensorflow", "tfjs-backend-wasm", "dist") + path.sep);
    tfwasm.setThreadsCount(1);
  }
  if (!(await tf.setBackend(impl === "tfjs-wasm" ? "wasm" : "cpu"))) throw new Error(`tf.setBackend failed for ${impl}`);
  await tf.ready();
  const block = (filters: number, inputShape?: number[]) => [
    tf.layers.conv2d({ filters, kernelSize: 3, padding: "same", useBias: false, dataFormat: "channelsLast", ...(inputShape ? { inputShape } : {}) }),
    tf.layers.batchNormalization({ axis: -1 }),
    tf.layers.activation({ activation: "relu" }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
  ];
  const model = tf.sequential({
    layers: [
      ...block(32, [28, 28, 1]),
      ...block(64),
      tf.layers.dropout({ rate: 0.25 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 128, activation: "relu" }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({ units: 10 }),
    ],
  });
  const optimizer = tf.train.adam(1e-3);
  return timeSteps((i) => {
    const { xs, ys } = batchAt(i);
    const xb = tf.tensor4d(xs, [BATCH, 28, 28, 1]);
    const yb = tf.oneHot(tf.tensor1d(ys, "int32"), 10);
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(yb, model.apply(xb, { training: true }) as import("@tensorflow/tfjs").Tensor) as import("@tensorflow/tfjs").Scalar,
      true,
    );
    loss!.dataSync();
    tf.dispose([xb, yb, loss!]);
  }, steps);
}

export async function runCnnBench(stepsScale = 1): Promise<CnnResult[]> {
  const results: CnnResult[] = [];
  for (const c of CONFIGS) {
    const out = path.join(os.tmpdir(), `wasmgrad-cnn-${c.id}-${process.pid}.json`);
    const steps = Math.max(1, Math.round(c.steps * stepsScale));
    try {
      await runTs("cnn.ts", ["--impl", c.impl, "--threads", String(c.threads), "--steps", String(steps), "--out", out]);
      const rates = JSON.parse(fs.readFileSync(out, "utf8")) as number[];
      results.push({ id: c.id, label: c.label, samplesPerSec: Math.max(...rates), medianSamplesPerSec: median(rates), steps });
    } catch (e) {
      const msg = fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, "utf8")) as { error: string }).error : (e as Error).message;
      results.push({ id: c.id, label: c.label, samplesPerSec: null, medianSamplesPerSec: null, steps, error: msg });
    } finally {
      fs.rmSync(out, { force: true });
    }
  }
  return results;
}

export function printCnn(results: CnnResult[]): void {
  console.log(`\nCNN training (models.MnistCNN, Adam, batch ${BATCH}, real MNIST): samples/s, best / median of step windows`);
  printTable(
    ["", "samples/s best", "median", "steps", "note"],
    results.map((r) => [
      r.label,
      r.samplesPerSec === null ? "—" : fmt(r.samplesPerSec),
      r.medianSamplesPerSec === null ? "—" : fmt(r.medianSamplesPerSec),
      String(r.steps),
      r.error ? `cannot train: ${r.error.split("\n")[0].slice(0, 90)}` : "",
    ]),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const values = parseFlags(
    "npm run bench:cnn --",
    "The MNIST CNN's training throughput: wasmgrad (1 and 2 threads) and TensorFlow.js, each in its own process.",
    {
      impl: { type: "string", help: "run one implementation in this process (used by the benchmark itself)" },
      threads: { type: "int", default: 1, min: 1, help: "threads for --impl" },
      steps: { type: "int", min: 1, help: "steps for --impl (default 10)" },
      out: { type: "string", help: "results file" },
      scale: { type: "number", default: 1, min: 0, help: "scales the number of steps timed" },
    },
  );
  if (values.impl) {
    try {
      const rates = await runOne(values.impl, values.threads, values.steps ?? 10);
      fs.writeFileSync(values.out!, JSON.stringify(rates));
    } catch (e) {
      fs.writeFileSync(values.out!, JSON.stringify({ error: (e as Error).message }));
      process.exit(1);
    }
  } else {
    console.log(machineLine(machineInfo()));
    const results = await runCnnBench(values.scale);
    printCnn(results);
    const out = values.out ?? path.join(resultsDir, `cnn-${stamp()}.json`);
    writeJson(out, { machine: machineInfo(), results });
    console.log(`results: ${path.relative(process.cwd(), out)}`);
  }
}
