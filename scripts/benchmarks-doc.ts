// docs/benchmarks.md is generated from bench/results/ by this script (npm run docs:bench; npm run
// bench runs it at the end): the newest summary table of `npm run bench`, the tensor-op rows of
// the newest kernels run (wasm, js and PyTorch), the newest example-program run and GPT run. Nothing in it
// is typed by hand, and test/docs.test.ts checks the committed file equals what this writes.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseFlags } from "../src/cli/flags.js";

const ROOT = join(import.meta.dirname, "..");
export const RESULTS = join(ROOT, "bench", "results");
export const DOC = join(ROOT, "docs", "benchmarks.md");

/** The newest file `<prefix>-<YYYY-MM-DD>[...].<ext>` in dir (dates sort as text). */
function newest(dir: string, prefix: string, ext: string): string | null {
  const files = readdirSync(dir).filter((f) => new RegExp(`^${prefix}-\\d{4}-\\d{2}-\\d{2}[^.]*\\.${ext}$`).test(f) && !f.includes("quick"));
  return files.length === 0 ? null : files.sort().at(-1)!;
}

const n = (x: number | null | undefined, digits = 3) =>
  x === null || x === undefined || !Number.isFinite(x) ? "–" : Number(x.toPrecision(digits)).toLocaleString("en-US");

interface OpSide {
  bestUs: number;
  rate: number;
}
interface KernelsJson {
  date: string;
  machine: { cpu: string; cores: number; node: string };
  torch?: { version?: string; error?: string };
  tensorOps?: { name: string; shape: string; unit: string; wasm: OpSide; js: OpSide; torch: OpSide | null }[];
}
interface ExamplesJson {
  date: string;
  quick: boolean;
  results: {
    name: string;
    args: string[];
    wasmgrad: { wallSeconds: number; error?: string; figures: Record<string, number> };
    torch: { wallSeconds: number; error?: string; figures: Record<string, number> };
  }[];
}

function tensorOpsSection(dir: string): string {
  const file = newest(dir, "kernels", "json");
  const k = file ? (JSON.parse(readFileSync(join(dir, file), "utf8")) as KernelsJson) : null;
  if (!k?.tensorOps) return "No kernels run with tensor-op rows in bench/results/ yet (`npm run bench:kernels`).\n";
  const torch = k.torch?.version ? `PyTorch ${k.torch.version}` : `PyTorch (not run: ${k.torch?.error ?? "missing"})`;
  const rows = k.tensorOps.map((r) => {
    const ratio = r.torch ? `${n(r.torch.bestUs / r.wasm.bestUs, 2)}×` : "–";
    return `| ${r.name.replace(/ \[.*/, "")} | ${r.shape} | ${r.unit} | ${n(r.wasm.rate)} | ${n(r.wasm.bestUs)} | ${n(r.js.rate)} | ${n(r.torch?.rate)} | ${n(r.torch?.bestUs)} | ${ratio} |`;
  });
  return [
    `\`npm run bench:kernels\`, ${k.date.slice(0, 10)} (\`bench/results/${file}\`): ${k.machine.cpu}, ${k.machine.cores} cores, Node ${k.machine.node}; the same ops in ${torch} on one thread (\`bench/pytorch/kernels.py\`) in the same run. Best of several calls; rate is GFLOP/s for bmm and GB/s of compulsory traffic (read + write) otherwise; torch ÷ wasm above 1 means wasmgrad is faster.`,
    "",
    "| op | shape | unit | wasm | wasm µs | js | PyTorch | PyTorch µs | PyTorch ÷ wasm (time) |",
    "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    "At 64×512×768 every output is 100 MB: PyTorch maps a fresh one from the OS on each call and pays the page faults; at 8×512×768 (12.6 MB) glibc reuses the block and PyTorch's figure is the op alone. wasmgrad reuses freed blocks of its heap at any size.",
    "",
  ].join("\n");
}

function examplesSection(dir: string): string {
  const file = newest(dir, "examples", "json");
  if (!file) return "No example-program run in bench/results/ yet (`npm run bench:examples`).\n";
  const e = JSON.parse(readFileSync(join(dir, file), "utf8")) as ExamplesJson;
  const rows = e.results.flatMap((r) => [
    `| ${r.name} | wall time, s | ${r.wasmgrad.error ? `failed: ${r.wasmgrad.error}` : n(r.wasmgrad.wallSeconds)} | ${r.torch.error ? `failed: ${r.torch.error}` : n(r.torch.wallSeconds)} |`,
    ...Object.keys({ ...r.wasmgrad.figures, ...r.torch.figures }).map(
      (key) => `| | ${key} | ${n(r.wasmgrad.figures[key], 4)} | ${n(r.torch.figures[key], 4)} |`,
    ),
  ]);
  return [
    `\`npm run bench:examples\`, ${e.date.slice(0, 10)} (\`bench/results/${file}\`): each port in \`examples/\` and its PyTorch twin in \`examples/pytorch/\`, with the same flags, one after the other, one thread each. Random draws differ between the two (PyTorch's generator is not ours) except in the polynomial fit, which starts both from the same values.`,
    "",
    "| program | figure | wasmgrad | PyTorch |",
    "|---|---|---:|---:|",
    ...rows,
    "",
  ].join("\n");
}

interface GptJson {
  date: string;
  flags: { layers: number; heads: number; embd: number; block: number; vocab: number; batch: number };
  wasmgrad: { threads: number; trainTokensPerSec: number; genTokensPerSec: number }[];
  torch: ({ version: string; threads: number; trainTokensPerSec: number; genTokensPerSec: number } | { error: string })[];
  tfjs?: { version?: string; backend: string; trainTokensPerSec?: number; error?: string }[];
  kernels: {
    attentionForward: { gflops: number };
    attentionForwardBackward: { gflops: number };
    attentionKernels?: { gflops: number };
    gemm: { gflops: number; shape: string };
  };
}

function gptSection(dir: string): string {
  const file = newest(dir, "gpt", "json");
  if (!file) return "No `npm run bench:gpt` run in bench/results/ yet.\n";
  const g = JSON.parse(readFileSync(join(dir, file), "utf8")) as GptJson;
  const f = g.flags;
  const rows = [
    ...g.wasmgrad.map((w) => `| wasmgrad, ${w.threads} thread${w.threads > 1 ? "s" : ""} | ${n(w.trainTokensPerSec)} | ${n(w.genTokensPerSec)} |`),
    ...g.torch.map((t, i) =>
      "error" in t
        ? `| PyTorch, ${i + 1} thread(s) | ${t.error} | – |`
        : `| PyTorch ${t.version}, ${t.threads} thread${t.threads > 1 ? "s" : ""} | ${n(t.trainTokensPerSec)} | ${n(t.genTokensPerSec)} |`,
    ),
    ...(g.tfjs ?? []).map((t) => `| TensorFlow.js ${t.version ?? ""} ${t.backend} | ${t.error ? `cannot train: ${t.error}` : n(t.trainTokensPerSec)} | – |`),
  ];
  const k = g.kernels;
  return [
    `\`npm run bench:gpt\`, ${g.date.slice(0, 10)} (\`bench/results/${file}\`): the GPT of \`npm run gpt\` (${f.layers} layers, ${f.heads} heads, ${f.embd} embd, context ${f.block}, vocabulary ${f.vocab}), batch ${f.batch}; training = forward + backward + AdamW on fixed random batches, the median of the timed steps after 3 warm-up steps (TensorFlow.js: the mean); generation = one sequence, greedy, wasmgrad with its KV cache, PyTorch with nanoGPT's \`generate\` (the context through forward for every token). TensorFlow.js runs the same model written in its ops (\`bench/tfjs-gpt.ts\`, Adam, one thread).`,
    "",
    "| | training tokens/s | generation tokens/s |",
    "|---|---:|---:|",
    ...rows,
    "",
    `Attention kernel (causal, on the model's shapes): forward ${n(k.attentionForward.gflops)} GFLOP/s, forward + backward ${n(k.attentionForwardBackward.gflops)} GFLOP/s through autograd${k.attentionKernels ? ` (${n(k.attentionKernels.gflops)} GFLOP/s in the two kernels alone, without summing the output and accumulating the leaves' gradients)` : ""}, next to the gemm's ${n(k.gemm.gflops)} GFLOP/s on ${k.gemm.shape}.`,
    "",
  ].join("\n");
}

interface PytorchJson {
  date: string;
  machine: { cpu: string; cores: number; node: string };
  torch: string;
  table: { head: string[]; cells: string[][] };
  rows: { workload: string; unit: string; ours: (number | null)[]; torch: (number | null)[] }[];
}

// Training flops per sample (multiply-adds × 2) of the gemm-bound workloads: forward, weight
// gradients, and input gradients of every layer but the first (its input needs none).
const TRAINING_FLOPS = {
  // 784·128 + 128·64 + 64·10 multiply-adds forward and for dW; dx for the last two layers
  "seed MLP pre-batched": 2 * (2 * (784 * 128 + 128 * 64 + 64 * 10) + (128 * 64 + 64 * 10)),
  // conv1 1→32 3×3 on 28×28 (fwd, dW), conv2 32→64 3×3 on 14×14, fc1 3136→128, fc2 128→10 (fwd, dW, dx)
  "models.MnistCNN": 2 * (2 * 32 * 9 * 784 + 3 * 64 * 288 * 196 + 3 * 3136 * 128 + 3 * 128 * 10),
} as const;

/** How close the gemm's peak lets a workload come: its flops at the measured matmul rate, vs ours and PyTorch's. */
function ceilingSection(dir: string): string {
  const file = newest(dir, "pytorch", "json");
  if (!file) return "";
  const p = JSON.parse(readFileSync(join(dir, file), "utf8")) as PytorchJson;
  const row = (prefix: string) => p.rows.find((r) => r.workload.startsWith(prefix));
  const gemm = row("matmul 512³")?.ours[0];
  if (!gemm) return "";
  const lines = Object.entries(TRAINING_FLOPS).flatMap(([name, flops]) => {
    const r = row(name);
    if (!r?.ours[0] || !r.torch[0]) return [];
    const ceiling = (gemm * 1e9) / flops;
    return [
      `| ${name} | ${(flops / 1e6).toFixed(flops < 1e6 ? 3 : 1)} MFLOP | ${n(ceiling)} | ${n(r.ours[0])} (${((100 * r.ours[0]) / ceiling).toFixed(0)}%) | ${n(r.torch[0])} | ${(ceiling / r.torch[0]).toFixed(2)}× |`,
    ];
  });
  return [
    `A training step of these models is mostly matrix products, and wasm has only 128-bit SIMD: our gemm runs at the register peak of one 128-bit core (\`npm run bench:kernels\`), where OpenBLAS uses AVX-512. Dividing each model's training flops per sample by the matmul rate of the same run (${gemm} GFLOP/s, 512³, one thread, \`${file}\`) gives what one thread could reach if everything but the gemms took no time at all:`,
    "",
    "| workload | training flops per sample | ceiling, samples/s | wasmgrad 1t (of ceiling) | PyTorch 1t | ceiling ÷ PyTorch |",
    "|---|---:|---:|---:|---:|---:|",
    ...lines,
    "",
    "So on this machine no wasm build can train these models faster than about that ratio of PyTorch on one thread; the rest of a step (activations, norms, pooling, the optimizer, JavaScript) is what we can still take away.",
    "",
  ].join("\n");
}

function pytorchSection(dir: string): string {
  const file = newest(dir, "pytorch", "json");
  if (!file) return "No `npm run bench:pytorch` run in bench/results/ yet.\n";
  const p = JSON.parse(readFileSync(join(dir, file), "utf8")) as PytorchJson;
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const { head, cells } = p.table;
  return [
    `\`npm run bench:pytorch\` (also part of \`npm run bench\`), ${p.date.slice(0, 10)} (\`bench/results/${file}\`): ${p.machine.cpu}, ${p.machine.cores} cores, Node ${p.machine.node}; PyTorch ${p.torch} from Debian's \`python3-torch\` with OpenBLAS (\`apt-get install python3-torch python3-torchvision libopenblas0-pthread\`), run with this machine's OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE overrides unset and glibc told to keep freed memory (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_: without them every large tensor is fresh memory faulted in page by page, and PyTorch's CNN ran 4× slower here). Every configuration runs in its own process, one after the other. The seed MLP as written is the tutorial program (per-image ToTensor + Normalize, a shuffling DataLoader) on both sides; pre-batched, PyTorch indexes one normalized tensor with a random permutation each step (\`bench/pytorch/mlp.py\`) and wasmgrad iterates a DataLoader over a TensorDataset of the same tensors. The CNN and GPT rows repeat \`bench/cnn.ts\` and \`bench/gpt.ts\`; matmuls go through each library's tensor API with transposed operands as views.`,
    "",
    `| ${head.map(esc).join(" | ")} |`,
    `|${head.map((_, i) => (i < 2 || i === head.length - 1 ? "---" : "---:")).join("|")}|`,
    ...cells.map((r) => `| ${r.map(esc).join(" | ")} |`),
    "",
  ].join("\n");
}

function summarySection(dir: string): string {
  const file = newest(dir, "bench", "md");
  if (!file) return "No `npm run bench` summary in bench/results/ yet.\n";
  return `\`npm run bench\` (\`bench/results/${file}\`; every figure of that run is in the .json beside it):\n\n${readFileSync(join(dir, file), "utf8").trim()}\n`;
}

/** The whole of docs/benchmarks.md, from the result files in `dir`. */
export function renderBenchmarksDoc(dir = RESULTS): string {
  return `# Benchmarks

<!-- Generated by scripts/benchmarks-doc.ts from bench/results/ (npm run docs:bench); do not edit. -->

All figures come from one machine (a shared 2-core AMD EPYC, Linux x64) and each table from one
run, so ratios inside a table compare like with like; the machine is noisy, so compare ratios, not
absolute figures across tables. Reproduce with the command above each table.

\`\`\`sh
npm run bench                 # end to end, kernels, threads, CNN, breakdown, overhead: one summary table
npm run bench:kernels         # kernels and tensor ops, wasm vs js vs PyTorch on one thread
npm run bench:examples        # the example ports vs their PyTorch twins
npm run bench:gpt             # the small GPT: training and generation tokens/s vs PyTorch
npm run bench:pytorch         # seed MLP, CNN, matmuls, GPT vs PyTorch, 1 and 2 threads
npm run bench:e2e             # end to end only: wasmgrad, TensorFlow.js, numpy
npm run bench:threads         # the seed MLP with 1 and 2 threads
npm run bench:threads-kernels # each kernel family the pool splits, 1 vs 2 threads by size (sets the thresholds)
npm run bench:fusion          # the fused linear + ReLU vs the two ops
npm run bench:cnn             # CNN training throughput
npm run bench:breakdown       # where a training step's time goes
npm run bench:overhead        # per-step overhead over the bare kernels
\`\`\`

## Against PyTorch, 1 and 2 threads

${pytorchSection(dir)}
### The ceiling: one 128-bit core

${ceilingSection(dir)}
## Tensor ops against PyTorch

${tensorOpsSection(dir)}
## Example programs against PyTorch

${examplesSection(dir)}
## The small GPT against PyTorch

${gptSection(dir)}
## Training the seed MLP: wasmgrad, TensorFlow.js, numpy

${summarySection(dir)}
What each column runs:
- **wasmgrad wasm / js**: the loop of \`examples/mnist-mlp.ts\` verbatim (DataLoader over
  \`datasets.MNIST\` with ToTensor + Normalize, shuffled; zeroGrad, forward, loss, backward, step,
  \`loss.item()\`) on the wasm or the js backend; the 2-threads column calls \`setNumThreads(2)\`.
- **TensorFlow.js 4.22** (\`@tensorflow/tfjs\`): three dense layers initialised like PyTorch,
  \`tf.train.momentum(0.001, 0.9)\`, softmax cross-entropy on logits; \`model.fit\` or
  \`optimizer.minimize\` per step, on its wasm backend (SIMD, one thread) or its cpu backend.
- **numpy**: \`bench/numpy_mlp.py\`, the same MLP, init and update in float32 with OpenBLAS on one
  thread.
- Each configuration trains in its own process (\`bench/e2e-run.ts\`), its timed epochs spread over
  up to three processes run round-robin with the other columns.
`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const flags = parseFlags("npm run docs:bench --", "Writes docs/benchmarks.md from the newest result files in bench/results/.", {
    check: { type: "boolean", help: "only check that docs/benchmarks.md is up to date (exit 1 if not)" },
  });
  const text = renderBenchmarksDoc();
  if (flags.check) {
    const same = readFileSync(DOC, "utf8") === text;
    console.log(same ? "docs/benchmarks.md is up to date" : "docs/benchmarks.md is out of date: run npm run docs:bench");
    process.exit(same ? 0 : 1);
  }
  writeFileSync(DOC, text);
  console.log(`wrote ${DOC}`);
}
