// Every loss and option against real PyTorch 1.13 (test/reference/losses.py): the value (reduced
// or per element) and the input's gradient, on both backends; plus the errors for bad targets.
import { describe, expect, it } from "vitest";
import { type Backend, createBackend } from "../../src/backend/index.js";
import { DTypeError, ShapeError, type Tensor, ValueError, nn, ops, tensor } from "../../src/index.js";
import { type GoldenTensor, loadGolden, toTensor } from "../helpers/golden.js";

interface Case {
  input: GoldenTensor;
  target: GoldenTensor;
  output: GoldenTensor;
  R: GoldenTensor;
  grad: GoldenTensor;
}
const golden = loadGolden<{ weight5: GoldenTensor; cases: Record<string, Case> }>("losses");

type Fn = (x: Tensor, t: Tensor, be: Backend, w5: Tensor) => Tensor;
const CASES: Record<string, Fn> = {
  ce_mean: (x, t) => ops.crossEntropy(x, t),
  ce_sum: (x, t) => ops.crossEntropy(x, t, "sum"),
  ce_none: (x, t) => new nn.CrossEntropyLoss({ reduction: "none" })(x, t),
  ce_ignore: (x, t) => new nn.CrossEntropyLoss()(x, t),
  ce_all_ignored: (x, t) => ops.crossEntropy(x, t),
  ce_ignore_index_3: (x, t) => ops.crossEntropy(x, t, { ignoreIndex: 3 }),
  ce_weight: (x, t, _be, w) => new nn.CrossEntropyLoss({ weight: w })(x, t),
  ce_smoothing: (x, t) => ops.crossEntropy(x, t, { labelSmoothing: 0.1 }),
  ce_weight_smoothing_ignore: (x, t, _be, w) => ops.crossEntropy(x, t, { weight: w, labelSmoothing: 0.2 }),
  ce_weight_smoothing_none: (x, t, _be, w) => ops.crossEntropy(x, t, { weight: w, labelSmoothing: 0.2, reduction: "none" }),
  ce_nd: (x, t) => ops.crossEntropy(x, t),
  ce_nd_none: (x, t) => ops.crossEntropy(x, t, "none"),
  ce_unbatched: (x, t) => ops.crossEntropy(x, t),
  ce_probs: (x, t) => ops.crossEntropy(x, t),
  ce_probs_weight_smoothing_sum: (x, t, _be, w) => ops.crossEntropy(x, t, { weight: w, labelSmoothing: 0.3, reduction: "sum" }),
  nll_weight_ignore: (x, t, _be, w) => new nn.NLLLoss({ weight: w })(x, t),
  nll_nd_sum: (x, t) => ops.nllLoss(x, t, "sum"),
  mse_mean: (x, t) => new nn.MSELoss()(x, t),
  l1_mean: (x, t) => new nn.L1Loss()(x, t),
  smooth_l1_beta: (x, t) => new nn.SmoothL1Loss({ beta: 0.5 })(x, t),
  smooth_l1_beta0_none: (x, t) => ops.smoothL1Loss(x, t, { beta: 0, reduction: "none" }),
  huber_delta: (x, t) => new nn.HuberLoss({ delta: 0.7 })(x, t),
  bce_mean: (x, t) => new nn.BCELoss()(x, t),
  bce_weight_none: (x, t, be) => ops.binaryCrossEntropy(x, t, { weight: tensor([0.5, 1, 2], { backend: be }), reduction: "none" }),
  bce_logits: (x, t) => new nn.BCEWithLogitsLoss()(x, t),
  bce_logits_pos_weight: (x, t, be) =>
    new nn.BCEWithLogitsLoss({ weight: tensor([[1], [2], [0.5], [1.5]], { backend: be }), posWeight: tensor([1, 3, 0.5], { backend: be }), reduction: "sum" })(
      x,
      t,
    ),
  kl_batchmean: (x, t) => new nn.KLDivLoss({ reduction: "batchmean" })(x, t),
  kl_zero_target: (x, t) => ops.klDiv(x, t, { reduction: "sum" }),
  kl_log_target_none: (x, t) => ops.klDiv(x, t, { reduction: "none", logTarget: true }),
};

function close(label: string, got: ArrayLike<number>, ref: GoldenTensor): void {
  expect(got.length, `${label}: length`).toBe(ref.data.length);
  for (let i = 0; i < got.length; i++) {
    const r = Number(ref.data[i]);
    if (Number.isNaN(r)) {
      expect(Number.isNaN(got[i]), `${label}[${i}]: expected NaN, got ${got[i]}`).toBe(true);
      continue;
    }
    if (!(Math.abs(got[i] - r) <= 1e-5 * Math.abs(r) + 1e-6)) expect.fail(`${label}[${i}]: got ${got[i]}, PyTorch ${r}`);
  }
}

describe.each(["wasm", "js"] as const)("losses vs PyTorch 1.13 [%s]", (name) => {
  const be = createBackend(name);
  it("covers every golden case", () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(golden.cases).sort());
  });
  for (const [caseName, c] of Object.entries(golden.cases)) {
    it(caseName, () => {
      const x = toTensor(c.input, be, true);
      const t = toTensor(c.target, be);
      const y = CASES[caseName](x, t, be, toTensor(golden.weight5, be));
      expect([...y.shape], `${caseName}: shape`).toEqual(c.output.shape);
      close(`${caseName} loss`, y.toArray(), c.output);
      y.mul(toTensor(c.R, be)).sum().backward();
      close(`${caseName} grad`, x.grad!.toArray(), c.grad);
    });
  }
});

describe("loss errors", () => {
  const x = tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const cls = (v: number[]) => tensor(v, { dtype: "int32" });
  it("name the target, index, dtype and shape", () => {
    expect(() => ops.crossEntropy(x, cls([0, 3]))).toThrow(/target 3 at index 1 is out of range for 3 classes \(expected 0 ≤ target < 3 or ignoreIndex -100\)/);
    expect(() => ops.crossEntropy(x, cls([0]))).toThrow(ShapeError);
    expect(() => ops.crossEntropy(x, tensor([[1, 0, 0]]))).toThrow(/probability targets must have the input's shape \[2, 3\]/);
    expect(() => ops.crossEntropy(x, cls([0, 1]), { weight: tensor([1, 2]) })).toThrow(/weight must have shape \[3\]/);
    expect(() => ops.crossEntropy(x, cls([0, 1]), { labelSmoothing: 1.5 })).toThrow(/labelSmoothing must be a finite number from 0 to 1/);
    expect(() => ops.crossEntropy(x, cls([0, 1]), { ignore_index: 1 } as never)).toThrow(/unknown option 'ignore_index'/);
    expect(() => ops.nllLoss(x, tensor([0, 1]))).toThrow(DTypeError);
    expect(() => new nn.SmoothL1Loss({ beta: -1 })(x, x)).toThrow(ValueError);
    expect(() => new nn.KLDivLoss({ reduction: "avg" as never })).toThrow(/reduction must be 'mean', 'sum', 'none' or 'batchmean'/);
    expect(() => ops.l1Loss(x, tensor([1, 2]))).toThrow(/l1Loss: input \[2, 3\] and target \[2\] must have the same shape/);
  });
  it("keep weights as PyTorch's buffers", () => {
    expect(Object.keys(new nn.CrossEntropyLoss({ weight: tensor([1, 2, 3]) }).stateDict())).toEqual(["weight"]);
    expect(Object.keys(new nn.BCEWithLogitsLoss({ posWeight: tensor([2]) }).stateDict())).toEqual(["pos_weight"]);
    expect(Object.keys(new nn.CrossEntropyLoss().stateDict())).toEqual([]);
  });
});
