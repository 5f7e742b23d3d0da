// The playground page: controls, live charts, the drawing pad and its prediction, fine-tuning on
// the user's drawings, save/load. All the numeric work happens in worker.ts.
//
//   npm run playground            then open the printed URL
// URL parameters (for quick runs and the tests): ?limit=N training images (default 60000),
// testLimit=N, threads=N, model=mlp|cnn|speedrun, epochs=N.
import { toMnist28 } from "../../src/cli/preprocess.js";
import { formatInt } from "../../src/cli/progress.js";
import { drawChart as drawChartOn } from "./chart.js";
import type { FromWorker, ModelKind, Sample, ToWorker, TrainConfig } from "./protocol.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const send = (m: ToWorker, transfer: Transferable[] = []) => worker.postMessage(m, transfer);

/** State the tests read (window.__playground). */
const state = {
  ready: false,
  training: false,
  steps: 0,
  lossPoints: [] as [number, number][],
  accPoints: [] as [number, number][],
  testPoints: [] as [number, number][],
  /** per epoch: test accuracy, mean loss, and seconds of training (the evaluation not counted) */
  epochs: [] as { epoch: number; testAccuracy: number; loss: number; seconds: number }[],
  prediction: null as { digit: number; probs: number[] } | null,
  predictions: 0,
  finetunes: 0,
  loads: 0,
  saves: 0,
  model: "mlp" as ModelKind,
  /** kernel threads the worker runs with (1 where the page is not cross-origin isolated) */
  threads: 1,
  errors: [] as string[],
  chartDraws: 0,
};
(window as unknown as { __playground: typeof state }).__playground = state;

// ---- charts (plain canvas, chart.ts) -----------------------------------------------------------

/** Draws a chart and counts it (the tests wait for redraws). */
const drawChart = (...args: Parameters<typeof drawChartOn>) => {
  drawChartOn(...args);
  state.chartDraws++;
};

let totalSteps = 1;
let chartPending = false;
function redrawCharts(): void {
  if (chartPending) return;
  chartPending = true;
  requestAnimationFrame(() => {
    chartPending = false;
    const maxLoss = Math.max(0.5, ...state.lossPoints.map((p) => p[1]).filter(Number.isFinite));
    drawChart(
      $<HTMLCanvasElement>("loss-chart"),
      "training loss",
      [
        { points: state.lossPoints, color: "#0969da", label: "batches" },
        { points: state.epochs.map((e) => [stepOfEpoch(e.epoch), e.loss] as [number, number]), color: "#8250df", label: "epoch mean", dots: true },
      ],
      { yMin: 0, yMax: Math.min(maxLoss * 1.05, 3), totalSteps },
    );
    const accMin = Math.min(0.5, ...state.accPoints.map((p) => p[1]));
    drawChart(
      $<HTMLCanvasElement>("acc-chart"),
      "accuracy",
      [
        { points: state.accPoints, color: "#0969da", label: "training batches" },
        { points: state.testPoints, color: "#1a7f37", label: "test set", dots: true },
      ],
      { yMin: Math.max(0, Math.floor(accMin * 10) / 10), yMax: 1, percent: true, totalSteps },
    );
  });
}
const epochSteps = new Map<number, number>();
const stepOfEpoch = (e: number) => epochSteps.get(e) ?? 0;

// ---- training controls --------------------------------------------------------------------------

const modelSelect = $<HTMLSelectElement>("model");
const setValue = (id: string, value: string) => ($<HTMLInputElement | HTMLSelectElement>(id).value = value);
// The speedrun CNN comes with its recipe (npm run mnist:speedrun): Adam, one-cycle to lr 0.005, batch 128, 2 epochs.
const speedrunRecipe = () => Object.entries({ optimizer: "adam", lr: "0.005", batch: "128", epochs: "2" }).forEach(([id, v]) => setValue(id, v));
modelSelect.onchange = () => {
  if (modelSelect.value === "speedrun") speedrunRecipe();
};
const modelParam = params.get("model");
if (modelParam === "cnn" || modelParam === "speedrun") modelSelect.value = modelParam;
if (modelParam === "speedrun") speedrunRecipe();
if (params.get("epochs")) $<HTMLInputElement>("epochs").value = params.get("epochs")!;
const setStatus = (text: string) => ($("status").textContent = text);
const fmt = formatInt;

function setBusy(busy: boolean): void {
  for (const id of ["train", "finetune", "load", "add"]) ($(id) as HTMLButtonElement).disabled = busy || !state.ready;
  ($("stop") as HTMLButtonElement).disabled = !state.training;
  ($("finetune") as HTMLButtonElement).disabled = busy || !state.ready || examples.length === 0;
}

$("train").onclick = () => {
  const num = (id: string, min: number) => Math.max(min, Number($<HTMLInputElement>(id).value) || min);
  const config: TrainConfig = {
    model: modelSelect.value as ModelKind,
    optimizer: $<HTMLSelectElement>("optimizer").value as "adam" | "sgd",
    lr: num("lr", 1e-6),
    epochs: Math.round(num("epochs", 1)),
    batch: Math.round(num("batch", 1)),
    seed: 0,
  };
  state.steps = 0;
  state.lossPoints = [];
  state.accPoints = [];
  state.testPoints = [];
  state.epochs = [];
  state.training = true;
  epochSteps.clear();
  setBusy(true);
  send({ type: "train", config });
};
$("stop").onclick = () => send({ type: "stop" });
$("save").onclick = () => send({ type: "save" });
$<HTMLInputElement>("load").onchange = async (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (!file) return;
  const bytes = new Uint8Array(await file.arrayBuffer());
  send({ type: "load", bytes, name: file.name }, [bytes.buffer]);
  (e.target as HTMLInputElement).value = "";
};

// ---- drawing pad ----------------------------------------------------------------------------------

const pad = $<HTMLCanvasElement>("pad");
const pg = pad.getContext("2d", { willReadFrequently: true })!;
function clearPad(): void {
  pg.fillStyle = "#000";
  pg.fillRect(0, 0, pad.width, pad.height);
  state.prediction = null;
  $("digit").textContent = "–";
  renderProbs(null);
  drawPreview(new Uint8Array(784));
}
let drawing = false;
let last: [number, number] | null = null;
const at = (e: PointerEvent): [number, number] => {
  const r = pad.getBoundingClientRect();
  return [((e.clientX - r.left) * pad.width) / r.width, ((e.clientY - r.top) * pad.height) / r.height];
};
function stroke(from: [number, number], to: [number, number]): void {
  pg.strokeStyle = "#fff";
  pg.fillStyle = "#fff";
  pg.lineWidth = 20;
  pg.lineCap = "round";
  pg.lineJoin = "round";
  pg.beginPath();
  pg.moveTo(...from);
  pg.lineTo(...to);
  pg.stroke();
}
pad.addEventListener("pointerdown", (e) => {
  drawing = true;
  pad.setPointerCapture(e.pointerId);
  last = at(e);
  stroke(last, last);
  schedulePredict();
});
pad.addEventListener("pointermove", (e) => {
  if (!drawing || last === null) return;
  const p = at(e);
  stroke(last, p);
  last = p;
  schedulePredict();
});
const endStroke = () => {
  if (!drawing) return;
  drawing = false;
  last = null;
  schedulePredict(true);
};
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);
$("clear").onclick = clearPad;

/** The pad as an MNIST-style 28×28 image. */
function padPixels(): { pixels: Uint8Array; blank: boolean } {
  const img = pg.getImageData(0, 0, pad.width, pad.height).data;
  const gray = new Uint8Array(pad.width * pad.height);
  for (let i = 0; i < gray.length; i++) gray[i] = img[4 * i];
  return toMnist28({ width: pad.width, height: pad.height, data: gray });
}

function drawPreview(pixels: Uint8Array, canvas = $<HTMLCanvasElement>("preview")): void {
  const g = canvas.getContext("2d")!;
  const img = g.createImageData(28, 28);
  for (let i = 0; i < 784; i++) img.data.set([pixels[i], pixels[i], pixels[i], 255], 4 * i);
  g.putImageData(img, 0, 0);
}

let predictId = 0;
let predictTimer: number | null = null;
let lastPredictAt = 0;
function schedulePredict(now = false): void {
  if (!state.ready) return;
  const run = () => {
    predictTimer = null;
    lastPredictAt = performance.now();
    const { pixels, blank } = padPixels();
    drawPreview(pixels);
    if (blank) return;
    send({ type: "predict", id: ++predictId, pixels });
  };
  if (now) {
    if (predictTimer !== null) clearTimeout(predictTimer);
    run();
  } else if (predictTimer === null) {
    predictTimer = window.setTimeout(run, Math.max(0, 120 - (performance.now() - lastPredictAt)));
  }
}

const probsEl = $("probs");
const probRows = Array.from({ length: 10 }, (_, d) => {
  const name = document.createElement("span");
  name.textContent = String(d);
  const track = document.createElement("div");
  track.className = "track";
  const fill = document.createElement("div");
  fill.className = "fill";
  track.append(fill);
  const value = document.createElement("span");
  value.className = "small";
  probsEl.append(name, track, value);
  return { name, track, fill, value };
});
function renderProbs(probs: number[] | null): void {
  const best = probs ? probs.indexOf(Math.max(...probs)) : -1;
  probRows.forEach((r, d) => {
    const p = probs?.[d] ?? 0;
    r.fill.style.width = `${(100 * p).toFixed(1)}%`;
    r.value.textContent = probs ? `${(100 * p).toFixed(1)}%` : "";
    for (const el of [r.name, r.track, r.value]) el.classList.toggle("top", d === best);
  });
}

// ---- fine-tuning on drawings -----------------------------------------------------------------------

const labelSelect = $<HTMLSelectElement>("label");
for (let d = 0; d < 10; d++) labelSelect.add(new Option(String(d), String(d)));
const examples: Sample[] = [];
function renderExamples(): void {
  const box = $("examples");
  box.replaceChildren(
    ...examples.map((s, i) => {
      const fig = document.createElement("figure");
      const c = document.createElement("canvas");
      c.width = c.height = 28;
      drawPreview(s.pixels, c);
      const cap = document.createElement("figcaption");
      cap.textContent = String(s.label);
      fig.title = "click to remove";
      fig.append(c, cap);
      fig.onclick = () => {
        examples.splice(i, 1);
        renderExamples();
      };
      return fig;
    }),
  );
  setBusy(state.training);
}
let beforeFinetune: { label: number; p: number } | null = null;
$("add").onclick = () => {
  const { pixels, blank } = padPixels();
  if (blank) {
    $("ftlog").textContent = "draw a digit first";
    return;
  }
  examples.push({ pixels, label: Number(labelSelect.value) });
  renderExamples();
  $("ftlog").textContent = `${examples.length} example${examples.length > 1 ? "s" : ""}; draw another one or fine-tune`;
};
$("clear-examples").onclick = () => {
  examples.length = 0;
  renderExamples();
};
$("finetune").onclick = () => {
  const label = Number(labelSelect.value);
  beforeFinetune = state.prediction ? { label, p: state.prediction.probs[label] } : null;
  setBusy(true);
  send({
    type: "finetune",
    samples: examples.map((s) => ({ pixels: s.pixels.slice(), label: s.label })),
    steps: Math.max(1, Math.round(Number($<HTMLInputElement>("ftsteps").value) || 30)),
    lr: 1e-3,
  });
};

// ---- messages from the worker ------------------------------------------------------------------------

let trainStart = 0;
worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  switch (m.type) {
    case "status":
      setStatus(m.text);
      break;
    case "ready":
      state.ready = true;
      state.model = m.model;
      state.threads = m.threads;
      $("env").textContent =
        `${fmt(m.train)} training / ${fmt(m.test)} test images · ${m.threads} thread${m.threads > 1 ? "s" : ""}` +
        `${m.isolated ? "" : " (page not cross-origin isolated)"}`;
      setStatus(`ready: an untrained ${m.model.toUpperCase()} (${fmt(m.params)} parameters). Press Train.`);
      setBusy(false);
      redrawCharts();
      break;
    case "started":
      trainStart = performance.now();
      totalSteps = m.steps;
      state.model = m.model;
      setStatus(`training the ${m.model.toUpperCase()} (${fmt(m.params)} parameters)…`);
      break;
    case "progress": {
      state.steps = m.step;
      state.lossPoints.push([m.step, m.loss]);
      state.accPoints.push([m.step, m.accuracy]);
      $("progress").style.width = `${(100 * m.step) / totalSteps}%`;
      const eta = (((performance.now() - trainStart) / m.step) * (totalSteps - m.step)) / 1000;
      setStatus(
        `epoch ${m.epoch}/${m.epochs} · batch ${m.batch}/${m.batches} · loss ${m.loss.toFixed(4)} · ` +
          `${fmt(m.samplesPerSec)} samples/s · lr ${Number(m.lr.toPrecision(3))} · ETA ${eta.toFixed(1)} s`,
      );
      redrawCharts();
      break;
    }
    case "epoch":
      epochSteps.set(m.epoch, m.step);
      state.epochs.push({ epoch: m.epoch, testAccuracy: m.testAccuracy, loss: m.loss, seconds: m.seconds });
      state.testPoints.push([m.step, m.testAccuracy]);
      setStatus(
        `epoch ${m.epoch}: loss ${m.loss.toFixed(4)}, training accuracy ${(100 * m.trainAccuracy).toFixed(2)}%, ` +
          `test accuracy ${(100 * m.testAccuracy).toFixed(2)}% (${fmt(m.evalImages)} images) in ${m.seconds.toFixed(1)} s`,
      );
      redrawCharts();
      break;
    case "done": {
      state.training = false;
      const lastEpoch = state.epochs[state.epochs.length - 1];
      setStatus(
        `${m.stopped ? "stopped" : "done"} after ${m.step} steps in ${m.seconds.toFixed(1)} s` +
          (lastEpoch ? ` · test accuracy ${(100 * lastEpoch.testAccuracy).toFixed(2)}%` : "") +
          " · now draw a digit →",
      );
      setBusy(false);
      schedulePredict(true);
      break;
    }
    case "prediction": {
      if (m.id !== predictId) break; // a newer drawing is on its way
      const digit = m.probs.indexOf(Math.max(...m.probs));
      state.prediction = { digit, probs: m.probs };
      state.predictions++;
      $("digit").textContent = String(digit);
      renderProbs(m.probs);
      if (beforeFinetune !== null && state.finetunes > 0) {
        const { label, p } = beforeFinetune;
        $("ftlog").textContent = `P(${label}) for this drawing: ${(100 * p).toFixed(1)}% before fine-tuning → ${(100 * m.probs[label]).toFixed(1)}% after`;
        beforeFinetune = null;
      }
      break;
    }
    case "finetune-progress":
      $("ftlog").textContent = `fine-tuning: step ${m.step}/${m.steps}, loss ${m.loss.toFixed(4)}`;
      break;
    case "finetuned":
      state.finetunes++;
      $("ftlog").textContent = `fine-tuned for ${m.steps} steps (last loss ${m.loss.toFixed(4)})`;
      setBusy(false);
      schedulePredict(true);
      break;
    case "saved": {
      state.saves++;
      const url = URL.createObjectURL(new Blob([m.bytes as BlobPart], { type: "application/octet-stream" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = `wasmgrad-mnist-${m.model}.safetensors`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      break;
    }
    case "loaded":
      state.loads++;
      state.model = m.model;
      modelSelect.value = m.model;
      setStatus(`loaded ${m.name}: ${m.model.toUpperCase()} (${fmt(m.params)} parameters)`);
      setBusy(false);
      schedulePredict(true);
      break;
    case "error":
      state.errors.push(m.message);
      $("errors").textContent = m.message;
      if (!state.training) setBusy(false);
      break;
  }
};
worker.onerror = (e) => {
  state.errors.push(e.message);
  $("errors").textContent = `worker error: ${e.message}`;
};

clearPad();
redrawCharts();
const defaultThreads = crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
send({
  type: "init",
  limit: Number(params.get("limit")) || 60000,
  testLimit: Number(params.get("testLimit")) || 10000,
  threads: Number(params.get("threads")) || defaultThreads,
});
window.addEventListener("resize", redrawCharts);
