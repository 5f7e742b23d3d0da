// Messages between the playground page (main.ts) and its training worker (worker.ts).
import type { ModelKind } from "../../src/cli/modelfile.js";

export type { ModelKind };

export interface TrainConfig {
  model: ModelKind;
  optimizer: "adam" | "sgd";
  lr: number;
  epochs: number;
  batch: number;
  seed: number;
}

export interface Sample {
  /** 784 MNIST-style pixels (ink bright). */
  pixels: Uint8Array;
  label: number;
}

export type ToWorker =
  | { type: "init"; limit: number; testLimit: number; threads: number }
  | { type: "train"; config: TrainConfig }
  | { type: "stop" }
  | { type: "predict"; id: number; pixels: Uint8Array }
  | { type: "finetune"; samples: Sample[]; steps: number; lr: number }
  | { type: "save" }
  | { type: "load"; bytes: Uint8Array; name: string };

export type FromWorker =
  | { type: "status"; text: string }
  | { type: "ready"; train: number; test: number; threads: number; isolated: boolean; model: ModelKind; params: number }
  | { type: "started"; model: ModelKind; params: number; steps: number; evalImages: number }
  | {
      type: "progress";
      step: number;
      epoch: number;
      epochs: number;
      batch: number;
      batches: number;
      loss: number;
      accuracy: number;
      lr: number;
      samplesPerSec: number;
    }
  | { type: "epoch"; epoch: number; step: number; loss: number; trainAccuracy: number; testAccuracy: number; evalImages: number; seconds: number }
  | { type: "done"; stopped: boolean; step: number; seconds: number }
  | { type: "prediction"; id: number; probs: number[] }
  | { type: "finetune-progress"; step: number; steps: number; loss: number }
  | { type: "finetuned"; steps: number; loss: number }
  | { type: "saved"; bytes: Uint8Array; model: ModelKind }
  | { type: "loaded"; model: ModelKind; name: string; params: number }
  | { type: "error"; message: string };
