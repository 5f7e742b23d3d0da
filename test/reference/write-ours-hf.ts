// Writes test/reference/golden/hf/ours-gpt2/ and ours-bert/: the tiny HF checkpoints of
// hf_models.py loaded by our fromPretrained, fine-tuned three SGD steps on the golden batch, and
// saved by our savePretrained; `hf_models.py read-ours` then loads them into the torch modules
// with load_state_dict(strict=True) and writes ours.json. test/models/hf-gpt2.test.ts and
// bert.test.ts rebuild the same models and compare.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Tensor, models, optim, tensor } from "../../src/index.js";

const HF = join(import.meta.dirname, "golden", "hf");
type G = { shape: number[]; dtype: string; data: number[] };
const golden = (name: string) => JSON.parse(readFileSync(join(HF, `${name}.json`), "utf8")) as Record<string, G>;
const t = (g: G): Tensor => tensor(g.dtype === "int32" ? Int32Array.from(g.data) : Float32Array.from(g.data), { shape: g.shape, dtype: g.dtype as "int32" });

/** Three SGD steps (lr 0.1, eval mode: no dropout) from `loss`. */
function fineTune(model: models.GPT | models.BertForSequenceClassification, loss: () => Tensor): void {
  const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
  for (let i = 0; i < 3; i++) {
    opt.zeroGrad();
    loss().backward();
    opt.step();
  }
}

/** gpt2-tiny, fine-tuned on its golden batch (next-token targets: the ids shifted by one). */
export function oursGpt2(): models.GPT {
  const g = golden("gpt2");
  const model = models.GPT.fromPretrained(join(HF, "gpt2-tiny"));
  const [B, T] = g.input_ids.shape;
  const targets = new Int32Array(B * T).fill(-1);
  for (let b = 0; b < B; b++) for (let i = 0; i + 1 < T; i++) targets[b * T + i] = g.input_ids.data[b * T + i + 1];
  fineTune(model, () => model.forward(t(g.input_ids), tensor(targets, { shape: [B, T], dtype: "int32" }))[1]!);
  return model;
}

/** bert-tiny-cls, fine-tuned on its golden batch. */
export function oursBert(): models.BertForSequenceClassification {
  const g = golden("bert");
  const model = models.BertForSequenceClassification.fromPretrained(join(HF, "bert-tiny-cls"));
  const inputs = { attentionMask: t(g.attention_mask), tokenTypeIds: t(g.token_type_ids), labels: t(g.labels) };
  fineTune(model, () => model.forward(t(g.input_ids), inputs)[1]!);
  return model;
}

if (process.argv[1]?.endsWith("write-ours-hf.ts")) {
  oursGpt2().savePretrained(join(HF, "ours-gpt2"));
  oursBert().savePretrained(join(HF, "ours-bert"));
  console.log(`${HF}/ours-gpt2, ours-bert: written`);
}
