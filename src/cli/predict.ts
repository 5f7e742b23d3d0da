// wasmgrad predict: classifies PNG/PGM files (any size: inverted if the background is light,
// the digit scaled into 20×20 and centred by mass in 28×28, as MNIST was made) or IDX samples.
import { existsSync, readFileSync } from "node:fs";
import { data, noGrad, tensor } from "wasmgrad";
import { CliError, Flags, type OptionSpec, USAGE, parseFlags } from "./args.js";
import { loadModelFile, requireFile, setupBackend } from "./common.js";
import { decodeImage } from "./image.js";
import { normalizePixels, toMnist28 } from "./preprocess.js";

export const PREDICT_OPTIONS: OptionSpec = {
  model: { type: "string" },
  idx: { type: "string" },
  index: { type: "string" },
  labels: { type: "string" },
  "max-bytes": { type: "string" },
  top: { type: "string" },
  backend: { type: "string" },
  threads: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

export const PREDICT_HELP = `Usage: wasmgrad predict MODEL.safetensors IMAGE... [flags]
       wasmgrad predict MODEL.safetensors --idx IMAGES-IDX --index N[,M,A-B]

Classifies digits with a saved model. IMAGE: PNG (8-bit gray, gray+alpha, RGB, RGBA or palette,
not interlaced) or PGM (P2/P5), any size: a light background is inverted, the digit is scaled into
20×20 and centred in 28×28 like MNIST. 28×28 images are used as they are.

  --idx FILE           an IDX image file (e.g. t10k-images-idx3-ubyte, plain or .gz)
  --index LIST         samples of --idx: 7 or 0,5,9 or 0-9
  --labels FILE        IDX labels to show the true class (default: the matching *-labels-idx1-ubyte)
  --max-bytes N        the most a gzipped IDX file may decompress to (default 268435456, 256 MiB)
  --top K              also list the K most likely classes (default 3)
  --model mlp|cnn|speedrun   the model type, if the file does not say
  --backend wasm|js    --threads N
  --json               one JSON object per line instead of text`;

interface Input {
  name: string;
  pixels: Uint8Array;
  label?: number;
  note?: string;
}

/** "7", "0,5,9", "0-9" → indices, each checked against n. */
export function parseIndexList(spec: string, n: number): number[] {
  const out: number[] = [];
  for (const part of spec.split(",")) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (m === null) throw new CliError(`predict: --index expects N, N,M or A-B, got '${spec}'`, USAGE);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new CliError(`predict: --index range ${part.trim()} is backwards`, USAGE);
    if (b >= n) throw new CliError(`predict: --index ${b} is out of range: the IDX file has ${n} images (0–${n - 1})`, USAGE);
    if (b - a >= 100_000) throw new CliError(`predict: --index range ${part.trim()} is too long`, USAGE);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

function readIdx(path: string, dims: number, what: string, maxBytes: number | undefined) {
  requireFile(path, what);
  return data.parseIdxFile(new Uint8Array(readFileSync(path)), path, dims, { maxBytes });
}

export async function predictCommand(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<void> {
  const { values, positionals } = parseFlags("predict", argv, PREDICT_OPTIONS);
  const flags = new Flags("predict", values);
  if (flags.bool("help")) {
    out(`${PREDICT_HELP}\n`);
    return;
  }
  if (positionals.length === 0) throw new CliError("predict: missing the model file (wasmgrad predict MODEL.safetensors IMAGE...)", USAGE);
  const [modelPath, ...images] = positionals;
  const idxPath = flags.str("idx");
  if (idxPath === undefined && (flags.has("index") || flags.has("labels"))) throw new CliError("predict: --index and --labels need --idx FILE", USAGE);
  if (images.length === 0 && idxPath === undefined) throw new CliError("predict: give image files or --idx FILE --index N", USAGE);
  if (idxPath !== undefined && !flags.has("index")) throw new CliError("predict: --idx needs --index N (e.g. --index 0 or --index 0-9)", USAGE);
  const top = flags.num("top", 3, { int: true, min: 1, max: 10 });
  const maxBytes = flags.has("max-bytes") ? flags.num("max-bytes", 0, { int: true, min: 1 }) : undefined;
  const json = flags.bool("json");

  // Read every input first, so a bad file fails before any work.
  const inputs: Input[] = [];
  for (const path of images) {
    requireFile(path, "image");
    const img = decodeImage(new Uint8Array(readFileSync(path)), path);
    const p = toMnist28(img);
    const notes = [
      img.width !== 28 || img.height !== 28 ? `${img.width}×${img.height} → 28×28` : "",
      p.inverted ? "inverted" : "",
      p.blank ? "no ink found" : "",
    ].filter(Boolean);
    inputs.push({ name: path, pixels: p.pixels, note: notes.join(", ") || undefined });
  }
  if (idxPath !== undefined) {
    const idx = readIdx(idxPath, 3, "--idx file", maxBytes);
    const [n, h, w] = idx.dims;
    if (h !== 28 || w !== 28) throw new CliError(`${idxPath}: images are ${h}×${w}, the models take 28×28`);
    const indices = parseIndexList(flags.str("index")!, n);
    let labelsPath = flags.str("labels");
    const guess = idxPath.replace(/images([-.])idx3/, "labels$1idx1");
    if (labelsPath === undefined && guess !== idxPath && existsSync(guess)) labelsPath = guess;
    const labels = labelsPath === undefined ? null : readIdx(labelsPath, 1, "--labels file", maxBytes);
    if (labels !== null && labels.dims[0] !== n) throw new CliError(`${labelsPath}: ${labels.dims[0]} labels for ${n} images in ${idxPath}`);
    for (const i of indices) inputs.push({ name: `${idxPath}#${i}`, pixels: idx.data.slice(i * 784, (i + 1) * 784), label: labels?.data[i] });
  }

  setupBackend(flags);
  const { model, file } = loadModelFile(modelPath, flags);
  const x = new Float32Array(inputs.length * 784);
  inputs.forEach((inp, i) => normalizePixels(inp.pixels, file.mean, file.std, x, i * 784));
  const xt = tensor(x, { shape: [inputs.length, 784] });
  const probs = noGrad(() => model(xt).softmax(-1).toArray());
  xt.dispose();

  const width = Math.max(...inputs.map((i) => i.name.length));
  inputs.forEach((inp, i) => {
    const p = probs.slice(i * 10, i * 10 + 10);
    const ranked = p.map((v, c) => [c, v] as const).sort((a, b) => b[1] - a[1]);
    const [pred, conf] = ranked[0];
    if (json) {
      out(`${JSON.stringify({ input: inp.name, prediction: pred, probability: conf, probabilities: p, label: inp.label, note: inp.note })}\n`);
      return;
    }
    const truth = inp.label === undefined ? "" : `  (true ${inp.label}${inp.label === pred ? "" : " ✗"})`;
    const others = ranked
      .slice(1, top)
      .map(([c, v]) => `${c} ${(100 * v).toFixed(1)}%`)
      .join(", ");
    out(
      `${inp.name.padEnd(width)}  ${pred}  ${(100 * conf).toFixed(1).padStart(5)}%${truth}${others ? `   next: ${others}` : ""}${inp.note ? `   [${inp.note}]` : ""}\n`,
    );
  });
}
