// Recording the kernel calls a piece of code makes: a backend object that forwards every kernel
// to a real backend (same heap and memory) and logs its name and arguments, so the calls can be
// replayed directly on that backend — same kernels, shapes and pointers, no tensors.
import type { Backend } from "../src/index.js";

export interface Call<Tag> {
  tag: Tag;
  name: string;
  args: unknown[];
}

export function recordingBackend<Tag>(real: Backend, log: Call<Tag>[], tag: () => Tag, on: () => boolean): Backend {
  const rec: Record<string, unknown> = { ...real };
  const views = new Set(["f32", "i32", "u8"]);
  for (const [name, v] of Object.entries(real)) {
    if (typeof v !== "function" || views.has(name)) continue;
    const fn = v as (...a: unknown[]) => unknown;
    rec[name] = (...args: unknown[]) => {
      if (on()) log.push({ tag: tag(), name, args });
      return fn(...args);
    };
  }
  return rec as unknown as Backend;
}

/** A function that replays the logged calls at the given indices on `backend`. */
export function replayer<Tag>(backend: Backend, log: Call<Tag>[], indices: number[]): () => void {
  const fns = log.map((l) => (backend as unknown as Record<string, (...a: unknown[]) => unknown>)[l.name]);
  return () => {
    for (const i of indices) fns[i](...log[i].args);
  };
}
