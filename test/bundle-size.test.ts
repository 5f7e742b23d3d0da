// The browser bundle of a program that trains the seed MLP stays small (wasm included), and
// smaller than the same program on TensorFlow.js core + its wasm backend. `npm run size` prints it.
import { describe, expect, it } from "vitest";
import { assertDistFresh } from "./runtimes/harness.js";
import { format, measure } from "../scripts/bundle-size.js";

/**
 * Budget for examples/browser-min, minified + gzipped, kernels included (both builds, embedded as
 * base64: 76 KB of it; wasmgrad/slim leaves them out). The general-tensor kernels (broadcasting,
 * strided copies, math, reductions, norms, optimizers) took the wasm from 18 to 81 KB and the
 * library's JS grew with the ops; the attention kernels, transformer layers and GPT added ~8 KB
 * more (164 KB), and LoRA, Hugging Face loading and BERT 13 KB more (181.2 KB) while dist was one
 * pre-bundled file whose namespaces bundlers keep whole. dist is now one module per source module
 * and the page keeps only what it reaches: 156.3 KB (`npm run size`, esbuild 0.28), budget that +5%.
 * wasmgrad/slim (initWasm(url)) is the build for pages that count every kilobyte.
 */
const BUDGET_GZIP_BYTES = 164 * 1024;

describe("bundle size", () => {
  it(`examples/browser-min is under ${BUDGET_GZIP_BYTES / 1024} KB gzipped with the wasm, and smaller than TF.js core + wasm`, async () => {
    assertDistFresh();
    const r = await measure();
    console.log(format(r));
    expect(r.wasmgrad.total.gzip).toBeLessThan(BUDGET_GZIP_BYTES);
    if ("error" in r.tfjs) throw new Error(r.tfjs.error);
    expect(r.wasmgrad.total.gzip).toBeLessThan(r.tfjs.total.gzip);
  });

  it("keeps out the modules the page does not use (LoRA, BERT, the GPT, Hugging Face loading, safetensors)", async () => {
    assertDistFresh();
    const r = await measure();
    expect(r.unusedInBundle).toEqual([]);
  });

  it("wasmgrad/slim is the same program without the embedded kernels", async () => {
    assertDistFresh();
    const r = await measure();
    // The slim bundle is the default one minus its base64 modules (a few KB of gzip context aside).
    expect(r.wasmgrad.slim.gzip).toBeLessThan(r.wasmgrad.total.gzip - r.wasmgrad.embedded.gzip + 4096);
    expect(r.wasmgrad.slim.gzip + r.wasmgrad.wasmFile.gzip).toBeLessThan(r.wasmgrad.total.gzip);
  });
});
