"""Golden values of a 2-layer GPT from real PyTorch 1.13 (llm.c's test_gpt2 idea): the state dict
(nanoGPT key names, lm_head tied to wte), the batch, the logits, the loss, every parameter's
gradient, then three AdamW steps with nanoGPT's parameter groups (the loss before each step and
the parameters after the last). The model is examples/pytorch/gpt_model.py.
test/models/gpt-golden.test.ts loads the state dict into models.GPT.

usage: /usr/bin/python3 test/reference/gpt.py"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "pytorch"))
from gpt_model import GPT, GPTConfig  # noqa: E402
from golden_io import enc, meta, write  # noqa: E402

SEED = 0
torch.manual_seed(SEED)
torch.set_num_threads(1)


def main():
    cfg = GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8)
    model = GPT(cfg)
    with torch.no_grad():  # values of order one everywhere, so mistakes show
        for p in model.parameters():
            p.copy_(torch.rand(p.shape) * 1.2 - 0.6)
    idx = torch.randint(0, 11, (3, 7))
    targets = torch.randint(0, 11, (3, 7))
    targets[1, 2] = -1  # ignored position
    state = {k: enc(v) for k, v in model.state_dict().items()}
    logits, loss = model(idx, targets)
    loss.backward()
    grads = {k: enc(p.grad) for k, p in model.named_parameters()}
    opt = model.optimizer(lr=1e-2, weight_decay=0.1)
    model.zero_grad()
    losses = []
    for _ in range(3):
        _, l = model(idx, targets)
        losses.append(float(l))
        opt.zero_grad()
        l.backward()
        opt.step()
    write(
        "gpt",
        {
            "meta": meta(__file__, SEED, config={"vocabSize": 11, "blockSize": 8, "nLayer": 2, "nHead": 2, "nEmbd": 8}),
            "state": state,
            "idx": enc(idx),
            "targets": enc(targets),
            "logits": enc(logits),
            "loss": float(loss),
            "grads": grads,
            "adamw": {"lr": 1e-2, "weightDecay": 0.1, "betas": [0.9, 0.95], "losses": losses, "params": {k: enc(p) for k, p in model.named_parameters()}},
        },
    )


if __name__ == "__main__":
    sys.exit(main())
