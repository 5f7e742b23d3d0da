// nn.Module and nn.Parameter, PyTorch style.
//
// Registration needs no calls: submodules and parameters are found by walking the module's own
// properties in creation order, which is exactly PyTorch's registration order, so
// `this.fc1 = new nn.Linear(784, 128)` yields the state-dict key `fc1.weight`, and replacing
// `model.fc3 = new nn.Linear(64, 5)` swaps the head in place. Buffers (running statistics) are
// tensors named with registerBuffer().
//
// Modules are callable like in PyTorch: `model(x)` runs `model.forward(x)`. The constructor
// returns a function object whose prototype is the subclass prototype, so fields, methods and
// `instanceof` behave as for any class instance.
import { ShapeError, ValueError, shapeStr } from "../errors.js";
import { Tensor, emptyTensor, type Shape } from "../tensor.js";
import { noGrad } from "../lifetime.js";
import { getBackend } from "../backend/current.js";
import { checkBool, checkOptions, describe, checkArgCount } from "../check.js";

/** A tensor that is a module parameter: persistent, requiresGrad by default. */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    // Kernels update parameters in place: a view (say, a transposed tensor) is copied first.
    const dense = data.isContiguous() ? data : data.detach().contiguous();
    dense.keep();
    super(dense.storage, dense.shape, dense.dtype, dense.offset);
    checkArgCount("Parameter", arguments, 2);
    this.requiresGrad = requiresGrad;
  }

  /** A new uninitialized parameter of `shape` on the current backend. */
  static empty(shape: Shape): Parameter {
    return new Parameter(emptyTensor(getBackend(), shape, "float32", null));
  }
}

/** A state dict value: a tensor, or plain shape + data (as read from a file). */
export type StateValue = Tensor | { shape: readonly number[]; data: ArrayLike<number> };
/** A state dict: tensors by dotted name (fc1.weight). */
export type StateDict = Record<string, Tensor>;

/** What loadStateDict returns: keys the model has and the dict lacks, and keys the dict has and the model lacks. */
export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

// biome-ignore lint/suspicious/noExplicitAny: forward() of each subclass declares its own parameters
type AnyArgs = any[];

// Modules are callable (model(x) runs forward), as in torch: the constructor returns a function
// object with the subclass's prototype, and this interface gives it the call signature.
export interface Module {
  /** Calling a module runs its forward(). */
  // biome-ignore lint/style/useShorthandFunctionType: merged with the class below
  (...args: AnyArgs): ReturnType<this["forward"]>;
}

/** Base class of every layer and model (torch.nn.Module): subclass it, assign submodules and Parameters as fields, define forward(). */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the call signature is provided by the constructor
export abstract class Module {
  /** Training mode (dropout active, batch norm updating statistics); see train()/eval(). */
  declare training: boolean;
  /** Names of this module's buffers (persistent ones go into the state dict). */
  declare private readonly bufferNames: Map<string, boolean>;

  constructor() {
    checkArgCount(new.target.name, arguments, 0); // also a subclass without its own constructor given arguments
    const callable = function (this: unknown, ...args: AnyArgs) {
      return (callable as unknown as Module).forward(...args);
    };
    Object.setPrototypeOf(callable, new.target.prototype);
    // Function objects carry own `name`/`length`; drop them so a subclass may define those
    // names (Sequential.length) like on any other object.
    Reflect.deleteProperty(callable, "name");
    Reflect.deleteProperty(callable, "length");
    // Base-class fields must live on the returned object, not on the discarded `this`.
    Object.defineProperty(callable, "training", { value: true, writable: true, enumerable: false });
    Object.defineProperty(callable, "bufferNames", { value: new Map<string, boolean>(), enumerable: false });
    // biome-ignore lint/correctness/noConstructorReturn: a callable module is a function object
    return callable as unknown as this;
  }

  /** The computation of this module; model(x) calls it. */
  abstract forward(...args: AnyArgs): unknown;

  /** Own submodules in registration order (PyTorch's named_children). */
  *namedChildren(): Generator<[string, Module]> {
    checkArgCount("namedChildren", arguments, 0);
    for (const key of Object.keys(this)) {
      const v = (this as Record<string, unknown>)[key];
      if (v instanceof Module) yield [key, v];
    }
  }
  /** The direct submodules, in assignment order. */
  *children(): Generator<Module> {
    checkArgCount("children", arguments, 0);
    for (const [, m] of this.namedChildren()) yield m;
  }

  /** This module and all below it, depth first, each once (PyTorch's named_modules). */
  *namedModules(prefix = "", seen = new Set<Module>()): Generator<[string, Module]> {
    checkArgCount("namedModules", arguments, 2);
    if (seen.has(this)) return;
    seen.add(this);
    yield [prefix, this];
    for (const [name, child] of this.namedChildren()) {
      yield* child.namedModules(prefix ? `${prefix}.${name}` : name, seen);
    }
  }
  /** This module and every submodule, depth first. */
  *modules(): Generator<Module> {
    checkArgCount("modules", arguments, 0);
    for (const [, m] of this.namedModules()) yield m;
  }

  /** Own parameters (not recursing), in registration order. */
  private *ownParameters(): Generator<[string, Parameter]> {
    for (const key of Object.keys(this)) {
      const v = (this as Record<string, unknown>)[key];
      if (v instanceof Parameter) yield [key, v];
    }
  }

  /** Parameters with dotted names (`fc1.weight`); shared parameters appear once. */
  *namedParameters(prefix = "", recurse = true): Generator<[string, Parameter]> {
    checkArgCount("namedParameters", arguments, 2);
    const seen = new Set<Tensor>();
    const mods: Iterable<[string, Module]> = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [modName, m] of mods) {
      for (const [name, p] of m.ownParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        yield [modName ? `${modName}.${name}` : name, p];
      }
    }
  }
  /** Every parameter (of submodules too unless recurse is false), each once. */
  parameters(recurse = true): Parameter[] {
    checkArgCount("parameters", arguments, 1);
    return Array.from(this.namedParameters("", recurse), ([, p]) => p);
  }

  /** Declares a buffer: a tensor that is state but not a parameter (e.g. running_mean). */
  registerBuffer(name: string, tensor: Tensor | null, persistent = true): void {
    checkArgCount("registerBuffer", arguments, 3);
    if (tensor !== null) tensor.keep();
    (this as Record<string, unknown>)[name] = tensor;
    this.bufferNames.set(name, persistent);
  }

  /** Every buffer with its dotted name. */
  *namedBuffers(prefix = ""): Generator<[string, Tensor]> {
    checkArgCount("namedBuffers", arguments, 1);
    for (const [modName, m] of this.namedModules(prefix)) {
      for (const [name] of m.bufferNames) {
        const t = (m as unknown as Record<string, unknown>)[name];
        if (t instanceof Tensor) yield [modName ? `${modName}.${name}` : name, t];
      }
    }
  }
  /** Every buffer (BatchNorm's running statistics, loss weights, ...). */
  buffers(): Tensor[] {
    checkArgCount("buffers", arguments, 0);
    return Array.from(this.namedBuffers(), ([, b]) => b);
  }

  /** Sets training mode here and below; returns this. */
  train(mode = true): this {
    checkArgCount("train", arguments, 1);
    checkBool(`${this.constructor.name}.train`, "mode", mode);
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  /** Evaluation mode (dropout off, batch norm uses its running statistics); train(false). */
  eval(): this {
    checkArgCount("eval", arguments, 0);
    return this.train(false);
  }

  /** Freezes (false) or unfreezes (true) every parameter; returns this. */
  requiresGrad_(requiresGrad = true): this {
    checkArgCount("requiresGrad_", arguments, 1);
    checkBool(`${this.constructor.name}.requiresGrad_`, "requiresGrad", requiresGrad);
    for (const p of this.parameters()) p.requiresGrad = requiresGrad;
    return this;
  }

  /** Clears gradients: drops them (setToNone, PyTorch's default) or fills them with zeros. */
  zeroGrad(setToNone = true): void {
    checkArgCount("zeroGrad", arguments, 1);
    zeroGradOf(this.parameters(), setToNone);
  }

  /** Calls fn on every module (children first, as PyTorch's apply); returns this. */
  apply(fn: (m: Module) => void): this {
    checkArgCount("apply", arguments, 1);
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Parameters and persistent buffers by PyTorch key (`fc1.weight`), in PyTorch's order.
   * Values are detached views sharing the module's memory.
   */
  stateDict(): StateDict {
    checkArgCount("stateDict", arguments, 0);
    const out: StateDict = {};
    for (const [modName, m] of this.namedModules()) {
      const key = (name: string) => (modName ? `${modName}.${name}` : name);
      for (const [name, p] of m.ownParameters()) out[key(name)] = p.detach();
      for (const [name, persistent] of m.bufferNames) {
        const t = (m as unknown as Record<string, unknown>)[name];
        if (persistent && t instanceof Tensor) out[key(name)] = t.detach();
      }
    }
    return out;
  }

  /**
   * Copies values into this module's parameters and buffers. Shapes must match. With strict
   * (default) missing or unexpected keys throw; otherwise they are returned, as in PyTorch.
   */
  loadStateDict(stateDict: Record<string, StateValue>, options: { strict?: boolean } = {}): LoadResult {
    checkArgCount("loadStateDict", arguments, 2);
    if (stateDict === null || typeof stateDict !== "object" || Array.isArray(stateDict) || stateDict instanceof Tensor) {
      throw new ValueError(`loadStateDict: expected an object of name → tensor, got ${describe(stateDict)}`);
    }
    checkOptions("loadStateDict", options, ["strict"]);
    const strict = options.strict ?? true;
    checkBool("loadStateDict", "strict", strict);
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !Object.hasOwn(stateDict, k) || stateDict[k] === undefined);
    const unexpectedKeys = Object.keys(stateDict).filter((k) => !Object.hasOwn(own, k));
    if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
      const parts: string[] = [];
      if (missingKeys.length) parts.push(`missing keys: ${missingKeys.join(", ")}`);
      if (unexpectedKeys.length) parts.push(`unexpected keys: ${unexpectedKeys.join(", ")}`);
      throw new ValueError(`loadStateDict: ${parts.join("; ")}`);
    }
    // Check every shape before writing anything, so a failed load leaves the model unchanged.
    const pairs: [Tensor, StateValue][] = [];
    for (const [key, target] of Object.entries(own)) {
      const value = Object.hasOwn(stateDict, key) ? stateDict[key] : undefined;
      if (value === undefined) continue;
      const shape = (value as { shape?: unknown } | null)?.shape;
      const data = (value as { data?: unknown } | null)?.data as ArrayLike<number> | undefined;
      if (!(value instanceof Tensor) && (!Array.isArray(shape) || data === null || typeof data !== "object" || typeof data.length !== "number")) {
        throw new ValueError(`loadStateDict: ${key} must be a Tensor or {shape, data}, got ${describe(value)}`);
      }
      const s = shape as readonly number[];
      if (s.length !== target.shape.length || s.some((d, i) => d !== target.shape[i])) {
        throw new ShapeError(`loadStateDict: size mismatch for ${key}: got shape ${shapeStr(s)}, the model has ${shapeStr(target.shape)}`);
      }
      if (data!.length !== target.size) {
        throw new ShapeError(`loadStateDict: ${key} has shape ${shapeStr(s)} but ${data!.length} values (expected ${target.size})`);
      }
      if (value instanceof Tensor) void value.ptr; // a released tensor throws here, before anything is written
      pairs.push([target, value]);
    }
    noGrad(() => {
      for (const [target, value] of pairs) {
        if (value instanceof Tensor && value.backend === target.backend) target.copy_(value);
        else target.data.set(value instanceof Tensor ? value.data : value.data);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  /** Extra text inside this module's repr, e.g. `in_features=784, out_features=128`. */
  extraRepr(): string {
    checkArgCount("extraRepr", arguments, 0);
    return "";
  }

  /** The module tree as torch prints it. */
  toString(): string {
    checkArgCount("toString", arguments, 0);
    const kids = Array.from(this.namedChildren());
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    if (kids.length === 0) return `${head})`;
    const body = kids.map(([n, m]) => `  (${n}): ${m.toString().replace(/\n/g, "\n  ")}`).join("\n");
    return `${head}\n${body}\n)`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** Clears the gradients of `params` (drop, or fill with zeros). */
export function zeroGradOf(params: Iterable<Tensor>, setToNone = true): void {
  checkArgCount("zeroGradOf", arguments, 2);
  for (const p of params) {
    if (p.grad === null) continue;
    if (setToNone) {
      p.grad.dispose();
      p.grad = null;
    } else {
      p.grad.fill_(0);
    }
  }
}
