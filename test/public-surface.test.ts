// No public function ignores an argument it was given. This walks every exported function and
// class of the package (namespaces included) and every method of Tensor, Module, Optimizer,
// schedulers and DataLoader, calls each with valid arguments plus one more, and expects a
// ValueError saying how many it takes. Valid arguments come from the parameter names (read from
// the function's source: a parameter `x` gets a tensor, `dim` gets 0, `options` gets {} ...) and
// a table of exceptions for the calls those names do not describe. A second walk passes an option
// object with an unknown key wherever a function takes `options`, expecting the key to be named.
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as W from "../src/index.js";

type Fn = (...a: unknown[]) => unknown;

/** Every exported function and class, by dotted name (namespaces walked; each value once). */
function surface(): [string, Fn][] {
  const seen = new Set<unknown>();
  const out: [string, Fn][] = [];
  const walk = (obj: Record<string, unknown>, prefix: string, depth: number) => {
    for (const [k, v] of Object.entries(obj)) {
      const name = prefix ? `${prefix}.${k}` : k;
      if (typeof v === "function") {
        if (!seen.has(v)) out.push([name, v as Fn]);
        seen.add(v);
      } else if (v !== null && typeof v === "object" && depth < 3) walk(v as Record<string, unknown>, name, depth + 1);
    }
  };
  walk(W as unknown as Record<string, unknown>, "", 0);
  return out;
}

const isClass = (f: unknown) => typeof f === "function" && /^class\b/.test(Function.prototype.toString.call(f));

/** The parameter names of a function or class constructor, from its source ("...rest" for rest). */
function paramNames(f: Fn): string[] {
  let src = Function.prototype.toString.call(f);
  if (/^class\b/.test(src)) {
    const i = src.indexOf("constructor(");
    if (i < 0) return paramNames(Object.getPrototypeOf(f) as Fn);
    src = src.slice(i + "constructor".length);
  } else {
    const arrow = /^(?:async\s+)?(\w+)\s*=>/.exec(src);
    if (arrow) return [arrow[1]];
  }
  const out: string[] = [];
  let depth = 0,
    cur = "";
  for (let i = src.indexOf("(") + 1; i < src.length; i++) {
    const c = src[i];
    if (c === ")" && depth === 0) break;
    if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) depth--;
    if (c === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
    } else cur += c;
  }
  if (cur.trim() !== "") out.push(cur.trim());
  return out.map((p) => p.split("=")[0].trim());
}

const dir = mkdtempSync(join(tmpdir(), "wasmgrad-surface-"));
const t2 = () =>
  W.tensor([
    [1, 2],
    [3, 4],
  ]);
const model = () => new W.nn.Linear(2, 2);
const sgd = () => new W.optim.SGD(model().parameters(), { lr: 0.1 });

/** A valid value for a parameter of this name. */
function valueFor(name: string): unknown {
  if (["x", "input", "a", "b", "t", "tensor", "source", "src", "other", "self", "output", "values", "y"].includes(name)) return t2();
  if (["dim", "dim0", "dim1", "start", "startDim", "source0"].includes(name)) return 0;
  if (["endDim", "end"].includes(name)) return 1;
  if (["keepdim", "errorIfNonfinite", "training", "value0"].includes(name)) return false;
  if (["options", "opts"].includes(name)) return {};
  if (["shape", "normalizedShape", "sizes"].includes(name)) return [2];
  if (["params", "parameters"].includes(name)) return model().parameters();
  if (["optimizer"].includes(name)) return sgd();
  if (["tensors", "inputs"].includes(name)) return [t2(), t2()];
  if (["generator"].includes(name)) return new W.Generator(1);
  if (
    [
      "seed",
      "n",
      "k",
      "steps",
      "splitSize",
      "size",
      "outputSize",
      "kernelSize",
      "inChannels",
      "outChannels",
      "inputSize",
      "hiddenSize",
      "inFeatures",
      "outFeatures",
      "numFeatures",
      "numEmbeddings",
      "embeddingDim",
      "chunks",
    ].includes(name)
  )
    return 2;
  if (
    ["value", "low", "mean", "alpha", "beta", "eps", "threshold", "negativeSlope", "p", "maxNorm", "normType", "min", "max", "std", "high", "scalar"].includes(
      name,
    )
  )
    return 1;
  if (["name", "what", "op", "owner", "message"].includes(name)) return "x";
  if (["fn"].includes(name)) return (v: unknown) => v;
  if (["path", "file"].includes(name)) return join(dir, "surface.safetensors");
  return undefined;
}

/** Calls whose valid arguments the names do not give (function name → arguments). */
const VALID: Record<string, () => unknown[]> = {
  tensor: () => [[1, 2], {}],
  zeros: () => [[2], {}],
  ones: () => [[2], {}],
  arange: () => [0, 3, 1, {}],
  linspace: () => [0, 1, 3, {}],
  eye: () => [2, 2, {}],
  randint: () => [0, 3, [2], {}],
  setDetectAnomaly: () => [false],
  Parameter: () => [t2(), true],
  StepLR: () => [sgd(), { stepSize: 1 }],
  MultiStepLR: () => [sgd(), { milestones: [1] }],
  ExponentialLR: () => [sgd(), { gamma: 0.9 }],
  CosineAnnealingLR: () => [sgd(), { TMax: 2 }],
  createBackend: () => ["wasm", {}],
  maxPool2d: () => [W.zeros([1, 1, 2, 2]), 2, {}],
  avgPool2d: () => [W.zeros([1, 1, 2, 2]), 2, {}],
  DataLoader: () => [new W.data.TensorDataset(t2()), {}],
  parseIdxFile: () => [Uint8Array.of(0, 0, 8, 1, 0, 0, 0, 1, 7), "one.idx", 1, {}],
  saveSafetensors: () => [{ w: t2() }, join(dir, "surface.safetensors"), {}],
  split: () => [t2(), 1, 0],
  chunk: () => [t2(), 2, 0],
  where: () => [t2().gt(2), t2(), t2()],
  tril: () => [t2(), 0],
  triu: () => [t2(), 0],
  cat: () => [[t2(), t2()], 0],
  stack: () => [[t2(), t2()], 0],
  scaledDotProductAttention: () => [t2(), t2(), t2(), {}],
  MultiheadAttention: () => [4, 2, {}],
  TransformerEncoderLayer: () => [4, 2, {}],
  TransformerDecoderLayer: () => [4, 2, {}],
  TokenWindows: () => [Int32Array.of(1, 2, 3, 4), { blockSize: 2 }],
  estimateLoss: () => [
    new W.models.GPT({ vocabSize: 5, blockSize: 2, nLayer: 1, nHead: 1, nEmbd: 2 }),
    { val: Int32Array.of(1, 2, 3) },
    { iters: 1, batchSize: 1 },
  ],
};

/**
 * What a call with one argument too many did: "ok" for the ValueError that counts arguments. A
 * function with a rest parameter (zeros(...dims), Sequential(...modules)) takes any number, so for
 * it any ValueError naming the function is the right answer (the extra value is not a dim).
 */
async function tooMany(name: string, rest: boolean, call: () => unknown): Promise<string> {
  const judge = (e: unknown) =>
    e instanceof W.ValueError && (/expected at most \d+ arguments?, got \d+/.test(e.message) || (rest && e.message.startsWith(name)))
      ? "ok"
      : `threw ${(e as Error).name}: ${(e as Error).message.slice(0, 160)}`;
  try {
    const r = call();
    if (r instanceof Promise) await r; // async functions reject instead of throwing
    // Generator methods (children(), modules()) run their body, and so their check, at the first next().
    if (r !== null && typeof r === "object" && typeof (r as Iterator<unknown>).next === "function" && !(r instanceof W.Tensor)) (r as Iterator<unknown>).next();
    return "returned normally";
  } catch (e) {
    return judge(e);
  }
}

const EXTRA = "one argument too many";

describe("every exported function and class rejects an extra argument", () => {
  // Not walked: error classes (they take a message, as Error does) and autograd.Function, which is
  // never instantiated (subclasses define static forward/backward and are called through apply).
  const entries = surface().filter(([name, f]) => !(isClass(f) && (f as { prototype: unknown }).prototype instanceof Error) && name !== "autograd.Function");
  it("the walk covers the whole surface", () => expect(entries.length).toBeGreaterThan(200));
  it.each(entries)("%s", async (name, f) => {
    const short = name.split(".").pop()!;
    const params = paramNames(f);
    const args = VALID[short]?.() ?? params.filter((p) => !p.startsWith("...")).map(valueFor);
    const call = isClass(f) ? () => new (f as unknown as new (...a: unknown[]) => unknown)(...args, EXTRA) : () => f(...args, EXTRA);
    const rest = params.some((p) => p.startsWith("..."));
    expect(await tooMany(f.name || short, rest, call), `${name}(${params.join(", ")})`).toBe("ok");
  });
});

/** Own and inherited methods of an object up to (not including) `stopAt`'s prototype chain. */
function methodsOf(obj: object, stopAt: object | null): [string, Fn][] {
  const out: [string, Fn][] = [];
  const seen = new Set<string>();
  for (let p = Object.getPrototypeOf(obj); p !== null && p !== stopAt; p = Object.getPrototypeOf(p)) {
    for (const k of Object.getOwnPropertyNames(p)) {
      const d = Object.getOwnPropertyDescriptor(p, k)!;
      if (k === "constructor" || seen.has(k) || typeof d.value !== "function") continue;
      seen.add(k);
      out.push([k, d.value as Fn]);
    }
  }
  return out;
}

/** Method calls whose valid arguments the names do not give. */
const METHOD_VALID: Record<string, () => unknown[]> = {
  reshape: () => [[4]],
  view: () => [[4]],
  permute: () => [1, 0],
  expand: () => [2, 2],
  repeat: () => [1, 1],
  index: () => [0],
  to: () => ["float32"],
  narrow: () => [0, 0, 1],
  select: () => [0, 0],
  slice: () => [0, 0, 1, 1],
  indexSelect: () => [0, W.tensor([0], { dtype: "int32" })],
  gather: () => [0, W.tensor([[0, 0]], { dtype: "int32" })],
  scatterAdd: () => [0, W.tensor([[0, 0]], { dtype: "int32" }), t2()],
  maskedFill: () => [t2().gt(2), 0],
  split: () => [1, 0],
  chunk: () => [2, 0],
  unflatten: () => [0, [2, 1]],
  movedim: () => [0, 1],
  viewAs: () => [t2()],
  expandAs: () => [t2()],
  loadStateDict: () => [],
  register_buffer: () => [],
};

/** Methods declared protected or private in src/ (TypeScript-only privacy: they exist at run time). */
const NOT_PUBLIC = new Set(
  readdirSync(join(import.meta.dirname, "../src"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .flatMap((f) =>
      [
        ...readFileSync(join(import.meta.dirname, "../src", f), "utf8").matchAll(
          /^\s+(?:declare\s+)?(?:protected|private)\s+(?:abstract\s+|override\s+|readonly\s+)*\*?(\w+)\s*[(<]/gm,
        ),
      ].map((m) => m[1]),
    ),
);

describe("every method of the main classes rejects an extra argument", () => {
  const x = t2();
  const m = model();
  const opt = sgd();
  const sched = new W.optim.lrScheduler.StepLR(opt, { stepSize: 1 });
  const loader = new W.DataLoader(new W.data.TensorDataset(x), { batchSize: 1 });
  // Methods a walk cannot call meaningfully: those that need a state dict of their own (checked
  // in their tests with real states), and backward (needs a graph; checked in gradients tests).
  const SKIP = new Set(["loadStateDict", "backward", "dispose", "keep", "forward", "registerBuffer", "registerParameter", "apply"]);
  for (const [label, obj, stop] of [
    ["Tensor", x, Object.prototype],
    ["Module (nn.Linear)", m, Object.prototype],
    ["Optimizer (SGD)", opt, Object.prototype],
    ["LRScheduler (StepLR)", sched, Object.prototype],
    ["DataLoader", loader, Object.prototype],
  ] as const) {
    const methods = methodsOf(obj, stop).filter(([k]) => !SKIP.has(k) && !k.startsWith("_") && !NOT_PUBLIC.has(k));
    it.each(methods)(`${label}.%s`, async (name, fn) => {
      const params = paramNames(fn);
      const args = METHOD_VALID[name]?.() ?? params.filter((p) => !p.startsWith("...")).map(valueFor);
      const rest = params.some((p) => p.startsWith("..."));
      expect(await tooMany(name, rest, () => fn.apply(obj, [...args, EXTRA])), `${label}.${name}(${params.join(", ")})`).toBe("ok");
    });
  }
});

describe("every exported function and class that takes options rejects an unknown option key", () => {
  // Abstract bases (their subclasses check the options they take) are not constructed here.
  const ABSTRACT = new Set(["optim.Optimizer", "optim.lrScheduler.LRScheduler", "data.transforms.RandomGeometric"]);
  const withOptions = surface().filter(([name, f]) => paramNames(f).includes("options") && !ABSTRACT.has(name));
  it("the walk finds the option-taking API", () => expect(withOptions.length).toBeGreaterThan(60));
  it.each(withOptions)("%s", (name, f) => {
    const short = name.split(".").pop()!;
    const params = paramNames(f);
    const at = params.indexOf("options");
    const args = (VALID[short]?.() ?? params.map(valueFor)).slice(0, at + 1);
    while (args.length < at + 1) args.push(undefined);
    const valid = args[at];
    args[at] = { ...(valid !== null && typeof valid === "object" ? valid : {}), noSuchOption: 1 };
    let error: unknown = null;
    try {
      const r = isClass(f) ? new (f as unknown as new (...a: unknown[]) => unknown)(...args) : f(...args);
      if (r instanceof Promise) r.catch(() => undefined);
    } catch (e) {
      error = e;
    }
    expect(error, `${name}(${params.join(", ")}) accepted { noSuchOption }`).toBeInstanceOf(W.ValueError);
    expect((error as Error).message).toMatch(/noSuchOption/);
  });
});
