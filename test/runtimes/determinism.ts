// The determinism script every runtime runs (Node, Chromium main thread and Web Worker, Deno, Bun,
// workerd): seed 0, the seed MLP 784→128→ReLU→64→ReLU→10, SGD(lr 0.01, momentum 0.9), 20 steps of
// batch 100 from a shuffled synthetic set of 2,000 samples. It returns the final loss (with its
// float32 bits) and an FNV-1a checksum of every weight byte in state-dict order; the promise is
// that all runtimes give the same bits. A second short run with Adam covers the host-side math
// of an optimizer (powers for the bias corrections).
//
// The data is built with integer arithmetic only (no Math.sin/log/exp, whose last bits may differ
// between JavaScript engines): inputs are multiples of 1/256 in [-1, 1), exact in float32.
import type * as Wasmgrad from "wasmgrad";

export type WasmgradApi = typeof Wasmgrad;

export interface DeterminismResult {
  runtime: string;
  steps: number;
  firstLoss: number;
  finalLoss: number;
  /** float32 bits of the final loss, hex. */
  finalLossBits: string;
  /** FNV-1a (32-bit) of all weight bytes after training, hex. */
  checksum: string;
  /** Same for 5 Adam steps from the same start. */
  adamChecksum: string;
  adamFinalLossBits: string;
  ms: number;
}

const SAMPLES = 2000;
const FEATURES = 784;
const CLASSES = 10;

/** A 32-bit integer hash (lowbias32). */
function hash(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d);
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** 2,000 samples: a class prototype plus noise, in [-1, 1) with 1/256 steps; labels in 0..9. */
export function syntheticData(): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(SAMPLES * FEATURES);
  const y = new Int32Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) {
    const c = hash(i + 0x9e3779b9) % CLASSES;
    y[i] = c;
    for (let j = 0; j < FEATURES; j++) {
      const proto = ((hash(c * FEATURES + j + 1_000_003) & 255) - 128) / 256; // [-0.5, 0.5)
      const noise = ((hash(i * FEATURES + j) & 255) - 128) / 256; //             [-0.5, 0.5)
      x[i * FEATURES + j] = proto + noise;
    }
  }
  return { x, y };
}

/** FNV-1a over the bytes of every tensor in `dict`, in key order. */
export function fnv1a(dict: Record<string, { toArray(): ArrayLike<number> }>): string {
  let h = 0x811c9dc5;
  for (const key of Object.keys(dict)) {
    const f32 = Float32Array.from(dict[key].toArray());
    const bytes = new Uint8Array(f32.buffer);
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

export function float32Bits(v: number): string {
  const f = new Float32Array([v]);
  return new Uint32Array(f.buffer)[0].toString(16).padStart(8, "0");
}

function seedMlp(w: WasmgradApi) {
  const { nn } = w;
  return new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 64), new nn.ReLU(), new nn.Linear(64, 10));
}

function train(w: WasmgradApi, optimizerName: "sgd" | "adam", maxSteps: number) {
  w.setBackend("wasm");
  w.manualSeed(0);
  const model = seedMlp(w);
  const { x, y } = syntheticData();
  const set = new w.data.TensorDataset(w.tensor(x, { shape: [SAMPLES, FEATURES] }), w.tensor(y, { shape: [SAMPLES], dtype: "int32" }));
  const loader = new w.DataLoader(set, { batchSize: 100, shuffle: true });
  const criterion = new w.nn.CrossEntropyLoss();
  const optimizer =
    optimizerName === "sgd" ? new w.optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 }) : new w.optim.Adam(model.parameters(), { lr: 1e-3 });
  const losses: number[] = [];
  for (const [images, labels] of loader) {
    if (losses.length === maxSteps) break;
    optimizer.zeroGrad();
    const loss = criterion(model(images), labels);
    loss.backward();
    optimizer.step();
    losses.push(loss.item());
  }
  const checksum = fnv1a(model.stateDict());
  for (const t of set.tensors) t.dispose();
  return { losses, checksum };
}

export function runDeterminism(w: WasmgradApi, runtime: string): DeterminismResult {
  const t0 = performance.now();
  const sgd = train(w, "sgd", 20);
  const adam = train(w, "adam", 5);
  const finalLoss = sgd.losses[sgd.losses.length - 1];
  return {
    runtime,
    steps: sgd.losses.length,
    firstLoss: sgd.losses[0],
    finalLoss,
    finalLossBits: float32Bits(finalLoss),
    checksum: sgd.checksum,
    adamChecksum: adam.checksum,
    adamFinalLossBits: float32Bits(adam.losses[adam.losses.length - 1]),
    ms: Math.round(performance.now() - t0),
  };
}
