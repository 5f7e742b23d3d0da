// Writes test/reference/golden/safetensors/ours.safetensors: a seeded MLP of the reference's
// sizes saved by our safetensors writer, for the numpy reader (safetensors_numpy.py read) to
// check. test/io-safetensors.test.ts rebuilds the same bytes and compares them to this file.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { io, manualSeed, nn } from "../../src/index.js";

export const GOLDEN_SAFETENSORS = join(import.meta.dirname, "golden", "safetensors");

/** The seeded model whose state dict ours.safetensors holds. */
export function oursModel(): nn.Sequential {
  const { sizes } = JSON.parse(readFileSync(join(GOLDEN_SAFETENSORS, "reference.json"), "utf8")) as { sizes: number[] };
  manualSeed(7);
  return new nn.Sequential(
    new nn.Linear(sizes[0], sizes[1]),
    new nn.ReLU(),
    new nn.Linear(sizes[1], sizes[2]),
    new nn.ReLU(),
    new nn.Linear(sizes[2], sizes[3]),
  );
}

if (process.argv[1]?.endsWith("write-ours.ts")) {
  const path = join(GOLDEN_SAFETENSORS, "ours.safetensors");
  io.saveSafetensors(oursModel().stateDict(), path, { metadata: { format: "pt" } });
  console.log(`${path}: written`);
}
