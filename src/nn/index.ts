export { Module, Parameter, zeroGradOf, type StateDict, type StateValue, type LoadResult } from "./module.js";
export { Linear, ReLU, Identity, Flatten, Softmax, LogSoftmax, Sequential } from "./layers.js";
export { CrossEntropyLoss, NLLLoss, MSELoss } from "./loss.js";
export { Conv2d, MaxPool2d, AvgPool2d, type Conv2dLayerOptions } from "./conv.js";
export { Dropout, BatchNorm1d, BatchNorm2d, type BatchNormLayerOptions } from "./norm.js";
export * as functional from "./functional.js";
export * as init from "./init.js";
export * as utils from "./utils.js";
