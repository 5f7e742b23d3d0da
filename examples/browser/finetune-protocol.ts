// Messages between the fine-tune page (finetune-main.ts) and its worker (finetune-worker.ts).

/** One file of the picked checkpoint folder (its bytes are transferred, not copied). */
export interface PickedFile {
  name: string;
  bytes: ArrayBuffer;
}

/** What the page asks the worker to fine-tune. */
export interface FinetuneConfig {
  /** the training text (the last 10% is the validation split) */
  text: string;
  steps: number;
  batch: number;
  /** tokens per training window (at most the model's n_positions) */
  context: number;
  lr: number;
  threads: number;
  lora: { r: number; alpha: number; dropout: number; targetModules: string[] };
  /** SharedArrayBuffer of one int32: the page sets it to 1 to stop training */
  stop: SharedArrayBuffer;
}

export type ToFinetuneWorker =
  /** folder: the picked folder's name ("" for loose files) */
  | { type: "load"; folder: string; files: PickedFile[] }
  | { type: "train"; config: FinetuneConfig }
  | { type: "generate"; prompt: string; tokens: number; temperature: number; topK: number; seed: number }
  | { type: "save"; what: "adapter" | "merged" };

/** The model the worker loaded. */
export interface LoadedInfo {
  /** "hf": a Hugging Face GPT-2 folder; "wasmgrad": a run folder of `wasmgrad train --model gpt` / `npm run gpt` */
  format: "hf" | "wasmgrad";
  params: number;
  /** float32 bytes of the weights in wasm memory */
  weightBytes: number;
  layers: number;
  heads: number;
  embd: number;
  vocab: number;
  positions: number;
  /** how text becomes token ids (see finetune-tokenizer.ts) */
  tokenizer: string;
  /** set when the tokenizer is the bytes fallback */
  warning: string | null;
  /** the Linear layers' names that LoRA can target (c_attn, c_proj, c_fc) */
  linearNames: string[];
  seconds: number;
}

export type FromFinetuneWorker =
  | { type: "loaded"; info: LoadedInfo }
  | { type: "lora"; trainable: number; total: number; layers: number; fresh: boolean }
  | { type: "step"; step: number; loss: number; tokensPerSec: number }
  | { type: "eval"; step: number; val: number }
  | { type: "trained"; step: number; seconds: number }
  | { type: "token"; text: string }
  | { type: "generated"; tokens: number; seconds: number }
  | { type: "files"; what: "adapter" | "merged"; files: PickedFile[] }
  | { type: "note"; message: string }
  | { type: "error"; message: string };
