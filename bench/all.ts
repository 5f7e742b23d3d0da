// `npm run bench`: the kernel benchmark (bench/kernels.ts), then the end-to-end benchmark
// (bench/e2e.ts: wasmgrad wasm/js, TensorFlow.js wasm/cpu, numpy, per-step overhead), then the
// thread pool at batch 100 and 1000 (bench/threads.ts), the CNN (bench/cnn.ts), where an epoch's
// time goes (bench/breakdown.ts), then the same workloads against real PyTorch with 1 and 2 threads
// (bench/pytorch.ts: seed MLP as written and pre-batched, MnistCNN, matmuls, the GPT; its own
// table and bench/results/pytorch-<date>.json), each piece in its own process; then one summary table. Writes bench/results/kernels-<date>.json (bench/kernels.ts),
// bench-<date>.json (everything) and bench-<date>.md (the summary table as markdown, for README);
// with --quick the names get a -quick suffix.
//   npm run bench [-- --quick] [-- --no-kernels] [-- --only id,id] [-- --epochs N] [-- --rounds R]
import fs from "node:fs";
import path from "node:path";
import { parseFlags } from "../src/cli/flags.js";
import { DOC, renderBenchmarksDoc } from "../scripts/benchmarks-doc.js";
import { fmt, fmtRatio, machineInfo, machineLine, printTable, repoDir, writeJson } from "./common.js";
import { type E2EResults, printE2E, resultsFile, runE2E, runTs } from "./e2e.js";
import type { ThreadsReport } from "./threads.js";
import { type CnnResult, printCnn, runCnnBench } from "./cnn.js";
import type { BreakdownParts } from "./breakdown.js";
import { reportVsPytorch, runVsPytorch } from "./pytorch.js";

const values = parseFlags("npm run bench --", "Every benchmark, each in its own process, then one summary table (bench/results/bench-<date>.json and .md).", {
  quick: { type: "boolean", help: "100 steps per configuration instead of full epochs" },
  "no-kernels": { type: "boolean", help: "skip the kernel benchmark" },
  only: { type: "string", help: "end-to-end configurations to run, comma-separated ids" },
  epochs: { type: "int", min: 1, help: "epochs per end-to-end configuration" },
  rounds: { type: "int", min: 1, help: "rounds of the thread-pool benchmark" },
  "no-pytorch": { type: "boolean", help: "skip the side-by-side run against real PyTorch (bench/pytorch.ts)" },
});
const quick = values.quick;
const machine = machineInfo();
console.log(`wasmgrad benchmarks${quick ? " (--quick: 100 steps per configuration, not full epochs)" : ""}`);
console.log(`machine: ${machineLine(machine)}\n`);

// ---- kernels -----------------------------------------------------------------------------------

interface KernelSide {
  bestGflops: number;
  medianGflops: number;
  bestUs: number;
  medianUs: number;
}
interface KernelsJson {
  peak: { gflops: number; chains: number };
  gemm: { label: string; form: string; M: number; N: number; K: number; wasm: KernelSide; js: KernelSide; ratio: number; pctPeak: number }[];
  mlpStep: { flop: number; wasmUs: number; jsUs: number };
  kernels: { name: string; size: string; bytes: number; wasm: { bestUs: number; bestGBs: number }; js: { bestUs: number; bestGBs: number }; ratio: number }[];
  conv?: { name: string; wasm: { fwdGflops: number; trainGflops: number }; js: { fwdGflops: number; trainGflops: number }; ratio: number }[];
}

let kernels: KernelsJson | null = null;
if (!values["no-kernels"]) {
  console.log("== kernels (bench/kernels.ts) ==");
  const out = resultsFile("kernels", quick);
  await runTs("kernels.ts", ["--out", path.relative(repoDir, out)]);
  kernels = JSON.parse(fs.readFileSync(out, "utf8")) as KernelsJson;
}

// ---- end to end --------------------------------------------------------------------------------

console.log("\n== end to end (bench/e2e.ts; each configuration in its own process) ==");
const e2e = await runE2E({
  quick,
  only: values.only?.split(","),
  epochs: values.epochs,
  rounds: values.rounds,
});
printE2E(e2e);

// ---- threads -------------------------------------------------------------------------------------

console.log("\n== threads (bench/threads.ts) ==");
const threadsOut = resultsFile("threads", quick);
await runTs("threads.ts", ["--out", path.relative(repoDir, threadsOut), ...(quick ? ["--rounds", "2"] : [])]);
const threads = JSON.parse(fs.readFileSync(threadsOut, "utf8")) as ThreadsReport;

// ---- CNN -----------------------------------------------------------------------------------------

console.log("\n== CNN training (bench/cnn.ts) ==");
const cnn: CnnResult[] = await runCnnBench(quick ? 0.3 : 1);
printCnn(cnn);

// ---- where the time of an epoch goes ---------------------------------------------------------------

console.log("\n== where one epoch goes (bench/breakdown.ts) ==");
const breakdownOut = resultsFile("breakdown", quick);
await runTs("breakdown.ts", ["--out", path.relative(repoDir, breakdownOut), "--runs", quick ? "1" : "3"]);
const breakdown = (JSON.parse(fs.readFileSync(breakdownOut, "utf8")) as { parts: BreakdownParts }).parts;

// ---- against real PyTorch -------------------------------------------------------------------------

let vsPytorch: Awaited<ReturnType<typeof runVsPytorch>> | null = null;
if (!values["no-pytorch"]) {
  console.log("\n== against real PyTorch (bench/pytorch.ts; each configuration in its own process) ==");
  vsPytorch = await runVsPytorch({ epochs: quick ? 1 : 2, gpt: !quick });
  reportVsPytorch(vsPytorch, resultsFile("pytorch", quick));
}

// ---- the summary table -------------------------------------------------------------------------

interface OverheadJson {
  results: {
    name: string;
    backend: string;
    stepUs: { best: number; median: number };
    kernelsUs: { best: number; median: number };
    overheadUs: { best: number; median: number };
  }[];
}

/** Rows are metrics; columns are the implementations (wasmgrad wasm first), then a note. */
function summaryTable(e: E2EResults, k: KernelsJson | null): { head: string[]; rows: string[][]; sections: Set<number> } {
  const runs = e.runs;
  const numpy = e.numpy && !("error" in e.numpy) ? e.numpy : null;
  const head = ["", ...runs.map((r) => r.label), ...(numpy ? ["numpy"] : []), "note"];
  const width = head.length;
  const rows: string[][] = [];
  const sections = new Set<number>();
  const section = (title: string) => {
    sections.add(rows.length);
    rows.push([title, ...Array(width - 1).fill("")]);
  };
  const row = (label: string, cells: Record<string, string>, note = "") =>
    rows.push([label, ...runs.map((r) => cells[r.id] ?? ""), ...(numpy ? [cells.numpy ?? ""] : []), note]);
  const per = (f: (r: E2EResults["runs"][number]) => string) => Object.fromEntries(runs.map((r) => [r.id, f(r)]));
  const base = runs.find((r) => r.id === "wasmgrad-wasm");
  const epochsNote = quick ? "--quick: 100 steps, not an epoch" : "over the timed epochs (row above)";

  section(`end to end: seed MLP, MNIST, batch 100${quick ? " (--quick)" : ""}`);
  row(
    quick ? "timed runs of 100 steps" : "timed epochs",
    { ...per((r) => String(r.epochs.length)), numpy: numpy ? String(numpy.epochs.length) : "" },
    `in ≤ ${e.rounds} processes per column, run round-robin; each after ${runs[0]?.warmupSteps ?? 0} warm-up steps`,
  );
  row("train samples/s, best", { ...per((r) => fmt(r.train.bestSamplesPerSec)), numpy: numpy ? fmt(numpy.bestSamplesPerSec) : "" }, epochsNote);
  row("train samples/s, median", { ...per((r) => fmt(r.train.medianSamplesPerSec)), numpy: numpy ? fmt(numpy.medianSamplesPerSec) : "" });
  if (!quick) row("s/epoch, best", { ...per((r) => fmt(r.train.bestEpochSeconds)), numpy: numpy ? fmt(numpy.bestSeconds) : "" });
  if (base) {
    const b = base.train.bestSamplesPerSec;
    row(
      "wasmgrad wasm ÷ this (train)",
      { ...per((r) => fmtRatio(b / r.train.bestSamplesPerSec)), numpy: numpy ? fmtRatio(b / numpy.bestSamplesPerSec) : "" },
      "best vs best",
    );
  }
  row(
    "infer samples/s, batch 1",
    per((r) => fmt(r.inference.b1.samplesPerSec)),
    "forward + copy logits out, best",
  );
  row(
    "infer samples/s, batch 1000",
    per((r) => fmt(r.inference.b1000.samplesPerSec)),
  );
  row(
    "RSS after setup, MiB",
    per((r) => fmt(r.rss.afterSetupMiB)),
    "data + model loaded",
  );
  row(
    "peak RSS, MiB",
    per((r) => fmt(r.rss.peakMiB)),
    "process maxRSS",
  );

  if (k) {
    const wj = (w: string, j: string) => ({ "wasmgrad-wasm": w, "wasmgrad-js": j });
    section("kernels, one thread (bench/kernels.ts)");
    row("SIMD mul+add peak, GFLOP/s", { "wasmgrad-wasm": fmt(k.peak.gflops) }, "register-only wasm loop (bench/peak.as.ts)");
    const step = k.mlpStep;
    row(
      "MLP step gemms, GFLOP/s",
      wj(fmt(step.flop / step.wasmUs / 1e3), fmt(step.flop / step.jsUs / 1e3)),
      `8 gemms of a batch-100 step: wasm ${fmtRatio(step.jsUs / step.wasmUs)} js`,
    );
    for (const g of k.gemm.filter((x) => x.label === "100×784×128" || x.label === "512³")) {
      // TF.js columns: its matMul in the same shape and form, timed in its e2e process.
      const tf =
        g.label === "100×784×128"
          ? Object.fromEntries(runs.filter((r) => r.matmul).map((r) => [r.id, fmt(r.matmul![g.form as "nn" | "nt" | "tn"].bestGflops)]))
          : {};
      row(
        `gemm ${g.label} ${g.form}, GFLOP/s`,
        { ...tf, ...wj(fmt(g.wasm.bestGflops), fmt(g.js.bestGflops)) },
        `wasm ${fmtRatio(g.ratio)} js, ${g.pctPeak.toFixed(0)}% of peak${Object.keys(tf).length ? "; TF.js: its matMul" : ""}`,
      );
    }
    for (const x of k.kernels) {
      row(`${x.name} ${x.size}, µs`, wj(fmt(x.wasm.bestUs), fmt(x.js.bestUs)), `wasm ${fmtRatio(x.ratio)} js, ${fmt(x.wasm.bestGBs)} GB/s`);
    }
    for (const c of k.conv ?? []) {
      row(
        `${c.name}, GFLOP/s fwd / fwd+bwd`,
        wj(`${fmt(c.wasm.fwdGflops)} / ${fmt(c.wasm.trainGflops)}`, `${fmt(c.js.fwdGflops)} / ${fmt(c.js.trainGflops)}`),
        `batch 64, im2col + gemm; training step wasm ${fmtRatio(c.ratio)} js`,
      );
    }
  }

  section("threads: seed MLP training on MNIST, 2 threads vs 1 (bench/threads.ts)");
  for (const batch of [100, 1000]) {
    const one = threads.results.find((x) => x.batch === batch && x.threads === 1)!;
    const two = threads.results.find((x) => x.batch === batch && x.threads === 2)!;
    row(
      `train samples/s, batch ${batch}, 1 → 2 threads`,
      { "wasmgrad-wasm": `${fmt(one.samplesPerSecBest)} → ${fmt(two.samplesPerSecBest)}` },
      `${(two.samplesPerSecBest / one.samplesPerSecBest).toFixed(2)}× (best of rounds); weights ${threads.sameWeights ? "bitwise equal" : "DIFFER"}`,
    );
  }

  section("CNN training: models.MnistCNN, Adam, batch 64, MNIST (bench/cnn.ts)");
  const cnnCell = (id: string) => {
    const r = cnn.find((x) => x.id === id);
    return r === undefined ? "" : r.samplesPerSec === null ? "cannot train" : fmt(r.samplesPerSec);
  };
  const tfWasmError = cnn.find((x) => x.id === "tfjs-wasm")?.error;
  row(
    "CNN train samples/s",
    {
      "wasmgrad-wasm": cnnCell("wasmgrad-wasm"),
      "wasmgrad-wasm-2t": cnnCell("wasmgrad-wasm-2t"),
      "wasmgrad-js": cnnCell("wasmgrad-js"),
      "tfjs-wasm": cnnCell("tfjs-wasm"),
      "tfjs-cpu": cnnCell("tfjs-cpu"),
    },
    tfWasmError ? `TF.js wasm: ${tfWasmError.split("\n")[0].slice(0, 70)}` : "best window",
  );

  section("where one epoch of the seed MLP goes, wasm, batch 100 (bench/breakdown.ts)");
  const share = (label: string, sec: number, note: string) =>
    row(label, { "wasmgrad-wasm": `${fmt(sec)} s` }, `${((100 * sec) / breakdown.epoch).toFixed(1)}% of the epoch; ${note}`);
  share("epoch", breakdown.epoch, "the seed loop, best epoch");
  share("gemm", breakdown.gemm, "8 per step, replayed alone");
  share("other kernels", breakdown.otherKernels, "SGD, ReLU, loss, bias sums");
  share("data pipeline", breakdown.data, "DataLoader: shuffle, gather, ToTensor + Normalize");
  share("per-step overhead", breakdown.overhead, "step − its kernels");
  share("rest of the loop", breakdown.rest, "epoch − data − steps");

  const ov = e.overhead as OverheadJson | null;
  if (ov) {
    section("per-step overhead, µs: step − its kernels (bench/overhead.ts)");
    const f = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1));
    for (const name of [...new Set(ov.results.map((r) => r.name))]) {
      const cells: Record<string, string> = {};
      const notes: string[] = [];
      for (const r of ov.results.filter((x) => x.name === name)) {
        cells[`wasmgrad-${r.backend}`] = `${f(r.overheadUs.best)} / ${f(r.overheadUs.median)}`;
        notes.push(`${r.backend} step ${f(r.stepUs.best)} µs`);
      }
      row(name, cells, `best / median; ${notes.join(", ")}`);
    }
  }
  return { head, rows, sections };
}

function markdown(head: string[], rows: string[][], sections: Set<number>): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const lines = [`| ${head.map(esc).join(" | ")} |`, `|${head.map((_, i) => (i === 0 || i === head.length - 1 ? "---" : "---:")).join("|")}|`];
  rows.forEach((r, i) => lines.push(sections.has(i) ? `| **${esc(r[0])}** |${" |".repeat(r.length - 1)}` : `| ${r.map(esc).join(" | ")} |`));
  return `${lines.join("\n")}\n`;
}

const { head, rows, sections } = summaryTable(e2e, kernels);
console.log(`\n== summary (${new Date().toISOString().slice(0, 10)}) ==`);
console.log(`machine: ${machineLine(machine)}`);
printTable(head, rows, sections);
const numpyNote =
  e2e.numpy === null
    ? "numpy: not found (python3 + numpy needed)"
    : "error" in e2e.numpy
      ? `numpy: failed (${e2e.numpy.error})`
      : `numpy ${e2e.numpy.numpy}, OPENBLAS_NUM_THREADS=1, epochs timed after loading`;
console.log(
  `${numpyNote}; ${e2e.runs.find((r) => r.impl.startsWith("tfjs"))?.detail.match(/TF\.js [\d.]+/)?.[0] ?? "TF.js: not run"}; ` +
    `one thread unless a label says otherwise; the machine is shared, so figures move by 10–30% between runs.`,
);
for (const s of e2e.skipped) console.log(`(${s.label}: skipped, ${s.reason})`);

const file = resultsFile("bench", quick);
writeJson(file, { date: new Date().toISOString(), quick, machine, kernels, e2e, threads, cnn, breakdown, vsPytorch });
const md = file.replace(/\.json$/, ".md");
fs.writeFileSync(md, `Machine: ${machineLine(machine)}\n\n${markdown(head, rows, sections)}`);
console.log(`\nresults: ${path.relative(process.cwd(), file)}, ${path.relative(process.cwd(), md)}`);
if (!quick) {
  fs.writeFileSync(DOC, renderBenchmarksDoc());
  console.log(`docs: ${path.relative(process.cwd(), DOC)} regenerated from bench/results/`);
}
