// Training steps of models.Bert hold memory flat: the attention mask and default token types that
// forward builds per call are freed with the step, not left persistent for garbage collection
// (a synchronous training loop never lets the FinalizationRegistry run, so they piled up: 2 MB a
// step at batch 32 × 128, until the heap passed 2 GiB).
import { describe, expect, it } from "vitest";
import { createBackend } from "../../src/backend/index.js";
import { manualSeed, models, noGrad, setBackend, tensor } from "../../src/index.js";

describe.each(["wasm", "js"] as const)("models.Bert memory (%s)", (kind) => {
  it("many training steps, with and without an attention mask, and evaluation inside noGrad hold live memory flat", () => {
    const be = createBackend(kind);
    setBackend(be);
    manualSeed(0);
    const clf = new models.BertForSequenceClassification({
      vocabSize: 40,
      hiddenSize: 16,
      numHiddenLayers: 1,
      numAttentionHeads: 2,
      intermediateSize: 32,
      maxPositionEmbeddings: 16,
    });
    const ids = tensor(
      Int32Array.from({ length: 32 }, (_, i) => 1 + (i % 39)),
      { shape: [2, 16], dtype: "int32" },
    );
    const mask = tensor(
      Int32Array.from({ length: 32 }, (_, i) => (i % 16 < 12 ? 1 : 0)),
      { shape: [2, 16], dtype: "int32" },
    );
    const labels = tensor(Int32Array.of(0, 1), { dtype: "int32" });
    const live: number[] = [];
    for (let i = 0; i < 6; i++) {
      clf.zeroGrad();
      clf.forward(ids, i % 2 === 0 ? { attentionMask: mask, labels } : { labels })[1]!.backward();
      noGrad(() => {
        clf.forward(ids, { attentionMask: mask }); // returned from noGrad the logits would become persistent
      });
      live.push(be.heap.stats().liveBytes);
    }
    expect(live[5]).toBe(live[3]);
  });
});
