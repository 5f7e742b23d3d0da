// The playground's training worker: loads MNIST from the IDX files the server exposes under
// ./data/, trains models.MnistMLP or models.MnistCNN in chunks (yielding between them so that
// predictions, "stop" and other messages get through while it trains), predicts drawn digits,
// fine-tunes on the user's drawings, and saves/loads safetensors.
import {
  DataLoader,
  Generator,
  type Tensor,
  correctCount,
  type data,
  datasets,
  io,
  manualSeed,
  nn,
  noGrad,
  optim,
  setNumThreads,
  tensor,
  transforms,
} from "wasmgrad";
import { type MnistModel, createModel, interpretModelFile, modelMetadata } from "../../src/cli/modelfile.js";
import { MNIST_MEAN, MNIST_STD, normalizePixels } from "../../src/cli/preprocess.js";
import type { FromWorker, ModelKind, Sample, ToWorker, TrainConfig } from "./protocol.js";

const post = (m: FromWorker, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

let trainset: data.MNIST | null = null;
let testset: data.MNIST | null = null;
let model: MnistModel = createModel("mlp");
let kind: ModelKind = "mlp";
let norm = { mean: MNIST_MEAN, std: MNIST_STD };
let optimizer: optim.Adam | optim.SGD | null = null;
let busy: "training" | "finetuning" | null = null;
let stopRequested = false;
let finetuneRuns = 0;

const paramCount = (m: MnistModel) => m.parameters().reduce((s, p) => s + p.size, 0);

/** Frees an optimizer's state buffers (they live in wasm memory). */
function disposeOptimizerState(opt: optim.Adam | optim.SGD | null): void {
  for (const st of opt?.state.values() ?? []) for (const b of Object.values(st.buffers)) b.dispose();
}

/** Frees a model's parameters, buffers and optimizer state (they live in wasm memory). */
function dispose(m: MnistModel, opt: optim.Adam | optim.SGD | null): void {
  disposeOptimizerState(opt);
  for (const p of m.parameters()) {
    p.grad?.dispose();
    p.dispose();
  }
  for (const b of m.buffers()) b.dispose();
}

/** Lets queued messages (predict, stop) run: a macrotask turn via a MessageChannel. */
const channel = new MessageChannel();
const waiting: (() => void)[] = [];
channel.port1.onmessage = () => waiting.shift()?.();
const yieldNow = () =>
  new Promise<void>((resolve) => {
    waiting.push(resolve);
    channel.port2.postMessage(null);
  });

/** The first n records of an IDX file (rewrites the count in its header). */
function sliceIdx(bytes: Uint8Array, n: number): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = bytes[3];
  const count = view.getUint32(4, false);
  if (n >= count) return bytes;
  let per = 1;
  for (let i = 1; i < dims; i++) per *= view.getUint32(4 + 4 * i, false);
  const header = 4 + 4 * dims;
  const out = bytes.slice(0, header + n * per);
  new DataView(out.buffer).setUint32(4, n, false);
  return out;
}

async function fetchBytes(name: string): Promise<Uint8Array> {
  const res = await fetch(new URL(`./data/${name}`, self.location.href));
  if (!res.ok) throw new Error(`fetching data/${name} failed: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function init(limit: number, testLimit: number, threads: number): Promise<void> {
  post({ type: "status", text: "downloading MNIST…" });
  const [ti, tl, vi, vl] = await Promise.all(
    ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"].map(fetchBytes),
  );
  post({ type: "status", text: "preparing MNIST…" });
  const transform = new transforms.Compose([new transforms.ToTensor(), new transforms.Normalize([MNIST_MEAN], [MNIST_STD])]);
  trainset = new datasets.MNIST({ images: sliceIdx(ti, limit), labels: sliceIdx(tl, limit), transform });
  testset = new datasets.MNIST({ images: sliceIdx(vi, testLimit), labels: sliceIdx(vl, testLimit), transform });
  const used = setNumThreads(Math.max(1, threads));
  manualSeed(0);
  post({
    type: "ready",
    train: trainset.length,
    test: testset.length,
    threads: used,
    isolated: (self as unknown as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
    model: kind,
    params: paramCount(model),
  });
}

/** Test accuracy on (up to) n images of the test set. */
function testAccuracy(n: number): number {
  const ds = testset!;
  let correct = 0;
  let seen = 0;
  model.eval();
  noGrad(() => {
    for (const [x, y] of new DataLoader(ds, { batchSize: 500 })) {
      if (seen >= n) break;
      correct += correctCount(model(x), y);
      seen += y.shape[0];
    }
  });
  model.train();
  return seen === 0 ? NaN : correct / seen;
}

async function train(cfg: TrainConfig): Promise<void> {
  if (trainset === null) throw new Error("the data is not loaded yet");
  busy = "training";
  stopRequested = false;
  try {
    manualSeed(cfg.seed);
    dispose(model, optimizer);
    kind = cfg.model;
    norm = { mean: MNIST_MEAN, std: MNIST_STD };
    model = createModel(kind);
    optimizer = cfg.optimizer === "sgd" ? new optim.SGD(model.parameters(), { lr: cfg.lr, momentum: 0.9 }) : new optim.Adam(model.parameters(), { lr: cfg.lr });
    const criterion = new nn.CrossEntropyLoss();
    // The speedrun CNN trains with its recipe's one-cycle schedule (max lr = cfg.lr) on full batches.
    const speedrun = kind === "speedrun";
    const loader = new DataLoader(trainset, { batchSize: cfg.batch, shuffle: true, dropLast: speedrun && trainset.length >= cfg.batch });
    const scheduler = speedrun ? new optim.lrScheduler.OneCycleLR(optimizer, { maxLr: cfg.lr, totalSteps: cfg.epochs * loader.length }) : null;
    // The CNN evaluates on fewer test images per epoch: it is ~20× the MLP's work per image (the
    // speedrun scores the whole test set: its accuracy is the claim).
    const evalImages = Math.min(testset!.length, kind === "cnn" ? 2000 : 10000);
    post({ type: "started", model: kind, params: paramCount(model), steps: cfg.epochs * loader.length, evalImages });
    const start = performance.now();
    // About 50 chart points per epoch (more if steps are slow).
    const postEvery = Math.max(1, Math.round(loader.length / 50));
    let step = 0;
    model.train();
    for (let epoch = 1; epoch <= cfg.epochs && !stopRequested; epoch++) {
      const epochStart = performance.now();
      let epochLoss = 0,
        epochCorrect = 0,
        epochSeen = 0;
      let sumLoss = 0,
        sumCorrect = 0,
        sumSeen = 0;
      let lastPost = performance.now();
      let batch = 0;
      const it = loader[Symbol.iterator]();
      for (;;) {
        const r = it.next();
        if (r.done) break;
        const [x, y] = r.value as [Tensor, Tensor];
        optimizer.zeroGrad();
        const out = model(x);
        const loss = criterion(out, y);
        loss.backward();
        optimizer.step();
        scheduler?.step();
        const v = loss.item();
        const n = y.shape[0];
        const c = correctCount(out, y);
        step++;
        batch++;
        sumLoss += v * n;
        sumCorrect += c;
        sumSeen += n;
        epochLoss += v * n;
        epochCorrect += c;
        epochSeen += n;
        if (!Number.isFinite(v)) {
          stopRequested = true;
          post({ type: "error", message: `the loss became ${v} at step ${step}: training stopped; try a lower learning rate` });
        }
        const now = performance.now();
        if (batch % postEvery === 0 || now - lastPost > 150 || batch === loader.length) {
          post({
            type: "progress",
            step,
            epoch,
            epochs: cfg.epochs,
            batch,
            batches: loader.length,
            loss: sumLoss / sumSeen,
            accuracy: sumCorrect / sumSeen,
            lr: optimizer.lr,
            samplesPerSec: sumSeen / ((now - lastPost) / 1000),
          });
          sumLoss = sumCorrect = sumSeen = 0;
          await yieldNow();
          lastPost = performance.now();
          if (stopRequested) {
            it.return?.(undefined);
            break;
          }
        }
      }
      if (epochSeen > 0 && !stopRequested) {
        const seconds = (performance.now() - epochStart) / 1000;
        post({
          type: "epoch",
          epoch,
          step,
          loss: epochLoss / epochSeen,
          trainAccuracy: epochCorrect / epochSeen,
          testAccuracy: testAccuracy(evalImages),
          evalImages,
          seconds,
        });
        await yieldNow();
      }
    }
    post({ type: "done", stopped: stopRequested, step, seconds: (performance.now() - start) / 1000 });
  } finally {
    busy = null;
    model.eval();
  }
}

function predict(pixels: Uint8Array): number[] {
  const wasTraining = model.training;
  model.eval();
  const x = tensor(normalizePixels(pixels, norm.mean, norm.std), { shape: [1, 784] });
  try {
    return noGrad(() => model(x).softmax(-1).toArray());
  } finally {
    x.dispose();
    model.train(wasTraining);
  }
}

/** A copy of a 28×28 image moved by (dx, dy) pixels, zeros shifted in. */
function shift(pixels: Uint8Array, dx: number, dy: number): Uint8Array {
  const out = new Uint8Array(784);
  for (let y = 0; y < 28; y++) {
    const sy = y - dy;
    if (sy < 0 || sy >= 28) continue;
    for (let x = 0; x < 28; x++) {
      const sx = x - dx;
      if (sx >= 0 && sx < 28) out[y * 28 + x] = pixels[sy * 28 + sx];
    }
  }
  return out;
}

/**
 * Fine-tunes the current model on the user's drawings: each step is a batch of every drawing
 * (moved by up to ±2 pixels at random) plus as many random MNIST training images, so the other
 * digits are not forgotten.
 */
async function finetune(samples: Sample[], steps: number, lr: number): Promise<void> {
  if (trainset === null) throw new Error("the data is not loaded yet");
  if (samples.length === 0) throw new Error("add a few drawings first");
  busy = "finetuning";
  try {
    const params = model.parameters();
    const opt = new optim.Adam(params, { lr });
    const criterion = new nn.CrossEntropyLoss();
    const replay = Math.max(16, samples.length * 2);
    const B = samples.length + replay;
    const xs = new Float32Array(B * 784);
    const ys = new Int32Array(B);
    const raw = trainset.data;
    const rng = new Generator(++finetuneRuns); // reproducible: the same drawings fine-tune the same way
    const rnd = (n: number) => rng.randint(n);
    model.train();
    let last = NaN;
    for (let s = 1; s <= steps; s++) {
      samples.forEach((smp, i) => {
        normalizePixels(shift(smp.pixels, rnd(5) - 2, rnd(5) - 2), norm.mean, norm.std, xs, i * 784);
        ys[i] = smp.label;
      });
      for (let i = samples.length; i < B; i++) {
        const k = rnd(trainset.length);
        normalizePixels(raw.subarray(k * 784, (k + 1) * 784), norm.mean, norm.std, xs, i * 784);
        ys[i] = trainset.targets[k];
      }
      const x = tensor(xs, { shape: [B, 784] });
      const y = tensor(ys, { shape: [B], dtype: "int32" });
      opt.zeroGrad();
      const loss = criterion(model(x), y);
      loss.backward();
      opt.step();
      last = loss.item();
      x.dispose();
      y.dispose();
      if (s % 5 === 0 || s === steps) {
        post({ type: "finetune-progress", step: s, steps, loss: last });
        await yieldNow();
      }
    }
    disposeOptimizerState(opt);
    optimizer = null; // the training optimizer's state no longer matches the weights' history
    model.zeroGrad();
    post({ type: "finetuned", steps, loss: last });
  } finally {
    busy = null;
    model.eval();
  }
}

function save(): void {
  const bytes = io.saveSafetensors(model.stateDict(), undefined, { metadata: modelMetadata(kind, norm.mean, norm.std) });
  post({ type: "saved", bytes, model: kind }, [bytes.buffer]);
}

function load(bytes: Uint8Array, name: string): void {
  const { tensors, metadata } = io.readSafetensors(bytes);
  const file = interpretModelFile(tensors, metadata, name);
  const next = createModel(file.kind);
  next.loadStateDict(file.stateDict); // throws (leaving the current model) if the weights do not fit
  dispose(model, optimizer);
  optimizer = null;
  model = next;
  model.eval();
  kind = file.kind;
  norm = { mean: file.mean, std: file.std };
  post({ type: "loaded", model: kind, name, params: paramCount(model) });
}

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  try {
    switch (m.type) {
      case "init":
        await init(m.limit, m.testLimit, m.threads);
        break;
      case "train":
        if (busy) throw new Error(`busy ${busy}`);
        await train(m.config);
        break;
      case "stop":
        stopRequested = true;
        break;
      case "predict":
        post({ type: "prediction", id: m.id, probs: predict(m.pixels) });
        break;
      case "finetune":
        if (busy) throw new Error(`busy ${busy}: wait for it to finish`);
        await finetune(m.samples, m.steps, m.lr);
        break;
      case "save":
        save();
        break;
      case "load":
        if (busy) throw new Error(`busy ${busy}: wait for it to finish`);
        load(m.bytes, m.name);
        break;
    }
  } catch (err) {
    post({ type: "error", message: err instanceof Error ? `${err.name === "Error" ? "" : `${err.name}: `}${err.message}` : String(err) });
  }
};
