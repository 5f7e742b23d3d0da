// optim classes: hand-computed updates through the public API, parameter groups, skipping.
import { beforeEach, describe, expect, it } from "vitest";
import { ValueError, nn, optim, setBackend, tensor } from "../src/index.js";

beforeEach(() => setBackend("wasm"));

/** A parameter with a fixed gradient each step. */
function param(values: number[]) {
  return new nn.Parameter(tensor(values));
}
function setGrad(p: nn.Parameter, g: number[]) {
  p.grad = tensor(g).keep();
}

describe("optim", () => {
  it("SGD momentum over three steps matches the documented rule", () => {
    const p = param([1, -2]);
    const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
    const grads = [
      [0.5, 1],
      [-1, 2],
      [0.25, -0.5],
    ];
    let w = [1, -2];
    let buf = [0, 0];
    grads.forEach((g, t) => {
      setGrad(p, g);
      opt.step();
      buf = buf.map((b, i) => (t === 0 ? g[i] : 0.9 * b + g[i]));
      w = w.map((x, i) => x - 0.1 * buf[i]);
      expect(p.toArray()[0]).toBeCloseTo(w[0], 6);
      expect(p.toArray()[1]).toBeCloseTo(w[1], 6);
    });
  });

  it("Adam first step moves each weight by lr·sign(g) (bias-corrected)", () => {
    const p = param([1, 1, 1]);
    const opt = new optim.Adam([p], { lr: 0.01 });
    setGrad(p, [3, -0.001, 100]);
    opt.step();
    // m̂ = g, v̂ = g², so the step is lr · g / (|g| + eps).
    const got = p.toArray();
    expect(got[0]).toBeCloseTo(0.99, 6);
    expect(got[1]).toBeCloseTo(1.01, 5);
    expect(got[2]).toBeCloseTo(0.99, 6);
  });

  it("parameter groups keep their own options", () => {
    const a = param([1]);
    const b = param([1]);
    const opt = new optim.SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
    setGrad(a, [1]);
    setGrad(b, [1]);
    opt.step();
    expect(a.item()).toBeCloseTo(0.9, 6);
    expect(b.item()).toBeCloseTo(0.5, 6);
    expect(opt.paramGroups[1].options.lr).toBe(0.5);
  });

  it("skips parameters without gradients or frozen ones; zeroGrad clears", () => {
    const a = param([1]);
    const b = param([1]);
    const opt = new optim.AdamW([a, b], { lr: 0.1 });
    setGrad(a, [1]);
    b.requiresGrad = false;
    setGrad(b, [1]);
    opt.step();
    expect(a.item()).not.toBe(1);
    expect(b.item()).toBe(1);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
  });

  it("rejects invalid hyperparameters with a clear error", () => {
    expect(() => new optim.SGD([param([1])], { lr: -1 })).toThrow(/invalid learning rate -1/);
    expect(() => new optim.SGD([param([1])], { nesterov: true })).toThrow(ValueError);
    expect(() => new optim.Adam([param([1])], { betas: [1.5, 0.9] })).toThrow(/beta parameter at index 0/);
    expect(() => new optim.SGD([])).toThrow(/empty parameter list/);
  });
});
