export { MnistMLP, MnistCNN, MnistSpeedrunCNN } from "./mnist.js";
export { GPT, type GPTConfig, type GenerateOptions } from "./gpt.js";
export {
  Bert,
  BertForSequenceClassification,
  type BertConfig,
  type BertInputs,
  type BertClassifierConfig,
  type BertClassifierInputs,
} from "./bert.js";
export type { GPTFromPretrainedOptions } from "./hf-gpt2.js";
export type { BertFromPretrainedOptions } from "./hf-bert.js";
export type { PretrainedSource, PretrainedFiles, FileBytes } from "./hf-files.js";
