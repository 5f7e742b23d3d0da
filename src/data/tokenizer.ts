// Tokenizers for language models: the Tokenizer interface and characters (a vocabulary built from a
// text). GPT-2's byte-level BPE is a separate entry, `wasmgrad/bpe` (src/bpe.ts), so that bundles
// of the main entry never carry its ~1 MB of merge ranks.
import { ValueError } from "../errors.js";
import { checkArgCount, describe } from "../check.js";

/** Text ↔ token ids. */
export interface Tokenizer {
  /** Ids run from 0 to vocabSize - 1. */
  readonly vocabSize: number;
  /** The ids of a text. */
  encode(text: string): Int32Array;
  /** The text of ids. */
  decode(ids: ArrayLike<number>): string;
}

function checkIds(owner: string, ids: ArrayLike<number>, vocabSize: number): void {
  if (ids === null || typeof ids !== "object" || typeof ids.length !== "number")
    throw new ValueError(`${owner}: expected an array of token ids, got ${describe(ids)}`);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
      throw new ValueError(`${owner}: ids[${i}] = ${describe(id)} is not a token id (vocabSize ${vocabSize})`);
  }
}

/** One token per character (code point): the vocabulary is a list of distinct characters. */
export class CharTokenizer implements Tokenizer {
  readonly #chars: string[];
  readonly #index: Map<string, number>;

  /** A tokenizer over these characters (id = position in the list). */
  constructor(chars: readonly string[]) {
    checkArgCount("CharTokenizer", arguments, 1);
    if (!Array.isArray(chars) || chars.length === 0) throw new ValueError(`CharTokenizer: expected a non-empty array of characters, got ${describe(chars)}`);
    this.#index = new Map();
    chars.forEach((c, i) => {
      if (typeof c !== "string" || [...c].length !== 1) throw new ValueError(`CharTokenizer: chars[${i}] must be one character, got ${describe(c)}`);
      if (this.#index.has(c)) throw new ValueError(`CharTokenizer: chars[${i}] ${describe(c)} appears twice`);
      this.#index.set(c, i);
    });
    this.#chars = [...chars];
  }

  /** The distinct characters of `text`, sorted by code point. */
  static fromText(text: string): CharTokenizer {
    checkArgCount("CharTokenizer.fromText", arguments, 1);
    if (typeof text !== "string" || text.length === 0) throw new ValueError(`CharTokenizer.fromText: expected a non-empty string, got ${describe(text)}`);
    return new CharTokenizer([...new Set(text)].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!));
  }

  /** A tokenizer saved with toJSON(). */
  static fromJSON(json: unknown): CharTokenizer {
    checkArgCount("CharTokenizer.fromJSON", arguments, 1);
    const o = json as { type?: unknown; chars?: unknown };
    if (o === null || typeof o !== "object" || o.type !== "char" || !Array.isArray(o.chars)) {
      throw new ValueError(`CharTokenizer.fromJSON: expected {type: "char", chars: [...]}, got ${describe(json)}`);
    }
    return new CharTokenizer(o.chars as string[]);
  }

  /** The vocabulary, in id order. */
  get chars(): string[] {
    return [...this.#chars];
  }
  get vocabSize(): number {
    return this.#chars.length;
  }

  /** The ids of text's characters; a character outside the vocabulary is a ValueError naming it. */
  encode(text: string): Int32Array {
    checkArgCount("encode", arguments, 1);
    if (typeof text !== "string") throw new ValueError(`CharTokenizer.encode: expected a string, got ${describe(text)}`);
    const chars = [...text];
    const out = new Int32Array(chars.length);
    chars.forEach((c, i) => {
      const id = this.#index.get(c);
      if (id === undefined)
        throw new ValueError(
          `CharTokenizer.encode: character ${JSON.stringify(c)} (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}) at position ${i} is not in the vocabulary`,
        );
      out[i] = id;
    });
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    checkArgCount("decode", arguments, 1);
    checkIds("CharTokenizer.decode", ids, this.vocabSize);
    let s = "";
    for (let i = 0; i < ids.length; i++) s += this.#chars[ids[i]];
    return s;
  }

  /** {type: "char", chars} for saving beside a checkpoint. */
  toJSON(): { type: "char"; chars: string[] } {
    return { type: "char", chars: this.chars };
  }
}
