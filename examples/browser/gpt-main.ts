// The GPT page of the playground: starts training in gpt-worker.ts, charts the train loss of every
// step and the train/val loss estimates, and appends generated tokens to the page as they arrive.
import { formatInt } from "../../src/cli/progress.js";
import { drawChart, onNextFrame } from "./chart.js";
import type { FromGptWorker, GptTrainConfig, ToGptWorker } from "./gpt-protocol.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const num = (id: string) => Number($<HTMLInputElement>(id).value);
const worker = new Worker(new URL("./gpt-worker.js", import.meta.url), { type: "module" });
const send = (m: ToGptWorker) => worker.postMessage(m);

/** State the tests read (window.__gpt). */
const state = {
  training: false,
  trained: false,
  steps: 0,
  evals: [] as { step: number; train: number; val: number }[],
  generating: false,
  tokens: 0,
  text: "",
  errors: [] as string[],
};
(window as unknown as { __gpt: typeof state }).__gpt = state;

const stepLoss: [number, number][] = [];
let totalSteps = 1;
let stop = new SharedArrayBuffer(4);

function redraw(): void {
  drawChart(
    $<HTMLCanvasElement>("loss"),
    "loss",
    [
      { points: stepLoss, color: "#afb8c1", label: "train (step)" },
      { points: state.evals.map((e) => [e.step, e.train]), color: "#0969da", label: "train (estimate)", dots: true },
      { points: state.evals.map((e) => [e.step, e.val]), color: "#cf222e", label: "val (estimate)", dots: true },
    ],
    { totalSteps },
  );
}
const scheduleRedraw = onNextFrame(redraw);

$("train").onclick = () => {
  stop = new SharedArrayBuffer(4);
  const config: GptTrainConfig = {
    corpus: $<HTMLSelectElement>("corpus").value as GptTrainConfig["corpus"],
    steps: num("steps"),
    batch: num("batch"),
    block: num("block"),
    layers: num("layers"),
    heads: num("heads"),
    embd: num("embd"),
    lr: num("lr"),
    evalInterval: Math.max(1, Math.round(num("steps") / 10)),
    threads: Number($<HTMLSelectElement>("threads").value),
    stop,
  };
  totalSteps = config.steps;
  stepLoss.length = 0;
  state.evals.length = 0;
  Object.assign(state, { training: true, trained: false, steps: 0 });
  $<HTMLButtonElement>("train").disabled = true;
  $<HTMLButtonElement>("stop").disabled = false;
  $<HTMLButtonElement>("generate").disabled = true;
  $("status").textContent = "loading the corpus…";
  send({ type: "train", config });
};
$("stop").onclick = () => Atomics.store(new Int32Array(stop), 0, 1);
$("generate").onclick = () => {
  const prompt = $<HTMLInputElement>("prompt").value;
  const out = $("output");
  out.textContent = "";
  const p = document.createElement("span");
  p.className = "prompt";
  p.textContent = prompt;
  out.append(p);
  Object.assign(state, { generating: true, tokens: 0, text: "" });
  $<HTMLButtonElement>("generate").disabled = true;
  send({ type: "generate", prompt, tokens: num("tokens"), temperature: num("temperature"), topK: num("topk"), seed: Math.floor(Math.random() * 1e9) });
};

worker.onmessage = (e: MessageEvent<FromGptWorker>) => {
  const m = e.data;
  switch (m.type) {
    case "info":
      $("status").textContent = `${formatInt(m.tokens)} characters, vocabulary ${m.vocab}; GPT of ${formatInt(m.params)} parameters, ${m.threads} thread(s)`;
      break;
    case "step":
      state.steps = m.step;
      stepLoss.push([m.step, m.loss]);
      $("progress").style.width = `${(100 * m.step) / totalSteps}%`;
      $("status").textContent = `step ${m.step}/${totalSteps}  loss ${m.loss.toFixed(3)}  ${formatInt(m.tokensPerSec)} tokens/s`;
      scheduleRedraw();
      break;
    case "eval":
      state.evals.push({ step: m.step, train: m.train, val: m.val });
      scheduleRedraw();
      break;
    case "trained": {
      Object.assign(state, { training: false, trained: true });
      const last = state.evals[state.evals.length - 1];
      $("status").textContent = `trained ${m.step} steps in ${m.seconds.toFixed(1)} s${last ? `; val loss ${last.val.toFixed(3)}` : ""}`;
      $<HTMLButtonElement>("train").disabled = false;
      $<HTMLButtonElement>("stop").disabled = true;
      $<HTMLButtonElement>("generate").disabled = false;
      $("genstatus").textContent = "Type a prompt and press Generate.";
      break;
    }
    case "token":
      state.tokens++;
      state.text += m.text;
      $("output").append(m.text);
      break;
    case "generated":
      state.generating = false;
      $<HTMLButtonElement>("generate").disabled = false;
      $("genstatus").textContent = `${m.tokens} tokens in ${m.seconds.toFixed(2)} s (${formatInt(m.tokens / Math.max(m.seconds, 1e-9))} tokens/s, KV cache)`;
      break;
    case "error":
      state.errors.push(m.message);
      $("errors").textContent = m.message;
      Object.assign(state, { training: false, generating: false });
      $<HTMLButtonElement>("train").disabled = false;
      break;
  }
};
redraw();
