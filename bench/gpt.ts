// The small GPT side by side with real PyTorch on this machine, in one run: training tokens/s
// (forward + backward + AdamW on fixed random batches) and generation tokens/s for wasmgrad with 1
// and 2 threads, PyTorch 1.13 with 1 and 2 threads (bench/pytorch/gpt.py, the same model) and
// TensorFlow.js (bench/tfjs-gpt.ts: its wasm backend, and with --tfjs-cpu its cpu backend), plus
// the fused attention kernel's GFLOP/s next to the gemm's on the model's own shapes.
// Results: bench/results/gpt-<date>.json.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { createBackend } from "../src/backend/index.js";
import { models, noGrad, setBackend, tensor } from "../src/index.js";
import { fusedAttention } from "../src/ops/attention.js";
import { parseFlags } from "../src/cli/flags.js";
import { GPT_SIZE_FLAGS, sizeArgs } from "./gpt-flags.js";
import { Generator } from "../src/random.js";
import { fmtRatio, machineInfo, median, machineLine, printTable, repoDir, resultsDir, stamp, time, openblasEnv, writeJson } from "./common.js";

const flags = parseFlags("npm run bench:gpt --", "Training and generation speed of the small GPT: wasmgrad (1 and 2 threads) against PyTorch 1.13.", {
  ...GPT_SIZE_FLAGS,
  steps: { type: "int", default: 20, min: 1, help: "timed training steps (the median step counts)" },
  gen: { type: "int", default: 100, min: 1, help: "tokens generated for the generation figure" },
  "tfjs-cpu": { type: "boolean", help: "also time TensorFlow.js's cpu backend (about 40 s a step)" },
  out: { type: "string", help: "results file (default bench/results/gpt-<date>.json)" },
});
const PYTHON = process.env.REFERENCE_PYTHON ?? "/usr/bin/python3";
const config = { vocabSize: flags.vocab, blockSize: flags.block, nLayer: flags.layers, nHead: flags.heads, nEmbd: flags.embd };

/** wasmgrad's training and generation speed with `threads` threads. */
function ours(threads: number) {
  const be = createBackend("wasm");
  be.setNumThreads(threads);
  setBackend(be);
  const g = new Generator(0);
  const model = new models.GPT(config);
  const opt = model.configureOptimizers({ lr: 1e-3, weightDecay: 0.1 });
  const ids = () => Int32Array.from({ length: flags.batch * flags.block }, () => Math.floor(g.random() * flags.vocab));
  const x = tensor(ids(), { shape: [flags.batch, flags.block], dtype: "int32" });
  const y = tensor(ids(), { shape: [flags.batch, flags.block], dtype: "int32" });
  const step = () => {
    const [, loss] = model.forward(x, y);
    opt.zeroGrad();
    loss!.backward();
    opt.step();
  };
  for (let i = 0; i < 3; i++) step();
  // The median step: the machine is shared, and a slow spell of a few seconds would move a mean.
  const times: number[] = [];
  for (let i = 0; i < flags.steps; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  const stepSeconds = median(times) / 1000;
  const t1 = performance.now();
  model.generate([[0]], { maxNewTokens: flags.gen, temperature: 0 });
  const genSeconds = (performance.now() - t1) / 1000;
  be.setNumThreads(1);
  return { threads, trainTokensPerSec: (flags.batch * flags.block) / stepSeconds, stepSeconds, genTokensPerSec: flags.gen / genSeconds };
}

/** Seconds `fn` takes. */
function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

/** The fused attention kernel (forward, forward + backward) and the gemm on the model's shapes, GFLOP/s. */
function kernels() {
  const be = createBackend("wasm");
  setBackend(be);
  const g = new Generator(1);
  const [B, H, T] = [flags.batch, flags.heads, flags.block];
  const D = flags.embd / flags.heads;
  const r = (...shape: number[]) =>
    tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => g.normal()),
      { shape },
    );
  const [q, k, v] = [r(B, H, T, D), r(B, H, T, D), r(B, H, T, D)];
  // Causal attention does about half of the T×T work: count the visible pairs.
  const pairs = B * H * ((T * (T + 1)) / 2);
  // (The callbacks return nothing: a tensor returned from noGrad would outlive its scope.)
  const fwd = time(() => noGrad(() => void fusedAttention(q, k, v, null, 1 / Math.sqrt(D), true, 0, "bthd")), 1500);
  const qg = r(B, H, T, D).requiresGrad_(),
    kg = r(B, H, T, D).requiresGrad_(),
    vg = r(B, H, T, D).requiresGrad_();
  // The kernels' own times too (the backend calls, best of all): forward + backward through
  // autograd also sums the output, seeds its gradient and adds dq, dk, dv into the leaves' grads.
  const kernel = { forward: Infinity, backward: Infinity };
  const [forwardCall, backwardCall] = [be.attentionForward, be.attentionBackward];
  be.attentionForward = (...a) => {
    kernel.forward = Math.min(
      kernel.forward,
      timed(() => forwardCall(...a)),
    );
  };
  be.attentionBackward = (...a) => {
    kernel.backward = Math.min(
      kernel.backward,
      timed(() => backwardCall(...a)),
    );
  };
  const fb = time(() => {
    fusedAttention(qg, kg, vg, null, 1 / Math.sqrt(D), true, 0, "bthd")
      .sum()
      .backward();
  }, 1500);
  [be.attentionForward, be.attentionBackward] = [forwardCall, backwardCall];
  // gemm: the model's c_attn product (B·T, E) · (E, 3E)ᵀ
  const E = flags.embd;
  const a = r(B * T, E),
    w = r(3 * E, E);
  const gm = time(() => noGrad(() => void a.matmul(w.T)), 1500);
  const gemmRate = (2 * B * T * E * 3 * E) / gm.best / 1e9;
  return {
    attentionForward: { seconds: fwd.best, gflops: (4 * pairs * D) / fwd.best / 1e9 },
    attentionForwardBackward: { seconds: fb.best, gflops: (14 * pairs * D) / fb.best / 1e9 },
    attentionKernels: {
      forwardSeconds: kernel.forward,
      backwardSeconds: kernel.backward,
      gflops: (14 * pairs * D) / (kernel.forward + kernel.backward) / 1e9,
    },
    gemm: { seconds: gm.best, gflops: gemmRate, shape: `${B * T}×${E}·${E}×${3 * E}` },
  };
}

function torchRun(threads: number) {
  const args = [
    path.join("bench", "pytorch", "gpt.py"),
    "--threads",
    String(threads),
    ...sizeArgs(flags),
    "--steps",
    String(flags.steps),
    "--gen",
    String(flags.gen),
  ];
  const r = spawnSync(PYTHON, args, { cwd: repoDir, encoding: "utf8", env: openblasEnv(threads) });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || "failed").trim().split("\n").pop() ?? "failed" };
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as {
    version: string;
    threads: number;
    trainTokensPerSec: number;
    stepSeconds: number;
    genTokensPerSec: number;
  };
}

/** The same model in TensorFlow.js ops (bench/tfjs-gpt.ts) on `backend`, in its own process. */
function tfjsRun(backend: "wasm" | "cpu") {
  const steps = backend === "cpu" ? 2 : flags.steps;
  const args = ["--import", "tsx", path.join("bench", "tfjs-gpt.ts"), "--backend", backend, "--steps", String(steps), ...sizeArgs(flags)];
  const r = spawnSync(process.execPath, args, { cwd: repoDir, encoding: "utf8" });
  const line = r.stdout?.trim().split("\n").pop();
  type Row = { version?: string; backend: string; trainTokensPerSec?: number; error?: string };
  if (r.status !== 0 || !line?.startsWith("{"))
    return { backend, error: (r.stderr || r.error?.message || "failed").trim().split("\n").pop() ?? "failed" } as Row;
  return JSON.parse(line) as Row;
}

const machine = machineInfo();
console.log(`machine: ${machineLine(machine)}`);
console.log(`model: ${flags.layers} layers, ${flags.heads} heads, ${flags.embd} embd, block ${flags.block}, vocab ${flags.vocab}; batch ${flags.batch}`);
const w1 = ours(1);
const w2 = ours(2);
const t1 = torchRun(1);
const t2 = torchRun(2);
const k = kernels();
const tfjs = [tfjsRun("wasm"), ...(flags["tfjs-cpu"] ? [tfjsRun("cpu")] : [])];
const f0 = (x: number) => x.toFixed(0);
const rows: (string | number)[][] = [
  ["wasmgrad, 1 thread", f0(w1.trainTokensPerSec), f0(w1.genTokensPerSec)],
  ["wasmgrad, 2 threads", f0(w2.trainTokensPerSec), f0(w2.genTokensPerSec)],
  ...[t1, t2].map((t, i) =>
    "error" in t ? [`PyTorch, ${i + 1} thread(s)`, t.error, "-"] : [`PyTorch ${t.version}, ${i + 1} thread(s)`, f0(t.trainTokensPerSec), f0(t.genTokensPerSec)],
  ),
  ...tfjs.map((t) => [`TensorFlow.js ${t.version ?? ""} ${t.backend}`, t.error ? `cannot train: ${t.error}` : f0(t.trainTokensPerSec ?? 0), "-"]),
];
printTable(["", "train tokens/s", "generate tokens/s"], rows);
const ratio = (a: number, b: { trainTokensPerSec: number } | { error: string }) => ("error" in b ? null : a / b.trainTokensPerSec);
console.log(
  `\nours / PyTorch 1 thread (training): ${fmtRatio(ratio(w1.trainTokensPerSec, t1))}   2 threads / 1 thread (ours): ${fmtRatio(w2.trainTokensPerSec / w1.trainTokensPerSec)}`,
);
console.log(
  `attention kernel (causal, ${flags.batch}×${flags.heads}×${flags.block}×${flags.embd / flags.heads}): forward ${k.attentionForward.gflops.toFixed(1)} GFLOP/s, ` +
    `forward+backward ${k.attentionForwardBackward.gflops.toFixed(1)} GFLOP/s through autograd, ${k.attentionKernels.gflops.toFixed(1)} in the two kernels; ` +
    `gemm ${k.gemm.shape} ${k.gemm.gflops.toFixed(1)} GFLOP/s (attention/gemm ${(k.attentionForward.gflops / k.gemm.gflops).toFixed(2)} forward, ` +
    `${(k.attentionForwardBackward.gflops / k.gemm.gflops).toFixed(2)} with backward through autograd, ${(k.attentionKernels.gflops / k.gemm.gflops).toFixed(2)} kernels)`,
);
const out = flags.out ?? path.join(resultsDir, `gpt-${stamp()}.json`);
writeJson(out, { date: new Date().toISOString(), machine, flags, wasmgrad: [w1, w2], torch: [t1, t2], tfjs, kernels: k });
console.log(`\nwrote ${path.relative(repoDir, out)}`);
