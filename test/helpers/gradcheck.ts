// Gradient checking against central finite differences of float64 reference forwards written in
// plain JS (independent of the library). Non-scalar outputs are reduced with a random
// projection: backward(R) must give ∂(Σ R·out)/∂input. Forward values are checked too.
import { expect } from "vitest";
import { createBackend, type Backend } from "../../src/backend/index.js";
import { type Tensor, tensor } from "../../src/tensor.js";
import { Generator } from "../../src/random.js";

export const BACKENDS: readonly Backend[] = [createBackend("wasm"), createBackend("js")];

export type Vec = Float64Array;
export type Reduction = "mean" | "sum" | "none";

export interface InputSpec {
  shape: number[];
  /** requiresGrad (default true) */
  grad?: boolean;
  /** keep |x| ≥ this (away from the kink of relu) */
  awayFromZero?: number;
}

export interface Case {
  name: string;
  inputs: InputSpec[];
  /** the library computation */
  lib: (xs: Tensor[], be: Backend) => Tensor;
  /** the same computation in float64, flat output */
  ref: (xs: Vec[]) => ArrayLike<number>;
}

export const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function makeValues(g: Generator, spec: InputSpec): Vec {
  const v = new Float64Array(numel(spec.shape));
  for (let i = 0; i < v.length; i++) {
    let x = g.uniform(-1.5, 1.5);
    if (spec.awayFromZero) x = Math.sign(x || 1) * (spec.awayFromZero + Math.abs(x));
    v[i] = Math.fround(x);
  }
  return v;
}

/** Central differences of Σ R·ref(xs) with respect to every element of xs[which]. */
export function finiteDiff(c: Case, xs: Vec[], R: ArrayLike<number>, which: number): Vec {
  const f = () => {
    const out = c.ref(xs);
    let s = 0;
    for (let i = 0; i < out.length; i++) s += R[i] * out[i];
    return s;
  };
  const x = xs[which];
  const d = new Float64Array(x.length);
  for (let j = 0; j < x.length; j++) {
    const x0 = x[j];
    const h = 1e-6 * Math.max(1, Math.abs(x0));
    x[j] = x0 + h;
    const fp = f();
    x[j] = x0 - h;
    const fm = f();
    x[j] = x0;
    d[j] = (fp - fm) / (2 * h);
  }
  return d;
}

export function mismatch(label: string, got: ArrayLike<number>, ref: ArrayLike<number>, rtol: number, atol: number): string | null {
  if (got.length !== ref.length) return `${label}: length ${got.length} ≠ ${ref.length}`;
  let scale = 1;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]));
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(got[i] - ref[i]);
    const tol = rtol * Math.abs(ref[i]) + atol * scale;
    if (!(err <= tol)) return `${label}: [${i}] got ${got[i]}, expected ${ref[i]} (|err| ${err} > ${tol})`;
  }
  return null;
}

/**
 * Runs a case on a backend `times` times (fresh graphs, same leaves), checks the forward value
 * and that each leaf's .grad equals `times` × the finite-difference gradient.
 */
export function checkCase(c: Case, be: Backend, seed: number, times = 1): void {
  const g = new Generator(seed);
  const xs = c.inputs.map((s) => makeValues(g, s));
  const ts = xs.map((v, i) => tensor(Float32Array.from(v), { shape: c.inputs[i].shape, backend: be, requiresGrad: c.inputs[i].grad !== false }));
  const refOut = c.ref(xs);
  let R: Float64Array | null = null;
  for (let t = 0; t < times; t++) {
    const out = c.lib(ts, be);
    expect(out.backend).toBe(be);
    expect(mismatch(`${c.name} [${be.name}] forward`, out.toArray(), refOut, 1e-5, 1e-6)).toBeNull();
    expect(out.requiresGrad, `${c.name}: output requires grad`).toBe(true);
    if (out.size === 1) {
      R = new Float64Array([1]);
      out.backward();
    } else {
      R ??= Float64Array.from({ length: out.size }, () => Math.fround(g.uniform(-1, 1)));
      const gt = tensor(Float32Array.from(R), { shape: out.shape, backend: be });
      out.backward(gt);
      gt.dispose();
    }
  }
  c.inputs.forEach((spec, i) => {
    if (spec.grad === false) {
      expect(ts[i].grad, `${c.name}: input ${i} has no requiresGrad, gets no grad`).toBeNull();
      return;
    }
    const fd = finiteDiff(c, xs, R!, i).map((v) => v * times);
    const grad = ts[i].grad;
    expect(grad, `${c.name} [${be.name}]: input ${i} has a grad`).not.toBeNull();
    expect(grad!.shape).toEqual(spec.shape);
    expect(mismatch(`${c.name} [${be.name}] d/dinput${i}${times > 1 ? ` ×${times}` : ""}`, grad!.toArray(), fd, 1e-4, 2e-5)).toBeNull();
  });
  for (const t of ts) {
    t.grad?.dispose();
    t.dispose();
  }
}
