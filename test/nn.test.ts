// nn.Module behaviour: registration and keys, callable form, state dicts, modes, freezing.
import { beforeEach, describe, expect, it } from "vitest";
import { ShapeError, type Tensor, ValueError, manualSeed, nn, noGrad, randn, setBackend, tensor } from "../src/index.js";

class Net extends nn.Module {
  fc1 = new nn.Linear(6, 5);
  act = new nn.ReLU();
  fc2 = new nn.Linear(5, 3);
  forward(x: Tensor): Tensor {
    return this.fc2(this.act(this.fc1(x)));
  }
}

beforeEach(() => {
  setBackend("wasm");
  manualSeed(0);
});

describe("nn.Module", () => {
  it("registers fields in assignment order with PyTorch keys, and is callable", () => {
    const net = new Net();
    expect(Object.keys(net.stateDict())).toEqual(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
    expect(Array.from(net.namedChildren(), ([n]) => n)).toEqual(["fc1", "act", "fc2"]);
    expect(Array.from(net.namedModules(), ([n]) => n)).toEqual(["", "fc1", "act", "fc2"]);
    expect(net.parameters().map((p) => p.shape)).toEqual([[5, 6], [5], [3, 5], [3]]);
    const x = randn([4, 6]);
    const a = net(x).toArray();
    const b = net.forward(x).toArray();
    expect(a).toEqual(b);
    expect(net).toBeInstanceOf(nn.Module);
  });

  it("Sequential names children 0, 1, 2 and supports named entries", () => {
    const seq = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 2));
    expect(Object.keys(seq.stateDict())).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"]);
    expect(seq.length).toBe(3);
    const named = new nn.Sequential({ enc: new nn.Linear(4, 3), head: new nn.Linear(3, 2) });
    expect(Object.keys(named.stateDict())).toEqual(["enc.weight", "enc.bias", "head.weight", "head.bias"]);
    expect(named(randn([1, 4])).shape).toEqual([1, 2]);
  });

  it("initialises Linear like PyTorch: weight and bias in U(±1/sqrt(in))", () => {
    const lin = new nn.Linear(400, 300);
    const bound = 1 / Math.sqrt(400);
    for (const p of [lin.weight, lin.bias!]) {
      const d = p.toArray();
      expect(Math.max(...d)).toBeLessThanOrEqual(bound);
      expect(Math.min(...d)).toBeGreaterThanOrEqual(-bound);
      // A uniform sample spans most of its range and has mean ≈ 0.
      expect(Math.max(...d)).toBeGreaterThan(0.9 * bound);
      expect(Math.abs(d.reduce((s, v) => s + v, 0) / d.length)).toBeLessThan(0.1 * bound);
    }
  });

  it("replacing a submodule swaps it in the same position", () => {
    const net = new Net();
    net.fc2 = new nn.Linear(5, 7);
    expect(Object.keys(net.stateDict())).toEqual(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
    expect(net(randn([2, 6])).shape).toEqual([2, 7]);
  });

  it("stateDict round trip restores the outputs exactly", () => {
    const a = new Net();
    const x = randn([3, 6]);
    const want = a(x).toArray();
    const saved = Object.fromEntries(Object.entries(a.stateDict()).map(([k, v]) => [k, { shape: v.shape, data: v.toArray() }]));
    manualSeed(123);
    const b = new Net();
    expect(b(x).toArray()).not.toEqual(want);
    const result = b.loadStateDict(saved);
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(b(x).toArray()).toEqual(want);
  });

  it("loadStateDict strict: missing and unexpected keys and wrong shapes are named", () => {
    const net = new Net();
    const sd = net.stateDict();
    const missing = { ...sd };
    delete (missing as Record<string, Tensor>)["fc2.bias"];
    expect(() => net.loadStateDict(missing)).toThrow(/missing keys: fc2\.bias/);
    expect(() => net.loadStateDict({ ...sd, "fc3.weight": randn([2, 2]) })).toThrow(/unexpected keys: fc3\.weight/);
    expect(() => net.loadStateDict({ ...sd, "fc1.weight": randn([6, 5]) })).toThrow(ShapeError);
    expect(() => net.loadStateDict({ ...sd, "fc1.weight": randn([6, 5]) })).toThrow(/fc1\.weight: got shape \[6, 5\], the model has \[5, 6\]/);
    // strict: false reports instead of throwing, and loads what matches.
    const before = net.fc1.weight.toArray();
    const r = net.loadStateDict({ "fc1.weight": randn([5, 6]), extra: randn([1]) }, { strict: false });
    expect(r.unexpectedKeys).toEqual(["extra"]);
    expect(r.missingKeys).toEqual(["fc1.bias", "fc2.weight", "fc2.bias"]);
    expect(net.fc1.weight.toArray()).not.toEqual(before);
    expect(() => net.loadStateDict({}, { strict: true })).toThrow(ValueError);
  });

  it("a failed load leaves the model unchanged", () => {
    const net = new Net();
    const before = net.fc1.weight.toArray();
    const sd = { ...net.stateDict(), "fc1.weight": randn([5, 6]), "fc2.weight": randn([9, 9]) };
    expect(() => net.loadStateDict(sd)).toThrow(ShapeError);
    expect(net.fc1.weight.toArray()).toEqual(before);
  });

  it("train/eval propagate; requiresGrad_ freezes; zeroGrad drops grads", () => {
    const net = new Net();
    net.eval();
    expect(Array.from(net.modules()).every((m) => !m.training)).toBe(true);
    net.train();
    expect(net.fc1.training).toBe(true);
    net.fc1.requiresGrad_(false);
    const loss = nn.functional.crossEntropy(net(randn([4, 6])), tensor(Int32Array.from([0, 1, 2, 0])));
    loss.backward();
    expect(net.fc1.weight.grad).toBeNull();
    expect(net.fc2.weight.grad).not.toBeNull();
    net.zeroGrad();
    expect(net.fc2.weight.grad).toBeNull();
  });

  it("a model fed the wrong input width names both shapes", () => {
    const net = new Net();
    expect(() => net(randn([2, 7]))).toThrow(/input of shape \[2, 7\] does not fit weight \[5, 6\]/);
  });

  it("noGrad forward records nothing", () => {
    const net = new Net();
    const y = noGrad(() => net(randn([2, 6])));
    expect(y.requiresGrad).toBe(false);
  });
});
