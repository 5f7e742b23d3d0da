// The command line end to end, as child processes on small MNIST slices: train writes the model,
// metrics.jsonl and report.html; checkpoints resume to the same weights after a kill -9; eval and
// predict agree with each other and with the labels of known digits (PNG, PGM and IDX inputs);
// bad flags and files give one line on stderr and a non-zero exit code, never a stack trace.
//
// The CLI is bundled from src/ once (wasmgrad from src/ too, so no build is needed); one test
// checks that dist/cli.js — what `npx wasmgrad` runs — is built from the current sources.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as esbuild from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { io, models } from "wasmgrad";
import { assertDistFresh, repoRoot } from "./runtimes/harness.js";
import { mnistTest, pgmP2, pgmP5, pngFixture, upscaledInvertedRgb, writeMnistSlice } from "./cli-fixtures.js";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let cli = "";
let tmp = "";
let slice = "";
const runCli = (args: string[], env: NodeJS.ProcessEnv = {}): Run => {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: tmp, encoding: "utf8", timeout: 120_000, env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const ok = (args: string[]): string => {
  const r = runCli(args);
  if (r.code !== 0) throw new Error(`wasmgrad ${args.join(" ")} exited with ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r.stdout;
};
/** The MLP that "wasmgrad train" writes first; trained here when a test runs on its own. */
const mlpModel = (): string => {
  const model = join(tmp, "run-mlp", "model.safetensors");
  if (!existsSync(model)) ok(["train", "--data", slice, "--epochs", "2", "--batch", "50", "--seed", "1", "--out", join(tmp, "run-mlp")]);
  return model;
};
const readMetrics = (dir: string) =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, number | string>);

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "wasmgrad-cli-"));
  // Inside the repository (test-output/ is gitignored), so `wasmgrad/package.json` resolves.
  const dir = join(repoRoot, "test-output", "cli-test");
  mkdirSync(dir, { recursive: true });
  cli = join(dir, "cli.mjs");
  await esbuild.build({
    entryPoints: [join(repoRoot, "src/cli/bin.ts")],
    outfile: cli,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "es2022",
    // "wasmgrad" and "wasmgrad/bpe" from src/ through the package's own exports
    conditions: ["wasmgrad-source"],
    logLevel: "silent",
  });
  slice = join(tmp, "mnist");
  writeMnistSlice(slice, 2000, 500);
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("wasmgrad train", () => {
  it("writes model.safetensors, metrics.jsonl and a self-contained report.html; eval agrees with the run", () => {
    const out = join(tmp, "run-mlp");
    const stdout = ok([
      "train",
      "--data",
      slice,
      "--epochs",
      "2",
      "--batch",
      "50",
      "--scheduler",
      "step",
      "--gamma",
      "0.5",
      "--log-every",
      "5",
      "--seed",
      "1",
      "--out",
      out,
    ]);
    const lines = stdout.trim().split("\n");
    expect(lines[0]).toMatch(
      /^wasmgrad train: MLP \(109,386 parameters\) on 2000 MNIST images, adam lr 0.001 \(step\), batch 50, 2 epochs, backend wasm, 1 thread$/,
    );
    expect(lines[1]).toMatch(/^Epoch 1\/2 {2}loss \d\.\d{4} {2}train \d+\.\d\d% {2}test \d+\.\d\d% {2}lr 0\.001 {2}\(/);
    expect(lines[2]).toMatch(/^Epoch 2\/2 .* lr 0\.0005 /);
    expect(lines[3]).toMatch(/^Test accuracy: \d+\.\d\d% \(\d+\/500\)/);
    expect(stdout).not.toContain("\r"); // not a terminal: no progress bar

    // metrics.jsonl: 40 steps per epoch, a line every 5 steps, plus one line per epoch.
    const metrics = readMetrics(out);
    const steps = metrics.filter((m) => m.type === "step");
    const epochs = metrics.filter((m) => m.type === "epoch");
    expect(steps).toHaveLength(16);
    expect(epochs).toHaveLength(2);
    expect(steps.map((m) => m.step)).toEqual([5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80]);
    for (const m of metrics) {
      for (const key of ["step", "epoch", "loss", "lr", "accuracy", "samples_per_s"]) expect(typeof m[key], `${key} in ${JSON.stringify(m)}`).toBe("number");
      expect(Number.isFinite(m.loss as number)).toBe(true);
    }
    expect(steps.map((m) => m.lr)).toEqual([...Array(8).fill(0.001), ...Array(8).fill(0.0005)]);
    expect(epochs.map((m) => m.step)).toEqual([40, 80]);
    expect(epochs[1].loss).toBeLessThan(epochs[0].loss as number);
    expect(epochs[1].accuracy).toBeGreaterThan(0.8);

    // report.html: the charts and sections, digit thumbnails inline, nothing fetched from anywhere.
    const html = readFileSync(join(out, "report.html"), "utf8");
    for (const id of ["loss-chart", "accuracy-chart", "lr-chart", "confusion", "misclassified"]) expect(html).toContain(`id="${id}"`);
    expect(html.match(/<svg /g)?.length).toBe(3);
    expect(html).toMatch(/<img src="data:image\/png;base64,[A-Za-z0-9+/=]+"/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toContain("<script src");
    const wrong = Math.round(500 * (1 - (epochs[1].accuracy as number)));
    expect(html).toContain(`${Math.min(wrong, 64)} of ${wrong} misclassified test images`);

    // The weights: PyTorch keys, metadata, and they load into models.MnistMLP.
    const { tensors, metadata } = io.readSafetensors(join(out, "model.safetensors"));
    expect(metadata).toMatchObject({ format: "pt", "wasmgrad.model": "mlp" });
    expect(Object.keys(tensors)).toEqual(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]);
    new models.MnistMLP().loadStateDict(tensors);

    // eval on the same test slice reproduces the run's final accuracy and loss.
    const ev = JSON.parse(ok(["eval", join(out, "model.safetensors"), "--data", slice, "--json"]));
    expect(ev.model).toBe("mlp");
    expect(ev.images).toBe(500);
    expect(ev.accuracy).toBe(epochs[1].accuracy);
    expect(ev.loss).toBeCloseTo(epochs[1].test_loss as number, 6);
    expect(ev.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(500);
    expect(ev.support.reduce((a: number, b: number) => a + b, 0)).toBe(500);

    const text = ok(["eval", join(out, "model.safetensors"), "--data", slice]);
    expect(text).toContain(`Accuracy: ${(100 * ev.accuracy).toFixed(2)}% (${ev.correct}/500)`);
    expect(text).toMatch(/class {2}precision {2}recall {2}support\n/);
    expect(text).toContain("Confusion matrix (rows: true class, columns: predicted)");
    const matrix = text.split("Confusion matrix")[1].trim().split("\n").slice(2);
    expect(matrix).toHaveLength(10);
    expect(matrix.map((row) => row.trim().split(/\s+/).map(Number).slice(1))).toEqual(ev.confusion);
  });

  it("--limit, the CNN, AdamW with one-cycle and augmentation", () => {
    const out = join(tmp, "run-cnn");
    const stdout = ok([
      "train",
      "--data",
      slice,
      "--model",
      "cnn",
      "--limit",
      "256",
      "--batch",
      "64",
      "--epochs",
      "1",
      "--optimizer",
      "adamw",
      "--lr",
      "0.004",
      "--scheduler",
      "onecycle",
      "--augment",
      "--out",
      out,
    ]);
    expect(stdout).toMatch(/^wasmgrad train: CNN \([\d,]+ parameters\) on 256 MNIST images, adamw lr 0.004 \(onecycle\), batch 64, 1 epoch/);
    const steps = readMetrics(out).filter((m) => m.type === "step");
    expect(steps.map((m) => m.step)).toEqual([1, 2, 3, 4]);
    expect(steps[1].lr).toBeGreaterThan(steps[0].lr as number); // one-cycle warms up
    const { tensors, metadata } = io.readSafetensors(join(out, "model.safetensors"));
    expect(metadata["wasmgrad.model"]).toBe("cnn");
    expect(tensors["conv1.weight"].shape).toEqual([32, 1, 3, 3]);
    expect(tensors["bn1.running_mean"].shape).toEqual([32]);
    const ev = JSON.parse(ok(["eval", join(out, "model.safetensors"), "--data", slice, "--limit", "100", "--json"]));
    expect(ev).toMatchObject({ model: "cnn", images: 100 });
  });

  it("resumes from a checkpoint after kill -9 to the same weights and metrics as an uninterrupted run", async () => {
    const common = ["--data", slice, "--limit", "600", "--batch", "50", "--epochs", "2", "--backend", "js", "--log-every", "4", "--scheduler", "cosine"];
    const full = join(tmp, "ck-full");
    ok(["train", ...common, "--out", full]);

    // Killed as soon as its first checkpoint (every 5 steps) is on disk.
    const out = join(tmp, "ck-killed");
    const ckpt = join(tmp, "killed.ckpt");
    const child = spawn(process.execPath, [cli, "train", ...common, "--checkpoint", ckpt, "--checkpoint-every", "5", "--out", out], {
      cwd: tmp,
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    while (!existsSync(ckpt) && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
    child.kill("SIGKILL");
    const code = await exited;
    const resumed = ok(["train", ...common, "--checkpoint", ckpt, "--checkpoint-every", "5", "--resume", "--out", out]);
    const note = resumed.split("\n")[1];
    console.log(`cli resume: killed with exit code ${code}; ${note}`);
    expect(note).toMatch(/^Resumed from .*killed\.ckpt: step \d+, /);
    if (code === null) expect(note).toMatch(/epoch [12] after batch \d+\/12|start of epoch 2/);

    const a = io.loadSafetensors(join(full, "model.safetensors"));
    const b = io.loadSafetensors(join(out, "model.safetensors"));
    for (const k of Object.keys(a)) expect(Buffer.from(b[k].data.buffer).equals(Buffer.from(a[k].data.buffer)), k).toBe(true);
    const strip = (m: Record<string, unknown>) => ({ ...m, samples_per_s: 0, seconds: 0 });
    expect(readMetrics(out).map(strip)).toEqual(readMetrics(full).map(strip));
  });

  it("stops with one line and exit code 3 when the loss becomes NaN", () => {
    const r = runCli(["train", "--data", slice, "--limit", "500", "--optimizer", "sgd", "--lr", "1e6", "--epochs", "1", "--out", join(tmp, "nan")]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /^wasmgrad: training stopped: the loss became (NaN|Infinity) at epoch 1, step \d+ \(lr 1000000\); try a lower --lr or a scheduler\n$/,
    );
  });
});

describe("wasmgrad predict", () => {
  it("classifies PNG, PGM and IDX inputs of known test digits, identically for identical pixels", () => {
    const model = mlpModel();
    const { images, labels } = mnistTest();
    const digit = (i: number) => images.subarray(i * 784, (i + 1) * 784);
    const dir = join(tmp, "digits");
    mkdirSync(dir, { recursive: true });
    const files: [string, number][] = [];
    const add = (name: string, bytes: Uint8Array, i: number) => {
      writeFileSync(join(dir, name), bytes);
      files.push([join(dir, name), i]);
    };
    add("d0-gray.png", pngFixture(digit(0), 28, 28, 0), 0);
    add("d1.pgm", pgmP5(digit(1), 28, 28), 1);
    add("d2-ascii.pgm", pgmP2(digit(2), 28, 28), 2);
    const rgba = new Uint8Array(784 * 4);
    digit(3).forEach((v, p) => rgba.set([v, v, v, 255], 4 * p));
    add("d3-rgba.png", pngFixture(rgba, 28, 28, 6), 3);
    const big = upscaledInvertedRgb(digit(4), 3);
    add("d4-big-white.png", pngFixture(big.samples, big.size, big.size, 2), 4);
    // Palette: 256 gray levels (indices = pixel values).
    add("d0-palette.png", pngFixture(digit(0), 28, 28, 3, { palette: Uint8Array.from({ length: 768 }, (_, i) => Math.floor(i / 3)) }), 0);

    const predicted = ok(["predict", model, ...files.map(([f]) => f), "--json"])
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const fromIdx = ok([
      "predict",
      model,
      "--idx",
      join(slice, "t10k-images-idx3-ubyte.gz"),
      "--index",
      "0-4",
      "--labels",
      join(slice, "t10k-labels-idx1-ubyte.gz"),
      "--json",
    ])
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(fromIdx.map((p) => p.label)).toEqual([...labels.subarray(0, 5)]);
    expect(
      fromIdx.map((p) => p.prediction),
      "the model knows test digits 0-4",
    ).toEqual([...labels.subarray(0, 5)]);
    predicted.forEach((p, k) => {
      const i = files[k][1];
      expect(p.prediction, `${files[k][0]}: digit ${labels[i]}`).toBe(labels[i]);
      // 28×28 inputs are the very pixels of the IDX sample: the same probabilities, bit for bit.
      if (k < 4 || k === 5) expect(p.probabilities, files[k][0]).toEqual(fromIdx[i].probabilities);
    });
    expect(predicted[4].note).toBe("84×84 → 28×28, inverted");

    // Plain text: one line per input, with the true label for IDX samples (auto-found labels file).
    const text = ok(["predict", model, files[0][0], "--idx", join(slice, "t10k-images-idx3-ubyte.gz"), "--index", "1,2"]);
    const rows = text.trim().split("\n");
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(new RegExp(`d0-gray\\.png +${labels[0]} +\\d+\\.\\d%   next: `));
    expect(rows[1]).toMatch(new RegExp(`#1 +${labels[1]} +\\d+\\.\\d%  \\(true ${labels[1]}\\)`));
  });
});

describe("errors: one line on stderr, a non-zero exit code, no stack trace", () => {
  beforeAll(() => {
    writeFileSync(join(tmp, "not-safetensors.bin"), "hello, this is not a tensor file\n");
    writeFileSync(join(tmp, "not-an-image.png"), "GIF89a");
    const digit0 = mnistTest().images.subarray(0, 784);
    writeFileSync(join(tmp, "interlaced.png"), pngFixture(digit0, 28, 28, 0, { interlace: true }));
    writeFileSync(join(tmp, "deep.png"), pngFixture(digit0, 28, 28, 0, { depth: 16 }));
    writeFileSync(join(tmp, "truncated.png"), pngFixture(digit0, 28, 28, 0).subarray(0, 60));
    writeFileSync(join(tmp, "d.pgm"), pgmP5(digit0, 28, 28));
  });

  it.each([
    [["train", "--bogus"], 2, /^wasmgrad: train: unknown flag --bogus \(see wasmgrad train --help\)$/],
    [["train", "--model", "resnet"], 2, /^wasmgrad: train: --model expects mlp \| cnn \| speedrun, got 'resnet'$/],
    [["train", "--epochs", "two"], 2, /^wasmgrad: train: --epochs expects an integer ≥ 1, got 'two'$/],
    [["train", "--lr"], 2, /^wasmgrad: train: --lr needs a value/],
    [["train", "--scheduler", "linear"], 2, /--scheduler expects none \| step \| cosine \| onecycle, got 'linear'/],
    [["train", "--resume"], 2, /--resume and --checkpoint-every need --checkpoint FILE/],
    [["train", "--data", "/no/such/dir"], 1, /^wasmgrad: --data directory not found: \/no\/such\/dir$/],
    [["train", "--data", "."], 1, /^wasmgrad: ValueError: MNIST: train-images-idx3-ubyte \(or train-images-idx3-ubyte\.gz\) not found in \./],
    [["eval"], 2, /^wasmgrad: eval: missing the model file/],
    [["eval", "missing.safetensors"], 1, /^wasmgrad: model file not found: missing\.safetensors$/],
    [["eval", "not-safetensors.bin"], 1, /^wasmgrad: FormatError: not-safetensors\.bin: /],
    [["predict", "missing.safetensors", "x.png"], 1, /^wasmgrad: image not found: x\.png$/],
    [["predict", "MODEL", "not-an-image.png"], 1, /^wasmgrad: not-an-image\.png: not a PNG or PGM \(P2\/P5\) image$/],
    [["predict", "MODEL", "interlaced.png"], 1, /^wasmgrad: interlaced\.png: interlaced PNG is not supported/],
    [["predict", "MODEL", "deep.png"], 1, /^wasmgrad: deep\.png: 16-bit PNG is not supported/],
    [["predict", "MODEL", "truncated.png"], 1, /^wasmgrad: truncated\.png: PNG (chunk|is truncated)/],
    [["predict", "MODEL", "--idx", "not-safetensors.bin", "--index", "0"], 1, /^wasmgrad: FormatError: not-safetensors\.bin: not an IDX file/],
    [["predict", "MODEL", "--idx", "IDX", "--index", "500"], 2, /--index 500 is out of range: the IDX file has 500 images \(0–499\)$/],
    [["predict", "MODEL", "--index", "3"], 2, /--index and --labels need --idx FILE/],
    [["predict", "MODEL", "d.pgm", "--model", "cnn"], 1, /the weights do not fit the cnn model: .*missing keys: conv1\.weight/],
    [["bench", "--quick", "--builtin"], 2, /--quick needs the repository's bench\/all\.ts/],
    [["fit"], 2, /^wasmgrad: unknown command 'fit' \(expected train, eval, predict, bench or generate; see wasmgrad --help\)$/],
  ] as [string[], number, RegExp][])("wasmgrad %j", (args, code, message) => {
    const model = args.includes("MODEL") ? mlpModel() : "";
    const sub = (a: string) => (a === "MODEL" ? model : a === "IDX" ? join(slice, "t10k-images-idx3-ubyte.gz") : a);
    const r = runCli(args.map(sub));
    expect(r.code, r.stderr).toBe(code);
    expect(r.stdout).toBe("");
    expect(r.stderr.endsWith("\n") && r.stderr.split("\n").length === 2, `one line: ${JSON.stringify(r.stderr)}`).toBe(true);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr.trim()).toMatch(message);
  });
});

describe("wasmgrad bench and the published bin", () => {
  it("bench --builtin prints the table", () => {
    const out = ok(["bench", "--builtin", "--steps", "5"]);
    expect(out).toMatch(/^wasmgrad bench \(built-in\): seed MLP/);
    for (const row of ["train samples/s, batch 100", "infer samples/s, batch 1 ", "infer samples/s, batch 1000", "gemm 100×784×128, GFLOP/s"]) {
      expect(out).toContain(row);
    }
    expect(out).toMatch(/\n {3,}wasm .* js +wasm ÷ js\n/);
  });

  it("package.json bin → dist/cli.js, built from the current sources, runs", () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
    expect(pkg.bin).toEqual({ wasmgrad: "./dist/cli.js" });
    assertDistFresh();
    const dist = join(repoRoot, "dist/cli.js");
    expect(readFileSync(dist, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    const r = spawnSync(process.execPath, [dist, "--version"], { encoding: "utf8" });
    expect(r.stdout).toBe(`wasmgrad ${pkg.version}\n`);
    const help = spawnSync(process.execPath, [dist, "train", "--help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: wasmgrad train \[flags\]/);
  });
});

describe("wasmgrad train --model gpt / generate", () => {
  const text = () => {
    const path = join(tmp, "names.txt");
    if (!existsSync(path)) writeFileSync(path, "anna\nbob\ncarla\ndavid\nemma\nfrank\ngreta\nhugo\nida\njan\n".repeat(40));
    return path;
  };
  it("trains on a text file, writes the run directory, and generate streams a sample from it", () => {
    const out = join(tmp, "run-gpt");
    const stdout = ok([
      "train",
      "--model",
      "gpt",
      "--data",
      text(),
      "--steps",
      "40",
      "--eval-interval",
      "20",
      "--eval-iters",
      "2",
      "--block",
      "16",
      "--layers",
      "1",
      "--embd",
      "32",
      "--heads",
      "2",
      "--out",
      out,
    ]);
    expect(stdout).toMatch(/step 40: train loss [\d.]+, val loss [\d.]+/);
    for (const f of ["model.safetensors", "config.json", "tokenizer.json", "metrics.jsonl"]) expect(existsSync(join(out, f)), f).toBe(true);
    const metrics = readMetrics(out);
    expect(metrics.map((m) => m.step)).toEqual([20, 40]);
    expect(Number(metrics[1].train)).toBeLessThan(Number(metrics[0].train));
    const sample = ok(["generate", out, "--prompt", "an", "--tokens", "30", "--seed", "1"]);
    expect(sample.startsWith("an")).toBe(true);
    expect(sample.length).toBeGreaterThanOrEqual(32);
    expect(ok(["generate", out, "--prompt", "an", "--tokens", "30", "--seed", "1"])).toBe(sample);
  });
  it("bad flags and inputs are one line and exit code 2", () => {
    const cases: [string[], RegExp][] = [
      [["train", "--model", "gpt"], /needs --data FILE/],
      [["train", "--model", "gpt", "--data", text(), "--stps", "3"], /unknown flag --stps \(did you mean --steps\?\)/],
      [["train", "--model", "gpt", "--data", text(), "--embd", "10", "--heads", "4"], /--embd 10 must be divisible by --heads 4/],
      [["generate"], /give the run directory/],
    ];
    for (const [args, re] of cases) {
      const r = runCli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    }
    const r = runCli(["generate", join(tmp, "no-such-run")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/run directory not found/);
  });
});
