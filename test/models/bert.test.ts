// models.Bert / models.BertForSequenceClassification against Hugging Face BERT folders written by
// real PyTorch 1.13 with HF's module layout (test/reference/hf_models.py, golden/hf/): hidden
// states with a padding mask and token types, the pooler, mean pooling, classification logits,
// cross entropy and every parameter's gradient match torch's; the bare BertModel layout
// (MiniLM-style, with the old position_ids buffer) loads; exports round-trip and load into the
// torch module strictly (ours.json); the MiniLM shape works from its config; bad input names the key.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Backend, createBackend } from "../../src/backend/index.js";
import { ShapeError, ValueError, io, models, setBackend, tensor } from "../../src/index.js";
import { thrown } from "../helpers/errors.js";
import { HF, filesOf, withConfig as withConfigOf, withTensors as withTensorsOf } from "../helpers/hf-folders.js";
import { type GoldenTensor, expectGoldenClose, loadGolden, toTensor } from "../helpers/golden.js";
import { oursBert } from "../reference/write-ours-hf.js";

interface BertGolden {
  input_ids: GoldenTensor;
  attention_mask: GoldenTensor;
  token_type_ids: GoldenTensor;
  labels: GoldenTensor;
  logits: GoldenTensor;
  loss: number;
  last_hidden_state: GoldenTensor;
  pooler_output: GoldenTensor;
  mean_pooled: GoldenTensor;
  grads: Record<string, GoldenTensor>;
}
const golden = loadGolden<BertGolden>("hf/bert");

const inputsOn = (be: Backend) => ({ attentionMask: toTensor(golden.attention_mask, be), tokenTypeIds: toTensor(golden.token_type_ids, be) });

describe.each(["wasm", "js"] as const)("models.Bert vs HF BERT in PyTorch 1.13 [%s]", (name) => {
  const be: Backend = createBackend(name);

  it("BertForSequenceClassification: hidden states, pooler, mean pooling, logits, loss and every gradient match", () => {
    setBackend(be);
    const model = models.BertForSequenceClassification.fromPretrained(join(HF, "bert-tiny-cls"));
    expect(model.training).toBe(false);
    expect(model.numLabels).toBe(3);
    expect(model.bert.config).toMatchObject({
      hiddenSize: 16,
      numHiddenLayers: 2,
      numAttentionHeads: 4,
      intermediateSize: 32,
      layerNormEps: 1e-12,
      hiddenAct: "gelu",
    });
    const ids = toTensor(golden.input_ids, be);
    const inputs = inputsOn(be);
    const hidden = model.bert.forward(ids, inputs);
    expectGoldenClose("last_hidden_state", hidden.toArray(), golden.last_hidden_state, 1e-5, 1e-6);
    expectGoldenClose("pooler_output", model.bert.pool(hidden).toArray(), golden.pooler_output, 1e-5, 1e-6);
    expectGoldenClose("mean_pooled", model.bert.meanPool(hidden, inputs.attentionMask).toArray(), golden.mean_pooled, 1e-5, 1e-6);
    const [logits, loss] = model.forward(ids, { ...inputs, labels: toTensor(golden.labels, be) });
    expectGoldenClose("logits", logits.toArray(), golden.logits, 1e-5, 1e-6);
    expect(loss!.item()).toBeCloseTo(golden.loss, 5);
    loss!.backward();
    const params = Object.fromEntries(model.namedParameters());
    expect(Object.keys(params)).toEqual(Object.keys(golden.grads)); // HF's names, in HF's order
    for (const [k, g] of Object.entries(golden.grads)) expectGoldenClose(`${k} grad`, params[k].grad!.toArray(), g, 1e-4, 1e-5);
    // The [PAD] row gets no gradient (padding_idx), as in torch.
    expect(params["bert.embeddings.word_embeddings.weight"].grad!.toArray().slice(0, 16)).toEqual(new Array(16).fill(0));
  });

  it("a bare BertModel checkpoint (no bert. prefix, old position_ids buffer) loads into Bert and under a new classification head", () => {
    setBackend(be);
    const raw = io.loadSafetensors(join(HF, "bert-tiny-base", "model.safetensors"));
    expect(raw["embeddings.position_ids"].dtype).toBe("I64");
    const bert = models.Bert.fromPretrained(join(HF, "bert-tiny-base"));
    const hidden = bert.forward(toTensor(golden.input_ids, be), inputsOn(be));
    expectGoldenClose("last_hidden_state", hidden.toArray(), golden.last_hidden_state, 1e-5, 1e-6);
    expectGoldenClose("pooler_output", bert.pool(hidden).toArray(), golden.pooler_output, 1e-5, 1e-6);
    // The encoder of the classification checkpoint, its head ignored.
    const encoder = models.Bert.fromPretrained(join(HF, "bert-tiny-cls"));
    expectGoldenClose(
      "encoder of bert-tiny-cls",
      encoder.forward(toTensor(golden.input_ids, be), inputsOn(be)).toArray(),
      golden.last_hidden_state,
      1e-5,
      1e-6,
    );
    const cls = models.BertForSequenceClassification.fromPretrained(join(HF, "bert-tiny-base"), { numLabels: 5 });
    expect(cls.classifier.weight.shape).toEqual([5, 16]);
    expect(cls.forward(toTensor(golden.input_ids, be), inputsOn(be))[0].shape).toEqual([3, 5]);
  });
});

describe("Bert: defaults, export and the MiniLM shape", () => {
  it("no mask and no token types mean all ones and zeros; an all-ones mask changes nothing", () => {
    setBackend(createBackend("wasm"));
    const bert = models.Bert.fromPretrained(filesOf("bert-tiny-base"));
    const ids = tensor([[5, 6, 7, 8]], { dtype: "int32" });
    const a = bert.forward(ids).toArray();
    expect(
      bert.forward(ids, { attentionMask: tensor([[1, 1, 1, 1]], { dtype: "int32" }), tokenTypeIds: tensor([[0, 0, 0, 0]], { dtype: "int32" }) }).toArray(),
    ).toEqual(a);
    expect(bert.forward(ids, { attentionMask: tensor([[true, true, true, true]], { dtype: "bool" }) }).toArray()).toEqual(a);
  });

  it("savePretrained: the classification export equals the reference writer's bytes; the bare one reloads", () => {
    const cls = models.BertForSequenceClassification.fromPretrained(join(HF, "bert-tiny-cls"));
    const files = cls.savePretrained();
    expect(Buffer.from(files["model.safetensors"]).equals(readFileSync(join(HF, "bert-tiny-cls", "model.safetensors")))).toBe(true);
    expect(JSON.parse(new TextDecoder().decode(files["config.json"]))).toEqual(JSON.parse(readFileSync(join(HF, "bert-tiny-cls", "config.json"), "utf8")));
    const bare = models.Bert.fromPretrained(join(HF, "bert-tiny-base")).savePretrained();
    const keys = Object.keys(io.loadSafetensors(bare["model.safetensors"]));
    expect(keys).toContain("encoder.layer.1.attention.self.query.weight");
    expect(keys).not.toContain("embeddings.position_ids"); // a buffer HF no longer saves
    expect(JSON.parse(new TextDecoder().decode(bare["config.json"])).architectures).toEqual(["BertModel"]);
    const ids = tensor([[3, 4, 5]], { dtype: "int32" });
    expect(models.Bert.fromPretrained(bare).forward(ids).toArray()).toEqual(models.Bert.fromPretrained(join(HF, "bert-tiny-base")).forward(ids).toArray());
  });

  it("our fine-tuned export loads into the torch BertForSequenceClassification strictly, and torch computes our logits", () => {
    const ours = loadGolden<{ bert: { keys: string[]; logits: GoldenTensor; loss: number; mean_pooled: GoldenTensor } }>("hf/ours");
    const be = createBackend("wasm");
    setBackend(be);
    const model = oursBert();
    const committed = io.loadSafetensors(join(HF, "ours-bert", "model.safetensors"));
    expect(Object.keys(committed).sort()).toEqual(ours.bert.keys);
    const now = io.loadSafetensors(model.savePretrained()["model.safetensors"]);
    for (const [k, t] of Object.entries(committed))
      expectGoldenClose(k, now[k].data, { shape: t.shape, dtype: "float32", data: Array.from(t.data) }, 1e-6, 1e-7);
    model.eval();
    const ids = toTensor(golden.input_ids, be);
    const [logits, loss] = model.forward(ids, { ...inputsOn(be), labels: toTensor(golden.labels, be) });
    expectGoldenClose("torch on our export: logits", logits.toArray(), ours.bert.logits, 1e-5, 1e-6);
    expect(loss!.item()).toBeCloseTo(ours.bert.loss, 5);
    const pooled = model.bert.meanPool(model.bert.forward(ids, inputsOn(be)), inputsOn(be).attentionMask);
    expectGoldenClose("torch on our export: mean pooled", pooled.toArray(), ours.bert.mean_pooled, 1e-5, 1e-6);
  });

  it("the all-MiniLM-L6-v2 shape (6 layers, hidden 384, 12 heads, intermediate 1536) works from its config.json", () => {
    setBackend(createBackend("wasm"));
    // sentence-transformers/all-MiniLM-L6-v2's config.json fields, with a smaller vocabulary to keep the test light.
    const config = {
      architectures: ["BertModel"],
      attention_probs_dropout_prob: 0.1,
      gradient_checkpointing: false,
      hidden_act: "gelu",
      hidden_dropout_prob: 0.1,
      hidden_size: 384,
      initializer_range: 0.02,
      intermediate_size: 1536,
      layer_norm_eps: 1e-12,
      max_position_embeddings: 512,
      model_type: "bert",
      num_attention_heads: 12,
      num_hidden_layers: 6,
      pad_token_id: 0,
      position_embedding_type: "absolute",
      transformers_version: "4.8.2",
      type_vocab_size: 2,
      use_cache: true,
      vocab_size: 1000,
    };
    const model = new models.Bert({ vocabSize: 1000, hiddenSize: 384, numHiddenLayers: 6, numAttentionHeads: 12, intermediateSize: 1536 });
    const files = model.savePretrained();
    files["config.json"] = new TextEncoder().encode(JSON.stringify(config));
    const loaded = models.Bert.fromPretrained(files);
    expect(loaded.parameters().reduce((n, p) => n + p.size, 0)).toBe(11_376_768); // 22.7M with the real 30,522-token vocabulary
    const ids = tensor(
      [
        [101, 7, 8, 9, 102],
        [101, 5, 102, 0, 0],
      ],
      { dtype: "int32" },
    );
    const mask = tensor(
      [
        [1, 1, 1, 1, 1],
        [1, 1, 1, 0, 0],
      ],
      { dtype: "int32" },
    );
    const emb = loaded.meanPool(loaded.forward(ids, { attentionMask: mask }), mask);
    expect(emb.shape).toEqual([2, 384]);
    model.eval();
    expectGoldenClose(
      "same model",
      emb.toArray(),
      { shape: [2, 384], dtype: "float32", data: model.meanPool(model.forward(ids, { attentionMask: mask }), mask).toArray() },
      1e-6,
      1e-7,
    );
    // Padding does not leak into the real tokens: the short row equals the row without padding.
    const alone = loaded.meanPool(loaded.forward(tensor([[101, 5, 102]], { dtype: "int32" })));
    expectGoldenClose("padded row", emb.toArray().slice(384), { shape: [384], dtype: "float32", data: alone.toArray() }, 1e-5, 1e-6);
  }, 60_000);
});

describe("Bert.fromPretrained: bad checkpoints and inputs get one error naming the key or field", () => {
  const base = () => filesOf("bert-tiny-cls");
  const withConfig = (patch: Record<string, unknown>) => withConfigOf("bert-tiny-cls", patch);
  const withTensors = (edit: Parameters<typeof withTensorsOf>[1]) => withTensorsOf("bert-tiny-cls", edit);
  const load = (f: Record<string, Uint8Array>) => models.BertForSequenceClassification.fromPretrained(f);

  it("config and tensors disagree, missing and unexpected keys", () => {
    expect(thrown(ShapeError, () => load(withConfig({ intermediate_size: 64 }))).message).toContain(
      "bert.encoder.layer.0.intermediate.dense.weight in the given files/model.safetensors has shape [32, 16], but config.json implies [64, 16]",
    );
    expect(thrown(ShapeError, () => load(withConfig({ id2label: { 0: "a", 1: "b" } }))).message).toContain("classifier.weight");
    expect(thrown(ValueError, () => load(withTensors((t) => delete t["bert.encoder.layer.1.output.LayerNorm.bias"]))).message).toContain(
      "has no tensor bert.encoder.layer.1.output.LayerNorm.bias (missing key",
    );
    expect(thrown(ValueError, () => load(withTensors((t) => delete t["classifier.bias"]))).message).toContain("has no tensor classifier.bias");
    expect(
      thrown(ValueError, () => load(withTensors((t) => (t["bert.encoder.layer.0.attention.self.rotary"] = { shape: [1], data: new Float32Array(1) })))).message,
    ).toContain("unexpected key bert.encoder.layer.0.attention.self.rotary");
  });

  it("config fields models.Bert cannot build", () => {
    for (const [patch, field] of [
      [{ hidden_act: "silu" }, "hidden_act"],
      [{ position_embedding_type: "relative_key" }, "position_embedding_type"],
      [{ model_type: "roberta" }, "model_type"],
      [{ is_decoder: true }, "is_decoder"],
      [{ problem_type: "multi_label_classification" }, "problem_type"],
      [{ hidden_size: null }, "hidden_size"],
    ] as const) {
      expect(thrown(ValueError, () => load(withConfig(patch))).message, field).toContain(field);
    }
    expect(thrown(ValueError, () => models.Bert.fromPretrained(base(), { numLabels: 2 } as never)).message).toContain("numLabels");
  });

  it("forward checks ids, masks and labels", () => {
    setBackend(createBackend("wasm"));
    const m = load(base());
    const ids = tensor([[1, 2, 3]], { dtype: "int32" });
    expect(thrown(ValueError, () => m.forward(tensor([[1, 48]], { dtype: "int32" }))).message).toContain("inputIds[1] = 48 is out of range (vocabSize 48)");
    expect(thrown(ShapeError, () => m.forward(tensor([Array(17).fill(1)], { dtype: "int32" }))).message).toContain("maxPositionEmbeddings (16)");
    expect(thrown(ShapeError, () => m.forward(ids, { attentionMask: tensor([[1, 1]], { dtype: "int32" }) })).message).toContain(
      "attentionMask [1, 2] must match inputIds [1, 3]",
    );
    expect(thrown(ValueError, () => m.forward(ids, { tokenTypeIds: tensor([[0, 2, 0]], { dtype: "int32" }) })).message).toContain("typeVocabSize 2");
    expect(thrown(ValueError, () => m.forward(ids, { labels: tensor([3], { dtype: "int32" }) })).message).toContain(
      "labels[0] = 3 is out of range (numLabels 3)",
    );
    expect(thrown(ValueError, () => m.forward(ids, { attention_mask: null } as never)).message).toContain("attention_mask");
    expect(thrown(ShapeError, () => m.bert.meanPool(tensor([[1, 2]]))).message).toContain("hidden must be (B, T, 16)");
  });
});
