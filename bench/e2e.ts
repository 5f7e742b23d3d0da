// End-to-end benchmark: the seed MLP on real MNIST for wasmgrad (wasm, js) and TensorFlow.js
// (wasm, cpu) side by side in one run, each configuration in its own process (bench/e2e-run.ts)
// so peak RSS is per configuration; the numpy reference (bench/numpy_mlp.py) when python3 and
// numpy are present; the per-step overhead (bench/overhead.ts).
//   npm run bench:e2e [-- --quick] [-- --only wasmgrad-wasm,tfjs-wasm] [-- --epochs N] [-- --rounds R]
//                     [-- --no-numpy] [-- --no-overhead]
// --quick times 100 steps instead of full epochs (for iterating; not comparable to full epochs).
// `npm run bench` runs this after bench/kernels.ts and prints the summary (bench/all.ts).
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseFlags } from "../src/cli/flags.js";
import { fileURLToPath } from "node:url";
import type { Impl, RunResult } from "./e2e-run.js";
import { fmt, fmtRatio, machineInfo, machineLine, median, openblasEnv, printTable, repoDir, resultsDir, writeJson } from "./common.js";

/**
 * One row of the end-to-end table. To add a configuration, add an entry here; `when` returns
 * null to run it or a reason to skip it (shown in the output).
 */
export interface E2EConfig {
  id: string;
  label: string;
  impl: Impl;
  /** wasmgrad: calls setNumThreads(threads) before training; TF.js wasm: setThreadsCount. */
  threads?: number;
  tfLoop?: "fit" | "minimize";
  /** Timed epochs in a full run (best and median are reported); slow configurations get one. */
  epochs: number;
  when?: (env: Env) => string | null;
}

export interface Env {
  /** wasmgrad exports setNumThreads (the worker pool). */
  hasThreads: boolean;
}

export const E2E_CONFIGS: E2EConfig[] = [
  { id: "wasmgrad-wasm", label: "wasmgrad wasm", impl: "wasmgrad-wasm", epochs: 5 },
  // The worker pool: runs as soon as the package exports setNumThreads(n).
  {
    id: "wasmgrad-wasm-2t",
    label: "wasmgrad wasm 2 threads",
    impl: "wasmgrad-wasm",
    threads: 2,
    epochs: 5,
    when: (env) => (env.hasThreads ? null : "wasmgrad has no setNumThreads() yet"),
  },
  { id: "wasmgrad-js", label: "wasmgrad js", impl: "wasmgrad-js", epochs: 1 },
  { id: "tfjs-wasm", label: "TF.js wasm (fit)", impl: "tfjs-wasm", tfLoop: "fit", epochs: 2 },
  { id: "tfjs-wasm-minimize", label: "TF.js wasm (minimize)", impl: "tfjs-wasm", tfLoop: "minimize", epochs: 2 },
  { id: "tfjs-cpu", label: "TF.js cpu (fit)", impl: "tfjs-cpu", tfLoop: "fit", epochs: 1 },
];

export interface E2EOptions {
  quick?: boolean;
  /** Run only these config ids. */
  only?: string[];
  /** Timed epochs for every configuration (default: each config's own). */
  epochs?: number;
  numpy?: boolean;
  overhead?: boolean;
  /** Processes per configuration, run round-robin (default 3, 1 with quick). */
  rounds?: number;
}

export interface NumpyResult {
  numpy: string;
  blasThreads: string;
  steps: number;
  fullEpoch: boolean;
  bestSeconds: number;
  medianSeconds: number;
  bestSamplesPerSec: number;
  medianSamplesPerSec: number;
  epochs: { seconds: number; meanLoss: number; samplesPerSec: number }[];
}

export interface E2EResults {
  date: string;
  quick: boolean;
  rounds: number;
  machine: ReturnType<typeof machineInfo>;
  runs: (RunResult & { id: string; label: string; processes: number })[];
  skipped: { id: string; label: string; reason: string }[];
  numpy: NumpyResult | { error: string } | null;
  overhead: unknown;
}

const QUICK_STEPS = 100;

function tmpFile(name: string): string {
  fs.mkdirSync(resultsDir, { recursive: true });
  return path.join(resultsDir, `${name}-${process.pid}.tmp`);
}

/** Runs a TypeScript bench script in a fresh Node process (tsx, the package's `source` condition). */
export function runTs(script: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--conditions=wasmgrad-source", "--import", "tsx", path.join("bench", script), ...args], {
      cwd: repoDir,
      stdio: "inherit",
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => (code === 0 ? resolve() : reject(new Error(`${script} ${args.join(" ")} exited with ${signal ?? code}`))));
  });
}

/** Runs a bench script with `--out <temp file>` in a fresh process and returns the JSON it wrote. */
export async function readJsonFrom<T>(script: string, args: string[], name: string): Promise<T> {
  const out = tmpFile(name);
  try {
    await runTs(script, [...args, "--out", out]);
    return JSON.parse(fs.readFileSync(out, "utf8")) as T;
  } finally {
    fs.rmSync(out, { force: true });
  }
}

function runNumpy(quick: boolean, epochs: number): NumpyResult | { error: string } | null {
  const args = [path.join(repoDir, "bench", "numpy_mlp.py"), "--json", "--epochs", String(epochs), ...(quick ? ["--steps", String(QUICK_STEPS)] : [])];
  // One BLAS thread, like every other row (the machine has 2 cores; threads would also fight
  // other processes).
  const r = spawnSync("python3", args, { encoding: "utf8", env: openblasEnv(1) });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") return null;
  if (r.status !== 0) {
    const msg = (r.stderr || String(r.error)).trim().split("\n").pop() ?? "failed";
    return /No module named 'numpy'/.test(msg) ? null : { error: msg };
  }
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as NumpyResult;
}

/** Pools the processes of one configuration: all timed epochs; best of bests, median of medians. */
function mergeRuns(parts: RunResult[]): RunResult & { processes: number } {
  const epochs = parts.flatMap((p) => p.epochs);
  const rates = epochs.map((e) => e.samplesPerSec);
  const inference = {} as RunResult["inference"];
  for (const k of ["b1", "b1000"] as const) {
    const xs = parts.map((p) => p.inference[k]);
    inference[k] = {
      samplesPerSec: Math.max(...xs.map((x) => x.samplesPerSec)),
      medianSamplesPerSec: median(xs.map((x) => x.medianSamplesPerSec)),
      bestUs: Math.min(...xs.map((x) => x.bestUs)),
      medianUs: median(xs.map((x) => x.medianUs)),
      samples: xs.reduce((a, x) => a + x.samples, 0),
    };
  }
  const mm = parts.map((p) => p.matmul).filter((m) => m !== null);
  let matmul: RunResult["matmul"] = null;
  if (mm.length > 0) {
    matmul = {} as NonNullable<RunResult["matmul"]>;
    for (const f of ["nn", "nt", "tn"] as const) {
      matmul[f] = {
        bestGflops: Math.max(...mm.map((m) => m[f].bestGflops)),
        medianGflops: median(mm.map((m) => m[f].medianGflops)),
        bestUs: Math.min(...mm.map((m) => m[f].bestUs)),
      };
    }
  }
  return {
    ...parts[0],
    matmul,
    processes: parts.length,
    epochs,
    train: {
      bestSamplesPerSec: Math.max(...rates),
      medianSamplesPerSec: median(rates),
      bestEpochSeconds: Math.min(...epochs.map((e) => e.seconds)),
      fullEpoch: parts.every((p) => p.train.fullEpoch),
    },
    inference,
    rss: { afterSetupMiB: median(parts.map((p) => p.rss.afterSetupMiB)), peakMiB: Math.max(...parts.map((p) => p.rss.peakMiB)) },
  };
}

function mergeNumpy(parts: NumpyResult[]): NumpyResult {
  const epochs = parts.flatMap((p) => p.epochs);
  const secs = epochs.map((e) => e.seconds);
  const samples = epochs[0].samplesPerSec * epochs[0].seconds;
  return {
    ...parts[0],
    epochs,
    bestSeconds: Math.min(...secs),
    medianSeconds: median(secs),
    bestSamplesPerSec: samples / Math.min(...secs),
    medianSamplesPerSec: samples / median(secs),
  };
}

async function detectEnv(): Promise<Env> {
  const wg = (await import("../src/index.js")) as Record<string, unknown>;
  return { hasThreads: typeof wg.setNumThreads === "function" };
}

export async function runE2E(opts: E2EOptions = {}): Promise<E2EResults> {
  const quick = opts.quick ?? false;
  const rounds = Math.max(1, opts.rounds ?? (quick ? 1 : 3));
  const env = await detectEnv();
  const skipped: E2EResults["skipped"] = [];
  const plan: E2EConfig[] = [];
  for (const c of E2E_CONFIGS) {
    if (opts.only && !opts.only.includes(c.id)) continue;
    const reason = c.when?.(env) ?? null;
    if (reason !== null) {
      skipped.push({ id: c.id, label: c.label, reason });
      console.log(`  [${c.id}] skipped: ${reason}`);
    } else {
      plan.push(c);
    }
  }
  // Rounds: each configuration's epochs are spread over up to `rounds` processes, run round-robin
  // with the others, so a noisy minute on the shared machine does not hit one column only.
  const left = new Map(plan.map((c) => [c.id, opts.epochs ?? (quick ? Math.min(c.epochs, 2) : c.epochs)]));
  const parts = new Map<string, RunResult[]>(plan.map((c) => [c.id, []]));
  const numpyParts: NumpyResult[] = [];
  let numpyLeft = (opts.numpy ?? true) ? (quick ? 2 : 3) : 0;
  let numpyMissing: E2EResults["numpy"] = null;
  for (let r = 0; r < rounds; r++) {
    if (rounds > 1) console.log(`  -- round ${r + 1}/${rounds}`);
    for (const c of plan) {
      const n = Math.ceil(left.get(c.id)! / (rounds - r));
      if (n === 0) continue;
      left.set(c.id, left.get(c.id)! - n);
      const args = ["--id", c.id, "--impl", c.impl, "--epochs", String(n)];
      if (quick) args.push("--steps", String(QUICK_STEPS));
      if (c.threads !== undefined) args.push("--threads", String(c.threads));
      if (c.tfLoop) args.push("--tf-loop", c.tfLoop);
      parts.get(c.id)!.push(await readJsonFrom<RunResult>("e2e-run.ts", args, `e2e-${c.id}`));
    }
    const n = Math.ceil(numpyLeft / (rounds - r));
    if (n > 0 && numpyMissing === null) {
      numpyLeft -= n;
      const res = runNumpy(quick, n);
      if (res === null) console.log("  [numpy] skipped: python3 with numpy not found");
      else if ("error" in res) console.log(`  [numpy] failed: ${res.error}`);
      else {
        numpyParts.push(res);
        console.log(`  [numpy] ${res.epochs.map((e) => `${e.seconds.toFixed(3)} s`).join(", ")} per epoch (numpy ${res.numpy}, OPENBLAS_NUM_THREADS=1)`);
      }
      if (res === null || "error" in res) {
        numpyMissing = res ?? { error: "python3 with numpy not found" };
        numpyLeft = 0;
      }
    }
  }
  const runs = plan.map((c) => ({ id: c.id, label: c.label, ...mergeRuns(parts.get(c.id)!) }));
  const numpy: E2EResults["numpy"] = numpyParts.length > 0 ? mergeNumpy(numpyParts) : numpyMissing;
  let overhead: unknown = null;
  if (opts.overhead ?? true) overhead = await readJsonFrom("overhead.ts", quick ? ["--quick"] : [], "overhead");
  return { date: new Date().toISOString(), quick, rounds, machine: machineInfo(), runs, skipped, numpy, overhead };
}

/** The end-to-end table: one row per configuration. */
export function printE2E(r: E2EResults): void {
  const base = r.runs.find((x) => x.id === "wasmgrad-wasm");
  const baseRate = base?.train.bestSamplesPerSec;
  const what = r.quick ? `${QUICK_STEPS} steps` : "one epoch";
  console.log(
    `\nend to end: seed MLP on MNIST, batch 100, training samples/s over ${what} (best / median of the timed epochs, ` +
      `spread over ${r.rounds} round${r.rounds > 1 ? "s" : ""} of processes), ` +
      `inference samples/s at batch 1 and 1000 (best), RSS after setup (data + model) and peak RSS of the process`,
  );
  const rows = r.runs.map((x) => [
    x.label,
    `${x.epochs.length} in ${x.processes}`,
    fmt(x.train.bestSamplesPerSec),
    fmt(x.train.medianSamplesPerSec),
    x.train.fullEpoch ? fmt(x.train.bestEpochSeconds) : "–",
    baseRate ? fmtRatio(baseRate / x.train.bestSamplesPerSec) : "–",
    fmt(x.inference.b1.samplesPerSec),
    fmt(x.inference.b1000.samplesPerSec),
    fmt(x.rss.afterSetupMiB),
    fmt(x.rss.peakMiB),
  ]);
  if (r.numpy && !("error" in r.numpy)) {
    const n = r.numpy;
    rows.push([
      "numpy (native, 1 thread)",
      `${n.epochs.length}`,
      fmt(n.bestSamplesPerSec),
      fmt(n.medianSamplesPerSec),
      n.fullEpoch ? fmt(n.bestSeconds) : "–",
      baseRate ? fmtRatio(baseRate / n.bestSamplesPerSec) : "–",
      "",
      "",
      "",
      "",
    ]);
  }
  printTable(
    [
      "implementation",
      "epochs in procs",
      "train/s best",
      "train/s med",
      "s/epoch",
      "wasm ÷ this",
      "infer b1/s",
      "infer b1000/s",
      "RSS setup MiB",
      "peak RSS MiB",
    ],
    rows,
  );
  for (const s of r.skipped) console.log(`(${s.label}: skipped, ${s.reason})`);
}

export function resultsFile(prefix: string, quick: boolean): string {
  return path.join(resultsDir, `${prefix}${quick ? "-quick" : ""}-${new Date().toISOString().slice(0, 10)}.json`);
}

// ---- standalone --------------------------------------------------------------------------------

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const values = parseFlags(
    "npm run bench:e2e --",
    "End to end: the seed MLP trained by wasmgrad (wasm, js), TensorFlow.js (wasm, cpu) and numpy, each in its own process.",
    {
      quick: { type: "boolean", help: "100 steps per configuration instead of full epochs" },
      only: { type: "string", help: "configurations to run, comma-separated ids" },
      epochs: { type: "int", min: 1, help: "epochs per configuration" },
      "no-numpy": { type: "boolean", help: "skip the numpy reference" },
      "no-overhead": { type: "boolean", help: "skip the per-step overhead measurement" },
      rounds: { type: "int", min: 1, help: "rounds of the overhead measurement" },
    },
  );
  console.log(`machine: ${machineLine(machineInfo())}`);
  const r = await runE2E({
    quick: values.quick,
    only: values.only?.split(","),
    epochs: values.epochs,
    numpy: !values["no-numpy"],
    overhead: !values["no-overhead"],
    rounds: values.rounds,
  });
  printE2E(r);
  const file = resultsFile("e2e", r.quick);
  writeJson(file, r);
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
}
