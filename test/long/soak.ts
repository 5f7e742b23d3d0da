// A long run of the seed MLP on MNIST (npm run soak), to show that memory stays flat: 50 epochs
// of examples/mnist-mlp.ts's configuration (784→128→ReLU→64→ReLU→10, ToTensor + Normalize,
// batch 100, shuffled, SGD lr 0.001 momentum 0.9), plus per epoch an evaluation of the test set
// inside noGrad and a checkpoint encoded to bytes. After every epoch it prints the backend heap's
// live and reserved bytes, the wasm memory size, the step scopes, the JS heap and the process RSS
// (after a full garbage collection); at the end it checks that none of them grew after the
// warm-up and exits with 1 if one did.
//
//   npm run soak                          # 50 epochs, ~1 min
//   npm run soak -- --epochs 200 --backend js --batch 32
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  DataLoader,
  correctCount,
  datasets,
  defaultGenerator,
  getBackend,
  io,
  manualSeed,
  nn,
  noGrad,
  optim,
  setBackend,
  transforms,
} from "../../src/index.js";
import { stepScopeSizes } from "../../src/lifetime.js";
import { parseFlags } from "../../src/cli/flags.js";

const args = parseFlags(
  "npm run soak --",
  "A long run of the seed MLP on MNIST that fails if memory (heap, wasm memory, JS heap, RSS) grows after the warm-up.",
  {
    epochs: { type: "int", default: 50, min: 1, help: "epochs" },
    backend: { type: "string", default: "wasm", choices: ["wasm", "js"], help: "kernel backend" },
    batch: { type: "int", default: 100, min: 1, help: "batch size" },
    warmup: { type: "int", default: 3, min: 0, help: "epochs before memory must stay flat" },
    "rss-slack-mib": { type: "number", default: 48, min: 0, help: "RSS growth tolerated after the warm-up (MiB)" },
  },
);
const { epochs, warmup } = args;
const batchSize = args.batch;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

setBackend(args.backend);
manualSeed(0);
const transform = new transforms.Compose([new transforms.ToTensor(), new transforms.Normalize([0.5], [0.5])]);
const trainset = new datasets.MNIST({ train: true, transform });
const testset = new datasets.MNIST({ train: false, transform });
const trainloader = new DataLoader(trainset, { batchSize, shuffle: true });
const testloader = new DataLoader(testset, { batchSize: 1000 });
const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 64), new nn.ReLU(), new nn.Linear(64, 10));
const criterion = new nn.CrossEntropyLoss();
const optimizer = new optim.SGD(model.parameters(), { lr: 0.001, momentum: 0.9 });
const be = getBackend();

interface Sample {
  epoch: number;
  loss: number;
  accuracy: number;
  seconds: number;
  live: number;
  reserved: number;
  blocks: number;
  wasm: number;
  scopes: number;
  jsHeap: number;
  rss: number;
}

const mib = (n: number) => (n / 2 ** 20).toFixed(2);
const pad = (s: string | number, n: number) => String(s).padStart(n);
const measure = async (): Promise<Pick<Sample, "live" | "reserved" | "blocks" | "wasm" | "scopes" | "jsHeap" | "rss">> => {
  await new Promise((resolve) => setTimeout(resolve, 0)); // finalizers, zlib and timers run
  gc();
  const h = be.heap.stats();
  const m = process.memoryUsage();
  const sc = stepScopeSizes(be);
  return {
    live: h.liveBytes,
    reserved: h.reservedBytes,
    blocks: h.liveBlocks,
    wasm: h.memoryBytes,
    scopes: sc.current + sc.previous,
    jsHeap: m.heapUsed,
    rss: m.rss,
  };
};

console.log(
  `Soak: seed MLP on MNIST, ${epochs} epochs, batch ${batchSize}, backend ${args.backend}; each epoch: train, ` +
    `evaluate the test set in noGrad, encode a checkpoint`,
);
const start = await measure();
console.log(
  `after loading the data: heap live ${mib(start.live)} MiB, wasm memory ${mib(start.wasm)} MiB, JS heap ${mib(start.jsHeap)} MiB, RSS ${mib(start.rss)} MiB`,
);
console.log(
  `${pad("epoch", 5)} ${pad("loss", 7)} ${pad("test acc", 8)} ${pad("s", 5)} | ${pad("heap live B", 12)} ${pad("reserved B", 11)} ${pad("blocks", 6)} ` +
    `${pad("wasm mem B", 11)} ${pad("scopes", 6)} | ${pad("JS heap MiB", 11)} ${pad("RSS MiB", 8)}`,
);
const samples: Sample[] = [];
let checkpointBytes = 0;
for (let epoch = 1; epoch <= epochs; epoch++) {
  const t0 = performance.now();
  let running = 0;
  for (const [images, labels] of trainloader) {
    optimizer.zeroGrad();
    const loss = criterion(model(images.view(images.shape[0], -1)), labels);
    loss.backward();
    optimizer.step();
    running += loss.item();
  }
  const seconds = (performance.now() - t0) / 1000;
  model.eval();
  let correct = 0;
  noGrad(() => {
    for (const [images, labels] of testloader) correct += correctCount(model(images.view(images.shape[0], -1)), labels);
  });
  model.train();
  checkpointBytes = io.encodeCheckpoint({ model, optimizer, loader: trainloader, epoch, step: epoch * trainloader.length, rng: defaultGenerator }).length;
  const s: Sample = { epoch, loss: running / trainloader.length, accuracy: correct / testset.length, seconds, ...(await measure()) };
  samples.push(s);
  console.log(
    `${pad(epoch, 5)} ${pad(s.loss.toFixed(4), 7)} ${pad(`${(100 * s.accuracy).toFixed(2)}%`, 8)} ${pad(seconds.toFixed(2), 5)} | ` +
      `${pad(s.live, 12)} ${pad(s.reserved, 11)} ${pad(s.blocks, 6)} ${pad(s.wasm, 11)} ${pad(s.scopes, 6)} | ${pad(mib(s.jsHeap), 11)} ${pad(mib(s.rss), 8)}`,
  );
}

// Flat: after the warm-up epochs, the backend's numbers do not grow at all, and the process's
// only within the noise of the garbage collector (RSS slack, default 48 MiB).
const base = samples[Math.min(warmup, samples.length) - 1];
const after = samples.slice(warmup);
const worst = (k: keyof Sample) => Math.max(...after.map((s) => s[k]));
const problems: string[] = [];
for (const k of ["live", "reserved", "blocks", "wasm", "scopes"] as const) {
  if (after.length > 0 && worst(k) > base[k]) problems.push(`${k} grew from ${base[k]} (epoch ${base.epoch}) to ${worst(k)}`);
}
const slack = args["rss-slack-mib"] * 2 ** 20;
if (after.length > 0 && worst("rss") > base.rss + slack) problems.push(`RSS grew from ${mib(base.rss)} MiB to ${mib(worst("rss"))} MiB`);
if (after.length > 0 && worst("jsHeap") > base.jsHeap + slack) problems.push(`the JS heap grew from ${mib(base.jsHeap)} MiB to ${mib(worst("jsHeap"))} MiB`);
const last = samples[samples.length - 1];
console.log(
  `\n${epochs} epochs in ${samples.reduce((a, s) => a + s.seconds, 0).toFixed(1)} s of training; final loss ${last.loss.toFixed(4)}, ` +
    `test accuracy ${(100 * last.accuracy).toFixed(2)}%; checkpoint ${checkpointBytes} bytes`,
);
console.log(
  `after epoch ${base.epoch} → worst of epochs ${warmup + 1}-${epochs}: heap live ${base.live} → ${worst("live")} B, reserved ${base.reserved} → ` +
    `${worst("reserved")} B, wasm memory ${base.wasm} → ${worst("wasm")} B, RSS ${mib(base.rss)} → ${mib(worst("rss"))} MiB, ` +
    `JS heap ${mib(base.jsHeap)} → ${mib(worst("jsHeap"))} MiB`,
);
if (problems.length > 0) {
  console.log(`NOT FLAT: ${problems.join("; ")}`);
  process.exit(1);
}
console.log("Memory is flat.");
