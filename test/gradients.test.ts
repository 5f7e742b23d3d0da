// Gradients of every op against central finite differences of float64 reference forwards
// written here in plain JS (independent of the library), on both backends. Non-scalar outputs
// are reduced with a random projection: backward(R) must give ∂(Σ R·out)/∂input. The forward
// values are checked against the same references.
import { describe, expect, it } from "vitest";
import type { Backend } from "../src/backend/index.js";
import { tensor } from "../src/tensor.js";
import { BACKENDS, type Case, type Reduction, type Vec, checkCase } from "./helpers/gradcheck.js";
import * as ops from "../src/ops/index.js";
import { noGrad } from "../src/lifetime.js";
import { ShapeError, ValueError } from "../src/errors.js";

// ---- float64 references ----------------------------------------------------------------------

/** y (rows, OUT) = x (rows, IN) · W (OUT, IN)ᵀ (+ b) */
function linearRef(x: Vec, W: Vec, b: Vec | null, IN: number, OUT: number): Vec {
  const rows = x.length / IN;
  const y = new Float64Array(rows * OUT);
  for (let i = 0; i < rows; i++) {
    for (let o = 0; o < OUT; o++) {
      let s = b ? b[o] : 0;
      for (let k = 0; k < IN; k++) s += x[i * IN + k] * W[o * IN + k];
      y[i * OUT + o] = s;
    }
  }
  return y;
}

function matmulRef(a: Vec, b: Vec, M: number, K: number, N: number): Vec {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
      c[i * N + j] = s;
    }
  return c;
}

/** Broadcasts `row` over the leading rows of `big` with op. */
function rowRef(big: Vec, row: Vec, op: (a: number, r: number) => number): Vec {
  return big.map((v, i) => op(v, row[i % row.length]));
}

function logSoftmaxRef(x: Vec, C: number): Vec {
  const y = new Float64Array(x.length);
  for (let o = 0; o < x.length; o += C) {
    let m = -Infinity;
    for (let j = 0; j < C; j++) m = Math.max(m, x[o + j]);
    let s = 0;
    for (let j = 0; j < C; j++) s += Math.exp(x[o + j] - m);
    const l = m + Math.log(s);
    for (let j = 0; j < C; j++) y[o + j] = x[o + j] - l;
  }
  return y;
}

function reduce(rows: Vec, reduction: Reduction): Vec {
  if (reduction === "none") return rows;
  const s = rows.reduce((a, b) => a + b, 0);
  return new Float64Array([reduction === "mean" ? s / rows.length : s]);
}

function nllRef(logp: Vec, labels: Int32Array, C: number, reduction: Reduction): Vec {
  return reduce(
    Float64Array.from(labels, (c, i) => -logp[i * C + c]),
    reduction,
  );
}

const int32 = (data: number[], be: Backend) => tensor(Int32Array.from(data), { backend: be });

// ---- cases -----------------------------------------------------------------------------------

const LABELS5 = [3, 0, 6, 6, 2];
const LABELS4 = [5, 1, 0, 3];
const LABELS6 = [2, 0, 1, 1, 2, 0];
const add = (a: number, b: number) => a + b;
const sub = (a: number, b: number) => a - b;
const mul = (a: number, b: number) => a * b;

const CASES: Case[] = [
  {
    name: "linear with bias",
    inputs: [{ shape: [3, 5] }, { shape: [4, 5] }, { shape: [4] }],
    lib: ([x, W, b]) => ops.linear(x, W, b),
    ref: ([x, W, b]) => linearRef(x, W, b, 5, 4),
  },
  {
    name: "linear without bias",
    inputs: [{ shape: [3, 5] }, { shape: [4, 5] }],
    lib: ([x, W]) => ops.linear(x, W),
    ref: ([x, W]) => linearRef(x, W, null, 5, 4),
  },
  {
    name: "linear with N-D input [2,3,5]",
    inputs: [{ shape: [2, 3, 5] }, { shape: [4, 5] }, { shape: [4] }],
    lib: ([x, W, b]) => ops.linear(x, W, b),
    ref: ([x, W, b]) => linearRef(x, W, b, 5, 4),
  },
  {
    name: "linear with 1-D input",
    inputs: [{ shape: [5] }, { shape: [3, 5] }, { shape: [3] }],
    lib: ([x, W, b]) => ops.linear(x, W, b),
    ref: ([x, W, b]) => linearRef(x, W, b, 5, 3),
  },
  {
    name: "linear, weight frozen (input and bias only)",
    inputs: [{ shape: [6, 9] }, { shape: [2, 9], grad: false }, { shape: [2] }],
    lib: ([x, W, b]) => ops.linear(x, W, b),
    ref: ([x, W, b]) => linearRef(x, W, b, 9, 2),
  },
  {
    name: "matmul",
    inputs: [{ shape: [3, 5] }, { shape: [5, 4] }],
    lib: ([a, b]) => ops.matmul(a, b),
    ref: ([a, b]) => matmulRef(a, b, 3, 5, 4),
  },
  {
    name: "matmul, tall (M ≥ 4: blocked paths)",
    inputs: [{ shape: [9, 6] }, { shape: [6, 10] }],
    lib: ([a, b]) => a.matmul(b),
    ref: ([a, b]) => matmulRef(a, b, 9, 6, 10),
  },
  { name: "add", inputs: [{ shape: [3, 4] }, { shape: [3, 4] }], lib: ([a, b]) => a.add(b), ref: ([a, b]) => a.map((v, i) => v + b[i]) },
  { name: "sub", inputs: [{ shape: [3, 4] }, { shape: [3, 4] }], lib: ([a, b]) => a.sub(b), ref: ([a, b]) => a.map((v, i) => v - b[i]) },
  { name: "mul", inputs: [{ shape: [3, 4] }, { shape: [3, 4] }], lib: ([a, b]) => a.mul(b), ref: ([a, b]) => a.map((v, i) => v * b[i]) },
  { name: "add scalar", inputs: [{ shape: [7] }], lib: ([a]) => a.add(2.5), ref: ([a]) => a.map((v) => v + 2.5) },
  { name: "sub scalar", inputs: [{ shape: [7] }], lib: ([a]) => a.sub(0.75), ref: ([a]) => a.map((v) => v - 0.75) },
  { name: "mul scalar", inputs: [{ shape: [2, 3] }], lib: ([a]) => a.mul(-1.5), ref: ([a]) => a.map((v) => v * -1.5) },
  { name: "neg", inputs: [{ shape: [5] }], lib: ([a]) => a.neg(), ref: ([a]) => a.map((v) => -v) },
  { name: "div scalar", inputs: [{ shape: [2, 3] }], lib: ([a]) => a.div(2.5), ref: ([a]) => a.map((v) => v / 2.5) },
  { name: "div by a negative, non-representable scalar", inputs: [{ shape: [5] }], lib: ([a]) => ops.div(a, -0.3), ref: ([a]) => a.map((v) => v / -0.3) },
  { name: "add row [3,4] + [4]", inputs: [{ shape: [3, 4] }, { shape: [4] }], lib: ([a, r]) => a.add(r), ref: ([a, r]) => rowRef(a, r, add) },
  { name: "add row [4] + [3,4]", inputs: [{ shape: [4] }, { shape: [3, 4] }], lib: ([r, a]) => r.add(a), ref: ([r, a]) => rowRef(a, r, (x, y) => y + x) },
  { name: "sub row [3,4] - [4]", inputs: [{ shape: [3, 4] }, { shape: [4] }], lib: ([a, r]) => a.sub(r), ref: ([a, r]) => rowRef(a, r, sub) },
  { name: "sub row [4] - [3,4]", inputs: [{ shape: [4] }, { shape: [3, 4] }], lib: ([r, a]) => r.sub(a), ref: ([r, a]) => rowRef(a, r, (x, y) => y - x) },
  { name: "mul row [3,4] * [4]", inputs: [{ shape: [3, 4] }, { shape: [4] }], lib: ([a, r]) => a.mul(r), ref: ([a, r]) => rowRef(a, r, mul) },
  { name: "mul row [4] * [3,4]", inputs: [{ shape: [4] }, { shape: [3, 4] }], lib: ([r, a]) => r.mul(a), ref: ([r, a]) => rowRef(a, r, (x, y) => y * x) },
  { name: "add trailing [2,3,4] + [3,4]", inputs: [{ shape: [2, 3, 4] }, { shape: [3, 4] }], lib: ([a, r]) => a.add(r), ref: ([a, r]) => rowRef(a, r, add) },
  {
    name: "sub trailing [3,4] - [2,3,4]",
    inputs: [{ shape: [3, 4] }, { shape: [2, 3, 4] }],
    lib: ([r, a]) => r.sub(a),
    ref: ([r, a]) => rowRef(a, r, (x, y) => y - x),
  },
  { name: "mul by a 0-d tensor [3,4] * []", inputs: [{ shape: [3, 4] }, { shape: [] }], lib: ([a, s]) => a.mul(s), ref: ([a, s]) => rowRef(a, s, mul) },
  {
    name: "row broadcast, row frozen",
    inputs: [{ shape: [3, 4] }, { shape: [4], grad: false }],
    lib: ([a, r]) => a.mul(r),
    ref: ([a, r]) => rowRef(a, r, mul),
  },
  {
    name: "relu",
    inputs: [{ shape: [4, 5], awayFromZero: 0.05 }],
    lib: ([x]) => x.relu(),
    ref: ([x]) => x.map((v) => Math.max(v, 0)),
  },
  { name: "reshape (the view itself)", inputs: [{ shape: [2, 6] }], lib: ([x]) => x.reshape(3, 4), ref: ([x]) => x.slice() },
  {
    name: "view with -1, then matmul",
    inputs: [{ shape: [2, 6] }, { shape: [3, 2] }],
    lib: ([x, w]) => x.view(-1, 3).matmul(w),
    ref: ([x, w]) => matmulRef(x, w, 4, 3, 2),
  },
  {
    name: "flatten(1) of [2,3,2], then linear",
    inputs: [{ shape: [2, 3, 2] }, { shape: [3, 6] }],
    lib: ([x, w]) => ops.linear(x.flatten(1), w),
    ref: ([x, w]) => linearRef(x, w, null, 6, 3),
  },
  {
    name: "flatten() then reshape back, times a frozen tensor",
    inputs: [{ shape: [3, 2, 2] }, { shape: [3, 4], grad: false }],
    lib: ([x, c]) => x.flatten().reshape([3, 4]).mul(c),
    ref: ([x, c]) => x.map((v, i) => v * c[i]),
  },
  { name: "clone", inputs: [{ shape: [5] }], lib: ([x]) => x.clone(), ref: ([x]) => x.slice() },
  { name: "clone(x) * x", inputs: [{ shape: [2, 3] }], lib: ([x]) => x.clone().mul(x), ref: ([x]) => x.map((v) => v * v) },
  { name: "sum", inputs: [{ shape: [3, 5] }], lib: ([x]) => x.sum(), ref: ([x]) => [x.reduce((a, b) => a + b, 0)] },
  { name: "mean", inputs: [{ shape: [3, 5] }], lib: ([x]) => x.mean(), ref: ([x]) => [x.reduce((a, b) => a + b, 0) / 15] },
  {
    name: "sum of a product (scalar through two ops)",
    inputs: [{ shape: [4] }, { shape: [4] }],
    lib: ([a, b]) => a.mul(b).sum(),
    ref: ([a, b]) => [a.reduce((s, v, i) => s + v * b[i], 0)],
  },
  ...(["mean", "sum", "none"] as const).flatMap((reduction): Case[] => [
    {
      name: `crossEntropy ${reduction}`,
      inputs: [{ shape: [5, 7] }],
      lib: ([x], be) => ops.crossEntropy(x, int32(LABELS5, be), reduction),
      ref: ([x]) => nllRef(logSoftmaxRef(x, 7), Int32Array.from(LABELS5), 7, reduction),
    },
    {
      name: `nllLoss ${reduction}`,
      inputs: [{ shape: [4, 6] }],
      lib: ([x], be) => ops.nllLoss(x, int32(LABELS4, be), reduction),
      ref: ([x]) => nllRef(x, Int32Array.from(LABELS4), 6, reduction),
    },
    {
      name: `nllLoss(logSoftmax) ${reduction}`,
      inputs: [{ shape: [4, 6] }],
      lib: ([x], be) => ops.nllLoss(x.logSoftmax(), int32(LABELS4, be), reduction),
      ref: ([x]) => nllRef(logSoftmaxRef(x, 6), Int32Array.from(LABELS4), 6, reduction),
    },
    {
      name: `mseLoss ${reduction}`,
      inputs: [{ shape: [3, 4] }, { shape: [3, 4] }],
      lib: ([a, b]) => ops.mseLoss(a, b, reduction),
      ref: ([a, b]) =>
        reduce(
          a.map((v, i) => (v - b[i]) ** 2),
          reduction,
        ),
    },
  ]),
  {
    name: "mseLoss, target frozen",
    inputs: [{ shape: [7] }, { shape: [7], grad: false }],
    lib: ([a, b]) => ops.mseLoss(a, b),
    ref: ([a, b]) => [a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / 7],
  },
  { name: "softmax", inputs: [{ shape: [3, 5] }], lib: ([x]) => x.softmax(), ref: ([x]) => logSoftmaxRef(x, 5).map(Math.exp) },
  {
    name: "softmax over the last dim of [2,2,5]",
    inputs: [{ shape: [2, 2, 5] }],
    lib: ([x]) => ops.softmax(x, 2),
    ref: ([x]) => logSoftmaxRef(x, 5).map(Math.exp),
  },
  { name: "logSoftmax", inputs: [{ shape: [3, 5] }], lib: ([x]) => x.logSoftmax(), ref: ([x]) => logSoftmaxRef(x, 5) },
  { name: "logSoftmax over dim -1 of [2,2,5]", inputs: [{ shape: [2, 2, 5] }], lib: ([x]) => ops.logSoftmax(x, -1), ref: ([x]) => logSoftmaxRef(x, 5) },
  {
    name: "2-layer MLP: crossEntropy(linear(relu(linear(x))))",
    inputs: [{ shape: [6, 5] }, { shape: [8, 5] }, { shape: [8] }, { shape: [3, 8] }, { shape: [3] }],
    lib: ([x, W1, b1, W2, b2], be) => ops.crossEntropy(ops.linear(ops.linear(x, W1, b1).relu(), W2, b2), int32(LABELS6, be)),
    ref: ([x, W1, b1, W2, b2]) => {
      const h = linearRef(x, W1, b1, 5, 8).map((v) => Math.max(v, 0));
      return nllRef(logSoftmaxRef(linearRef(h, W2, b2, 8, 3), 3), Int32Array.from(LABELS6), 3, "mean");
    },
  },
  {
    name: "MLP with softmax + mse head",
    inputs: [{ shape: [4, 3] }, { shape: [5, 3] }, { shape: [5] }, { shape: [4, 5], grad: false }],
    lib: ([x, W, b, t]) => ops.mseLoss(ops.linear(x, W, b).softmax(), t, "sum"),
    ref: ([x, W, b, t]) => [logSoftmaxRef(linearRef(x, W, b, 3, 5), 5).reduce((s, v, i) => s + (Math.exp(v) - t[i]) ** 2, 0)],
  },
];

describe("gradients vs float64 finite differences", () => {
  for (const be of BACKENDS) {
    describe(be.name, () => {
      CASES.forEach((c, k) => {
        it(c.name, () => checkCase(c, be, 100 + k));
      });
    });
  }
});

// ---- autograd semantics ------------------------------------------------------------------------

const REUSE_CASES: Case[] = [
  { name: "x * x", inputs: [{ shape: [2, 3] }], lib: ([x]) => x.mul(x), ref: ([x]) => x.map((v) => v * v) },
  { name: "add(x, x)", inputs: [{ shape: [5] }], lib: ([x]) => ops.add(x, x), ref: ([x]) => x.map((v) => 2 * v) },
  { name: "x - x", inputs: [{ shape: [5] }], lib: ([x]) => x.sub(x), ref: ([x]) => x.map(() => 0) },
  {
    name: "row-broadcast x with itself flattened: [1,4] + [4]",
    inputs: [{ shape: [4] }],
    lib: ([x]) => x.reshape(1, 4).add(x),
    ref: ([x]) => x.map((v) => 2 * v),
  },
  {
    name: "a non-leaf used twice: h = 3x; add(h, h)",
    inputs: [{ shape: [6] }],
    lib: ([x]) => {
      const h = x.mul(3);
      return ops.add(h, h);
    },
    ref: ([x]) => x.map((v) => 6 * v),
  },
  {
    name: "a non-leaf used twice: h = relu(x); h * h",
    inputs: [{ shape: [6], awayFromZero: 0.05 }],
    lib: ([x]) => {
      const h = x.relu();
      return h.mul(h);
    },
    ref: ([x]) => x.map((v) => Math.max(v, 0) ** 2),
  },
  {
    name: "a non-leaf and its view: h + h.reshape(..).reshape(..)",
    inputs: [{ shape: [2, 3] }],
    lib: ([x]) => {
      const h = x.mul(2);
      return h.add(h.reshape(3, 2).reshape(2, 3));
    },
    ref: ([x]) => x.map((v) => 4 * v),
  },
  {
    // add() hands one gradient buffer to both inputs; a then receives a second gradient, which
    // must not be added into the buffer b still shares.
    name: "shared gradient buffers: a = 2x, b = 3x; (a + b) + a",
    inputs: [{ shape: [5] }],
    lib: ([x]) => {
      const a = x.mul(2),
        b = x.mul(3);
      return a.add(b).add(a);
    },
    ref: ([x]) => x.map((v) => 7 * v),
  },
  {
    name: "shared gradient buffers through views: h = x·1.5; h.view + (h + h)",
    inputs: [{ shape: [2, 3] }],
    lib: ([x]) => {
      const h = x.mul(1.5);
      return h.reshape(6).reshape(2, 3).add(h.add(h));
    },
    ref: ([x]) => x.map((v) => 4.5 * v),
  },
  { name: "matmul(x, x)", inputs: [{ shape: [4, 4] }], lib: ([x]) => x.matmul(x), ref: ([x]) => matmulRef(x, x, 4, 4, 4) },
  {
    name: "linear(x, x, b): x · xᵀ + b",
    inputs: [{ shape: [3, 3] }, { shape: [3] }],
    lib: ([x, b]) => ops.linear(x, x, b),
    ref: ([x, b]) => linearRef(x, x, b, 3, 3),
  },
  {
    name: "diamond: a = x·W; loss = Σ (a + relu(a)) ⊙ a",
    inputs: [{ shape: [3, 4], awayFromZero: 0.05 }, { shape: [4, 4] }],
    lib: ([x, W]) => {
      const a = x.matmul(W);
      return a.add(a.relu()).mul(a).sum();
    },
    ref: ([x, W]) => {
      const a = matmulRef(x, W, 3, 4, 4);
      return [a.reduce((s, v) => s + (v + Math.max(v, 0)) * v, 0)];
    },
  },
];

describe("autograd semantics", () => {
  for (const be of BACKENDS) {
    describe(be.name, () => {
      REUSE_CASES.forEach((c, k) => {
        it(`a tensor used twice gets the summed gradient: ${c.name}`, () => checkCase(c, be, 300 + k));
      });

      it("gradients accumulate across backward() calls, as in PyTorch", () => {
        checkCase(CASES.find((c) => c.name === "linear with bias")!, be, 400, 2);
        checkCase(CASES.find((c) => c.name === "crossEntropy mean")!, be, 401, 3);
        checkCase(CASES.find((c) => c.name.startsWith("2-layer MLP"))!, be, 402, 2);
        checkCase(REUSE_CASES[0], be, 403, 2);
      });

      it("an empty batch gives zero weight and bias gradients", () => {
        const W = tensor(new Float32Array(20).fill(0.5), { shape: [4, 5], backend: be, requiresGrad: true });
        const b = tensor([1, 2, 3, 4], { backend: be, requiresGrad: true });
        const y = ops.linear(tensor(new Float32Array(0), { shape: [0, 5], backend: be }), W, b);
        expect(y.shape).toEqual([0, 4]);
        y.sum().backward();
        expect(Array.from(W.grad!.data)).toEqual(new Array(20).fill(0));
        expect(Array.from(b.grad!.data)).toEqual([0, 0, 0, 0]);
        W.dispose();
        b.dispose();
      });

      it("backward() on a leaf seeds its grad (and accumulates)", () => {
        const x = tensor([1, 2, 3], { backend: be, requiresGrad: true });
        x.backward(tensor([0.5, -1, 2], { backend: be }));
        x.backward(tensor([0.5, 1, 2], { backend: be }));
        expect(Array.from(x.grad!.data)).toEqual([1, 0, 4]);
        const s = tensor([3], { backend: be, requiresGrad: true });
        s.backward();
        s.backward();
        expect(Array.from(s.grad!.data)).toEqual([2]);
        x.dispose();
        s.dispose();
      });

      it("backward() on a non-scalar without a gradient throws", () => {
        const x = tensor([1, 2, 3], { backend: be, requiresGrad: true });
        const y = x.mul(2);
        expect(() => y.backward()).toThrow(ShapeError);
        expect(x.grad).toBeNull();
        // with a gradient of the wrong size
        expect(() => y.backward(tensor([1, 1], { backend: be }))).toThrow(ShapeError);
        x.dispose();
      });

      it("a second backward() through the same graph throws unless retainGraph", () => {
        const x = tensor([0.5, -1, 2], { backend: be, requiresGrad: true });
        const loss = x.mul(x).sum();
        loss.backward();
        expect(Array.from(x.grad!.data)).toEqual([1, -2, 4]);
        expect(() => loss.backward()).toThrow(ValueError);
        expect(Array.from(x.grad!.data), "failed backward leaves grads alone").toEqual([1, -2, 4]);

        const y = tensor([0.5, -1, 2], { backend: be, requiresGrad: true });
        const loss2 = y.mul(y).sum();
        loss2.backward(undefined, { retainGraph: true });
        loss2.backward();
        expect(Array.from(y.grad!.data)).toEqual([2, -4, 8]);
        expect(() => loss2.backward()).toThrow(ValueError);
        x.dispose();
        y.dispose();
      });

      it("noGrad records nothing", () => {
        const x = tensor([1, -2, 3], { backend: be, requiresGrad: true });
        const W = tensor(
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
          { backend: be, requiresGrad: true },
        );
        const out = noGrad(() => {
          const y = ops.linear(x.reshape(1, 3), W).relu().mul(2);
          expect(y.requiresGrad).toBe(false);
          expect(y.isLeaf).toBe(true);
          const l = ops.crossEntropy(y, int32([1], be));
          expect(l.requiresGrad).toBe(false);
          return y;
        });
        expect(out.requiresGrad).toBe(false);
        expect(out.isLeaf).toBe(true);
        expect(Array.from(out.data)).toEqual([12, 24]);
        expect(() => out.sum().backward()).toThrow(ValueError);
        expect(x.grad).toBeNull();
        expect(W.grad).toBeNull();
        // Outside noGrad the same computation is recorded again.
        const z = ops.linear(x.reshape(1, 3), W);
        expect(z.requiresGrad).toBe(true);
        out.dispose();
        x.dispose();
        W.dispose();
      });

      it("ops on tensors that do not require grad are not recorded; detach() cuts the graph", () => {
        const a = tensor([1, 2], { backend: be });
        const b = tensor([3, 4], { backend: be, requiresGrad: true });
        expect(a.mul(a).requiresGrad).toBe(false);
        const c = b.detach().mul(b);
        c.sum().backward();
        expect(Array.from(b.grad!.data)).toEqual([3, 4]); // only the non-detached factor
        a.dispose();
        b.dispose();
      });
    });
  }
});
