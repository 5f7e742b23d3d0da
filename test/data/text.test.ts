// Tokenizers and language-model data: characters round-trip (astral too) and name what they
// cannot encode; GPT-2's BPE gives the ids tiktoken documents ("Hello world" → 15496, 995);
// TokenWindows, randomWindows (nanoGPT's get_batch) and splitTokens against hand-computed windows.
import { describe, expect, it } from "vitest";
import { ValueError, data } from "../../src/index.js";
import { BPETokenizer } from "../../src/bpe.js";
// wasmgrad/bpe throws the error classes of the package it imports as "wasmgrad" (here: dist/).
import { ValueError as PackageValueError } from "wasmgrad";
import { Generator } from "../../src/random.js";
import { thrown } from "../helpers/errors.js";

describe("CharTokenizer", () => {
  it("builds a sorted vocabulary and round-trips, astral characters included", () => {
    const t = data.CharTokenizer.fromText("hello 🙂 world");
    expect(t.chars).toEqual([" ", "d", "e", "h", "l", "o", "r", "w", "🙂"]);
    expect(Array.from(t.encode("hello"))).toEqual([3, 2, 4, 4, 5]);
    expect(t.decode(t.encode("world 🙂 hello"))).toBe("world 🙂 hello");
    expect(data.CharTokenizer.fromJSON(JSON.parse(JSON.stringify(t))).chars).toEqual(t.chars);
  });
  it("names what it cannot encode or decode", () => {
    const t = data.CharTokenizer.fromText("abc");
    expect(thrown(ValueError, () => t.encode("abx")).message).toMatch(/character "x" \(U\+0078\) at position 2 is not in the vocabulary/);
    expect(thrown(ValueError, () => t.decode([0, 3])).message).toMatch(/ids\[1\] = number 3 is not a token id \(vocabSize 3\)/);
    expect(thrown(ValueError, () => new data.CharTokenizer(["a", "a"])).message).toMatch(/appears twice/);
    expect(thrown(ValueError, () => data.CharTokenizer.fromJSON({ type: "bpe" })).message).toMatch(/expected \{type: "char"/);
  });
});

describe("BPETokenizer (GPT-2, r50k_base; the wasmgrad/bpe entry)", () => {
  it("encodes as tiktoken documents and round-trips unicode", () => {
    const t = BPETokenizer.gpt2();
    expect(t.vocabSize).toBe(50257);
    expect(Array.from(t.encode("Hello world"))).toEqual([15496, 995]);
    const s = "naïve café — 東京 🙂";
    expect(t.decode(t.encode(s))).toBe(s);
    expect(Array.from(t.encode("<|endoftext|>", { allowSpecial: true }))).toEqual([50256]);
    expect(t.encode("<|endoftext|>").length).toBeGreaterThan(1);
    expect(() => t.decode([50257])).toThrow(PackageValueError);
    expect(() => t.decode([50257])).toThrow(/not a token id \(vocabSize 50257\)/);
    expect(() => t.encode("x", { allowspecial: true } as never)).toThrow(/unknown option 'allowspecial'/);
  });
});

describe("token windows", () => {
  const ids = Int32Array.from({ length: 10 }, (_, i) => i * 10);
  it("TokenWindows: sequential windows and their next tokens", () => {
    const w = new data.TokenWindows(ids, { blockSize: 3 });
    expect(w.length).toBe(3);
    const [x, y] = w.getItem(2);
    expect(Array.from(x.toArray())).toEqual([60, 70, 80]);
    expect(Array.from(y.toArray())).toEqual([70, 80, 90]);
    expect(new data.TokenWindows(ids, { blockSize: 3, stride: 1 }).length).toBe(7);
    expect(thrown(ValueError, () => new data.TokenWindows(ids.subarray(0, 3), { blockSize: 3 })).message).toMatch(/3 tokens are too few/);
  });
  it("randomWindows: y is x shifted by one, seeded draws repeat", () => {
    const [x, y] = data.randomWindows(ids, 4, 5, new Generator(3));
    expect(x.shape).toEqual([5, 4]);
    const xs = x.tolist() as number[][],
      ys = y.tolist() as number[][];
    xs.forEach((row, b) => {
      expect(row.every((v, t) => t === 0 || v === row[t - 1] + 10)).toBe(true);
      expect(ys[b]).toEqual(row.map((v) => v + 10));
      expect(row[0]).toBeLessThanOrEqual(50);
    });
    expect(data.randomWindows(ids, 4, 5, new Generator(3))[0].tolist()).toEqual(xs);
  });
  it("splitTokens: nanoGPT's 90/10 split", () => {
    const { train, val } = data.splitTokens(ids);
    expect(Array.from(train)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80]);
    expect(Array.from(val)).toEqual([90]);
    expect(thrown(ValueError, () => data.splitTokens(ids, 1)).message).toMatch(/between 0 and 1/);
  });
});
