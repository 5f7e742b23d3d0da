// The DEFLATE/zlib/gzip decoder (src/inflate.ts) against node:zlib: the same output for what zlib
// writes (every level and strategy, small windows, read in pieces of any size), the same
// accept/reject decision for corrupt, truncated and random inputs, checksums and gzip's header
// fields, members and padding; and output that stops where the caller's buffer does.
import * as zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { FormatError } from "../src/index.js";
import { Inflater, type InflateFormat, adler32, crc32 } from "../src/inflate.js";
import { Rand } from "./helpers/fuzz.js";

const FORMATS: InflateFormat[] = ["deflate", "zlib", "gzip"];

/** All the output, read in pieces of `piece()` bytes; or the error. */
function ours(input: Uint8Array, format: InflateFormat, piece: () => number = () => 1 << 20): Buffer | Error {
  try {
    const inf = new Inflater(input, format, "data");
    const parts: Uint8Array[] = [];
    for (;;) {
      const size = piece();
      const buf = new Uint8Array(size);
      const n = inf.read(buf);
      parts.push(buf.subarray(0, n));
      if (n < size) break;
    }
    expect(inf.done).toBe(true);
    return Buffer.concat(parts);
  } catch (e) {
    return e as Error;
  }
}

function theirs(input: Uint8Array, format: InflateFormat): Buffer | Error {
  try {
    return format === "gzip" ? zlib.gunzipSync(input) : format === "zlib" ? zlib.inflateSync(input) : zlib.inflateRawSync(input);
  } catch (e) {
    return e as Error;
  }
}

function compress(data: Uint8Array, format: InflateFormat, options: zlib.ZlibOptions = {}): Uint8Array {
  return new Uint8Array(
    format === "gzip" ? zlib.gzipSync(data, options) : format === "zlib" ? zlib.deflateSync(data, options) : zlib.deflateRawSync(data, options),
  );
}

/** Both decoders agree: the same bytes, or both reject (ours with a FormatError). */
function expectAgreement(input: Uint8Array, format: InflateFormat, piece?: () => number, what = ""): "ok" | "rejected" {
  const a = ours(input, format, piece);
  const b = theirs(input, format);
  if (b instanceof Error) {
    expect(a, `${what}: zlib says ${b.message}`).toBeInstanceOf(FormatError);
    expect((a as Error).message).toMatch(/^data: /);
    return "rejected";
  }
  expect(a instanceof Error ? a.message : "ok", what).toBe("ok");
  expect(Buffer.compare(a as Buffer, b), what).toBe(0);
  return "ok";
}

/** Data of different kinds: random, few symbols, long runs, text-like, repeats far apart. */
function sample(r: Rand, n: number): Uint8Array {
  const out = new Uint8Array(n);
  const kind = r.int(5);
  if (kind === 4) {
    const block = Uint8Array.from({ length: 1 + r.int(40000) }, () => r.int(256));
    for (let i = 0; i < n; i++) out[i] = block[i % block.length];
    return out;
  }
  for (let i = 0; i < n; i++) {
    out[i] = kind === 0 ? r.int(256) : kind === 1 ? r.int(4) : kind === 2 ? (i % 97 < 60 ? 0 : r.int(256)) : 97 + r.int(3) + (r.chance(0.01) ? 10 : 0);
  }
  return out;
}

/** A fixed-code block's bits, LSB first: [value, bit count] pairs, Huffman codes given MSB first. */
function bitsToBytes(fields: [number, number, boolean?][]): Uint8Array {
  const bits: number[] = [];
  for (const [v, n, msbFirst] of fields) for (let k = 0; k < n; k++) bits.push(msbFirst ? (v >> (n - 1 - k)) & 1 : (v >> k) & 1);
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((b, i) => (out[i >> 3] |= b << (i & 7)));
  return out;
}

describe("inflate: the same output as zlib", () => {
  it("for every format, level, strategy and window, read in pieces of random sizes", () => {
    const r = new Rand(1);
    const seen = new Set<string>();
    for (let c = 0; c < 1200; c++) {
      const format = FORMATS[c % 3];
      const n = r.chance(0.1) ? 0 : r.chance(0.3) ? r.int(100_000) : r.int(3000);
      const data = sample(r, n);
      const options: zlib.ZlibOptions = { level: r.int(10), strategy: r.int(5), memLevel: 1 + r.int(9), windowBits: 9 + r.int(7) };
      const input = compress(data, format, options);
      const piece = r.chance(0.5) ? () => 1 + r.int(r.chance(0.5) ? 300 : 70_000) : undefined;
      expect(expectAgreement(input, format, piece, `case ${c}`)).toBe("ok");
      seen.add(`${format}/${options.strategy}`);
    }
    expect(seen.size).toBe(15);
  });

  it("edge cases: empty data, stored blocks of 0 and 65,535 bytes, a reference 32,768 bytes back", () => {
    for (const format of FORMATS) {
      expect(ours(compress(new Uint8Array(0), format), format)).toEqual(Buffer.alloc(0));
      expectAgreement(compress(new Uint8Array(0), format, { level: 0 }), format);
      const r = new Rand(2);
      const big = Uint8Array.from({ length: 200_000 }, () => r.int(256));
      expectAgreement(compress(big, format, { level: 0 }), format, () => 7919);
    }
    // An empty stored block, then a stored block of 32,768 bytes, then a fixed block copying
    // 3 bytes from 32,768 back (distance code 29, 13 extra bits all ones) and ending.
    const r = new Rand(3);
    const first = Uint8Array.from({ length: 32768 }, () => r.int(256));
    const stored = (body: Uint8Array, final = false) =>
      Uint8Array.of(final ? 1 : 0, body.length & 255, body.length >> 8, ~body.length & 255, (~body.length >> 8) & 255, ...body);
    const fixedTail = bitsToBytes([
      [1, 1],
      [1, 2],
      [0b0000001, 7, true],
      [0, 0],
      [29, 5, true],
      [8191, 13],
      [0, 7, true],
    ]);
    const raw = Buffer.concat([stored(new Uint8Array(0)), stored(first), fixedTail]);
    for (const piece of [undefined, () => 1000, () => 1]) {
      const out = ours(raw, "deflate", piece);
      expect(out).toEqual(Buffer.concat([first, first.subarray(0, 3)]));
    }
    expectAgreement(raw, "deflate");
    // The same reference after only 32,767 bytes reaches before the start.
    expect(ours(Buffer.concat([stored(first.subarray(1)), fixedTail]), "deflate")).toMatchObject({
      message: expect.stringMatching(/invalid distance too far back/),
    });
    expectAgreement(Buffer.concat([stored(first.subarray(1)), fixedTail]), "deflate");
  });

  it("gzip: header fields (extra, name, comment, header CRC), members, zero padding", () => {
    const data = new TextEncoder().encode("hello, gzip ".repeat(50));
    const gz = compress(data, "gzip");
    const body = gz.subarray(10);
    const withFields = (flags: number, fields: number[]) => {
      const head = [0x1f, 0x8b, 8, flags, 1, 2, 3, 4, 0, 3, ...fields];
      if (flags & 2) {
        const crc = crc32(Uint8Array.from(head));
        head.push(crc & 255, (crc >> 8) & 255);
      }
      return Uint8Array.from([...head, ...body]);
    };
    const name = [...new TextEncoder().encode("file.idx"), 0];
    const cases = [withFields(4, [3, 0, 7, 8, 9]), withFields(8, name), withFields(16, name), withFields(2 | 4 | 8 | 16, [0, 0, ...name, ...name])];
    for (const c of cases) {
      expect(ours(c, "gzip")).toEqual(Buffer.from(data));
      expectAgreement(c, "gzip");
    }
    const badHeaderCrc = withFields(2, []);
    badHeaderCrc[10] ^= 1;
    expect((ours(badHeaderCrc, "gzip") as Error).message).toMatch(/^data: corrupt gzip data at byte 10: header crc mismatch/);
    expect((ours(withFields(0x20, []), "gzip") as Error).message).toMatch(/unknown header flags set/);
    expectAgreement(badHeaderCrc, "gzip");
    expectAgreement(withFields(0x20, []), "gzip");
    // Members are concatenated; zero bytes after a member end the data, other bytes must be a member.
    const two = Buffer.concat([gz, compress(Uint8Array.of(1, 2, 3), "gzip", { level: 0 }), gz]);
    expect(ours(two, "gzip", () => 97)).toEqual(Buffer.concat([data, Buffer.of(1, 2, 3), data]));
    for (const tail of [[0], [0, 0, 0], [0, 5, 6], [5], [0x1f], [0x1f, 0x8b, 8]])
      expectAgreement(Buffer.concat([two, Buffer.from(tail)]), "gzip", undefined, `tail ${tail}`);
    expect((ours(Buffer.concat([gz, Buffer.of(5, 6)]), "gzip") as Error).message).toBe(
      `data: corrupt gzip data at byte ${gz.length}: unexpected bytes after the gzip data`,
    );
    // zlib and raw data end where their stream ends; what follows is not read (as zlib does).
    for (const format of ["zlib", "deflate"] as const) expectAgreement(Buffer.concat([compress(data, format), Buffer.of(1, 2, 3)]), format);
  });
});

describe("inflate: the same rejections as zlib", () => {
  it("checksums and sizes: CRC-32, gzip length, Adler-32", () => {
    const data = new TextEncoder().encode("checksum ".repeat(100));
    const gz = compress(data, "gzip");
    const badCrc = gz.slice();
    badCrc[gz.length - 8] ^= 0x40;
    expect((ours(badCrc, "gzip") as Error).message).toMatch(
      new RegExp(
        `^data: corrupt gzip data at byte ${gz.length - 8}: incorrect data check \\(CRC-32 0x[0-9a-f]+, the data gives 0x${crc32(data).toString(16)}\\)$`,
      ),
    );
    const badLength = gz.slice();
    badLength[gz.length - 4] ^= 1;
    expect((ours(badLength, "gzip") as Error).message).toMatch(/incorrect length check \(901 bytes, the data has 900\)/);
    const z = compress(data, "zlib");
    const badAdler = z.slice();
    badAdler[z.length - 1] ^= 1;
    expect((ours(badAdler, "zlib") as Error).message).toMatch(/^data: corrupt zlib data at byte \d+: incorrect data check \(Adler-32/);
    for (const [bytes, format] of [
      [badCrc, "gzip"],
      [badLength, "gzip"],
      [badAdler, "zlib"],
    ] as const)
      expectAgreement(bytes, format);
    // The error stays: the decoder does not go on from a bad state.
    const inf = new Inflater(badCrc, "gzip", "data");
    expect(() => inf.read(new Uint8Array(5000))).toThrow(/incorrect data check/);
    expect(() => inf.read(new Uint8Array(5000))).toThrow(/incorrect data check/);
  });

  it("every truncation of a stream is an error that says so", () => {
    const r = new Rand(4);
    for (const format of FORMATS) {
      for (const level of [0, 1, 9]) {
        const input = compress(sample(r, 1500), format, { level });
        for (let cut = 0; cut < input.length; cut++) {
          const a = ours(input.subarray(0, cut), format, () => 1 + r.int(500));
          expect(a, `${format} level ${level} cut at ${cut}`).toBeInstanceOf(FormatError);
          expect((a as Error).message).toMatch(/ends early|corrupt/);
          expect(theirs(input.subarray(0, cut), format)).toBeInstanceOf(Error);
        }
      }
    }
    expect((ours(new Uint8Array(0), "gzip") as Error).message).toBe("data: the gzip data ends early, after 0 bytes (truncated file)");
  });

  it("corrupt streams (bit flips, random bytes, hand-made bad blocks): zlib's verdict", () => {
    const r = new Rand(5);
    const verdicts = { ok: 0, rejected: 0 };
    for (let c = 0; c < 1000; c++) {
      const format = FORMATS[c % 3];
      const input = compress(sample(r, r.int(5000)), format, { level: r.int(10), strategy: r.int(5) }).slice();
      for (let k = 1 + r.int(3); k > 0 && input.length > 0; k--) input[r.int(input.length)] ^= 1 << r.int(8);
      verdicts[expectAgreement(input, format, () => 1 + r.int(4000), `flip case ${c}`)]++;
    }
    for (let c = 0; c < 10_000; c++) {
      const input = Uint8Array.from({ length: 1 + r.int(100) }, () => r.int(256));
      if (r.chance(0.5)) input[0] = (input[0] & ~6) | 4; // favour dynamic blocks
      verdicts[expectAgreement(input, "deflate", () => 1 << 16, `random case ${c}`)]++;
    }
    expect(verdicts.ok).toBeGreaterThan(300);
    expect(verdicts.rejected).toBeGreaterThan(8000);
    const bad: [number[], RegExp][] = [
      [[0b111], /invalid block type/],
      [[0b000, 0, 1, 0, 1, 0], /invalid stored block lengths/],
      [[0xfd, 0xff, 0xff], /too many length or distance symbols/],
      [[0x78, 0x9d], /incorrect header check/],
      [[0x79, 0x18], /unknown compression method 9/],
      [[0x88, 0x1c], /invalid window size/],
      [[0x78, 0xbb, 0, 0, 0, 0], /preset dictionary/],
    ];
    for (const [bytes, message] of bad) {
      const format = bytes[0] === 0x78 || bytes[0] === 0x79 || bytes[0] === 0x88 ? "zlib" : "deflate";
      const a = ours(Uint8Array.from(bytes), format);
      expect(a, String(bytes)).toBeInstanceOf(FormatError);
      expect((a as Error).message).toMatch(message);
      expect(theirs(Uint8Array.from(bytes), format)).toBeInstanceOf(Error);
    }
  });
});

describe("inflate: output bounded by the caller", () => {
  it("64 MiB of zeros: a 100-byte read decodes 100 bytes from the first few input bytes, and atEnd says there is more", () => {
    const zeros = compress(new Uint8Array(64 << 20), "gzip");
    const inf = new Inflater(zeros, "gzip", "zeros.gz");
    const out = new Uint8Array(100);
    expect(inf.read(out)).toBe(100);
    expect(inf.inputUsed).toBeLessThan(200);
    expect(inf.atEnd()).toBe(false);
    expect(inf.inputUsed).toBeLessThan(200);
    // The whole of it, for comparison, reads all the input.
    const all = new Inflater(zeros, "gzip", "zeros.gz");
    expect(all.read(new Uint8Array((64 << 20) + 1))).toBe(64 << 20);
    expect(all.inputUsed).toBe(zeros.length);
  });
});

describe("checksums", () => {
  it("crc32 and adler32 equal zlib's, in one call or continued", () => {
    const r = new Rand(6);
    for (const n of [0, 1, 7, 8, 9, 1000, 65_537]) {
      const data = Uint8Array.from({ length: n }, () => r.int(256));
      expect(crc32(data)).toBe(zlib.crc32(data));
      const cut = r.int(n + 1);
      expect(crc32(data, crc32(data.subarray(0, cut)), cut)).toBe(zlib.crc32(data));
      const z = compress(data, "zlib", { level: 0 });
      const adler = Buffer.from(z.subarray(z.length - 4)).readUInt32BE(0);
      expect(adler32(data)).toBe(adler);
      expect(adler32(data, adler32(data.subarray(0, cut)), cut)).toBe(adler);
    }
    expect(adler32(new Uint8Array(1 << 20).fill(255))).toBe(Buffer.from(compress(new Uint8Array(1 << 20).fill(255), "zlib").subarray(-4)).readUInt32BE(0));
  });
});
