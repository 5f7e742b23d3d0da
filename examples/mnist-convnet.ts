// The official pytorch/examples MNIST program (mnist/main.py) ported line by line: two 3×3
// convolutions, max pooling, dropout, two linear layers and log_softmax, trained with nll_loss,
// Adadelta (lr 1.0) and StepLR (step 1, gamma 0.7); same flags, same printed lines. The torch
// program, reading the same IDX files, is examples/pytorch/mnist_convnet.py.
//
//   npm run mnist:convnet -- --epochs 1          # the original trains 14 epochs (~99%)
import { DataLoader, type Tensor, data, datasets, io, manualSeed, nn, noGrad, optim, setBackend, setNumThreads, transforms } from "wasmgrad";
import { parseFlags } from "../src/cli/flags.js";

const F = nn.functional;

const args = parseFlags("npm run mnist:convnet --", "PyTorch MNIST Example (pytorch/examples mnist/main.py), ported line by line.", {
  "batch-size": { type: "int", default: 64, min: 1, help: "input batch size for training" },
  "test-batch-size": { type: "int", default: 1000, min: 1, help: "input batch size for testing" },
  epochs: { type: "int", default: 14, min: 1, help: "number of epochs to train" },
  lr: { type: "number", default: 1.0, min: 0, help: "learning rate" },
  gamma: { type: "number", default: 0.7, min: 0, help: "learning rate step gamma" },
  "dry-run": { type: "boolean", help: "quickly check a single pass" },
  seed: { type: "int", default: 1, min: 0, help: "random seed" },
  "log-interval": { type: "int", default: 10, min: 1, help: "how many batches to wait before logging training status" },
  "save-model": { type: "boolean", help: "save the current model (mnist_cnn.safetensors)" },
  limit: { type: "int", min: 1, help: "train on the first N images only (not in the original)" },
  "test-limit": { type: "int", min: 1, help: "test on the first N images only (not in the original)" },
  threads: { type: "int", default: 1, min: 1, help: "kernel threads (not in the original)" },
  backend: { type: "string", default: "wasm", choices: ["wasm", "js"], help: "kernel backend (not in the original)" },
});

class Net extends nn.Module {
  conv1 = new nn.Conv2d(1, 32, 3, 1);
  conv2 = new nn.Conv2d(32, 64, 3, 1);
  dropout1 = new nn.Dropout(0.25);
  dropout2 = new nn.Dropout(0.5);
  fc1 = new nn.Linear(9216, 128);
  fc2 = new nn.Linear(128, 10);

  forward(x: Tensor): Tensor {
    x = this.conv1(x);
    x = F.relu(x);
    x = this.conv2(x);
    x = F.relu(x);
    x = F.maxPool2d(x, 2);
    x = this.dropout1(x);
    x = x.flatten(1);
    x = this.fc1(x);
    x = F.relu(x);
    x = this.dropout2(x);
    x = this.fc2(x);
    const output = F.logSoftmax(x, 1);
    return output;
  }
}

/** Python's '{:.0f}' of a percentage (round half to even, as str.format does). */
function percent(x: number): string {
  const r = Math.round(x);
  return (Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r).toFixed(0);
}

function train(model: Net, trainLoader: DataLoader<[Tensor, number], [Tensor, Tensor]>, optimizer: optim.Adadelta, epoch: number): void {
  model.train();
  let batchIdx = 0;
  for (const [data, target] of trainLoader) {
    optimizer.zeroGrad();
    const output = model(data);
    const loss = F.nllLoss(output, target);
    loss.backward();
    optimizer.step();
    if (batchIdx % args["log-interval"] === 0) {
      console.log(
        `Train Epoch: ${epoch} [${batchIdx * data.shape[0]}/${trainLoader.dataset.length} ` +
          `(${percent((100 * batchIdx) / trainLoader.length)}%)]\tLoss: ${loss.item().toFixed(6)}`,
      );
      if (args["dry-run"]) break;
    }
    batchIdx++;
  }
}

function test(model: Net, testLoader: DataLoader<[Tensor, number], [Tensor, Tensor]>): void {
  model.eval();
  let testLoss = 0;
  let correct = 0;
  noGrad(() => {
    for (const [data, target] of testLoader) {
      const output = model(data);
      testLoss += F.nllLoss(output, target, "sum").item(); // sum up batch loss
      const pred = output.argmax(1, true); // index of the max log-probability
      correct += pred.eq(target.view(pred.shape)).sum().item();
    }
  });
  const n = testLoader.dataset.length;
  testLoss /= n;
  console.log(`\nTest set: Average loss: ${testLoss.toFixed(4)}, Accuracy: ${correct}/${n} (${percent((100 * correct) / n)}%)\n`);
}

setBackend(args.backend);
setNumThreads(args.threads);
manualSeed(args.seed);

const transform = new transforms.Compose([new transforms.ToTensor(), new transforms.Normalize([0.1307], [0.3081])]);
/** The first n samples (our --limit/--test-limit; the original always uses the whole set). */
const firstOf = (set: InstanceType<typeof datasets.MNIST>, n: number | undefined): data.Dataset<[Tensor, number]> =>
  n === undefined || n >= set.length
    ? set
    : new data.Subset(
        set,
        Int32Array.from({ length: n }, (_, i) => i),
      );
const dataset1 = firstOf(new datasets.MNIST({ train: true, transform }), args.limit);
const dataset2 = firstOf(new datasets.MNIST({ train: false, transform }), args["test-limit"]);
const trainLoader = new DataLoader(dataset1, { batchSize: args["batch-size"], shuffle: true });
const testLoader = new DataLoader(dataset2, { batchSize: args["test-batch-size"] });

const model = new Net();
const optimizer = new optim.Adadelta(model.parameters(), { lr: args.lr });

const scheduler = new optim.lrScheduler.StepLR(optimizer, { stepSize: 1, gamma: args.gamma });
for (let epoch = 1; epoch <= args.epochs; epoch++) {
  const t0 = performance.now();
  train(model, trainLoader, optimizer, epoch);
  console.log(`[epoch ${epoch}: ${((performance.now() - t0) / 1000).toFixed(1)} s training]`); // not in the original
  test(model, testLoader);
  scheduler.step();
}

if (args["save-model"]) io.saveSafetensors(model.stateDict(), "mnist_cnn.safetensors");
