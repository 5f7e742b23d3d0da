// A small CNN for MNIST that goes past 99.2% (models.MnistCNN: two conv blocks conv → batch
// norm → ReLU → max pool, dropout, a hidden layer); random affine augmentation; AdamW with a
// one-cycle schedule; early stopping on a validation split keeps the best weights.
//
//   npm run mnist:cnn                       # flags: --epochs --batch --lr --seed --threads
//                                           #   --backend wasm|js --limit N --val N --patience N
import {
  DataLoader,
  type Tensor,
  correctCount,
  data,
  datasets,
  manualSeed,
  models,
  nn,
  noGrad,
  optim,
  setBackend,
  setNumThreads,
  train,
  transforms,
} from "wasmgrad";
import { parseFlags } from "../src/cli/flags.js";

const args = parseFlags("npm run mnist:cnn --", "A small CNN for MNIST past 99.2%: augmentation, AdamW with one-cycle, early stopping on a validation split.", {
  epochs: { type: "int", default: 8, min: 1, help: "epochs" },
  batch: { type: "int", default: 64, min: 1, help: "batch size" },
  lr: { type: "number", default: 0.004, min: 0, help: "one-cycle maximum learning rate" },
  seed: { type: "int", default: 0, min: 0, help: "random seed" },
  threads: { type: "int", default: 1, min: 1, help: "kernel threads" },
  backend: { type: "string", default: "wasm", choices: ["wasm", "js"], help: "kernel backend" },
  limit: { type: "int", min: 1, help: "use only the first N training images" },
  val: { type: "int", default: 5000, min: 1, help: "validation images held out of the training set" },
  patience: { type: "int", default: 3, min: 1, help: "epochs without validation improvement before stopping" },
});
const num = (name: "epochs" | "batch" | "lr" | "seed" | "threads" | "limit" | "val" | "patience") => args[name] as number;
setBackend(args.backend);
const threads = setNumThreads(num("threads"));
manualSeed(num("seed"));

const normalize = new transforms.Normalize([0.1307], [0.3081]);
const augment = new transforms.Compose([
  new transforms.RandomAffine({ degrees: 10, translate: [0.1, 0.1], scale: [0.9, 1.1] }),
  new transforms.ToTensor(),
  normalize,
]);
const plain = new transforms.Compose([new transforms.ToTensor(), normalize]);

// Training images are augmented; validation images (held out of the same training set) are not.
const trainAll = new datasets.MNIST({ train: true, transform: augment });
const valAll = new datasets.MNIST({ train: true, transform: plain });
const testset = new datasets.MNIST({ train: false, transform: plain });
const valSize = num("val");
const [trainIdx, valIdx] = data.randomSplit(trainAll, [trainAll.length - valSize, valSize]).map((s) => s.indices);
const limit = args.limit === undefined ? trainIdx.length : Math.min(num("limit"), trainIdx.length);
const trainset = new data.Subset(trainAll, trainIdx.subarray(0, limit));
const valset = new data.Subset(valAll, valIdx);

const batchSize = num("batch");
const trainloader = new DataLoader(trainset, { batchSize, shuffle: true });
const model = new models.MnistCNN(); // two conv blocks (conv → batch norm → ReLU → pool), see src/models/mnist.ts
const epochs = num("epochs");
const optimizer = new optim.AdamW(model.parameters(), { lr: num("lr"), weightDecay: 1e-4 });
const scheduler = new optim.lrScheduler.OneCycleLR(optimizer, { maxLr: num("lr"), epochs, stepsPerEpoch: trainloader.length });
const criterion = new nn.CrossEntropyLoss();
const stopper = new train.EarlyStopping({ patience: num("patience"), mode: "max" });

function accuracy(dataset: data.Dataset<[Tensor, number]>): number {
  model.eval();
  let correct = 0;
  noGrad(() => {
    for (const [x, y] of new DataLoader(dataset, { batchSize: 1000 })) correct += correctCount(model(x), y);
  });
  model.train();
  return correct / dataset.length;
}

console.log(
  `MNIST CNN: ${trainset.length} training images (augmented), ${valset.length} validation, ` +
    `batch ${batchSize}, AdamW + OneCycle max lr ${args.lr}, backend ${args.backend}, ${threads} thread(s)`,
);
let elapsed = 0;
let timeTo99: number | null = null;
for (let epoch = 1; epoch <= epochs; epoch++) {
  const t0 = performance.now();
  let running = 0;
  for (const [images, labels] of trainloader) {
    optimizer.zeroGrad();
    const loss = criterion(model(images), labels);
    loss.backward();
    optimizer.step();
    scheduler.step();
    running += loss.item();
  }
  const seconds = (performance.now() - t0) / 1000;
  elapsed += seconds;
  const val = accuracy(valset);
  const testAcc = accuracy(testset);
  if (timeTo99 === null && testAcc >= 0.99) timeTo99 = elapsed;
  console.log(
    `Epoch ${epoch}: loss ${(running / trainloader.length).toFixed(4)}, validation ${(100 * val).toFixed(2)}%, ` +
      `test ${(100 * testAcc).toFixed(2)}%  (${seconds.toFixed(1)} s, ${Math.round(trainset.length / seconds)} samples/s)`,
  );
  if (stopper.step(val, model)) {
    console.log(`Early stop: no validation improvement for ${args.patience} epochs`);
    break;
  }
}
stopper.restoreBest(model);
console.log(`Test accuracy (best validation epoch): ${(100 * accuracy(testset)).toFixed(2)}%`);
console.log(`Training time: ${elapsed.toFixed(1)} s; time to 99% test accuracy: ${timeTo99 === null ? "not reached" : `${timeTo99.toFixed(1)} s`}`);
