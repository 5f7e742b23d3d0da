// nn.functional: the stateless forms of the layers and losses (torch.nn.functional).
export {
  linear, relu, softmax, logSoftmax, flatten, crossEntropy, nllLoss, mseLoss, type Reduction,
} from "../ops/index.js";
