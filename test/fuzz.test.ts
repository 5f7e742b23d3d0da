// The parsers under seeded random mutation (test/helpers/fuzz.ts): 15,000 mutated IDX,
// safetensors and checkpoint files, each of which must load consistently or throw a documented
// error — no other exception, no hang, no allocation sized by an unchecked length, and (for
// checkpoints) no change at all when the load fails. The long run is `npm run fuzz`.
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { FormatError, datasets, getBackend, io, setBackend } from "../src/index.js";
import {
  type FuzzReport,
  type FuzzTarget,
  BYTE_MUTATORS,
  Rand,
  checkpointTarget,
  idxBytes,
  idxTarget,
  runFuzz,
  safetensorsTarget,
  watchAllocations,
} from "./helpers/fuzz.js";

const CASES = 5000;

function explain(report: FuzzReport): string {
  return report.failures
    .slice(0, 5)
    .map((f) => `case ${f.caseIndex} (${f.seedLabel}, ${f.mutations.join(" + ")}): ${f.problem.slice(0, 600)}`)
    .join("\n");
}

describe("fuzzing the parsers", () => {
  setBackend("wasm");
  const mem0 = process.memoryUsage();
  const heap0 = getBackend().heap.stats();

  const cases: [string, () => FuzzTarget, number][] = [
    ["IDX (datasets.MNIST from bytes, plain and gzip; data.parseIdx)", idxTarget, 11],
    ["safetensors (io.readSafetensors, then loadStateDict)", safetensorsTarget, 12],
    ["checkpoints (io.loadCheckpoint into model, optimizer, scheduler, loader, generator)", checkpointTarget, 13],
  ];
  for (const [what, make, seed] of cases) {
    it(`${what}: ${CASES} mutated files load consistently or throw a documented error`, () => {
      const report = runFuzz(make(), { cases: CASES, seed, maxCaseMs: 1000 });
      expect(report.cases).toBe(CASES);
      expect(report.failures.length, explain(report)).toBe(0);
      // The mutations reach past the first checks: some files still load, and the errors vary.
      expect(report.loaded).toBeGreaterThan(CASES / 100);
      expect(report.messages.size).toBeGreaterThan(20);
      expect(report.errors.FormatError).toBeGreaterThan(CASES / 2);
      expect(report.maxAllocRatio).toBeLessThanOrEqual(1);
    });
  }

  it("leaves no tensors behind and memory bounded", () => {
    const heap = getBackend().heap.stats();
    expect(heap.liveBytes).toBeLessThanOrEqual(heap0.liveBytes + (1 << 20));
    expect(heap.memoryBytes).toBeLessThanOrEqual(Math.max(heap0.memoryBytes, 32 << 20));
    const mem = process.memoryUsage();
    expect(mem.arrayBuffers - mem0.arrayBuffers).toBeLessThan(128 << 20);
    expect(mem.rss - mem0.rss).toBeLessThan(512 << 20);
  });
});

describe("allocation bounds of the parsers", () => {
  setBackend("wasm");
  const labels = idxBytes([1], [3]);

  it("a gzip bomb (64 MiB of zeros behind an IDX header that declares 784 pixels) stops at the declared size", () => {
    const img = new Uint8Array(16 + (64 << 20));
    img.set(idxBytes([1, 28, 28], new Uint8Array(784)).subarray(0, 16));
    const bomb = new Uint8Array(gzipSync(img));
    const { error, watch } = watchAllocations(() => new datasets.MNIST({ images: bomb, labels }));
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toMatch(/^images: the gzip data decompresses to more than the 800 bytes its header declares/);
    expect(watch.maxBytes).toBeLessThan(1 << 20);
  });

  it("an IDX header declaring ~1 TB inside 35 bytes of gzip fails before decompressing", () => {
    const huge = new Uint8Array(gzipSync(idxBytes([60000, 4000, 4000], new Uint8Array(100))));
    const { error, watch } = watchAllocations(() => new datasets.MNIST({ images: huge, labels }));
    expect(error).toBeInstanceOf(FormatError);
    // All of its data fits in the first KiB of output, which the header says is far too short.
    expect((error as Error).message).toMatch(/^images: truncated data: dimensions \[60000, 4000, 4000\]/);
    expect(watch.maxBytes).toBeLessThan(1 << 17); // the decoder's window and tables
  });

  it("a valid gzip IDX file still loads (bounded decompression does not cut real data)", () => {
    const images = idxBytes(
      [2, 28, 28],
      Uint8Array.from({ length: 2 * 784 }, (_, i) => i % 251),
    );
    const ds = new datasets.MNIST({ images: new Uint8Array(gzipSync(images)), labels: new Uint8Array(gzipSync(idxBytes([2], [4, 9]))) });
    expect(ds.length).toBe(2);
    expect(Array.from(ds.targets)).toEqual([4, 9]);
    expect(ds.data[783]).toBe(783 % 251);
  });

  it("safetensors header lengths and offsets far beyond the file allocate nothing", () => {
    const good = io.saveSafetensors({ w: { shape: [2, 2], data: new Float32Array(4) } });
    for (const [lo, hi] of [
      [0xffffffff, 0xffffffff],
      [0, 0x200000],
      [good.length, 0],
    ]) {
      const bad = good.slice();
      new DataView(bad.buffer).setUint32(0, lo, true);
      new DataView(bad.buffer).setUint32(4, hi, true);
      const { error, watch } = watchAllocations(() => io.loadSafetensors(bad));
      expect(error).toBeInstanceOf(FormatError);
      expect(watch.maxBytes).toBeLessThan(4 * good.length + 1024);
    }
    const text = new TextDecoder().decode(good.subarray(8, 8 + new DataView(good.buffer).getUint32(0, true)));
    for (const edit of ['"shape":[4294967295,4294967295]', '"shape":[9007199254740991,2]', '"data_offsets":[0,9007199254740991]']) {
      const header = text
        .replace(/"shape":\[2,2\]/, edit.startsWith('"shape"') ? edit : '"shape":[2,2]')
        .replace(/"data_offsets":\[0,16\]/, edit.startsWith('"data') ? edit : '"data_offsets":[0,16]');
      const enc = new TextEncoder().encode(header);
      const bad = new Uint8Array(8 + enc.length + 16);
      new DataView(bad.buffer).setUint32(0, enc.length, true);
      bad.set(enc, 8);
      const { error, watch } = watchAllocations(() => io.loadSafetensors(bad));
      expect(error, edit).toBeInstanceOf(FormatError);
      expect(watch.maxBytes).toBeLessThan(4096);
    }
  });
});

describe("the fuzz harness can fail", () => {
  // A deliberately careless IDX reader: trusts the header's dims, and indexes without checks.
  const careless: FuzzTarget = {
    ...idxTarget(),
    name: "careless",
    load(b) {
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const n = v.getUint32(4, false);
      const out = new Float32Array(Math.min(n, 1 << 20)); // sized by an unchecked length (capped here at 4 MiB)
      out[0] = b[8 + 4 * b[3]];
      if (b[2] !== 8) throw new TypeError("wrong type"); // not a documented error class
    },
  };

  it("reports undocumented exceptions and allocations sized by unchecked lengths", () => {
    const report = runFuzz(careless, { cases: 300, seed: 1 });
    const problems = report.failures.map((f) => f.problem);
    expect(problems.some((p) => p.startsWith("undocumented error"))).toBe(true);
    expect(problems.some((p) => /^allocated \d+ bytes at once \(new Float32Array/.test(p))).toBe(true);
  });

  it("reports a failed checkpoint load that changed the model", () => {
    const report = runFuzz(checkpointTarget({ halfLoad: true }), { cases: 5, seed: 2 });
    expect(report.failures.length).toBe(5);
    expect(report.failures.every((f) => f.problem.startsWith("a failed loadCheckpoint changed"))).toBe(true);
  });

  it("reports a slow case", () => {
    const slow: FuzzTarget = {
      ...careless,
      load() {
        const t = performance.now();
        while (performance.now() - t < 5);
      },
    };
    const report = runFuzz(slow, { cases: 3, seed: 1, maxCaseMs: 1 });
    expect(report.failures.some((f) => /^took \d+ ms/.test(f.problem))).toBe(true);
  });

  it("mutations are seeded: the same seed gives the same bytes", () => {
    const a = new Rand(5),
      b = new Rand(5);
    const seed = idxBytes([3, 2, 2], new Uint8Array(12));
    for (const m of Object.values(BYTE_MUTATORS)) {
      expect(Array.from(m(seed, a, { headerEnd: 16 }))).toEqual(Array.from(m(seed, b, { headerEnd: 16 })));
    }
  });
});
