// Ready-made MNIST models, shared by the examples, the CLI and the browser playground.
import type { Tensor } from "../tensor.js";
import * as nn from "../nn/index.js";
import { checkArgCount } from "../check.js";

/** The seed MLP of the PyTorch tutorial: 784→128→ReLU→64→ReLU→10 (input (N, 784) or (N, 1, 28, 28)). */
export class MnistMLP extends nn.Module {
  fc1 = new nn.Linear(784, 128);
  fc2 = new nn.Linear(128, 64);
  fc3 = new nn.Linear(64, 10);

  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    x = x.view(x.shape[0], -1);
    return this.fc3(this.fc2(this.fc1(x).relu()).relu());
  }
}

/**
 * A small CNN that passes 99.2% with augmentation: two conv blocks (3×3 conv → batch norm →
 * ReLU → 2×2 max pool; the convs have no bias, batch norm supplies it), dropout, a hidden layer.
 */
export class MnistCNN extends nn.Module {
  conv1 = new nn.Conv2d(1, 32, 3, { padding: 1, bias: false });
  bn1 = new nn.BatchNorm2d(32);
  conv2 = new nn.Conv2d(32, 64, 3, { padding: 1, bias: false });
  bn2 = new nn.BatchNorm2d(64);
  pool = new nn.MaxPool2d(2);
  dropout1 = new nn.Dropout(0.25);
  fc1 = new nn.Linear(64 * 7 * 7, 128);
  dropout2 = new nn.Dropout(0.5);
  fc2 = new nn.Linear(128, 10);

  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    if (x.ndim === 2) x = x.view(x.shape[0], 1, 28, 28);
    x = this.pool(this.bn1(this.conv1(x)).relu()); // 32 × 14 × 14
    x = this.pool(this.bn2(this.conv2(x)).relu()); // 64 × 7 × 7
    x = this.dropout1(x).flatten(1);
    x = this.dropout2(this.fc1(x).relu());
    return this.fc2(x);
  }
}

/**
 * The CNN of `npm run mnist:speedrun` (215,194 parameters): conv 5×5·24 → ReLU → 2×2 max pool →
 * conv 3×3·32 → ReLU → pool → 256 → ReLU → 10, no padding, no batch norm. With Adam and a one-cycle
 * schedule (max lr 0.005, batch 128, two epochs) it reaches 99.2% test accuracy.
 */
export class MnistSpeedrunCNN extends nn.Module {
  conv1 = new nn.Conv2d(1, 24, 5); // 28×28 → 24×24
  conv2 = new nn.Conv2d(24, 32, 3); // 12×12 → 10×10
  pool = new nn.MaxPool2d(2);
  fc1 = new nn.Linear(32 * 5 * 5, 256);
  fc2 = new nn.Linear(256, 10);

  forward(x: Tensor): Tensor {
    checkArgCount("forward", arguments, 1);
    if (x.ndim === 2) x = x.view(x.shape[0], 1, 28, 28);
    x = this.pool(this.conv1(x).relu()); // 24 × 12 × 12
    x = this.pool(this.conv2(x).relu()); // 32 × 5 × 5
    return this.fc2(this.fc1(x.flatten(1)).relu());
  }
}
