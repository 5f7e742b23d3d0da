// The `wasmgrad/bpe` entry: GPT-2's byte-level BPE (r50k_base) through js-tiktoken, whose package
// ships the merge ranks (no download at run time). A separate entry so that the main bundle never
// carries the ~1 MB of ranks. It imports the library as "wasmgrad" (not by relative path): a
// bundle of this entry then shares the main entry's error classes instead of copying them.
import { Tiktoken } from "js-tiktoken/lite";
import r50kBase from "js-tiktoken/ranks/r50k_base";
import { ValueError, type data } from "wasmgrad";

const describe = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : Array.isArray(v) ? `an array of ${v.length}` : `${typeof v} ${String(v)}`);

function checkArgs(owner: string, args: { length: number }, max: number): void {
  if (args.length > max) throw new ValueError(`${owner}: takes at most ${max} argument${max === 1 ? "" : "s"}, got ${args.length}`);
}

/** GPT-2's byte-level BPE (r50k_base: 50,257 tokens, <|endoftext|> = 50256), via js-tiktoken. */
export class BPETokenizer implements data.Tokenizer {
  /** <|endoftext|> */
  readonly eotToken = 50256;
  /** 50,257 */
  readonly vocabSize = 50257;
  readonly #enc: Tiktoken;

  private constructor(enc: Tiktoken) {
    this.#enc = enc;
  }

  /** GPT-2's encoding from the js-tiktoken package (no network). */
  static gpt2(): BPETokenizer {
    checkArgs("BPETokenizer.gpt2", arguments, 0);
    return new BPETokenizer(new Tiktoken(r50kBase));
  }

  /** The ids of text; "<|endoftext|>" in the text is the special token only with allowSpecial. */
  encode(text: string, options: { allowSpecial?: boolean } = {}): Int32Array {
    checkArgs("encode", arguments, 2);
    if (typeof text !== "string") throw new ValueError(`BPETokenizer.encode: expected a string, got ${describe(text)}`);
    if (options === null || typeof options !== "object")
      throw new ValueError(`BPETokenizer.encode: options must be an object {allowSpecial}, got ${describe(options)}`);
    for (const k of Object.keys(options))
      if (k !== "allowSpecial") throw new ValueError(`BPETokenizer.encode: unknown option '${k}' (expected 'allowSpecial')`);
    // Without allowSpecial the special text is encoded as ordinary characters (tiktoken's encode_ordinary).
    return Int32Array.from(options.allowSpecial ? this.#enc.encode(text, "all") : this.#enc.encode(text, [], []));
  }

  /** The text of ids; an id outside the vocabulary is a ValueError naming it. */
  decode(ids: ArrayLike<number>): string {
    checkArgs("decode", arguments, 1);
    if (ids === null || typeof ids !== "object" || typeof ids.length !== "number")
      throw new ValueError(`BPETokenizer.decode: expected an array of token ids, got ${describe(ids)}`);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)
        throw new ValueError(`BPETokenizer.decode: ids[${i}] = ${describe(id)} is not a token id (vocabSize ${this.vocabSize})`);
    }
    return this.#enc.decode(Array.from(ids));
  }
}
