// The playground's fine-tune page (examples/browser/finetune.html) in headless Chromium, on a copy
// of the tiny Hugging Face GPT-2 checkpoint that test/reference/hf_models.py wrote with real
// PyTorch (test/reference/golden/hf/gpt2-tiny: 2 layers, n_embd 16, vocab 96): the folder is picked
// through the <input webkitdirectory>, the worker loads it with GPT.fromPretrained, LoRA-fine-tunes
// it on the first-name sample (the validation loss falls), generates, and the downloaded adapter and
// merged model are read back in Node. The merged weights are checked against W + scaling·(B·A)ᵀ
// computed here from the original file and the downloaded adapter. A second run picks loose files:
// bad picks (one message each), shards, a wasmgrad run folder (nanoGPT keys, tokenizer.json, pasted
// text) and a 50257-token vocabulary (GPT-2's BPE, whose chunk loads only then). The tokenizer
// convention (finetune-tokenizer.ts) is checked directly too. A screenshot goes to
// test-output/playground-finetune.png.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Download, Page } from "playwright-core";
import { FormatError, ValueError, io, models } from "../src/index.js";
import { type Playground, startPlayground } from "../examples/browser/server.js";
import { chooseTokenizer } from "../examples/browser/finetune-tokenizer.js";
import { chromiumLaunchOptions, repoRoot } from "./runtimes/harness.js";

const TINY = join(repoRoot, "test/reference/golden/hf/gpt2-tiny");
/** The character vocabulary given to the tiny checkpoint: newline and printable ASCII (96 = its vocab_size). */
const CHARS = ["\n", ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i))];
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe("fine-tune page: tokenizer convention", () => {
  it("reads wasmgrad_tokenizer.json, then a wasmgrad tokenizer.json, then GPT-2's BPE for 50257 ids, else bytes with a warning", () => {
    const char = chooseTokenizer(new Map([["wasmgrad_tokenizer.json", enc({ type: "char", chars: CHARS })]]), 96);
    expect(char.kind).toBe("char");
    expect(char.kind === "char" && Array.from(char.tokenizer.encode("Ma\n"))).toEqual([46, 66, 0]);
    // The CLI's / npm run gpt's tokenizer.json; wasmgrad_tokenizer.json wins over it.
    expect(chooseTokenizer(new Map([["tokenizer.json", enc({ type: "char", chars: ["a", "b"] })]]), 96).source).toBe("tokenizer.json: 2 characters");
    const both = new Map([
      ["tokenizer.json", enc({ type: "char", chars: ["a", "b"] })],
      ["wasmgrad_tokenizer.json", enc({ type: "char", chars: CHARS })],
    ]);
    expect(chooseTokenizer(both, 96).source).toBe("wasmgrad_tokenizer.json: 96 characters");
    // Hugging Face's tokenizer.json (a "model" field) is not ours: GPT-2's vocabulary means GPT-2's BPE.
    const hf = new Map([["tokenizer.json", enc({ version: "1.0", model: { type: "BPE", vocab: {}, merges: [] } })]]);
    expect(chooseTokenizer(hf, 50257)).toEqual({ kind: "gpt2", source: "vocab_size 50257: GPT-2's BPE" });
    const bytes = chooseTokenizer(hf, 96);
    expect(bytes.kind).toBe("bytes");
    expect(bytes.kind === "bytes" && bytes.warning).toMatch(/UTF-8 bytes modulo 96.*wasmgrad_tokenizer\.json/);
    expect(bytes.kind === "bytes" && Array.from(bytes.tokenizer.encode("a\n"))).toEqual([97 % 96, 10]);
    // Files that disagree with the model are errors naming the file.
    expect(() => chooseTokenizer(new Map([["wasmgrad_tokenizer.json", enc({ type: "char", chars: CHARS })]]), 50)).toThrow(
      new ValueError("wasmgrad_tokenizer.json lists 96 characters, but the model has only 50 token ids"),
    );
    expect(() => chooseTokenizer(new Map([["wasmgrad_tokenizer.json", enc({ type: "gpt2" })]]), 96)).toThrow(/names GPT-2's BPE .* vocab_size 96/);
    expect(() => chooseTokenizer(new Map([["wasmgrad_tokenizer.json", new TextEncoder().encode("{")]]), 96)).toThrow(FormatError);
  });
});

interface FtState {
  loading: boolean;
  loaded: { params: number; vocab: number; positions: number; tokenizer: string; warning: string | null; format: string } | null;
  lora: { trainable: number; total: number; layers: number } | null;
  training: boolean;
  trained: boolean;
  steps: number;
  losses: number[];
  evals: { step: number; val: number }[];
  generating: boolean;
  tokens: number;
  text: string;
  downloads: { name: string; size: number }[];
  notes: string[];
  errors: string[];
}

describe("browser playground: fine-tune page", () => {
  let playground: Playground;
  let browser: Browser;
  let page: Page;
  let dir: string;
  const logs: string[] = [];
  const requests: string[] = [];
  const state = () => page.evaluate(() => (window as unknown as { __ft: FtState }).__ft);
  const waitFor = async (what: string, fn: string, timeout = 40_000) => {
    try {
      await page.waitForFunction(`(() => { const s = window.__ft; return ${fn}; })()`, null, { timeout, polling: 50 });
    } catch (e) {
      throw new Error(
        `fine-tune page: waiting for ${what} failed: ${(e as Error).message.split("\n")[0]}\n${logs.join("\n")}\nstate: ${JSON.stringify(await state().catch(() => null))?.slice(0, 2000)}`,
      );
    }
  };
  /** Clicks a button and collects the n downloads it starts: name → bytes. */
  const downloads = async (selector: string, n: number): Promise<Record<string, Uint8Array>> => {
    const got: Download[] = [];
    const done = new Promise<void>((ok) => {
      const on = (d: Download) => {
        got.push(d);
        if (got.length === n) {
          page.off("download", on);
          ok();
        }
      };
      page.on("download", on);
    });
    await page.click(selector);
    await done;
    const out: Record<string, Uint8Array> = {};
    for (const d of got) out[d.suggestedFilename()] = new Uint8Array(readFileSync(await d.path()));
    return out;
  };

  beforeAll(async () => {
    // A checkpoint folder as a user has it: the HF files, our tokenizer file, and clutter the page must skip.
    dir = mkdtempSync(join(tmpdir(), "wasmgrad-ft-"));
    const folder = join(dir, "gpt2-tiny");
    mkdirSync(join(folder, "onnx"), { recursive: true });
    for (const f of ["config.json", "model.safetensors"]) copyFileSync(join(TINY, f), join(folder, f));
    writeFileSync(join(folder, "wasmgrad_tokenizer.json"), `${JSON.stringify({ type: "char", chars: CHARS })}\n`);
    writeFileSync(join(folder, "onnx", "model.safetensors"), "not a checkpoint");
    writeFileSync(join(folder, "README.md"), "# tiny\n");
    const { executablePath, args } = await chromiumLaunchOptions();
    const { chromium } = await import("playwright-core");
    playground = await startPlayground({ port: 0 });
    browser = await chromium.launch({ executablePath, args });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 }, acceptDownloads: true });
    page.on("console", (m) => logs.push(`console.${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
    page.on("request", (r) => requests.push(r.url()));
  });

  afterAll(async () => {
    await browser?.close();
    await playground?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("loads a picked checkpoint folder, LoRA-fine-tunes it in a worker, generates, and downloads the adapter and the merged model", async () => {
    await page.goto(`${playground.url}finetune.html`);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);

    // The multi-file input without a tokenizer file: the bytes fallback, with its warning shown.
    await page.setInputFiles("#files", [join(TINY, "config.json"), join(TINY, "model.safetensors")]);
    await waitFor("the files to load", "s.loaded !== null");
    expect((await state()).loaded!.tokenizer).toBe("UTF-8 bytes mod 96");
    expect(await page.isVisible("#warning")).toBe(true);
    expect(await page.textContent("#warning")).toMatch(/bytes modulo 96/);

    // The folder picker: fromPretrained in the worker, the char vocabulary from wasmgrad_tokenizer.json.
    await page.setInputFiles("#folder", join(dir, "gpt2-tiny"));
    await waitFor("the folder to load", "s.loaded !== null && s.loaded.tokenizer.startsWith('wasmgrad_tokenizer')");
    let s = await state();
    expect(s.errors).toEqual([]);
    expect(s.loaded).toMatchObject({
      format: "hf",
      params: 8640,
      vocab: 96,
      positions: 32,
      warning: null,
      tokenizer: "wasmgrad_tokenizer.json: 96 characters",
    });
    expect(await page.isVisible("#warning")).toBe(false);
    expect(await page.textContent("#modelinfo")).toMatch(
      /Hugging Face GPT-2: 2 layers, 4 heads, embedding 16, vocabulary 96, 32 positions · 8,640 parameters \(33\.8 KiB of float32\)/,
    );
    expect(await page.inputValue("#context")).toBe("32"); // clamped to n_positions
    expect(await page.isDisabled("#targets input[value=c_fc]")).toBe(false);

    // LoRA r 8 on c_attn (the defaults), 150 steps on the first names.
    await page.fill("#steps", "150");
    await page.fill("#batch", "16");
    await page.fill("#lr", "0.01");
    await page.click("#train");
    await waitFor("fine-tuning to finish", "s.trained === true");
    s = await state();
    expect(s.errors).toEqual([]);
    // 2 layers × (A [8, 16] + B [48, 8]); the base's 8,640 frozen.
    expect(s.lora).toEqual({ trainable: 1024, total: 9664, layers: 2 });
    expect(s.steps).toBe(150);
    expect(s.losses.length).toBe(150);
    expect(s.evals.map((e) => e.step)).toEqual([0, 15, 30, 45, 60, 75, 90, 105, 120, 135, 150]);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(s.losses.slice(-20))).toBeLessThan(mean(s.losses.slice(0, 5)) - 0.5);
    expect(s.evals[10].val).toBeLessThan(s.evals[0].val - 0.5);
    expect(await page.textContent("#status")).toMatch(/fine-tuned 150 steps in [\d.]+ s; val loss [\d.]+ → [\d.]+/);

    await page.fill("#tokens", "40");
    await page.click("#generate");
    await waitFor("generation to finish", "s.generating === false && s.tokens > 0");
    s = await state();
    expect(s.tokens).toBe(40);
    expect([...s.text].every((c) => CHARS.includes(c))).toBe(true);
    expect((await page.textContent("#output"))!.startsWith("Ma")).toBe(true);

    // The adapter: PEFT's two files, read back in Node.
    const adapter = await downloads("#saveAdapter", 2);
    expect(Object.keys(adapter).sort()).toEqual(["adapter_config.json", "adapter_model.safetensors"]);
    const tensors = io.loadSafetensors(adapter["adapter_model.safetensors"]);
    const keys = [0, 1].flatMap((l) => ["A", "B"].map((w) => `base_model.model.transformer.h.${l}.attn.c_attn.lora_${w}.weight`));
    expect(Object.keys(tensors).sort()).toEqual(keys);
    expect(tensors[keys[0]].shape).toEqual([8, 16]);
    expect(tensors[keys[1]].shape).toEqual([48, 8]);
    expect(tensors[keys[1]].data.some((v) => v !== 0)).toBe(true); // B starts at zero: it was trained
    const config = JSON.parse(new TextDecoder().decode(adapter["adapter_config.json"]));
    expect(config).toMatchObject({
      peft_type: "LORA",
      r: 8,
      lora_alpha: 16,
      target_modules: ["c_attn"],
      fan_in_fan_out: true,
      task_type: "CAUSAL_LM",
      base_model_name_or_path: "gpt2-tiny",
    });

    // The merged model: a HF folder whose c_attn weights are W + (alpha / r)·(B·A)ᵀ (Conv1D's [in, out]) and the rest unchanged.
    const merged = await downloads("#saveMerged", 3);
    expect(Object.keys(merged).sort()).toEqual(["config.json", "model.safetensors", "wasmgrad_tokenizer.json"]);
    expect(JSON.parse(new TextDecoder().decode(merged["wasmgrad_tokenizer.json"]))).toEqual({ type: "char", chars: CHARS });
    expect(JSON.parse(new TextDecoder().decode(merged["config.json"]))).toMatchObject({ model_type: "gpt2", vocab_size: 96, n_embd: 16 });
    const before = io.loadSafetensors(readFileSync(join(TINY, "model.safetensors")));
    const after = io.loadSafetensors(merged["model.safetensors"]);
    expect(Object.keys(after).sort()).toEqual(
      Object.keys(before)
        .filter((k) => !/\.attn\.(masked_)?bias$/.test(k))
        .sort(),
    );
    let maxErr = 0;
    for (const l of [0, 1]) {
      const A = tensors[`base_model.model.transformer.h.${l}.attn.c_attn.lora_A.weight`].data; // [8, 16]
      const B = tensors[`base_model.model.transformer.h.${l}.attn.c_attn.lora_B.weight`].data; // [48, 8]
      const k = `transformer.h.${l}.attn.c_attn.weight`; // [16, 48]
      for (let i = 0; i < 16; i++)
        for (let o = 0; o < 48; o++) {
          let d = 0;
          for (let j = 0; j < 8; j++) d += B[o * 8 + j] * A[j * 16 + i];
          maxErr = Math.max(maxErr, Math.abs(after[k].data[i * 48 + o] - (before[k].data[i * 48 + o] + 2 * d)));
        }
    }
    expect(maxErr).toBeLessThan(1e-5);
    for (const k of ["transformer.wte.weight", "transformer.h.1.mlp.c_fc.weight", "transformer.h.0.attn.c_attn.bias"])
      expect(after[k].data).toEqual(before[k].data);
    expect(await page.textContent("#downloads")).toMatch(/merged model: config\.json .*model\.safetensors .*wasmgrad_tokenizer\.json/);
    await page.screenshot({ path: join(repoRoot, "test-output/playground-finetune.png"), fullPage: true });

    // After the merge, Fine-tune starts a new adapter on the merged weights; Stop ends a long run.
    await page.fill("#steps", "100000");
    await page.click("#train");
    await waitFor("training to start", "s.steps > 10");
    await page.click("#stop");
    await waitFor("training to stop", "s.trained === true");
    s = await state();
    expect(s.steps).toBeLessThan(100000);
    expect(s.lora).toEqual({ trainable: 1024, total: 9664, layers: 2 });
    expect(await page.isDisabled("#saveAdapter")).toBe(false);
    expect(s.errors).toEqual([]);
    expect(requests.some((r) => /\/bpe-[^/]*\.js$/.test(r))).toBe(false); // GPT-2's BPE chunk is not loaded for a char vocabulary
  }, 60_000);

  it("reads shards, wasmgrad run folders (nanoGPT keys, tokenizer.json) and GPT-2-sized vocabularies (the BPE chunk, loaded on demand)", async () => {
    await page.goto(`${playground.url}finetune.html`);
    // Bad picks: one message each, from the page (no config.json) or from fromPretrained in the worker (naming the key).
    await page.setInputFiles("#files", [join(TINY, "model.safetensors")]);
    await waitFor("the page's error", "s.errors.length === 1");
    expect((await state()).errors[0]).toBe("no config.json in the picked files (got model.safetensors)");
    const bert = join(repoRoot, "test/reference/golden/hf/bert-tiny-base/model.safetensors");
    await page.setInputFiles("#files", [join(TINY, "config.json"), bert]);
    await waitFor("the worker's error", "s.errors.length === 2");
    expect((await state()).errors[1]).toMatch(/^ValueError: GPT\.fromPretrained: .*no tensor wte\.weight \(missing key/);
    expect(await page.textContent("#errors")).toBe((await state()).errors[1]);
    expect(await page.textContent("#modelinfo")).toBe("not loaded (see the message above)");

    // Shards: the page reads the index and sends the files it names.
    const sharded = join(repoRoot, "test/reference/golden/hf/gpt2-tiny-sharded");
    await page.setInputFiles(
      "#files",
      ["config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"].map((f) => join(sharded, f)),
    );
    await waitFor("the shards to load", "s.loaded !== null");
    expect((await state()).loaded).toMatchObject({ format: "hf", params: 8640 });

    // A run folder of `wasmgrad train --model gpt`: our config, nanoGPT's keys, tokenizer.json; fine-tuned on pasted text.
    const run = join(dir, "run");
    mkdirSync(run);
    const config = { vocabSize: 5, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 };
    writeFileSync(join(run, "config.json"), JSON.stringify(config));
    writeFileSync(join(run, "tokenizer.json"), JSON.stringify({ type: "char", chars: ["\n", "a", "b", "c", "d"] }));
    io.saveSafetensors(new models.GPT(config).stateDict(), join(run, "model.safetensors"));
    await page.setInputFiles(
      "#files",
      ["config.json", "tokenizer.json", "model.safetensors"].map((f) => join(run, f)),
    );
    await waitFor("the run folder to load", "s.loaded !== null");
    expect((await state()).loaded).toMatchObject({ format: "wasmgrad", vocab: 5, positions: 8, tokenizer: "tokenizer.json: 5 characters", warning: null });
    await page.selectOption("#source", "mine");
    await page.fill("#text", `${"abcd\n".repeat(60)}é`); // é is not in the vocabulary: left out, with a note
    await page.fill("#steps", "20");
    await page.click("#train");
    await waitFor("fine-tuning to finish", "s.trained === true");
    let s = await state();
    expect(s.steps).toBe(20);
    expect(s.notes).toEqual(["1 character of the text is not in the model's vocabulary: left out"]);
    const adapter = await downloads("#saveAdapter", 2);
    expect(JSON.parse(new TextDecoder().decode(adapter["adapter_config.json"]))).toMatchObject({
      fan_in_fan_out: false,
      base_model_name_or_path: "checkpoint",
    }); // loose files, no _name_or_path
    expect(Object.keys(io.loadSafetensors(adapter["adapter_model.safetensors"]))).toContain("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight");

    // vocab_size 50257 and no tokenizer file: GPT-2's BPE, from its own chunk.
    const big = join(dir, "gpt2-vocab");
    new models.GPT({ vocabSize: 50257, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 8 }).savePretrained(big);
    await page.setInputFiles(
      "#files",
      ["config.json", "model.safetensors"].map((f) => join(big, f)),
    );
    await waitFor("the GPT-2-vocabulary model to load", "s.loaded !== null");
    expect((await state()).loaded).toMatchObject({ vocab: 50257, tokenizer: "vocab_size 50257: GPT-2's BPE" });
    expect(requests.some((r) => /\/bpe-[^/]*\.js$/.test(r))).toBe(true);
    await page.fill("#prompt", "Hello world");
    await page.fill("#tokens", "5");
    await page.click("#generate");
    await waitFor("generation to finish", "s.generating === false && s.tokens > 0");
    s = await state();
    expect(s.tokens).toBe(5);
    expect(s.errors.length).toBe(2); // only the two bad picks above
  }, 60_000);
});
