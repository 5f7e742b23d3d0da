// The fine-tune page of the playground: reads a checkpoint folder picked from disk, transfers its
// bytes to finetune-worker.ts (a new worker per folder), charts the LoRA fine-tune's loss live,
// streams generated tokens, and turns the adapter's or the merged model's bytes into downloads.
import { formatInt } from "../../src/cli/progress.js";
import { drawChart, onNextFrame } from "./chart.js";
import type { FinetuneConfig, FromFinetuneWorker, LoadedInfo, PickedFile, ToFinetuneWorker } from "./finetune-protocol.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const num = (id: string) => Number($<HTMLInputElement>(id).value);
const button = (id: string) => $<HTMLButtonElement>(id);

/** State the tests read (window.__ft). */
const state = {
  loading: false,
  loaded: null as LoadedInfo | null,
  lora: null as { trainable: number; total: number; layers: number } | null,
  training: false,
  trained: false,
  steps: 0,
  losses: [] as number[],
  evals: [] as { step: number; val: number }[],
  generating: false,
  tokens: 0,
  text: "",
  downloads: [] as { name: string; size: number }[],
  notes: [] as string[],
  errors: [] as string[],
};
(window as unknown as { __ft: typeof state }).__ft = state;

let worker: Worker | null = null;
const send = (m: ToFinetuneWorker, transfer: Transferable[] = []) => worker!.postMessage(m, transfer);
let totalSteps = 1;
let stop = new SharedArrayBuffer(4);

function redraw(): void {
  drawChart(
    $<HTMLCanvasElement>("loss"),
    "loss",
    [
      { points: state.losses.map((l, i) => [i + 1, l]), color: "#afb8c1", label: "train (step)" },
      { points: state.evals.map((e) => [e.step, e.val]), color: "#cf222e", label: "val (estimate)", dots: true },
    ],
    { totalSteps },
  );
}
const scheduleRedraw = onNextFrame(redraw);

/** The files fromPretrained needs, from a folder pick (top level only) or a multi-file pick. */
async function pickFiles(list: FileList): Promise<{ folder: string; files: PickedFile[] }> {
  const all = [...list];
  const rel = (f: File) => (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
  // A folder pick names its folder (the adapter's base_model_name_or_path); loose files do not.
  const first = all.length > 0 ? rel(all[0]) : "";
  const folder = first.includes("/") ? first.split("/")[0] : "";
  // A picked folder may hold subfolders (onnx/, .git/) and other formats (pytorch_model.bin, flax): only its top level counts.
  const top = new Map(all.filter((f) => rel(f).split("/").length <= 2).map((f) => [f.name, f]));
  if (!top.has("config.json")) throw new Error(`no config.json in ${folder || "the picked files"} (got ${[...top.keys()].join(", ") || "no files"})`);
  const wanted = ["config.json", "wasmgrad_tokenizer.json", "tokenizer.json"];
  if (top.has("model.safetensors.index.json")) {
    const index = JSON.parse(await top.get("model.safetensors.index.json")!.text()) as { weight_map?: Record<string, string> };
    wanted.push("model.safetensors.index.json", ...new Set(Object.values(index.weight_map ?? {})));
  } else if (top.has("model.safetensors")) wanted.push("model.safetensors");
  else {
    const bin = top.has("pytorch_model.bin") ? " (pytorch_model.bin is a pickle, which is not read: convert it to safetensors)" : "";
    throw new Error(`no model.safetensors nor model.safetensors.index.json in ${folder || "the picked files"}${bin}`);
  }
  const files: PickedFile[] = [];
  for (const name of wanted) {
    const f = top.get(name);
    if (f !== undefined) files.push({ name, bytes: await f.arrayBuffer() }); // shards the index names but that are missing: the worker says which
  }
  return { folder, files };
}

async function onPick(list: FileList | null): Promise<void> {
  if (list === null || list.length === 0) return;
  worker?.terminate(); // the previous model's memory goes with its worker
  Object.assign(state, { loading: true, loaded: null, lora: null, trained: false, steps: 0, tokens: 0, text: "" });
  state.losses.length = 0;
  state.evals.length = 0;
  for (const id of ["train", "stop", "generate", "saveAdapter", "saveMerged"]) button(id).disabled = true;
  $("warning").hidden = true;
  $("errors").textContent = "";
  $("downloads").textContent = "";
  redraw();
  try {
    $("modelinfo").textContent = "reading the files…";
    const { folder, files } = await pickFiles(list);
    const bytes = files.reduce((n, f) => n + f.bytes.byteLength, 0);
    $("modelinfo").textContent = `loading ${folder || `${files.length} files`} (${formatBytes(bytes)}) in the worker…`;
    worker = new Worker(new URL("./finetune-worker.js", import.meta.url), { type: "module" });
    worker.onmessage = onMessage;
    worker.onerror = (e) => fail(e.message);
    send(
      { type: "load", folder, files },
      files.map((f) => f.bytes),
    );
  } catch (e) {
    fail((e as Error).message);
  }
}
$<HTMLInputElement>("folder").onchange = (e) => onPick((e.target as HTMLInputElement).files);
$<HTMLInputElement>("files").onchange = (e) => onPick((e.target as HTMLInputElement).files);
$<HTMLSelectElement>("source").onchange = () => {
  $("text").hidden = $<HTMLSelectElement>("source").value !== "mine";
};

button("train").onclick = async () => {
  const targetModules = [...document.querySelectorAll<HTMLInputElement>("#targets input:checked")].map((i) => i.value);
  if (targetModules.length === 0) return fail("choose at least one target module");
  const text = $<HTMLSelectElement>("source").value === "names" ? await (await fetch("./data/names.txt")).text() : $<HTMLTextAreaElement>("text").value;
  stop = new SharedArrayBuffer(4);
  const config: FinetuneConfig = {
    text,
    steps: num("steps"),
    batch: num("batch"),
    context: num("context"),
    lr: num("lr"),
    threads: Number($<HTMLSelectElement>("threads").value),
    lora: { r: num("r"), alpha: num("alpha"), dropout: num("dropout"), targetModules },
    stop,
  };
  totalSteps = config.steps;
  state.losses.length = 0;
  state.evals.length = 0;
  Object.assign(state, { training: true, trained: false, steps: 0 });
  for (const id of ["train", "generate", "saveAdapter", "saveMerged"]) button(id).disabled = true;
  button("stop").disabled = false;
  $("errors").textContent = "";
  $("status").textContent = "starting…";
  send({ type: "train", config });
};
button("stop").onclick = () => Atomics.store(new Int32Array(stop), 0, 1);
button("generate").onclick = () => {
  const prompt = $<HTMLInputElement>("prompt").value;
  const out = $("output");
  out.textContent = "";
  const p = document.createElement("span");
  p.className = "prompt";
  p.textContent = prompt;
  out.append(p);
  Object.assign(state, { generating: true, tokens: 0, text: "" });
  button("generate").disabled = true;
  send({ type: "generate", prompt, tokens: num("tokens"), temperature: num("temperature"), topK: num("topk"), seed: Math.floor(Math.random() * 1e9) });
};
button("saveAdapter").onclick = () => send({ type: "save", what: "adapter" });
button("saveMerged").onclick = () => send({ type: "save", what: "merged" });

function formatBytes(n: number): string {
  return n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(2)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

function fail(message: string): void {
  state.errors.push(message);
  $("errors").textContent = message;
  Object.assign(state, { loading: false, training: false, generating: false });
  button("stop").disabled = true;
  if (state.loaded !== null) for (const id of ["train", "generate", "saveMerged"]) button(id).disabled = false;
  if (state.loaded === null) $("modelinfo").textContent = "not loaded (see the message above)";
  button("saveAdapter").disabled = state.lora === null;
}

/** Offers the files as downloads (one Blob URL each) and lists them as links to fetch again. */
function download(what: string, files: PickedFile[]): void {
  const box = $("downloads");
  box.textContent = `${what}: `;
  for (const f of files) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([f.bytes]));
    a.download = f.name;
    a.textContent = `${f.name} (${formatBytes(f.bytes.byteLength)})`;
    box.append(a);
    a.click();
    state.downloads.push({ name: f.name, size: f.bytes.byteLength });
  }
}

function onMessage(e: MessageEvent<FromFinetuneWorker>): void {
  const m = e.data;
  switch (m.type) {
    case "loaded": {
      const i = m.info;
      Object.assign(state, { loading: false, loaded: i });
      $("modelinfo").innerHTML = "";
      const kind = i.format === "hf" ? "Hugging Face GPT-2" : "wasmgrad GPT";
      $("modelinfo").append(
        `${kind}: ${i.layers} layers, ${i.heads} heads, embedding ${i.embd}, vocabulary ${formatInt(i.vocab)}, ${formatInt(i.positions)} positions · `,
        Object.assign(document.createElement("b"), { textContent: `${formatInt(i.params)} parameters (${formatBytes(i.weightBytes)} of float32)` }),
        ` · tokenizer: ${i.tokenizer} · loaded in ${i.seconds.toFixed(2)} s`,
      );
      $("warning").hidden = i.warning === null;
      $("warning").textContent = i.warning ?? "";
      for (const input of document.querySelectorAll<HTMLInputElement>("#targets input")) input.disabled = !i.linearNames.includes(input.value);
      if (num("context") > i.positions) $<HTMLInputElement>("context").value = String(i.positions);
      for (const id of ["train", "generate", "saveMerged"]) button(id).disabled = false;
      $("status").textContent = "Choose the LoRA settings and the text, then press Fine-tune.";
      $("genstatus").textContent = "Type a prompt and press Generate.";
      break;
    }
    case "lora":
      state.lora = { trainable: m.trainable, total: m.total, layers: m.layers };
      $("status").textContent =
        `${m.fresh ? "new adapter" : "continuing the adapter"}: ${m.layers} LoRA layers, ${formatInt(m.trainable)} trainable of ${formatInt(m.total)} parameters (${((100 * m.trainable) / m.total).toFixed(2)}%)`;
      break;
    case "step":
      state.steps = m.step;
      state.losses.push(m.loss);
      $("progress").style.width = `${(100 * m.step) / totalSteps}%`;
      $("status").textContent = `step ${m.step}/${totalSteps}  loss ${m.loss.toFixed(3)}  ${formatInt(m.tokensPerSec)} tokens/s`;
      scheduleRedraw();
      break;
    case "eval":
      state.evals.push({ step: m.step, val: m.val });
      scheduleRedraw();
      break;
    case "trained": {
      Object.assign(state, { training: false, trained: true });
      const first = state.evals[0];
      const last = state.evals[state.evals.length - 1];
      $("status").textContent = `fine-tuned ${m.step} steps in ${m.seconds.toFixed(1)} s; val loss ${first.val.toFixed(3)} → ${last.val.toFixed(3)}`;
      button("stop").disabled = true;
      for (const id of ["train", "generate", "saveAdapter", "saveMerged"]) button(id).disabled = false;
      redraw();
      break;
    }
    case "token":
      state.tokens++;
      state.text += m.text;
      $("output").append(m.text);
      break;
    case "generated":
      state.generating = false;
      button("generate").disabled = false;
      $("genstatus").textContent = `${m.tokens} tokens in ${m.seconds.toFixed(2)} s (${formatInt(m.tokens / Math.max(m.seconds, 1e-9))} tokens/s, KV cache)`;
      break;
    case "files":
      download(m.what === "adapter" ? "adapter" : "merged model", m.files);
      if (m.what === "merged") {
        state.lora = null;
        button("saveAdapter").disabled = true;
        $("downloads").append(
          Object.assign(document.createElement("div"), {
            className: "muted small",
            textContent: "The adapter is merged into the weights here too: Fine-tune now starts a new adapter on the merged model.",
          }),
        );
      }
      break;
    case "note":
      state.notes.push(m.message);
      $("errors").textContent = m.message;
      break;
    case "error":
      fail(m.message);
      break;
  }
}
redraw();
