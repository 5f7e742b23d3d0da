"""Golden values of the losses from real PyTorch 1.13: inputs, targets, the loss (reduced or per
element) and the gradient of Σ loss · R w.r.t. the input, for every option combination
test/nn/losses.test.ts checks.

usage: /usr/bin/python3 test/reference/losses.py"""
import sys

import torch
import torch.nn.functional as F

from golden_io import enc, meta, write

SEED = 0
torch.manual_seed(SEED)
torch.set_num_threads(1)


def r(*shape, lo=-2.0, hi=2.0):
    return (torch.rand(*shape) * (hi - lo) + lo).float()


def labels(n, c, ignore=()):
    t = torch.randint(0, c, n if isinstance(n, tuple) else (n,))
    flat = t.view(-1)
    for i in ignore:
        flat[i] = -100
    return t


W5 = (torch.rand(5) + 0.5).float()

CASES = {
    "ce_mean": (r(6, 5), labels(6, 5), lambda x, t: F.cross_entropy(x, t)),
    "ce_sum": (r(6, 5), labels(6, 5), lambda x, t: F.cross_entropy(x, t, reduction="sum")),
    "ce_none": (r(6, 5), labels(6, 5), lambda x, t: F.cross_entropy(x, t, reduction="none")),
    "ce_ignore": (r(7, 5), labels(7, 5, ignore=(1, 4)), lambda x, t: F.cross_entropy(x, t)),
    "ce_all_ignored": (r(3, 5), labels(3, 5, ignore=(0, 1, 2)), lambda x, t: F.cross_entropy(x, t)),
    "ce_ignore_index_3": (r(6, 5), torch.tensor([3, 0, 3, 1, 4, 2]), lambda x, t: F.cross_entropy(x, t, ignore_index=3)),
    "ce_weight": (r(6, 5), labels(6, 5), lambda x, t: F.cross_entropy(x, t, weight=W5)),
    "ce_smoothing": (r(6, 5), labels(6, 5), lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1)),
    "ce_weight_smoothing_ignore": (r(8, 5), labels(8, 5, ignore=(2,)), lambda x, t: F.cross_entropy(x, t, weight=W5, label_smoothing=0.2)),
    "ce_weight_smoothing_none": (r(8, 5), labels(8, 5, ignore=(5,)), lambda x, t: F.cross_entropy(x, t, weight=W5, label_smoothing=0.2, reduction="none")),
    "ce_nd": (r(2, 5, 3, 4), labels((2, 3, 4), 5, ignore=(0, 7)), lambda x, t: F.cross_entropy(x, t)),
    "ce_nd_none": (r(2, 5, 3), labels((2, 3), 5), lambda x, t: F.cross_entropy(x, t, reduction="none")),
    "ce_unbatched": (r(5), torch.tensor(2), lambda x, t: F.cross_entropy(x, t)),
    "ce_probs": (r(4, 5), torch.softmax(r(4, 5), 1), lambda x, t: F.cross_entropy(x, t)),
    "ce_probs_weight_smoothing_sum": (r(4, 5), torch.softmax(r(4, 5), 1), lambda x, t: F.cross_entropy(x, t, weight=W5, label_smoothing=0.3, reduction="sum")),
    "nll_weight_ignore": (torch.log_softmax(r(6, 5), 1), labels(6, 5, ignore=(3,)), lambda x, t: F.nll_loss(x, t, weight=W5)),
    "nll_nd_sum": (torch.log_softmax(r(2, 5, 4), 1), labels((2, 4), 5), lambda x, t: F.nll_loss(x, t, reduction="sum")),
    "mse_mean": (r(3, 4), r(3, 4), lambda x, t: F.mse_loss(x, t)),
    "l1_mean": (r(3, 4), r(3, 4), lambda x, t: F.l1_loss(x, t)),
    "smooth_l1_beta": (r(3, 5), r(3, 5), lambda x, t: F.smooth_l1_loss(x, t, beta=0.5)),
    "smooth_l1_beta0_none": (r(3, 5), r(3, 5), lambda x, t: F.smooth_l1_loss(x, t, beta=0.0, reduction="none")),
    "huber_delta": (r(3, 5), r(3, 5), lambda x, t: F.huber_loss(x, t, delta=0.7)),
    "bce_mean": (torch.rand(4, 3) * 0.98 + 0.01, torch.rand(4, 3), lambda x, t: F.binary_cross_entropy(x, t)),
    "bce_weight_none": (torch.rand(4, 3) * 0.98 + 0.01, (torch.rand(4, 3) > 0.5).float(), lambda x, t: F.binary_cross_entropy(x, t, weight=torch.tensor([0.5, 1.0, 2.0]), reduction="none")),
    "bce_logits": (r(4, 3, lo=-8, hi=8), torch.rand(4, 3), lambda x, t: F.binary_cross_entropy_with_logits(x, t)),
    "bce_logits_pos_weight": (r(4, 3, lo=-8, hi=8), (torch.rand(4, 3) > 0.5).float(), lambda x, t: F.binary_cross_entropy_with_logits(x, t, weight=torch.tensor([[1.0], [2.0], [0.5], [1.5]]), pos_weight=torch.tensor([1.0, 3.0, 0.5]), reduction="sum")),
    "kl_batchmean": (torch.log_softmax(r(3, 4), 1), torch.softmax(r(3, 4), 1), lambda x, t: F.kl_div(x, t, reduction="batchmean")),
    "kl_zero_target": (torch.log_softmax(r(2, 4), 1), torch.tensor([[0.5, 0.5, 0.0, 0.0], [0.1, 0.0, 0.2, 0.7]]), lambda x, t: F.kl_div(x, t, reduction="sum")),
    "kl_log_target_none": (torch.log_softmax(r(2, 4), 1), torch.log_softmax(r(2, 4), 1), lambda x, t: F.kl_div(x, t, reduction="none", log_target=True)),
}


def main():
    out = {"meta": meta(__file__, SEED), "weight5": enc(W5), "cases": {}}
    for name, (x, t, fn) in CASES.items():
        xi = x.clone().float().requires_grad_(True)
        y = fn(xi, t)
        R = r(*y.shape) if y.dim() > 0 else torch.tensor(1.0)
        (y * R).sum().backward()
        out["cases"][name] = {"input": enc(x), "target": enc(t), "output": enc(y), "R": enc(R), "grad": enc(xi.grad)}
    write("losses", out)


if __name__ == "__main__":
    sys.exit(main())
