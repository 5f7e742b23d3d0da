// Early stopping on a validation metric, keeping a copy of the best weights.
//
//   const [trainSet, valSet] = data.randomSplit(dataset, [0.9, 0.1]);
//   const stopper = new train.EarlyStopping({ patience: 3, mode: "min" });
//   for (let epoch = 0; epoch < 100; epoch++) {
//     trainOneEpoch(...);
//     if (stopper.step(validationLoss(model, valSet), model)) break;
//   }
//   stopper.restoreBest(model);
//
// PyTorch has no built-in; the semantics are those of PyTorch Lightning's and Keras's
// EarlyStopping: an epoch improves when the metric beats the best by more than minDelta, and
// training stops after `patience` epochs in a row without improvement.
import { ValueError } from "../errors.js";
import type { Module } from "../nn/module.js";
import { Tensor, emptyTensor } from "../tensor.js";
import { decodeNumber, encodeNumber, type JsonNumber } from "../optim/lr-scheduler.js";
import { checkArgCount, checkOptions } from "../check.js";

/** Options of EarlyStopping: patience, minDelta, mode ("min" or "max"), checkFinite. */
export interface EarlyStoppingOptions {
  /** Epochs in a row without improvement after which step() says stop (default 3). */
  patience?: number;
  /** An improvement must beat the best by more than this (default 0). */
  minDelta?: number;
  /** 'min' (default): lower is better (a loss); 'max': higher is better (an accuracy). */
  mode?: "min" | "max";
  /** Stop at once when the metric is NaN or infinite (default true). */
  checkFinite?: boolean;
}

/** JSON state for checkpoints (the best weights are tensors: save bestWeights separately). */
export interface EarlyStoppingState {
  type: "EarlyStopping";
  patience: number;
  minDelta: number;
  mode: "min" | "max";
  checkFinite: boolean;
  best: JsonNumber;
  bestEpoch: number;
  epoch: number;
  numBadEpochs: number;
  stopped: boolean;
}

/** Stops training when a validation metric stops improving and keeps the best weights (as Lightning's/Keras's EarlyStopping). */
export class EarlyStopping {
  patience: number;
  minDelta: number;
  mode: "min" | "max";
  checkFinite: boolean;
  /** Best metric so far (+∞ for 'min', −∞ for 'max' before the first step). */
  best: number;
  /** Epoch (0-based count of step() calls) of the best metric, −1 before the first improvement. */
  bestEpoch = -1;
  /** Number of step() calls so far. */
  epoch = 0;
  /** Epochs in a row without improvement. */
  numBadEpochs = 0;
  /** Whether step() has said stop. */
  stopped = false;
  private weights: Record<string, Tensor> | null = null;

  constructor(options: EarlyStoppingOptions = {}) {
    checkArgCount("EarlyStopping", arguments, 1);
    checkOptions("EarlyStopping", options, ["patience", "minDelta", "mode", "checkFinite"]);
    const { patience = 3, minDelta = 0, mode = "min", checkFinite = true } = options;
    check(patience, minDelta, mode, "EarlyStopping");
    this.patience = patience;
    this.minDelta = minDelta;
    this.mode = mode;
    this.checkFinite = checkFinite;
    this.best = mode === "min" ? Infinity : -Infinity;
  }

  /** Whether `metric` improves on the best by more than minDelta. */
  isBetter(metric: number): boolean {
    checkArgCount("isBetter", arguments, 1);
    return this.mode === "min" ? metric < this.best - this.minDelta : metric > this.best + this.minDelta;
  }

  /**
   * Records one epoch's validation metric (a number or a one-element tensor). When it improves,
   * copies the model's state dict (parameters and persistent buffers) as the best weights.
   * Returns true when training should stop: `patience` epochs in a row without improvement, or
   * (with checkFinite) a NaN or infinite metric.
   */
  step(metric: number | Tensor, model?: Module): boolean {
    checkArgCount("step", arguments, 2);
    const value = metric instanceof Tensor ? metric.item() : metric;
    if (typeof value !== "number") throw new ValueError(`EarlyStopping.step: expected a number or a one-element tensor, got ${typeof value}`);
    const epoch = this.epoch++;
    if (this.checkFinite && !Number.isFinite(value)) {
      this.numBadEpochs++;
      this.stopped = true;
      return true;
    }
    if (this.isBetter(value)) {
      this.best = value;
      this.bestEpoch = epoch;
      this.numBadEpochs = 0;
      if (model !== undefined) this.snapshot(model);
      return false;
    }
    this.numBadEpochs++;
    if (this.numBadEpochs >= this.patience) this.stopped = true;
    return this.numBadEpochs >= this.patience;
  }

  /**
   * The best weights recorded (persistent copies, keyed like model.stateDict()), or null. Save
   * them with io.saveSafetensors(stopper.bestWeights, path) to keep them across a restart.
   */
  get bestWeights(): Record<string, Tensor> | null {
    return this.weights === null ? null : { ...this.weights };
  }

  /** Copies the best weights back into `model` (strict: same keys and shapes). */
  restoreBest(model: Module): void {
    checkArgCount("restoreBest", arguments, 1);
    if (this.weights === null) {
      throw new ValueError("EarlyStopping.restoreBest: no best weights were recorded (pass the model to step(metric, model))");
    }
    model.loadStateDict(this.weights);
  }

  /** Frees the copy of the best weights. */
  dispose(): void {
    checkArgCount("dispose", arguments, 0);
    if (this.weights !== null) for (const t of Object.values(this.weights)) t.dispose();
    this.weights = null;
  }

  private snapshot(model: Module): void {
    const old = this.weights ?? {};
    const next: Record<string, Tensor> = {};
    for (const [key, t] of Object.entries(model.stateDict())) {
      let copy: Tensor | undefined = old[key];
      if (
        copy === undefined ||
        copy.backend !== t.backend ||
        copy.dtype !== t.dtype ||
        copy.shape.length !== t.shape.length ||
        copy.shape.some((d, i) => d !== t.shape[i])
      ) {
        copy = emptyTensor(t.backend, t.shape, t.dtype, null);
      }
      t.backend.copy(copy.ptr, t.ptr, t.size * 4);
      next[key] = copy;
    }
    for (const [key, t] of Object.entries(old)) if (next[key] !== t) t.dispose();
    this.weights = next;
  }

  /** Plain JSON for checkpoints (without the weights; see bestWeights). */
  stateDict(): EarlyStoppingState {
    checkArgCount("stateDict", arguments, 0);
    return {
      type: "EarlyStopping",
      patience: this.patience,
      minDelta: this.minDelta,
      mode: this.mode,
      checkFinite: this.checkFinite,
      best: encodeNumber(this.best),
      bestEpoch: this.bestEpoch,
      epoch: this.epoch,
      numBadEpochs: this.numBadEpochs,
      stopped: this.stopped,
    };
  }

  /** Restores a state made by stateDict(). */
  loadStateDict(state: EarlyStoppingState): void {
    checkArgCount("loadStateDict", arguments, 1);
    const owner = "EarlyStopping.loadStateDict";
    if (state === null || typeof state !== "object" || state.type !== "EarlyStopping") {
      throw new ValueError(`${owner}: expected the state of an EarlyStopping, got ${JSON.stringify(state)}`);
    }
    check(state.patience, state.minDelta, state.mode, owner);
    for (const k of ["epoch", "numBadEpochs"] as const) {
      if (!Number.isSafeInteger(state[k]) || state[k] < 0) throw new ValueError(`${owner}: invalid ${k} ${state[k]}`);
    }
    if (!Number.isSafeInteger(state.bestEpoch) || state.bestEpoch < -1) throw new ValueError(`${owner}: invalid bestEpoch ${state.bestEpoch}`);
    const best = decodeNumber(state.best, `${owner}: best`);
    Object.assign(this, {
      patience: state.patience,
      minDelta: state.minDelta,
      mode: state.mode,
      checkFinite: state.checkFinite !== false,
      best,
      bestEpoch: state.bestEpoch,
      epoch: state.epoch,
      numBadEpochs: state.numBadEpochs,
      stopped: state.stopped === true,
    });
  }
}

function check(patience: number, minDelta: number, mode: string, owner: string): void {
  if (!Number.isSafeInteger(patience) || patience < 0) throw new ValueError(`${owner}: invalid patience ${patience} (expected an integer ≥ 0)`);
  if (typeof minDelta !== "number" || !Number.isFinite(minDelta) || minDelta < 0) {
    throw new ValueError(`${owner}: invalid minDelta ${minDelta} (expected a finite number ≥ 0)`);
  }
  if (mode !== "min" && mode !== "max") throw new ValueError(`${owner}: mode ${mode} is unknown (expected 'min' or 'max')`);
}
