// The GPT page's worker: fetches a corpus the server exposes under ./data/, trains a character-level
// GPT with train.trainGpt (stopped through a shared flag, since the training loop does not yield),
// and streams generated tokens back one message per token.
import { Generator, data, models, setNumThreads, train } from "wasmgrad";
import type { FromGptWorker, GptTrainConfig, ToGptWorker } from "./gpt-protocol.js";

const post = (m: FromGptWorker) => (self as unknown as Worker).postMessage(m);

let model: models.GPT | null = null;
let tokenizer: data.CharTokenizer | null = null;

async function trainModel(c: GptTrainConfig): Promise<void> {
  const threads = setNumThreads(c.threads);
  const text = await (await fetch(`./data/${c.corpus}.txt`)).text();
  tokenizer = data.CharTokenizer.fromText(text);
  const ids = tokenizer.encode(text);
  const { train: trainIds, val: valIds } = data.splitTokens(ids, 0.9);
  model = new models.GPT({ vocabSize: tokenizer.vocabSize, blockSize: c.block, nLayer: c.layers, nHead: c.heads, nEmbd: c.embd });
  post({ type: "info", params: model.numParams(), tokens: ids.length, vocab: tokenizer.vocabSize, threads });
  const stop = new Int32Array(c.stop);
  const r = train.trainGpt(model, {
    train: trainIds,
    val: valIds,
    steps: c.steps,
    batchSize: c.batch,
    lr: c.lr,
    warmupSteps: Math.min(100, Math.floor(c.steps / 10)),
    evalInterval: c.evalInterval,
    evalIters: 5,
    generator: new Generator(1337),
    onStep: ({ step, loss, tokensPerSec }) => post({ type: "step", step, loss, tokensPerSec }),
    onEval: (e) => post({ type: "eval", ...e }),
    shouldStop: () => Atomics.load(stop, 0) === 1,
  });
  post({ type: "trained", step: r.step, seconds: r.seconds });
}

function generate(m: Extract<ToGptWorker, { type: "generate" }>): void {
  if (model === null || tokenizer === null) throw new Error("train a model first");
  const tok = tokenizer;
  const prompt = Array.from(tok.encode(m.prompt.length > 0 ? m.prompt : "\n"));
  const t0 = performance.now();
  model.generate([prompt.slice(-model.config.blockSize)], {
    maxNewTokens: m.tokens,
    temperature: m.temperature,
    topK: Math.min(m.topK, tok.vocabSize),
    seed: m.seed,
    onToken: (t) => post({ type: "token", text: tok.decode(t) }),
  });
  post({ type: "generated", tokens: m.tokens, seconds: (performance.now() - t0) / 1000 });
}

self.onmessage = async (e: MessageEvent<ToGptWorker>) => {
  try {
    if (e.data.type === "train") await trainModel(e.data.config);
    else generate(e.data);
  } catch (err) {
    post({ type: "error", message: (err as Error).message });
  }
};
