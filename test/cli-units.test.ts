// Pieces of the command line in process: the PNG/PGM decoders against an independent encoder
// (test/cli-fixtures.ts), MNIST-style preprocessing, the progress bar, flag and index parsing.
import { describe, expect, it } from "vitest";
import { CliError, Flags, parseFlags } from "../src/cli/args.js";
import { ImageFormatError, decodeImage, decodePng, encodePgm, encodePng } from "../src/cli/image.js";
import { parseIndexList } from "../src/cli/predict.js";
import { normalizePixels, toMnist28 } from "../src/cli/preprocess.js";
import { ProgressBar, formatDuration } from "../src/cli/progress.js";
import { interpretModelFile } from "../src/cli/modelfile.js";
import { transforms } from "wasmgrad";
import { mnistTest, pgmP2, pgmP5, pngFixture, upscaledInvertedRgb } from "./cli-fixtures.js";

const { images } = mnistTest();
const digit = images.subarray(7 * 784, 8 * 784);
const asBytes = (d: ArrayLike<number>) => Array.from(d, (v) => Math.round(v));

describe("image decoding", () => {
  it("PNG: gray, gray+alpha, RGB, RGBA and palette, all five row filters, two IDAT chunks", () => {
    // A 31×5 gradient with structure in both directions, so every filter has work to do.
    const w = 31,
      h = 5;
    const gray = Uint8Array.from({ length: w * h }, (_, i) => (i * 37 + (i % w) * 11) & 0xff);
    expect(asBytes(decodePng(pngFixture(gray, w, h, 0), "g").data)).toEqual([...gray]);
    const ga = new Uint8Array(w * h * 2);
    gray.forEach((v, i) => ga.set([v, 255], 2 * i));
    expect(asBytes(decodePng(pngFixture(ga, w, h, 4), "ga").data)).toEqual([...gray]);
    const rgb = new Uint8Array(w * h * 3);
    gray.forEach((v, i) => rgb.set([v, v, v], 3 * i));
    expect(asBytes(decodePng(pngFixture(rgb, w, h, 2), "rgb").data)).toEqual([...gray]);
    const rgba = new Uint8Array(w * h * 4);
    gray.forEach((v, i) => rgba.set([v, v, v, 255], 4 * i));
    const img = decodePng(pngFixture(rgba, w, h, 6), "rgba");
    expect([img.width, img.height]).toEqual([w, h]);
    expect(asBytes(img.data)).toEqual([...gray]);
    const palette = Uint8Array.from({ length: 768 }, (_, i) => Math.floor(i / 3));
    expect(asBytes(decodePng(pngFixture(gray, w, h, 3, { palette }), "p").data)).toEqual([...gray]);
    // Colours weigh as BT.601 luminance.
    expect(asBytes(decodePng(pngFixture(Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255]), 3, 1, 2), "c").data)).toEqual([76, 150, 29]);
  });

  it("PNG alpha: dark ink on transparent → over white; light ink on transparent → over black", () => {
    const dark = new Uint8Array(4 * 4 * 4);
    for (let i = 0; i < 16; i++) dark.set(i === 5 ? [0, 0, 0, 255] : [0, 0, 0, 0], 4 * i);
    expect(asBytes(decodePng(pngFixture(dark, 4, 4, 6), "d").data)[5]).toBe(0);
    expect(asBytes(decodePng(pngFixture(dark, 4, 4, 6), "d").data)[0]).toBe(255);
    const light = new Uint8Array(4 * 4 * 4);
    for (let i = 0; i < 16; i++) light.set(i === 5 ? [255, 255, 255, 255] : [255, 255, 255, 0], 4 * i);
    expect(asBytes(decodePng(pngFixture(light, 4, 4, 6), "l").data)[5]).toBe(255);
    expect(asBytes(decodePng(pngFixture(light, 4, 4, 6), "l").data)[0]).toBe(0);
  });

  it("PGM P5 and P2 (comments, maxval scaling); our encoders round-trip", () => {
    expect(asBytes(decodeImage(pgmP5(digit, 28, 28), "p5").data)).toEqual([...digit]);
    expect(asBytes(decodeImage(pgmP2(digit, 28, 28), "p2").data)).toEqual([...digit]);
    const p2 = decodeImage(pgmP2(digit, 28, 28, 15), "p2-15");
    expect(Math.max(...p2.data)).toBe(255);
    expect(asBytes(decodeImage(encodePgm(digit, 28, 28), "ours").data)).toEqual([...digit]);
    expect(asBytes(decodeImage(encodePng(digit, 28, 28), "ours").data)).toEqual([...digit]);
  });

  it("rejects what it cannot read with a message naming the file", () => {
    const bad: [Uint8Array, RegExp][] = [
      [new TextEncoder().encode("GIF89a"), /^x: not a PNG or PGM/],
      [pngFixture(digit, 28, 28, 0, { interlace: true }), /^x: interlaced PNG is not supported/],
      [pngFixture(digit, 28, 28, 0, { depth: 16 }), /^x: 16-bit PNG is not supported/],
      [pngFixture(digit, 28, 28, 0).subarray(0, 50), /^x: PNG (chunk IDAT at byte \d+ runs past the end|is truncated)/],
      [pngFixture(digit, 28, 28, 3), /^x: palette PNG without a PLTE chunk/],
      [new TextEncoder().encode("P5\n28 28\n255\n\x00\x01"), /^x: PGM data is truncated/],
      [new TextEncoder().encode("P2\n2 1\n255\n1 x"), /^x: malformed PGM/],
    ];
    for (const [bytes, message] of bad) {
      expect(() => decodeImage(bytes, "x")).toThrow(ImageFormatError);
      expect(() => decodeImage(bytes, "x")).toThrow(message);
    }
  });
});

describe("MNIST-style preprocessing", () => {
  it("28×28 images pass through; larger ones are inverted, boxed into 20×20 and centred by mass", () => {
    expect([...toMnist28({ width: 28, height: 28, data: digit }).pixels]).toEqual([...digit]);
    const big = upscaledInvertedRgb(digit, 4);
    const gray = new Float32Array(big.size * big.size);
    for (let i = 0; i < gray.length; i++) gray[i] = big.samples[3 * i];
    const p = toMnist28({ width: big.size, height: big.size, data: gray });
    expect(p.inverted).toBe(true);
    expect(p.blank).toBe(false);
    // Ink box at most 20×20, centre of mass within a pixel of the middle.
    let mass = 0,
      cx = 0,
      cy = 0,
      x0 = 28,
      x1 = -1,
      y0 = 28,
      y1 = -1;
    p.pixels.forEach((v, i) => {
      const x = i % 28,
        y = Math.floor(i / 28);
      mass += v;
      cx += v * x;
      cy += v * y;
      if (v > 0) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    });
    expect(Math.max(x1 - x0 + 1, y1 - y0 + 1)).toBe(20);
    expect(Math.abs(cx / mass - 13.5)).toBeLessThanOrEqual(1);
    expect(Math.abs(cy / mass - 13.5)).toBeLessThanOrEqual(1);
    expect(Math.max(...p.pixels)).toBe(255);
    expect(toMnist28({ width: 50, height: 40, data: new Float32Array(2000).fill(255) }).blank).toBe(true);
  });

  it("normalizePixels gives the same float32 bits as Compose([ToTensor(), Normalize()])", () => {
    const t = new transforms.Compose([new transforms.ToTensor(), new transforms.Normalize([0.1307], [0.3081])]);
    const expected = t.apply({ data: digit, shape: [28, 28] }).data;
    expect([...normalizePixels(digit)]).toEqual([...expected]);
  });
});

describe("command-line helpers", () => {
  it("progress bar: bar, counts, rate, loss and ETA on a terminal; nothing otherwise", () => {
    const written: string[] = [];
    let t = 0;
    const bar = new ProgressBar("Epoch 1/5", 600, { isTTY: true, columns: 100, write: (s) => written.push(s) }, undefined, () => t);
    t = 2000;
    bar.update(300, { loss: 0.51234, samplesPerSec: 15000 });
    expect(written).toHaveLength(1);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the progress bar's escape sequences are the point
    expect(written[0]).toMatch(/^\rEpoch 1\/5 █+░+ {2}50% {2}300\/600 {2}15,000 samples\/s {2}loss 0\.5123 {2}ETA 2\.0s\x1b\[K$/);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: as above
    expect(written[0].replace(/\x1b\[K|\r/g, "").length).toBeLessThanOrEqual(99);
    bar.update(301, {}); // throttled
    expect(written).toHaveLength(1);
    bar.clear();
    expect(written[1]).toBe("\r\x1b[2K");
    const silent: string[] = [];
    const quiet = new ProgressBar("Epoch 1/5", 600, { isTTY: false, write: (s) => silent.push(s) });
    quiet.update(10, {}, true);
    quiet.clear();
    expect(silent).toEqual([]);
    expect([formatDuration(4.25), formatDuration(42), formatDuration(125), formatDuration(NaN)]).toEqual(["4.3s", "42s", "2m05s", "--"]);
  });

  it("flags: unknown flags, missing values, bad numbers and choices are one-line usage errors", () => {
    const spec = { epochs: { type: "string" as const }, resume: { type: "boolean" as const } };
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(CliError);
        expect((e as CliError).code).toBe(2);
        return (e as Error).message;
      }
      throw new Error("no error");
    };
    expect(err(() => parseFlags("train", ["--epoch", "3"], spec))).toBe("train: unknown flag --epoch (did you mean --epochs?) (see wasmgrad train --help)");
    expect(err(() => parseFlags("train", ["--epochs"], spec))).toBe("train: --epochs needs a value (see wasmgrad train --help)");
    expect(err(() => parseFlags("train", ["--resume=1"], spec))).toBe("train: --resume takes no value (see wasmgrad train --help)");
    const f = new Flags("train", parseFlags("train", ["--epochs", "2.5"], spec).values);
    expect(err(() => f.num("epochs", 1, { int: true, min: 1 }))).toBe("train: --epochs expects an integer ≥ 1, got '2.5'");
    expect(f.num("epochs", 1)).toBe(2.5);
    expect(err(() => f.choice("epochs", ["a", "b"], "a"))).toBe("train: --epochs expects a | b, got '2.5'");
    expect(parseIndexList("0,5,7-9", 10)).toEqual([0, 5, 7, 8, 9]);
    expect(err(() => parseIndexList("3-1", 10))).toMatch(/backwards/);
    expect(err(() => parseIndexList("x", 10))).toMatch(/--index expects/);
  });

  it("model files: metadata, key shapes, checkpoints and the tutorial's nn.Sequential", () => {
    const t = { shape: [1], data: new Float32Array(1), dtype: "F32" };
    expect(interpretModelFile({ "fc1.weight": t, "fc3.weight": t }, {}, "f").kind).toBe("mlp");
    expect(interpretModelFile({ "conv1.weight": t, "bn1.weight": t }, {}, "f").kind).toBe("cnn");
    expect(interpretModelFile({ "conv1.weight": t, "conv2.weight": t }, {}, "f").kind).toBe("speedrun"); // no batch norm
    expect(interpretModelFile({ "conv1.weight": t }, { "wasmgrad.model": "speedrun" }, "f").kind).toBe("speedrun");
    expect(interpretModelFile({ x: t }, { "wasmgrad.model": "cnn", "wasmgrad.normalize": "0.5,0.25" }, "f")).toMatchObject({
      kind: "cnn",
      mean: 0.5,
      std: 0.25,
      source: "metadata",
    });
    const seq = interpretModelFile({ "0.weight": t, "0.bias": t, "2.weight": t, "4.weight": t }, {}, "f");
    expect(seq).toMatchObject({ kind: "mlp", mean: 0.5, std: 0.5 });
    expect(Object.keys(seq.stateDict)).toEqual(["fc1.weight", "fc1.bias", "fc2.weight", "fc3.weight"]);
    const ck = interpretModelFile({ "model.fc1.weight": t, "model.fc3.weight": t, "optimizer.0.exp_avg": t }, { format: "wasmgrad.checkpoint" }, "f");
    expect(Object.keys(ck.stateDict)).toEqual(["fc1.weight", "fc3.weight"]);
    expect(() => interpretModelFile({ w: t }, {}, "f.safetensors")).toThrow(/f\.safetensors: cannot tell which model .* pass --model mlp, cnn or speedrun/);
  });
});
