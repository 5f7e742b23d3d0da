// Transfer learning pieces: frozen parameters get no gradient and optimizers leave them alone,
// heads are swapped by assignment, loadStateDict(strict: false) reports missing/unexpected keys,
// and a fine-tune of a safetensors-loaded body leaves the frozen weights bitwise unchanged.
import { beforeEach, describe, expect, it } from "vitest";
import { type Tensor, ShapeError, io, manualSeed, nn, optim, randn, setBackend, tensor } from "../src/index.js";

class MLP extends nn.Module {
  fc1 = new nn.Linear(12, 16);
  fc2 = new nn.Linear(16, 8);
  fc3 = new nn.Linear(8, 4);
  forward(x: Tensor): Tensor {
    return this.fc3(this.fc2(this.fc1(x).relu()).relu());
  }
}

beforeEach(() => {
  setBackend("wasm");
  manualSeed(0);
});

const bits = (t: Tensor) => Array.from(new Uint32Array(t.data.slice().buffer));
const labels = (n: number, k: number) => tensor(Int32Array.from({ length: n }, (_, i) => (i * 7) % k));

function trainSteps(model: nn.Module, optimizer: optim.Optimizer<{ lr: number }>, steps: number, classes: number) {
  const criterion = new nn.CrossEntropyLoss();
  for (let i = 0; i < steps; i++) {
    optimizer.zeroGrad();
    criterion(model(randn([10, 12])), labels(10, classes)).backward();
    optimizer.step();
  }
}

describe("freezing and transfer", () => {
  it("requiresGrad_(false) on a submodule: no gradients there, the head still learns", () => {
    const model = new MLP();
    model.fc1.requiresGrad_(false);
    model.fc2.weight.requiresGrad = false;
    new nn.CrossEntropyLoss()(model(randn([5, 12])), labels(5, 4)).backward();
    expect(model.fc1.weight.grad).toBeNull();
    expect(model.fc1.bias!.grad).toBeNull();
    expect(model.fc2.weight.grad).toBeNull();
    expect(model.fc2.bias!.grad).not.toBeNull();
    expect(model.fc3.weight.grad).not.toBeNull();
    expect(model.parameters().filter((p) => p.requiresGrad)).toHaveLength(3);
  });

  for (const make of [
    (ps: nn.Parameter[]) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9, weightDecay: 0.01 }),
    (ps: nn.Parameter[]) => new optim.AdamW(ps, { lr: 0.01 }),
  ]) {
    it(`${make([new nn.Parameter(tensor([0]))]).constructor.name} skips parameters frozen after training (state, stale grads and weight decay notwithstanding)`, () => {
      const model = new MLP();
      const optimizer = make(model.parameters());
      trainSteps(model, optimizer, 3, 4); // every parameter now has momentum / Adam state
      // Freeze the body without clearing its gradients: the optimizer must still skip it.
      model.fc1.requiresGrad_(false);
      model.fc2.requiresGrad_(false);
      const frozen = [model.fc1.weight, model.fc1.bias!, model.fc2.weight, model.fc2.bias!].map(bits);
      const head = bits(model.fc3.weight);
      const criterion = new nn.CrossEntropyLoss();
      for (let i = 0; i < 3; i++) {
        criterion(model(randn([10, 12])), labels(10, 4)).backward();
        optimizer.step();
      }
      expect([model.fc1.weight, model.fc1.bias!, model.fc2.weight, model.fc2.bias!].map(bits)).toEqual(frozen);
      expect(bits(model.fc3.weight)).not.toEqual(head);
    });
  }

  it("replacing the head by assignment; strict: false reports missing and unexpected keys", () => {
    const pretrained = new MLP();
    const bytes = io.saveSafetensors(pretrained.stateDict());

    const model = new MLP();
    model.fc3 = new nn.Linear(8, 3);
    expect(Object.keys(model.stateDict())).toEqual(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]);
    expect(model.parameters().map((p) => p.shape)).toContainEqual([3, 8]);
    expect(model(randn([2, 12])).shape).toEqual([2, 3]);
    // Same key, other shape: an error even with strict: false (as in PyTorch).
    expect(() => model.loadStateDict(io.loadSafetensors(bytes), { strict: false })).toThrow(ShapeError);

    // Load the body only: drop the old head's keys, or load into a model whose head has another name.
    class WithHead extends nn.Module {
      fc1 = new nn.Linear(12, 16);
      fc2 = new nn.Linear(16, 8);
      head = new nn.Linear(8, 3);
      forward(x: Tensor): Tensor {
        return this.head(this.fc2(this.fc1(x).relu()).relu());
      }
    }
    const other = new WithHead();
    const result = other.loadStateDict(io.loadSafetensors(bytes), { strict: false });
    expect(result).toEqual({ missingKeys: ["head.weight", "head.bias"], unexpectedKeys: ["fc3.weight", "fc3.bias"] });
    expect(bits(other.fc1.weight)).toEqual(bits(pretrained.fc1.weight));
    expect(bits(other.fc2.bias!)).toEqual(bits(pretrained.fc2.bias!));
  });

  it("fine-tuning a loaded body with a new head: frozen weights stay bitwise equal to the file", () => {
    const pretrained = new MLP();
    trainSteps(pretrained, new optim.Adam(pretrained.parameters(), { lr: 0.01 }), 5, 4);
    const bytes = io.saveSafetensors(pretrained.stateDict());

    manualSeed(1);
    const model = new MLP();
    model.loadStateDict(io.loadSafetensors(bytes));
    model.fc3 = new nn.Linear(8, 2);
    model.fc1.requiresGrad_(false);
    model.fc2.requiresGrad_(false);
    const optimizer = new optim.Adam(
      model.parameters().filter((p) => p.requiresGrad),
      { lr: 0.05 },
    );
    const headBefore = bits(model.fc3.weight);
    trainSteps(model, optimizer, 5, 2);
    const file = io.loadSafetensors(bytes);
    for (const k of ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]) {
      expect(bits(model.stateDict()[k]), k).toEqual(Array.from(new Uint32Array(file[k].data.buffer)));
    }
    expect(bits(model.fc3.weight)).not.toEqual(headBefore);
    expect(optimizer.state.size).toBe(2);
  });
});
