// Property-based tests (fast-check) beside the seeded mutation fuzzers: for any input the parsers
// either load or throw their documented error class, the decompressor agrees with node:zlib, and
// the argument checks reject every unknown option key and every extra argument. fast-check
// shrinks a failure to a minimal input and prints the seed that reproduces it.
import { deflateSync, gzipSync, inflateSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeImage } from "../src/cli/image.js";
import { FormatError, ValueError, WasmgradError, data, io, nn, optim, tensor, zeros } from "../src/index.js";
import { Inflater } from "../src/inflate.js";

const RUNS = 300;

/** Runs f; returns the error it threw (or null). */
function caught(f: () => unknown): unknown {
  try {
    f();
    return null;
  } catch (e) {
    return e;
  }
}

describe("parsers: any bytes load or fail with their documented error", () => {
  it("safetensors: FormatError (or ValueError for a non-byte input), nothing else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const e = caught(() => io.decodeSafetensors(bytes, "prop"));
        expect(e === null || e instanceof FormatError).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("safetensors headers built from arbitrary JSON: FormatError or a load", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (json) => {
        const h = new TextEncoder().encode(JSON.stringify(json));
        const b = new Uint8Array(8 + h.length);
        new DataView(b.buffer).setUint32(0, h.length, true);
        b.set(h, 8);
        const e = caught(() => io.decodeSafetensors(b, "prop"));
        expect(e === null || e instanceof FormatError, String(e)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("IDX files, plain and gzipped: FormatError (or a ValueError about maxBytes) or a load", () => {
    const idxLike = fc.tuple(
      fc.constantFrom(1, 2, 3),
      fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 3, maxLength: 3 }),
      fc.uint8Array({ maxLength: 200 }),
    );
    fc.assert(
      fc.property(idxLike, fc.boolean(), ([nd, dims, body], gz) => {
        const head = new Uint8Array(4 + 4 * nd);
        const v = new DataView(head.buffer);
        v.setUint32(0, 0x0800 + nd);
        for (let i = 0; i < nd; i++) v.setUint32(4 + 4 * i, dims[i]);
        const plain = new Uint8Array([...head, ...body]);
        const bytes = gz ? new Uint8Array(gzipSync(plain)) : plain;
        const e = caught(() => data.parseIdxFile(bytes, "prop.idx", nd));
        expect(e === null || e instanceof FormatError || e instanceof ValueError, String(e)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("images (PNG/PGM signatures followed by anything): a decode or a one-line format error", () => {
    const prefix = fc.constantFrom(
      Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
      new TextEncoder().encode("P5\n"),
      new TextEncoder().encode("P2\n"),
    );
    fc.assert(
      fc.property(prefix, fc.uint8Array({ maxLength: 200 }), (p, rest) => {
        const e = caught(() => decodeImage(new Uint8Array([...p, ...rest]), "prop"));
        expect(e === null || (e instanceof Error && e.name === "ImageFormatError"), String(e)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("the decompressor against node:zlib", () => {
  it("inflates what zlib deflates, byte for byte", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 0, max: 9 }), (plain, level) => {
        const z = new Uint8Array(deflateSync(plain, { level }));
        const out = new Uint8Array(plain.length + 1);
        const inf = new Inflater(z, "zlib", "prop");
        expect(inf.read(out)).toBe(plain.length);
        expect(out.subarray(0, plain.length)).toEqual(plain);
      }),
      { numRuns: RUNS },
    );
  });

  it("a corrupted stream gives zlib's output or a FormatError, never something else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 500 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (plain, at, flip) => {
        const z = new Uint8Array(deflateSync(plain));
        z[at % z.length] ^= flip;
        let expected: Uint8Array | null = null;
        try {
          expected = new Uint8Array(inflateSync(z));
        } catch {
          expected = null;
        }
        const out = new Uint8Array(4096);
        const e = caught(() => {
          const n = new Inflater(z, "zlib", "prop").read(out);
          if (expected !== null) expect(out.subarray(0, n)).toEqual(expected.subarray(0, n));
        });
        if (expected === null) expect(e).toBeInstanceOf(FormatError);
        else expect(e).toBeNull();
      }),
      { numRuns: RUNS },
    );
  });
});

describe("argument checks", () => {
  const key = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => /^[A-Za-z_]\w*$/.test(k));
  const apis: [string, readonly string[], (o: object) => unknown][] = [
    ["tensor", ["dtype", "requiresGrad", "backend", "shape"], (o) => tensor([1, 2], o)],
    ["zeros", ["dtype", "requiresGrad", "backend"], (o) => zeros([2], o)],
    ["nn.Linear", ["bias"], (o) => new nn.Linear(2, 2, o)],
    [
      "optim.SGD",
      ["lr", "momentum", "dampening", "weightDecay", "nesterov", "maximize"],
      (o) => new optim.SGD(new nn.Linear(1, 1).parameters(), { lr: 0.1, ...o }),
    ],
    ["optim.Adam", ["lr", "betas", "eps", "weightDecay", "amsgrad", "maximize"], (o) => new optim.Adam(new nn.Linear(1, 1).parameters(), o)],
    ["nn.CrossEntropyLoss", ["weight", "ignoreIndex", "reduction", "labelSmoothing"], (o) => new nn.CrossEntropyLoss(o)],
  ];
  it.each(apis)("%s rejects any unknown option key, naming it", (_, allowed, call) => {
    fc.assert(
      fc.property(
        key.filter((k) => !allowed.includes(k)),
        (k) => {
          const e = caught(() => call({ [k]: 1 }));
          expect(e).toBeInstanceOf(ValueError);
          expect((e as Error).message).toContain(`'${k}'`);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("Tensor methods reject any number of extra arguments; never a non-library error", () => {
    const x = tensor([
      [1, 2],
      [3, 4],
    ]);
    const methods = ["sum", "mean", "exp", "relu", "softmax", "reshape", "transpose", "matmul", "add", "max", "clone", "flatten"] as const;
    fc.assert(
      fc.property(fc.constantFrom(...methods), fc.array(fc.anything(), { minLength: 4, maxLength: 8 }), (m, args) => {
        const e = caught(() => (x[m] as (...a: unknown[]) => unknown).apply(x, args));
        expect(e).toBeInstanceOf(WasmgradError);
      }),
      { numRuns: RUNS },
    );
  });
});
