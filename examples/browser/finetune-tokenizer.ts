// Which tokenizer goes with a checkpoint folder picked on the fine-tune page. The convention
// (docs/cli-and-playground.md, "Fine-tune page"):
//  1. wasmgrad_tokenizer.json — {"type": "char", "chars": [...]} (id = position in the list) or
//     {"type": "gpt2"}. Its own name, so it never shadows Hugging Face's tokenizer.json.
//  2. tokenizer.json in that same format, as `wasmgrad train --model gpt` and `npm run gpt` write it
//     (a Hugging Face tokenizer.json, which has a "model" field, is not read).
//  3. vocab_size 50257: GPT-2's byte-level BPE (wasmgrad/bpe, js-tiktoken's r50k_base).
//  4. Otherwise UTF-8 bytes modulo the vocabulary, with a warning: training runs, but the text the
//     model sees is not the text it was trained on.
// Pure functions of the files' bytes, so test/playground-finetune.test.ts checks them in Node too.
import { FormatError, ValueError, data } from "../../src/index.js"; // the same module as "wasmgrad" in the bundle (server.ts aliases it to src/)

/** The tokenizer file names this page reads, in order. */
export const TOKENIZER_FILES = ["wasmgrad_tokenizer.json", "tokenizer.json"] as const;

/** What chooseTokenizer decided: a ready tokenizer, or GPT-2's BPE (loaded separately: its ranks are ~0.5 MB). */
export type TokenizerPlan =
  | { kind: "char"; tokenizer: data.CharTokenizer; source: string }
  | { kind: "gpt2"; source: string }
  | { kind: "bytes"; tokenizer: data.Tokenizer; source: string; warning: string };

/** The tokenizer for a checkpoint whose files (by base name) are given and whose vocabulary has vocabSize ids. */
export function chooseTokenizer(files: ReadonlyMap<string, Uint8Array>, vocabSize: number): TokenizerPlan {
  for (const name of TOKENIZER_FILES) {
    const bytes = files.get(name);
    if (bytes === undefined) continue;
    let json: { type?: unknown; model?: unknown };
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new FormatError(`${name} is not valid JSON: ${(e as Error).message}`);
    }
    const type = json?.type;
    if (name === "tokenizer.json" && type !== "char" && type !== "gpt2") continue; // Hugging Face's own file
    if (type === "gpt2") {
      if (vocabSize !== 50257) throw new ValueError(`${name} names GPT-2's BPE (50257 tokens), but config.json has vocab_size ${vocabSize}`);
      return { kind: "gpt2", source: `${name}: GPT-2's BPE` };
    }
    if (type !== "char") throw new FormatError(`${name} must be {"type": "char", "chars": [...]} or {"type": "gpt2"}, got type ${JSON.stringify(type)}`);
    const tokenizer = data.CharTokenizer.fromJSON(json);
    if (tokenizer.vocabSize > vocabSize) throw new ValueError(`${name} lists ${tokenizer.vocabSize} characters, but the model has only ${vocabSize} token ids`);
    return { kind: "char", tokenizer, source: `${name}: ${tokenizer.vocabSize} characters` };
  }
  if (vocabSize === 50257) return { kind: "gpt2", source: "vocab_size 50257: GPT-2's BPE" };
  return {
    kind: "bytes",
    tokenizer: new ByteTokenizer(vocabSize),
    source: `UTF-8 bytes mod ${vocabSize}`,
    warning: `No tokenizer file in the folder and vocab_size ${vocabSize} is not GPT-2's: text is read as UTF-8 bytes modulo ${vocabSize}, so the model does not see the characters it was trained on. Add wasmgrad_tokenizer.json ({"type": "char", "chars": [...]}) to the folder.`,
  };
}

/** The fallback: UTF-8 bytes modulo the vocabulary; ids decode as Latin-1 where printable, "·" elsewhere. */
export class ByteTokenizer implements data.Tokenizer {
  /** A byte tokenizer for a model of vocabSize ids. */
  constructor(readonly vocabSize: number) {}

  encode(text: string): Int32Array {
    return Int32Array.from(new TextEncoder().encode(text), (b) => b % this.vocabSize);
  }

  decode(ids: ArrayLike<number>): string {
    let s = "";
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      s += id === 10 || (id >= 32 && id < 127) || (id >= 160 && id < 256) ? String.fromCharCode(id) : "·";
    }
    return s;
  }
}
