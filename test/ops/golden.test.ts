// The general tensor ops against real PyTorch 1.13 (test/reference/tensor_ops.py wrote the golden
// file): for every case the output and the gradient of sum(out · R) w.r.t. each float input, on
// the wasm and the js backend, to float32 tolerance.
import { describe, expect, it } from "vitest";
import { type Backend, createBackend } from "../../src/backend/index.js";
import { type Tensor, arange, ops } from "../../src/index.js";
import { type GoldenTensor, loadGolden, toTensor } from "../helpers/golden.js";

interface Case {
  inputs: GoldenTensor[];
  output: GoldenTensor;
  R: GoldenTensor;
  grads: (GoldenTensor | null)[];
}
const golden = loadGolden<{ cases: Record<string, Case> }>("tensor_ops");

const ar = (be: Backend, ...shape: number[]) =>
  arange(
    0,
    shape.reduce((a, b) => a * b, 1),
    { dtype: "float32", backend: be },
  ).reshape(shape);

/** Our version of each case, given the golden inputs as tensors on `be`. */
const CASES: Record<string, (xs: Tensor[], be: Backend) => Tensor> = {
  add_bcast: ([a, b]) => a.add(b),
  sub_bcast: ([a, b]) => a.sub(b),
  mul_bcast: ([a, b]) => a.mul(b),
  div_bcast: ([a, b]) => a.div(b),
  div_scalar: ([a]) => a.div(3),
  pow_tensor: ([a, b]) => a.pow(b),
  maximum_ties: ([a, b]) => a.maximum(b),
  minimum_bcast: ([a, b]) => a.minimum(b),
  where_bcast: ([c, a, b]) => ops.where(c, a, b),
  masked_fill: ([a, m]) => a.maskedFill(m, -2.5),
  exp: ([x]) => x.exp(),
  log: ([x]) => x.log(),
  log1p: ([x]) => x.log1p(),
  expm1: ([x]) => ops.expm1(x),
  sqrt: ([x]) => x.sqrt(),
  rsqrt: ([x]) => x.rsqrt(),
  sin: ([x]) => x.sin(),
  cos: ([x]) => x.cos(),
  tanh: ([x]) => x.tanh(),
  sigmoid: ([x]) => x.sigmoid(),
  logsigmoid: ([x]) => ops.logSigmoid(x),
  gelu: ([x]) => ops.gelu(x),
  gelu_tanh: ([x]) => ops.gelu(x, { approximate: "tanh" }),
  silu: ([x]) => ops.silu(x),
  softplus: ([x]) => ops.softplus(x, 2, 5),
  leaky_relu: ([x]) => ops.leakyRelu(x, 0.1),
  elu: ([x]) => ops.elu(x, 1.5),
  clamp: ([x]) => x.clamp(-0.5, 0.7),
  abs: ([x]) => x.abs(),
  pow3: ([x]) => x.pow(3),
  pow_half: ([x]) => x.pow(0.5),
  pow_2_7: ([x]) => x.pow(2.7),
  square: ([x]) => x.square(),
  reciprocal: ([x]) => ops.reciprocal(x),
  sum_dim1: ([x]) => x.sum(1),
  sum_dims02_keepdim: ([x]) => x.sum([0, 2], true),
  mean_last: ([x]) => x.mean(-1),
  mean_all: ([x]) => x.mean(),
  prod_dim1: ([x]) => x.prod(1),
  max_dim1: ([x]) => x.max(1).values,
  min_dim0_keepdim: ([x]) => x.min(0, true).values,
  amax_all: ([x]) => x.max(),
  var_dim1: ([x]) => x.var(1),
  var_population: ([x]) => x.var(1, { correction: 0 }),
  std_dims02: ([x]) => x.std([0, 2]),
  logsumexp_dim1: ([x]) => x.logsumexp(1),
  norm2: ([x]) => x.norm(),
  norm1_dim1: ([x]) => x.norm(1, 1),
  norm3_dim0: ([x]) => x.norm(3, 0),
  cumsum_dim1: ([x]) => x.cumsum(1),
  softmax_dim0: ([x]) => x.softmax(0),
  softmax_dim1: ([x]) => x.softmax(1),
  log_softmax_last: ([x]) => x.logSoftmax(-1),
  matmul_dot: ([a, b]) => a.matmul(b),
  matmul_vec_mat: ([a, b]) => a.matmul(b),
  matmul_mat_vec: ([a, b]) => a.matmul(b),
  matmul_batched: ([a, b]) => a.matmul(b),
  matmul_broadcast: ([a, b]) => a.matmul(b),
  matmul_transposed: ([a, b]) => a.mT.matmul(b.mT),
  bmm: ([a, b]) => ops.bmm(a, b),
  transpose_contiguous: ([x], be) =>
    x
      .transpose(0, 2)
      .contiguous()
      .mul(ar(be, 4, 3, 2)),
  permute_mul: ([x], be) => x.permute(2, 0, 1).mul(ar(be, 4, 2, 3)),
  expand_mul: ([x], be) => x.expand(2, 3, 4).mul(ar(be, 2, 3, 4)),
  narrow: ([x]) => x.narrow(1, 1, 3),
  select: ([x]) => x.select(1, 2),
  slice_step: ([x]) => x.index(":", "1:8:3"),
  cat_dim1: ([a, b, c]) => ops.cat([a, b, c], 1),
  stack_dim1: ([a, b]) => ops.stack([a, b], 1),
  split_second: ([x]) => x.split(3)[1],
  chunk_last: ([x]) => x.chunk(3, 1)[2],
  repeat: ([x]) => x.repeat(2, 1, 2),
  tril: ([x]) => x.tril(1),
  triu: ([x]) => x.triu(-1),
  index_select: ([x, i]) => x.indexSelect(0, i),
  gather: ([x, i]) => x.gather(1, i),
  scatter_add: ([x, i, s]) => x.scatterAdd(0, i, s),
  adv_index_cols: ([x]) => x.index(":", [2, 0]),
  adv_index_negative: ([x]) => x.index([-1, 0, -2]),
  adv_index_mask: ([x]) => x.index(x.gt(0.2)),
  adv_index_two: ([x], be) =>
    x.index(
      ops.to(
        ar(be, 3)
          .mul(0)
          .add(toTensor({ shape: [3], dtype: "int32", data: [0, 3, 1] }, be)),
        "int32",
      ),
      [4, 0, 2],
    ),
};

/** Largest |got - ref| relative to rtol·|ref| + atol; the message names the worst element. */
function compare(label: string, got: ArrayLike<number>, ref: GoldenTensor, rtol: number, atol: number): void {
  expect(got.length, `${label}: length`).toBe(ref.data.length);
  for (let i = 0; i < got.length; i++) {
    const r = Number(ref.data[i]);
    const g = got[i];
    if (Number.isNaN(r)) {
      expect(Number.isNaN(g), `${label}[${i}]: expected NaN, got ${g}`).toBe(true);
      continue;
    }
    const tol = rtol * Math.abs(r) + atol;
    if (!(Math.abs(g - r) <= tol)) expect.fail(`${label}[${i}]: got ${g}, PyTorch ${r} (|diff| ${Math.abs(g - r)} > ${tol})`);
  }
}

describe.each(["wasm", "js"] as const)("general tensor ops vs PyTorch 1.13 [%s]", (name) => {
  const be = createBackend(name);
  it("covers every golden case", () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(golden.cases).sort());
  });
  for (const [caseName, c] of Object.entries(golden.cases)) {
    it(caseName, () => {
      const xs = c.inputs.map((t) => toTensor(t, be, t.dtype === "float32"));
      const y = CASES[caseName](xs, be);
      expect([...y.shape], `${caseName}: shape`).toEqual(c.output.shape);
      const scale = Math.max(1, ...c.output.data.map((v) => Math.abs(Number(v))).filter(Number.isFinite));
      compare(`${caseName} output`, y.toArray(), c.output, 2e-5, 2e-6 * scale);
      y.mul(toTensor(c.R, be)).sum().backward();
      c.grads.forEach((g, k) => {
        if (g === null) return;
        const grad = xs[k].grad;
        expect(grad, `${caseName}: input ${k} has a gradient`).not.toBeNull();
        const gscale = Math.max(1, ...g.data.map((v) => Math.abs(Number(v))).filter(Number.isFinite));
        compare(`${caseName} grad ${k}`, grad!.toArray(), g, 1e-4, 1e-5 * gscale);
      });
    });
  }
});
