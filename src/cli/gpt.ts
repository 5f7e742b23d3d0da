// wasmgrad train --model gpt and wasmgrad generate: a character-level (or GPT-2 BPE) GPT trained
// on a text file with the library's train.trainGpt (nanoGPT's recipe), written as
// <out>/model.safetensors + config.json + tokenizer.json + metrics.jsonl, and sampled from such a
// directory with tokens streamed to stdout.
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Generator, data, io, manualSeed, models, train } from "wasmgrad";
import { BPETokenizer } from "wasmgrad/bpe";
import { CliError, Flags, type OptionSpec, USAGE, parseFlags, rejectPositionals } from "./args.js";
import { requireDir, requireFile, setupBackend } from "./common.js";
import { ProgressBar, formatDuration, formatInt } from "./progress.js";
import { checkWritable, makeDirectory } from "./train.js";

export const GPT_TRAIN_OPTIONS: OptionSpec = {
  model: { type: "string" },
  data: { type: "string" },
  tokenizer: { type: "string" },
  steps: { type: "string" },
  batch: { type: "string" },
  block: { type: "string" },
  layers: { type: "string" },
  heads: { type: "string" },
  embd: { type: "string" },
  dropout: { type: "string" },
  lr: { type: "string" },
  "min-lr": { type: "string" },
  warmup: { type: "string" },
  "weight-decay": { type: "string" },
  "grad-clip": { type: "string" },
  "eval-interval": { type: "string" },
  "eval-iters": { type: "string" },
  checkpoint: { type: "string" },
  resume: { type: "boolean" },
  seed: { type: "string" },
  backend: { type: "string" },
  threads: { type: "string" },
  out: { type: "string" },
  help: { type: "boolean", short: "h" },
};

export const GPT_TRAIN_HELP = `Usage: wasmgrad train --model gpt --data FILE [flags]

Trains a GPT (nanoGPT's recipe: AdamW, warmup + cosine decay, gradient clipping) on a UTF-8 text
file and writes <out>/model.safetensors, config.json, tokenizer.json and metrics.jsonl.
Sample from it with: wasmgrad generate <out>

  --data FILE                the text to learn (required); the last 10% is the validation split
  --tokenizer char|bpe       characters of the file (default) or GPT-2's BPE (50,257 tokens)
  --steps N                  optimizer steps, default 1000
  --batch N                  sequences per step, default 16
  --block N                  context length, default 128
  --layers N                 transformer blocks, default 4
  --heads N                  attention heads, default 4
  --embd N                   embedding size, default 128
  --dropout X                default 0
  --lr X                     peak learning rate, default 0.001
  --min-lr X                 learning rate after the cosine decay, default lr/10
  --warmup N                 warmup steps, default 100
  --weight-decay X           AdamW weight decay on matrices and embeddings, default 0.1
  --grad-clip X              clip the gradient norm (0: off), default 1
  --eval-interval N          steps between train/val loss estimates, default 200
  --eval-iters N             batches per estimate, default 20
  --checkpoint FILE          save a checkpoint at every estimate
  --resume                   continue from --checkpoint if it exists
  --seed N                   default 1337
  --backend wasm|js          default wasm
  --threads N                threads for big matrix products, default 1
  --out DIR                  output directory, default wasmgrad-gpt`;

export async function trainGptCommand(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<void> {
  const { values, positionals } = parseFlags("train", argv, GPT_TRAIN_OPTIONS);
  const flags = new Flags("train", values);
  if (flags.bool("help")) {
    out(`${GPT_TRAIN_HELP}\n`);
    return;
  }
  rejectPositionals("train", positionals);
  const dataPath = flags.str("data");
  if (dataPath === undefined) throw new CliError("train: --model gpt needs --data FILE (a UTF-8 text file to learn)", USAGE);
  const tokenizerKind = flags.choice("tokenizer", ["char", "bpe"] as const, "char");
  const steps = flags.num("steps", 1000, { int: true, min: 0 });
  const batchSize = flags.num("batch", 16, { int: true, min: 1 });
  const config = {
    blockSize: flags.num("block", 128, { int: true, min: 2 }),
    nLayer: flags.num("layers", 4, { int: true, min: 1 }),
    nHead: flags.num("heads", 4, { int: true, min: 1 }),
    nEmbd: flags.num("embd", 128, { int: true, min: 1 }),
    dropout: flags.num("dropout", 0, { min: 0, max: 1 }),
  };
  if (config.nEmbd % config.nHead !== 0) throw new CliError(`train: --embd ${config.nEmbd} must be divisible by --heads ${config.nHead}`, USAGE);
  const lr = flags.positive("lr", 1e-3);
  const minLr = flags.num("min-lr", lr / 10, { min: 0 });
  const warmupSteps = flags.num("warmup", 100, { int: true, min: 0 });
  const weightDecay = flags.num("weight-decay", 0.1, { min: 0 });
  const gradClip = flags.num("grad-clip", 1, { min: 0 });
  const evalInterval = flags.num("eval-interval", 200, { int: true, min: 1 });
  const evalIters = flags.num("eval-iters", 20, { int: true, min: 1 });
  const checkpoint = flags.str("checkpoint");
  const resume = flags.bool("resume");
  if (resume && checkpoint === undefined) throw new CliError("train: --resume needs --checkpoint FILE", USAGE);
  const seed = flags.num("seed", 1337, { int: true, min: 0 });
  const outDir = flags.str("out") ?? "wasmgrad-gpt";
  setupBackend(flags);
  requireFile(dataPath, "--data file");
  makeDirectory(outDir);
  if (checkpoint !== undefined) checkWritable(checkpoint, "--checkpoint");
  for (const f of ["model.safetensors", "config.json", "tokenizer.json", "metrics.jsonl"]) checkWritable(join(outDir, f), "output file");
  manualSeed(seed);

  const text = readFileSync(dataPath, "utf8");
  if (text.length < 2) throw new CliError(`train: ${dataPath} holds ${text.length} characters, too few to learn from`);
  const tokenizer: data.Tokenizer = tokenizerKind === "bpe" ? BPETokenizer.gpt2() : data.CharTokenizer.fromText(text);
  const ids = tokenizer.encode(text);
  const { train: trainIds, val: valIds } = data.splitTokens(ids, 0.9);
  if (valIds.length < 2) throw new CliError(`train: ${dataPath} gives ${ids.length} tokens: too few for a validation split`);
  const blockSize = Math.min(config.blockSize, valIds.length - 1, trainIds.length - 1);
  const full = { ...config, blockSize, vocabSize: tokenizer.vocabSize };
  const model = new models.GPT(full);
  out(
    `${dataPath}: ${formatInt(ids.length)} tokens (vocabulary ${formatInt(tokenizer.vocabSize)}); GPT of ${(model.numParams() / 1e6).toFixed(2)}M parameters\n`,
  );
  writeFileSync(join(outDir, "config.json"), `${JSON.stringify(full, null, 2)}\n`);
  writeFileSync(join(outDir, "tokenizer.json"), `${JSON.stringify(tokenizer instanceof data.CharTokenizer ? tokenizer.toJSON() : { type: "gpt2" })}\n`);
  const metrics = join(outDir, "metrics.jsonl");
  writeFileSync(metrics, "");
  const bar = new ProgressBar("train", steps);
  const result = train.trainGpt(model, {
    train: trainIds,
    val: valIds,
    steps,
    batchSize,
    lr,
    minLr,
    warmupSteps,
    weightDecay,
    gradClip,
    evalInterval,
    evalIters,
    generator: new Generator(seed),
    checkpoint: checkpoint ?? null,
    resume,
    onStep: ({ step, loss, tokensPerSec }) => bar.update(step, { loss, extra: `${formatInt(tokensPerSec)} tokens/s` }),
    onEval: (e) => {
      bar.clear();
      appendFileSync(metrics, `${JSON.stringify(e)}\n`);
      out(`step ${e.step}: train loss ${e.train.toFixed(4)}, val loss ${e.val.toFixed(4)} (${formatDuration(e.seconds)} training)\n`);
    },
  });
  bar.clear();
  io.saveSafetensors(model.stateDict(), join(outDir, "model.safetensors"));
  out(`done: ${result.step} steps in ${formatDuration(result.seconds)}; wrote ${join(outDir, "model.safetensors")} (sample: wasmgrad generate ${outDir})\n`);
}

export const GENERATE_OPTIONS: OptionSpec = {
  prompt: { type: "string" },
  tokens: { type: "string" },
  temperature: { type: "string" },
  "top-k": { type: "string" },
  "top-p": { type: "string" },
  seed: { type: "string" },
  backend: { type: "string" },
  threads: { type: "string" },
  help: { type: "boolean", short: "h" },
};

export const GENERATE_HELP = `Usage: wasmgrad generate DIR [flags]

Samples text from a GPT trained by \`wasmgrad train --model gpt\` (DIR holds model.safetensors,
config.json and tokenizer.json), streaming tokens as they are chosen (KV cache).

  --prompt TEXT              the text to continue, default a newline
  --tokens N                 tokens to generate, default 200
  --temperature X            default 0.8 (0: always the most likely token)
  --top-k N                  sample among the k most likely tokens, default 40
  --top-p X                  sample among the most likely tokens covering probability X
  --seed N                   default 0
  --backend wasm|js          default wasm
  --threads N                default 1`;

/** The tokenizer a run directory names. */
async function tokenizerOf(dir: string): Promise<data.Tokenizer> {
  const path = join(dir, "tokenizer.json");
  requireFile(path, "tokenizer file");
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new CliError(`generate: ${path} is not JSON: ${(e as Error).message}`);
  }
  if ((json as { type?: unknown })?.type === "gpt2") return BPETokenizer.gpt2();
  return data.CharTokenizer.fromJSON(json);
}

export async function generateCommand(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<void> {
  const { values, positionals } = parseFlags("generate", argv, GENERATE_OPTIONS);
  const flags = new Flags("generate", values);
  if (flags.bool("help")) {
    out(`${GENERATE_HELP}\n`);
    return;
  }
  if (positionals.length !== 1)
    throw new CliError("generate: give the run directory, e.g. wasmgrad generate wasmgrad-gpt (see wasmgrad generate --help)", USAGE);
  const dir = positionals[0];
  const tokens = flags.num("tokens", 200, { int: true, min: 0 });
  const temperature = flags.num("temperature", 0.8, { min: 0 });
  const topK = flags.has("top-k") ? flags.num("top-k", 40, { int: true, min: 1 }) : 40;
  const topP = flags.has("top-p") ? flags.num("top-p", 1, { min: 0, max: 1 }) : null;
  const seed = flags.num("seed", 0, { int: true, min: 0 });
  const promptText = flags.str("prompt") ?? "\n";
  setupBackend(flags);
  requireDir(dir, "run directory");
  const configPath = join(dir, "config.json");
  requireFile(configPath, "model config");
  const config = JSON.parse(readFileSync(configPath, "utf8")) as models.GPTConfig;
  const tokenizer = await tokenizerOf(dir);
  const model = new models.GPT(config);
  const weights = join(dir, "model.safetensors");
  requireFile(weights, "model weights");
  model.loadStateDict(io.loadSafetensors(weights));
  let prompt: number[];
  try {
    prompt = Array.from(tokenizer.encode(promptText));
  } catch (e) {
    throw new CliError(`generate: --prompt: ${(e as Error).message}`, USAGE);
  }
  if (prompt.length === 0) throw new CliError("generate: --prompt is empty", USAGE);
  out(promptText);
  model.generate([prompt], { maxNewTokens: tokens, temperature, topK: Math.min(topK, config.vocabSize), topP, seed, onToken: (t) => out(tokenizer.decode(t)) });
  out("\n");
}
