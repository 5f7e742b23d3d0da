// Child process for the bomb tests (run with `node --import tsx --conditions=wasmgrad-source`):
// feeds files to the public API — data.parseIdxFile, datasets.MNIST from a root, from bytes and
// from URLs, and `wasmgrad predict` — and prints one JSON line: each task's outcome and the
// process's peak RSS. argv: the JSON task list, then optionally the source tree to load (another
// checkout, to measure an older version the same way).
import { readFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

export type BombTask =
  | { api: "parseIdxFile"; file: string; dims: number; maxBytes?: number }
  | { api: "MNIST-root"; root: string; train: boolean; normalize?: boolean; maxBytes?: number }
  | { api: "MNIST-bytes"; images: string; labels: string; maxBytes?: number }
  | { api: "MNIST-urls"; images: string; labels: string; maxBytes?: number }
  | { api: "predict"; args: string[]; model?: string };

export interface BombOutcome {
  /** "loaded ..." or the error as the CLI would print it. */
  result: string;
  ok: boolean;
}

async function main(): Promise<void> {
  const tasks = JSON.parse(process.argv[2]) as BombTask[];
  const root = resolve(process.argv[3] ?? join(import.meta.dirname, "..", ".."));
  const lib = await import(pathToFileURL(join(root, "src", "index.ts")).href);
  const cli = await import(pathToFileURL(join(root, "src", "cli", "main.ts")).href);
  const { predictCommand } = await import(pathToFileURL(join(root, "src", "cli", "predict.ts")).href);
  const { data, datasets, io, models, transforms } = lib;
  let modelPath: string | null = null;
  const model = () => {
    if (modelPath === null) {
      modelPath = join(mkdtempSync(join(tmpdir(), "wasmgrad-bomb-")), "mlp.safetensors");
      io.saveSafetensors(new models.MnistMLP().stateDict(), modelPath, { metadata: { format: "pt", "wasmgrad.model": "mlp" } });
    }
    return modelPath;
  };
  const limit = (maxBytes?: number) => (maxBytes === undefined ? {} : { maxBytes });
  const dataUrl = (file: string) => `data:application/octet-stream;base64,${readFileSync(file).toString("base64")}`;
  const outcomes: BombOutcome[] = [];
  for (const t of tasks) {
    try {
      let result: string;
      switch (t.api) {
        case "parseIdxFile": {
          const a = data.parseIdxFile(new Uint8Array(readFileSync(t.file)), t.file, t.dims, limit(t.maxBytes));
          result = `loaded dims [${a.dims.join(", ")}]`;
          break;
        }
        case "MNIST-root": {
          const transform = t.normalize ? new transforms.Compose([new transforms.ToTensor(), new transforms.Normalize([0.1307], [0.3081])]) : undefined;
          const ds = new datasets.MNIST({ root: t.root, train: t.train, transform, ...limit(t.maxBytes) });
          result = `loaded ${ds.length} images`;
          break;
        }
        case "MNIST-bytes": {
          const ds = new datasets.MNIST({
            images: new Uint8Array(readFileSync(t.images)),
            labels: new Uint8Array(readFileSync(t.labels)),
            ...limit(t.maxBytes),
          });
          result = `loaded ${ds.length} images`;
          break;
        }
        case "MNIST-urls": {
          const ds = await datasets.MNIST.fromUrls({ images: dataUrl(t.images), labels: dataUrl(t.labels) }, limit(t.maxBytes));
          result = `loaded ${ds.length} images`;
          break;
        }
        case "predict": {
          let printed = "";
          await predictCommand([t.model ?? model(), ...t.args], (s: string) => (printed += s));
          result = `predicted: ${printed.trim().split("\n")[0]}`;
          break;
        }
      }
      outcomes.push({ result, ok: true });
    } catch (e) {
      outcomes.push({ result: cli.describe(e).message, ok: false });
    }
  }
  process.stdout.write(`${JSON.stringify({ outcomes, peakRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
}

await main();
