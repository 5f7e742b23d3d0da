// Reads the golden files that test/reference/*.py write with real PyTorch (committed, so
// `npm test` needs no Python): tensors as {shape, dtype, data} plus a `meta` header.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type Backend, createBackend } from "../../src/backend/index.js";
import { setBackend } from "../../src/backend/index.js";
import { type Tensor, tensor } from "../../src/tensor.js";
import type { Module } from "../../src/nn/module.js";

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), "../reference/golden");

/** A tensor as a generator wrote it. */
export interface GoldenTensor {
  shape: number[];
  dtype: "float32" | "int32" | "bool";
  data: (number | boolean)[];
}

/** The parsed golden file test/reference/golden/<name>.json. */
export function loadGolden<T = Record<string, unknown>>(name: string): T & { meta: Record<string, unknown> } {
  const text = readFileSync(join(GOLDEN, `${name}.json`), "utf8")
    .replace(/\bNaN\b/g, '"NaN"')
    .replace(/-Infinity\b/g, '"-Infinity"')
    .replace(/(?<!-)\bInfinity\b/g, '"Infinity"');
  return JSON.parse(text, (_k, v) => (v === "NaN" ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v)) as T & {
    meta: Record<string, unknown>;
  };
}

/** A golden tensor on `backend` (optionally requiring grad). */
export function toTensor(g: GoldenTensor, backend: Backend, requiresGrad = false): Tensor {
  const data = g.dtype === "bool" ? g.data.map((v) => (v ? 1 : 0)) : (g.data as number[]);
  const t = tensor(g.dtype === "float32" ? Float32Array.from(data) : Int32Array.from(data), { shape: g.shape, backend, dtype: g.dtype });
  if (requiresGrad) t.requiresGrad = true;
  return t;
}

/** One module case of a generator's `case()`: state dict, inputs, outputs and gradients. */
export interface ModuleCase {
  state: Record<string, GoldenTensor>;
  inputs: GoldenTensor[];
  outputs: GoldenTensor[];
  R: GoldenTensor[];
  inputGrads: (GoldenTensor | null)[];
  paramGrads: Record<string, GoldenTensor>;
}

/** How to build our module for a case and call it (outputs as a list, like the generator's). */
export interface ModuleSpec {
  make: () => Module;
  call?: (m: Module, xs: Tensor[]) => Tensor[];
}

/** Every element within rtol·|ref| + atol·max(1, max |ref|), naming the first that is not. */
export function expectGoldenClose(label: string, got: ArrayLike<number>, ref: GoldenTensor, rtol: number, atol: number): void {
  expect(got.length, `${label}: length`).toBe(ref.data.length);
  const scale = Math.max(1, ...ref.data.map((v) => Math.abs(Number(v))));
  for (let i = 0; i < got.length; i++) {
    const r = Number(ref.data[i]);
    if (!(Math.abs(got[i] - r) <= rtol * Math.abs(r) + atol * scale)) expect.fail(`${label}[${i}]: got ${got[i]}, PyTorch ${r}`);
  }
}

/**
 * Loads the torch state dict unchanged (same keys and shapes) into our module, runs the case and
 * checks outputs, input gradients and every parameter's gradient against PyTorch's.
 */
export function checkModuleCase(caseName: string, c: ModuleCase, spec: ModuleSpec, be: Backend, tol = { out: 1e-5, grad: 1e-4 }): void {
  const m = spec.make();
  const ours = m.stateDict();
  expect(Object.keys(ours), `${caseName}: state-dict keys`).toEqual(Object.keys(c.state));
  m.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, toTensor(v, be)])));
  const xs = c.inputs.map((t, k) => toTensor(t, be, t.dtype === "float32" && c.inputGrads[k] !== null));
  const outs = spec.call ? spec.call(m, xs) : [m(...xs) as Tensor];
  expect(outs.length).toBe(c.outputs.length);
  outs.forEach((o, k) => {
    expect([...o.shape], `${caseName} output ${k} shape`).toEqual(c.outputs[k].shape);
    expectGoldenClose(`${caseName} output ${k}`, o.toArray(), c.outputs[k], tol.out, tol.out / 10);
  });
  let loss = outs[0].mul(toTensor(c.R[0], be)).sum();
  for (let k = 1; k < outs.length; k++) loss = loss.add(outs[k].mul(toTensor(c.R[k], be)).sum());
  loss.backward();
  c.inputGrads.forEach((g, k) => {
    if (g !== null) expectGoldenClose(`${caseName} input ${k} grad`, xs[k].grad!.toArray(), g, tol.grad, tol.grad / 10);
  });
  const params = Object.fromEntries(m.namedParameters());
  expect(Object.keys(c.paramGrads).sort()).toEqual(
    Object.keys(params)
      .filter((k) => params[k].grad !== null)
      .sort(),
  );
  for (const [k, g] of Object.entries(c.paramGrads)) expectGoldenClose(`${caseName} ${k} grad`, params[k].grad!.toArray(), g, tol.grad, tol.grad / 10);
}

/**
 * One describe per backend (wasm, js) with a test per golden case: `cases` must cover every case
 * of the file, each checked by checkModuleCase.
 */
export function describeModuleCases(title: string, golden: { cases: Record<string, ModuleCase> }, cases: Record<string, ModuleSpec>): void {
  describe.each(["wasm", "js"] as const)(`${title} [%s]`, (name) => {
    const be: Backend = createBackend(name);
    it("covers every golden case", () => {
      expect(Object.keys(cases).sort()).toEqual(Object.keys(golden.cases).sort());
    });
    for (const [caseName, c] of Object.entries(golden.cases)) {
      it(caseName, () => {
        setBackend(be);
        checkModuleCase(caseName, c, cases[caseName], be);
      });
    }
  });
}
