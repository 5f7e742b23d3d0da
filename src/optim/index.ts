export {
  Optimizer, type ParamGroup, type ParamGroupInput, type ParamsInput, type ParamState,
  type OptimizerStateDict, type OptimizerStateInput,
} from "./optimizer.js";
export { SGD, type SGDOptions } from "./sgd.js";
export { Adam, AdamW, type AdamOptions } from "./adam.js";
export * as lrScheduler from "./lr-scheduler.js";
