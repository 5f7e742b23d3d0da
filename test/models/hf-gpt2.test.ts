// models.GPT.fromPretrained / savePretrained against Hugging Face GPT-2 folders written by real
// PyTorch 1.13 with HF's GPT2LMHeadModel layout (test/reference/hf_models.py, golden/hf/): F32,
// F16, BF16, sharded and the old bare-key hub layout load; logits, HF's shifted LM loss and every
// parameter's gradient match torch's; the export is byte for byte what the reference writer
// made from the same weights, and our fine-tuned export loads into the torch module strictly
// (golden/hf/ours.json, written by `npm run test:reference`); bad checkpoints name the key.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Backend, createBackend } from "../../src/backend/index.js";
import { FormatError, ShapeError, type Tensor, ValueError, io, models, setBackend, tensor } from "../../src/index.js";
import { thrown } from "../helpers/errors.js";
import { HF, filesOf, withConfig as withConfigOf, withTensors as withTensorsOf } from "../helpers/hf-folders.js";
import { type GoldenTensor, expectGoldenClose, loadGolden, toTensor } from "../helpers/golden.js";
import { oursGpt2 } from "../reference/write-ours-hf.js";

interface Gpt2Golden {
  input_ids: GoldenTensor;
  labels: GoldenTensor;
  variants: Record<string, { logits: GoldenTensor; loss: number }>;
  grads: Record<string, GoldenTensor>;
}
const golden = loadGolden<Gpt2Golden>("hf/gpt2");
const FOLDERS = {
  "gpt2-tiny": "gpt2-tiny",
  "gpt2-tiny-f16": "gpt2-tiny-f16",
  "gpt2-tiny-bf16": "gpt2-tiny-bf16",
  "gpt2-tiny-sharded": "gpt2-tiny",
  "gpt2-tiny-old-layout": "gpt2-tiny",
};
const CONV1D = /\.(c_attn|c_proj|c_fc)\.weight$/;

/** HF's labels (shifted inside the model, -100 ignored) as our next-token targets (-1 ignored). */
function targetsOf(labels: GoldenTensor, be: Backend): Tensor {
  const [B, T] = labels.shape;
  const out = new Int32Array(B * T).fill(-1);
  for (let b = 0; b < B; b++)
    for (let t = 0; t + 1 < T; t++) out[b * T + t] = labels.data[b * T + t + 1] === -100 ? -1 : (labels.data[b * T + t + 1] as number);
  return tensor(out, { shape: [B, T], dtype: "int32", backend: be });
}

/** [r, c] row-major → [c, r]. */
function transposed(data: ArrayLike<number>, [r, c]: readonly number[]): number[] {
  const out = new Array<number>(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = data[i * c + j];
  return out;
}

/** The folder's files as name → bytes (what a browser passes). */
describe.each(["wasm", "js"] as const)("GPT.fromPretrained vs HF GPT2LMHeadModel in PyTorch 1.13 [%s]", (name) => {
  const be: Backend = createBackend(name);

  it.each(Object.entries(FOLDERS))("%s: logits and the shifted LM loss match", (folder, variant) => {
    setBackend(be);
    const model = models.GPT.fromPretrained(join(HF, folder));
    expect(model.training).toBe(false); // from_pretrained's eval mode
    expect(model.config).toMatchObject({ vocabSize: 96, blockSize: 32, nLayer: 2, nHead: 4, nEmbd: 16, dropout: 0.1 });
    const [logits, loss] = model.forward(toTensor(golden.input_ids, be), targetsOf(golden.labels, be));
    expectGoldenClose(`${folder} logits`, logits.toArray(), golden.variants[variant].logits, 1e-5, 1e-6);
    expect(loss!.item()).toBeCloseTo(golden.variants[variant].loss, 5);
  });

  it("every parameter's gradient matches (Conv1D gradients in HF's [in, out] layout)", () => {
    setBackend(be);
    const model = models.GPT.fromPretrained(join(HF, "gpt2-tiny"));
    const [, loss] = model.forward(toTensor(golden.input_ids, be), targetsOf(golden.labels, be));
    loss!.backward();
    const params = Object.fromEntries(model.namedParameters());
    expect(Object.keys(params)).toEqual(Object.keys(golden.grads)); // torch's named_parameters: the tied head once
    for (const [k, g] of Object.entries(golden.grads)) {
      const grad = params[k].grad!;
      const ours = CONV1D.test(k) ? transposed(grad.toArray(), grad.shape) : grad.toArray();
      expectGoldenClose(`${k} grad`, ours, g, 1e-4, 1e-5);
    }
  });
});

describe("GPT.fromPretrained sources", () => {
  it("takes the files' bytes by name: an object, a Map, a list of {name, bytes} with folder names, ArrayBuffers", () => {
    const want = golden.variants["gpt2-tiny"].logits;
    const be = createBackend("wasm");
    setBackend(be);
    const check = (m: models.GPT) => expectGoldenClose("logits", m.forward(toTensor(golden.input_ids, be))[0].toArray(), want, 1e-5, 1e-6);
    const files = filesOf("gpt2-tiny-sharded");
    check(models.GPT.fromPretrained(files));
    check(models.GPT.fromPretrained(new Map(Object.entries(files))));
    check(models.GPT.fromPretrained(Object.entries(files).map(([n, b]) => ({ name: `picked/gpt2-tiny-sharded/${n}`, bytes: b.slice().buffer }))));
  });

  it("keeps F16/BF16 weights' values exactly (widened to float32 in memory)", () => {
    const m = models.GPT.fromPretrained(join(HF, "gpt2-tiny-f16"));
    const raw = io.loadSafetensors(join(HF, "gpt2-tiny-f16", "model.safetensors"));
    expect(raw["transformer.wpe.weight"].dtype).toBe("F16");
    expect(Array.from(m.stateDict()["transformer.wpe.weight"].toArray())).toEqual(Array.from(raw["transformer.wpe.weight"].data));
  });
});

describe("GPT.savePretrained / toHuggingFaceStateDict", () => {
  it("writes model.safetensors byte for byte as the reference writer did from the same weights, and HF's config fields", () => {
    const golden32 = readFileSync(join(HF, "gpt2-tiny", "model.safetensors"));
    const goldenConfig = JSON.parse(readFileSync(join(HF, "gpt2-tiny", "config.json"), "utf8"));
    for (const folder of ["gpt2-tiny", "gpt2-tiny-sharded", "gpt2-tiny-old-layout"]) {
      const files = models.GPT.fromPretrained(join(HF, folder)).savePretrained();
      expect(Object.keys(files).sort()).toEqual(["config.json", "model.safetensors"]);
      expect(Buffer.from(files["model.safetensors"]).equals(golden32), folder).toBe(true);
      const config = JSON.parse(new TextDecoder().decode(files["config.json"]));
      if (folder === "gpt2-tiny") expect(config).toEqual(goldenConfig);
      else expect(config).toMatchObject({ ...goldenConfig, torch_dtype: "float32" });
    }
  });

  it("a fresh model's export reloads to the same outputs (through a folder on disk)", () => {
    const model = new models.GPT({ vocabSize: 20, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 });
    const dir = mkdtempSync(join(tmpdir(), "wasmgrad-hf-"));
    try {
      model.savePretrained(join(dir, "nested", "gpt"));
      const back = models.GPT.fromPretrained(join(dir, "nested", "gpt"));
      expect(back.config).toEqual({ ...model.config, dropout: 0 });
      model.eval();
      const idx = tensor([[1, 2, 3, 19]], { dtype: "int32" });
      expect(back.forward(idx)[0].toArray()).toEqual(model.forward(idx)[0].toArray());
      const hf = model.toHuggingFaceStateDict();
      expect(Object.keys(hf)).not.toContain("lm_head.weight");
      expect(hf["transformer.h.0.attn.c_attn.weight"].shape).toEqual([8, 24]); // Conv1D: [in, out]
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("our fine-tuned export loads into the torch GPT2LMHeadModel strictly, and torch computes our logits and loss", () => {
    const ours = loadGolden<{ gpt2: { keys: string[]; logits: GoldenTensor; loss: number } }>("hf/ours");
    const be = createBackend("wasm");
    setBackend(be);
    const model = oursGpt2();
    const files = filesOf("ours-gpt2");
    expect(Object.keys(io.loadSafetensors(files["model.safetensors"])).sort()).toEqual(ours.gpt2.keys);
    // The committed export is what our writer makes now (same steps, same weights).
    const now = io.loadSafetensors(model.savePretrained()["model.safetensors"]);
    const committed = io.loadSafetensors(files["model.safetensors"]);
    for (const [k, t] of Object.entries(committed))
      expectGoldenClose(k, now[k].data, { shape: t.shape, dtype: "float32", data: Array.from(t.data) }, 1e-6, 1e-7);
    model.eval();
    const [logits, loss] = model.forward(toTensor(golden.input_ids, be), targetsOf(golden.labels, be));
    expectGoldenClose("torch on our export: logits", logits.toArray(), ours.gpt2.logits, 1e-5, 1e-6);
    expect(loss!.item()).toBeCloseTo(ours.gpt2.loss, 5);
  });
});

describe("GPT.fromPretrained: bad checkpoints get one error naming the key or field", () => {
  const base = () => filesOf("gpt2-tiny");
  const withConfig = (patch: Record<string, unknown>) => withConfigOf("gpt2-tiny", patch);
  const withTensors = (edit: Parameters<typeof withTensorsOf>[1]) => withTensorsOf("gpt2-tiny", edit);

  it("config and tensors disagree: ShapeError naming the key, the file, got and expected shapes", () => {
    const e = thrown(ShapeError, () => models.GPT.fromPretrained(withConfig({ n_embd: 32, n_head: 4 })));
    expect(e.message).toContain("transformer.wte.weight in the given files/model.safetensors has shape [96, 16], but config.json implies [96, 32]");
    const v = thrown(ShapeError, () => models.GPT.fromPretrained(withConfig({ vocab_size: 97 })));
    expect(v.message).toMatch(/transformer\.wte\.weight .*\[96, 16\].*\[97, 16\]/);
    const w = thrown(ShapeError, () =>
      models.GPT.fromPretrained(
        withTensors((t) => (t["transformer.h.1.attn.c_attn.weight"] = { shape: [48, 16], data: t["transformer.h.1.attn.c_attn.weight"].data })),
      ),
    );
    expect(w.message).toContain(
      "transformer.h.1.attn.c_attn.weight in the given files/model.safetensors has shape [48, 16], but config.json implies [16, 48] (Conv1D, [in, out])",
    );
  });

  it("a missing key and an unexpected key: ValueError naming it", () => {
    const m = thrown(ValueError, () => models.GPT.fromPretrained(withTensors((t) => delete t["transformer.h.1.mlp.c_fc.bias"])));
    expect(m.message).toContain("has no tensor transformer.h.1.mlp.c_fc.bias (missing key");
    const u = thrown(ValueError, () =>
      models.GPT.fromPretrained(withTensors((t) => (t["transformer.h.0.attn.rotary.weight"] = { shape: [2], data: new Float32Array(2) }))),
    );
    expect(u.message).toContain("unexpected key transformer.h.0.attn.rotary.weight in the given files/model.safetensors");
    const untied = thrown(ValueError, () =>
      models.GPT.fromPretrained(
        withTensors((t) => (t["lm_head.weight"] = { shape: t["transformer.wte.weight"].shape, data: t["transformer.wte.weight"].data.map((x) => x + 1) })),
      ),
    );
    expect(untied.message).toContain("lm_head.weight in the given files/model.safetensors differs from the token embedding");
  });

  it("a sharded index naming a missing shard, or a key its shard lacks: FormatError naming the file", () => {
    const f = filesOf("gpt2-tiny-sharded");
    const index = JSON.parse(new TextDecoder().decode(f["model.safetensors.index.json"]));
    const moved = structuredClone(index);
    moved.weight_map["transformer.ln_f.bias"] = "model-00003-of-00003.safetensors";
    const e = thrown(FormatError, () => models.GPT.fromPretrained({ ...f, "model.safetensors.index.json": new TextEncoder().encode(JSON.stringify(moved)) }));
    expect(e.message).toContain('maps 1 tensors (e.g. "transformer.ln_f.bias") to model-00003-of-00003.safetensors, which is not there');
    const wrong = structuredClone(index);
    wrong.weight_map["transformer.wte.weight"] = "model-00002-of-00002.safetensors";
    const w = thrown(FormatError, () => models.GPT.fromPretrained({ ...f, "model.safetensors.index.json": new TextEncoder().encode(JSON.stringify(wrong)) }));
    expect(w.message).toContain(
      "says transformer.wte.weight is in model-00002-of-00002.safetensors, but model-00002-of-00002.safetensors has no tensor of that name",
    );
    thrown(FormatError, () => models.GPT.fromPretrained({ ...f, "model.safetensors.index.json": new TextEncoder().encode('{"weight_map": 3}') }));
  });

  it("config fields models.GPT cannot express: ValueError naming the field", () => {
    for (const [patch, field] of [
      [{ activation_function: "relu" }, "activation_function"],
      [{ n_inner: 40 }, "n_inner"],
      [{ scale_attn_by_inverse_layer_idx: true }, "scale_attn_by_inverse_layer_idx"],
      [{ layer_norm_epsilon: 1e-6 }, "layer_norm_epsilon"],
      [{ tie_word_embeddings: false }, "tie_word_embeddings"],
      [{ model_type: "llama" }, "model_type"],
      [{ n_head: "4" }, "n_head"],
      [{ attn_pdrop: 0 }, "attn_pdrop"],
    ] as const) {
      expect(thrown(ValueError, () => models.GPT.fromPretrained(withConfig(patch))).message, field).toContain(field);
    }
    expect(models.GPT.fromPretrained(withConfig({ attn_pdrop: 0 }), { dropout: 0.05 }).config.dropout).toBe(0.05);
    expect(models.GPT.fromPretrained(withConfig({ activation_function: "gelu_pytorch_tanh", n_inner: 64 })).config.nEmbd).toBe(16);
  });

  it("a folder without weights, bad file values, unknown options", () => {
    const f = base();
    delete (f as Record<string, unknown>)["model.safetensors"];
    expect(thrown(FormatError, () => models.GPT.fromPretrained({ ...f, "pytorch_model.bin": new Uint8Array(1) })).message).toContain(
      "pytorch_model.bin is a pickle",
    );
    expect(thrown(FormatError, () => models.GPT.fromPretrained({ "model.safetensors": base()["model.safetensors"] })).message).toContain(
      "config.json is missing from the given files",
    );
    expect(thrown(ValueError, () => models.GPT.fromPretrained({ "config.json": "{}" as unknown as Uint8Array })).message).toContain(
      'the file "config.json" must be bytes',
    );
    expect(thrown(ValueError, () => models.GPT.fromPretrained(join(HF, "gpt2-tiny"), { dropuot: 0 } as never)).message).toContain("dropuot");
    expect(thrown(ValueError, () => models.GPT.fromPretrained(42 as never)).message).toContain("folder path");
  });
});
