// The same program as examples/browser-min/main.ts written for TensorFlow.js core + its wasm
// backend, only so `npm run size` can compare bundle sizes. Not run by the tests.
import * as tf from "@tensorflow/tfjs-core";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";

setWasmPaths("./");
await tf.setBackend("wasm");

const n = 1000;
const x = new Float32Array(n * 784);
const y = new Int32Array(n);
for (let i = 0; i < n; i++) {
  y[i] = i % 10;
  for (let j = 0; j < 784; j++) x[i * 784 + j] = ((j * 31 + y[i] * 97) % 17) / 17 - 0.5 + ((i * 7 + j) % 5) / 50;
}
const dense = (fanIn: number, fanOut: number) => {
  const b = 1 / Math.sqrt(fanIn);
  return [tf.variable(tf.randomUniform([fanIn, fanOut], -b, b)), tf.variable(tf.randomUniform([fanOut], -b, b))];
};
const [w1, b1] = dense(784, 128);
const [w2, b2] = dense(128, 64);
const [w3, b3] = dense(64, 10);
const optimizer = tf.train.momentum(0.01, 0.9);
const xs = tf.tensor2d(x, [n, 784]);
const ys = tf.oneHot(tf.tensor1d(y, "int32"), 10);

const out = document.getElementById("out") ?? document.body;
for (let epoch = 1; epoch <= 5; epoch++) {
  let sum = 0;
  for (let start = 0; start < n; start += 100) {
    const loss = optimizer.minimize(() => {
      const xb = xs.slice([start, 0], [100, 784]);
      const h1 = tf.relu(tf.add(tf.matMul(xb, w1), b1));
      const h2 = tf.relu(tf.add(tf.matMul(h1, w2), b2));
      const logits = tf.add(tf.matMul(h2, w3), b3);
      return tf.losses.softmaxCrossEntropy(ys.slice([start, 0], [100, 10]), logits) as tf.Scalar;
    }, true);
    sum += (await loss!.data())[0];
    loss!.dispose();
  }
  out.textContent += `epoch ${epoch}: loss ${(sum / 10).toFixed(4)}\n`;
}
