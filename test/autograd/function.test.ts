// autograd.Function (user-defined forward/backward), autograd.grad and autograd.gradcheck: against
// real PyTorch for the tutorial's LegendrePolynomial3, against float64 finite differences, and the
// errors a wrong backward gets.
import { describe, expect, it } from "vitest";
import { ShapeError, type Tensor, ValueError, autograd, ops, randn, tensor } from "../../src/index.js";
import { stepScopeSizes } from "../../src/lifetime.js";
import { type GoldenTensor, loadGolden, toTensor } from "../helpers/golden.js";
import { createBackend } from "../../src/backend/index.js";

class LegendrePolynomial3 extends autograd.Function {
  static override forward(ctx: autograd.FunctionCtx, input: Tensor): Tensor {
    ctx.saveForBackward(input);
    return input.pow(3).mul(5).sub(input.mul(3)).mul(0.5);
  }
  static override backward(ctx: autograd.FunctionCtx, g: Tensor): Tensor {
    const [input] = ctx.savedTensors;
    return g.mul(1.5).mul(input.square().mul(5).sub(1));
  }
}

describe("autograd.Function", () => {
  it("LegendrePolynomial3 matches PyTorch 1.13 (output and every gradient), on both backends", () => {
    const gold = loadGolden<{
      x: GoldenTensor;
      coefficients: GoldenTensor[];
      output: GoldenTensor;
      R: GoldenTensor;
      gradX: GoldenTensor;
      gradCoefficients: GoldenTensor[];
    }>("autograd_function");
    for (const be of [createBackend("wasm"), createBackend("js")]) {
      const x = toTensor(gold.x, be, true);
      const [a, b, c, d] = gold.coefficients.map((t) => toTensor(t, be, true));
      const y = a.add(b.mul(LegendrePolynomial3.apply(c.add(d.mul(x))) as Tensor));
      y.toArray().forEach((v, i) => expect(v).toBeCloseTo(Number(gold.output.data[i]), 5));
      y.mul(toTensor(gold.R, be)).sum().backward();
      x.grad!.toArray().forEach((v, i) => expect(v).toBeCloseTo(Number(gold.gradX.data[i]), 4));
      [a, b, c, d].forEach((t, k) => expect(t.grad!.item()).toBeCloseTo(Number(gold.gradCoefficients[k].data[0]), 4));
    }
  });

  it("several outputs get all their gradients in one backward call; non-tensor arguments pass through", () => {
    let calls = 0;
    class SplitScale extends autograd.Function {
      static override forward(ctx: autograd.FunctionCtx, x: Tensor, k: number): Tensor[] {
        ctx.k = k;
        return [x.mul(k), x.square()];
      }
      static override backward(ctx: autograd.FunctionCtx, g1: Tensor, g2: Tensor): (Tensor | null)[] {
        calls++;
        const [x] = [ctx.x as Tensor];
        return [g1.mul(ctx.k as number).add(g2.mul(x).mul(2)), null];
      }
    }
    const x = tensor([1, -2, 3], { requiresGrad: true });
    const [u, v] = class extends SplitScale {
      static override forward(ctx: autograd.FunctionCtx, xx: Tensor, k: number): Tensor[] {
        ctx.x = xx.detach();
        return super.forward(ctx, xx, k) as Tensor[];
      }
    }.apply(x, 4) as Tensor[];
    u.sum()
      .add(v.mul(tensor([1, 10, 100])).sum())
      .backward();
    expect(calls).toBe(1);
    expect(x.grad!.toArray()).toEqual([4 + 2, 4 - 40, 4 + 600]);
  });

  it("a backward returning a wrong shape or count is named; forward outputs live in the step", () => {
    class Bad extends autograd.Function {
      static override forward(_ctx: autograd.FunctionCtx, x: Tensor): Tensor {
        return x.mul(2);
      }
      static override backward(_ctx: autograd.FunctionCtx, g: Tensor): Tensor {
        return g.sum();
      }
    }
    const x = randn([3], { requiresGrad: true });
    expect(() => (Bad.apply(x) as Tensor).sum().backward()).toThrow(ShapeError);
    expect(() => (Bad.apply(x) as Tensor).sum().backward()).toThrow(/Bad\.backward returned a gradient of shape \[\] for input 0, whose shape is \[3\]/);
    class Two extends autograd.Function {
      static override forward(_ctx: autograd.FunctionCtx, x: Tensor): Tensor {
        return x.mul(2);
      }
      static override backward(_ctx: autograd.FunctionCtx, g: Tensor): (Tensor | null)[] {
        return [g, g];
      }
    }
    expect(() => (Two.apply(x) as Tensor).sum().backward()).toThrow(/Two\.backward returned 2 gradient\(s\), expected 1/);
    const before = stepScopeSizes().current;
    const y = LegendrePolynomial3.apply(x) as Tensor;
    expect(stepScopeSizes().current).toBeGreaterThan(before);
    expect(y.requiresGrad).toBe(true);
  });
});

describe("autograd.grad", () => {
  it("returns gradients of leaves and intermediates without touching .grad", () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const w = tensor([0.5, -1, 2], { requiresGrad: true });
    const h = x.mul(w);
    const y = h.square().sum();
    const [gx, gh, gw] = autograd.grad(y, [x, h, w]);
    expect(gx!.toArray()).toEqual([0.5 * 2 * 0.5, -1 * 2 * -2, 2 * 2 * 6]);
    expect(gh!.toArray()).toEqual([1, -4, 12]);
    expect(gw!.toArray()).toEqual([1 * 2 * 0.5, 2 * 2 * -2, 3 * 2 * 6]);
    expect(x.grad).toBeNull();
    expect(w.grad).toBeNull();
  });
  it("gradOutputs for non-scalar outputs; unused inputs need allowUnused; errors named", () => {
    const x = tensor([1, 2], { requiresGrad: true }),
      z = tensor([3], { requiresGrad: true });
    const y = x.mul(3);
    const [g] = autograd.grad(y, x, { gradOutputs: tensor([1, 10]), retainGraph: true });
    expect(g!.toArray()).toEqual([3, 30]);
    expect(() => autograd.grad(y, [x, z], { gradOutputs: [tensor([1, 1])], retainGraph: true })).toThrow(/input 1 \(shape \[1\]\) was not used/);
    expect(autograd.grad(y, [x, z], { gradOutputs: [tensor([1, 1])], allowUnused: true })[1]).toBeNull();
    expect(() => autograd.grad(x.sum(), x, { createGraph: true })).toThrow(/createGraph is not supported/);
    expect(() => autograd.grad(x.sum(), tensor([1]))).toThrow(/does not require grad/);
    expect(() => autograd.grad(x.sum(), x, { retain_graph: true } as never)).toThrow(/unknown option 'retain_graph'/);
  });
});

describe("autograd.gradcheck", () => {
  it("passes on correct ops, fails (naming the element) on a wrong backward", () => {
    const a = randn([3, 4], { requiresGrad: true }),
      b = randn([4, 2], { requiresGrad: true });
    expect(autograd.gradcheck((x, y) => x.matmul(y).tanh(), [a, b])).toBe(true);
    expect(autograd.gradcheck((x) => x.softmax(1).mul(x.exp()), [a])).toBe(true);
    expect(autograd.gradcheck((x) => ops.layerNorm(x, [4]), [a])).toBe(true);
    class WrongCube extends autograd.Function {
      static override forward(ctx: autograd.FunctionCtx, x: Tensor): Tensor {
        ctx.saveForBackward(x);
        return x.pow(3);
      }
      static override backward(ctx: autograd.FunctionCtx, g: Tensor): Tensor {
        return g.mul(ctx.savedTensors[0].square()); // missing the factor 3
      }
    }
    expect(() => autograd.gradcheck((x) => WrongCube.apply(x) as Tensor, [a])).toThrow(ValueError);
    expect(() => autograd.gradcheck((x) => WrongCube.apply(x) as Tensor, [a])).toThrow(
      /gradient of input 0 \(shape \[3, 4\]\) at element 0 is .* by autograd but .* by finite differences/,
    );
  });
});
