// ModuleList, ModuleDict and ParameterList: PyTorch's state-dict names, registration order,
// list operations, and their errors; modules built from them train end to end.
import { describe, expect, it } from "vitest";
import { ValueError, nn, optim, randn, tensor, zeros } from "../../src/index.js";

describe("containers", () => {
  it("ModuleList names children 0, 1, ... and supports append/extend/insert/get/set/iteration", () => {
    const list = new nn.ModuleList([new nn.Linear(2, 3), new nn.ReLU()]);
    list.append(new nn.Linear(3, 1));
    expect(list.length).toBe(3);
    expect(Object.keys(list.stateDict())).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"]);
    list.insert(1, new nn.Linear(3, 3));
    expect(Object.keys(list.stateDict())).toEqual(["0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"]);
    expect(list.get(-1)).toBeInstanceOf(nn.Linear);
    expect([...list].length).toBe(4);
    expect(() => list.get(4)).toThrow(/index 4 is out of range for 4 items/);
    expect(() => list.append({} as never)).toThrow(/is not a Module/);
    class Net extends nn.Module {
      layers = new nn.ModuleList([new nn.Linear(4, 8), new nn.Linear(8, 2)]);
      forward(x: ReturnType<typeof randn>) {
        for (const l of this.layers) x = (l as nn.Linear)(x).relu();
        return x;
      }
    }
    const net = new Net();
    expect(Object.keys(net.stateDict())).toEqual(["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]);
    const opt = new optim.SGD(net.parameters(), { lr: 0.1 });
    const x = randn([5, 4]);
    const before = net(x).sum().item();
    net(x).sum().backward();
    opt.step();
    expect(net(x).sum().item()).not.toBe(before);
  });

  it("ModuleDict keeps keys, rejects bad ones; ParameterList wraps tensors as Parameters", () => {
    const d = new nn.ModuleDict({ encoder: new nn.Linear(2, 2), head: new nn.Linear(2, 1) });
    expect(d.keys()).toEqual(["encoder", "head"]);
    expect(Object.keys(d.stateDict())).toEqual(["encoder.weight", "encoder.bias", "head.weight", "head.bias"]);
    expect(d.has("head")).toBe(true);
    expect(() => d.get("missing")).toThrow(/no module under key "missing" \(keys: encoder, head\)/);
    expect(() => d.set("a.b", new nn.ReLU())).toThrow(ValueError);
    expect(() => d.set("forward", new nn.ReLU())).toThrow(/would shadow a Module member/);
    const p = new nn.ParameterList([zeros([2]), randn([3, 3])]);
    expect(Object.keys(p.stateDict())).toEqual(["0", "1"]);
    expect(p.parameters().length).toBe(2);
    expect(p.get(1).requiresGrad).toBe(true);
    p.loadStateDict({ 0: tensor([5, 6]), 1: zeros([3, 3]) });
    expect(p.get(0).toArray()).toEqual([5, 6]);
    expect(() => new nn.ParameterList([1 as never])).toThrow(/is not a Tensor/);
  });
});
