// safetensors: interop with an independent numpy reader/writer (test/io-numpy-reference.py),
// hand-built byte buffers for each dtype, and malformed files that must fail with FormatError.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FormatError, ValueError, WasmgradError, io, manualSeed, nn, noGrad, setBackend, tensor } from "../src/index.js";

const SCRIPT = join(import.meta.dirname, "io-numpy-reference.py");
let dir = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "wasmgrad-io-"));
  execFileSync("python3", [SCRIPT, "write", dir]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  setBackend("wasm");
  manualSeed(0);
});

const mlp = () => new nn.Sequential(
  new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 64), new nn.ReLU(), new nn.Linear(64, 10));

interface Reference {
  inputs: number[][];
  logits_pt: number[][];
  logits_mixed: number[][];
  dtypes_mixed: Record<string, string>;
}
const reference = (): Reference => JSON.parse(readFileSync(join(dir, "reference.json"), "utf8"));

function logitsOf(model: nn.Sequential, inputs: number[][]): number[][] {
  return noGrad(() => model(tensor(inputs)).tolist()) as number[][];
}

function maxAbsDiff(a: number[][], b: number[][]): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  a.forEach((row, i) => {
    expect(row.length).toBe(b[i].length);
    row.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j]))));
  });
  return m;
}

/** Calls fn, expects a FormatError whose message matches `pattern`. */
function formatError(fn: () => unknown, pattern: RegExp): FormatError {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected a FormatError matching ${pattern}`).toBeInstanceOf(FormatError);
  expect((caught as Error).message).toMatch(pattern);
  return caught as FormatError;
}

/** A safetensors file from a header object (serialised as given) and a data section. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe("safetensors interop with numpy", () => {
  it("loads a PyTorch-layout F32 file written by numpy and reproduces its logits to 1e-5", () => {
    const ref = reference();
    const loaded = io.loadSafetensors(join(dir, "pt.safetensors"));
    expect(Object.keys(loaded).sort()).toEqual(["0.bias", "0.weight", "2.bias", "2.weight", "4.bias", "4.weight"]);
    expect(loaded["0.weight"].shape).toEqual([128, 784]);
    expect(io.readSafetensors(join(dir, "pt.safetensors")).metadata).toEqual({ format: "pt" });
    const model = mlp();
    const before = maxAbsDiff(logitsOf(model, ref.inputs), ref.logits_pt);
    expect(before).toBeGreaterThan(1e-2); // a fresh model is far from the reference
    model.loadStateDict(loaded);
    expect(maxAbsDiff(logitsOf(model, ref.inputs), ref.logits_pt)).toBeLessThan(1e-5);
  });

  it("reads F64, F16 and BF16 tensors into float32 (mixed-dtype file, logits to 1e-5)", () => {
    const ref = reference();
    const bytes = new Uint8Array(readFileSync(join(dir, "mixed.safetensors")));
    const { tensors, metadata } = io.readSafetensors(bytes);
    expect(metadata.note).toBe("mixed dtypes");
    for (const [k, d] of Object.entries(ref.dtypes_mixed)) expect(tensors[k].dtype).toBe(d);
    const model = mlp();
    model.loadStateDict(tensors);
    expect(maxAbsDiff(logitsOf(model, ref.inputs), ref.logits_mixed)).toBeLessThan(1e-5);
    // The quantised weights differ from the F32 ones by more than the tolerance, so reading a
    // dtype wrongly (or as another) could not pass.
    expect(maxAbsDiff(ref.logits_mixed, ref.logits_pt)).toBeGreaterThan(1e-4);
  });

  it("writes a file numpy reads back, with our keys, shapes and logits (to 1e-5)", () => {
    const ref = reference();
    manualSeed(7);
    const model = mlp();
    const path = join(dir, "ours.safetensors");
    const bytes = io.saveSafetensors(model.stateDict(), path, { metadata: { format: "pt" } });
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
    const out = JSON.parse(execFileSync("python3", [SCRIPT, "read", path, join(dir, "reference.json")], { encoding: "utf8" }));
    expect(out.keys).toEqual(["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]);
    expect(out.shapes["0.weight"]).toEqual([128, 784]);
    expect(out.shapes["4.bias"]).toEqual([10]);
    expect(Object.values(out.dtypes).every((d) => d === "F32")).toBe(true);
    expect(out.metadata).toEqual({ format: "pt" });
    expect(maxAbsDiff(out.logits, logitsOf(model, ref.inputs))).toBeLessThan(1e-5);
  });
});

describe("safetensors bytes", () => {
  it("round-trips a state dict bitwise through bytes; header padded to 8 bytes, little-endian", () => {
    const model = new nn.Sequential(new nn.Linear(3, 5), new nn.ReLU(), new nn.Linear(5, 2));
    const sd = model.stateDict();
    const bytes = io.saveSafetensors(sd);
    const n = new DataView(bytes.buffer).getUint32(0, true);
    expect(new DataView(bytes.buffer).getUint32(4, true)).toBe(0);
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header["0.weight"]).toEqual({ dtype: "F32", shape: [5, 3], data_offsets: [0, 60] });
    expect(header["0.bias"]).toEqual({ dtype: "F32", shape: [5], data_offsets: [60, 80] });
    expect(header.__metadata__).toBeUndefined();
    // The first weight, read by hand from the data section.
    expect(new DataView(bytes.buffer).getFloat32(8 + n, true)).toBe(sd["0.weight"].data[0]);
    const back = io.loadSafetensors(bytes);
    for (const [k, t] of Object.entries(sd)) {
      expect(back[k].shape).toEqual([...t.shape]);
      expect(Buffer.from(back[k].data.buffer).equals(Buffer.from(t.data.slice().buffer))).toBe(true);
    }
    // An ArrayBuffer works too, and the bytes load into another model.
    const other = new nn.Sequential(new nn.Linear(3, 5), new nn.ReLU(), new nn.Linear(5, 2));
    other.loadStateDict(io.loadSafetensors(bytes.slice().buffer));
    expect(other.stateDict()["2.bias"].toArray()).toEqual(sd["2.bias"].toArray());
  });

  it("decodes hand-built F16, BF16, F64, integer and BOOL data", () => {
    const f16 = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x8000, 0x3555];
    const bf16 = [0x3f80, 0x4049, 0xc2f7, 0x0000, 0x7f80];
    const f64 = [0.1, -1e300, 2 ** -149, 1 + 2 ** -30];
    const data = new Uint8Array(f16.length * 2 + 2 + bf16.length * 2 + f64.length * 8 + 3 * 8 + 4 + 3);
    const v = new DataView(data.buffer);
    let o = 0;
    f16.forEach((h) => (v.setUint16(o, h, true), (o += 2)));
    v.setUint16(o, 0x7e00, true); // F16 NaN, a tensor of its own
    o += 2;
    bf16.forEach((h) => (v.setUint16(o, h, true), (o += 2)));
    f64.forEach((x) => (v.setFloat64(o, x, true), (o += 8)));
    [-3n, 2n ** 40n, 7n].forEach((x) => (v.setBigInt64(o, x, true), (o += 8)));
    v.setInt16(o, -300, true);
    v.setUint8(o + 2, 200);
    v.setInt8(o + 3, -5);
    data.set([0, 1, 2], o + 4);
    let at = 0;
    const entry = (dtype: string, shape: number[], bytes: number) => {
      const e = { dtype, shape, data_offsets: [at, at + bytes] };
      at += bytes;
      return e;
    };
    const header = {
      half: entry("F16", [3, 3], 18),
      nan: entry("F16", [], 2),
      bf: entry("BF16", [5], 10),
      double: entry("F64", [2, 2], 32),
      long: entry("I64", [3], 24),
      short: entry("I16", [1], 2),
      byte: entry("U8", [1], 1),
      sbyte: entry("I8", [1], 1),
      flags: entry("BOOL", [3], 3),
    };
    const t = io.loadSafetensors(build(header, data));
    expect(Array.from(t.half.data)).toEqual([1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, Infinity, -Infinity, -0, Math.fround(0.333251953125)]);
    expect(Object.is(t.half.data[7], -0)).toBe(true);
    expect(t.half.shape).toEqual([3, 3]);
    expect(t.nan.shape).toEqual([]);
    expect(Number.isNaN(t.nan.data[0])).toBe(true);
    expect(Array.from(t.bf.data)).toEqual([1, 3.140625, -123.5, 0, Infinity]);
    expect(Array.from(t.double.data)).toEqual(f64.map(Math.fround));
    expect(Array.from(t.long.data)).toEqual([-3, 2 ** 40, 7]);
    expect([t.short.data[0], t.byte.data[0], t.sbyte.data[0]]).toEqual([-300, 200, -5]);
    expect(Array.from(t.flags.data)).toEqual([0, 1, 1]);
    expect(t.bf.dtype).toBe("BF16");
  });

  it("reads tensors at unaligned offsets and empty tensors", () => {
    const data = new Uint8Array(1 + 8);
    const v = new DataView(data.buffer);
    v.setUint8(0, 9);
    v.setFloat32(1, 1.5, true);
    v.setFloat32(5, -2.25, true);
    const t = io.loadSafetensors(build({
      b: { dtype: "U8", shape: [1], data_offsets: [0, 1] },
      a: { dtype: "F32", shape: [2, 1], data_offsets: [1, 9] },
      e: { dtype: "F32", shape: [0, 1000000], data_offsets: [9, 9] },
    }, data));
    expect(Array.from(t.a.data)).toEqual([1.5, -2.25]);
    expect(t.e.shape).toEqual([0, 1000000]);
    expect(t.e.data.length).toBe(0);
  });

  it("rejects bad input to saveSafetensors with ValueError", () => {
    expect(() => io.saveSafetensors({ x: { shape: [2, 2], data: [1, 2, 3] } })).toThrow(ValueError);
    expect(() => io.saveSafetensors({ __metadata__: tensor([1]) })).toThrow(ValueError);
    expect(() => io.saveSafetensors({ x: tensor([1]) }, undefined, { metadata: { n: 3 as unknown as string } })).toThrow(ValueError);
  });
});

describe("malformed safetensors files raise FormatError", () => {
  const f32 = (n: number) => new Uint8Array(4 * n);
  const ok = (shape: number[], offsets: number[], dtype = "F32") => ({ dtype, shape, data_offsets: offsets });
  const withLength = (lo: number, hi: number, rest: Uint8Array = new Uint8Array(8)) => {
    const out = new Uint8Array(8 + rest.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, lo, true);
    v.setUint32(4, hi, true);
    out.set(rest, 8);
    return out;
  };

  const cases: [string, () => Uint8Array, RegExp][] = [
    ["shorter than the length field", () => new Uint8Array(5), /5 bytes is too short/],
    ["header length past the end", () => withLength(1000, 0, new TextEncoder().encode("{}")), /header length at byte 0 says 1000 bytes, but only 2 bytes follow/],
    ["64-bit header length", () => withLength(0, 0x10000000), /header length at byte 0 says \d+ bytes/],
    ["header not starting with {", () => build(null, undefined, "[1,2]"), /start with '\{' at byte 8/],
    ["invalid JSON", () => build(null, undefined, '{"a": {"dtype": "F32",'), /not valid JSON/],
    ["invalid UTF-8", () => { const b = build(null, undefined, '{"ab":1}'); b[10] = 0xff; return b; }, /not valid UTF-8/],
    ["tensor info not an object", () => build({ a: [1, 2] }), /tensor "a": expected \{dtype, shape, data_offsets\}/],
    ["unknown dtype", () => build({ w: ok([2], [0, 8], "F33") }, f32(2)), /tensor "w": unknown dtype "F33"/],
    ["unsupported dtype", () => build({ w: ok([2], [0, 2], "F8_E4M3") }, new Uint8Array(2)), /dtype F8_E4M3 is not supported/],
    ["non-integer shape", () => build({ w: ok([2.5], [0, 8]) }, f32(2)), /shape must be an array of non-negative integers/],
    ["negative shape", () => build({ w: ok([-2], [0, 8]) }, f32(2)), /shape must be an array of non-negative integers/],
    ["offsets not a pair", () => build({ w: ok([2], [0]) }, f32(2)), /data_offsets must be \[begin, end\]/],
    ["offsets past the end", () => build({ w: ok([4], [0, 16]) }, f32(2)), /data_offsets \[0, 16\] .* lie outside the data section, which holds 8 bytes/],
    ["offsets reversed", () => build({ w: ok([0], [8, 4]) }, f32(2)), /lie outside the data section/],
    ["shape × dtype ≠ byte range", () => build({ w: ok([3], [0, 8]) }, f32(2)), /shape \[3\] of F32 needs 12 bytes, but data_offsets \[0, 8\] .* span 8/],
    ["huge shape for a small range", () => build({ w: ok([1e15, 1e15], [0, 8]) }, f32(2)), /needs more than 8 bytes/],
    ["F16 size mismatch", () => build({ w: ok([3], [0, 8], "F16") }, f32(2)), /shape \[3\] of F16 needs 6 bytes/],
    ["overlapping tensors", () => build({ a: ok([2], [0, 8]), b: ok([2], [4, 12]) }, f32(3)), /tensor "b": data_offsets \[4, 12\] overlap those of tensor "a" \[0, 8\]/],
    ["a gap between tensors", () => build({ a: ok([1], [0, 4]), b: ok([1], [8, 12]) }, f32(3)), /4 unused bytes in the data section before tensor "b"/],
    ["bytes after the last tensor", () => build({ a: ok([1], [0, 4]) }, f32(2)), /4 bytes after the last tensor/],
    ["non-string metadata", () => build({ __metadata__: { epoch: 3 } }), /__metadata__\["epoch"\] must be a string/],
  ];
  for (const [what, make, pattern] of cases) {
    it(what, () => {
      const e = formatError(() => io.loadSafetensors(make()), pattern);
      expect(e.message.startsWith("safetensors data: ")).toBe(true);
    });
  }

  it("names the file in the message when loading from a path", () => {
    const path = join(dir, "broken.safetensors");
    writeFileSync(path, build({ w: ok([3], [0, 8]) }, f32(2)));
    formatError(() => io.loadSafetensors(path), new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: tensor "w"`));
  });

  it("random corruption and truncation of a valid file: a result or a FormatError, nothing else", () => {
    const model = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 2));
    const good = io.saveSafetensors(model.stateDict(), undefined, { metadata: { format: "pt" } });
    const headerEnd = 8 + new DataView(good.buffer).getUint32(0, true);
    let seed = 12345;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    let failures = 0;
    for (let trial = 0; trial < 400; trial++) {
      const bad = good.slice(0, trial % 4 === 0 ? rand(good.length) : good.length);
      if (trial % 4 !== 0) {
        for (let k = 0; k <= rand(3); k++) {
          const at = rand(headerEnd);
          bad[at] = trial % 3 === 0 ? rand(256) : "0123456789[]{}\",:-e. ".charCodeAt(rand(22));
        }
      }
      try {
        io.loadSafetensors(bad);
      } catch (e) {
        expect(e, String(e)).toBeInstanceOf(WasmgradError);
        expect(e).toBeInstanceOf(FormatError);
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(200);
  });
});
