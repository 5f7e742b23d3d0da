// Manual check (not in CI): GPT-2 124M written by `hf_models.py --full DIR` (HF's init, 498 MB of
// F32 weights) loads with models.GPT.fromPretrained and runs a forward pass within wasm32; prints
// the load and forward times, the peak resident memory of the process, the wasm memory and the
// difference to torch's loss and last-position logits (DIR/reference.json).
//
//   /usr/bin/python3 test/reference/hf_models.py --full /tmp/gpt2-124m
//   npx tsx --conditions=wasmgrad-source test/reference/check-full-gpt2.ts /tmp/gpt2-124m
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getBackend, models, noGrad, tensor } from "../../src/index.js";

const dir = process.argv[2] ?? "/tmp/gpt2-124m";
const ref = JSON.parse(readFileSync(join(dir, "reference.json"), "utf8")) as {
  input_ids: { shape: number[]; data: number[] };
  loss: number;
  last_logits: number[];
};
const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
const rss = () => process.resourceUsage().maxRSS * 1024;

let t0 = performance.now();
const model = models.GPT.fromPretrained(dir);
const loadMs = performance.now() - t0;
const afterLoad = { peakRss: rss(), heap: getBackend().heap.stats() };
console.log(`load: ${(loadMs / 1000).toFixed(1)} s, ${model.numParams().toLocaleString("en")} parameters`);
console.log(`  peak RSS so far ${mb(afterLoad.peakRss)}; wasm live ${mb(afterLoad.heap.liveBytes)}, wasm memory ${mb(afterLoad.heap.memoryBytes)}`);

const [B, T] = ref.input_ids.shape;
const ids = tensor(Int32Array.from(ref.input_ids.data), { shape: [B, T], dtype: "int32" });
const targets = new Int32Array(B * T).fill(-1);
for (let i = 0; i + 1 < T; i++) targets[i] = ref.input_ids.data[i + 1];
t0 = performance.now();
const [loss, last] = noGrad(() => {
  const [logits, l] = model.forward(ids, tensor(targets, { shape: [B, T], dtype: "int32" }));
  const V = model.config.vocabSize;
  return [l!.item(), logits.toArray().slice((T - 1) * V, T * V)];
});
const fwdMs = performance.now() - t0;
let worst = 0;
for (let i = 0; i < last.length; i++) worst = Math.max(worst, Math.abs(last[i] - ref.last_logits[i]));
const heap = getBackend().heap.stats();
console.log(
  `forward 1×${T} tokens (no grad): ${(fwdMs / 1000).toFixed(2)} s; loss ${loss.toFixed(6)} (torch ${ref.loss.toFixed(6)}), max |Δ last logits| ${worst.toExponential(2)}`,
);
console.log(`peak RSS ${mb(rss())}; wasm memory ${mb(heap.memoryBytes)} (live ${mb(heap.liveBytes)}), limit of wasm32: 4096 MiB`);
