// Differentiable operations; each file keeps an op's forward, backward and checks together.
export { reshape, flatten, clone, fillInPlace, copyInPlace } from "./shape.js";
export { linear, matmul } from "./matmul.js";
export { add, sub, mul, div, relu } from "./elementwise.js";
export { sum, mean, argmax } from "./reduce.js";
export { crossEntropy, nllLoss, mseLoss, softmax, logSoftmax, type Reduction } from "./loss.js";
export { conv2d, maxPool2d, avgPool2d, type Conv2dOptions, type Pool2dOptions, type Pair } from "./conv.js";
export { batchNorm, dropout, type BatchNormOptions } from "./norm.js";
