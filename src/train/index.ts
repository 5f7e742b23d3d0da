// Training helpers that sit on top of nn, optim and data.
export { EarlyStopping, type EarlyStoppingOptions, type EarlyStoppingState } from "./early-stopping.js";
