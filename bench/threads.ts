// Thread-pool benchmark: seed-MLP training samples/s on real MNIST with 1 and 2
// threads, at batch 100 and batch 1000, in one process, on two backend instances (one with a
// 2-thread pool made once and warmed up, as a training run has it). Rounds alternate 1 and 2
// threads so a busy moment on the shared machine hits both; best and median per configuration. Also checks
// that both thread counts produce the same weights (bitwise), and reports how many gemm slices
// the workers ran versus the main thread took back.
//   npx tsx --conditions=wasmgrad-source bench/threads.ts [--rounds R] [--out file.json]
import path from "node:path";
import { parseFlags } from "../src/cli/flags.js";
import { type Backend, DataLoader, type Tensor, createBackend, datasets, manualSeed, nn, optim, setBackend, transforms } from "wasmgrad";
import { fmt, machineInfo, machineLine, median, printTable, resultsDir, stamp, writeJson } from "./common.js";

export interface ThreadsResult {
  batch: number;
  threads: number;
  samplesPerSecBest: number;
  samplesPerSecMedian: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ThreadsReport {
  results: ThreadsResult[];
  sameWeights: boolean;
  workerShare: number;
}

export async function runThreadsBench(rounds = 4): Promise<ThreadsReport> {
  // Two backends side by side, one with a pool of 2 threads made once: a pool is warm only after
  // its worker's code has tiered up (~100 ms of work), so the pool is never rebuilt between rounds.
  const one = createBackend("wasm"),
    two = createBackend("wasm");
  const backends = new Map<number, Backend>([
    [1, one],
    [2, two],
  ]);
  two.setNumThreads(2);
  await sleep(200); // workers start asynchronously
  const transform = new transforms.Compose([new transforms.ToTensor(), new transforms.Normalize([0.5], [0.5])]);
  const train = new datasets.MNIST({ train: true, transform });
  const results: ThreadsResult[] = [];
  /** Trains a fresh seed-0 model for `steps` steps after `warmup` steps: samples/s and the weights. */
  const run = (threads: number, batch: number, warmup: number, steps: number): { rate: number; weights: string } => {
    setBackend(backends.get(threads)!);
    manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 64), new nn.ReLU(), new nn.Linear(64, 10));
    const opt = new optim.SGD(model.parameters(), { lr: 0.001, momentum: 0.9 });
    const criterion = new nn.CrossEntropyLoss();
    const loader = new DataLoader(train, { batchSize: batch, shuffle: true });
    let done = 0;
    let t0 = performance.now();
    for (const [images, labels] of loader) {
      if (done === warmup) t0 = performance.now();
      opt.zeroGrad();
      criterion(model((images as Tensor).view(batch, -1)), labels as Tensor).backward();
      opt.step();
      if (++done === warmup + steps) break;
    }
    const rate = (steps * batch) / ((performance.now() - t0) / 1000);
    return {
      rate,
      weights: model
        .parameters()
        .map((p) => Buffer.from(p.data.slice().buffer).toString("base64"))
        .join(),
    };
  };
  // Warm both (JIT, heap, the worker's code); the same 200 steps must give the same weights.
  const sameWeights = run(1, 100, 0, 200).weights === run(2, 100, 0, 200).weights;
  for (const batch of [100, 1000]) {
    // ~30,000 samples per timed round: 300 steps at batch 100, 30 at batch 1000.
    const steps = Math.round(30000 / batch);
    const rates = new Map<number, number[]>([
      [1, []],
      [2, []],
    ]);
    for (let r = 0; r < rounds; r++) {
      for (const threads of [1, 2]) rates.get(threads)!.push(run(threads, batch, 3, steps).rate);
    }
    for (const [threads, r] of rates) {
      results.push({ batch, threads, samplesPerSecBest: Math.max(...r), samplesPerSecMedian: median(r) });
    }
  }
  const stats = two.threadStats();
  two.setNumThreads(1);
  setBackend("wasm");
  const workerShare = stats && stats.postedSlices > 0 ? stats.workerSlices / stats.postedSlices : 0;
  return { results, sameWeights, workerShare };
}

export function printThreads(r: ThreadsReport): void {
  const rows = [100, 1000].map((batch) => {
    const one = r.results.find((x) => x.batch === batch && x.threads === 1)!;
    const two = r.results.find((x) => x.batch === batch && x.threads === 2)!;
    return [
      `batch ${batch}`,
      fmt(one.samplesPerSecBest, 0),
      fmt(two.samplesPerSecBest, 0),
      `${(two.samplesPerSecBest / one.samplesPerSecBest).toFixed(2)}×`,
      `${(two.samplesPerSecMedian / one.samplesPerSecMedian).toFixed(2)}×`,
    ];
  });
  console.log("\nthreads: seed MLP training samples/s on MNIST, 1 vs 2 threads (best of rounds)");
  printTable(["", "1 thread", "2 threads", "speedup (best)", "speedup (median)"], rows);
  console.log(
    `same weights with 1 and 2 threads: ${r.sameWeights ? "yes, bitwise" : "NO"}; ` +
      `slices run by workers: ${(100 * r.workerShare).toFixed(0)}% (the rest taken back by the main thread)`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const values = parseFlags("npm run bench:threads --", "The thread pool: gemm and training steps with 1 and 2 threads at batch 100 and 1000.", {
    rounds: { type: "int", default: 4, min: 1, help: "rounds per configuration" },
    out: { type: "string", help: "results file (default bench/results/threads-<date>.json)" },
  });
  console.log(machineLine(machineInfo()));
  const r = await runThreadsBench(values.rounds);
  printThreads(r);
  const out = values.out ?? path.join(resultsDir, `threads-${stamp()}.json`);
  writeJson(out, { machine: machineInfo(), ...r });
  console.log(`results: ${path.relative(process.cwd(), out)}`);
}
