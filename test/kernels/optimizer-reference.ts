// Shared by the SGD and Adam kernel tests: both backends, the lengths tried, and a float64
// reference state with a cancellation-aware tolerance.
import { type Backend, createBackend } from "../../src/backend/index.js";
import type { Generator } from "../../src/random.js";

export const BACKENDS: readonly Backend[] = [createBackend("wasm"), createBackend("js")];
export const LENGTHS = [1, 7, 1001];
export const RTOL = 1e-5;

export function randArray(g: Generator, n: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = g.uniform(-scale, scale);
  return a;
}

/** A float64 state array with the magnitude scale of each element (for a cancellation-aware tolerance). */
export interface Tracked {
  v: Float64Array;
  mag: Float64Array;
}

export const tracked = (init: ArrayLike<number>): Tracked => ({ v: Float64Array.from(init), mag: Float64Array.from(init, Math.abs) });

export function mismatch(label: string, got: ArrayLike<number>, ref: Tracked): string | null {
  for (let i = 0; i < ref.v.length; i++) {
    const err = Math.abs(got[i] - ref.v[i]);
    const tol = RTOL * (Math.abs(ref.v[i]) + ref.mag[i]) + 1e-30;
    if (!(err <= tol)) return `${label}: [${i}] got ${got[i]}, expected ${ref.v[i]} (|err| ${err} > ${tol})`;
  }
  return null;
}
