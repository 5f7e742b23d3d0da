// Writes test/reference/golden/lora/ours/: an adapter saved by our lora.saveAdapter (the base GPT
// of lora.json with seeded, non-zero adapters), for `lora.py check` to read as PEFT would and
// run in torch (golden/lora/ours.json). test/lora/lora-golden.test.ts rebuilds the same files and
// compares them with these, and our logits with torch's.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Generator } from "../../src/random.js";
import { lora, models, noGrad, tensor } from "../../src/index.js";
import type { Backend } from "../../src/backend/backend.js";

export const GOLDEN_LORA = join(import.meta.dirname, "golden", "lora");

interface Stored {
  shape: number[];
  data: number[];
}

/** The lora.json base model with adapters of seeded values in (-0.5, 0.5), as saved to ours/. */
export function oursLoraModel(backend?: Backend): models.GPT {
  const gold = JSON.parse(readFileSync(join(import.meta.dirname, "golden", "lora.json"), "utf8")) as {
    meta: { config: models.GPTConfig };
    state: Record<string, Stored>;
  };
  const gpt = new models.GPT(gold.meta.config);
  gpt.loadStateDict(
    Object.fromEntries(Object.entries(gold.state).map(([k, v]) => [k, tensor(Float32Array.from(v.data), { shape: v.shape, ...(backend ? { backend } : {}) })])),
  );
  lora.apply(gpt, { r: 4, alpha: 8, dropout: 0.05, targetModules: ["c_attn", "c_proj"], fanInFanOut: true });
  const g = new Generator(11);
  noGrad(() => {
    for (const [, layer] of lora.loraLayers(gpt)) {
      for (const w of [layer.loraA.weight, layer.loraB.weight]) w.data.set(Float32Array.from({ length: w.size }, () => g.random() - 0.5));
    }
  });
  return gpt;
}

/** The options ours/ is saved with. */
export const OURS_SAVE_OPTIONS = { baseModelNameOrPath: "gpt2", taskType: "CAUSAL_LM" };

if (process.argv[1]?.endsWith("write-ours-lora.ts")) {
  const dir = join(GOLDEN_LORA, "ours");
  lora.saveAdapter(oursLoraModel(), dir, OURS_SAVE_OPTIONS);
  console.log(`${dir}: written`);
}
