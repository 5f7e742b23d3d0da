// nn.utils.clipGradNorm_ / clipGradValue_ / getTotalNorm against hand-computed norms, on both
// backends (the 2-norm goes through each backend's sumsq kernel, the scaling through affine).
import { beforeEach, describe, expect, it } from "vitest";
import { ValueError, nn, setBackend, tensor, type Tensor } from "../src/index.js";
import { createBackend, type Backend } from "../src/backend/index.js";

const { clipGradNorm_, clipGradValue_, getTotalNorm } = nn.utils;

beforeEach(() => setBackend("wasm"));

/** Parameters on `be` whose gradients are the given arrays (null: no gradient). */
function params(be: Backend, grads: (number[] | null)[]): nn.Parameter[] {
  return grads.map((g, i) => {
    const p = new nn.Parameter(tensor(new Array(g?.length ?? i + 1).fill(1), { backend: be }));
    if (g !== null) p.grad = tensor(g, { backend: be }).keep();
    return p;
  });
}
const gradsOf = (ps: nn.Parameter[]) => ps.map((p) => (p.grad === null ? null : p.grad.toArray()));
/** What the affine kernel gives: the float32 product of the float32 gradient and float32 coefficient. */
const scaled = (g: number[], coef: number) => g.map((v) => Math.fround(Math.fround(v) * Math.fround(coef)));

// 3, −4, 12, 84 and zeros: Σg² = 9 + 16 + 144 + 7056 = 7225 = 85², Σ|g| = 103, max |g| = 84.
// Lengths 7 and 5 exercise the SIMD kernels' tails.
const A = [3, -4, 0, 0, 12, 0, 0];
const B = [0, 0, 84, 0, 0];

for (const name of ["wasm", "js"] as const) {
  describe(`clipGradNorm_ (${name} backend)`, () => {
    const be = createBackend(name);

    it("2-norm over all gradients together; scales by maxNorm/(total + 1e-6); returns the total", () => {
      const ps = params(be, [A, null, B]);
      const total = clipGradNorm_(ps, 5);
      expect(total).toBe(85);
      const coef = 5 / (85 + 1e-6);
      expect(gradsOf(ps)).toEqual([scaled(A, coef), null, scaled(B, coef)]);
      // The new norm is maxNorm (to float32 rounding).
      expect(getTotalNorm(ps.filter((p) => p.grad !== null).map((p) => p.grad!))).toBeCloseTo(5, 5);
    });

    it("a coefficient ≥ 1 leaves the gradients untouched (PyTorch clamps it to 1)", () => {
      const ps = params(be, [A, B]);
      expect(clipGradNorm_(ps, 100)).toBe(85);
      expect(gradsOf(ps)).toEqual([A, B]);
    });

    it("inf, 1 and 3 norms", () => {
      for (const [normType, want] of [
        [Infinity, 84],
        ["inf", 84],
        [1, 103],
        [3, Math.cbrt(27 + 64 + 1728 + 84 ** 3)],
      ] as const) {
        const ps = params(be, [A, B]);
        const total = clipGradNorm_(ps, 2, normType);
        expect(total).toBeCloseTo(want, 12);
        const coef = 2 / (total + 1e-6);
        expect(gradsOf(ps)).toEqual([scaled(A, coef), scaled(B, coef)]);
      }
    });

    it("sums squares in float64: 100003 gradients of 0.1", () => {
      const n = 100003;
      const ps = params(be, [new Array(n).fill(0.1)]);
      const g = Math.fround(0.1);
      // float32 accumulation would be off by ~1e-4 relative here.
      expect(clipGradNorm_(ps, 1e9)).toBeCloseTo(Math.sqrt(n * g * g), 9);
    });

    it("non-finite norms: NaN gradients stay NaN, ±inf → coefficient 0, errorIfNonfinite throws and changes nothing", () => {
      const nan = params(be, [[1, NaN, 2]]);
      expect(clipGradNorm_(nan, 1)).toBeNaN();
      expect(gradsOf(nan)[0]!.every(Number.isNaN)).toBe(true);

      const inf = params(be, [[Infinity, 1], [-2]]);
      expect(clipGradNorm_(inf, 1)).toBe(Infinity);
      expect(gradsOf(inf)).toEqual([[NaN, 0], [0]]); // inf·0 = NaN, as in torch

      const strict = params(be, [[1, NaN], [3]]);
      expect(() => clipGradNorm_(strict, 1, 2, true)).toThrow(/non-finite/);
      expect(() => clipGradNorm_(params(be, [[Infinity]]), 1, "inf", true)).toThrow(ValueError);
      expect(gradsOf(strict)[1]).toEqual([3]);
    });

    it("clipGradValue_ clamps each element to ±clipValue; NaN stays NaN", () => {
      const ps = params(be, [[-3, -0.5, 0, 0.25, 7, NaN, 1.5], null]);
      clipGradValue_(ps, 1.5);
      expect(gradsOf(ps)).toEqual([[-1.5, -0.5, 0, 0.25, 1.5, NaN, 1.5], null]);
    });
  });
}

describe("clipGradNorm_ in training", () => {
  it("matches the norm of the gradients backward() produced, for a single tensor and for a model", () => {
    const model = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 2));
    const x = tensor([
      [1, -2, 3, 0.5],
      [0.1, 0.2, -0.3, 4],
    ]);
    (model(x) as Tensor).mul(10).sum().backward();
    const grads = model.parameters().map((p) => p.grad!.toArray());
    const want = Math.sqrt(grads.flat().reduce((s, g) => s + g * g, 0));
    expect(want).toBeGreaterThan(1);
    const total = clipGradNorm_(model.parameters(), 1);
    expect(total).toBeCloseTo(want, 10);
    const after = model.parameters().map((p) => p.grad!.toArray());
    expect(after).toEqual(grads.map((g) => scaled(g, 1 / (total + 1e-6))));

    const w = model.parameters()[0];
    const single = clipGradNorm_(w, 0.01);
    expect(single).toBeCloseTo(Math.sqrt(after[0].reduce((s, g) => s + g * g, 0)), 10);
  });

  it("no gradients: returns 0; bad arguments throw", () => {
    const p = new nn.Parameter(tensor([1, 2]));
    expect(clipGradNorm_([p], 1)).toBe(0);
    p.grad = tensor([1, 1]).keep();
    expect(() => clipGradNorm_([p], 1, 0)).toThrow(/unsupported normType 0/);
    expect(() => clipGradNorm_([p], NaN)).toThrow(ValueError);
    expect(() => clipGradValue_([p], NaN)).toThrow(ValueError);
  });
});
