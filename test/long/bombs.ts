// The full-size decompression and parse bombs (npm run attack:bombs): each fed to the public API in
// a fresh process, printing what happened and that process's peak RSS. With --against DIR the same
// files go to another checkout's sources too (e.g. a worktree of an older commit), for a before /
// after table. test/bombs.test.ts runs small versions of the same files with every npm test.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseFlags } from "../../src/cli/flags.js";
import { encodePng } from "../../src/cli/image.js";
import type { BombTask } from "../helpers/bomb-child.js";
import { LABELS_FOR_TWO, idxHonestImages, idxHonestLabels, idxPrefixBomb, pgmBomb, pngBomb, runBombChild } from "../helpers/bombs.js";

const flags = parseFlags(
  "npm run attack:bombs --",
  "Full-size decompression and parse bombs against the public API, each in a fresh process, with its peak RSS.",
  {
    against: { type: "string", help: "also run them against this source tree (another checkout), for a before/after table" },
    gib: { type: "number", default: 1, min: 0.01, help: "how far the bombs expand, in GiB" },
  },
);

const dir = mkdtempSync(join(tmpdir(), "wasmgrad-attack-"));
const expand = Math.round(flags.gib * 2 ** 30);
const file = (name: string, bytes: Uint8Array) => {
  writeFileSync(join(dir, name), bytes);
  return join(dir, name);
};
console.log(`building bombs that expand to ${flags.gib} GiB in ${dir} ...`);
const prefix = file("prefix-images.gz", idxPrefixBomb(Math.ceil((256 << 10) / 5), expand));
const prefixLabels = file("prefix-labels.gz", LABELS_FOR_TWO);
const png = file("bomb.png", pngBomb(expand));
const honestN = Math.floor(expand / 784);
const honest = file("honest-images.gz", idxHonestImages(honestN));
const honestLabels = file("honest-labels.gz", idxHonestLabels(honestN));
const pgm = file("long.pgm", pgmBomb(300_000));
const tinyPng = file("tiny.png", encodePng(new Uint8Array(784), 28, 28));
const header = `{"w":{"dtype":"F32","shape":${"[".repeat(5000)}${"]".repeat(5000)},"data_offsets":[0,0]}}`;
const deep = new Uint8Array(8 + header.length);
new DataView(deep.buffer).setUint32(0, header.length, true);
deep.set(new TextEncoder().encode(header), 8);
const deepModel = file("deep.safetensors", deep);

const cases: [string, BombTask][] = [
  ["IDX .gz, header behind 256 KiB of empty blocks: parseIdxFile", { api: "parseIdxFile", file: prefix, dims: 3 }],
  ["  the same: MNIST from bytes", { api: "MNIST-bytes", images: prefix, labels: prefixLabels }],
  ["  the same: MNIST.fromUrls", { api: "MNIST-urls", images: prefix, labels: prefixLabels }],
  ["  the same: wasmgrad predict --idx", { api: "predict", args: ["--idx", prefix, "--index", "0"] }],
  [`IDX .gz, honest header of ${honestN} images: parseIdxFile (default maxBytes)`, { api: "parseIdxFile", file: honest, dims: 3 }],
  ["  the same: MNIST from bytes", { api: "MNIST-bytes", images: honest, labels: honestLabels }],
  ["1×1 PNG whose IDAT inflates to the bomb size: wasmgrad predict", { api: "predict", args: [png] }],
  ["PGM with a 300,000-digit width: wasmgrad predict", { api: "predict", args: [pgm] }],
  ["safetensors header with shape nested 5,000 deep: wasmgrad predict", { api: "predict", args: [tinyPng], model: deepModel }],
];

function run(root: string | undefined): { result: string; peak: number }[] {
  return cases.map(([, task]) => {
    const r = runBombChild([task], root);
    return { result: r.outcomes[0].result, peak: r.peakRssMiB };
  });
}

const after = run(undefined);
const before = flags.against === undefined ? null : run(flags.against);
for (let i = 0; i < cases.length; i++) {
  console.log(`\n${cases[i][0]}`);
  if (before) console.log(`  before (${flags.against}): peak RSS ${before[i].peak.toFixed(0)} MiB: ${before[i].result.slice(0, 200)}`);
  console.log(`  now: peak RSS ${after[i].peak.toFixed(0)} MiB: ${after[i].result.slice(0, 200)}`);
}
rmSync(dir, { recursive: true, force: true });
