// Decompression and parse bombs (test/helpers/bombs.ts), small enough to run with every test:
// each gzip path, the PNG and PGM decoders and the size limits reject them with their documented
// error, and decompress no more than the data's own header allows. The full-size versions, with
// the peak RSS of each, are `npm run attack:bombs` (test/long/bombs.ts).
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FormatError, ValueError, data, datasets, setBackend } from "../src/index.js";
import { ImageFormatError, decodeImage, encodePng } from "../src/cli/image.js";
import { describe as describeError } from "../src/cli/main.js";
import { predictCommand } from "../src/cli/predict.js";
import { LABELS_FOR_TWO, idxDeclaring, idxHonestImages, idxHonestLabels, idxPrefixBomb, pgmBomb, pngBomb, runBombChild } from "./helpers/bombs.js";
import type { BombTask } from "./helpers/bomb-child.js";
import { watchAllocations } from "./helpers/fuzz.js";
import { idxBytes } from "./helpers/idx.js";

setBackend("wasm");

/** 256 KiB of empty stored blocks, an 18-byte IDX file, then 256 MiB of zeros: 0.5 MB of gzip. */
const EMPTY_BLOCKS = Math.ceil((256 << 10) / 5);
const BOMB_ZEROS = 256 << 20;
const PREFIX_ERROR = /: the gzip data decompresses to more than the 18 bytes its header declares$/;

let dir: string;
let bomb: Uint8Array;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "wasmgrad-bombs-"));
  bomb = idxPrefixBomb(EMPTY_BLOCKS, BOMB_ZEROS);
  const write = (sub: string, images: Uint8Array, labels: Uint8Array, gz = true) => {
    mkdirSync(join(dir, sub));
    writeFileSync(join(dir, sub, `t10k-images-idx3-ubyte${gz ? ".gz" : ""}`), images);
    writeFileSync(join(dir, sub, `t10k-labels-idx1-ubyte${gz ? ".gz" : ""}`), labels);
  };
  write("prefix", bomb, LABELS_FOR_TWO);
  write("tiny", idxBytes([2, 28, 28], new Uint8Array(2 * 784)), LABELS_FOR_TWO, false);
  writeFileSync(join(dir, "png-bomb.png"), pngBomb(BOMB_ZEROS));
  writeFileSync(join(dir, "tiny.png"), encodePng(new Uint8Array(784), 28, 28));
});

async function thrown(f: () => unknown): Promise<Error> {
  try {
    await f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error");
}

describe("gzip: a header behind empty stored blocks, then far more data than it declares", () => {
  it("is rejected at the declared size by every gzip path, allocating no more than that", async () => {
    for (const [what, load] of [
      ["data.parseIdxFile", () => data.parseIdxFile(bomb, "bomb.gz", 3)],
      ["MNIST from bytes", () => new datasets.MNIST({ images: bomb, labels: LABELS_FOR_TWO })],
      ["MNIST from a root", () => new datasets.MNIST({ root: join(dir, "prefix"), train: false })],
    ] as [string, () => unknown][]) {
      const { error, watch } = watchAllocations(load);
      expect(error, what).toBeInstanceOf(FormatError);
      expect((error as Error).message, what).toMatch(PREFIX_ERROR);
      expect(watch.maxBytes, `${what}: ${watch.maxWhat}`).toBeLessThan(1 << 17);
    }
    const url = (b: Uint8Array) => `data:application/octet-stream;base64,${Buffer.from(b).toString("base64")}`;
    const e = await thrown(() => datasets.MNIST.fromUrls({ images: url(bomb), labels: url(LABELS_FOR_TWO) }));
    expect(e).toBeInstanceOf(FormatError);
    expect(e.message).toMatch(PREFIX_ERROR);
    const p = await thrown(() =>
      predictCommand(["model.safetensors", "--idx", join(dir, "prefix", "t10k-images-idx3-ubyte.gz"), "--index", "0"], () => undefined),
    );
    expect(describeError(p).message).toMatch(
      /^FormatError: .*t10k-images-idx3-ubyte\.gz: the gzip data decompresses to more than the 18 bytes its header declares$/,
    );
  });

  it("takes no more memory than loading a valid file, in every gzip path and the PNG decoder (peak RSS of a child process)", () => {
    const png = join(dir, "png-bomb.png");
    const images = join(dir, "prefix", "t10k-images-idx3-ubyte.gz");
    const labels = join(dir, "prefix", "t10k-labels-idx1-ubyte.gz");
    const tasks = (bombs: boolean): BombTask[] => {
      const sub = join(dir, bombs ? "prefix" : "tiny");
      const img = bombs ? images : join(sub, "t10k-images-idx3-ubyte");
      const lbl = bombs ? labels : join(sub, "t10k-labels-idx1-ubyte");
      return [
        { api: "parseIdxFile", file: img, dims: 3 },
        { api: "MNIST-root", root: sub, train: false },
        { api: "MNIST-bytes", images: img, labels: lbl },
        { api: "MNIST-urls", images: img, labels: lbl },
        { api: "predict", args: ["--idx", img, "--index", "0"] },
        { api: "predict", args: [bombs ? png : join(dir, "tiny.png")] },
      ];
    };
    const base = runBombChild(tasks(false));
    expect(base.outcomes.map((o) => o.ok)).toEqual([true, true, true, true, true, true]);
    const run = runBombChild(tasks(true));
    for (const o of run.outcomes.slice(0, 5)) expect(o.result).toMatch(PREFIX_ERROR);
    expect(run.outcomes[5].result).toMatch(/png-bomb\.png: PNG image data decompresses to more than the 2 bytes/);
    // Each bomb expands to 256 MiB.
    console.log(`bombs: peak RSS ${run.peakRssMiB.toFixed(0)} MiB, valid files ${base.peakRssMiB.toFixed(0)} MiB`);
    expect(run.peakRssMiB - base.peakRssMiB).toBeLessThan(64);
  });
});

describe("PNG: the image data may inflate only to what the IHDR implies; chunk CRCs are checked", () => {
  it("a 1×1 PNG whose IDAT inflates to 1 MiB", () => {
    const png = pngBomb(1 << 20);
    const { error, watch } = watchAllocations(() => decodeImage(png, "one.png"));
    expect(error).toBeInstanceOf(ImageFormatError);
    expect((error as Error).message).toBe("one.png: PNG image data decompresses to more than the 2 bytes a 1×1 grayscale image needs (1 row of 1 + 1 bytes)");
    expect(watch.maxBytes).toBeLessThan(1 << 17);
  });

  it("a chunk whose CRC does not match: the chunk and its byte offset", () => {
    const png = encodePng(
      Uint8Array.from({ length: 784 }, (_, i) => i),
      28,
      28,
    );
    expect(decodeImage(png, "ok.png").width).toBe(28);
    for (const [at, chunk, offset] of [
      [29, "IHDR", 8],
      [45, "IDAT", 33],
      [png.length - 1, "IEND", png.length - 12],
    ] as const) {
      const bad = png.slice();
      bad[at] ^= 0x10;
      expect(() => decodeImage(bad, "bad.png")).toThrow(
        new RegExp(`^bad\\.png: PNG chunk ${chunk} at byte ${offset} is corrupt: its CRC is 0x[0-9a-f]{8}, its contents give 0x[0-9a-f]{8}$`),
      );
    }
  });
});

describe("PGM: a header number of 300,000 digits", () => {
  it("is a FormatError naming the byte, not a stack overflow", () => {
    const e = (() => {
      try {
        decodeImage(pgmBomb(300_000), "long.pgm");
      } catch (err) {
        return err as Error;
      }
    })();
    expect(e).toBeInstanceOf(ImageFormatError);
    expect(e!.message).toBe("long.pgm: PGM header number at byte 3 is too large (more than 9 digits)");
    expect(describeError(e).message).toBe("long.pgm: PGM header number at byte 3 is too large (more than 9 digits)");
  });
});

describe("maxBytes: the most a gzipped IDX file may decompress to", () => {
  const images = idxHonestImages(2000); // declares 1,568,016 bytes
  const labels = idxHonestLabels(2000);

  it("an honest header over the limit is a ValueError that says how to raise it; at the limit it loads", async () => {
    const raise =
      /^(.*): its header declares 1568016 bytes \(1\.5 MiB\) of data, more than maxBytes, the 1048576 bytes \(1\.0 MiB\) gzip data may decompress to; if you trust the file, raise the limit: \{ maxBytes: 1568016 \} \(data\.parseIdxFile, datasets\.MNIST\) or --max-bytes 1568016 \(wasmgrad predict\)$/;
    const { error, watch } = watchAllocations(() => data.parseIdxFile(images, "big.gz", 3, { maxBytes: 1 << 20 }));
    expect(error).toBeInstanceOf(ValueError);
    expect((error as Error).message).toMatch(raise);
    expect(watch.maxBytes).toBeLessThan(1 << 17);
    expect(data.parseIdxFile(images, "big.gz", 3, { maxBytes: 1568016 }).dims).toEqual([2000, 28, 28]);
    expect(() => new datasets.MNIST({ images, labels, maxBytes: 1 << 20 })).toThrow(raise);
    expect(new datasets.MNIST({ images, labels, maxBytes: 1568016 }).length).toBe(2000);
    mkdirSync(join(dir, "honest"));
    writeFileSync(join(dir, "honest", "t10k-images-idx3-ubyte.gz"), images);
    writeFileSync(join(dir, "honest", "t10k-labels-idx1-ubyte.gz"), labels);
    expect(() => new datasets.MNIST({ root: join(dir, "honest"), train: false, maxBytes: 1 << 20 })).toThrow(raise);
    const url = (b: Uint8Array) => `data:application/octet-stream;base64,${Buffer.from(b).toString("base64")}`;
    expect((await thrown(() => datasets.MNIST.fromUrls({ images: url(images), labels: url(labels) }, { maxBytes: 1 << 20 }))).message).toMatch(raise);
    // Plain files are read as they are.
    expect(data.parseIdxFile(idxBytes([3, 28, 28], new Uint8Array(3 * 784)), "plain", 3, { maxBytes: 1 }).dims).toEqual([3, 28, 28]);
    for (const bad of [0, -1, 1.5, "1e6", null]) {
      expect(() => data.parseIdxFile(images, "big.gz", 3, { maxBytes: bad as number })).toThrow(
        /^parseIdxFile: maxBytes must be a positive integer \(bytes\), got /,
      );
      expect(() => new datasets.MNIST({ images, labels, maxBytes: bad as number })).toThrow(/^MNIST: maxBytes must be a positive integer \(bytes\), got /);
    }
    expect(() => data.parseIdxFile(images, "big.gz", 3, { maxBytes: 1 << 20, other: 1 } as object)).toThrow(/unknown option 'other'/);
  });

  it("the default (256 MiB) stops 350,000 declared images (274 MB) in 270 KB of gzip", () => {
    const big = idxHonestImages(350_000);
    expect(big.length).toBeLessThan(300_000);
    const { error, watch } = watchAllocations(() => data.parseIdxFile(big, "350k.gz", 3));
    expect(error).toBeInstanceOf(ValueError);
    expect((error as Error).message).toMatch(
      /^350k\.gz: its header declares 274400016 bytes \(261\.7 MiB\) of data, more than maxBytes, the 268435456 bytes \(256\.0 MiB\) gzip data may decompress to; .*--max-bytes 274400016/,
    );
    expect(watch.maxBytes).toBeLessThan(1 << 17);
  });

  it("a declared size over 4 GiB, with the limit raised, says that one array cannot hold it", () => {
    const huge = idxDeclaring(5_500_000, 4_200_000); // declares 4,312,000,016 bytes
    const e = (() => {
      try {
        data.parseIdxFile(huge, "huge.gz", 3, { maxBytes: 2 ** 33 });
      } catch (err) {
        return err as Error;
      }
    })();
    expect(e).toBeInstanceOf(ValueError);
    expect(e!.message).toBe(
      "huge.gz: its header declares 4312000016 bytes (4.0 GiB) of data; one array holds at most 4294967296 bytes (4 GiB), so the file cannot be loaded whole",
    );
    expect(() => data.parseIdxFile(huge, "huge.gz", 3)).toThrow(/more than maxBytes/);
  });

  it("wasmgrad predict --max-bytes", async () => {
    writeFileSync(join(dir, "big-images.gz"), images);
    const args = ["model.safetensors", "--idx", join(dir, "big-images.gz"), "--index", "0"];
    const e = await thrown(() => predictCommand([...args, "--max-bytes", "1000000"], () => undefined));
    expect(describeError(e).message).toMatch(/^ValueError: .*big-images\.gz: its header declares 1568016 bytes .* --max-bytes 1568016 \(wasmgrad predict\)$/);
    // Raised, the IDX file loads and predict goes on to the (missing) model.
    const next = await thrown(() => predictCommand([...args, "--max-bytes", "1568016"], () => undefined));
    expect(describeError(next).message).toMatch(/^model file not found: model\.safetensors$/);
    for (const bad of ["0", "-5", "1.5", "lots"]) {
      const u = await thrown(() => predictCommand([...args, "--max-bytes", bad], () => undefined));
      expect(describeError(u)).toEqual({ message: `predict: --max-bytes expects an integer ≥ 1, got '${bad}'`, code: 2 });
    }
  });
});
