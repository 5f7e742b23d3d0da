// Optimizers with parameter groups, PyTorch style. Per-parameter state lives in persistent
// tensors on the parameter's backend; the update itself is one fused kernel per parameter.
import { AnomalyError, BackendMismatchError, DTypeError, OutOfMemoryError, ShapeError, ValueError, shapeStr } from "../errors.js";
import { formatBytes } from "../backend/heap.js";
import { Tensor, emptyTensor } from "../tensor.js";
import { isAnomalyEnabled } from "../autograd.js";
import { describe, checkArgCount } from "../check.js";
import { type HyperSpec, resolveHyper } from "./hyper.js";
import { zeroGradOf, type StateValue } from "../nn/module.js";

/** A parameter group: its parameters and their options (torch's param_groups entries). */
export interface ParamGroup<O> {
  params: Tensor[];
  options: O;
}

/** A group as the user passes it: params plus any options overriding the defaults. */
export type ParamGroupInput<O> = { params: Iterable<Tensor> } & Partial<O>;

/** Parameters to optimize: an iterable of tensors, or groups with options of their own. */
export type ParamsInput<O> = Iterable<Tensor> | ParamGroupInput<O>[];

/** Per-parameter optimizer state: named tensors, per-parameter numbers (NAdam's mu_product) and the step count. */
export interface ParamState {
  step: number;
  buffers: Record<string, Tensor>;
  scalars: Record<string, number>;
}

/**
 * An optimizer's state as PyTorch's optimizer.state_dict(): per-parameter state keyed by the
 * parameter's index (counting through the groups in order), and each group's options with its
 * parameters as indices. Buffers are detached views of the optimizer's memory.
 */
export interface OptimizerStateDict<O = Record<string, unknown>> {
  state: Record<number, { step: number; buffers: Record<string, Tensor>; scalars?: Record<string, number> }>;
  paramGroups: (O & { params: number[] })[];
}

/** What loadStateDict accepts: buffers may be tensors or plain {shape, data} (read from a file). */
export interface OptimizerStateInput<O = Record<string, unknown>> {
  state: Record<number | string, { step: number; buffers: Record<string, StateValue>; scalars?: Record<string, number> }>;
  paramGroups: (Partial<O> & { params: number[] })[];
}

/**
 * The base of the optimizers: parameter groups, per-parameter state, step() with its checks, and
 * stateDict()/loadStateDict(). A subclass declares its hyperparameters once, as `hyper` (see
 * hyper.ts), and implements update() (one fused kernel per parameter).
 */
export abstract class Optimizer<O extends { lr: number }> {
  readonly paramGroups: ParamGroup<O>[] = [];
  readonly state = new Map<Tensor, ParamState>();
  /** The options every group starts from (torch's defaults). */
  readonly defaults: O;

  /**
   * `typeName` is the algorithm's stable name for messages and checkpoints ("SGD", "AdamW", ...):
   * class names do not survive minification.
   */
  constructor(
    params: ParamsInput<O>,
    options: unknown,
    private readonly hyper: HyperSpec,
    readonly typeName: string,
  ) {
    checkArgCount("Optimizer", arguments, 4);
    const name = typeName;
    this.defaults = this.validate(resolveHyper(name, hyper, options) as unknown as O);
    if (params instanceof Tensor)
      throw new ValueError(`${name}: params must be an iterable of tensors (model.parameters()) or of parameter groups, got a single Tensor; pass [tensor]`);
    if (params === null || typeof params !== "object" || typeof (params as Iterable<unknown>)[Symbol.iterator] !== "function") {
      throw new ValueError(`${name}: params must be an iterable of tensors (model.parameters()) or of parameter groups, got ${describe(params)}`);
    }
    const list = Array.from(params as Iterable<Tensor | ParamGroupInput<O>>);
    if (list.length === 0) throw new ValueError(`${name}: got an empty parameter list`);
    if (list[0] instanceof Tensor) this.addParamGroup({ params: list as Tensor[] } as unknown as ParamGroupInput<O>);
    else for (const g of list as ParamGroupInput<O>[]) this.addParamGroup(g);
  }

  /** Adds a group of parameters with its own option overrides (torch's add_param_group). */
  addParamGroup(group: ParamGroupInput<O>): void {
    checkArgCount("addParamGroup", arguments, 1);
    const name = this.typeName;
    const params = group?.params;
    if (params === null || typeof params !== "object" || typeof (params as Iterable<unknown>)[Symbol.iterator] !== "function" || params instanceof Tensor) {
      throw new ValueError(`${name}: a parameter group must be {params: [tensors], ...options}, got ${describe(group)}`);
    }
    const { params: _params, ...overrides } = group;
    const list = Array.from(params);
    for (const [i, p] of list.entries()) {
      if (!(p instanceof Tensor)) throw new ValueError(`${name}: parameters must be tensors, got ${describe(p)} at index ${i}`);
      if (p.dtype !== "float32")
        throw new DTypeError(`${name}: parameter ${i} of shape ${shapeStr(p.shape)} is ${p.dtype}; only float32 tensors can be optimized`);
      if (!p.isLeaf)
        throw new ValueError(
          `${name}: parameter ${i} of shape ${shapeStr(p.shape)} is not a leaf tensor (the result of an operation); optimize leaves, e.g. model.parameters()`,
        );
      if (this.paramGroups.some((g) => g.params.includes(p)) || list.indexOf(p) !== i) {
        throw new ValueError(`${name}: some parameters appear in more than one parameter group`);
      }
    }
    const options = this.validate({ ...this.defaults, ...overrides } as O);
    this.paramGroups.push({ params: list, options });
  }

  /** Learning rate of the first group (schedulers set each group's options.lr). */
  get lr(): number {
    return this.paramGroups[0].options.lr;
  }

  /** Clears the gradients of every parameter (setToNone, the PyTorch default, drops them). */
  zeroGrad(setToNone = true): void {
    checkArgCount("zeroGrad", arguments, 1);
    for (const g of this.paramGroups) zeroGradOf(g.params, setToNone);
  }

  /**
   * One update of every parameter that has a gradient (frozen or unused ones are skipped). Every
   * gradient is checked (a tensor of the parameter's shape, dtype and backend) before any
   * parameter changes.
   */
  step(): void {
    checkArgCount("step", arguments, 0);
    const groups = this.paramGroups;
    for (let gi = 0; gi < groups.length; gi++) {
      const params = groups[gi].params;
      for (let i = 0; i < params.length; i++) {
        const p = params[i];
        if (p.grad !== null && p.requiresGrad) this.checkGrad(p, p.grad as unknown, i, gi);
      }
    }
    this.allocateState(groups);
    const anomaly = isAnomalyEnabled();
    for (let gi = 0; gi < groups.length; gi++) {
      const { params, options } = groups[gi];
      for (let i = 0; i < params.length; i++) {
        const p = params[i];
        if (p.grad === null || !p.requiresGrad) continue;
        const st = this.state.get(p)!;
        st.step++;
        this.update(p, p.grad, st, options);
        if (anomaly) this.checkUpdated(p, i, gi, options.lr);
      }
    }
  }

  /**
   * The state buffers of every parameter that has a gradient, before any parameter changes:
   * running out of memory here leaves the parameters and the optimizer as they were (a
   * half-applied step could not be told from a whole one; the buffers made so far are freed), and
   * the OutOfMemoryError says how many bytes the whole state needs.
   */
  private allocateState(groups: ParamGroup<O>[]): void {
    const madeStates: Tensor[] = [];
    const madeBuffers: [ParamState, string][] = [];
    try {
      for (const group of groups) {
        const names = this.stateNames(group.options);
        for (const p of group.params) {
          if (p.grad === null || !p.requiresGrad) continue;
          let st = this.state.get(p);
          if (st === undefined) {
            this.state.set(p, (st = { step: 0, buffers: {}, scalars: {} }));
            madeStates.push(p);
          }
          for (let k = 0; k < names.length; k++) {
            if (st.buffers[names[k]] !== undefined) continue;
            this.buffer(p, st, names[k], this.initialValue(names[k], group.options));
            madeBuffers.push([st, names[k]]);
          }
        }
      }
    } catch (e) {
      if (!(e instanceof OutOfMemoryError)) throw e;
      for (const [st, name] of madeBuffers) {
        st.buffers[name].dispose();
        delete st.buffers[name];
      }
      for (const p of madeStates) this.state.delete(p);
      throw this.stateOutOfMemory(groups, e);
    }
  }

  /** The OutOfMemoryError of allocateState: the bytes the missing state needs, in use, the limit, and ways to fit. */
  private stateOutOfMemory(groups: ParamGroup<O>[], cause: OutOfMemoryError): OutOfMemoryError {
    let bytes = 0,
      values = 0,
      backend: Tensor["backend"] | null = null;
    const names = new Set<string>();
    for (const group of groups) {
      const groupNames = this.stateNames(group.options);
      for (const name of groupNames) names.add(name);
      for (const p of group.params) {
        if (p.grad === null || !p.requiresGrad) continue;
        const st = this.state.get(p);
        const missing = groupNames.filter((n) => st?.buffers[n] === undefined).length;
        if (missing === 0) continue;
        values += p.size;
        bytes += missing * p.size * 4;
        backend ??= p.backend;
      }
    }
    const heap = backend?.heap;
    const where = heap === undefined ? "" : `: ${formatBytes(heap.stats().liveBytes)} in use, memory limit ${formatBytes(heap.maxBytes)}`;
    return new OutOfMemoryError(
      `${this.typeName}.step: the optimizer state (${[...names].join(", ")} for ${values.toLocaleString("en")} parameter values) needs ` +
        `${formatBytes(bytes)} more${where}. Train fewer parameters (LoRA: lora.apply; or freeze some with requiresGrad_(false)) ` +
        `or use an optimizer with less state; gradient checkpointing (autograd.checkpoint, gradientCheckpointingEnable()) ` +
        `saves activation memory. The request that failed: ${cause.message}`,
    );
  }

  /** A gradient must be a float32 tensor of its parameter's shape on its parameter's backend. */
  private checkGrad(p: Tensor, g: unknown, i: number, gi: number): void {
    if (g instanceof Tensor && g.dtype === "float32" && g.backend === p.backend && g.ndim === p.ndim && g.shape.every((d, k) => d === p.shape[k])) {
      void p.ptr; // throws ReleasedTensorError for a disposed parameter or gradient
      void g.ptr;
      return;
    }
    const name = this.typeName;
    const which = `parameter ${i} of group ${gi} (shape ${shapeStr(p.shape)})`;
    if (!(g instanceof Tensor)) throw new ValueError(`${name}.step: the gradient of ${which} is ${describe(g)}, not a Tensor`);
    if (g.dtype !== "float32") throw new DTypeError(`${name}.step: the gradient of ${which} is ${g.dtype}, expected float32`);
    if (g.backend !== p.backend)
      throw new BackendMismatchError(
        `${name}.step: the gradient of ${which} lives on another backend (${g.backend.name}) than the parameter (${p.backend.name})`,
      );
    throw new ShapeError(`${name}.step: the gradient of ${which} has shape ${shapeStr(g.shape)}, expected ${shapeStr(p.shape)}`);
  }

  /** Anomaly mode: an update that made a parameter non-finite throws. */
  private checkUpdated(p: Tensor, i: number, gi: number, lr: number): void {
    const bad = p.backend.nonfiniteCount(p.ptr, p.size);
    if (bad === 0) return;
    const badGrad = p.grad!.backend.nonfiniteCount(p.grad!.ptr, p.grad!.size);
    throw new AnomalyError(
      `${this.typeName}.step made ${bad} values of parameter ${i} of group ${gi} (shape ${shapeStr(p.shape)}) non-finite ` +
        `(NaN or ±Infinity); its gradient ${badGrad > 0 ? `held ${badGrad} non-finite values` : "was finite"} (options: lr ${lr}; a learning rate too high?)`,
    );
  }

  /** The optimizer's state (PyTorch's state_dict()): buffers and step counts, group options. */
  stateDict(): OptimizerStateDict<O> {
    checkArgCount("stateDict", arguments, 0);
    const state: OptimizerStateDict<O>["state"] = {};
    const paramGroups: OptimizerStateDict<O>["paramGroups"] = [];
    let index = 0;
    for (const g of this.paramGroups) {
      const params: number[] = [];
      for (const p of g.params) {
        const st = this.state.get(p);
        if (st !== undefined) {
          const buffers: Record<string, Tensor> = {};
          for (const [name, b] of Object.entries(st.buffers)) buffers[name] = b.detach();
          state[index] = Object.keys(st.scalars).length > 0 ? { step: st.step, buffers, scalars: { ...st.scalars } } : { step: st.step, buffers };
        }
        params.push(index++);
      }
      paramGroups.push({ ...structuredClone(g.options), params });
    }
    return { state, paramGroups };
  }

  /**
   * Restores a state from stateDict() (of an optimizer over the same parameters, in the same
   * groups): buffers are copied into this optimizer's memory, step counts and group options
   * (lr, momentum, ...) replace the current ones. Everything is checked before anything changes.
   */
  loadStateDict(sd: OptimizerStateInput<O>): void {
    checkArgCount("loadStateDict", arguments, 1);
    const name = this.typeName;
    if (
      sd === null ||
      typeof sd !== "object" ||
      !Array.isArray(sd.paramGroups) ||
      sd.state === null ||
      typeof sd.state !== "object" ||
      Array.isArray(sd.state)
    ) {
      throw new ValueError(`${name}.loadStateDict: expected {state, paramGroups}`);
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new ValueError(`${name}.loadStateDict: the state has ${sd.paramGroups.length} parameter groups, this optimizer ${this.paramGroups.length}`);
    }
    const byIndex = new Map<number, Tensor>();
    const options: O[] = [];
    sd.paramGroups.forEach((g, i) => {
      const own = this.paramGroups[i];
      if (g === null || typeof g !== "object" || !Array.isArray(g.params) || g.params.length !== own.params.length) {
        throw new ValueError(
          `${name}.loadStateDict: parameter group ${i} has ${Array.isArray(g?.params) ? g.params.length : "no list of"} parameters in the state, ${own.params.length} here`,
        );
      }
      g.params.forEach((idx, j) => {
        if (!Number.isSafeInteger(idx) || idx < 0 || byIndex.has(idx)) {
          throw new ValueError(`${name}.loadStateDict: parameter group ${i} lists an invalid or repeated parameter index ${JSON.stringify(idx)}`);
        }
        byIndex.set(idx, own.params[j]);
      });
      const { params: _params, ...rest } = g;
      for (const [k, v] of Object.entries(rest)) {
        if (SCHEDULER_KEYS.includes(k)) {
          if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
            throw new ValueError(`${name}.loadStateDict: parameter group ${i}: invalid ${k} ${describe(v)} (expected a finite number ≥ 0)`);
        } else if (!Object.hasOwn(this.hyper, k)) {
          throw new ValueError(
            `${name}.loadStateDict: parameter group ${i} has an unknown option '${k}' (this optimizer has ${Object.keys(this.hyper).join(", ")})`,
          );
        }
      }
      let o: O;
      try {
        o = { ...own.options, ...structuredClone(rest) } as O;
      } catch (e) {
        throw new ValueError(`${name}.loadStateDict: the options of parameter group ${i} cannot be copied (${(e as Error).message})`);
      }
      options.push(this.validate(o));
    });
    const loaded = new Map<Tensor, { step: number; buffers: [string, StateValue][]; scalars: Record<string, number> }>();
    const groupOf = new Map<Tensor, number>();
    this.paramGroups.forEach((g, i) => g.params.forEach((p) => groupOf.set(p, i)));
    for (const key of Object.keys(sd.state)) {
      const st = sd.state[key];
      const p = byIndex.get(Number(key));
      if (p === undefined || String(Number(key)) !== key)
        throw new ValueError(`${name}.loadStateDict: state for parameter ${key}, which no parameter group lists`);
      if (!Number.isSafeInteger(st?.step) || st.step < 0) throw new ValueError(`${name}.loadStateDict: parameter ${key}: invalid step ${st?.step}`);
      if (st.buffers !== undefined && (st.buffers === null || typeof st.buffers !== "object")) {
        throw new ValueError(`${name}.loadStateDict: parameter ${key}: buffers must be an object of tensors, got ${describe(st.buffers)}`);
      }
      // Only the buffers and numbers this optimizer keeps with these options, looked up as own
      // properties (a key like "__proto__" or "constructor" is a name like any other, and unknown).
      const opts = options[groupOf.get(p)!];
      const known = this.stateNames(opts),
        knownScalars = this.scalarNames(opts);
      const buffers = Object.keys(st.buffers ?? {}).map((b) => [b, (st.buffers as Record<string, StateValue>)[b]] as [string, StateValue]);
      for (const [b] of buffers) {
        if (!known.includes(b))
          throw new ValueError(
            `${name}.loadStateDict: parameter ${key} has an unknown state buffer '${b}' (this optimizer keeps ${known.length > 0 ? known.join(", ") : "none"} with these options)`,
          );
      }
      const scalars: Record<string, number> = {};
      if (st.scalars !== undefined) {
        if (st.scalars === null || typeof st.scalars !== "object")
          throw new ValueError(`${name}.loadStateDict: parameter ${key}: scalars must be an object of numbers, got ${describe(st.scalars)}`);
        for (const k of Object.keys(st.scalars)) {
          const v = (st.scalars as Record<string, unknown>)[k];
          if (!knownScalars.includes(k)) throw new ValueError(`${name}.loadStateDict: parameter ${key} has an unknown state value '${k}'`);
          if (typeof v !== "number" || !Number.isFinite(v))
            throw new ValueError(`${name}.loadStateDict: parameter ${key}: ${k} must be a finite number, got ${describe(v)}`);
          Object.defineProperty(scalars, k, { value: v, enumerable: true, writable: true, configurable: true });
        }
      }
      for (const [b, v] of buffers) {
        const shape = v?.shape;
        const length = (v?.data as ArrayLike<number> | undefined)?.length;
        if (!Array.isArray(shape) || shape.length !== p.shape.length || shape.some((d, k) => d !== p.shape[k]) || length !== p.size) {
          throw new ShapeError(
            `${name}.loadStateDict: ${b} of parameter ${key} has shape ${Array.isArray(shape) ? shapeStr(shape) : String(shape)}` +
              `${Array.isArray(shape) && typeof length === "number" ? ` (${length} values)` : ""}, the parameter ${shapeStr(p.shape)}`,
          );
        }
      }
      loaded.set(p, { step: st.step, buffers, scalars });
    }
    this.paramGroups.forEach((g, i) => (g.options = options[i]));
    // Buffers are copied into existing ones where possible; state the dict lacks is dropped.
    for (const [p, st] of this.state) {
      const keep = loaded.get(p);
      for (const [b, t] of Object.entries(st.buffers)) {
        if (!keep?.buffers.some(([n]) => n === b)) t.dispose();
      }
      if (keep === undefined) this.state.delete(p);
    }
    for (const [p, { step, buffers, scalars }] of loaded) {
      let st = this.state.get(p);
      if (st === undefined) this.state.set(p, (st = { step, buffers: {}, scalars: {} }));
      st.step = step;
      st.scalars = scalars;
      const next: Record<string, Tensor> = {};
      for (const [b, v] of buffers) {
        const t = st.buffers[b] ?? emptyTensor(p.backend, p.shape, "float32", null);
        if (v instanceof Tensor && v.backend === t.backend) {
          if (v.ptr !== t.ptr) t.backend.copy(t.ptr, v.ptr, t.size * 4);
        } else {
          t.data.set(v.data);
        }
        next[b] = t;
      }
      st.buffers = next;
    }
  }

  /** A persistent state buffer shaped like p, created (filled with `init`) on first use. */
  protected buffer(p: Tensor, st: ParamState, name: string, init = 0): Tensor {
    let b = st.buffers[name];
    if (b === undefined) {
      b = st.buffers[name] = emptyTensor(p.backend, p.shape, "float32", null);
      b.fill_(init);
    }
    return b;
  }

  /** The value a new state buffer starts with (0 but for Adagrad's initial accumulator). */
  protected initialValue(_name: string, _options: O): number {
    return 0;
  }

  /**
   * Checks a group's options against the class's hyperparameters (unknown keys, ranges) and the
   * cross-field rules of crossCheck(); returns them (scheduler-owned keys pass through).
   */
  protected validate(options: O): O {
    const { params: _p, ...rest } = options as O & { params?: unknown };
    const checked = resolveHyper(this.typeName, this.hyper, rest, SCHEDULER_KEYS);
    const out = { ...rest, ...checked } as O;
    this.crossCheck(out);
    return out;
  }

  /** Rules between hyperparameters (e.g. SGD's Nesterov needs momentum); none by default. */
  protected crossCheck(_options: O): void {}
  /** Names of the per-parameter buffers update() uses with these options (made before any update). */
  protected stateNames(_options: O): string[] {
    return [];
  }
  /** Names of the per-parameter numbers update() keeps (saved with the state). */
  protected scalarNames(_options: O): string[] {
    return [];
  }
  /** Updates one parameter in place from its gradient and state: what a subclass implements (one fused kernel call in the built-in optimizers). */
  protected abstract update(p: Tensor, grad: Tensor, st: ParamState, options: O): void;
}

/** Group options the LR schedulers add (PyTorch's initial_lr, OneCycleLR's max_lr, ...). */
const SCHEDULER_KEYS: readonly string[] = ["initialLr", "maxLr", "minLr", "maxMomentum", "baseMomentum"];

export function checkNonNegative(opt: string, name: string, value: number): void {
  if (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value))
    throw new ValueError(`${opt}: invalid ${name} ${String(value)} (expected a finite number ≥ 0)`);
}
