export { Dataset, TensorDataset, Subset, randomSplit, gatherRows, type BatchOf } from "./dataset.js";
export { DataLoader, defaultCollate, type DataLoaderOptions, type DataLoaderState } from "./loader.js";
export { parseIdx, parseIdxFile, type IdxArray, type ParseIdxFileOptions } from "./idx.js";
export * as transforms from "./transforms.js";
export type { NDArray, Transform } from "./transforms.js";
import { MNIST, type MNISTOptions } from "./mnist.js";
/** Ready-made datasets (torchvision.datasets). */
export const datasets = { MNIST };
export type { MNISTOptions };
export { MNIST };
export { type Tokenizer, CharTokenizer } from "./tokenizer.js";
export { TokenWindows, randomWindows, splitTokens } from "./text.js";
