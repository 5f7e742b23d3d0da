// io: weights in the safetensors format, and training checkpoints that survive a crash.
export {
  saveSafetensors,
  loadSafetensors,
  readSafetensors,
  encodeSafetensors,
  decodeSafetensors,
  type LoadedTensor,
  type SafetensorsContents,
  type SaveSafetensorsOptions,
} from "./safetensors.js";
export {
  saveCheckpoint,
  loadCheckpoint,
  encodeCheckpoint,
  type CheckpointState,
  type CheckpointInfo,
  type Stateful,
} from "./checkpoint.js";
