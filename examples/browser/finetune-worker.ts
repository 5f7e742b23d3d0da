// The fine-tune page's worker: loads a picked checkpoint folder (a Hugging Face GPT-2 folder through
// models.GPT.fromPretrained, or a wasmgrad GPT run folder), LoRA-fine-tunes it on the page's text
// (stopped through a shared flag, since the loop does not yield to messages), streams generated
// tokens, and returns the adapter's or the merged model's files as bytes. The page starts a new
// worker for every folder, so a model's wasm memory goes with its worker.
import { Generator, data, io, lora, models, nn, noGrad, optim, setNumThreads, train } from "wasmgrad";
import type { FinetuneConfig, FromFinetuneWorker, LoadedInfo, PickedFile, ToFinetuneWorker } from "./finetune-protocol.js";
import { type TokenizerPlan, chooseTokenizer } from "./finetune-tokenizer.js";

const post = (m: FromFinetuneWorker, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

let model: models.GPT | null = null;
let format: LoadedInfo["format"] = "hf";
let folder = "checkpoint";
let plan: TokenizerPlan | null = null;
let tokenizer: data.Tokenizer | null = null;

async function load(name: string, picked: PickedFile[]): Promise<void> {
  const t0 = performance.now();
  const files = new Map(picked.map((f) => [f.name, new Uint8Array(f.bytes)]));
  const where = name || "the picked files";
  const configBytes = files.get("config.json");
  if (configBytes === undefined) throw new Error(`${where}: no config.json among the picked files (${[...files.keys()].join(", ")})`);
  const config = JSON.parse(new TextDecoder().decode(configBytes)) as Record<string, unknown>;
  // The adapter's base_model_name_or_path: the folder's name, else what transformers recorded in config.json.
  folder = name || (typeof config._name_or_path === "string" && config._name_or_path !== "" ? config._name_or_path : "checkpoint");
  if (typeof config.model_type === "string") {
    format = "hf";
    model = models.GPT.fromPretrained(Object.fromEntries(files));
  } else if (typeof config.vocabSize === "number") {
    // `wasmgrad train --model gpt` / `npm run gpt`: our GPTConfig and nanoGPT's state-dict keys.
    format = "wasmgrad";
    const weights = files.get("model.safetensors");
    if (weights === undefined) throw new Error(`${where}: a wasmgrad run folder needs model.safetensors`);
    model = new models.GPT(config as unknown as models.GPTConfig);
    model.loadStateDict(io.loadSafetensors(weights));
    model.eval();
  } else {
    throw new Error(`config.json of ${where} is neither a Hugging Face config (model_type "gpt2") nor a wasmgrad GPT config (vocabSize, nLayer, …)`);
  }
  const c = model.config;
  plan = chooseTokenizer(files, c.vocabSize);
  if (plan.kind === "gpt2") {
    // Loaded only for GPT-2-sized vocabularies: esbuild puts js-tiktoken's ranks in a chunk of their own.
    const { BPETokenizer } = await import("../../src/bpe.js");
    tokenizer = BPETokenizer.gpt2();
  } else tokenizer = plan.tokenizer;
  const linearNames = new Set<string>();
  for (const [path, m] of model.namedModules()) if (m instanceof nn.Linear && path !== "lm_head") linearNames.add(path.split(".").pop()!);
  const params = model.numParams();
  post({
    type: "loaded",
    info: {
      format,
      params,
      weightBytes: 4 * params,
      layers: c.nLayer,
      heads: c.nHead,
      embd: c.nEmbd,
      vocab: c.vocabSize,
      positions: c.blockSize,
      tokenizer: plan.source,
      warning: plan.kind === "bytes" ? plan.warning : null,
      linearNames: [...linearNames],
      seconds: (performance.now() - t0) / 1000,
    },
  });
}

/** The training text as token ids; for a character vocabulary, characters outside it are left out (and counted). */
function encode(text: string): { ids: Int32Array; dropped: number } {
  if (plan?.kind !== "char") return { ids: tokenizer!.encode(text), dropped: 0 };
  const known = new Set(plan.tokenizer.chars);
  const chars = [...text];
  const kept = chars.filter((ch) => known.has(ch));
  return { ids: plan.tokenizer.encode(kept.join("")), dropped: chars.length - kept.length };
}

/** Same LoRA settings as the adapter the model has? (Then Train continues it.) */
function sameLora(a: lora.LoraConfig, b: FinetuneConfig["lora"]): boolean {
  const targets = Array.isArray(a.targetModules) ? a.targetModules : [a.targetModules];
  return a.r === b.r && a.alpha === b.alpha && a.dropout === b.dropout && targets.join() === b.targetModules.join();
}

function fineTune(c: FinetuneConfig): void {
  if (model === null || tokenizer === null) throw new Error("load a checkpoint folder first");
  const m = model;
  setNumThreads(c.threads);
  const { ids, dropped } = encode(c.text);
  if (dropped > 0)
    post({ type: "note", message: `${dropped} character${dropped === 1 ? " of the text is" : "s of the text are"} not in the model's vocabulary: left out` });
  const split = Math.floor(ids.length * 0.9);
  const trainIds = ids.subarray(0, split);
  const valIds = ids.subarray(split);
  if (valIds.length < 3) throw new Error(`the text gives ${ids.length} tokens: too few for a training and a validation split`);
  const T = Math.min(c.context, m.config.blockSize, valIds.length - 1, trainIds.length - 1);

  const existing = lora.configOf(m);
  const fresh = existing === null || !sameLora(existing, c.lora);
  if (existing !== null && fresh) lora.unload(m); // new settings: a new adapter
  if (fresh) lora.apply(m, { ...c.lora, fanInFanOut: format === "hf" }); // as PEFT writes it for GPT-2's Conv1D
  const counts = lora.parameterCounts(m);
  post({ type: "lora", ...counts, layers: lora.loraLayers(m).length, fresh });

  const params = lora.trainableParameters(m);
  const opt = new optim.AdamW(params, { lr: c.lr, weightDecay: 0 });
  const g = new Generator(1337);
  const warmupSteps = Math.min(20, Math.floor(c.steps / 10));
  const evalInterval = Math.max(1, Math.round(c.steps / 10));
  const stop = new Int32Array(c.stop);
  const validate = (step: number) => {
    // The same 4 batches every time (a generator of their own), so the estimates compare.
    const vg = new Generator(7);
    m.eval();
    let sum = 0;
    for (let i = 0; i < 4; i++) sum += noGrad(() => m.forward(...data.randomWindows(valIds, T, c.batch, vg))[1]!.item());
    m.train();
    post({ type: "eval", step, val: sum / 4 });
  };
  validate(0);
  let step = 0;
  let seconds = 0;
  m.train();
  while (step < c.steps && Atomics.load(stop, 0) !== 1) {
    const t0 = performance.now();
    const lr = train.cosineWarmupLr(step, { lr: c.lr, minLr: c.lr / 10, warmupSteps, decaySteps: c.steps });
    for (const group of opt.paramGroups) group.options.lr = lr;
    const [x, y] = data.randomWindows(trainIds, T, c.batch, g);
    const [, loss] = m.forward(x, y);
    opt.zeroGrad();
    loss!.backward();
    nn.utils.clipGradNorm_(params, 1);
    opt.step();
    const value = loss!.item();
    x.dispose();
    y.dispose();
    const dt = (performance.now() - t0) / 1000;
    seconds += dt;
    step++;
    post({ type: "step", step, loss: value, tokensPerSec: (c.batch * T) / dt });
    if (!Number.isFinite(value)) throw new Error(`the loss is ${value} at step ${step}: lower the learning rate`);
    if (step % evalInterval === 0) validate(step);
  }
  if (step % evalInterval !== 0) validate(step);
  m.eval();
  post({ type: "trained", step, seconds });
}

function generate(msg: Extract<ToFinetuneWorker, { type: "generate" }>): void {
  if (model === null || tokenizer === null || plan === null) throw new Error("load a checkpoint folder first");
  const tok = tokenizer;
  let prompt = Array.from(msg.prompt.length > 0 ? tok.encode(msg.prompt) : []);
  if (prompt.length === 0) prompt = plan.kind === "gpt2" ? [50256] : Array.from(tok.encode("\n")).slice(0, 1);
  if (prompt.length === 0) prompt = [0];
  const t0 = performance.now();
  model.eval();
  model.generate([prompt.slice(-model.config.blockSize)], {
    maxNewTokens: msg.tokens,
    temperature: msg.temperature,
    topK: Math.min(msg.topK, model.config.vocabSize),
    seed: msg.seed,
    onToken: (t) => post({ type: "token", text: tok.decode(t) }),
  });
  post({ type: "generated", tokens: msg.tokens, seconds: (performance.now() - t0) / 1000 });
}

function save(what: "adapter" | "merged"): void {
  if (model === null) throw new Error("load a checkpoint folder first");
  let files: Record<string, Uint8Array>;
  if (what === "adapter") {
    if (lora.configOf(model) === null) throw new Error("no adapter yet: fine-tune first");
    files = lora.saveAdapter(model, null, { baseModelNameOrPath: folder, taskType: "CAUSAL_LM" }) as unknown as Record<string, Uint8Array>;
  } else {
    // PEFT's merge_and_unload: from here on the model holds the merged weights and no adapter.
    if (lora.configOf(model) !== null) lora.mergeAndUnload(model);
    files = { ...model.savePretrained() };
    if (plan?.kind === "char") files["wasmgrad_tokenizer.json"] = new TextEncoder().encode(`${JSON.stringify(plan.tokenizer.toJSON())}\n`);
  }
  // Transferred, not copied (a 500 MB model.safetensors would otherwise exist twice); a view of a larger buffer is copied out.
  const own = (b: Uint8Array) => (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer) as ArrayBuffer;
  const list = Object.entries(files).map(([name, b]) => ({ name, bytes: own(b) }));
  post(
    { type: "files", what, files: list },
    list.map((f) => f.bytes),
  );
}

self.onmessage = async (e: MessageEvent<ToFinetuneWorker>) => {
  const msg = e.data;
  try {
    if (msg.type === "load") await load(msg.folder, msg.files);
    else if (msg.type === "train") fineTune(msg.config);
    else if (msg.type === "generate") generate(msg);
    else save(msg.what);
  } catch (err) {
    post({ type: "error", message: `${(err as Error).name}: ${(err as Error).message}` });
  }
};
