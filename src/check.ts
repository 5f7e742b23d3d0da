// Argument checks shared by the public API: every option is checked (type, range, unknown
// names) before anything runs, and the error names the owner, the argument and what was expected.
import { ValueError } from "./errors.js";
import { Generator } from "./random.js";

/** A short description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "object") {
    const shape = (v as { shape?: unknown }).shape;
    if (Array.isArray(shape) && "storage" in v) return `a Tensor of shape [${shape.join(", ")}]`;
    return `an object (${(v as object).constructor?.name ?? "Object"})`;
  }
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === "function") return "a function";
  return `${typeof v} ${String(v)}`;
}

/**
 * `options` must be undefined or an object whose keys are all in `allowed` (a misspelled option
 * would otherwise be ignored in silence).
 */
export function checkOptions(owner: string, options: unknown, allowed: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new ValueError(`${owner}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new ValueError(`${owner}: unknown option '${key}' (expected ${allowed.map((k) => `'${k}'`).join(", ")})`);
    }
  }
}

/** An integer ≥ min (and ≤ max). */
export function checkInt(owner: string, name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): asserts v is number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new ValueError(`${owner}: ${name} must be an integer ${range}, got ${describe(v)}`);
  }
}

/** A finite number ≥ min (and ≤ max). */
export function checkFiniteNumber(owner: string, name: string, v: unknown, min = -Infinity, max = Infinity): asserts v is number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
    const range = min > -Infinity && max < Infinity ? ` from ${min} to ${max}` : min > -Infinity ? ` ≥ ${min}` : max < Infinity ? ` ≤ ${max}` : "";
    throw new ValueError(`${owner}: ${name} must be a finite number${range}, got ${describe(v)}`);
  }
}

export function checkBool(owner: string, name: string, v: unknown): asserts v is boolean {
  if (typeof v !== "boolean") throw new ValueError(`${owner}: ${name} must be true or false, got ${describe(v)}`);
}

/** A seeded Generator (random.ts), e.g. for shuffling or initialisation. */
export function checkGenerator(owner: string, name: string, v: unknown): asserts v is Generator {
  if (!(v instanceof Generator)) throw new ValueError(`${owner}: ${name} must be a Generator, got ${describe(v)}`);
}

export function checkFunction(owner: string, name: string, v: unknown): void {
  if (typeof v !== "function") throw new ValueError(`${owner}: ${name} must be a function, got ${describe(v)}`);
}

/** Bytes as a Uint8Array (any typed-array view or ArrayBuffer, also from another realm), else null. */
export function asBytes(v: unknown): Uint8Array | null {
  if (v instanceof Uint8Array) return v;
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const tag = Object.prototype.toString.call(v);
  if (tag === "[object ArrayBuffer]" || tag === "[object SharedArrayBuffer]") return new Uint8Array(v as ArrayBuffer);
  return null;
}

/**
 * Throws a ValueError when a public function or method got more positional arguments than it
 * takes (JavaScript ignores extras silently; a misplaced option or a PyTorch-style keyword
 * argument would otherwise vanish). Pass the function's `arguments`.
 */
export function checkArgCount(owner: string, args: { length: number }, max: number): void {
  if (args.length > max) {
    throw new ValueError(
      `${owner}: expected at most ${max} argument${max === 1 ? "" : "s"}, got ${args.length} (pass options as one object where the function takes them)`,
    );
  }
}
