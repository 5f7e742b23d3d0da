// The size of the bench GPT as flags, shared by bench/gpt.ts and the peers it spawns (bench/tfjs-gpt.ts;
// bench/pytorch/gpt.py takes the same names), and how to pass them on.

/** Flags of the model's size and batch (the defaults are the model of `npm run gpt`). */
export const GPT_SIZE_FLAGS = {
  layers: { type: "int", default: 4, min: 1, help: "transformer blocks" },
  heads: { type: "int", default: 4, min: 1, help: "attention heads" },
  embd: { type: "int", default: 128, min: 1, help: "embedding size" },
  block: { type: "int", default: 128, min: 1, help: "context length (tokens per sequence)" },
  vocab: { type: "int", default: 96, min: 2, help: "vocabulary size" },
  batch: { type: "int", default: 16, min: 1, help: "sequences per training step" },
} as const;

/** The size flags' values as command-line arguments for a peer process. */
export function sizeArgs(v: Record<keyof typeof GPT_SIZE_FLAGS, number>): string[] {
  return Object.keys(GPT_SIZE_FLAGS).flatMap((k) => [`--${k}`, String(v[k as keyof typeof GPT_SIZE_FLAGS])]);
}
