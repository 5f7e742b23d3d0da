// Training helpers that sit on top of nn, optim and data.
export { EarlyStopping, type EarlyStoppingOptions, type EarlyStoppingState } from "./early-stopping.js";
export { trainGpt, estimateLoss, cosineWarmupLr, type TrainGptOptions, type TrainGptResult } from "./lm.js";
