"""Training and generation speed of the bench GPT in real PyTorch (the model of
examples/pytorch/gpt_model.py, the same config and batch shapes as bench/gpt.ts). Prints one JSON
line: train tokens/s (forward + backward + AdamW on fixed random batches) and generation tokens/s
(nanoGPT's generate: the cropped context through forward for every new token, greedy).

usage: /usr/bin/python3 bench/pytorch/gpt.py --threads 1 --layers 4 --heads 4 --embd 128 --block 128 --vocab 96 --batch 16 --steps 20"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "pytorch"))
from gpt_model import GPT, GPTConfig  # noqa: E402

p = argparse.ArgumentParser()
for name, default in [("threads", 1), ("layers", 4), ("heads", 4), ("embd", 128), ("block", 128), ("vocab", 96), ("batch", 16), ("steps", 20), ("gen", 100)]:
    p.add_argument(f"--{name}", type=int, default=default)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
model = GPT(GPTConfig(vocab_size=a.vocab, block_size=a.block, n_layer=a.layers, n_head=a.heads, n_embd=a.embd))
opt = model.optimizer(lr=1e-3, weight_decay=0.1)
x = torch.randint(0, a.vocab, (a.batch, a.block))
y = torch.randint(0, a.vocab, (a.batch, a.block))


def step():
    _, loss = model(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


for _ in range(3):
    step()
# The median step, as bench/gpt.ts takes it: the machine is shared, a slow spell would move a mean.
times = []
for _ in range(a.steps):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
train_s = statistics.median(times)

model.eval()
idx = torch.zeros((1, 1), dtype=torch.long)
with torch.no_grad():
    t0 = time.perf_counter()
    for _ in range(a.gen):
        logits, _ = model(idx[:, -a.block:])
        idx = torch.cat([idx, logits[:, -1, :].argmax(-1, keepdim=True)], dim=1)
    gen_s = time.perf_counter() - t0
print(json.dumps({"version": torch.__version__, "threads": a.threads, "trainTokensPerSec": a.batch * a.block / train_s, "stepSeconds": train_s, "genTokensPerSec": a.gen / gen_s}))
