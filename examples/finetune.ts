// Transfer learning on MNIST, the way it goes in PyTorch:
//   1. pretrain the seed MLP (784→128→ReLU→64→ReLU→10) on digits 0–4 (with random ±2-pixel
//      shifts, which keep the first layer's features from fitting five digits' exact positions)
//      and save it as safetensors;
//   2. load the file into a fresh model, replace the head (model.fc3 = new nn.Linear(64, 5)),
//      freeze the body (requiresGrad_(false)) and train the head on digits 5–9 with only 100
//      labeled images per class; then unfreeze and fine-tune everything at a lower learning rate
//      ("linear probing, then fine-tuning");
//   3. train the same architecture from scratch on the same 500 images, as many epochs;
//   4. compare test accuracy on the 4,861 test images of digits 5–9, and the time each took.
// The 500 images are used as they are (no augmentation) by both the fine-tuned and the scratch model.
//
//   npm run finetune
//   npm run finetune -- --per-class 100 --head-epochs 20 --epochs 30 --pretrain-epochs 5 --seed 0 --weights path
import { type Tensor, correctCount, data, datasets, defaultGenerator, io, manualSeed, nn, noGrad, optim, setBackend, tensor, transforms } from "wasmgrad";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseFlags } from "../src/cli/flags.js";

const args = parseFlags(
  "npm run finetune --",
  "Transfer learning on MNIST: pretrain on digits 0-4, save safetensors, fine-tune on 100 images per class of 5-9.",
  {
    "pretrain-epochs": { type: "int", default: 5, min: 1, help: "epochs on digits 0-4" },
    "head-epochs": { type: "int", default: 20, min: 0, help: "epochs training only the new head" },
    epochs: { type: "int", default: 30, min: 0, help: "epochs fine-tuning everything after the head" },
    "per-class": { type: "int", default: 100, min: 1, help: "fine-tuning images per digit 5-9" },
    seed: { type: "int", default: 0, min: 0, help: "random seed" },
    weights: { type: "string", default: join(tmpdir(), "wasmgrad-mnist-digits0-4.safetensors"), help: "where the pretrained weights are saved" },
  },
);
const num = (name: "pretrain-epochs" | "head-epochs" | "epochs" | "per-class" | "seed") => args[name];
setBackend("wasm");
manualSeed(num("seed"));

class MLP extends nn.Module {
  fc1 = new nn.Linear(784, 128);
  fc2 = new nn.Linear(128, 64);
  fc3 = new nn.Linear(64, 10);
  forward(x: Tensor): Tensor {
    return this.fc3(this.fc2(this.fc1(x).relu()).relu());
  }
}

// ---- data: digits 0–4 for pretraining; 100 per class of 5–9 for fine-tuning; 5–9 test set ----
const transform = new transforms.Compose([new transforms.ToTensor(), new transforms.Normalize([0.5], [0.5])]);
const trainset = new datasets.MNIST({ train: true, transform });
const testset = new datasets.MNIST({ train: false, transform });

/** Images [n, 784] and labels minus `offset` of the given samples, as a TensorDataset. */
function tensorsOf(ds: data.MNIST, indices: Int32Array, offset: number): data.TensorDataset {
  const [x, y] = noGrad(() => ds.getBatch(indices));
  return new data.TensorDataset(x.reshape(indices.length, 784), tensor(Int32Array.from(y.data as Int32Array, (v) => v - offset)));
}
const where = (ds: data.MNIST, keep: (label: number) => boolean) => Int32Array.from(Array.from(ds.targets.keys()).filter((i) => keep(ds.targets[i])));

const pretrainSet = tensorsOf(
  trainset,
  where(trainset, (d) => d <= 4),
  0,
);
const test0to4 = tensorsOf(
  testset,
  where(testset, (d) => d <= 4),
  0,
);
const test5to9 = tensorsOf(
  testset,
  where(testset, (d) => d >= 5),
  5,
);
// `per-class` random training images of each digit 5–9 (seeded).
const perClass = num("per-class");
const shuffled = new data.Subset(
  trainset,
  where(trainset, (d) => d >= 5),
);
const picked: number[] = [];
const counts = [0, 0, 0, 0, 0];
for (const i of data.randomSplit(shuffled, [shuffled.length])[0].indices) {
  const d = trainset.targets[shuffled.indices[i]] - 5;
  if (counts[d] < perClass) {
    counts[d]++;
    picked.push(shuffled.indices[i]);
  }
}
const fewShot = tensorsOf(trainset, Int32Array.from(picked), 5);

/** Shifts each image of a batch [B, 784] by up to ±max pixels in x and y, in place (background -1). */
function randomShift(images: Tensor, max: number): void {
  const px = images.data;
  const shifted = new Float32Array(784);
  for (let b = 0; b < images.shape[0]; b++) {
    const img = px.subarray(b * 784, (b + 1) * 784);
    const dx = defaultGenerator.randint(2 * max + 1) - max;
    const dy = defaultGenerator.randint(2 * max + 1) - max;
    shifted.fill(-1);
    for (let r = Math.max(0, dy); r < Math.min(28, 28 + dy); r++) {
      for (let c = Math.max(0, dx); c < Math.min(28, 28 + dx); c++) shifted[r * 28 + c] = img[(r - dy) * 28 + (c - dx)];
    }
    img.set(shifted);
  }
}

function trainFor(model: MLP, optimizer: optim.Optimizer<{ lr: number }>, set: data.TensorDataset, epochs: number, batchSize: number, shift = 0): number {
  const loader = new data.DataLoader(set, { batchSize, shuffle: true });
  const criterion = new nn.CrossEntropyLoss();
  const t0 = performance.now();
  model.train();
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const [x, y] of loader) {
      if (shift > 0) randomShift(x, shift); // batches are fresh copies: the dataset is untouched
      optimizer.zeroGrad();
      criterion(model(x), y).backward();
      optimizer.step();
    }
  }
  return (performance.now() - t0) / 1000;
}

function accuracy(model: MLP, set: data.TensorDataset): number {
  model.eval();
  let correct = 0;
  noGrad(() => {
    for (const [x, y] of new data.DataLoader(set, { batchSize: 1000 })) correct += correctCount(model(x), y);
  });
  return correct / set.length;
}
const pct = (a: number) => `${(100 * a).toFixed(2)}%`;

// ---- 1. pretrain on digits 0–4, save as safetensors ----
const pretrained = new MLP();
const pretrainSeconds = trainFor(pretrained, new optim.Adam(pretrained.parameters(), { lr: 1e-3 }), pretrainSet, num("pretrain-epochs"), 100, 2);
io.saveSafetensors(pretrained.stateDict(), args.weights, { metadata: { format: "pt" } });
console.log(
  `Pretrained on digits 0-4 (${pretrainSet.length} images, ${args["pretrain-epochs"]} epochs, ${pretrainSeconds.toFixed(2)} s): ` +
    `test accuracy on 0-4 ${pct(accuracy(pretrained, test0to4))}; saved ${args.weights}`,
);

// ---- 2. load, replace the head, freeze the body, train the head; then unfreeze, fine-tune ----
const headEpochs = num("head-epochs");
const epochs = num("epochs");
const finetuned = new MLP();
finetuned.loadStateDict(io.loadSafetensors(args.weights));
finetuned.fc3 = new nn.Linear(64, 5);
finetuned.fc1.requiresGrad_(false);
finetuned.fc2.requiresGrad_(false);
const head = finetuned.parameters().filter((p) => p.requiresGrad);
const headSeconds = trainFor(finetuned, new optim.Adam(head, { lr: 1e-2 }), fewShot, headEpochs, 50);
const frozenAcc = accuracy(finetuned, test5to9);
finetuned.requiresGrad_(true);
const finetuneSeconds = headSeconds + trainFor(finetuned, new optim.Adam(finetuned.parameters(), { lr: 1e-3 }), fewShot, epochs, 50);
const finetunedAcc = accuracy(finetuned, test5to9);

// ---- 3. the same architecture from scratch on the same 500 images, as many epochs ----
const scratch = new MLP();
scratch.fc3 = new nn.Linear(64, 5);
const scratchSeconds = trainFor(scratch, new optim.Adam(scratch.parameters(), { lr: 1e-3 }), fewShot, headEpochs + epochs, 50);
const scratchAcc = accuracy(scratch, test5to9);

const count = (ps: Tensor[]) => ps.reduce((n, p) => n + p.size, 0);
console.log(`Digits 5-9: ${fewShot.length} labeled training images (${perClass} per class), test on ${test5to9.length} images`);
console.log(
  `  pretrained body frozen, new head (${count(head)} trainable parameters), ${headEpochs} epochs: ` +
    `test accuracy ${pct(frozenAcc)}  (${headSeconds.toFixed(2)} s)`,
);
console.log(
  `  fine-tuned: then all layers unfrozen, ${epochs} more epochs at lr 1e-3: ` + `test accuracy ${pct(finetunedAcc)}  (${finetuneSeconds.toFixed(2)} s in all)`,
);
console.log(
  `  from scratch: all ${count(scratch.parameters())} parameters, ${headEpochs + epochs} epochs: ` +
    `test accuracy ${pct(scratchAcc)}  (${scratchSeconds.toFixed(2)} s)`,
);
const errors = (a: number) => Math.round((1 - a) * test5to9.length);
console.log(
  `Fine-tuned vs scratch: ${((finetunedAcc - scratchAcc) * 100).toFixed(2)} points, ` + `${errors(finetunedAcc)} vs ${errors(scratchAcc)} test errors.`,
);
