// Holes an attack run found, each closed at its mechanism: the default collate checks every sample
// against the first; the safetensors writer keeps names like __proto__ as own keys and the reader
// rejects duplicate keys and absurd nesting as FormatErrors; report charts terminate and never
// spread huge arrays into Math.min/max.
import { mkdirSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lineChart, niceTicks } from "../src/cli/report.js";
import { carriedFrom } from "../src/cli/train.js";
import { DataLoader, FileError, FormatError, ValueError, WasmgradError, createBackend, data, io, nn, optim, tensor } from "../src/index.js";

const thrown = (f: () => unknown): Error => {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error");
};

describe("DataLoader's default collate", () => {
  class List<T> extends data.Dataset<T> {
    constructor(private readonly items: T[]) {
      super();
    }
    get length(): number {
      return this.items.length;
    }
    getItem(i: number): T {
      return this.items[i];
    }
  }
  const batch = <T>(items: T[]) => [...new DataLoader(new List(items), { batchSize: items.length })][0];

  it("batches matching samples as before", () => {
    const b = batch([
      [tensor([1, 2]), 3],
      [tensor([4, 5]), 6],
    ]) as unknown as [ReturnType<typeof tensor>, ReturnType<typeof tensor>];
    expect(b[0].toArray()).toEqual([1, 2, 4, 5]);
    expect(b[1].dtype).toBe("int32");
  });

  it("names the sample whose shape, dtype, backend, kind or tuple length differs from sample 0", () => {
    expect(thrown(() => batch([tensor([1, 2, 3]), tensor([1, 2])])).message).toBe(
      "DataLoader: sample 1 of the batch has shape [2], sample 0 [3]; every sample must match sample 0 (or pass a collate function)",
    );
    expect(thrown(() => batch([tensor([1, 2]), tensor([1, 2], { dtype: "int32" })])).message).toMatch(
      /sample 1 of the batch has dtype int32, sample 0 float32/,
    );
    const js = createBackend("js");
    expect(thrown(() => batch([tensor([1]), tensor([1], { backend: js })])).message).toMatch(/sample 1 of the batch is on the js backend, sample 0 on wasm/);
    expect(thrown(() => batch([tensor([1]), 2])).message).toMatch(/sample 1 of the batch is .*, but sample 0 is a Tensor/);
    expect(thrown(() => batch([1, "2"])).message).toMatch(/sample 1 of the batch is .*, but sample 0 is a number/);
    expect(thrown(() => batch([[tensor([1]), 1], [tensor([1])]])).message).toMatch(/sample 1 of the batch is .*, but sample 0 is a tuple of 2/);
    expect(
      thrown(() =>
        batch([
          [tensor([1]), 1],
          [tensor([1, 2]), 1],
        ]),
      ).message,
    ).toMatch(/sample 1 of the batch \(field 0\) has shape \[2\], sample 0 \[1\]/);
    expect(thrown(() => batch([tensor([1]), tensor([1, 2])]))).toBeInstanceOf(ValueError);
  });

  it("numbers beyond int32 become float32, not wrapped", () => {
    const b = batch([3e9, 1]) as unknown as ReturnType<typeof tensor>;
    expect(b.dtype).toBe("float32");
    expect(b.toArray()).toEqual([3e9, 1]);
  });
});

describe("safetensors names and headers", () => {
  it("a tensor named __proto__ (or constructor) is an own key on the way out and on the way back", () => {
    const sd: Record<string, ReturnType<typeof tensor>> = {};
    Object.defineProperty(sd, "__proto__", { value: tensor([1, 2, 3]), enumerable: true });
    sd.constructor = tensor([4]) as never;
    const back = io.loadSafetensors(io.saveSafetensors(sd));
    expect(Object.keys(back).sort()).toEqual(["__proto__", "constructor"]);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Array.from(Object.getOwnPropertyDescriptor(back, "__proto__")!.value.data)).toEqual([1, 2, 3]);
  });

  const file = (header: string) => {
    const h = new TextEncoder().encode(header);
    const b = new Uint8Array(8 + h.length);
    new DataView(b.buffer).setUint32(0, h.length, true);
    b.set(h, 8);
    return b;
  };
  const entry = '{"dtype":"F32","shape":[0],"data_offsets":[0,0]}';

  it("rejects a key given twice in one object, at any level, naming it", () => {
    const e = thrown(() => io.decodeSafetensors(file(`{"w":${entry},"w":${entry}}`), "dup.safetensors"));
    expect(e).toBeInstanceOf(FormatError);
    expect(e.message).toMatch(/^dup\.safetensors: the header \(bytes 8 to \d+\) has the key "w" twice in one object/);
    expect(thrown(() => io.loadSafetensors(file(`{"w":{"dtype":"F32","dtype":"F32","shape":[0],"data_offsets":[0,0]}}`)))).toBeInstanceOf(FormatError);
    // Same key in different objects, or escaped names, are fine.
    expect(Object.keys(io.loadSafetensors(file(`{"a\\"b":${entry},"a\\"c":${entry}}`))).sort()).toEqual(['a"b', 'a"c']);
  });

  it("a shape nested 5,000 deep is a FormatError, not a RangeError", () => {
    const e = thrown(() => io.loadSafetensors(file(`{"w":{"dtype":"F32","shape":${"[".repeat(5000)}${"]".repeat(5000)},"data_offsets":[0,0]}}`)));
    expect(e).toBeInstanceOf(FormatError);
    expect(e.message).toMatch(/nests objects\/arrays more than 32 deep/);
  });
});

describe("report charts", () => {
  it("niceTicks terminates when the range is at the limit of float spacing (and on degenerate ranges)", () => {
    const lo = 1,
      hi = 1 + Number.EPSILON;
    expect(niceTicks(lo, hi)).toEqual([lo, hi]);
    expect(niceTicks(1e300, 1.0000000000000002e300)).toHaveLength(2);
    expect(niceTicks(0, 5e-324)).toHaveLength(2);
    expect(niceTicks(3, 3)).toEqual([3]);
    expect(niceTicks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
  });

  it("draws 200,000 points (a long run) without spreading them into Math.min/max", () => {
    const points: [number, number][] = Array.from({ length: 200_000 }, (_, i) => [i, 1 / (1 + i)]);
    const svg = lineChart("loss", [{ name: "loss", color: "#000", points }], { xLabel: "step", yLabel: "loss", logY: true });
    expect(svg).toMatch(/^<svg id="loss"/);
  });
});

describe("files: typed errors naming the path and the operation; unique temp files removed on failure", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasmgrad-files-"));
  it("reading a missing file or a directory is a FileError with the code", () => {
    const missing = thrown(() => io.loadSafetensors(join(dir, "nope.safetensors")));
    expect(missing).toBeInstanceOf(FileError);
    expect(missing.message).toMatch(/^loadSafetensors\(path\): cannot read .*nope\.safetensors: no such file or directory \(ENOENT\)$/);
    expect((missing as FileError).code).toBe("ENOENT");
    const isDir = thrown(() => io.loadCheckpoint(dir, { model: new nn.Linear(1, 1) }));
    expect(isDir).toBeInstanceOf(FileError);
    expect(isDir.message).toMatch(/cannot read .*: it is a directory \(EISDIR\)/);
  });

  it("writing to a directory or a missing directory is a FileError, and no temp file stays behind", () => {
    const target = join(dir, "sub");
    mkdirSync(target);
    const e = thrown(() => io.saveSafetensors({ w: tensor([1]) }, target));
    expect(e).toBeInstanceOf(FileError);
    expect(e.message).toMatch(/^saveSafetensors\(path\): cannot write .*sub: it is a directory \(EISDIR\)$/);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    const e2 = thrown(() => io.saveSafetensors({ w: tensor([1]) }, join(dir, "no", "such", "dir.safetensors")));
    expect(e2).toBeInstanceOf(FileError);
    expect((e2 as FileError).code).toBe("ENOENT");
  });
});

describe("loadCheckpoint with optimizer buffers named like Object.prototype members", () => {
  it("rejects them before changing anything: the optimizer keeps its momentum and options", () => {
    const model = new nn.Linear(2, 1);
    const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    model(tensor([[1, 2]]))
      .sum()
      .backward();
    opt.step();
    const good = io.encodeCheckpoint({ model, optimizer: opt, epoch: 1, step: 1 });
    const { tensors, metadata } = io.decodeSafetensors(good);
    const before = opt.stateDict();
    for (const bad of ["constructor", "__proto__", "toString", "evil"]) {
      const sd: Record<string, { shape: number[]; data: Float32Array }> = {};
      for (const [k, v] of Object.entries(tensors)) Object.defineProperty(sd, k.replace("momentum_buffer", bad), { value: v, enumerable: true });
      const file = io.encodeSafetensors(sd as never, metadata);
      const e = thrown(() => io.loadCheckpoint(file, { model, optimizer: opt }));
      expect(e, bad).toBeInstanceOf(WasmgradError);
      expect(e.message, bad).toMatch(new RegExp(`unknown state buffer '${bad.replace(/[_]/g, "_")}'`));
      expect(opt.stateDict()).toEqual(before);
    }
    opt.step(); // still usable
  });
});

describe("wasmgrad train --resume", () => {
  it("a checkpoint's extra: null starts fresh figures; strings are an error naming the field", () => {
    expect(carriedFrom(null, "a.ckpt").trainSeconds).toBe(0);
    expect(() => carriedFrom({ runningLoss: "x" }, "a.ckpt")).toThrow(/a\.ckpt: the checkpoint's extra\.runningLoss must be a finite number, got "x"/);
    expect(() => carriedFrom([], "a.ckpt")).toThrow(/extra must be an object/);
  });
});
