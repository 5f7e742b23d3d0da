// A Cloudflare Worker that trains the seed MLP (784→128→ReLU→64→ReLU→10, SGD with momentum) inside
// its fetch handler and answers with the losses as JSON:
//
//   GET /?steps=20&seed=0   →   { "steps": 20, "losses": [...], "finalLoss": ..., "accuracy": ..., "ms": ... }
//
// wrangler bundles "wasmgrad" through its "workerd" export condition: that entry imports the
// kernels as a .wasm module (workerd compiles it at deploy time; it forbids compiling wasm from
// bytes at run time). No other setup is needed. The data is a small synthetic 10-class task made
// with integer arithmetic; for real data fetch it, e.g. `await datasets.MNIST.fromUrls({ images,
// labels })` from R2 or any URL, or pass the bytes with `new datasets.MNIST({ images, labels })`.
import { DataLoader, correctCount, data, manualSeed, nn, noGrad, optim, tensor } from "wasmgrad";

const FEATURES = 784;
const CLASSES = 10;

function hash(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d);
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** n samples: a class prototype plus noise, values in [-1, 1). */
function syntheticSet(n: number): data.TensorDataset {
  const x = new Float32Array(n * FEATURES);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = hash(i + 0x9e3779b9) % CLASSES;
    y[i] = c;
    for (let j = 0; j < FEATURES; j++) {
      x[i * FEATURES + j] = ((hash(c * FEATURES + j + 1_000_003) & 255) - 128) / 256 + ((hash(i * FEATURES + j) & 255) - 128) / 256;
    }
  }
  return new data.TensorDataset(tensor(x, { shape: [n, FEATURES] }), tensor(y, { shape: [n], dtype: "int32" }));
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body, null, 2), { status, headers: { "content-type": "application/json" } });
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const steps = Number(url.searchParams.get("steps") ?? 20);
    const seed = Number(url.searchParams.get("seed") ?? 0);
    if (!Number.isInteger(steps) || steps < 1 || steps > 200) return json({ error: "steps must be an integer in 1..200" }, 400);
    if (!Number.isInteger(seed)) return json({ error: "seed must be an integer" }, 400);

    const t0 = performance.now();
    manualSeed(seed);
    const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 64), new nn.ReLU(), new nn.Linear(64, 10));
    const trainset = syntheticSet(2000);
    const loader = new DataLoader(trainset, { batchSize: 100, shuffle: true });
    const criterion = new nn.CrossEntropyLoss();
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });

    const losses: number[] = [];
    while (losses.length < steps) {
      for (const [images, labels] of loader) {
        if (losses.length === steps) break;
        optimizer.zeroGrad();
        const loss = criterion(model(images), labels);
        loss.backward();
        optimizer.step();
        losses.push(loss.item());
      }
    }
    const [x, y] = trainset.tensors;
    const correct = noGrad(() => correctCount(model(x), y));

    // The data set is the big allocation: free it now rather than at garbage collection, since an
    // isolate serves many requests (the model and optimizer state go when they are collected).
    for (const t of trainset.tensors) t.dispose();
    return json({
      steps,
      seed,
      firstLoss: losses[0],
      finalLoss: losses[losses.length - 1],
      losses: losses.map((l) => Number(l.toFixed(4))),
      accuracy: correct / y.shape[0],
      // workerd only advances timers across I/O, so this reads 0 in production (Spectre mitigation).
      ms: Math.round(performance.now() - t0),
    });
  },
};
