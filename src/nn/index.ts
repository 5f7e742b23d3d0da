export { Module, Parameter, zeroGradOf, type StateDict, type StateValue, type LoadResult } from "./module.js";
export { Linear, ReLU, Identity, Flatten, Softmax, LogSoftmax, Sequential } from "./layers.js";
export { CrossEntropyLoss, NLLLoss, MSELoss } from "./loss.js";
export * as functional from "./functional.js";
export * as init from "./init.js";
