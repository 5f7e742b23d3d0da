// The fastest honest route we know to 99% MNIST test accuracy: a 215k-parameter CNN
// (conv 5×5·24 → max pool → conv 3×3·32 → max pool → 256 → 10), Adam with a one-cycle schedule
// (max lr 0.005), batch 128, two passes over the 60,000 training images. The hyperparameters were
// chosen on 5,000 images held out of the training set (--val 5000, three seeds: one epoch at lr
// 0.002–0.02 gave 98.5–98.9%, two epochs at lr 0.005 99.03%, at 0.01 98.96%), never on the test
// set, which is only scored at the end. examples/pytorch/mnist_speedrun.py is the same recipe in
// PyTorch.
//
//   npm run mnist:speedrun                      # one seed, one thread
//   npm run mnist:speedrun -- --seeds 5         # seeds 0..4: the mean test accuracy is the claim
//   npm run mnist:speedrun -- --threads 2
//   npm run mnist:speedrun -- --val 5000        # train on 55,000, score the held-out 5,000 instead
import { DataLoader, correctCount, data, datasets, manualSeed, models, nn, noGrad, optim, setNumThreads, transforms } from "wasmgrad";
import { parseFlags } from "../src/cli/flags.js";

const args = parseFlags("npm run mnist:speedrun --", "A small CNN to 99% MNIST test accuracy in two epochs: Adam with a one-cycle schedule.", {
  epochs: { type: "number", default: 2, min: 0.01, help: "passes over the training images (fractions allowed)" },
  batch: { type: "int", default: 128, min: 1, help: "batch size" },
  lr: { type: "number", default: 0.005, min: 0, help: "one-cycle maximum learning rate" },
  seeds: { type: "int", default: 1, min: 1, help: "runs with seeds 0 .. N-1 (the mean accuracy is reported)" },
  threads: { type: "int", default: 1, min: 1, help: "kernel threads" },
  val: { type: "int", default: 0, min: 0, help: "hold out N training images and score them instead of the test set (for choosing hyperparameters)" },
});
const threads = setNumThreads(args.threads);

const transform = new transforms.Compose([new transforms.ToTensor(), new transforms.Normalize([0.1307], [0.3081])]);
const trainAll = new datasets.MNIST({ train: true, transform });
const testAll = new datasets.MNIST({ train: false, transform });

/** One run: train with `seed`, then score the evaluation set. */
function run(seed: number): { accuracy: number; trainSeconds: number; steps: number } {
  manualSeed(seed);
  // The split is drawn from the seed too, so --val scores images this run never trained on.
  const [trainIdx, valIdx] = data.randomSplit(trainAll, [trainAll.length - args.val, args.val]).map((s) => s.indices);
  const trainset = args.val > 0 ? new data.Subset(trainAll, trainIdx) : trainAll;
  const evalset = args.val > 0 ? new data.Subset(trainAll, valIdx) : testAll;
  const loader = new DataLoader(trainset, { batchSize: args.batch, shuffle: true, dropLast: true });
  const steps = Math.max(1, Math.round(args.epochs * loader.length));

  const model = new models.MnistSpeedrunCNN(); // 215,194 parameters
  const optimizer = new optim.Adam(model.parameters(), { lr: args.lr });
  const scheduler = new optim.lrScheduler.OneCycleLR(optimizer, { maxLr: args.lr, totalSteps: steps });
  const criterion = new nn.CrossEntropyLoss();
  const t0 = performance.now();
  let step = 0;
  while (step < steps) {
    for (const [images, labels] of loader) {
      optimizer.zeroGrad();
      criterion(model(images), labels).backward();
      optimizer.step();
      scheduler.step();
      if (++step === steps) break;
    }
  }
  const trainSeconds = (performance.now() - t0) / 1000;

  model.eval();
  let correct = 0;
  noGrad(() => {
    for (const [images, labels] of new DataLoader(evalset, { batchSize: 1000 })) correct += correctCount(model(images), labels);
  });
  return { accuracy: (100 * correct) / evalset.length, trainSeconds, steps };
}

const scored = args.val > 0 ? `${args.val} held-out training images` : "the 10,000 test images";
console.log(
  `MNIST speedrun: CNN 24c5-p2-32c3-p2-256-10, Adam + one-cycle (max lr ${args.lr}), batch ${args.batch}, ` +
    `${args.epochs} epoch(s), ${threads} thread(s); scoring ${scored}`,
);
const results: ReturnType<typeof run>[] = [];
for (let seed = 0; seed < args.seeds; seed++) {
  const r = run(seed);
  results.push(r);
  console.log(`seed ${seed}: ${r.accuracy.toFixed(2)}% in ${r.trainSeconds.toFixed(1)} s of training (${r.steps} steps)`);
}
const mean = (f: (r: ReturnType<typeof run>) => number) => results.reduce((s, r) => s + f(r), 0) / results.length;
console.log(
  JSON.stringify({
    seeds: results.length,
    meanAccuracy: Number(mean((r) => r.accuracy).toFixed(3)),
    meanTrainSeconds: Number(mean((r) => r.trainSeconds).toFixed(2)),
    accuracies: results.map((r) => r.accuracy),
    threads,
  }),
);
