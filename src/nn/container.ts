// Containers that hold modules or parameters under PyTorch's names: ModuleList ("0", "1", ...),
// ModuleDict (its keys) and ParameterList ("0", "1", ...). Module discovery walks own
// properties, so each container stores its items as own properties named by their keys.
import { ShapeError, ValueError } from "../errors.js";
import { Tensor } from "../tensor.js";
import { Module, Parameter } from "./module.js";
import { checkArgCount, describe } from "../check.js";

/** A list's index (negative counts from the end), checked. */
function at(owner: string, i: number, n: number): number {
  if (!Number.isInteger(i)) throw new ValueError(`${owner}: index must be an integer, got ${describe(i)}`);
  const k = i < 0 ? i + n : i;
  if (k < 0 || k >= n) throw new ShapeError(`${owner}: index ${i} is out of range for ${n} items`);
  return k;
}

/** Items stored as own properties "0", "1", ... (a subclass adds its item check). */
abstract class IndexedList<T> extends Module {
  #count = 0;
  /** Checks one item and returns it typed; the error names `where`. */
  protected abstract check(item: unknown, where: string): T;

  /** Registers the initial items under 0, 1, 2, ... */
  protected setAll(items: Iterable<T>): void {
    for (const m of Array.from(items)) this.append(m);
  }

  /** Number of items. */
  override get length(): number {
    return this.#count;
  }

  /** The i-th item (negative counts from the end). */
  get(i: number): T {
    checkArgCount(`${this.constructor.name}.get`, arguments, 1);
    return (this as unknown as Record<string, T>)[String(at(this.constructor.name, i, this.#count))];
  }

  /** Replaces the i-th item. */
  set(i: number, item: T): void {
    checkArgCount(`${this.constructor.name}.set`, arguments, 2);
    (this as unknown as Record<string, T>)[String(at(this.constructor.name, i, this.#count))] = this.check(item, `index ${i}`);
  }

  /** Adds an item at the end; returns this. */
  append(item: T): this {
    checkArgCount(`${this.constructor.name}.append`, arguments, 1);
    (this as unknown as Record<string, T>)[String(this.#count)] = this.check(item, `index ${this.#count}`);
    this.#count++;
    return this;
  }

  /** Adds each item of an iterable at the end; returns this. */
  extend(items: Iterable<T>): this {
    checkArgCount(`${this.constructor.name}.extend`, arguments, 1);
    for (const m of Array.from(items)) this.append(m);
    return this;
  }

  /** Inserts an item before position i; later items move up one index, as in PyTorch. */
  insert(i: number, item: T): void {
    checkArgCount(`${this.constructor.name}.insert`, arguments, 2);
    const k = i === this.#count ? i : at(this.constructor.name, i, this.#count);
    const rec = this as unknown as Record<string, T>;
    const checked = this.check(item, `index ${i}`);
    for (let j = this.#count; j > k; j--) rec[String(j)] = rec[String(j - 1)];
    rec[String(k)] = checked;
    this.#count++;
  }

  /** The items in order. */
  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.#count; i++) yield (this as unknown as Record<string, T>)[String(i)];
  }
}

/** nn.ModuleList: submodules named "0", "1", ... (so state-dict keys are "layers.0.weight"). */
export class ModuleList extends IndexedList<Module> {
  constructor(modules: Iterable<Module> = []) {
    super();
    checkArgCount("ModuleList", arguments, 1);
    this.setAll(modules);
  }
  protected check(m: unknown, where: string): Module {
    if (!(m instanceof Module)) throw new ValueError(`ModuleList: the item at ${where} is not a Module, got ${describe(m)}`);
    return m;
  }
  /** ModuleList has no forward: throws. */
  forward(): never {
    checkArgCount("forward", arguments, 0);
    throw new ValueError("ModuleList has no forward(): iterate over it and call its modules");
  }
}

/** nn.ParameterList: parameters named "0", "1", ... (tensors given are wrapped as Parameters). */
export class ParameterList extends IndexedList<Parameter> {
  constructor(parameters: Iterable<Tensor> = []) {
    super();
    checkArgCount("ParameterList", arguments, 1);
    this.setAll(parameters as Iterable<Parameter>);
  }
  protected check(p: unknown, where: string): Parameter {
    if (p instanceof Parameter) return p;
    if (p instanceof Tensor) return new Parameter(p);
    throw new ValueError(`ParameterList: the item at ${where} is not a Tensor, got ${describe(p)}`);
  }
  forward(): never {
    checkArgCount("forward", arguments, 0);
    throw new ValueError("ParameterList has no forward()");
  }
}

/** nn.ModuleDict: submodules under string keys, in insertion order (integer-like keys first, as JS orders them). */
export class ModuleDict extends Module {
  constructor(modules: Record<string, Module> | Iterable<[string, Module]> = {}) {
    super();
    checkArgCount("ModuleDict", arguments, 1);
    const entries = Symbol.iterator in Object(modules) ? Array.from(modules as Iterable<[string, Module]>) : Object.entries(modules);
    for (const [k, m] of entries) this.set(k, m);
  }
  /** The module under key. */
  get(key: string): Module {
    checkArgCount("ModuleDict.get", arguments, 1);
    if (!Object.hasOwn(this, key) || !((this as unknown as Record<string, unknown>)[key] instanceof Module))
      throw new ValueError(`ModuleDict: no module under key ${describe(key)} (keys: ${this.keys().join(", ")})`);
    return (this as unknown as Record<string, Module>)[key];
  }
  /** Adds or replaces the module under key. */
  set(key: string, m: Module): void {
    checkArgCount("ModuleDict.set", arguments, 2);
    if (typeof key !== "string" || key === "" || key.includes("."))
      throw new ValueError(`ModuleDict: keys must be non-empty strings without '.', got ${describe(key)}`);
    if (!this.has(key) && (key in this || key === "__proto__")) throw new ValueError(`ModuleDict: key '${key}' would shadow a Module member`);
    if (!(m instanceof Module)) throw new ValueError(`ModuleDict: the item under '${key}' is not a Module, got ${describe(m)}`);
    (this as unknown as Record<string, Module>)[key] = m;
  }
  /** Whether a module is stored under key. */
  has(key: string): boolean {
    checkArgCount("has", arguments, 1);
    return Object.hasOwn(this, key) && (this as unknown as Record<string, unknown>)[key] instanceof Module;
  }
  /** The keys, in order. */
  keys(): string[] {
    checkArgCount("keys", arguments, 0);
    return Array.from(this.namedChildren(), ([k]) => k);
  }
  /** [key, module] pairs, in order. */
  items(): [string, Module][] {
    checkArgCount("items", arguments, 0);
    return Array.from(this.namedChildren());
  }
  /** The modules, in order. */
  values(): Module[] {
    checkArgCount("values", arguments, 0);
    return Array.from(this.children());
  }
  /** Number of items. */
  override get length(): number {
    return this.keys().length;
  }
  forward(): never {
    checkArgCount("forward", arguments, 0);
    throw new ValueError("ModuleDict has no forward(): look modules up with get(key)");
  }
}
