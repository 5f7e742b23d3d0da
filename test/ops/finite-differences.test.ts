// Every differentiable op of the general tensor API against central finite differences (taken in
// float64, autograd.gradcheck) on both backends, with broadcast shapes, odd sizes and
// non-contiguous (transposed/sliced) inputs. The forward values themselves are checked against
// torch in golden.test.ts; this checks each backward against its own forward.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Tensor, autograd, ops, setBackend, tensor } from "../../src/index.js";
import { Generator } from "../../src/random.js";

/** positive: inputs in [0.3, 1.5]; avoid: inputs kept 0.05 away from these kinks. */
type Case = [name: string, shapes: number[][], fn: (...xs: Tensor[]) => Tensor, opts?: { positive?: boolean; avoid?: number[]; atol?: number }];

const T = (x: Tensor) => x.mT; // a transposed (non-contiguous) view of the input
const cases: Case[] = [
  // broadcasting binary ops, both operands broadcast, one transposed
  [
    "add [3,1,5]+[4,1]",
    [
      [3, 1, 5],
      [4, 1],
    ],
    (a, b) => a.add(b),
  ],
  ["sub [5,3]ᵀ-[5]", [[5, 3], [5]], (a, b) => T(a).sub(b.unsqueeze(0).expand(3, 5))],
  [
    "mul [2,3,1]*[1,4]",
    [
      [2, 3, 1],
      [1, 4],
    ],
    (a, b) => a.mul(b),
  ],
  ["div [3,4]/[4] (b > 0)", [[3, 4], [4]], (a, b) => a.div(b), { positive: true }],
  [
    "pow tensor^tensor",
    [
      [3, 4],
      [3, 4],
    ],
    (a, b) => a.pow(b),
    { positive: true },
  ],
  ["pow scalar exponent 2.5", [[7]], (a) => a.pow(2.5), { positive: true }],
  ["maximum/minimum", [[3, 5], [5]], (a, b) => ops.maximum(a, b).add(ops.minimum(a, b.mul(2))), { avoid: [0] }],
  ["where(cond, a, b)", [[4, 3], [3]], (a, b) => ops.where(a.gt(0), a.mul(3), b)],
  ["maskedFill", [[4, 5]], (a) => ops.maskedFill(a, a.lt(-0.2), 0.5)],
  // elementwise math on a transposed view
  ...(
    [
      ["exp", (x: Tensor) => x.exp()],
      ["tanh", (x: Tensor) => x.tanh()],
      ["sigmoid", (x: Tensor) => x.sigmoid()],
      ["sin", (x: Tensor) => x.sin()],
      ["cos", (x: Tensor) => x.cos()],
      ["gelu erf", (x: Tensor) => ops.gelu(x)],
      ["gelu tanh", (x: Tensor) => ops.gelu(x, { approximate: "tanh" })],
      ["silu", (x: Tensor) => ops.silu(x)],
      ["softplus", (x: Tensor) => ops.softplus(x)],
      ["leakyRelu", (x: Tensor) => ops.leakyRelu(x, 0.1)],
      ["elu", (x: Tensor) => ops.elu(x)],
      ["logSigmoid", (x: Tensor) => ops.logSigmoid(x)],
      ["neg", (x: Tensor) => x.neg()],
      ["abs", (x: Tensor) => x.abs()],
      ["clamp", (x: Tensor) => x.clamp(-0.5, 0.4)],
      ["square", (x: Tensor) => x.square()],
    ] as const
  ).map(([n, f]): Case => [`${n} (transposed input)`, [[5, 7]], (x) => f(T(x)), { avoid: n === "clamp" ? [-0.5, 0.4] : [0] }]),
  ...(
    [
      ["log", (x: Tensor) => x.log()],
      ["log1p", (x: Tensor) => x.log1p()],
      ["sqrt", (x: Tensor) => x.sqrt()],
      ["rsqrt", (x: Tensor) => x.rsqrt()],
      ["reciprocal", (x: Tensor) => x.reciprocal()],
    ] as const
  ).map(([n, f]): Case => [`${n} (positive, transposed)`, [[4, 6]], (x) => f(T(x)), { positive: true }]),
  // reductions over dims
  ["sum dims [0,2] keepdim", [[3, 4, 5]], (x) => x.sum([0, 2], true)],
  ["mean dim 1 of a transposed view", [[4, 6]], (x) => T(x).mean(1)],
  ["prod dim 0", [[3, 5]], (x) => x.prod(0), { avoid: [0] }],
  ["max(dim).values", [[4, 7]], (x) => x.max(1).values],
  ["amin dims [0,2]", [[2, 3, 4]], (x) => x.amin([0, 2])],
  ["var unbiased dim 1", [[3, 6]], (x) => x.var(1)],
  ["std dim 0", [[5, 3]], (x) => x.std(0)],
  ["logsumexp dim -1", [[3, 9]], (x) => x.logsumexp(-1)],
  ["norm p=2 dim 1", [[4, 5]], (x) => x.norm(2, 1), { avoid: [0] }],
  ["cumsum dim 1", [[3, 6]], (x) => x.cumsum(1)],
  ["softmax dim 0", [[5, 3]], (x) => x.softmax(0)],
  ["logSoftmax dim 1 of [2,4,3]", [[2, 4, 3]], (x) => x.logSoftmax(1)],
  // matmul forms
  ["matmul 1-D·2-D", [[4], [4, 3]], (a, b) => ops.matmul(a, b)],
  ["matmul 2-D·1-D", [[3, 4], [4]], (a, b) => ops.matmul(a, b)],
  [
    "matmul batched broadcast [2,1,3,4]·[3,4,5]",
    [
      [2, 1, 3, 4],
      [3, 4, 5],
    ],
    (a, b) => ops.matmul(a, b),
  ],
  [
    "bmm with transposed operands",
    [
      [2, 4, 3],
      [2, 5, 4],
    ],
    (a, b) => ops.bmm(a.mT, b.mT),
  ],
  // layout and indexing
  [
    "permute + contiguous + reshape",
    [[2, 3, 4]],
    (x) =>
      x
        .permute(2, 0, 1)
        .contiguous()
        .reshape([4, 6])
        .mul(tensor([1, 2, 3, 4, 5, 6])),
  ],
  [
    "narrow/select/slice with step",
    [[6, 5]],
    (x) =>
      x
        .narrow(0, 1, 4)
        .select(1, 2)
        .add(x.slice(1, 0, 5, 2).sum(1).narrow(0, 0, 4)),
  ],
  ["index with ranges and an index tensor", [[5, 4]], (x) => x.index(tensor([4, 0, 4], { dtype: "int32" }), "1:3")],
  [
    "cat/stack/split/chunk",
    [
      [2, 3],
      [2, 3],
    ],
    (a, b) => ops.stack([ops.cat([a, b], 1).chunk(2, 1)[1], ops.split(b, 1, 0)[0].expand(2, 3)], 0),
  ],
  ["repeat/tril/triu", [[3, 3]], (x) => ops.tril(x.repeat(2, 1), -1).add(ops.triu(x.repeat(2, 1), 1))],
  [
    "gather dim 1",
    [[3, 4]],
    (x) =>
      ops.gather(
        x,
        1,
        tensor(
          [
            [0, 0],
            [3, 1],
            [2, 2],
          ],
          { dtype: "int32" },
        ),
      ),
  ],
  ["indexSelect dim 0 (repeated rows)", [[4, 3]], (x) => ops.indexSelect(x, 0, tensor([3, 1, 3], { dtype: "int32" }))],
  [
    "scatterAdd into a source",
    [
      [2, 5],
      [2, 2],
    ],
    (x, s) =>
      ops.scatterAdd(
        x,
        1,
        tensor(
          [
            [4, 4],
            [0, 1],
          ],
          { dtype: "int32" },
        ),
        s,
      ),
  ],
  [
    "expand + unsqueeze + squeeze + flatten/unflatten",
    [[3, 1]],
    (x) =>
      x
        .expand(3, 4)
        .unsqueeze(0)
        .squeeze(0)
        .flatten()
        .unflatten(0, [2, 6])
        .mul(tensor([1, 2, 3, 4, 5, 6])),
  ],
];

function input(shape: number[], g: Generator, opts: Case[3] = {}): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Float32Array.from({ length: n }, () => {
    if (opts.positive) return g.uniform(0.3, 1.5);
    let x = g.uniform(-1, 1);
    for (const k of opts.avoid ?? []) if (Math.abs(x - k) < 0.05) x = k + (x >= k ? 0.05 : -0.05);
    return x;
  });
  return tensor(v, { shape, requiresGrad: true }); // on the default backend (set per test)
}

describe.each(["wasm", "js"] as const)("finite differences, %s backend", (name) => {
  // The cases make constants with tensor(): they land on the default backend.
  beforeAll(() => setBackend(name));
  afterAll(() => setBackend("wasm"));
  it.each(cases)("%s", (_, shapes, fn, opts) => {
    const g = new Generator(shapes.flat().reduce((a, b) => a * 31 + b, 7));
    const xs = shapes.map((s) => input(s, g, opts));
    expect(xs[0].backend.name).toBe(name);
    autograd.gradcheck(fn, xs, { eps: 1e-2, atol: opts?.atol ?? 2e-3, rtol: 1e-2 });
  });
});
