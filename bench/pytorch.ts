// wasmgrad against real PyTorch on this machine, side by side in one run, 1 and 2 threads each:
// the seed MLP (the program as written — per-image transforms and a DataLoader — and the
// pre-batched form), models.MnistCNN (bench/cnn.ts's steps), matrix products through the tensor
// API, and the small GPT (bench/gpt.ts, which runs both sides itself). PyTorch is Debian's
// python3-torch under /usr/bin/python3 (REFERENCE_PYTHON overrides), run with OpenBLAS's
// CORETYPE/L2_SIZE overrides unset for its process only; when torch is missing its cells say
// "not installed" and the rest runs. Every configuration runs in its own process.
// Results: bench/results/pytorch-<date>.json.
//   npm run bench:pytorch [-- --epochs N] [-- --no-gpt] [-- --out file.json]
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseFlags } from "../src/cli/flags.js";
import { fmt, fmtRatio, machineInfo, machineLine, mnistDir, openblasEnv, printTable, repoDir, resultsDir, stamp, time, writeJson } from "./common.js";
import { readJsonFrom } from "./e2e.js";

const PYTHON = process.env.REFERENCE_PYTHON ?? "/usr/bin/python3";
const MLP_BATCH = 100;
const CNN_STEPS = 60;

/** The matrix products timed on both sides (the seed MLP's first layer, a square, the GPT's c_attn). */
const GEMMS = [
  { label: "100×784×128", form: "nt", M: 100, N: 128, K: 784 },
  { label: "100×784×128", form: "tn", M: 128, N: 784, K: 100 },
  { label: "512³", form: "nn", M: 512, N: 512, K: 512 },
  { label: "2048×128·128×384", form: "nt", M: 2048, N: 384, K: 128 },
] as const;
type GemmCase = (typeof GEMMS)[number];
const gemmKey = (c: GemmCase) => `${c.label} ${c.form}`;

/** A figure, or why there is none. */
type Figure = number | { error: string };

// ---- wasmgrad, one configuration per process ---------------------------------------------------

/** Seed-MLP epochs in this process: seconds per epoch and the final test accuracy. */
async function oursMlp(form: "written" | "batched", threads: number, epochs: number) {
  const w = await import("wasmgrad");
  w.setNumThreads(threads);
  await new Promise((r) => setTimeout(r, 300)); // workers start asynchronously
  w.manualSeed(0);
  const model = new w.nn.Sequential(new w.nn.Linear(784, 128), new w.nn.ReLU(), new w.nn.Linear(128, 64), new w.nn.ReLU(), new w.nn.Linear(64, 10));
  const criterion = new w.nn.CrossEntropyLoss();
  const opt = new w.optim.SGD(model.parameters(), { lr: 0.001, momentum: 0.9 });
  const step = (images: import("wasmgrad").Tensor, labels: import("wasmgrad").Tensor) => {
    opt.zeroGrad();
    criterion(model(images.view(images.shape[0], -1)), labels).backward();
    opt.step();
  };
  const transform = new w.transforms.Compose([new w.transforms.ToTensor(), new w.transforms.Normalize([0.5], [0.5])]);
  let epoch: () => void;
  if (form === "written") {
    const loader = new w.DataLoader(new w.datasets.MNIST({ train: true, transform }), { batchSize: MLP_BATCH, shuffle: true });
    epoch = () => {
      for (const [images, labels] of loader) step(images as import("wasmgrad").Tensor, labels as import("wasmgrad").Tensor);
    };
  } else {
    // The same pre-normalized tensors, batched by a DataLoader over a TensorDataset: its batches
    // belong to the training step and are freed with it, where x[idx] at top level would make
    // persistent tensors that only garbage collection frees (docs/tensors-and-memory.md).
    const { x, labels } = loadNormalized(w, true);
    const loader = new w.DataLoader(new w.data.TensorDataset(x, labels), { batchSize: MLP_BATCH, shuffle: true });
    epoch = () => {
      for (const [images, y] of loader) step(images as import("wasmgrad").Tensor, y as import("wasmgrad").Tensor);
    };
  }
  const seconds: number[] = [];
  for (let e = 0; e < epochs; e++) {
    const t0 = performance.now();
    epoch();
    seconds.push((performance.now() - t0) / 1000);
  }
  const test = loadNormalized(w, false);
  const accuracy = w.noGrad(() => {
    const pred = model(test.x).argmax(1).toArray() as number[];
    const y = test.labels.toArray() as number[];
    return pred.filter((p, i) => p === y[i]).length / y.length;
  });
  return { epochSeconds: seconds, samplesPerSec: 60000 / Math.min(...seconds), accuracy };
}

/** A whole MNIST split as one normalized (N, 784) tensor and its labels, as a PyTorch user pre-batches. */
function loadNormalized(w: typeof import("wasmgrad"), train: boolean) {
  const ds = new w.datasets.MNIST({ train });
  const n = ds.targets.length;
  const x = Float32Array.from(ds.data, (p) => (p / 255 - 0.5) / 0.5);
  return { x: w.tensor(x, { shape: [n, 784] }), labels: w.tensor(ds.targets, { dtype: "int32" }) };
}

/** Each product through the tensor API (noGrad), transposed operands as views: seconds per call. */
async function oursGemm(threads: number) {
  const w = await import("wasmgrad");
  w.setNumThreads(threads);
  await new Promise((r) => setTimeout(r, 300));
  const out: Record<string, { best: number; median: number }> = {};
  for (const c of GEMMS) {
    const r = (rows: number, cols: number) => w.rand([rows, cols]);
    const A = c.form === "tn" ? r(c.K, c.M).T : r(c.M, c.K);
    const B = c.form === "nt" ? r(c.N, c.K).T : r(c.K, c.N);
    const t = time(() => w.noGrad(() => void A.matmul(B).dispose()), 600);
    out[gemmKey(c)] = { best: t.best, median: t.median };
  }
  return out;
}

// ---- PyTorch -------------------------------------------------------------------------------------

/** The torch version, or why it cannot run. */
function probeTorch(): { version: string } | { error: string } {
  const r = spawnSync(PYTHON, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
  if (r.status === 0) return { version: r.stdout.trim() };
  return { error: "not installed" };
}

/** Runs a bench/pytorch/*.py script with `threads` threads; its last stdout line is JSON. */
function torchScript<T>(script: string, threads: number, args: string[]): T | { error: string } {
  const r = spawnSync(PYTHON, [path.join("bench", "pytorch", script), "--threads", String(threads), ...args], {
    cwd: repoDir,
    encoding: "utf8",
    env: openblasEnv(threads),
  });
  const line = r.stdout?.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !line.startsWith("{")) return { error: (r.stderr || r.error?.message || "failed").trim().split("\n").pop() ?? "failed" };
  return JSON.parse(line) as T;
}

// ---- the run ---------------------------------------------------------------------------------------

/** Runs a bench script's `--impl` in a fresh process and returns what it wrote, or the error. */
async function child<T>(args: string[], script = "pytorch.ts"): Promise<T | { error: string }> {
  try {
    return await readJsonFrom<T>(script, args, "vs-pytorch");
  } catch (e) {
    return { error: (e as Error).message };
  }
}

interface Row {
  workload: string;
  unit: string;
  ours: [Figure, Figure];
  torch: [Figure, Figure];
  note: string;
}

/** Every row, wasmgrad and PyTorch with 1 and 2 threads. */
export async function runVsPytorch(opts: { epochs: number; gpt: boolean }): Promise<{ torch: string; rows: Row[]; gpt: unknown }> {
  const probe = probeTorch();
  const torchVersion = "error" in probe ? probe.error : probe.version;
  const missing = { error: "not installed" };
  const fig = <T>(r: T | { error: string }, f: (x: T) => number): Figure =>
    (r as { error?: string }).error !== undefined ? { error: (r as { error: string }).error } : f(r as T);
  const rows: Row[] = [];
  const threads = [1, 2] as const;

  for (const form of ["written", "batched"] as const) {
    console.log(`seed MLP, ${form === "written" ? "the program as written" : "pre-batched"}…`);
    type Mlp = { samplesPerSec: number; accuracy: number };
    const ours: (Mlp | { error: string })[] = [];
    for (const t of threads) ours.push(await child<Mlp>(["--impl", "mlp", "--form", form, "--threads", String(t), "--epochs", String(opts.epochs)]));
    const theirs = threads.map((t) =>
      "error" in probe ? missing : torchScript<Mlp>("mlp.py", t, ["--form", form, "--epochs", String(opts.epochs), "--data", mnistDir()]),
    );
    const acc = (r: Mlp | { error: string }) => ("error" in r ? "—" : `${(100 * r.accuracy).toFixed(1)}%`);
    rows.push({
      workload: `seed MLP ${form === "written" ? "as written (transforms + DataLoader)" : "pre-batched (normalized tensors in memory)"}`,
      unit: "samples/s",
      ours: [fig(ours[0], (r) => r.samplesPerSec), fig(ours[1], (r) => r.samplesPerSec)],
      torch: [fig(theirs[0], (r) => r.samplesPerSec), fig(theirs[1], (r) => r.samplesPerSec)],
      note: `best of ${opts.epochs} epochs; test accuracy after them ours ${acc(ours[0])}, PyTorch ${acc(theirs[0])} (1 thread)`,
    });
  }

  console.log("MnistCNN…");
  const cnnOurs: (number[] | { error: string })[] = [];
  for (const t of threads) cnnOurs.push(await child<number[]>(["--impl", "wasmgrad-wasm", "--threads", String(t), "--steps", String(CNN_STEPS)], "cnn.ts"));
  const cnnTheirs = threads.map((t) =>
    "error" in probe ? missing : torchScript<{ rates: number[] }>("cnn.py", t, ["--steps", String(CNN_STEPS), "--data", mnistDir()]),
  );
  rows.push({
    workload: "models.MnistCNN, Adam, batch 64",
    unit: "samples/s",
    ours: [fig(cnnOurs[0], (r) => Math.max(...r)), fig(cnnOurs[1], (r) => Math.max(...r))],
    torch: [fig(cnnTheirs[0], (r) => Math.max(...r.rates)), fig(cnnTheirs[1], (r) => Math.max(...r.rates))],
    note: `best window of ${CNN_STEPS} steps (bench/cnn.ts)`,
  });

  console.log("matrix products…");
  type Times = Record<string, { best: number; median: number }>;
  const gemmOurs: (Times | { error: string })[] = [];
  for (const t of threads) gemmOurs.push(await child<Times>(["--impl", "gemm", "--threads", String(t)]));
  const gemmTheirs = threads.map((t) => ("error" in probe ? missing : torchScript<Times>("gemm.py", t, [JSON.stringify(GEMMS)])));
  for (const c of GEMMS) {
    const rate = (r: Times) => (2 * c.M * c.N * c.K) / r[gemmKey(c)].best / 1e9;
    rows.push({
      workload: `matmul ${c.label} ${c.form}`,
      unit: "GFLOP/s",
      ours: [fig(gemmOurs[0], rate), fig(gemmOurs[1], rate)],
      torch: [fig(gemmTheirs[0], rate), fig(gemmTheirs[1], rate)],
      note: "through the tensor API, noGrad, best",
    });
  }

  let gpt: unknown = null;
  if (opts.gpt) {
    console.log("GPT (bench/gpt.ts)…");
    type Side = { trainTokensPerSec: number } | { error: string };
    const g = await child<{ wasmgrad: Side[]; torch: Side[] }>([], "gpt.ts");
    const tok = (r: { trainTokensPerSec: number }) => r.trainTokensPerSec;
    if ("error" in g) rows.push({ workload: "GPT training", unit: "tokens/s", ours: [g, g], torch: [missing, missing], note: "" });
    else {
      gpt = g;
      rows.push({
        workload: "GPT 4×128, block 128, batch 16: training",
        unit: "tokens/s",
        ours: [fig(g.wasmgrad[0], tok), fig(g.wasmgrad[1], tok)],
        torch: "error" in probe ? [missing, missing] : [fig(g.torch[0], tok), fig(g.torch[1], tok)],
        note: "median of 20 steps, AdamW (bench/gpt.ts)",
      });
    }
  }
  return { torch: torchVersion, rows, gpt };
}

/** The table: figures, ours ÷ PyTorch with one thread, and our best ÷ PyTorch's best configuration. */
export function vsPytorchTable(rows: Row[]): { head: string[]; cells: string[][] } {
  const num = (f: Figure) => (typeof f === "number" ? f : null);
  const cell = (f: Figure) => (typeof f === "number" ? fmt(f) : f.error);
  const best = (pair: [Figure, Figure]) => {
    const xs = pair.map(num).filter((x): x is number => x !== null);
    return xs.length ? Math.max(...xs) : null;
  };
  const ratio = (a: number | null, b: number | null) => (a === null || b === null ? "—" : fmtRatio(a / b));
  return {
    head: ["", "unit", "wasmgrad 1t", "wasmgrad 2t", "PyTorch 1t", "PyTorch 2t", "ours ÷ PyTorch, 1t", "best ÷ best", "note"],
    cells: rows.map((r) => [
      r.workload,
      r.unit,
      cell(r.ours[0]),
      cell(r.ours[1]),
      cell(r.torch[0]),
      cell(r.torch[1]),
      ratio(num(r.ours[0]), num(r.torch[0])),
      ratio(best(r.ours), best(r.torch)),
      r.note,
    ]),
  };
}

/** Prints the table and writes the results file (with the table, which docs/benchmarks.md shows). */
export function reportVsPytorch(r: Awaited<ReturnType<typeof runVsPytorch>>, out: string): void {
  const table = vsPytorchTable(r.rows);
  console.log(`\nwasmgrad vs PyTorch ${r.torch} (OpenBLAS), this machine, one run`);
  printTable(table.head, table.cells);
  writeJson(out, { date: new Date().toISOString(), machine: machineInfo(), torch: r.torch, rows: r.rows, table, gpt: r.gpt });
  console.log(`\nresults: ${path.relative(process.cwd(), out)}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const values = parseFlags(
    "npm run bench:pytorch --",
    "wasmgrad against real PyTorch 1.13 (Debian python3-torch) in one run, 1 and 2 threads each: the seed MLP as written and pre-batched, MnistCNN, matrix products, the small GPT.",
    {
      epochs: { type: "int", default: 2, min: 1, help: "seed-MLP epochs per configuration (the best counts)" },
      "no-gpt": { type: "boolean", help: "skip the GPT rows (bench/gpt.ts takes a few minutes)" },
      out: { type: "string", help: "results file (default bench/results/pytorch-<date>.json)" },
      impl: { type: "string", help: "run one wasmgrad configuration in this process: mlp or gemm (used by the benchmark itself)" },
      form: { type: "string", default: "written", help: "with --impl mlp: written or batched" },
      threads: { type: "int", default: 1, min: 1, help: "threads for --impl" },
    },
  );
  if (values.impl) {
    let result: unknown;
    if (values.impl === "mlp") {
      if (values.form !== "written" && values.form !== "batched") throw new Error(`--form: expected written or batched, got ${values.form}`);
      result = await oursMlp(values.form, values.threads, values.epochs);
    } else if (values.impl === "gemm") result = await oursGemm(values.threads);
    else throw new Error(`--impl: expected mlp or gemm, got ${values.impl}`);
    fs.writeFileSync(values.out!, JSON.stringify(result));
  } else {
    const machine = machineInfo();
    console.log(`machine: ${machineLine(machine)}`);
    const out = values.out ?? path.join(resultsDir, `pytorch-${stamp()}.json`);
    reportVsPytorch(await runVsPytorch({ epochs: values.epochs, gpt: !values["no-gpt"] }), out);
  }
}
