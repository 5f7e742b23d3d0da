// Messages between the GPT page (gpt-main.ts) and its worker (gpt-worker.ts).

/** What the page asks the worker to train. */
export interface GptTrainConfig {
  corpus: "names" | "brown";
  steps: number;
  batch: number;
  block: number;
  layers: number;
  heads: number;
  embd: number;
  lr: number;
  evalInterval: number;
  threads: number;
  /** SharedArrayBuffer of one int32: the page sets it to 1 to stop training */
  stop: SharedArrayBuffer;
}

export type ToGptWorker =
  | { type: "train"; config: GptTrainConfig }
  | { type: "generate"; prompt: string; tokens: number; temperature: number; topK: number; seed: number };

export type FromGptWorker =
  | { type: "info"; params: number; tokens: number; vocab: number; threads: number }
  | { type: "step"; step: number; loss: number; tokensPerSec: number }
  | { type: "eval"; step: number; train: number; val: number; seconds: number }
  | { type: "trained"; step: number; seconds: number }
  | { type: "token"; text: string }
  | { type: "generated"; tokens: number; seconds: number }
  | { type: "error"; message: string };
