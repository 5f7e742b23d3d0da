// wasmgrad bench: in a checkout of the repository, runs the full benchmark table (bench/all.ts,
// what `npm run bench` runs: kernels, end to end against TensorFlow.js and numpy, threads) with
// the flags passed through. Elsewhere (an installed package has no bench/), or with --builtin,
// a quick built-in table: seed-MLP training and inference samples/s and a gemm, wasm vs js.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Tensor, manualSeed, models, nn, noGrad, optim, randn, setBackend, setNumThreads, tensor } from "wasmgrad";
import { CliError, Flags, type OptionSpec, USAGE, parseFlags, rejectPositionals } from "./args.js";
import { formatInt } from "./progress.js";

export const BENCH_OPTIONS: OptionSpec = {
  builtin: { type: "boolean" },
  steps: { type: "string" },
  help: { type: "boolean", short: "h" },
  // Passed through to bench/all.ts:
  quick: { type: "boolean" },
  "no-kernels": { type: "boolean" },
  only: { type: "string" },
  epochs: { type: "string" },
  rounds: { type: "string" },
};

export const BENCH_HELP = `Usage: wasmgrad bench [flags]

In a checkout of the wasmgrad repository: the full benchmark table of npm run bench (kernels;
seed-MLP training and inference against TensorFlow.js and numpy; threads; ≈ 3.5 min), with
  --quick  --no-kernels  --only id,id  --epochs N  --rounds R   passed to bench/all.ts.
Elsewhere, or with --builtin: a quick table (seed MLP train/infer samples/s, gemm GFLOP/s; wasm,
wasm with threads, js) on synthetic data.
  --steps N      training steps per configuration for --builtin (default 200)`;

/** The repository root (package.json of wasmgrad with bench/all.ts and tsx installed), if any. */
export function findRepository(from = dirname(fileURLToPath(import.meta.url))): string | null {
  let dir = from;
  for (;;) {
    const pj = join(dir, "package.json");
    if (existsSync(pj)) {
      try {
        if (JSON.parse(readFileSync(pj, "utf8")).name === "wasmgrad" && existsSync(join(dir, "bench/all.ts")) && existsSync(join(dir, "node_modules/.bin/tsx")))
          return dir;
      } catch {
        // not readable: keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

export async function benchCommand(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<void> {
  const { values, positionals } = parseFlags("bench", argv, BENCH_OPTIONS);
  const flags = new Flags("bench", values);
  if (flags.bool("help")) {
    out(`${BENCH_HELP}\n`);
    return;
  }
  rejectPositionals("bench", positionals);
  const repo = flags.bool("builtin") ? null : findRepository();
  if (repo !== null) {
    if (flags.has("steps")) throw new CliError("bench: --steps is for --builtin only", USAGE);
    const pass = argv.filter((a) => a !== "--builtin");
    out(`wasmgrad bench: running bench/all.ts in ${repo} (npm run bench)\n`);
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(join(repo, "node_modules/.bin/tsx"), ["--conditions=wasmgrad-source", "bench/all.ts", ...pass], { cwd: repo, stdio: "inherit" });
      child.on("error", reject);
      child.on("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0)));
    });
    if (code !== 0) throw new CliError(`bench: bench/all.ts exited with code ${code}`);
    return;
  }
  for (const f of ["quick", "no-kernels", "only", "epochs", "rounds"]) {
    if (flags.has(f)) throw new CliError(`bench: --${f} needs the repository's bench/all.ts; the built-in table takes --steps`, USAGE);
  }
  builtinBench(flags.num("steps", 200, { int: true, min: 5 }), out);
}

interface Column {
  label: string;
  backend: "wasm" | "js";
  threads: number;
}

interface Result {
  train: number;
  infer1: number;
  infer1000: number;
  gflops: number;
}

function timeIt(minMs: number, fn: () => void): number {
  fn();
  let reps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs || reps < 3) {
    fn();
    reps++;
  }
  return (performance.now() - t0) / reps;
}

function runColumn(c: Column, steps: number): Result {
  setBackend(c.backend);
  setNumThreads(c.threads);
  manualSeed(0);
  const model = new models.MnistMLP();
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.001, momentum: 0.9 });
  const criterion = new nn.CrossEntropyLoss();
  const x = randn([100, 784]);
  const y = tensor(
    Int32Array.from({ length: 100 }, (_, i) => i % 10),
    { shape: [100], dtype: "int32" },
  );
  const step = () => {
    optimizer.zeroGrad();
    const loss = criterion(model(x), y);
    loss.backward();
    optimizer.step();
    loss.item();
  };
  const n = c.backend === "js" ? Math.max(5, Math.round(steps / 20)) : steps;
  for (let i = 0; i < Math.min(10, n); i++) step();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) step();
  const train = (100 * n) / ((performance.now() - t0) / 1000);
  model.eval();
  const x1 = randn([1, 784]);
  const x1000 = randn([1000, 784]);
  const minMs = steps < 50 ? 30 : c.backend === "js" ? 300 : 200; // a few steps: a smoke run
  const infer1 = 1000 / timeIt(minMs, () => noGrad(() => model(x1).data.slice()));
  const infer1000 = 1e6 / timeIt(minMs, () => noGrad(() => model(x1000).data.slice()));
  const a = randn([100, 784]);
  const b = randn([784, 128]);
  const ms = timeIt(minMs, () => noGrad(() => (a.matmul(b) as Tensor).data[0]));
  const gflops = (2 * 100 * 784 * 128) / (ms / 1000) / 1e9;
  for (const t of [x, y, x1, x1000, a, b]) t.dispose();
  setNumThreads(1);
  return { train, infer1, infer1000, gflops };
}

function builtinBench(steps: number, out: (s: string) => void): void {
  const columns: Column[] = [{ label: "wasm", backend: "wasm", threads: 1 }];
  const cores = availableParallelism();
  if (cores > 1) columns.push({ label: `wasm ${Math.min(cores, 4)} threads`, backend: "wasm", threads: Math.min(cores, 4) });
  columns.push({ label: "js", backend: "js", threads: 1 });
  out(
    `wasmgrad bench (built-in): seed MLP 784→128→ReLU→64→ReLU→10, SGD momentum 0.9, synthetic data; ` +
      `${steps} steps of batch 100 per column (js: fewer); Node ${process.versions.node}, ${cores} cores\n`,
  );
  const results = columns.map((c) => runColumn(c, steps));
  setBackend("wasm");
  const rows: [string, keyof Result, (v: number) => string][] = [
    ["train samples/s, batch 100", "train", formatInt],
    ["infer samples/s, batch 1", "infer1", formatInt],
    ["infer samples/s, batch 1000", "infer1000", formatInt],
    ["gemm 100×784×128, GFLOP/s", "gflops", (v) => v.toFixed(v < 10 ? 2 : 1)],
  ];
  const head = ["", ...columns.map((c) => c.label), "wasm ÷ js"];
  const body = rows.map(([name, key, f]) => {
    const ratio = results[0][key] / results[results.length - 1][key];
    return [name, ...results.map((r) => f(r[key])), `${ratio.toFixed(ratio < 10 ? 1 : 0)}×`];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("   ");
  out(`\n${line(head)}\n${line(widths.map((w) => "-".repeat(w)))}\n${body.map(line).join("\n")}\n`);
  out("\nThe full table (TensorFlow.js, numpy, real MNIST epochs): npm run bench in the wasmgrad repository.\n");
}
