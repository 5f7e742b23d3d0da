// Kernel benchmark: the wasm and js backends side by side in one run.
//   npx tsx --conditions=wasmgrad-source bench/kernels.ts [--out results.json]
// gemm GFLOP/s for the seed MLP (784→128→64→10, batch 100) in the forms training uses, plus
// 100×784×128 and 512³ in all three forms; a register-only SIMD peak (bench/peak.as.ts) to put the
// wasm figures in proportion; a few memory-bound kernels. Times are per call, best and median of
// several samples after warm-up (the machine is shared and noisy). Also the fast-math build's gemm
// against the relaxed-FMA register peak (Node 20 gets --experimental-wasm-relaxed-simd set below,
// for this process only). Results: bench/results/*.json.
import fs from "node:fs";
import v8 from "node:v8";
import os from "node:os";
import path from "node:path";
import { createBackend, type Backend, type GemmForm } from "../src/backend/index.js";
import { initFastMath } from "../src/fast-math.js";
import { tensor } from "../src/tensor.js";
import { conv2d } from "../src/ops/index.js";
import { noGrad } from "../src/lifetime.js";
import { compileAs } from "./asc.js";
import { parseFlags } from "../src/cli/flags.js";
import { type Timing, lcg, resultsDir, time as sampleTime } from "./common.js";
import { runTorchBench, tensorOpCases } from "./tensor-ops.js";

const flags = parseFlags(
  "npm run bench:kernels --",
  "Kernel speeds, wasm and js side by side: gemm forms, memory-bound kernels, conv2d, and tensor ops against PyTorch on one thread.",
  { out: { type: "string", help: "results file (default bench/results/kernels-<date>.json)" } },
);

// Node 21+ has relaxed SIMD on; Node 20 takes the flag at run time (NODE_OPTIONS refuses it).
v8.setFlagsFromString("--experimental-wasm-relaxed-simd");

const WASM_BUDGET_MS = 800; // sampling time per case; the js backend is slow, so it gets
const JS_BUDGET_MS = 1500; // fewer (but at least MIN_SAMPLES) samples within its budget
const MIN_SAMPLES = 3;
const MAX_SAMPLES = 40;

// ---- timing ------------------------------------------------------------------------------------

/** Best and median seconds per call (bench/common.ts's sampler with this file's limits). */
const time = (fn: () => void, budgetMs: number): Timing => sampleTime(fn, budgetMs, { minSamples: MIN_SAMPLES, maxSamples: MAX_SAMPLES });

// ---- table printer -----------------------------------------------------------------------------

function printTable(head: string[], rows: (string | number)[][]): void {
  const cells = [head, ...rows].map((r) => r.map(String));
  const width = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i]))).join("  ");
  console.log(line(cells[0]));
  console.log(width.map((w) => "-".repeat(w)).join("  "));
  for (const r of cells.slice(1)) console.log(line(r));
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

// ---- buffers -----------------------------------------------------------------------------------

const rnd = lcg(12345);

/** Allocates n floats on a backend, filled with the given values (or uniform(-1, 1)). */
function buf(be: Backend, n: number, values?: Float32Array): number {
  const p = be.heap.alloc(n * 4);
  const f = be.f32();
  for (let i = 0; i < n; i++) f[(p >> 2) + i] = values ? values[i] : rnd();
  return p;
}

// ---- SIMD peak ---------------------------------------------------------------------------------

/** The register-only peak: mul+add chains, or (fma) the same chains as relaxed_madd. */
async function simdPeak(fma = false): Promise<{ gflops: number; chains: number; byChains: Record<number, number> }> {
  const instance = fma
    ? await compileAs("peak.as.ts", "peak-fma.wasm", {
        relaxedSimd: true,
        rewrite: (text) => text.replace(/f32x4\.add\(f32x4\.mul\((c\d+), m\), a\)/g, "f32x4.relaxed_madd($1, m, a)"),
      })
    : await compileAs("peak.as.ts", "peak.wasm");
  const k = instance.exports as Record<string, (steps: number, m: number, a: number) => number>;
  const steps = 1 << 20;
  const byChains: Record<number, number> = {};
  for (const chains of [8, 10, 12]) {
    const t = time(() => k[`peak${chains}`](steps, 0.9999, 1e-4), 600);
    byChains[chains] = (steps * chains * 8) / t.best / 1e9; // 4 mul + 4 add per chain and step
  }
  const chains = [8, 10, 12].reduce((b, c) => (byChains[c] > byChains[b] ? c : b));
  return { gflops: byChains[chains], chains, byChains };
}

// ---- gemm --------------------------------------------------------------------------------------

interface GemmCase {
  label: string;
  form: GemmForm;
  M: number;
  N: number;
  K: number;
}

// Seed MLP, y = x·Wᵀ with x (B,IN), W (OUT,IN): forward nt (B,OUT,IN); dW = dyᵀ·x tn (OUT,IN,B);
// dx = dy·W nn (B,IN,OUT) — fc1's dx is never computed in training (the input needs no grad).
const B = 100;
const layers = [
  ["fc1", 784, 128],
  ["fc2", 128, 64],
  ["fc3", 64, 10],
] as const;
const cases: GemmCase[] = [
  ...layers.map(([l, IN, OUT]): GemmCase => ({ label: `${l} fwd x·Wᵀ`, form: "nt", M: B, N: OUT, K: IN })),
  ...layers.map(([l, IN, OUT]): GemmCase => ({ label: `${l} dW=dyᵀ·x`, form: "tn", M: OUT, N: IN, K: B })),
  ...layers.map(([l, IN, OUT]): GemmCase => ({ label: `${l} dx=dy·W${l === "fc1" ? " (unused)" : ""}`, form: "nn", M: B, N: IN, K: OUT })),
  ...(["nn", "nt", "tn"] as const).map((form): GemmCase => ({ label: "100×784×128", form, M: 100, N: 128, K: 784 })),
  ...(["nn", "nt", "tn"] as const).map((form): GemmCase => ({ label: "512³", form, M: 512, N: 512, K: 512 })),
];

/** Times C = op(A)·op(B) on one backend; returns the timing and C. */
function timeGemm(be: Backend, c: GemmCase, A: Float32Array, Bm: Float32Array, budgetMs: number) {
  const { form, M, N, K } = c;
  const pa = buf(be, A.length, A),
    pb = buf(be, Bm.length, Bm),
    pc = buf(be, M * N);
  const lda = form === "tn" ? M : K; // A is (K,M) for tn, else (M,K)
  const ldb = form === "nt" ? K : N; // B is (N,K) for nt, else (K,N)
  const t = time(() => be.gemm(form, M, N, K, pa, lda, pb, ldb, pc, N, 0, false), budgetMs);
  const C = be.f32().slice(pc >> 2, (pc >> 2) + M * N);
  for (const p of [pa, pb, pc]) be.heap.free(p);
  return { t, C };
}

function maxRelDiff(x: Float32Array, ref: Float32Array): number {
  let d = 0,
    m = 0;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i] - ref[i]));
    m = Math.max(m, Math.abs(ref[i]));
  }
  return d / (m || 1);
}

// ---- main --------------------------------------------------------------------------------------

const wasm = createBackend("wasm");
const js = createBackend("js");
const machine = {
  cpu: os.cpus()[0]?.model.trim() ?? "unknown",
  cores: os.cpus().length,
  node: process.version,
  v8: process.versions.v8,
  platform: `${os.platform()} ${os.arch()}`,
  loadavg: os.loadavg().map((x) => +x.toFixed(2)),
};
console.log(
  `machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node} (V8 ${machine.v8}), ` + `${machine.platform}, load ${machine.loadavg.join(" ")}`,
);

const peak = await simdPeak();
console.log(
  `128-bit SIMD mul+add peak (register-only, ${peak.chains} chains): ${f1(peak.gflops)} GFLOP/s ` +
    `(chains 8/10/12: ${[8, 10, 12].map((c) => f1(peak.byChains[c])).join(" / ")})\n`,
);

const gflops = (c: GemmCase, s: number) => (2 * c.M * c.N * c.K) / s / 1e9;
const gemmResults = cases.map((c) => {
  const A = Float32Array.from({ length: c.M * c.K }, rnd);
  const Bm = Float32Array.from({ length: c.K * c.N }, rnd);
  const w = timeGemm(wasm, c, A, Bm, WASM_BUDGET_MS);
  const j = timeGemm(js, c, A, Bm, JS_BUDGET_MS);
  const err = maxRelDiff(w.C, j.C);
  if (!(err < 1e-4)) throw new Error(`${c.label} ${c.form}: wasm and js differ (max rel ${err})`);
  const side = (t: Timing) => ({
    bestGflops: gflops(c, t.best),
    medianGflops: gflops(c, t.median),
    bestUs: t.best * 1e6,
    medianUs: t.median * 1e6,
    samples: t.samples,
  });
  const r = { ...c, wasm: side(w.t), js: side(j.t), ratio: j.t.best / w.t.best, pctPeak: 0, maxRelDiff: err };
  r.pctPeak = (100 * r.wasm.bestGflops) / peak.gflops;
  return r;
});

console.log("gemm, GFLOP/s best / median (ratio = js best time / wasm best time)");
printTable(
  ["case", "form", "M", "N", "K", "wasm best", "wasm med", "% peak", "js best", "js med", "wasm/js"],
  gemmResults.map((r) => [
    r.label,
    r.form,
    r.M,
    r.N,
    r.K,
    f1(r.wasm.bestGflops),
    f1(r.wasm.medianGflops),
    f1(r.pctPeak),
    f2(r.js.bestGflops),
    f2(r.js.medianGflops),
    `${f1(r.ratio)}×`,
  ]),
);

// One training step's gemms (fwd ×3, dW ×3, dx for fc2 and fc3), from the best times.
const step = gemmResults.slice(0, 9).filter((r) => !r.label.includes("unused"));
const stepFlop = step.reduce((s, r) => s + 2 * r.M * r.N * r.K, 0);
const stepUs = (side: "wasm" | "js") => step.reduce((s, r) => s + r[side].bestUs, 0);
const mlpStep = { flop: stepFlop, wasmUs: stepUs("wasm"), jsUs: stepUs("js") };
console.log(
  `\nseed MLP step gemms (${(stepFlop / 1e6).toFixed(1)} MFLOP): wasm ${f1(mlpStep.wasmUs)} µs ` +
    `(${f1(stepFlop / mlpStep.wasmUs / 1e3)} GFLOP/s), js ${f1(mlpStep.jsUs)} µs ` +
    `(${f2(stepFlop / mlpStep.jsUs / 1e3)} GFLOP/s), ${f1(mlpStep.jsUs / mlpStep.wasmUs)}×\n`,
);

// ---- other kernels: µs per call and GB/s of compulsory traffic ---------------------------------

interface KernelCase {
  name: string;
  size: string;
  bytes: number;
  setup: (be: Backend) => () => void;
}
const NP = 109_386; // seed MLP parameter count
const labels = (be: Backend, M: number, C: number) => {
  const p = be.heap.alloc(M * 4);
  for (let i = 0; i < M; i++) be.i32()[(p >> 2) + i] = i % C;
  return p;
};
const kernelCases: KernelCase[] = [
  {
    name: "relu",
    size: "100×128",
    bytes: 8 * 12_800,
    setup: (be) => {
      const x = buf(be, 12_800),
        y = buf(be, 12_800);
      return () => be.relu(y, x, 12_800);
    },
  },
  {
    name: "reluBackward",
    size: "100×128",
    bytes: 12 * 12_800,
    setup: (be) => {
      const dy = buf(be, 12_800),
        y = buf(be, 12_800),
        dx = buf(be, 12_800);
      return () => be.reluBackward(dx, dy, y, 12_800);
    },
  },
  {
    name: "softmaxXentForward",
    size: "100×10",
    bytes: 4 * (1000 + 3 * 100),
    setup: (be) => {
      const x = buf(be, 1000),
        l = labels(be, 100, 10),
        losses = buf(be, 100),
        lse = buf(be, 100);
      return () => {
        be.softmaxXentForward(x, l, 100, 10, losses, lse, -100);
      };
    },
  },
  {
    name: "softmaxXentBackward",
    size: "100×10",
    bytes: 4 * (2000 + 2 * 100),
    setup: (be) => {
      const x = buf(be, 1000),
        l = labels(be, 100, 10),
        lse = buf(be, 100),
        dx = buf(be, 1000);
      be.softmaxXentForward(x, l, 100, 10, 0, lse, -100);
      return () => be.softmaxXentBackward(dx, x, l, lse, 100, 10, 0.01, 0, -100);
    },
  },
  {
    name: "sgdStep (momentum 0.9)",
    size: `${NP}`,
    bytes: 20 * NP,
    setup: (be) => {
      const p = buf(be, NP),
        g = buf(be, NP),
        b = buf(be, NP);
      return () => be.sgdStep(p, g, b, NP, 1e-3, 0.9, 1, 0, false, false, false);
    },
  },
  {
    name: "adamStep",
    size: `${NP}`,
    bytes: 28 * NP,
    setup: (be) => {
      const p = buf(be, NP),
        g = buf(be, NP),
        m = buf(be, NP),
        v = buf(be, NP);
      be.affine(v, v, 0.5, 0.5, NP); // v ≥ 0
      return () => be.adamStep(p, g, m, v, 0, NP, 0.1, 0.999, 0.001, 1e-8, 0, 1, false, false, false, 1e-3, 0.03);
    },
  },
];
const kernelResults = kernelCases.map((k) => {
  const w = time(k.setup(wasm), WASM_BUDGET_MS / 2),
    j = time(k.setup(js), JS_BUDGET_MS / 2);
  const side = (t: Timing) => ({ bestUs: t.best * 1e6, medianUs: t.median * 1e6, bestGBs: k.bytes / t.best / 1e9, samples: t.samples });
  return { name: k.name, size: k.size, bytes: k.bytes, wasm: side(w), js: side(j), ratio: j.best / w.best };
});
console.log("other kernels, µs per call (best / median) and GB/s of compulsory traffic (best)");
printTable(
  ["kernel", "size", "wasm µs", "wasm med", "wasm GB/s", "js µs", "js med", "js GB/s", "wasm/js"],
  kernelResults.map((r) => [
    r.name,
    r.size,
    f2(r.wasm.bestUs),
    f2(r.wasm.medianUs),
    f1(r.wasm.bestGBs),
    f2(r.js.bestUs),
    f2(r.js.medianUs),
    f1(r.js.bestGBs),
    `${f1(r.ratio)}×`,
  ]),
);

// ---- conv2d: models.MnistCNN's layers at batch 64 (im2col + gemm), wasm vs js -----------------

interface ConvCase {
  name: string;
  N: number;
  C: number;
  H: number;
  O: number;
  inputGrad: boolean;
}
const convCases: ConvCase[] = [
  { name: "conv1 1→32 3×3 pad 1, 28×28", N: 64, C: 1, H: 28, O: 32, inputGrad: false }, // the input needs no grad
  { name: "conv2 32→64 3×3 pad 1, 14×14", N: 64, C: 32, H: 14, O: 64, inputGrad: true },
];
const convResults = convCases.map((c) => {
  const xs = Float32Array.from({ length: c.N * c.C * c.H * c.H }, rnd);
  const ws = Float32Array.from({ length: c.O * c.C * 9 }, rnd);
  const gs = Float32Array.from({ length: c.N * c.O * c.H * c.H }, rnd);
  const flop = 2 * c.N * c.O * c.H * c.H * c.C * 9; // one of forward, dW, dx
  const run = (be: Backend, budget: number) => {
    const x = tensor(xs, { shape: [c.N, c.C, c.H, c.H], backend: be, requiresGrad: c.inputGrad });
    const w = tensor(ws, { shape: [c.O, c.C, 3, 3], backend: be, requiresGrad: true });
    const g = tensor(gs, { shape: [c.N, c.O, c.H, c.H], backend: be });
    const fwd = time(
      () =>
        noGrad(() => {
          conv2d(x, w, null, { padding: 1 });
        }),
      budget,
    );
    const both = time(() => {
      conv2d(x, w, null, { padding: 1 }).backward(g);
      w.grad?.dispose();
      w.grad = null;
      if (x.grad) {
        x.grad.dispose();
        x.grad = null;
      }
    }, budget);
    for (const t of [x, w, g]) t.dispose();
    return { fwdGflops: flop / fwd.best / 1e9, trainGflops: (flop * (c.inputGrad ? 3 : 2)) / both.best / 1e9, fwdUs: fwd.best * 1e6, trainUs: both.best * 1e6 };
  };
  const w = run(wasm, WASM_BUDGET_MS),
    j = run(js, JS_BUDGET_MS);
  return { ...c, flop, wasm: w, js: j, ratio: j.trainUs / w.trainUs };
});
console.log("\nconv2d (im2col + gemm), GFLOP/s best: forward, and forward + backward (dW, and dx where the input needs it)");
printTable(
  ["layer (batch 64)", "wasm fwd", "wasm fwd+bwd", "js fwd", "js fwd+bwd", "wasm/js"],
  convResults.map((r) => [r.name, f1(r.wasm.fwdGflops), f1(r.wasm.trainGflops), f2(r.js.fwdGflops), f2(r.js.trainGflops), `${f1(r.ratio)}×`]),
);

// ---- tensor ops of transformer-sized data: wasm, js and PyTorch 1.13 on one thread ---------------

const torchTimes = runTorchBench(WASM_BUDGET_MS);
const opResults = tensorOpCases.map((c) => {
  const run = (be: Backend, budget: number) => {
    const fn = c.setup(be);
    const t = time(() => noGrad(fn), budget);
    return { bestUs: t.best * 1e6, medianUs: t.median * 1e6, rate: c.work / t.best / 1e9 };
  };
  const w = run(wasm, WASM_BUDGET_MS),
    j = run(js, JS_BUDGET_MS);
  const tt = "error" in torchTimes ? null : torchTimes.ops[c.name];
  const torch = tt ? { bestUs: tt.best * 1e6, medianUs: tt.median * 1e6, rate: c.work / tt.best / 1e9 } : null;
  return { name: c.name, shape: c.shape, unit: c.unit, work: c.work, wasm: w, js: j, torch, wasmVsTorch: torch ? torch.bestUs / w.bestUs : null };
});
console.log(
  `\ntensor ops (noGrad, through the Tensor API), best ${"error" in torchTimes ? `(torch: ${torchTimes.error})` : `vs PyTorch ${torchTimes.version}, 1 thread`}; ` +
    "rate = GFLOP/s for bmm, GB/s of compulsory traffic otherwise; torch/wasm > 1 means wasm is faster",
);
printTable(
  ["op", "shape", "unit", "wasm", "wasm µs", "js", "torch", "torch µs", "torch/wasm"],
  opResults.map((r) => [
    r.name.replace(/ \[.*/, ""),
    r.shape,
    r.unit,
    f1(r.wasm.rate),
    f2(r.wasm.bestUs),
    f2(r.js.rate),
    r.torch ? f1(r.torch.rate) : "-",
    r.torch ? f2(r.torch.bestUs) : "-",
    r.wasmVsTorch ? `${f2(r.wasmVsTorch)}×` : "-",
  ]),
);

const date = new Date().toISOString().slice(0, 10);
// `--out FILE` (used by `npm run bench`, bench/all.ts) writes the results there instead.
// ---- fast math: the relaxed-SIMD build's gemm against the FMA register peak ------------------------

/** The fast-math kernels' gemm (createBackend("wasm", { fastMath: true })) on the big cases, or why not. */
async function fastMathGemm() {
  if (
    !(await initFastMath({
      plain: new URL("../build/kernels-relaxed.wasm", import.meta.url),
      shared: new URL("../build/kernels-mt-relaxed.wasm", import.meta.url),
    }))
  ) {
    return { error: "this runtime has no relaxed SIMD" };
  }
  const fmaPeak = await simdPeak(true);
  const fast = createBackend("wasm", { fastMath: true });
  const gemm = cases
    .filter((c) => c.label === "100×784×128" || c.label === "512³")
    .map((c) => {
      const A = Float32Array.from({ length: c.M * c.K }, rnd);
      const Bm = Float32Array.from({ length: c.K * c.N }, rnd);
      const t = timeGemm(fast, c, A, Bm, WASM_BUDGET_MS).t;
      const exact = gemmResults.find((r) => r.label === c.label && r.form === c.form)!;
      return {
        label: c.label,
        form: c.form,
        bestGflops: gflops(c, t.best),
        pctFmaPeak: (100 * gflops(c, t.best)) / fmaPeak.gflops,
        defaultGflops: exact.wasm.bestGflops,
      };
    });
  return { fmaPeak, gemm };
}
const fastMath = await fastMathGemm();
if ("error" in fastMath) console.log(`\nfast math: not measured (${fastMath.error})`);
else {
  console.log(
    `\nfast math (relaxed SIMD, f32x4.relaxed_madd): FMA register peak ${f1(fastMath.fmaPeak.gflops)} GFLOP/s (chains 8/10/12: ${[8, 10, 12].map((c) => f1(fastMath.fmaPeak.byChains[c])).join(" / ")})`,
  );
  printTable(
    ["case", "form", "fast GFLOP/s", "% FMA peak", "default GFLOP/s"],
    fastMath.gemm.map((r) => [r.label, r.form, f1(r.bestGflops), f1(r.pctFmaPeak), f1(r.defaultGflops)]),
  );
}

// ---- register tiles: the gemm's inner loop with 8, 10 and 12 accumulators --------------------------

/** GFLOP/s of bench/tiles.as.ts's micro-kernels (data in L1), mul+add and FMA builds, best of 7. */
async function registerTiles(): Promise<{ tile: string; accumulators: number; mulAdd: number; fma: number | null }[]> {
  const TILES = [
    ["k4x8", 4, 8],
    ["k5x8", 5, 8],
    ["k6x8", 6, 8],
    ["k12x4", 12, 4],
  ] as const;
  const builds = [
    await compileAs("tiles.as.ts", "tiles.wasm"),
    "error" in fastMath ? null : await compileAs("tiles.as.ts", "tiles-fma.wasm", { relaxedSimd: true }),
  ];
  const rates = builds.map((instance) => {
    if (instance === null) return null;
    const k = instance.exports as Record<string, (a: number, p: number, kc: number, c: number, reps: number) => void> & { memory: WebAssembly.Memory };
    if (k.memory.buffer.byteLength < 1 << 18) k.memory.grow(4);
    new Float32Array(k.memory.buffer).forEach((_, i, f) => (f[i] = 1e-3 * ((i % 7) - 3)));
    const kc = 256,
      reps = 2000;
    // packed A at 4096, the B panel at 65536 (kc × 8 floats), C at 200000
    return TILES.map(([name, mr, nr]) => (2 * mr * nr * kc * reps) / time(() => k[name](4096, 65536, kc, 200000, reps), 300).best / 1e9);
  });
  return TILES.map(([, mr, nr], i) => ({ tile: `${mr}×${nr}`, accumulators: (mr * nr) / 4, mulAdd: rates[0]?.[i] ?? 0, fma: rates[1]?.[i] ?? null }));
}
const tiles = await registerTiles();
console.log("\nregister tiles of the gemm's inner loop (bench/tiles.as.ts, data in L1):");
printTable(
  ["tile", "accumulators", "mul+add GFLOP/s", "FMA GFLOP/s"],
  tiles.map((t) => [t.tile, t.accumulators, f1(t.mulAdd), t.fma === null ? "n/a" : f1(t.fma)]),
);

const file = flags.out !== undefined ? path.resolve(flags.out) : path.join(resultsDir, `kernels-${date}.json`);
fs.writeFileSync(
  file,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      machine,
      peak,
      gemm: gemmResults,
      mlpStep,
      kernels: kernelResults,
      conv: convResults,
      tensorOps: opResults,
      fastMath,
      tiles,
      torch: "error" in torchTimes ? torchTimes : { version: torchTimes.version },
    },
    (_, v) => (typeof v === "number" ? +v.toPrecision(4) : v),
    2,
  )}\n`,
);
console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
