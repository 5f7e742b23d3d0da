// train.EarlyStopping: patience / minDelta / mode by hand, and the best weights restored bit for
// bit after training has moved past them (with a validation split from data.randomSplit).
import { beforeEach, describe, expect, it } from "vitest";
import { DataLoader, Generator, ValueError, data, io, manualSeed, nn, noGrad, optim, setBackend, tensor, train, type Tensor } from "../src/index.js";

beforeEach(() => {
  setBackend("wasm");
  manualSeed(0);
});

const bits = (m: nn.Module) => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(new Uint32Array(t.data.slice().buffer))]));

describe("EarlyStopping decisions", () => {
  it("min mode: stops after `patience` epochs in a row without improvement", () => {
    const es = new train.EarlyStopping({ patience: 2 });
    const says = [5, 4, 4.5, 3, 3, 3.5].map((m) => es.step(m));
    // 5 best, 4 best, 4.5 bad 1, 3 best, 3 bad 1 (not strictly better), 3.5 bad 2 → stop.
    expect(says).toEqual([false, false, false, false, false, true]);
    expect(es).toMatchObject({ best: 3, bestEpoch: 3, epoch: 6, numBadEpochs: 2, stopped: true });
  });

  it("max mode with minDelta: an improvement must beat the best by more than minDelta", () => {
    const es = new train.EarlyStopping({ patience: 2, mode: "max", minDelta: 0.25 });
    const says = [1, 1.25, 1.5, 2, 2.25, 2.5, 2.5, 2.75].map((m) => es.step(m));
    // 1 best; 1.25 > 1.25? no: bad 1; 1.5 best; 2 best; 2.25 bad 1; 2.5 best; 2.5 bad 1; 2.75 > 2.75? no: bad 2 → stop.
    expect(says).toEqual([false, false, false, false, false, false, false, true]);
    expect(es).toMatchObject({ best: 2.5, bestEpoch: 5, numBadEpochs: 2 });
  });

  it("patience 0 stops at the first epoch without improvement; an improving epoch never stops", () => {
    const es = new train.EarlyStopping({ patience: 0 });
    expect(es.step(1)).toBe(false);
    expect(es.step(0.5)).toBe(false);
    expect(es.step(0.5)).toBe(true);
  });

  it("a NaN or infinite metric stops at once (checkFinite), or counts as a bad epoch without it", () => {
    const es = new train.EarlyStopping({ patience: 5 });
    es.step(1);
    expect(es.step(NaN)).toBe(true);
    expect(es.best).toBe(1);
    const lax = new train.EarlyStopping({ patience: 2, checkFinite: false });
    expect([1, NaN, Infinity].map((m) => lax.step(m))).toEqual([false, false, true]);
  });

  it("takes one-element tensors; rejects bad options", () => {
    const es = new train.EarlyStopping();
    expect(es.patience).toBe(3);
    es.step(tensor([0.25]));
    expect(es.best).toBe(0.25);
    expect(() => new train.EarlyStopping({ patience: -1 })).toThrow(ValueError);
    expect(() => new train.EarlyStopping({ minDelta: -0.1 })).toThrow(ValueError);
    expect(() => new train.EarlyStopping({ mode: "lowest" as "min" })).toThrow(/mode lowest is unknown/);
    expect(() => es.restoreBest(new nn.Linear(1, 1))).toThrow(/no best weights were recorded/);
  });
});

describe("best weights", () => {
  /** A teacher-labelled dataset, split 80/20 into train and validation. */
  function splits() {
    const g = new Generator(7);
    const N = 200,
      F = 5;
    const x = Array.from({ length: N * F }, () => g.normal());
    const y = Int32Array.from({ length: N }, (_, i) => (x[i * F] - x[i * F + 1] + 0.5 * x[i * F + 2] > 0 ? 1 : 0));
    return data.randomSplit(new data.TensorDataset(tensor(x, { shape: [N, F] }), tensor(y)), [0.8, 0.2], new Generator(3));
  }
  function validationLoss(model: nn.Module, set: data.Dataset<Tensor[]>, criterion: nn.CrossEntropyLoss) {
    return noGrad(() => {
      let sum = 0,
        n = 0;
      for (const [x, y] of new DataLoader(set, { batchSize: 50 })) {
        sum += (criterion(model(x), y) as Tensor).item() * y.shape[0];
        n += y.shape[0];
      }
      return sum / n;
    });
  }

  it("restoreBest puts back exactly the weights of the best validation epoch", () => {
    const [trainSet, valSet] = splits();
    expect([trainSet.length, valSet.length]).toEqual([160, 40]);
    const model = new nn.Sequential(new nn.Linear(5, 16), new nn.ReLU(), new nn.Linear(16, 2));
    // A learning rate far too high for the late epochs, so the validation loss turns up again.
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.3, momentum: 0.9 });
    const criterion = new nn.CrossEntropyLoss();
    const loader = new DataLoader(trainSet, { batchSize: 16, shuffle: true });
    const es = new train.EarlyStopping({ patience: 4 });
    const snapshots: Record<string, number[]>[] = [];
    const losses: number[] = [];
    let stoppedAt = -1;
    for (let epoch = 0; epoch < 60; epoch++) {
      for (const [x, y] of loader) {
        optimizer.zeroGrad();
        (criterion(model(x), y) as Tensor).backward();
        optimizer.step();
      }
      const loss = validationLoss(model, valSet, criterion);
      losses.push(loss);
      snapshots.push(bits(model));
      if (es.step(loss, model)) {
        stoppedAt = epoch;
        break;
      }
    }
    const best = losses.indexOf(Math.min(...losses));
    expect(stoppedAt).toBeGreaterThan(-1); // it did stop
    expect(stoppedAt).toBe(best + 4);
    expect(es.bestEpoch).toBe(best);
    expect(es.best).toBe(losses[best]);
    // The last weights differ from the best ones; after restoreBest they are the best ones, bit for bit.
    expect(bits(model)).not.toEqual(snapshots[best]);
    es.restoreBest(model);
    expect(bits(model)).toEqual(snapshots[best]);
    expect(validationLoss(model, valSet, criterion)).toBe(losses[best]);

    // The copy is independent of the model: training on does not change it.
    model.parameters()[0].fill_(0);
    es.restoreBest(model);
    expect(bits(model)).toEqual(snapshots[best]);
    // bestWeights can be saved as safetensors; dispose() frees the copy.
    const file = io.loadSafetensors(io.saveSafetensors(es.bestWeights!));
    expect(Array.from(file["0.weight"].data)).toEqual(Array.from(new Float32Array(new Uint32Array(snapshots[best]["0.weight"]).buffer)));
    es.dispose();
    expect(es.bestWeights).toBeNull();
  });

  it("stateDict is JSON (±Infinity as strings) and resumes the same decisions", () => {
    const a = new train.EarlyStopping({ patience: 3, mode: "max", minDelta: 0.001 });
    const fresh = JSON.parse(JSON.stringify(a.stateDict()));
    expect(fresh.best).toBe("-Infinity");
    for (const m of [0.5, 0.6, 0.55]) a.step(m);
    const b = new train.EarlyStopping();
    b.loadStateDict(JSON.parse(JSON.stringify(a.stateDict())));
    expect(b.stateDict()).toEqual(a.stateDict());
    const rest = [0.59, 0.6005, 0.7, 0.6, 0.6, 0.6];
    expect(rest.map((m) => b.step(m))).toEqual(rest.map((m) => a.step(m)));
    expect(b.stopped).toBe(true);
    expect(() => b.loadStateDict({ ...a.stateDict(), patience: 1.5 })).toThrow(ValueError);
    expect(() => b.loadStateDict({ type: "StepLR" } as never)).toThrow(ValueError);
    const c = new train.EarlyStopping();
    c.loadStateDict(fresh);
    expect(c.best).toBe(-Infinity);
  });
});
