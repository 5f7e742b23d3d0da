// torch.optim.lr_scheduler: StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, OneCycleLR,
// ReduceLROnPlateau. Same formulas, defaults and call order as PyTorch:
//
//   const scheduler = new optim.lrScheduler.StepLR(optimizer, { stepSize: 30, gamma: 0.1 });
//   for (...) { ...; optimizer.step(); scheduler.step(); }      // ReduceLROnPlateau: step(valLoss)
//
// A scheduler writes each parameter group's `options.lr` (and, for OneCycleLR, `momentum` or
// `betas[0]`). Like PyTorch it remembers each group's starting lr in the group itself, as
// `options.initialLr` (PyTorch's `initial_lr`), so it travels with optimizer.stateDict().
//
// The chainable schedulers (StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR) compute the new
// lr from the group's current lr exactly as torch's get_lr() does — CosineAnnealingLR with its
// recursive form, not the closed form — so the float64 sequences match torch's step by step.
// OneCycleLR is not chainable in torch either: it computes every lr from the phase table.
//
// Checked against torch 2.13.0: the lr (and momentum) sequences of every scheduler here, over
// several parameter groups, are bitwise equal to torch's. Where we differ on purpose:
//   - no `last_epoch` constructor argument: resume a schedule with loadStateDict() (or
//     io.loadCheckpoint); no `epoch` argument to step() (deprecated in torch).
//   - OneCycleLR: stepping past totalSteps throws without advancing lastEpoch (torch advances it,
//     then raises); settings that make torch divide by zero (a phase of length 0) throw a ValueError.
//   - ReduceLROnPlateau is a class of its own (in torch a subclass of LRScheduler that skips its
//     constructor); its step() takes the metric as a number or a one-element tensor.
//
// stateDict() returns plain JSON (camelCase versions of the attributes torch's state_dict() holds:
// lastEpoch, baseLrs, lastLr, the hyperparameters, ...); io.saveCheckpoint stores it in the
// checkpoint's metadata. Non-finite numbers (ReduceLROnPlateau's initial `best` = ±∞) are stored as
// the strings "Infinity", "-Infinity", "NaN", which JSON cannot hold as numbers.
import { ValueError } from "../errors.js";
import { Tensor } from "../tensor.js";
import type { Optimizer } from "./optimizer.js";
import { checkArgCount } from "../check.js";
import {
  type HyperSpec,
  type HyperValues,
  bool,
  finite,
  inRange,
  nonNegative,
  nonNegativeInt,
  nullable,
  oneOf,
  perGroupNumbers,
  positiveInt,
  resolveHyper,
  sortedInts,
} from "./hyper.js";

/** Any optimizer, whatever its options type. */
// biome-ignore lint/suspicious/noExplicitAny: any optimizer, whatever its options type
export type AnyOptimizer = Optimizer<any>;

/** The parameter-group options a scheduler reads and writes (besides the optimizer's own). */
interface GroupOptions {
  lr: number;
  initialLr?: number;
  maxLr?: number;
  minLr?: number;
  maxMomentum?: number;
  baseMomentum?: number;
  momentum?: number;
  betas?: [number, number];
  [key: string]: unknown;
}

/** A number or one per parameter group (PyTorch's `float or list`). */
export type PerGroup = number | readonly number[];

/** JSON-safe number: ±Infinity and NaN become strings. */
export type JsonNumber = number | "Infinity" | "-Infinity" | "NaN";

/** A number for a JSON state: Infinity and NaN as strings. */
export function encodeNumber(x: number): JsonNumber {
  checkArgCount("encodeNumber", arguments, 1);
  if (Number.isFinite(x)) return x;
  return Number.isNaN(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity";
}

/** The number encodeNumber wrote; throws a ValueError naming `what` otherwise. */
export function decodeNumber(x: unknown, what: string): number {
  checkArgCount("decodeNumber", arguments, 2);
  if (typeof x === "number") return x;
  if (x === "Infinity") return Infinity;
  if (x === "-Infinity") return -Infinity;
  if (x === "NaN") return NaN;
  throw new ValueError(`${what}: expected a number, got ${JSON.stringify(x)}`);
}

function groupsOf(optimizer: AnyOptimizer): GroupOptions[] {
  return optimizer.paramGroups.map((g) => g.options as GroupOptions);
}

function perGroup(owner: string, name: string, optimizer: AnyOptimizer, value: PerGroup): number[] {
  const n = optimizer.paramGroups.length;
  if (typeof value === "number") return Array.from({ length: n }, () => value);
  if (!Array.isArray(value) || value.length !== n) {
    throw new ValueError(`${owner}: ${name} must be a number or one number per parameter group (${n}), got ${JSON.stringify(value)}`);
  }
  return [...value];
}

function checkOptimizer(owner: string, optimizer: unknown): asserts optimizer is AnyOptimizer {
  const groups = (optimizer as AnyOptimizer | null)?.paramGroups;
  if (!Array.isArray(groups) || groups.some((g) => typeof g?.options?.lr !== "number")) {
    throw new ValueError(`${owner}: expected an optimizer (with paramGroups), got ${String(optimizer)}`);
  }
}

function checkFinite(owner: string, name: string, value: number, min = -Infinity): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw new ValueError(`${owner}: invalid ${name} ${value} (expected a finite number${min > -Infinity ? ` ≥ ${min}` : ""})`);
  }
}

function metricValue(owner: string, metric: number | Tensor): number {
  if (metric instanceof Tensor) return metric.item();
  if (typeof metric !== "number") throw new ValueError(`${owner}.step: expected a number or a one-element tensor, got ${typeof metric}`);
  return metric;
}

/** What every scheduler's stateDict() holds (plus its own fields). */
export interface SchedulerState {
  /** The class name, checked by loadStateDict. */
  type: string;
  lastEpoch: number;
  lastLr: number[];
  [key: string]: unknown;
}

/** The state of an LRScheduler (everything but ReduceLROnPlateau). */
export interface LRSchedulerState extends SchedulerState {
  baseLrs: number[];
}

/**
 * torch.optim.lr_scheduler.LRScheduler: the base of the epoch/step-driven schedulers.
 *
 * Construction records each group's `initialLr` (if a scheduler has not already) and takes the
 * initial step (lastEpoch -1 → 0), as PyTorch does. To write your own, subclass it, implement
 * getLr() (the lrs for `this.lastEpoch`) and call `this.initialStep()` at the end of your
 * constructor, once your fields are set (TypeScript sets them after super() returns).
 */
export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  /** The class's hyperparameters (saved in the state dict, checked on load). */
  private readonly hyper: HyperSpec;
  private readonly kindName: string;
  /** Epochs (or batches) stepped so far; 0 right after construction. */
  lastEpoch = -1;
  /** Each group's initialLr when the scheduler was made. */
  baseLrs: number[];
  /** True while the constructor's initial step runs (torch's `_is_initial`). */
  protected isInitial = false;
  protected lastLr: number[] = [];

  /**
   * `kind` is the stable name stored as the state's type (class names do not survive
   * minification); `hyper` declares the hyperparameters, resolved here from `options` onto this.
   */
  constructor(optimizer: AnyOptimizer, kind: string, hyper: HyperSpec = {}, options: unknown = {}) {
    checkArgCount("LRScheduler", arguments, 4);
    checkOptimizer(kind, optimizer);
    this.kindName = kind;
    this.hyper = hyper;
    Object.assign(this, resolveHyper(kind, hyper, options));
    this.optimizer = optimizer;
    for (const o of groupsOf(optimizer)) if (o.initialLr === undefined) o.initialLr = o.lr;
    this.baseLrs = groupsOf(optimizer).map((o) => o.initialLr!);
  }

  /** The name stored as the state's `type` and used in messages. */
  protected kind(): string {
    return this.kindName;
  }

  /** The lrs for `this.lastEpoch` (torch's get_lr, the chainable form where torch has one). */
  protected abstract getLr(): number[];

  /** Hyperparameters stored in (and restored from) the state dict, besides the common fields. */
  protected hyperparameters(): Record<string, unknown> {
    return Object.fromEntries(Object.keys(this.hyper).map((k) => [k, (this as unknown as Record<string, unknown>)[k]]));
  }
  /** Checks hyperparameters from a state dict (all of them, before anything changes) and returns their application. */
  protected loadHyperparameters(state: Record<string, unknown>): () => void {
    const picked = Object.fromEntries(
      Object.keys(this.hyper)
        .filter((k) => Object.hasOwn(state, k))
        .map((k) => [k, state[k]]),
    );
    const values = resolveHyper(`${this.kind()}.loadStateDict`, this.hyper, picked);
    return () => {
      Object.assign(this, values);
      this.derive();
    };
  }
  /** Recomputes state derived from the hyperparameters after a load (none by default). */
  protected derive(): void {}

  /** The constructor's step: lastEpoch -1 → 0, lrs set to their starting values. */
  protected initialStep(): void {
    if (this.lastEpoch !== -1) return;
    this.isInitial = true;
    try {
      this.step();
    } finally {
      this.isInitial = false;
    }
  }

  /** Advances one epoch (or batch): call it after optimizer.step(). */
  step(): void {
    checkArgCount("step", arguments, 0);
    this.lastEpoch++;
    const values = this.getLr();
    const groups = groupsOf(this.optimizer);
    groups.forEach((o, i) => (o.lr = values[i]));
    this.lastLr = groups.map((o) => o.lr);
  }

  /** The lrs the scheduler set last, one per parameter group (PyTorch's get_last_lr()). */
  getLastLr(): number[] {
    checkArgCount("getLastLr", arguments, 0);
    return [...this.lastLr];
  }

  /** Plain JSON: everything needed to continue the schedule (the optimizer holds the lrs). */
  stateDict(): LRSchedulerState {
    checkArgCount("stateDict", arguments, 0);
    return {
      type: this.kind(),
      lastEpoch: this.lastEpoch,
      baseLrs: [...this.baseLrs],
      lastLr: [...this.lastLr],
      ...structuredClone(this.hyperparameters()),
    };
  }

  /** Restores a state from stateDict(); checks everything before changing anything. */
  loadStateDict(state: LRSchedulerState): void {
    checkArgCount("loadStateDict", arguments, 1);
    const name = this.kind();
    if (state === null || typeof state !== "object") throw new ValueError(`${name}.loadStateDict: expected an object, got ${String(state)}`);
    if (state.type !== undefined && state.type !== name) throw new ValueError(`${name}.loadStateDict: the state is of a ${String(state.type)}`);
    if (!Number.isSafeInteger(state.lastEpoch) || state.lastEpoch < -1) throw new ValueError(`${name}.loadStateDict: invalid lastEpoch ${state.lastEpoch}`);
    const n = this.optimizer.paramGroups.length;
    for (const key of ["baseLrs", "lastLr"] as const) {
      const v = state[key];
      if (!Array.isArray(v) || v.length !== n || v.some((x) => typeof x !== "number")) {
        throw new ValueError(`${name}.loadStateDict: ${key} must hold one number per parameter group (${n}), got ${JSON.stringify(v)}`);
      }
    }
    const apply = this.loadHyperparameters(state);
    this.lastEpoch = state.lastEpoch;
    this.baseLrs = [...state.baseLrs];
    this.lastLr = [...state.lastLr];
    apply();
  }
}

// ---- StepLR, MultiStepLR, ExponentialLR -------------------------------------------------------

/** StepLR's hyperparameters: stepSize (required), gamma (0.1). */
const STEP = { stepSize: positiveInt(), gamma: finite(0.1) };
/** Options of StepLR: stepSize, the decay period in epochs (steps); gamma, the factor (default 0.1). */
export type StepLROptions = Partial<HyperValues<typeof STEP>> & { stepSize: number };

/** Multiplies each group's lr by gamma every stepSize epochs: lr = initialLr · gamma^⌊epoch/stepSize⌋. */
export class StepLR extends LRScheduler {
  declare stepSize: number;
  declare gamma: number;

  constructor(optimizer: AnyOptimizer, options: StepLROptions) {
    super(optimizer, "StepLR", STEP, options);

    checkArgCount("StepLR", arguments, 2);
    this.initialStep();
  }

  protected getLr(): number[] {
    const groups = groupsOf(this.optimizer);
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return groups.map((o) => o.lr);
    return groups.map((o) => o.lr * this.gamma);
  }
}

/** MultiStepLR's hyperparameters: milestones (required, sorted), gamma (0.1). */
const MULTI_STEP = { milestones: sortedInts(), gamma: finite(0.1) };
/** Options of MultiStepLR: epoch indices at which to decay (a milestone listed k times decays by gamma^k), and gamma. */
export type MultiStepLROptions = { milestones: readonly number[]; gamma?: number };

/** Multiplies each group's lr by gamma when the epoch reaches a milestone. */
export class MultiStepLR extends LRScheduler {
  declare milestones: number[];
  declare gamma: number;

  constructor(optimizer: AnyOptimizer, options: MultiStepLROptions) {
    super(optimizer, "MultiStepLR", MULTI_STEP, options);

    checkArgCount("MultiStepLR", arguments, 2);
    this.initialStep();
  }

  protected getLr(): number[] {
    const groups = groupsOf(this.optimizer);
    let count = 0;
    for (const m of this.milestones) if (m === this.lastEpoch) count++;
    if (count === 0) return groups.map((o) => o.lr);
    return groups.map((o) => o.lr * this.gamma ** count);
  }
}

/** ExponentialLR's hyperparameter: gamma (required), the factor applied every epoch. */
const EXPONENTIAL = { gamma: finite() };
/** Options of ExponentialLR. */
export type ExponentialLROptions = { gamma: number };

/** Multiplies each group's lr by gamma every epoch: lr = initialLr · gamma^epoch. */
export class ExponentialLR extends LRScheduler {
  declare gamma: number;

  constructor(optimizer: AnyOptimizer, options: ExponentialLROptions) {
    super(optimizer, "ExponentialLR", EXPONENTIAL, options);

    checkArgCount("ExponentialLR", arguments, 2);
    this.initialStep();
  }

  protected getLr(): number[] {
    const groups = groupsOf(this.optimizer);
    if (this.isInitial) return groups.map((o) => o.lr);
    return groups.map((o) => o.lr * this.gamma);
  }
}

/** CosineAnnealingLR's hyperparameters: TMax (required), the half period in epochs; etaMin (0), the minimum lr. */
const COSINE = { TMax: positiveInt(), etaMin: finite(0) };
/** Options of CosineAnnealingLR. */
export type CosineAnnealingLROptions = { TMax: number; etaMin?: number };

/**
 * Cosine annealing from each group's initial lr down to etaMin over TMax epochs, computed with
 * torch's recursive (chainable) form
 *   η_{t} = η_min + (η_{t−1} − η_min) · (1 + cos(π t / TMax)) / (1 + cos(π (t−1) / TMax)),
 * which agrees with the closed form η_min + (η_0 − η_min)(1 + cos(π t / TMax))/2 up to rounding.
 * Like torch (no restarts) the lr climbs back up after TMax epochs, with period 2·TMax.
 */
export class CosineAnnealingLR extends LRScheduler {
  declare TMax: number;
  declare etaMin: number;

  constructor(optimizer: AnyOptimizer, options: CosineAnnealingLROptions) {
    super(optimizer, "CosineAnnealingLR", COSINE, options);

    checkArgCount("CosineAnnealingLR", arguments, 2);
    this.initialStep();
  }

  protected getLr(): number[] {
    const groups = groupsOf(this.optimizer);
    const { lastEpoch: e, TMax: T, etaMin } = this;
    if (this.isInitial) return groups.map((o) => o.lr);
    if ((e - 1 - T) % (2 * T) === 0) {
      return groups.map((o, i) => o.lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return groups.map((o) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (o.lr - etaMin) + etaMin);
  }
}

// ---- OneCycleLR ------------------------------------------------------------------------------

type LrKey = "initialLr" | "maxLr" | "minLr";
type MomentumKey = "maxMomentum" | "baseMomentum";

interface Phase {
  endStep: number;
  startLr: LrKey;
  endLr: LrKey;
  startMomentum: MomentumKey;
  endMomentum: MomentumKey;
}

/** Options of OneCycleLR (torch's max_lr, total_steps or epochs × steps_per_epoch, pct_start, ...). */
export interface OneCycleLROptions {
  /** Peak lr, one for all groups or one per group. */
  maxLr: PerGroup;
  /** Steps in the cycle; or give epochs and stepsPerEpoch. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the lr (default 0.3). */
  pctStart?: number;
  /** 'cos' (default) or 'linear'. */
  annealStrategy?: "cos" | "linear";
  /** Cycle SGD's momentum or Adam's beta1 inversely to the lr (default true). */
  cycleMomentum?: boolean;
  /** Momentum at the lr peak (default 0.85). */
  baseMomentum?: PerGroup;
  /** Momentum at the start and end of the cycle (default 0.95). */
  maxMomentum?: PerGroup;
  /** initialLr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** minLr = initialLr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Three phases as in the paper (up, down to initialLr, down to minLr) instead of fastai's two (default false). */
  threePhase?: boolean;
}

/**
 * The 1cycle policy (torch.optim.lr_scheduler.OneCycleLR): call step() after every batch. The lr
 * rises from maxLr/divFactor to maxLr over the first pctStart of totalSteps and anneals to
 * initialLr/finalDivFactor by the end; with cycleMomentum, SGD's momentum (or Adam's beta1) moves
 * the other way between maxMomentum and baseMomentum. The groups get torch's extra keys:
 * options.initialLr, maxLr, minLr, maxMomentum, baseMomentum. Stepping more than totalSteps times
 * throws, as in torch.
 */
export class OneCycleLR extends LRScheduler {
  declare totalSteps: number;
  declare pctStart: number;
  declare annealStrategy: "cos" | "linear";
  declare cycleMomentum: boolean;
  declare threePhase: boolean;
  /** Cycles betas[0] (Adam, AdamW) rather than momentum (SGD). */
  declare useBeta1: boolean;
  protected phases: Phase[];

  constructor(optimizer: AnyOptimizer, options: OneCycleLROptions) {
    checkArgCount("OneCycleLR", arguments, 2);
    checkOptimizer("OneCycleLR", optimizer);
    const o = resolveHyper("OneCycleLR", ONE_CYCLE_OPTIONS, options);
    const { pctStart, annealStrategy, cycleMomentum, baseMomentum, maxMomentum, divFactor, finalDivFactor, threePhase } = o;
    let totalSteps: number;
    if (o.totalSteps !== null) {
      totalSteps = o.totalSteps;
    } else if (o.epochs !== null && o.stepsPerEpoch !== null) {
      totalSteps = o.epochs * o.stepsPerEpoch;
    } else {
      throw new ValueError("OneCycleLR: you must define either totalSteps OR (epochs AND stepsPerEpoch)");
    }
    // torch accepts 0 and negative factors and then computes infinite or negative learning rates.
    if (!(divFactor > 0) || !(finalDivFactor > 0)) {
      throw new ValueError(`OneCycleLR: divFactor and finalDivFactor must be > 0, got ${divFactor} and ${finalDivFactor}`);
    }
    const maxLrs = perGroup("OneCycleLR", "maxLr", optimizer, o.maxLr);
    for (const lr of maxLrs) checkFinite("OneCycleLR", "maxLr", lr, 0);
    let maxMomentums: number[] = [],
      baseMomentums: number[] = [];
    let useBeta1 = false;
    if (cycleMomentum) {
      const defaults = optimizer.defaults as Record<string, unknown>;
      if (!("momentum" in defaults) && !("betas" in defaults)) {
        throw new ValueError("OneCycleLR: optimizer must support momentum or beta1 with the cycleMomentum option enabled");
      }
      useBeta1 = "betas" in defaults;
      maxMomentums = perGroup("OneCycleLR", "maxMomentum", optimizer, maxMomentum);
      baseMomentums = perGroup("OneCycleLR", "baseMomentum", optimizer, baseMomentum);
      for (const m of [...maxMomentums, ...baseMomentums]) checkFinite("OneCycleLR", "momentum", m, 0);
    }
    const phases = oneCyclePhases(totalSteps, pctStart, threePhase);
    // Everything is checked: now write the groups, as torch does before LRScheduler.__init__.
    groupsOf(optimizer).forEach((g, i) => {
      g.initialLr = maxLrs[i] / divFactor;
      g.maxLr = maxLrs[i];
      g.minLr = g.initialLr / finalDivFactor;
      if (cycleMomentum) {
        if (useBeta1) g.betas = [maxMomentums[i], (g.betas as [number, number])[1]];
        else g.momentum = maxMomentums[i];
        g.maxMomentum = maxMomentums[i];
        g.baseMomentum = baseMomentums[i];
      }
    });
    super(optimizer, "OneCycleLR", ONE_CYCLE_STATE, { totalSteps, pctStart, annealStrategy, cycleMomentum, threePhase, useBeta1 });
    this.phases = phases;
    this.initialStep();
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === "cos") {
      const cosOut = Math.cos(Math.PI * pct) + 1;
      return end + ((start - end) / 2.0) * cosOut;
    }
    return (end - start) * pct + start;
  }

  protected getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      throw new ValueError(`OneCycleLR: tried to step ${stepNum} times. The specified number of total steps is ${this.totalSteps}`);
    }
    return groupsOf(this.optimizer).map((g) => {
      let startStep = 0.0;
      for (let i = 0; i < this.phases.length; i++) {
        const phase = this.phases[i];
        const endStep = phase.endStep;
        if (stepNum <= endStep || i === this.phases.length - 1) {
          if (endStep === startStep) {
            throw new ValueError(`OneCycleLR: step ${stepNum} falls in an empty phase (${startStep} to ${endStep}); PyTorch fails here with ZeroDivisionError`);
          }
          const pct = (stepNum - startStep) / (endStep - startStep);
          const lr = this.anneal(g[phase.startLr]!, g[phase.endLr]!, pct);
          if (this.cycleMomentum) {
            const m = this.anneal(g[phase.startMomentum]!, g[phase.endMomentum]!, pct);
            if (this.useBeta1) g.betas = [m, g.betas![1]];
            else g.momentum = m;
          }
          return lr;
        }
        startStep = phase.endStep;
      }
      throw new Error("unreachable");
    });
  }

  override step(): void {
    checkArgCount("step", arguments, 0);
    // torch raises from get_lr() after incrementing last_epoch; keep the count unchanged instead.
    if (this.lastEpoch + 1 > this.totalSteps) {
      throw new ValueError(`OneCycleLR: tried to step ${this.lastEpoch + 1} times. The specified number of total steps is ${this.totalSteps}`);
    }
    super.step();
  }

  protected override derive(): void {
    this.phases = oneCyclePhases(this.totalSteps, this.pctStart, this.threePhase);
  }
}

/** OneCycleLR's options and defaults (torch's keyword arguments, camelCased). */
const ONE_CYCLE_OPTIONS = {
  maxLr: perGroupNumbers(),
  totalSteps: nullable(positiveInt()),
  epochs: nullable(positiveInt()),
  stepsPerEpoch: nullable(positiveInt()),
  pctStart: inRange(0, 1, 0.3),
  annealStrategy: oneOf(["cos", "linear"] as const, "cos"),
  cycleMomentum: bool(true),
  baseMomentum: perGroupNumbers(0.85),
  maxMomentum: perGroupNumbers(0.95),
  divFactor: finite(25),
  finalDivFactor: finite(1e4),
  threePhase: bool(false),
};

/** The hyperparameters OneCycleLR keeps (maxLr, momenta and the like live in the parameter groups). */
const ONE_CYCLE_STATE = {
  totalSteps: positiveInt(),
  pctStart: inRange(0, 1),
  annealStrategy: oneOf(["cos", "linear"] as const),
  cycleMomentum: bool(),
  threePhase: bool(),
  useBeta1: bool(),
};

/** torch's _schedule_phases (end steps are floats: pctStart·totalSteps − 1, ...). */
function oneCyclePhases(totalSteps: number, pctStart: number, threePhase: boolean): Phase[] {
  const phases: Phase[] = threePhase
    ? [
        { endStep: pctStart * totalSteps - 1, startLr: "initialLr", endLr: "maxLr", startMomentum: "maxMomentum", endMomentum: "baseMomentum" },
        { endStep: 2 * pctStart * totalSteps - 2, startLr: "maxLr", endLr: "initialLr", startMomentum: "baseMomentum", endMomentum: "maxMomentum" },
        { endStep: totalSteps - 1, startLr: "initialLr", endLr: "minLr", startMomentum: "maxMomentum", endMomentum: "maxMomentum" },
      ]
    : [
        { endStep: pctStart * totalSteps - 1, startLr: "initialLr", endLr: "maxLr", startMomentum: "maxMomentum", endMomentum: "baseMomentum" },
        { endStep: totalSteps - 1, startLr: "maxLr", endLr: "minLr", startMomentum: "baseMomentum", endMomentum: "maxMomentum" },
      ];
  // torch divides by (endStep − startStep): with a first phase ending at step 0 its constructor
  // fails with ZeroDivisionError; say why instead, before any group is touched.
  if (phases[0].endStep === 0) {
    throw new ValueError(
      `OneCycleLR: pctStart ${pctStart} with totalSteps ${totalSteps} makes the first phase end at step 0 (PyTorch fails with ZeroDivisionError); choose another pctStart or more steps`,
    );
  }
  return phases;
}

// ---- ReduceLROnPlateau -------------------------------------------------------------------------

/** Options of ReduceLROnPlateau (torch's mode, factor, patience, threshold, cooldown, min_lr, eps). */
export interface ReduceLROnPlateauOptions {
  /** 'min' (default): reduce when the metric stops decreasing; 'max': when it stops increasing. */
  mode?: "min" | "max";
  /** new lr = lr · factor (default 0.1; must be < 1). */
  factor?: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** Minimum relative or absolute change that counts as improvement (default 1e-4). */
  threshold?: number;
  /** 'rel' (default): best·(1 ∓ threshold); 'abs': best ∓ threshold. */
  thresholdMode?: "rel" | "abs";
  /** Epochs to wait after a reduction before counting bad epochs again (default 0). */
  cooldown?: number;
  /** Lower bound of the lr, one for all groups or one per group (default 0). */
  minLr?: PerGroup;
  /** A reduction smaller than eps is skipped (default 1e-8). */
  eps?: number;
}

/**
 * Reduces the lr by `factor` when a metric has not improved for more than `patience` epochs
 * (torch.optim.lr_scheduler.ReduceLROnPlateau): call step(valLoss) after validating.
 */
export class ReduceLROnPlateau {
  readonly optimizer: AnyOptimizer;
  declare mode: "min" | "max";
  declare factor: number;
  declare patience: number;
  declare threshold: number;
  declare thresholdMode: "rel" | "abs";
  declare cooldown: number;
  declare eps: number;
  minLrs: number[];
  /** Best metric so far (±Infinity before the first step). */
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  private lastLr: number[];
  private defaultMinLr: number | null;

  constructor(optimizer: AnyOptimizer, options: ReduceLROnPlateauOptions = {}) {
    checkArgCount("ReduceLROnPlateau", arguments, 2);
    checkOptimizer("ReduceLROnPlateau", optimizer);
    Object.assign(this, resolveHyper("ReduceLROnPlateau", PLATEAU, options, ["minLr"]));
    const minLr = options?.minLr ?? 0;
    this.minLrs = perGroup("ReduceLROnPlateau", "minLr", optimizer, minLr);
    for (const m of this.minLrs) checkFinite("ReduceLROnPlateau", "minLr", m, 0);
    this.defaultMinLr = typeof minLr === "number" ? minLr : null;
    this.optimizer = optimizer;
    this.lastLr = groupsOf(optimizer).map((o) => o.lr);
    this.best = this.modeWorse;
  }

  private get modeWorse(): number {
    return this.mode === "min" ? Infinity : -Infinity;
  }

  /** Whether the scheduler is waiting out its cooldown after a reduction. */
  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  /** Whether `a` improves on `best` by more than the threshold. */
  isBetter(a: number, best: number): boolean {
    checkArgCount("isBetter", arguments, 2);
    if (this.mode === "min" && this.thresholdMode === "rel") return a < best * (1.0 - this.threshold);
    if (this.mode === "min") return a < best - this.threshold;
    if (this.thresholdMode === "rel") return a > best * (this.threshold + 1.0);
    return a > best + this.threshold;
  }

  /** One epoch's metric (a number or a one-element tensor such as the validation loss). */
  step(metric: number | Tensor): void {
    checkArgCount("step", arguments, 1);
    const current = metricValue("ReduceLROnPlateau", metric);
    this.lastEpoch += 1;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.inCooldown) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0; // bad epochs in cooldown are ignored
    }
    if (this.numBadEpochs > this.patience) {
      this.reduceLr();
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = groupsOf(this.optimizer).map((o) => o.lr);
  }

  private reduceLr(): void {
    const groups = groupsOf(this.optimizer);
    if (groups.length !== this.minLrs.length) {
      if (this.defaultMinLr === null) {
        throw new ValueError(`ReduceLROnPlateau: the optimizer has ${groups.length} parameter groups, minLr lists ${this.minLrs.length}`);
      }
      this.minLrs = groups.map(() => this.defaultMinLr!);
    }
    groups.forEach((o, i) => {
      const oldLr = o.lr;
      const newLr = Math.max(oldLr * this.factor, this.minLrs[i]);
      if (oldLr - newLr > this.eps) o.lr = newLr;
    });
  }

  /** The lr of each parameter group after the last step (get_last_lr). */
  getLastLr(): number[] {
    checkArgCount("getLastLr", arguments, 0);
    return [...this.lastLr];
  }

  /** Plain JSON: the hyperparameters, counters, best metric and per-group minimum lrs. */
  stateDict(): SchedulerState {
    checkArgCount("stateDict", arguments, 0);
    return {
      type: "ReduceLROnPlateau",
      lastEpoch: this.lastEpoch,
      lastLr: [...this.lastLr],
      ...Object.fromEntries(Object.keys(PLATEAU).map((k) => [k, (this as unknown as Record<string, unknown>)[k]])),
      minLrs: [...this.minLrs],
      defaultMinLr: this.defaultMinLr,
      best: encodeNumber(this.best),
      numBadEpochs: this.numBadEpochs,
      cooldownCounter: this.cooldownCounter,
    };
  }

  /** Restores a state made by stateDict(). */
  loadStateDict(state: SchedulerState): void {
    checkArgCount("loadStateDict", arguments, 1);
    const owner = "ReduceLROnPlateau.loadStateDict";
    if (state === null || typeof state !== "object") throw new ValueError(`${owner}: expected an object, got ${String(state)}`);
    if (state.type !== undefined && state.type !== "ReduceLROnPlateau") throw new ValueError(`${owner}: the state is of a ${String(state.type)}`);
    const s = state as Record<string, unknown>;
    const hyper = resolveHyper(owner, PLATEAU, Object.fromEntries(Object.keys(PLATEAU).map((k) => [k, s[k]])));
    for (const k of ["lastEpoch", "numBadEpochs", "cooldownCounter"] as const) {
      if (!Number.isSafeInteger(s[k]) || (s[k] as number) < 0) throw new ValueError(`${owner}: invalid ${k} ${String(s[k])}`);
    }
    const minLrs = s.minLrs as number[];
    if (!Array.isArray(minLrs) || minLrs.some((x) => typeof x !== "number")) throw new ValueError(`${owner}: invalid minLrs ${JSON.stringify(minLrs)}`);
    const lastLr = s.lastLr as number[];
    if (!Array.isArray(lastLr) || lastLr.some((x) => typeof x !== "number")) throw new ValueError(`${owner}: invalid lastLr ${JSON.stringify(lastLr)}`);
    const best = decodeNumber(s.best, `${owner}: best`);
    const defaultMinLr = s.defaultMinLr;
    if (defaultMinLr !== null && typeof defaultMinLr !== "number") throw new ValueError(`${owner}: invalid defaultMinLr ${String(defaultMinLr)}`);
    Object.assign(this, hyper);
    this.lastEpoch = s.lastEpoch as number;
    this.numBadEpochs = s.numBadEpochs as number;
    this.cooldownCounter = s.cooldownCounter as number;
    this.minLrs = [...minLrs];
    this.defaultMinLr = defaultMinLr;
    this.lastLr = [...lastLr];
    this.best = best;
  }
}

/** ReduceLROnPlateau's hyperparameters (minLr, per group, is handled on its own). */
const PLATEAU = {
  mode: oneOf(["min", "max"] as const, "min"),
  factor: inRange(0, 1, 0.1, true),
  patience: nonNegativeInt(10),
  threshold: finite(1e-4),
  thresholdMode: oneOf(["rel", "abs"] as const, "rel"),
  cooldown: nonNegativeInt(0),
  eps: nonNegative(1e-8),
};

/** Any of the schedulers above. */
export type Scheduler = LRScheduler | ReduceLROnPlateau;
