// End to end on real MNIST slices: the seed MLP with Adam learns digits.
import { describe, expect, it } from "vitest";
import { DataLoader, correctCount, data, datasets, manualSeed, nn, noGrad, optim, setBackend, transforms } from "../src/index.js";

describe("seed MLP on real MNIST", () => {
  it("Adam lr=1e-3, batch 100, 200 steps on 20,000 training images beats 85% on 1,000 test images", () => {
    setBackend("wasm");
    manualSeed(0);
    const transform = new transforms.Compose([new transforms.ToTensor(), new transforms.Normalize([0.5], [0.5])]);
    const train = new datasets.MNIST({ train: true, transform });
    const test = new datasets.MNIST({ train: false, transform });
    const slice = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
    const loader = new DataLoader(new data.Subset(train, slice(20000)), { batchSize: 100, shuffle: true });
    const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 64), new nn.ReLU(), new nn.Linear(64, 10));
    const criterion = new nn.CrossEntropyLoss();
    const optimizer = new optim.Adam(model.parameters(), { lr: 1e-3 });
    const losses: number[] = [];
    let steps = 0;
    for (const [images, labels] of loader) {
      optimizer.zeroGrad();
      const loss = criterion(model(images.view(images.shape[0], -1)), labels);
      loss.backward();
      optimizer.step();
      losses.push(loss.item());
      steps++;
    }
    expect(steps).toBe(200);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(losses.slice(-20))).toBeLessThan(mean(losses.slice(0, 20)) / 3);
    const [x, y] = test.getBatch(slice(1000));
    const correct = noGrad(() => correctCount(model(x.view(1000, -1)), y));
    expect(correct / 1000).toBeGreaterThan(0.85);
  });
});
