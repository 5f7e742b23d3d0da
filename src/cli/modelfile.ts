// Which MNIST model a weights file holds, and how its inputs were normalised. Shared by the CLI
// and the browser playground (no node: imports). Files written by `wasmgrad train` and the
// playground say it in their safetensors metadata:
//   "wasmgrad.model": "mlp" | "cnn" | "speedrun", "wasmgrad.normalize": "<mean>,<std>"
// Files without it are recognised by their keys: models.MnistMLP (fc1..fc3), models.MnistCNN
// (conv1, bn1, ...), models.MnistSpeedrunCNN (conv1, conv2, fc1, fc2; no batch norm), or the tutorial's nn.Sequential MLP (0., 2., 4. → fc1, fc2, fc3); a
// wasmgrad checkpoint's "model." tensors are its weights.
import { models, type io } from "wasmgrad";
import { MNIST_MEAN, MNIST_STD } from "./preprocess.js";

export type ModelKind = "mlp" | "cnn" | "speedrun";
export const MODEL_KINDS: readonly ModelKind[] = ["mlp", "cnn", "speedrun"];
type Loaded = ReturnType<typeof io.loadSafetensors>;

/** models.MnistMLP, MnistCNN or MnistSpeedrunCNN: each takes (N, 784) or (N, 1, 28, 28) and gives logits (N, 10). */
export type MnistModel = models.MnistMLP | models.MnistCNN | models.MnistSpeedrunCNN;

export function createModel(kind: ModelKind): MnistModel {
  return kind === "cnn" ? new models.MnistCNN() : kind === "speedrun" ? new models.MnistSpeedrunCNN() : new models.MnistMLP();
}

export const MODEL_NAMES: Record<ModelKind, string> = {
  mlp: "MLP 784→128→64→10",
  cnn: "CNN (2 conv blocks)",
  speedrun: "speedrun CNN 24c5-p2-32c3-p2-256-10",
};

/** Metadata that `wasmgrad train` and the playground store next to the weights. */
export function modelMetadata(kind: ModelKind, mean = MNIST_MEAN, std = MNIST_STD): Record<string, string> {
  return { format: "pt", "wasmgrad.model": kind, "wasmgrad.normalize": `${mean},${std}` };
}

export interface ModelFile {
  kind: ModelKind;
  /** Weights keyed as the wasmgrad model expects them. */
  stateDict: Loaded;
  mean: number;
  std: number;
  /** How the kind was decided, for messages. */
  source: "metadata" | "keys" | "flag";
}

/**
 * Interprets a safetensors file's tensors and metadata. `requested` (a --model flag) wins over
 * what the file says; it is an error only when the weights do not fit it (loadStateDict says so).
 */
export function interpretModelFile(tensors: Loaded, metadata: Record<string, string>, name: string, requested?: ModelKind): ModelFile {
  let sd: Loaded = tensors;
  let fromMeta: ModelKind | undefined;
  if (metadata.format === "wasmgrad.checkpoint") {
    sd = {};
    for (const [k, v] of Object.entries(tensors)) if (k.startsWith("model.")) sd[k.slice(6)] = v;
  }
  const metaKind = metadata["wasmgrad.model"];
  if ((MODEL_KINDS as readonly string[]).includes(metaKind)) fromMeta = metaKind as ModelKind;
  let sequential = false;
  if ("0.weight" in sd && "2.weight" in sd && "4.weight" in sd && !("fc1.weight" in sd)) {
    // The tutorial's nn.Sequential(Linear, ReLU, Linear, ReLU, Linear): same weights as MnistMLP.
    const renamed: Loaded = {};
    const map: Record<string, string> = { "0": "fc1", "2": "fc2", "4": "fc3" };
    for (const [k, v] of Object.entries(sd)) {
      const [head, ...rest] = k.split(".");
      renamed[map[head] !== undefined ? [map[head], ...rest].join(".") : k] = v;
    }
    sd = renamed;
    sequential = true;
  }
  const fromKeys: ModelKind | undefined =
    "conv1.weight" in sd ? ("bn1.weight" in sd ? "cnn" : "speedrun") : "fc1.weight" in sd && "fc3.weight" in sd ? "mlp" : undefined;
  const kind = requested ?? fromMeta ?? fromKeys;
  if (kind === undefined) {
    const keys = Object.keys(sd).slice(0, 4).join(", ");
    throw new ModelFileError(`${name}: cannot tell which model these weights are for (keys ${keys || "none"}); pass --model mlp, cnn or speedrun`);
  }
  // The tutorial normalises with (0.5, 0.5); our own files say what they used.
  let mean = sequential ? 0.5 : MNIST_MEAN;
  let std = sequential ? 0.5 : MNIST_STD;
  const norm = metadata["wasmgrad.normalize"]?.split(",").map(Number);
  if (norm !== undefined && norm.length === 2 && norm.every(Number.isFinite) && norm[1] !== 0) [mean, std] = norm;
  return { kind, stateDict: sd, mean, std, source: requested !== undefined ? "flag" : fromMeta !== undefined ? "metadata" : "keys" };
}

export class ModelFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ModelFileError";
  }
}
