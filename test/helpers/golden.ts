// Reads the golden files that test/reference/*.py write with real PyTorch (committed, so
// `npm test` needs no Python): tensors as {shape, dtype, data} plus a `meta` header.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Backend } from "../../src/backend/index.js";
import { type Tensor, tensor } from "../../src/tensor.js";

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
