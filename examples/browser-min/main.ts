// The smallest browser program that trains the seed MLP (784→128→ReLU→64→ReLU→10, SGD with
// momentum) — what `npm run size` measures. Bundle it and open index.html from any static server:
//
//   npx esbuild examples/browser-min/main.ts --bundle --minify --format=esm --target=es2022 \
//     --outfile=examples/browser-min/main.js
//   npx http-server examples/browser-min     (or python3 -m http.server -d examples/browser-min)
//
// The kernels are inside the bundle (no .wasm file to serve, no bundler configuration). To load
// them from a URL instead, `await initWasm(new URL("./kernels.wasm", import.meta.url))` first.
import { DataLoader, data, manualSeed, nn, optim, tensor } from "wasmgrad";

const n = 1000;
const x = new Float32Array(n * 784);
const y = new Int32Array(n);
for (let i = 0; i < n; i++) {
  y[i] = i % 10;
  for (let j = 0; j < 784; j++) x[i * 784 + j] = ((j * 31 + y[i] * 97) % 17) / 17 - 0.5 + ((i * 7 + j) % 5) / 50;
}

manualSeed(0);
const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 64), new nn.ReLU(), new nn.Linear(64, 10));
const criterion = new nn.CrossEntropyLoss();
const optimizer = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
const loader = new DataLoader(new data.TensorDataset(tensor(x, { shape: [n, 784] }), tensor(y, { shape: [n], dtype: "int32" })), {
  batchSize: 100,
  shuffle: true,
});

const out = document.getElementById("out") ?? document.body;
for (let epoch = 1; epoch <= 5; epoch++) {
  let sum = 0;
  for (const [images, labels] of loader) {
    optimizer.zeroGrad();
    const loss = criterion(model(images), labels);
    loss.backward();
    optimizer.step();
    sum += loss.item();
  }
  out.textContent += `epoch ${epoch}: loss ${(sum / loader.length).toFixed(4)}\n`;
}
