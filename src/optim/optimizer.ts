// Optimizers with parameter groups, PyTorch style. Per-parameter state lives in persistent
// tensors on the parameter's backend; the update itself is one fused kernel per parameter.
import { ShapeError, ValueError, shapeStr } from "../errors.js";
import { Tensor, emptyTensor } from "../tensor.js";
import { zeroGradOf, type StateValue } from "../nn/module.js";

export interface ParamGroup<O> {
  params: Tensor[];
  options: O;
}

/** A group as the user passes it: params plus any options overriding the defaults. */
export type ParamGroupInput<O> = { params: Iterable<Tensor> } & Partial<O>;

export type ParamsInput<O> = Iterable<Tensor> | ParamGroupInput<O>[];

/** Per-parameter optimizer state: named tensors plus the step count. */
export interface ParamState {
  step: number;
  buffers: Record<string, Tensor>;
}

/**
 * An optimizer's state as PyTorch's optimizer.state_dict(): per-parameter state keyed by the
 * parameter's index (counting through the groups in order), and each group's options with its
 * parameters as indices. Buffers are detached views of the optimizer's memory.
 */
export interface OptimizerStateDict<O = Record<string, unknown>> {
  state: Record<number, { step: number; buffers: Record<string, Tensor> }>;
  paramGroups: (O & { params: number[] })[];
}

/** What loadStateDict accepts: buffers may be tensors or plain {shape, data} (read from a file). */
export interface OptimizerStateInput<O = Record<string, unknown>> {
  state: Record<number | string, { step: number; buffers: Record<string, StateValue> }>;
  paramGroups: (Partial<O> & { params: number[] })[];
}

export abstract class Optimizer<O extends { lr: number }> {
  readonly paramGroups: ParamGroup<O>[] = [];
  readonly state = new Map<Tensor, ParamState>();

  constructor(params: ParamsInput<O>, readonly defaults: O) {
    const list = Array.from(params as Iterable<Tensor | ParamGroupInput<O>>);
    if (list.length === 0) throw new ValueError(`${this.constructor.name}: got an empty parameter list`);
    if (list[0] instanceof Tensor) this.addParamGroup({ params: list as Tensor[] } as unknown as ParamGroupInput<O>);
    else for (const g of list as ParamGroupInput<O>[]) this.addParamGroup(g);
  }

  addParamGroup(group: ParamGroupInput<O>): void {
    const { params, ...overrides } = group;
    const list = Array.from(params);
    for (const p of list) {
      if (!(p instanceof Tensor)) throw new ValueError(`${this.constructor.name}: parameters must be tensors`);
      if (this.paramGroups.some((g) => g.params.includes(p))) {
        throw new ValueError(`${this.constructor.name}: some parameters appear in more than one parameter group`);
      }
    }
    const options = { ...this.defaults, ...overrides } as O;
    this.validate(options);
    this.paramGroups.push({ params: list, options });
  }

  /** Learning rate of the first group (schedulers set each group's options.lr). */
  get lr(): number {
    return this.paramGroups[0].options.lr;
  }

  /** Clears the gradients of every parameter (setToNone, the PyTorch default, drops them). */
  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups) zeroGradOf(g.params, setToNone);
  }

  /** One update of every parameter that has a gradient (frozen or unused ones are skipped). */
  step(): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (p.grad === null || !p.requiresGrad) continue;
        let st = this.state.get(p);
        if (st === undefined) this.state.set(p, (st = { step: 0, buffers: {} }));
        st.step++;
        this.update(p, p.grad, st, group.options);
      }
    }
  }

  /** The optimizer's state (PyTorch's state_dict()): buffers and step counts, group options. */
  stateDict(): OptimizerStateDict<O> {
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
          state[index] = { step: st.step, buffers };
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
    const name = this.constructor.name;
    if (sd === null || typeof sd !== "object" || !Array.isArray(sd.paramGroups) || sd.state === null || typeof sd.state !== "object") {
      throw new ValueError(`${name}.loadStateDict: expected {state, paramGroups}`);
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new ValueError(`${name}.loadStateDict: the state has ${sd.paramGroups.length} parameter groups, this optimizer ${this.paramGroups.length}`);
    }
    const byIndex = new Map<number, Tensor>();
    const options: O[] = [];
    sd.paramGroups.forEach((g, i) => {
      const own = this.paramGroups[i];
      if (!Array.isArray(g.params) || g.params.length !== own.params.length) {
        throw new ValueError(`${name}.loadStateDict: parameter group ${i} has ${g.params?.length} parameters in the state, ${own.params.length} here`);
      }
      g.params.forEach((idx, j) => byIndex.set(idx, own.params[j]));
      const { params: _params, ...rest } = g;
      const o = { ...own.options, ...structuredClone(rest) } as O;
      this.validate(o);
      options.push(o);
    });
    const loaded = new Map<Tensor, { step: number; buffers: [string, StateValue][] }>();
    for (const [key, st] of Object.entries(sd.state)) {
      const p = byIndex.get(Number(key));
      if (p === undefined) throw new ValueError(`${name}.loadStateDict: state for parameter ${key}, which no parameter group lists`);
      if (!Number.isSafeInteger(st?.step) || st.step < 0) throw new ValueError(`${name}.loadStateDict: parameter ${key}: invalid step ${st?.step}`);
      const buffers = Object.entries(st.buffers ?? {});
      for (const [b, v] of buffers) {
        const shape = v?.shape;
        if (!Array.isArray(shape) || shape.length !== p.shape.length || shape.some((d, k) => d !== p.shape[k]) || v.data.length !== p.size) {
          throw new ShapeError(`${name}.loadStateDict: ${b} of parameter ${key} has shape ${Array.isArray(shape) ? shapeStr(shape) : String(shape)}, the parameter ${shapeStr(p.shape)}`);
        }
      }
      loaded.set(p, { step: st.step, buffers });
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
    for (const [p, { step, buffers }] of loaded) {
      let st = this.state.get(p);
      if (st === undefined) this.state.set(p, (st = { step, buffers: {} }));
      st.step = step;
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

  /** A persistent state buffer shaped like p, created (zero-filled) on first use. */
  protected buffer(p: Tensor, st: ParamState, name: string): Tensor {
    let b = st.buffers[name];
    if (b === undefined) {
      b = st.buffers[name] = emptyTensor(p.backend, p.shape, "float32", null);
      b.fill_(0);
    }
    return b;
  }

  /** Stable name of the algorithm ("SGD", "Adam", ...) for checkpoints: class names do not
   *  survive minification. */
  abstract get typeName(): string;

  protected abstract validate(options: O): void;
  protected abstract update(p: Tensor, grad: Tensor, st: ParamState, options: O): void;
}

export function checkNonNegative(opt: string, name: string, value: number): void {
  if (!(value >= 0) || !Number.isFinite(value)) throw new ValueError(`${opt}: invalid ${name} ${value} (expected a finite number ≥ 0)`);
}
