// The tiny Hugging Face checkpoint folders of test/reference/golden/hf/ as file bytes, and copies
// of one with config.json fields or tensors changed (for the loaders' bad-input tests).
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { io } from "../../src/index.js";

/** test/reference/golden/hf: the folders test/reference/hf_models.py writes. */
export const HF = join(import.meta.dirname, "..", "reference", "golden", "hf");

/** Every file of a golden folder, by name. */
export function filesOf(folder: string): Record<string, Uint8Array> {
  return Object.fromEntries(readdirSync(join(HF, folder)).map((f) => [f, new Uint8Array(readFileSync(join(HF, folder, f)))]));
}

/** The folder's files with `patch` merged into config.json. */
export function withConfig(folder: string, patch: Record<string, unknown>): Record<string, Uint8Array> {
  const f = filesOf(folder);
  f["config.json"] = new TextEncoder().encode(JSON.stringify({ ...JSON.parse(new TextDecoder().decode(f["config.json"])), ...patch }));
  return f;
}

/** The folder's files with model.safetensors rewritten after `edit` changed its tensors. */
export function withTensors(folder: string, edit: (t: Record<string, { shape: number[]; data: Float32Array }>) => void): Record<string, Uint8Array> {
  const f = filesOf(folder);
  const t = io.loadSafetensors(f["model.safetensors"]);
  edit(t);
  f["model.safetensors"] = io.saveSafetensors(t);
  return f;
}
