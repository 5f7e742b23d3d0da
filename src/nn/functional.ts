// nn.functional: the stateless forms of the layers and losses (torch.nn.functional).
export {
  linear, relu, softmax, logSoftmax, flatten, crossEntropy, nllLoss, mseLoss, type Reduction,
  conv2d, conv1d, maxPool2d, avgPool2d, adaptiveAvgPool2d, batchNorm, dropout, layerNorm, rmsNorm, embedding,
  gelu, silu, sigmoid, tanh, leakyRelu, elu, softplus, logSigmoid,
  l1Loss, smoothL1Loss, huberLoss, binaryCrossEntropy, binaryCrossEntropyWithLogits, klDiv,
} from "../ops/index.js";
