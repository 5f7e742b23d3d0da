export { MnistMLP, MnistCNN } from "./mnist.js";
export { GPT, type GPTConfig, type GenerateOptions } from "./gpt.js";
