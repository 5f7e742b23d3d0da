// lora: against a torch reimplementation of PEFT's LoRA layer on a 2-layer GPT (test/reference/lora.py,
// real PyTorch 1.13): logits, loss and the lora_A/lora_B gradients, merged logits and weights; an
// adapter folder in PEFT's format (written by the generator) loads and reproduces torch's logits;
// the folder our saveAdapter writes is what torch read back (golden/lora/ours.json); the base stays
// frozen and optimizers keep state for the adapters only; bad adapters name the key.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type Backend, createBackend } from "../../src/backend/index.js";
import { FormatError, ShapeError, ValueError, io, lora, models, nn, noGrad, optim, setBackend, tensor } from "../../src/index.js";
import { thrown } from "../helpers/errors.js";
import { type GoldenTensor, expectGoldenClose, loadGolden, toTensor } from "../helpers/golden.js";
import { GOLDEN_LORA, OURS_SAVE_OPTIONS, oursLoraModel } from "../reference/write-ours-lora.js";

interface LoraGolden {
  meta: { config: models.GPTConfig; lora: { r: number; alpha: number; dropout: number; targetModules: string[] } };
  state: Record<string, GoldenTensor>;
  paths: string[];
  adapter: Record<string, GoldenTensor>;
  idx: GoldenTensor;
  targets: GoldenTensor;
  logits: GoldenTensor;
  loss: number;
  grads: Record<string, GoldenTensor>;
  mergedLogits: GoldenTensor;
  mergedState: Record<string, GoldenTensor>;
  peftConfigJson: string;
}
const gold = loadGolden<LoraGolden>("lora");
const PEFT_DIR = join(GOLDEN_LORA, "peft");
const tmp = mkdtempSync(join(tmpdir(), "wasmgrad-lora-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function baseModel(be: Backend): models.GPT {
  setBackend(be);
  const gpt = new models.GPT(gold.meta.config);
  gpt.loadStateDict(Object.fromEntries(Object.entries(gold.state).map(([k, v]) => [k, toTensor(v, be)])));
  return gpt;
}

/** The base model with the golden adapter's weights put in by hand (not through loadAdapter). */
function goldenLoraModel(be: Backend): models.GPT {
  const gpt = baseModel(be);
  const { r, alpha, dropout, targetModules } = gold.meta.lora;
  lora.apply(gpt, { r, alpha, dropout, targetModules });
  noGrad(() => {
    for (const [path, layer] of lora.loraLayers(gpt)) {
      layer.loraA.weight.copy_(toTensor(gold.adapter[lora.adapterKey(path, "A")], be));
      layer.loraB.weight.copy_(toTensor(gold.adapter[lora.adapterKey(path, "B")], be));
    }
  });
  return gpt;
}

const logitsOf = (gpt: models.GPT, be: Backend) => noGrad(() => Float32Array.from(gpt.forward(toTensor(gold.idx, be), null)[0].toArray()));

describe.each(["wasm", "js"] as const)("lora vs PEFT's LoRA in PyTorch 1.13 [%s]", (name) => {
  const be: Backend = createBackend(name);

  it("wraps the same layers with PEFT's names; logits, loss and the lora_A/lora_B gradients match; the base gets none", () => {
    const gpt = goldenLoraModel(be).eval();
    expect(lora.loraLayers(gpt).map(([p]) => p)).toEqual(gold.paths);
    const keys = Object.keys(gpt.stateDict());
    expect(keys).toContain("transformer.h.0.attn.c_attn.base_layer.weight");
    expect(keys).toContain("transformer.h.1.mlp.c_proj.lora_B.default.weight");
    const [logits, loss] = gpt.forward(toTensor(gold.idx, be), toTensor(gold.targets, be));
    expectGoldenClose("logits", logits.toArray(), gold.logits, 1e-5, 1e-6);
    expect(loss!.item()).toBeCloseTo(gold.loss, 5);
    loss!.backward();
    for (const [path, layer] of lora.loraLayers(gpt)) {
      expectGoldenClose(`${path} lora_A grad`, layer.loraA.weight.grad!.toArray(), gold.grads[lora.adapterKey(path, "A")], 1e-4, 1e-5);
      expectGoldenClose(`${path} lora_B grad`, layer.loraB.weight.grad!.toArray(), gold.grads[lora.adapterKey(path, "B")], 1e-4, 1e-5);
    }
    for (const [k, p] of gpt.namedParameters()) if (!k.includes("lora_")) expect(p.grad, k).toBeNull();
  });

  it("merge gives torch's merged logits and weights; unmerge restores; mergeAndUnload gives plain Linear layers", () => {
    const gpt = goldenLoraModel(be).eval();
    const before = logitsOf(gpt, be);
    const w0 = Float32Array.from(lora.loraLayers(gpt)[0][1].base_layer.weight.toArray());
    lora.merge(gpt);
    expectGoldenClose("merged logits", logitsOf(gpt, be), gold.mergedLogits, 1e-5, 1e-6);
    const mergedLogits = logitsOf(gpt, be);
    before.forEach((v, i) => expect(Math.abs(v - mergedLogits[i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(v))));
    lora.merge(gpt); // already merged: nothing happens (PEFT warns)
    expectGoldenClose("merged twice", logitsOf(gpt, be), gold.mergedLogits, 1e-5, 1e-6);
    lora.unmerge(gpt);
    const w1 = lora.loraLayers(gpt)[0][1].base_layer.weight.toArray();
    w0.forEach((v, i) => expect(Math.abs(v - w1[i])).toBeLessThan(1e-6));
    const after = logitsOf(gpt, be);
    before.forEach((v, i) => expect(Math.abs(v - after[i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(v))));
    lora.mergeAndUnload(gpt);
    expect(lora.loraLayers(gpt)).toEqual([]);
    const state = gpt.stateDict();
    expect(Object.keys(state)).toEqual(Object.keys(gold.mergedState));
    for (const [k, g] of Object.entries(gold.mergedState)) expectGoldenClose(k, state[k].toArray(), g, 1e-5, 1e-6);
    expect(gpt.transformer.get("h")).toBeDefined();
    expectGoldenClose("logits after mergeAndUnload", logitsOf(gpt, be), gold.mergedLogits, 1e-5, 1e-6);
  });

  it("loads the PEFT-format adapter folder (fan_in_fan_out, GPT-2's Conv1D) and reproduces torch's logits, from a path and from bytes", () => {
    const fromPath = lora.loadAdapter(baseModel(be).eval(), PEFT_DIR);
    expectGoldenClose("logits (folder)", logitsOf(fromPath, be), gold.logits, 1e-5, 1e-6);
    expect(lora.configOf(fromPath)).toEqual({ ...gold.meta.lora, fanInFanOut: true, useRslora: false });
    expect(lora.trainableParameters(fromPath)).toEqual([]); // PEFT loads for inference unless is_trainable
    const files = {
      "adapter_config.json": readFileSync(join(PEFT_DIR, "adapter_config.json")),
      "adapter_model.safetensors": readFileSync(join(PEFT_DIR, "adapter_model.safetensors")),
    };
    const fromBytes = lora.loadAdapter(baseModel(be).eval(), files, { isTrainable: true });
    expectGoldenClose("logits (bytes)", logitsOf(fromBytes, be), gold.logits, 1e-5, 1e-6);
    expect(lora.trainableParameters(fromBytes).length).toBe(2 * gold.paths.length);
  });
});

describe("lora adapter files", () => {
  const be = createBackend("wasm");

  it("saveAdapter writes adapter_config.json byte for byte as PEFT (sorted keys, indent 2) for the same options", () => {
    const gpt = baseModel(be);
    lora.apply(gpt, { ...gold.meta.lora, fanInFanOut: true });
    const files = lora.saveAdapter(gpt, null, OURS_SAVE_OPTIONS);
    expect(new TextDecoder().decode(files["adapter_config.json"])).toBe(gold.peftConfigJson);
    expect(new TextDecoder().decode(files["adapter_config.json"])).toBe(readFileSync(join(PEFT_DIR, "adapter_config.json"), "utf8"));
    const st = io.readSafetensors(files["adapter_model.safetensors"]);
    expect(st.metadata).toEqual({ format: "pt" });
    expect(Object.keys(st.tensors).sort()).toEqual(Object.keys(gold.adapter).sort());
    expect(st.tensors["base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"].shape).toEqual([4, 8]);
    expect(st.tensors["base_model.model.transformer.h.0.attn.c_attn.lora_B.weight"].shape).toEqual([24, 4]);
  });

  it("the folder our saveAdapter wrote is the one torch loaded as PEFT would (golden/lora/ours.json), and gives torch's logits", () => {
    setBackend(be);
    const files = lora.saveAdapter(oursLoraModel(be), null, OURS_SAVE_OPTIONS);
    for (const f of ["adapter_config.json", "adapter_model.safetensors"] as const)
      expect(Buffer.from(files[f]).equals(readFileSync(join(GOLDEN_LORA, "ours", f))), `${f} as committed`).toBe(true);
    const torch = JSON.parse(readFileSync(join(GOLDEN_LORA, "ours.json"), "utf8")) as { keys: string[]; logits: GoldenTensor };
    expect(torch.keys).toEqual(Object.keys(io.readSafetensors(files["adapter_model.safetensors"]).tensors).sort());
    const loaded = lora.loadAdapter(baseModel(be).eval(), files);
    expectGoldenClose("our adapter in torch", logitsOf(loaded, be), torch.logits, 1e-5, 1e-6);
    expectGoldenClose("our adapter here", logitsOf(oursLoraModel(be).eval(), be), torch.logits, 1e-5, 1e-6);
  });

  it("save → load round trip through a folder after training gives the same logits bit for bit", () => {
    const gpt = baseModel(be);
    lora.apply(gpt, { r: 2, alpha: 4, targetModules: /transformer\.h\.\d+\.(attn\.c_attn|mlp\.c_fc)/ });
    expect(lora.loraLayers(gpt).map(([p]) => p)).toEqual([
      "transformer.h.0.attn.c_attn",
      "transformer.h.0.mlp.c_fc",
      "transformer.h.1.attn.c_attn",
      "transformer.h.1.mlp.c_fc",
    ]);
    const opt = new optim.AdamW(lora.trainableParameters(gpt), { lr: 1e-2 });
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad();
      gpt.forward(toTensor(gold.idx, be), toTensor(gold.targets, be))[1]!.backward();
      opt.step();
    }
    gpt.eval();
    const dir = join(tmp, "nested", "adapter");
    lora.saveAdapter(gpt, dir, { taskType: "CAUSAL_LM" });
    const config = JSON.parse(readFileSync(join(dir, "adapter_config.json"), "utf8"));
    expect(config.target_modules).toBe("transformer\\.h\\.\\d+\\.(attn\\.c_attn|mlp\\.c_fc)");
    const loaded = lora.loadAdapter(baseModel(be).eval(), dir);
    expect(Array.from(logitsOf(loaded, be))).toEqual(Array.from(logitsOf(gpt, be)));
  });
});

describe("lora training", () => {
  const be = createBackend("wasm");

  it("freezes the base; an optimizer given every parameter keeps state for lora_A/lora_B only and leaves the base bitwise unchanged", () => {
    const gpt = baseModel(be);
    lora.apply(gpt, { r: 4, alpha: 8, targetModules: ["c_attn", "c_proj"] });
    const counts = lora.parameterCounts(gpt);
    const adapters = lora.trainableParameters(gpt);
    expect(adapters.length).toBe(12);
    expect(counts.trainable).toBe(adapters.reduce((n, p) => n + p.size, 0));
    expect(counts.total).toBe(gpt.parameters().reduce((n, p) => n + p.size, 0));
    const before = new Map(gpt.parameters().map((p) => [p, Float32Array.from(p.toArray())]));
    const opt = new optim.AdamW(gpt.parameters(), { lr: 1e-2, weightDecay: 0.1 }); // weight decay would move frozen weights
    for (let i = 0; i < 2; i++) {
      opt.zeroGrad();
      gpt.forward(toTensor(gold.idx, be), toTensor(gold.targets, be))[1]!.backward();
      opt.step();
    }
    expect(new Set(opt.state.keys())).toEqual(new Set(adapters));
    for (const [k, p] of gpt.namedParameters()) {
      const same = p.toArray().every((v, i) => Object.is(v, before.get(p)![i]));
      expect(same, k).toBe(!k.includes("lora_"));
    }
  });

  it("lora_dropout is active in training and off in eval; a layer keeps the mode of the layer it wraps", () => {
    const gpt = baseModel(be).eval();
    lora.apply(gpt, { r: 4, alpha: 8, dropout: 0.5, targetModules: ["c_fc"] });
    const layer = lora.loraLayers(gpt)[0][1];
    expect(layer.training).toBe(false);
    noGrad(() => layer.loraB.weight.fill_(0.3));
    const x = tensor(
      Float32Array.from({ length: 16 }, (_, i) => i / 8 - 1),
      { shape: [2, 8] },
    );
    const y1 = noGrad(() => layer.forward(x).toArray());
    expect(Array.from(noGrad(() => layer.forward(x).toArray()))).toEqual(Array.from(y1));
    layer.train();
    expect(Array.from(noGrad(() => layer.forward(x).toArray()))).not.toEqual(Array.from(y1));
  });

  it("an nn.Sequential of Linear layers: targets by index name, forward = base + B·A·x·alpha/r (float64 check)", () => {
    setBackend(be);
    const m = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2));
    lora.apply(m, { r: 2, alpha: 3, targetModules: ["0"] });
    const layer = lora.loraLayers(m)[0][1];
    noGrad(() => layer.loraB.weight.copy_(tensor([0.5, -1, 0.25, 2, -0.5, 1, 1.5, -2], { shape: [4, 2] })));
    const x = [0.3, -0.7, 1.1];
    const W = layer.base_layer.weight.toArray(),
      b = layer.base_layer.bias!.toArray(),
      A = layer.loraA.weight.toArray(),
      B = layer.loraB.weight.toArray();
    const ax = [0, 1].map((j) => x.reduce((s, v, i) => s + A[j * 3 + i] * v, 0));
    const want = [0, 1, 2, 3].map((o) => b[o] + x.reduce((s, v, i) => s + W[o * 3 + i] * v, 0) + 1.5 * (B[o * 2] * ax[0] + B[o * 2 + 1] * ax[1]));
    const got = noGrad(() => layer.forward(tensor(x, { shape: [1, 3] })).toArray());
    want.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
  });
});

describe("lora bad input", () => {
  const be = createBackend("wasm");
  const peft = () => ({
    config: JSON.parse(readFileSync(join(PEFT_DIR, "adapter_config.json"), "utf8")) as Record<string, unknown>,
    tensors: io.loadSafetensors(join(PEFT_DIR, "adapter_model.safetensors")) as Record<string, { shape: readonly number[]; data: ArrayLike<number> }>,
  });
  const files = (config: Record<string, unknown>, tensors: Record<string, { shape: readonly number[]; data: ArrayLike<number> }>) => ({
    "adapter_config.json": new TextEncoder().encode(JSON.stringify(config)),
    "adapter_model.safetensors": io.saveSafetensors(tensors),
  });
  /** Loading fails with cls and a message matching re, and leaves the model without LoRA layers. */
  const fails = (cls: new (...a: never[]) => Error, re: RegExp, source: Parameters<typeof lora.loadAdapter>[1]) => {
    const gpt = baseModel(be);
    const e = thrown(cls, () => lora.loadAdapter(gpt, source));
    expect(e.message).toMatch(re);
    expect(lora.loraLayers(gpt)).toEqual([]);
    expect(gpt.parameters().every((p) => p.requiresGrad)).toBe(true);
  };

  it("a lora_A of the wrong shape, r disagreeing with the tensors, missing and unexpected keys: one error naming the key", () => {
    const A0 = "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight";
    const B1 = "base_model.model.transformer.h.1.mlp.c_proj.lora_B.weight";
    let { config, tensors } = peft();
    tensors[A0] = { shape: [4, 64], data: new Float32Array(256) };
    fails(
      ShapeError,
      /lora_A\.weight in .* has shape \[4, 64\], expected \[4, 8\]: the layer transformer\.h\.0\.attn\.c_attn has 8 input features/,
      files(config, tensors),
    );
    ({ config, tensors } = peft());
    config.r = 8;
    fails(
      ShapeError,
      new RegExp(`${A0.replace(/\./g, "\\.")} .* has shape \\[4, 8\\], expected \\[8, 8\\]: r in adapter_config.json is 8`),
      files(config, tensors),
    );
    ({ config, tensors } = peft());
    delete tensors[B1];
    fails(ValueError, new RegExp(`missing key ${B1.replace(/\./g, "\\.")}`), files(config, tensors));
    ({ config, tensors } = peft());
    tensors["base_model.model.transformer.h.0.mlp.c_fc.lora_A.weight"] = { shape: [4, 8], data: new Float32Array(32) };
    fails(
      ValueError,
      /unexpected key base_model\.model\.transformer\.h\.0\.mlp\.c_fc\.lora_A\.weight .*no target layer transformer\.h\.0\.mlp\.c_fc/,
      files(config, tensors),
    );
    ({ config, tensors } = peft());
    tensors["transformer.h.0.attn.c_attn.lora_A.default.weight"] = { shape: [4, 8], data: new Float32Array(32) };
    fails(ValueError, /unexpected key transformer\.h\.0\.attn\.c_attn\.lora_A\.default\.weight .*not a LoRA weight key/, files(config, tensors));
  });

  it("target modules the model lacks, unsupported PEFT features, broken files", () => {
    let { config, tensors } = peft();
    config.target_modules = ["q_proj", "v_proj"];
    fails(ValueError, /target_modules \["q_proj","v_proj"\] .* match no Linear layer/, files(config, tensors));
    for (const [k, v] of [
      ["peft_type", "IA3"],
      ["bias", "all"],
      ["use_dora", true],
      ["modules_to_save", ["lm_head"]],
      ["r", 0],
    ] as const) {
      ({ config, tensors } = peft());
      config[k] = v;
      fails(k === "bias" || k === "use_dora" || k === "modules_to_save" ? ValueError : FormatError, new RegExp(k), files(config, tensors));
    }
    ({ tensors } = peft());
    fails(FormatError, /adapter_config\.json is not JSON/, {
      "adapter_config.json": new TextEncoder().encode("{r: 4"),
      "adapter_model.safetensors": io.saveSafetensors(tensors),
    });
    fails(ValueError, /unexpected file\(s\) model\.safetensors/, { ...files(peft().config, tensors), "model.safetensors": new Uint8Array(8) } as never);
    const dir = join(tmp, "half");
    lora.saveAdapter(lora.apply(baseModel(be), { targetModules: ["c_attn"] }), dir);
    writeFileSync(join(dir, "adapter_model.safetensors"), new Uint8Array(3));
    fails(FormatError, /adapter_model\.safetensors/, dir);
  });

  it("apply: targets not found, a non-Linear target, twice, bad options; merge/save without adapters", () => {
    const gpt = baseModel(be);
    expect(thrown(ValueError, () => lora.apply(gpt, { targetModules: ["q_proj"] })).message).toMatch(/not found in the base model .*c_attn, c_proj, c_fc/);
    expect(thrown(ValueError, () => lora.apply(gpt, { targetModules: "c_attn" })).message).toMatch(/regex that must match the whole module path/);
    expect(thrown(ValueError, () => lora.apply(gpt, { targetModules: ["attn"] })).message).toMatch(
      /transformer\.h\.0\.attn is a CausalSelfAttention; only nn\.Linear/,
    );
    expect(thrown(ValueError, () => lora.apply(gpt, { targetModules: ["c_attn"], r: 0 })).message).toMatch(/r/);
    expect(thrown(ValueError, () => lora.apply(gpt, { targetModules: ["c_attn"], rank: 4 } as never)).message).toMatch(/rank/);
    expect(thrown(ValueError, () => lora.merge(gpt)).message).toMatch(/no LoRA layers/);
    expect(thrown(ValueError, () => lora.saveAdapter(gpt, null)).message).toMatch(/no LoRA adapters/);
    lora.apply(gpt, { targetModules: ["c_attn"] });
    expect(thrown(ValueError, () => lora.apply(gpt, { targetModules: ["c_proj"] })).message).toMatch(/already has LoRA layers/);
    lora.merge(gpt);
    expect(thrown(ValueError, () => lora.saveAdapter(gpt, null)).message).toMatch(/merged .* lora\.unmerge/);
  });
});
