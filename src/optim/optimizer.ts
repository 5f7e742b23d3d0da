// Optimizers with parameter groups, PyTorch style. Per-parameter state lives in persistent
// tensors on the parameter's backend; the update itself is one fused kernel per parameter.
import { ValueError } from "../errors.js";
import { Tensor, emptyTensor } from "../tensor.js";
import { zeroGradOf } from "../nn/module.js";

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

  /** A persistent state buffer shaped like p, created (zero-filled) on first use. */
  protected buffer(p: Tensor, st: ParamState, name: string): Tensor {
    let b = st.buffers[name];
    if (b === undefined) {
      b = st.buffers[name] = emptyTensor(p.backend, p.shape, "float32", null);
      b.fill_(0);
    }
    return b;
  }

  protected abstract validate(options: O): void;
  protected abstract update(p: Tensor, grad: Tensor, st: ParamState, options: O): void;
}

export function checkNonNegative(opt: string, name: string, value: number): void {
  if (!(value >= 0) || !Number.isFinite(value)) throw new ValueError(`${opt}: invalid ${name} ${value} (expected a finite number ≥ 0)`);
}
