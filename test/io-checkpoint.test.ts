// Checkpoints in one process: optimizer state dicts, save → load → continue equals an
// uninterrupted run bitwise (weights, optimizer buffers, generator, DataLoader position), and
// the errors of a wrong or damaged checkpoint. The kill -9 version is io-kill9.test.ts.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import {
  DataLoader,
  FormatError,
  Generator,
  ShapeError,
  ValueError,
  data,
  defaultGenerator,
  io,
  manualSeed,
  nn,
  optim,
  setBackend,
  tensor,
} from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "wasmgrad-ckpt-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  setBackend("wasm");
  manualSeed(0);
});

type OptName = "sgd" | "adam" | "adamw";

/** 120 samples of 6 features, 3 classes, from a private generator (independent of the seed). */
function dataset() {
  const g = new Generator(99);
  const x = Array.from({ length: 120 * 6 }, () => g.normal());
  const y = Int32Array.from({ length: 120 }, (_, i) => (x[i * 6] + x[i * 6 + 1] > 0 ? 1 : 0) + (x[i * 6 + 2] > 0.5 ? 1 : 0));
  return new data.TensorDataset(tensor(x, { shape: [120, 6] }), tensor(y));
}

function setup(seed: number, opt: OptName) {
  manualSeed(seed);
  const model = new nn.Sequential(new nn.Linear(6, 8), new nn.ReLU(), new nn.Linear(8, 3));
  const [first, ...rest] = model.parameters();
  const optimizer =
    opt === "sgd"
      ? new optim.SGD([{ params: [first] }, { params: rest, lr: 0.02 }], { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })
      : opt === "adam"
        ? new optim.Adam(model.parameters(), { lr: 1e-2, amsgrad: true })
        : new optim.AdamW(model.parameters(), { lr: 1e-2 });
  const loader = new DataLoader(dataset(), { batchSize: 16, shuffle: true }); // 8 batches, the last of 8
  return { model, optimizer, loader, scheduler: new optim.lrScheduler.StepLR(optimizer, { stepSize: 5, gamma: 0.7 }), criterion: new nn.CrossEntropyLoss() };
}
type Setup = ReturnType<typeof setup>;

/** Trains from (epoch, step) to `epochs`; stops early (returning the position) when stop() says so. */
function train(s: Setup, epochs: number, from = { epoch: 0, step: 0 }, stop?: (epoch: number, step: number) => boolean) {
  let step = from.step;
  for (let epoch = from.epoch; epoch < epochs; epoch++) {
    for (const [x, y] of s.loader) {
      const noise = defaultGenerator.normal() * 0.05; // the global generator is used mid-epoch too
      s.optimizer.zeroGrad();
      s.criterion(s.model(x.add(noise)), y).backward();
      s.optimizer.step();
      s.scheduler.step();
      step++;
      if (stop?.(epoch, step)) return { epoch, step };
    }
  }
  return { epoch: epochs, step };
}

const weightsOf = (m: nn.Module) => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(new Uint32Array(t.data.slice().buffer))]));

describe("optimizer stateDict / loadStateDict", () => {
  it("keys state by parameter index with PyTorch's buffer names, groups list indices and options", () => {
    const s = setup(1, "sgd");
    train(s, 1, undefined, (_, step) => step === 2);
    const sd = s.optimizer.stateDict();
    expect(Object.keys(sd.state)).toEqual(["0", "1", "2", "3"]);
    expect(sd.state[2].step).toBe(2);
    expect(Object.keys(sd.state[2].buffers)).toEqual(["momentum_buffer"]);
    expect(sd.state[2].buffers.momentum_buffer.shape).toEqual([3, 8]);
    expect(sd.paramGroups.map((g) => g.params)).toEqual([[0], [1, 2, 3]]);
    expect(sd.paramGroups[1]).toMatchObject({ lr: 0.02, momentum: 0.9, nesterov: true, weightDecay: 1e-3 });

    const a = setup(1, "adam");
    train(a, 1, undefined, (_, step) => step === 1);
    expect(Object.keys(a.optimizer.stateDict().state[0].buffers)).toEqual(["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]);
  });

  it("a loaded optimizer continues exactly like the original; options are restored", () => {
    const s = setup(2, "adamw");
    train(s, 1, undefined, (_, step) => step === 3);
    const sd = s.optimizer.stateDict();
    const fresh = new optim.AdamW(s.model.parameters(), { lr: 0.5 });
    fresh.loadStateDict(sd);
    expect(fresh.lr).toBe(s.optimizer.lr);
    // The state is copied, not shared.
    const buf = fresh.state.get(s.model.parameters()[0])!.buffers.exp_avg;
    expect(buf.ptr).not.toBe(sd.state[0].buffers.exp_avg.ptr);
    expect(buf.toArray()).toEqual(sd.state[0].buffers.exp_avg.toArray());
    expect(fresh.state.get(s.model.parameters()[0])!.step).toBe(3);
    // Plain {shape, data} buffers (as read from a file) work too.
    const plain = {
      ...sd,
      state: Object.fromEntries(
        Object.entries(sd.state).map(([k, st]) => [
          k,
          {
            step: st.step,
            buffers: Object.fromEntries(Object.entries(st.buffers).map(([b, t]) => [b, { shape: t.shape, data: t.toArray() }])),
          },
        ]),
      ),
    };
    const fromPlain = new optim.AdamW(s.model.parameters());
    fromPlain.loadStateDict(plain);
    expect(fromPlain.state.get(s.model.parameters()[3])!.buffers.exp_avg_sq.toArray()).toEqual(sd.state[3].buffers.exp_avg_sq.toArray());
  });

  it("mismatched groups or shapes throw and leave the optimizer unchanged", () => {
    const s = setup(3, "sgd");
    train(s, 1, undefined, (_, step) => step === 1);
    const sd = s.optimizer.stateDict();
    const other = new optim.SGD(s.model.parameters(), { lr: 0.3, momentum: 0.5 });
    expect(() => other.loadStateDict(sd)).toThrow(/2 parameter groups, this optimizer 1/);
    const one = new optim.SGD([{ params: s.model.parameters().slice(0, 1) }, { params: s.model.parameters().slice(1) }], { lr: 0.3, momentum: 0.5 });
    const bad = { ...sd, state: { ...sd.state, 1: { step: 1, buffers: { momentum_buffer: tensor([1, 2]) } } } };
    expect(() => one.loadStateDict(bad)).toThrow(ShapeError);
    expect(one.lr).toBe(0.3);
    expect(one.state.size).toBe(0);
    expect(() => one.loadStateDict({ ...sd, paramGroups: sd.paramGroups.map((g) => ({ ...g, lr: -1 })) })).toThrow(ValueError);
  });
});

describe("checkpoints", () => {
  for (const opt of ["sgd", "adam", "adamw"] as const) {
    it(`${opt}: save mid-epoch, load into fresh objects, continue → bitwise identical to an uninterrupted run`, () => {
      const ref = setup(5, opt);
      train(ref, 3);
      const reference = weightsOf(ref.model);
      const refRng = defaultGenerator.getState();

      const first = setup(5, opt);
      const at = train(first, 3, undefined, (epoch, step) => epoch === 1 && step === 11); // batch 3 of epoch 2
      const path = join(dir, `${opt}.ckpt`);
      io.saveCheckpoint(path, { ...first, epoch: at.epoch, step: at.step, rng: defaultGenerator, extra: { note: "mid-epoch" } });
      expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);

      // Fresh objects with other weights and another global generator state.
      const resumed = setup(77, opt);
      defaultGenerator.normal();
      const info = io.loadCheckpoint(path, { ...resumed, rng: defaultGenerator });
      expect(info).toMatchObject({ epoch: 1, step: 11, extra: { note: "mid-epoch" }, missingKeys: [], unexpectedKeys: [] });
      expect(resumed.loader.stateDict().batchesDone).toBe(3);
      expect(resumed.scheduler.lastEpoch).toBe(11);
      expect(resumed.optimizer.lr).toBeCloseTo(first.optimizer.lr, 12);
      train(resumed, 3, info);
      expect(weightsOf(resumed.model)).toEqual(reference);
      expect(defaultGenerator.getState()).toEqual(refRng);
      const bufs = (s: Setup) => Array.from(s.optimizer.state.values(), (st) => [st.step, Object.values(st.buffers).map((t) => t.toArray())]);
      expect(bufs(resumed)).toEqual(bufs(ref));
    });
  }

  it("the comparison detects a resume that skips the loader position or the generator state", () => {
    const ref = setup(5, "sgd");
    train(ref, 2);
    const reference = weightsOf(ref.model);
    const first = setup(5, "sgd");
    const at = train(first, 2, undefined, (_, step) => step === 12);
    const bytes = io.saveCheckpoint(null, { ...first, epoch: at.epoch, step: at.step });
    for (const variant of ["no loader", "no rng"] as const) {
      const r = setup(6, "sgd");
      const { loader, ...rest } = r;
      const info = variant === "no loader" ? io.loadCheckpoint(bytes, rest) : io.loadCheckpoint(bytes, { ...r, rng: new Generator(1) });
      if (variant === "no loader") expect(loader.stateDict().batchesDone).toBe(0);
      train(r, 2, info);
      expect(weightsOf(r.model)).not.toEqual(reference);
    }
  });

  it("between epochs the loader state says 'start afresh'; the file is a safetensors file any reader opens", () => {
    const s = setup(8, "adam");
    const at = train(s, 1);
    expect(s.loader.stateDict()).toEqual({ samples: 120, batchSize: 16, generator: null, batchesDone: 0 });
    const path = join(dir, "epoch.ckpt");
    io.saveCheckpoint(path, { ...s, epoch: at.epoch, step: at.step });
    const { tensors, metadata } = io.readSafetensors(path);
    expect(metadata.format).toBe("wasmgrad.checkpoint");
    expect(JSON.parse(metadata.checkpoint)).toMatchObject({
      epoch: 1,
      step: 8,
      optimizer: { type: "Adam" },
      scheduler: { type: "StepLR", lastEpoch: 8, stepSize: 5, gamma: 0.7 },
    });
    expect(Object.keys(tensors)).toContain("model.0.weight");
    expect(Object.keys(tensors)).toContain("optimizer.3.exp_avg_sq");
    expect(Array.from(tensors["model.2.bias"].data)).toEqual(s.model.stateDict()["2.bias"].toArray());
  });

  it("overwrites atomically; a temp file a killed process left behind is removed by the next write, one of a live process is not", () => {
    const s = setup(9, "sgd");
    const path = join(dir, "atomic.ckpt");
    io.saveCheckpoint(path, { ...s, epoch: 0, step: 0 });
    const dead = `${path}.999999999-abc-def.tmp`; // no such pid
    const live = `${path}.${process.ppid}-abc-def.tmp`; // a process that runs (still writing, as far as we know)
    writeFileSync(dead, "half-written garbage from a killed process");
    writeFileSync(live, "another process's write in progress");
    train(s, 1);
    io.saveCheckpoint(path, { ...s, epoch: 1, step: 8 });
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    rmSync(live);
    expect(io.loadCheckpoint(path, { model: setup(9, "sgd").model }).step).toBe(8);
  });

  it("wrong or damaged checkpoints: FormatError or ValueError, nothing changed", () => {
    const s = setup(10, "sgd");
    train(s, 1, undefined, (_, step) => step === 2);
    const bytes = io.saveCheckpoint(null, { ...s, epoch: 0, step: 2 });
    const target = setup(11, "sgd");
    const before = weightsOf(target.model);
    expect(() => io.loadCheckpoint(bytes.subarray(0, bytes.length - 3), target)).toThrow(FormatError);
    expect(() => io.loadCheckpoint(io.saveSafetensors(s.model.stateDict()), target)).toThrow(/not a wasmgrad checkpoint/);
    const adam = new optim.Adam(target.model.parameters());
    expect(() => io.loadCheckpoint(bytes, { model: target.model, optimizer: adam })).toThrow(/holds SGD state, the optimizer given is Adam/);
    const wider = new nn.Sequential(new nn.Linear(6, 9), new nn.ReLU(), new nn.Linear(9, 3));
    expect(() => io.loadCheckpoint(bytes, { model: wider })).toThrow(ShapeError);
    const named = new nn.Sequential({ body: new nn.Linear(6, 8), head: new nn.Linear(8, 3) });
    expect(() => io.loadCheckpoint(bytes, { model: named })).toThrow(/missing keys: body.weight/);
    expect(weightsOf(target.model)).toEqual(before);
    const corrupt = new Uint8Array(bytes);
    const text = new TextDecoder().decode(corrupt.subarray(8, 8 + new DataView(corrupt.buffer).getUint32(0, true)));
    corrupt.set(new TextEncoder().encode(text.replace('\\"rng\\":{\\"words\\":[', '\\"rng\\":{\\"wordz\\":[')), 8);
    expect(() => io.loadCheckpoint(corrupt, target)).toThrow(/lacks a valid epoch, step or rng state/);
  });
});
