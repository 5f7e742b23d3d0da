// Differentiable operations; each file keeps an op's forward, backward and checks together, and
// has the same name as its kernel file in assembly/ and src/backend/js/.
export {
  reshape, view, flatten, unflatten, clone, contiguous, transpose, permute, movedim, unsqueeze, squeeze,
  expand, narrow, select, slice, split, chunk, cat, stack, repeat, tril, triu, to, fillInPlace, copyInPlace,
} from "./layout.js";
export { normDim } from "../layout.js";
export { index, indexSelect, gather, scatterAdd, embedding, type IndexItem } from "./indexing.js";
export { linear, matmul, bmm } from "./matmul.js";
export {
  add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge, logicalAnd, logicalOr, logicalXor,
  logicalNot, where, maskedFill,
} from "./elementwise.js";
export {
  neg, abs, exp, expm1, log, log1p, sqrt, rsqrt, sin, cos, tanh, sigmoid, logSigmoid, silu, square, reciprocal,
  sign, floor, ceil, round, trunc, gelu, softplus, leakyRelu, elu, clamp, relu, type GeluOptions,
} from "./math.js";
export {
  sum, mean, prod, amax, amin, maxDim, minDim, argmax, argmin, variance, std, logsumexp, norm, cumsum,
  type NormOrder, type VarOptions,
} from "./reduce.js";
export { softmax, logSoftmax } from "./softmax.js";
export {
  crossEntropy, nllLoss, mseLoss, l1Loss, smoothL1Loss, huberLoss, binaryCrossEntropy, binaryCrossEntropyWithLogits, klDiv,
  type Reduction, type CrossEntropyOptions, type NLLLossOptions, type BCEOptions, type BCEWithLogitsOptions, type KLDivOptions,
  type ReductionOptions,
} from "./loss.js";
export { conv2d, conv1d, maxPool2d, avgPool2d, adaptiveAvgPool2d, type Conv2dOptions, type Pool2dOptions, type Pair } from "./conv.js";
export { batchNorm, dropout, layerNorm, rmsNorm, type BatchNormOptions } from "./norm.js";
