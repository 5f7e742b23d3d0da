// Hyperparameters declared once: each optimizer and scheduler class lists its hyperparameters in
// one spec (name → default + check), and that spec drives the constructor (unknown keys, defaults,
// checks), stateDict() (which fields to save) and loadStateDict() (the same checks, all before
// anything changes).
import { ValueError } from "../errors.js";
import { describe } from "../check.js";

/** One hyperparameter: its default (undefined: required) and its check, which returns the value. */
export interface Hyper<T> {
  readonly default: T | undefined;
  check(owner: string, name: string, v: unknown): T;
}

/** A class's hyperparameters by name. */
export type HyperSpec = Record<string, Hyper<unknown>>;

/** The resolved values of a spec. */
export type HyperValues<S extends HyperSpec> = { [K in keyof S]: S[K] extends Hyper<infer T> ? T : never };

function hyper<T>(dflt: T | undefined, check: (owner: string, name: string, v: unknown) => T): Hyper<T> {
  return { default: dflt, check: (owner, name, v) => check(owner, name === "lr" ? "learning rate" : name, v) };
}

/** A value for a message: numbers as they are, anything else described. */
function show(v: unknown): string {
  return typeof v === "number" ? String(v) : describe(v);
}

function isNum(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** A finite number ≥ 0. */
export const nonNegative = (dflt?: number): Hyper<number> =>
  hyper(dflt, (owner, name, v) => {
    if (!isNum(v) || v < 0) throw new ValueError(`${owner}: invalid ${name} ${show(v)} (expected a finite number ≥ 0)`);
    return v;
  });

/** A finite number. */
export const finite = (dflt?: number): Hyper<number> =>
  hyper(dflt, (owner, name, v) => {
    if (!isNum(v)) throw new ValueError(`${owner}: invalid ${name} ${show(v)} (expected a finite number)`);
    return v;
  });

/** A finite number in [lo, hi] (hiOpen: < hi). */
export const inRange = (lo: number, hi: number, dflt?: number, hiOpen = false): Hyper<number> =>
  hyper(dflt, (owner, name, v) => {
    if (!isNum(v) || v < lo || (hiOpen ? v >= hi : v > hi))
      throw new ValueError(`${owner}: invalid ${name} ${show(v)} (expected ${lo} ≤ ${name} ${hiOpen ? "<" : "≤"} ${hi})`);
    return v;
  });

/** A positive integer. */
export const positiveInt = (dflt?: number): Hyper<number> =>
  hyper(dflt, (owner, name, v) => {
    if (!Number.isSafeInteger(v) || (v as number) <= 0) throw new ValueError(`${owner}: invalid ${name} ${show(v)} (expected a positive integer)`);
    return v as number;
  });

/** A non-negative integer. */
export const nonNegativeInt = (dflt?: number): Hyper<number> =>
  hyper(dflt, (owner, name, v) => {
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw new ValueError(`${owner}: invalid ${name} ${show(v)} (expected an integer ≥ 0)`);
    return v as number;
  });

/** true or false. */
export const bool = (dflt?: boolean): Hyper<boolean> =>
  hyper(dflt, (owner, name, v) => {
    if (typeof v !== "boolean") throw new ValueError(`${owner}: ${name} must be true or false, got ${describe(v)}`);
    return v;
  });

/** One of the listed strings. */
export const oneOf = <T extends string>(values: readonly T[], dflt?: T): Hyper<T> =>
  hyper(dflt, (owner, name, v) => {
    if (!values.includes(v as T)) throw new ValueError(`${owner}: ${name} must be one of ${values.map((x) => `'${x}'`).join(", ")}, got ${describe(v)}`);
    return v as T;
  });

/** A pair [β1, β2] with 0 ≤ β < 1 (Adam's betas). */
export const betas = (dflt: [number, number]): Hyper<[number, number]> =>
  hyper(dflt, (owner, name, v) => {
    if (!Array.isArray(v) || v.length !== 2) throw new ValueError(`${owner}: ${name} must be a pair [beta1, beta2], got ${describe(v)}`);
    v.forEach((b, i) => {
      if (typeof b !== "number" || !(b >= 0 && b < 1))
        throw new ValueError(`${owner}: invalid beta parameter at index ${i}: ${String(b)} (expected 0 ≤ beta < 1)`);
    });
    return [v[0], v[1]];
  });

/** A list of integers (sorted ascending on the way in). */
export const sortedInts = (dflt?: number[]): Hyper<number[]> =>
  hyper(dflt, (owner, name, v) => {
    if (!Array.isArray(v) || v.some((m) => !Number.isSafeInteger(m)))
      throw new ValueError(`${owner}: ${name} must be a list of integer epochs, got ${JSON.stringify(v)}`);
    return [...v].sort((a, b) => a - b);
  });

/** A number, or one number per parameter group (checked against the groups where used). */
export const perGroupNumbers = (dflt?: number): Hyper<number | readonly number[]> =>
  hyper<number | readonly number[]>(dflt, (owner, name, v) => {
    const ok = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x >= 0;
    if (!(ok(v) || (Array.isArray(v) && v.length > 0 && v.every(ok)))) {
      throw new ValueError(`${owner}: ${name} must be a finite number ≥ 0 or one per parameter group, got ${JSON.stringify(v)}`);
    }
    return v as number | readonly number[];
  });

/** null, or what `inner` accepts. */
export const nullable = <T>(inner: Hyper<T>, dflt: T | null = null): Hyper<T | null> =>
  hyper<T | null>(dflt, (owner, name, v) => (v === null ? null : inner.check(owner, name, v)));

/**
 * Resolves options against a spec: unknown keys are an error naming the accepted ones, missing
 * ones take their defaults (a required one missing is an error), every value is checked.
 * `extraKeys` are accepted and passed through unchecked (e.g. the schedulers' per-group keys).
 */
export function resolveHyper<S extends HyperSpec>(owner: string, spec: S, given: unknown, extraKeys: readonly string[] = []): HyperValues<S> {
  if (given === undefined || given === null) given = {};
  if (typeof given !== "object" || Array.isArray(given)) throw new ValueError(`${owner}: options must be an object, got ${describe(given)}`);
  const g = given as Record<string, unknown>;
  for (const key of Object.keys(g)) {
    if (!Object.hasOwn(spec, key) && !extraKeys.includes(key)) {
      throw new ValueError(
        `${owner}: unknown option '${key}' (expected ${Object.keys(spec)
          .map((k) => `'${k}'`)
          .join(", ")})`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, h] of Object.entries(spec)) {
    const v = Object.hasOwn(g, key) && g[key] !== undefined ? g[key] : h.default;
    if (v === undefined) throw new ValueError(`${owner}: the option '${key}' is required`);
    out[key] = h.check(owner, key, v);
  }
  return out as HyperValues<S>;
}
