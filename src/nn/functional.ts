// nn.functional: the stateless forms of the layers and losses (torch.nn.functional).
export {
  linear, relu, softmax, logSoftmax, flatten, crossEntropy, nllLoss, mseLoss, type Reduction,
  conv2d, maxPool2d, avgPool2d, batchNorm, dropout,
} from "../ops/index.js";
