"""The PyTorch twin of examples/finetune-bert.ts, steps 2-4: the same Hugging Face folder that
program pretrained and saved (<out>/pretrained: config.json + model.safetensors), the same token
ids and labels of the same train/val/test split (<out>/data.json, written by that program), the
same recipe: BertForSequenceClassification (test/reference/hf_models.py's plain-torch copy of
Hugging Face's, same modules and keys) loaded as from_pretrained does (the encoder's weights, a
new classifier at HF's init), AdamW on every parameter, get_linear_schedule_with_warmup, gradient
clipping at 1, dropout 0.1, batches padded to their longest sequence; then the same classifier
from random init. Prints the same lines. Run examples/finetune-bert.ts first with the same --out.

usage: /usr/bin/python3 examples/pytorch/finetune_bert.py [--out runs/finetune-bert] [--epochs 2] [--lr 2e-4] ..."""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "test", "reference"))
from hf_models import BertForSequenceClassification  # noqa: E402
from safetensors_numpy import read_safetensors  # noqa: E402

p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
for name, default, kind, help_ in [
    ("out", "runs/finetune-bert", str, "the folder examples/finetune-bert.ts wrote (pretrained/, data.json)"),
    ("epochs", 2.0, float, "fine-tuning epochs"),
    ("batch", 32, int, "sequences per step"),
    ("lr", 2e-4, float, "peak learning rate"),
    ("weight-decay", 0.01, float, "AdamW weight decay"),
    ("warmup", 0.1, float, "warmup steps as a fraction of all steps"),
    ("seed", 0, int, "random seed (classifier init, dropout, batches)"),
    ("threads", 1, int, "torch threads"),
]:
    p.add_argument(f"--{name}", type=kind, default=default, help=help_)
p.add_argument("--no-scratch", action="store_true", help="skip the from-random-init baseline")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)

with open(os.path.join(a.out, "data.json"), encoding="utf8") as f:
    data = json.load(f)
folder = os.path.join(a.out, "pretrained")
with open(os.path.join(folder, "config.json"), encoding="utf8") as f:
    config = json.load(f)
config["id2label"] = {"0": "ham", "1": "spam"}
n_train = len(data["train"]["ids"])
steps = math.ceil(a.epochs * math.ceil(n_train / a.batch))
print(f"data: {folder} and {len(data['train']['ids'])}/{len(data['val']['ids'])}/{len(data['test']['ids'])} train/val/test mails from {a.out}/data.json")
print(
    f"fine-tuning: BertForSequenceClassification, all weights, AdamW lr {a.lr} (linear warmup {a.warmup} and decay), "
    f"weight decay {a.weight_decay}, batch {a.batch}, {a.epochs:g} epochs ({steps} steps)"
)


def from_pretrained():
    """from_pretrained(folder, num_labels=2): bare BertModel keys go under bert.; the head is new."""
    model = BertForSequenceClassification(config)
    weights, _ = read_safetensors(os.path.join(folder, "model.safetensors"))
    state = {("" if k.startswith("bert.") else "bert.") + k: torch.from_numpy(np.array(v)) for k, (_, v) in weights.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert sorted(missing) == ["classifier.bias", "classifier.weight"] and not unexpected, (missing, unexpected)
    return model


def padded_batch(split, idx):
    ids = [split["ids"][i] for i in idx]
    L = max(len(s) for s in ids)
    x = torch.full((len(ids), L), data["padId"], dtype=torch.long)
    mask = torch.zeros((len(ids), L), dtype=torch.long)
    for r, s in enumerate(ids):
        x[r, : len(s)] = torch.tensor(s)
        mask[r, : len(s)] = 1
    return x, mask, torch.tensor([split["labels"][i] for i in idx])


def accuracy(model, split):
    model.eval()
    correct = 0
    with torch.no_grad():
        for b in range(0, len(split["ids"]), 64):
            x, mask, y = padded_batch(split, range(b, min(b + 64, len(split["ids"]))))
            logits = model(x, mask, torch.zeros_like(x))[0]
            correct += int((logits.argmax(-1) == y).sum())
    return correct / max(1, len(split["ids"]))


def linear_schedule(step, total, lr):
    warm = math.floor(a.warmup * total)
    return lr * step / warm if step < warm else lr * max(0, total - step) / max(1, total - warm)


def fine_tune(name, model):
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=a.weight_decay)
    g = torch.Generator().manual_seed(a.seed + 2)  # the same batches for every run
    step, epoch, val, seconds = 0, 0, 0.0, 0.0
    while step < steps:
        epoch += 1
        t0 = time.perf_counter()
        perm = torch.randperm(n_train, generator=g).tolist()
        loss_sum, batches = 0.0, 0
        model.train()
        for b in range(0, n_train, a.batch):
            if step >= steps:
                break
            for group in opt.param_groups:
                group["lr"] = linear_schedule(step, steps, a.lr)
            x, mask, y = padded_batch(data["train"], perm[b : b + a.batch])
            loss = model(x, mask, torch.zeros_like(x), y)[1]
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            loss_sum += loss.item()
            batches += 1
            step += 1
        seconds += time.perf_counter() - t0
        val = accuracy(model, data["val"])
        print(f"  {name}, epoch {epoch}: train loss {loss_sum / batches:.4f}, validation accuracy {100 * val:.2f}% ({seconds:.1f} s)", flush=True)
    return val, accuracy(model, data["test"]), seconds, sum(q.numel() for q in params)


runs = [("pretrained", from_pretrained())]
if not a.no_scratch:
    runs.append(("from scratch", BertForSequenceClassification(config)))
results = [(name, *fine_tune(name, model)) for name, model in runs]
for name, val, test, seconds, trainable in results:
    print(f"{name}: test accuracy {100 * test:.2f}% (validation {100 * val:.2f}%), {seconds:.1f} s fine-tuning, {trainable:,} trainable parameters")
