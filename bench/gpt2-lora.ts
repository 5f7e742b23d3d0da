// Fine-tuning GPT-2 124M within wasm32's 4 GiB: a few LoRA training steps (r 8 on c_attn and
// c_proj: the attention's and both MLP projections; PEFT's built-in GPT-2 default is c_attn alone) on 1×256 tokens of BPE-encoded Brown text, with and without
// gradient checkpointing, a full fine-tune (AdamW on all 124M parameters) for comparison, and a
// full fine-tune of the GPT-2 medium shape (24 layers × 1024, 355M parameters, random init) that
// does not fit: it must raise OutOfMemoryError naming the bytes. Each case runs in a process of
// its own, so peak RSS is the case's; prints seconds/step, wasm memory in use/reserved and peak
// RSS.
//
//   /usr/bin/python3 test/reference/hf_models.py --full /tmp/gpt2-124m     # 498 MB, once
//   npm run bench:gpt2-lora -- --dir /tmp/gpt2-124m
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseFlags } from "../src/cli/flags.js";
import { OutOfMemoryError, getBackend, lora, manualSeed, models, optim, tensor } from "../src/index.js";
import { BPETokenizer } from "../src/bpe.js";
import { brownText } from "../examples/lib/brown.js";

const CASES = {
  lora: "LoRA r 8 (c_attn, c_proj), 124M",
  "lora-ckpt": "LoRA r 8 + gradient checkpointing, 124M",
  full: "full fine-tune (AdamW, all parameters), 124M",
  "full-ckpt": "full fine-tune + gradient checkpointing, 124M",
  "medium-full": "full fine-tune, GPT-2 medium shape (355M, random init)",
  "medium-lora": "LoRA r 8 + gradient checkpointing, GPT-2 medium shape",
} as const;
type Case = keyof typeof CASES;

const args = parseFlags("npm run bench:gpt2-lora --", "LoRA and full fine-tuning steps of GPT-2 124M within wasm32: seconds/step, wasm memory, peak RSS.", {
  dir: {
    type: "string",
    default: "/tmp/gpt2-124m",
    help: "a GPT-2 124M Hugging Face folder (make one: /usr/bin/python3 test/reference/hf_models.py --full DIR)",
  },
  cases: { type: "string", default: "lora,lora-ckpt,full,medium-full", help: `comma-separated cases, of ${Object.keys(CASES).join(", ")}` },
  tokens: { type: "int", default: 256, min: 2, help: "tokens per sequence (batch 1)" },
  steps: { type: "int", default: 3, min: 1, help: "training steps per case (the first allocates the optimizer state; the others are timed)" },
  r: { type: "int", default: 8, min: 1, help: "LoRA rank" },
  alpha: { type: "number", default: 16, min: 0, help: "LoRA alpha" },
  threads: { type: "int", default: 1, min: 1, help: "threads for the matrix products" },
  child: { type: "string", help: "(internal) run one case in this process and print its result as JSON" },
});

interface Result {
  case: Case;
  trainable: number;
  total: number;
  loadSeconds: number;
  stepSeconds: number[];
  losses: (number | null)[]; // null: NaN (JSON has no NaN)
  liveBytes: number;
  reservedBytes: number;
  memoryBytes: number;
  peakRss: number;
  error: string | null;
}

const MiB = 2 ** 20;
const mb = (n: number) => `${(n / MiB).toFixed(0)} MiB`;

if (args.child !== undefined) runCase(args.child as Case);
else runAll();

function runAll(): void {
  const cases = args.cases.split(",").map((c) => c.trim()) as Case[];
  const usageError = (message: string) => {
    process.stderr.write(`${message}\n`);
    process.exit(2);
  };
  for (const c of cases) if (!(c in CASES)) usageError(`--cases: unknown case ${c} (expected ${Object.keys(CASES).join(", ")})`);
  if (cases.some((c) => !c.startsWith("medium")) && !existsSync(join(args.dir, "config.json")))
    usageError(`--dir ${args.dir} has no config.json: write GPT-2 124M there first (/usr/bin/python3 test/reference/hf_models.py --full ${args.dir})`);
  console.log(`GPT-2 fine-tuning steps on 1×${args.tokens} tokens (BPE of Brown text), ${args.steps} steps per case, ${args.threads} thread(s)`);
  const self = fileURLToPath(import.meta.url);
  const rows: string[][] = [];
  for (const c of cases) {
    const flags = ["--dir", args.dir, "--tokens", String(args.tokens), "--steps", String(args.steps), "--r", String(args.r), "--alpha", String(args.alpha)];
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "--conditions=wasmgrad-source", self, ...flags, "--threads", String(args.threads), "--child", c],
      {
        encoding: "utf8",
        maxBuffer: 64 * MiB,
      },
    );
    const line = r.stdout.trim().split("\n").pop() ?? "";
    if (r.status !== 0 || !line.startsWith("{")) {
      console.log(`${c}: the child process failed (status ${r.status})\n${r.stderr}`);
      continue;
    }
    const res = JSON.parse(line) as Result;
    const timed = res.stepSeconds.length > 1 ? res.stepSeconds.slice(1) : res.stepSeconds;
    const perStep = timed.length > 0 ? `${(timed.reduce((a, b) => a + b, 0) / timed.length).toFixed(2)} s` : "-";
    console.log(
      `\n${CASES[c]}: ${res.trainable.toLocaleString("en")} trainable of ${res.total.toLocaleString("en")} parameters; loaded in ${res.loadSeconds.toFixed(1)} s`,
    );
    if (res.stepSeconds.length > 0)
      console.log(
        `  steps: ${res.stepSeconds.map((s) => `${s.toFixed(2)} s`).join(", ")}; losses ${res.losses.map((l) => (l === null ? "NaN" : l.toFixed(3))).join(", ")}`,
      );
    console.log(`  wasm memory: ${mb(res.liveBytes)} in use, ${mb(res.reservedBytes)} reserved, memory ${mb(res.memoryBytes)}; peak RSS ${mb(res.peakRss)}`);
    if (res.error !== null) console.log(`  OutOfMemoryError: ${res.error}`);
    rows.push([
      c,
      res.trainable.toLocaleString("en"),
      res.error === null ? perStep : "out of memory",
      mb(res.liveBytes),
      mb(res.reservedBytes),
      mb(res.peakRss),
    ]);
  }
  console.log("\n| case | trainable | s/step | wasm in use | wasm reserved | peak RSS |\n|---|---:|---:|---:|---:|---:|");
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
}

function runCase(c: Case): void {
  if (!(c in CASES)) throw new Error(`--child: unknown case ${c}`);
  getBackend().setNumThreads(args.threads);
  manualSeed(0);
  const medium = c.startsWith("medium");
  const t0 = performance.now();
  const model = medium ? new models.GPT({ vocabSize: 50257, blockSize: 1024, nLayer: 24, nHead: 16, nEmbd: 1024 }) : models.GPT.fromPretrained(args.dir);
  const loadSeconds = (performance.now() - t0) / 1000;
  if (c.includes("lora")) lora.apply(model, { r: args.r, alpha: args.alpha, targetModules: ["c_attn", "c_proj"] });
  if (c.endsWith("ckpt") || c === "medium-lora") model.gradientCheckpointingEnable();
  const { trainable, total } = lora.parameterCounts(model);
  const ids = BPETokenizer.gpt2()
    .encode(brownText().slice(0, 20 * args.tokens))
    .slice(0, args.tokens + 1);
  if (ids.length < args.tokens + 1) throw new Error(`--tokens ${args.tokens}: the text gave only ${ids.length} tokens`);
  const x = tensor(ids.slice(0, -1), { shape: [1, args.tokens], dtype: "int32" }).keep();
  const y = tensor(ids.slice(1), { shape: [1, args.tokens], dtype: "int32" }).keep();
  const optimizer = new optim.AdamW(lora.trainableParameters(model), { lr: 1e-4 });
  model.train();
  const stepSeconds: number[] = [];
  const losses: number[] = [];
  let error: string | null = null;
  try {
    for (let s = 0; s < args.steps; s++) {
      const t = performance.now();
      const [, loss] = model.forward(x, y);
      optimizer.zeroGrad();
      loss!.backward();
      optimizer.step();
      losses.push(loss!.item());
      stepSeconds.push((performance.now() - t) / 1000);
    }
  } catch (e) {
    if (!(e instanceof OutOfMemoryError)) throw e;
    error = e.message;
  }
  const heap = getBackend().heap.stats();
  const result: Result = {
    case: c,
    trainable,
    total,
    loadSeconds,
    stepSeconds,
    losses,
    liveBytes: heap.liveBytes,
    reservedBytes: heap.reservedBytes,
    memoryBytes: heap.memoryBytes,
    peakRss: process.resourceUsage().maxRSS * 1024,
    error,
  };
  console.log(JSON.stringify(result));
}
