// Where splitting a kernel over 2 threads pays: each kernel family the pool routes, at a few sizes,
// on a backend without a pool and one with a 2-thread pool whose thresholds are set to 0 (every
// call splits), side by side. "hot" times calls back to back (the worker spins between them, as
// inside a training step); "cold" times one call after 5 ms idle (the worker sleeps and must be
// woken). Rounds alternate the two backends; medians; the ratio 1 thread / 2 threads > 1 means
// 2 threads are faster. The per-family COST in src/backend/split-kernels.ts is set from this table
// (a call splits from HOT_SPLIT_MIN_FLOPS / COST items on: the last column). The gemm row is a
// yardstick: on a busy machine (the other core taken) its ratio drops toward 1 and so do all.
//   npx tsx --conditions=wasmgrad-source bench/threads-kernels.ts [--rounds R] [--only name]
import { parseFlags } from "../src/cli/flags.js";
import { type Backend, Generator, createBackend } from "wasmgrad";
import { HOT_SPLIT_MIN_FLOPS } from "../src/backend/threads.js";
import { COST } from "../src/backend/split-kernels.js";
import { machineInfo, machineLine, median, printTable } from "./common.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Case {
  kernel: string;
  family: keyof typeof COST | "gemm";
  /** Items counted like the router counts them (elements, or column entries, or input elements). */
  items: number;
  label: string;
  /** Allocates the inputs on `be` and returns one call of the kernel. */
  make(be: Backend): () => void;
}

/** n floats of N(0, 1) (or |N(0, 1)| for states that must not be negative) on be's heap. */
function floats(be: Backend, n: number, g: Generator, positive = false): number {
  const p = be.heap.alloc(n * 4);
  const f = be.f32();
  for (let i = 0; i < n; i++) f[(p >> 2) + i] = positive ? Math.abs(g.normal()) : g.normal();
  return p;
}

function cases(): Case[] {
  const out: Case[] = [];
  const g = new Generator(1);
  // A gemm that always splits, as a yardstick: its ratio says how free the other core is right now.
  const M = 256;
  out.push({
    kernel: "gemm (yardstick)",
    family: "gemm",
    items: 2 * M * M * M,
    label: "256³",
    make: (be) =>
      (
        (a, b, c) => () =>
          be.gemm("nn", M, M, M, a, M, b, M, c, M, 0, false)
      )(floats(be, M * M, g), floats(be, M * M, g), floats(be, M * M, g)),
  });
  for (const n of [16_384, 65_536, 262_144, 1_048_576]) {
    const N = Math.max(2, Math.round(n / 6272)); // batch norm: samples of 32×14×14
    const label = `${n / 1024}k`;
    out.push({
      kernel: "add",
      family: "elementwise",
      items: n,
      label,
      make: (be) =>
        (
          (a, b, d) => () =>
            be.add(d, a, b, n)
        )(floats(be, n, g), floats(be, n, g), floats(be, n, g)),
    });
    out.push({
      kernel: "relu",
      family: "elementwise",
      items: n,
      label,
      make: (be) =>
        (
          (a, d) => () =>
            be.relu(d, a, n)
        )(floats(be, n, g), floats(be, n, g)),
    });
    out.push({
      kernel: "adamStep",
      family: "optimizer",
      items: n,
      label,
      make: (be) => {
        const [p, gr, m, v] = [floats(be, n, g), floats(be, n, g), floats(be, n, g), floats(be, n, g, true)];
        return () => be.adamStep(p, gr, m, v, 0, n, 0.1, 0.999, 0.001, 1e-8, 0, 1, false, false, false, 1e-3, 0.03);
      },
    });
    out.push({
      kernel: "softmaxDim",
      family: "softmax",
      items: n,
      label: `${n / 1024}×1024`,
      make: (be) =>
        (
          (x, y) => () =>
            be.softmaxDim(y, x, n / 1024, 1024, 1, false)
        )(floats(be, n, g), floats(be, n, g)),
    });
    out.push({
      kernel: "layerNorm",
      family: "norm",
      items: n,
      label: `${n / 256}×256`,
      make: (be) => {
        const [x, y, w, b, mean, rstd] = [
          floats(be, n, g),
          floats(be, n, g),
          floats(be, 256, g),
          floats(be, 256, g),
          floats(be, n / 256, g),
          floats(be, n / 256, g),
        ];
        return () => be.layerNorm(y, mean, rstd, x, w, b, n / 256, 256, 1e-5);
      },
    });
    out.push({
      kernel: "bnForward",
      family: "batchNorm",
      items: N * 6272,
      label: `${N}×32×14×14`,
      make: (be) => {
        const [x, y, m, r, w, b] = [
          floats(be, N * 6272, g),
          floats(be, N * 6272, g),
          floats(be, 32, g),
          floats(be, 32, g, true),
          floats(be, 32, g),
          floats(be, 32, g),
        ];
        return () => be.bnForward(y, x, m, r, w, b, N, 32, 196);
      },
    });
    out.push({
      kernel: "bnStats",
      family: "batchNorm",
      items: N * 6272,
      label: `${N}×32×14×14`,
      make: (be) =>
        (
          (x, m, v) => () =>
            be.bnStats(m, v, x, N, 32, 196, 0, 32)
        )(floats(be, N * 6272, g), floats(be, 32, g), floats(be, 32, g)),
    });
  }
  // im2col / col2im of one image (C, 14, 14), 5×5 kernel, padding 2: 25·196 column entries per channel
  for (const C of [2, 8, 32, 128]) {
    const entries = C * 25 * 196;
    const geometry = [C, 14, 14, 5, 5, 1, 1, 2, 2, 1, 1, 14, 14, 196] as const;
    out.push({
      kernel: "im2col",
      family: "im2col",
      items: entries,
      label: `C=${C}`,
      make: (be) =>
        (
          (x, cols) => () =>
            be.im2col(cols, x, ...geometry, 1)
        )(floats(be, C * 196, g), floats(be, entries, g)),
    });
    out.push({
      kernel: "col2im",
      family: "im2col",
      items: entries,
      label: `C=${C}`,
      make: (be) =>
        (
          (dx, cols) => () =>
            be.col2im(dx, cols, ...geometry, false, 1)
        )(floats(be, C * 196, g), floats(be, entries, g)),
    });
  }
  // 2×2 max pooling of P planes of 28×28
  for (const P of [16, 64, 256, 1024]) {
    const items = P * 784;
    out.push({
      kernel: "maxPool2d",
      family: "pool",
      items,
      label: `${P}×28×28`,
      make: (be) =>
        (
          (x, y, idx) => () =>
            be.maxPool2d(y, idx, x, P, 28, 28, 2, 2, 2, 2, 0, 0, 14, 14)
        )(floats(be, items, g), floats(be, items / 4, g), be.heap.alloc(items)),
    });
  }
  return out;
}

/** Per-call ms of `run`: back to back (`reps` calls) and after 5 ms idle (one call, twice). */
async function timeCall(run: () => void, reps: number): Promise<{ hot: number; cold: number[] }> {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) run();
  const hot = (performance.now() - t0) / reps;
  const cold: number[] = [];
  for (let i = 0; i < 2; i++) {
    await sleep(5);
    const t = performance.now();
    run();
    cold.push(performance.now() - t);
  }
  return { hot, cold };
}

export async function runThreadsKernelsBench(rounds: number, only?: string): Promise<(string | number)[][]> {
  const one = createBackend("wasm"),
    two = createBackend("wasm");
  two.setNumThreads(2);
  const pool = two.threadPool!()!;
  while (!pool.allReady()) await sleep(10);
  pool.splitMinFlops = 0;
  pool.hotSplitMinFlops = 0;
  const rows: (string | number)[][] = [];
  for (const c of cases().filter((x) => only === undefined || x.kernel === only)) {
    const runs = [c.make(one), c.make(two)];
    const reps = Math.max(2, Math.round(400_000 / c.items));
    // Warm up: a worker compiles each kernel's optimized code only after running it a while.
    for (const r of runs) for (const end = performance.now() + 60; performance.now() < end; ) r();
    const hot: number[][] = [[], []],
      cold: number[][] = [[], []];
    for (let round = 0; round < rounds; round++) {
      for (let b = 0; b < 2; b++) {
        const t = await timeCall(runs[b], reps);
        hot[b].push(t.hot);
        cold[b].push(...t.cold);
      }
    }
    const [h1, h2, c1, c2] = [median(hot[0]), median(hot[1]), median(cold[0]), median(cold[1])];
    const splitsFrom = Math.round(HOT_SPLIT_MIN_FLOPS / (c.family === "gemm" ? 1 : COST[c.family]));
    rows.push([
      c.kernel,
      c.label,
      c.items,
      (h1 * 1000).toFixed(1),
      (h1 / h2).toFixed(2),
      (c1 * 1000).toFixed(1),
      (c1 / c2).toFixed(2),
      c.items >= splitsFrom ? "yes" : "no",
    ]);
  }
  two.setNumThreads(1);
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const values = parseFlags(
    "npm run bench:threads-kernels --",
    "Each kernel family the thread pool splits, timed with 1 thread and with 2 (every call split) at a few sizes: the ratios that set the per-family thresholds.",
    {
      rounds: { type: "int", default: 5, min: 1, help: "alternating rounds per size" },
      only: { type: "string", help: "one kernel (add, relu, adamStep, softmaxDim, layerNorm, bnForward, bnStats, im2col, col2im, maxPool2d)" },
    },
  );
  console.log(machineLine(machineInfo()));
  const rows = await runThreadsKernelsBench(values.rounds, values.only);
  console.log("\nkernels on 2 threads: 1-thread µs per call and the ratio 1 thread / 2 threads (> 1: 2 threads faster)");
  printTable(["kernel", "size", "items", "hot µs", "hot 1/2", "cold µs", "cold 1/2", "splits (hot)"], rows);
}
