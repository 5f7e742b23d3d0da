export { Module, Parameter, zeroGradOf, type StateDict, type StateValue, type LoadResult } from "./module.js";
export { Linear, ReLU, Identity, Flatten, Softmax, LogSoftmax, Sequential } from "./layers.js";
export { CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss, HuberLoss, BCELoss, BCEWithLogitsLoss, KLDivLoss } from "./loss.js";
export { Conv2d, Conv1d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, type Conv2dLayerOptions, type Conv1dLayerOptions } from "./conv.js";
export { Dropout, BatchNorm1d, BatchNorm2d, LayerNorm, RMSNorm, type BatchNormLayerOptions } from "./norm.js";
export { GELU, SiLU, Sigmoid, Tanh, LeakyReLU, ELU, Softplus } from "./activation.js";
export { Embedding } from "./embedding.js";
export { ModuleList, ModuleDict, ParameterList } from "./container.js";
export { GRU, LSTM, type RNNOptions } from "./rnn.js";
export {
  MultiheadAttention,
  TransformerEncoderLayer,
  TransformerDecoderLayer,
  type MultiheadAttentionOptions,
  type MultiheadAttentionForwardOptions,
  type TransformerLayerOptions,
  type TransformerActivation,
  type EncoderLayerForwardOptions,
  type DecoderLayerForwardOptions,
} from "./transformer.js";
export * as functional from "./functional.js";
export * as init from "./init.js";
export * as utils from "./utils.js";
