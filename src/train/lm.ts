// Language-model training as nanoGPT's train.py does it: random windows of the training tokens,
// AdamW with nanoGPT's parameter groups, linear warmup then cosine decay of the learning rate,
// gradient clipping, a periodic estimate of train and validation loss on random batches, and
// checkpoints (weights, optimizer, step, generator) that a later run resumes from. Shared by
// examples/gpt.ts, `wasmgrad train --model gpt` and the playground's worker.
import { ValueError } from "../errors.js";
import type { GPT } from "../models/gpt.js";
import { randomWindows } from "../data/text.js";
import { noGrad } from "../lifetime.js";
import { type Generator, defaultGenerator } from "../random.js";
import { clipGradNorm_ } from "../nn/utils.js";
import { loadCheckpoint, saveCheckpoint } from "../io/checkpoint.js";
import { checkArgCount, checkFiniteNumber, checkInt, checkOptions, describe } from "../check.js";

/** nanoGPT's get_lr: linear warmup to lr, cosine decay to minLr at decaySteps, then minLr. */
export function cosineWarmupLr(step: number, o: { lr: number; minLr: number; warmupSteps: number; decaySteps: number }): number {
  checkArgCount("cosineWarmupLr", arguments, 2);
  if (step < o.warmupSteps) return (o.lr * (step + 1)) / (o.warmupSteps + 1);
  if (step > o.decaySteps) return o.minLr;
  const ratio = (step - o.warmupSteps) / Math.max(1, o.decaySteps - o.warmupSteps);
  return o.minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (o.lr - o.minLr);
}

/** Mean loss over `iters` random batches of each split (eval mode, no gradients), nanoGPT's estimate_loss. */
export function estimateLoss(
  model: GPT,
  splits: Record<string, Int32Array>,
  options: { iters: number; batchSize: number; generator?: Generator },
): Record<string, number> {
  checkArgCount("estimateLoss", arguments, 3);
  checkOptions("estimateLoss", options, ["iters", "batchSize", "generator"]);
  checkInt("estimateLoss", "iters", options.iters, 1);
  checkInt("estimateLoss", "batchSize", options.batchSize, 1);
  if (splits === null || typeof splits !== "object")
    throw new ValueError(`estimateLoss: splits must be an object of name → Int32Array, got ${describe(splits)}`);
  for (const [name, ids] of Object.entries(splits)) {
    if (!(ids instanceof Int32Array) || ids.length < 2)
      throw new ValueError(`estimateLoss: split ${name} must be an Int32Array of at least 2 token ids, got ${describe(ids)}`);
  }
  const g = options.generator ?? defaultGenerator;
  const T = model.config.blockSize;
  const wasTraining = model.training;
  model.eval();
  try {
    const out: Record<string, number> = {};
    for (const [name, ids] of Object.entries(splits)) {
      let sum = 0;
      for (let i = 0; i < options.iters; i++) {
        sum += noGrad(() => {
          const [x, y] = randomWindows(ids, Math.min(T, ids.length - 1), options.batchSize, g);
          return model.forward(x, y)[1]!.item();
        });
      }
      out[name] = sum / options.iters;
    }
    return out;
  } finally {
    model.train(wasTraining);
  }
}

/** Options of trainGpt (nanoGPT's train.py settings, camelCased). */
export interface TrainGptOptions {
  /** training and validation token ids */
  train: Int32Array;
  val: Int32Array;
  /** optimizer steps in all (a resumed run counts the steps already taken) */
  steps: number;
  batchSize: number;
  /** peak learning rate (default 1e-3) */
  lr?: number;
  /** final learning rate of the cosine decay (default lr / 10) */
  minLr?: number;
  warmupSteps?: number;
  weightDecay?: number;
  betas?: [number, number];
  /** clip the gradient norm to this (0: off; default 1) */
  gradClip?: number;
  /** estimate the losses every evalInterval steps and at the end (default 250) */
  evalInterval?: number;
  /** batches per loss estimate (default 20) */
  evalIters?: number;
  /** random windows and dropout (default: the global generator) */
  generator?: Generator;
  /** a checkpoint file written at every evaluation (null: none) */
  checkpoint?: string | null;
  /** continue from `checkpoint` if the file exists */
  resume?: boolean;
  /** after every step */
  onStep?: (info: { step: number; loss: number; lr: number; tokensPerSec: number }) => void;
  /** after every loss estimate */
  onEval?: (info: { step: number; train: number; val: number; seconds: number }) => void;
  /** checked before every step: true stops the run early (e.g. a Stop button) */
  shouldStop?: () => boolean;
}

const OPTION_KEYS = [
  "train",
  "val",
  "steps",
  "batchSize",
  "lr",
  "minLr",
  "warmupSteps",
  "weightDecay",
  "betas",
  "gradClip",
  "evalInterval",
  "evalIters",
  "generator",
  "checkpoint",
  "resume",
  "onStep",
  "onEval",
  "shouldStop",
] as const;

/** What trainGpt returns: the step reached, every loss estimate and the training time. */
export interface TrainGptResult {
  step: number;
  evals: { step: number; train: number; val: number; seconds: number }[];
  seconds: number;
}

/** Trains `model` as nanoGPT's train.py (see the top of this file); returns the loss estimates. */
export function trainGpt(model: GPT, options: TrainGptOptions): TrainGptResult {
  checkArgCount("trainGpt", arguments, 2);
  checkOptions("trainGpt", options, OPTION_KEYS);
  const o = options;
  for (const k of ["train", "val"] as const) {
    if (!(o[k] instanceof Int32Array)) throw new ValueError(`trainGpt: ${k} must be an Int32Array of token ids, got ${describe(o[k])}`);
    if (o[k].length < 2) throw new ValueError(`trainGpt: ${k} has ${o[k].length} tokens, too few for one window`);
  }
  checkInt("trainGpt", "steps", o.steps, 0);
  checkInt("trainGpt", "batchSize", o.batchSize, 1);
  const lr = o.lr ?? 1e-3;
  const minLr = o.minLr ?? lr / 10;
  const warmupSteps = o.warmupSteps ?? 100;
  const gradClip = o.gradClip ?? 1;
  const evalInterval = o.evalInterval ?? 250;
  const evalIters = o.evalIters ?? 20;
  checkFiniteNumber("trainGpt", "lr", lr, 0);
  checkFiniteNumber("trainGpt", "minLr", minLr, 0);
  checkInt("trainGpt", "warmupSteps", warmupSteps, 0);
  checkFiniteNumber("trainGpt", "gradClip", gradClip, 0);
  checkInt("trainGpt", "evalInterval", evalInterval, 1);
  checkInt("trainGpt", "evalIters", evalIters, 1);
  const g = o.generator ?? defaultGenerator;
  const optimizer = model.configureOptimizers({ lr, weightDecay: o.weightDecay ?? 0.1, betas: o.betas ?? [0.9, 0.95] });
  const T = model.config.blockSize;
  const evals: TrainGptResult["evals"] = [];
  let step = 0;
  let seconds = 0;
  if (o.resume && o.checkpoint) {
    const info = tryResume(o.checkpoint, model, optimizer, g);
    if (info !== null) {
      step = info.step;
      evals.push(...info.evals);
      seconds = info.seconds;
    }
  }
  // Loss estimates are not counted in `seconds` (training time only).
  const estimate = () => {
    const l = estimateLoss(model, { train: o.train, val: o.val }, { iters: evalIters, batchSize: o.batchSize, generator: g });
    const e = { step, train: l.train, val: l.val, seconds };
    evals.push(e);
    o.onEval?.(e);
    if (o.checkpoint) saveCheckpoint(o.checkpoint, { model, optimizer, step, rng: g, extra: { evals, seconds } });
  };
  const params = model.parameters(); // walked once, not every step
  model.train();
  while (step < o.steps) {
    if (o.shouldStop?.()) break;
    const t0 = performance.now();
    const rate = cosineWarmupLr(step, { lr, minLr, warmupSteps, decaySteps: o.steps });
    for (const group of optimizer.paramGroups) group.options.lr = rate;
    const [x, y] = randomWindows(o.train, Math.min(T, o.train.length - 1), o.batchSize, g);
    const [, loss] = model.forward(x, y);
    optimizer.zeroGrad();
    loss!.backward();
    if (gradClip > 0) clipGradNorm_(params, gradClip);
    optimizer.step();
    const value = loss!.item();
    const tokens = x.size;
    x.dispose();
    y.dispose();
    const dt = (performance.now() - t0) / 1000;
    seconds += dt;
    step++;
    o.onStep?.({ step, loss: value, lr: rate, tokensPerSec: tokens / dt });
    if (!Number.isFinite(value)) throw new ValueError(`trainGpt: the loss is ${value} at step ${step} (lower lr, or check the data)`);
    if (step % evalInterval === 0 || step === o.steps) estimate();
  }
  return { step, evals, seconds };
}

/** The run a checkpoint holds, or null if the file does not exist yet. */
function tryResume(path: string, model: GPT, optimizer: ReturnType<GPT["configureOptimizers"]>, g: Generator) {
  let info: ReturnType<typeof loadCheckpoint>;
  try {
    info = loadCheckpoint(path, { model, optimizer, rng: g });
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return null;
    throw e;
  }
  const extra = info.extra as { evals?: unknown; seconds?: unknown } | null;
  const evals = Array.isArray(extra?.evals) ? (extra.evals as TrainGptResult["evals"]) : [];
  const seconds = typeof extra?.seconds === "number" ? extra.seconds : 0;
  return { step: info.step, evals, seconds };
}
