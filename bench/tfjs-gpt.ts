// The bench GPT written in TensorFlow.js ops (the model of examples/pytorch/gpt_model.py: token +
// position embeddings, pre-LN blocks of causal self-attention and a GELU-tanh MLP, final LayerNorm,
// tied head), trained with tf.train.adam on fixed random batches: TensorFlow.js's row of
// `npm run bench:gpt`. Run as its own process (bench/gpt.ts spawns it); prints one JSON line with
// training tokens/s, or the error TF.js gives when its backend cannot run the model.
//
//   tsx bench/tfjs-gpt.ts --backend wasm --layers 4 --heads 4 --embd 128 --block 128 --vocab 96 --batch 16 --steps 5
import path from "node:path";
import { parseFlags } from "../src/cli/flags.js";
import { GPT_SIZE_FLAGS } from "./gpt-flags.js";

const f = parseFlags("tsx bench/tfjs-gpt.ts", "The bench GPT in TensorFlow.js: training tokens/s on its wasm or cpu backend (one JSON line).", {
  backend: { type: "string", default: "wasm", choices: ["wasm", "cpu"], help: "TF.js backend" },
  ...GPT_SIZE_FLAGS,
  steps: { type: "int", default: 5, min: 1, help: "timed steps" },
});

const tf = await import("@tensorflow/tfjs");
if (f.backend === "wasm") {
  const tfwasm = await import("@tensorflow/tfjs-backend-wasm");
  tfwasm.setWasmPaths(path.join(process.cwd(), "node_modules", "@tensorflow", "tfjs-backend-wasm", "dist") + path.sep);
  tfwasm.setThreadsCount(1);
}
await tf.setBackend(f.backend);
await tf.ready();

const { layers: L, heads: H, embd: E, block: T, vocab: V, batch: B } = f;
const D = E / H;
const normal = (shape: number[], std = 0.02) => tf.variable(tf.randomNormal(shape, 0, std));
const w = {
  wte: normal([V, E]),
  wpe: normal([T, E]),
  lnf: [tf.variable(tf.ones([E])), tf.variable(tf.zeros([E]))],
  blocks: Array.from({ length: L }, () => ({
    ln1: [tf.variable(tf.ones([E])), tf.variable(tf.zeros([E]))],
    attn: [normal([E, 3 * E]), tf.variable(tf.zeros([3 * E]))],
    proj: [normal([E, E]), tf.variable(tf.zeros([E]))],
    ln2: [tf.variable(tf.ones([E])), tf.variable(tf.zeros([E]))],
    fc: [normal([E, 4 * E]), tf.variable(tf.zeros([4 * E]))],
    fcProj: [normal([4 * E, E]), tf.variable(tf.zeros([E]))],
  })),
};
type T2 = import("@tensorflow/tfjs").Tensor;
const layerNorm = (x: T2, [g, b]: T2[]) => {
  const { mean, variance } = tf.moments(x, -1, true);
  return x.sub(mean).div(variance.add(1e-5).sqrt()).mul(g).add(b);
};
const linear = (x: T2, [m, b]: T2[]) =>
  x
    .reshape([-1, m.shape[0] as number])
    .matMul(m)
    .add(b)
    .reshape([B, T, m.shape[1] as number]);
const gelu = (x: T2) => x.mul(0.5).mul(tf.tanh(x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI))).add(1));
const causal = tf.linalg
  .bandPart(tf.ones([T, T]), -1, 0)
  .sub(1)
  .mul(1e9); // 0 on and below the diagonal, -1e9 above
const heads = (x: T2) => x.reshape([B, T, H, D]).transpose([0, 2, 1, 3]);

function loss(idx: T2, targets: T2): T2 {
  let x = tf.gather(w.wte, idx).add(w.wpe);
  for (const blk of w.blocks) {
    const qkv = linear(layerNorm(x, blk.ln1), blk.attn);
    const [q, k, v] = tf.split(qkv, 3, -1).map(heads);
    const att = tf.softmax(
      q
        .matMul(k, false, true)
        .mul(1 / Math.sqrt(D))
        .add(causal),
      -1,
    );
    const y = att.matMul(v).transpose([0, 2, 1, 3]).reshape([B, T, E]);
    x = x.add(linear(y, blk.proj));
    x = x.add(linear(gelu(linear(layerNorm(x, blk.ln2), blk.fc)), blk.fcProj));
  }
  const logits = layerNorm(x, w.lnf)
    .reshape([B * T, E])
    .matMul(w.wte, false, true);
  return tf.losses.softmaxCrossEntropy(tf.oneHot(targets.reshape([B * T]), V), logits);
}

const opt = tf.train.adam(1e-3, 0.9, 0.95);
const ids = () => tf.randomUniform([B, T], 0, V, "int32");
const [x, y] = [ids(), ids()];
try {
  const step = () => tf.tidy(() => void opt.minimize(() => loss(x, y) as import("@tensorflow/tfjs").Scalar));
  for (let i = 0; i < 2; i++) step();
  const t0 = performance.now();
  for (let i = 0; i < f.steps; i++) step();
  const stepSeconds = (performance.now() - t0) / 1000 / f.steps;
  console.log(JSON.stringify({ version: tf.version.tfjs, backend: f.backend, trainTokensPerSec: (B * T) / stepSeconds, stepSeconds }));
} catch (e) {
  console.log(JSON.stringify({ version: tf.version.tfjs, backend: f.backend, error: (e as Error).message.split("\n")[0] }));
}
