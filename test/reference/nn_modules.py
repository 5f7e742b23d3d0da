"""Golden values of nn modules from real PyTorch 1.13: for each case the module's state dict
(keys verbatim), the inputs, the outputs, and the gradients of Σ_k sum(out_k · R_k) w.r.t. the
float inputs and every parameter. test/nn/golden.test.ts loads the state dicts into our modules.

usage: /usr/bin/python3 test/reference/nn_modules.py"""
import sys

import torch
import torch.nn as nn

from golden_io import enc, meta, write

SEED = 0
torch.manual_seed(SEED)
torch.set_num_threads(1)


def r(*shape):
    return (torch.rand(*shape) * 3 - 1.5).float()


class RMSNormRef(nn.Module):
    """torch.nn.RMSNorm of PyTorch >= 2.4 (not in 1.13): x · rsqrt(mean(x²) + eps) · weight."""

    def __init__(self, shape, eps=None):
        super().__init__()
        self.shape = tuple(shape)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(self.shape))

    def forward(self, x):
        eps = self.eps if self.eps is not None else torch.finfo(x.dtype).eps
        dims = tuple(range(-len(self.shape), 0))
        return x * torch.rsqrt(x.pow(2).mean(dims, keepdim=True) + eps) * self.weight


def randomize(m):
    """Non-trivial parameters (init ones/zeros would hide mistakes)."""
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(r(*p.shape))
    return m


def case(module, inputs, call=None):
    call = call or (lambda m, xs: m(*xs))
    # float inputs get gradients unless marked no_grad (e.g. additive attention masks)
    xs = [x.clone().requires_grad_(x.dtype.is_floating_point and not getattr(x, "no_grad", False)) for x in inputs]
    outs = call(module, xs)
    if isinstance(outs, torch.Tensor):
        outs = [outs]
    Rs = [r(*o.shape) for o in outs]
    sum((o * R).sum() for o, R in zip(outs, Rs)).backward()
    return {
        "state": {k: enc(v) for k, v in module.state_dict().items()},
        "inputs": [enc(x) for x in inputs],
        "outputs": [enc(o) for o in outs],
        "R": [enc(R) for R in Rs],
        "inputGrads": [enc(x.grad) if x.grad is not None else None for x in xs],
        "paramGrads": {k: enc(p.grad) for k, p in module.named_parameters() if p.grad is not None},
    }


def lstm_call(m, xs):
    out, (h, c) = m(xs[0], (xs[1], xs[2]))
    return [out, h, c]


def gru_call(m, xs):
    out, h = m(xs[0], xs[1])
    return [out, h]


def main():
    cases = {}
    cases["embedding_padding"] = case(nn.Embedding(10, 4, padding_idx=2), [torch.tensor([[1, 2, 9, 2, 0], [3, 3, 7, 1, 2], [0, 0, 5, 6, 4]])])
    cases["layer_norm_2d_affine"] = case(randomize(nn.LayerNorm([4, 5])), [r(2, 3, 4, 5)])
    cases["layer_norm_no_affine"] = case(nn.LayerNorm(6, elementwise_affine=False), [r(5, 6) * 4 + 2])
    cases["rms_norm"] = case(randomize(RMSNormRef([7])), [r(3, 2, 7)])
    cases["rms_norm_eps"] = case(randomize(RMSNormRef([3, 4], eps=1e-3)), [r(2, 3, 4) * 0.1])
    cases["gelu_tanh_module"] = case(nn.GELU(approximate="tanh"), [r(4, 6)])
    cases["leaky_relu_module"] = case(nn.LeakyReLU(0.2), [r(4, 6)])
    cases["conv1d_grouped"] = case(randomize(nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2)), [r(2, 4, 9)])
    cases["conv2d_grouped"] = case(randomize(nn.Conv2d(4, 8, 3, padding=1, groups=2)), [r(2, 4, 5, 6)])
    cases["conv2d_depthwise"] = case(randomize(nn.Conv2d(4, 4, 3, stride=2, groups=4, bias=False)), [r(1, 4, 7, 7)])
    cases["adaptive_avg_pool2d"] = case(nn.AdaptiveAvgPool2d((3, 4)), [r(2, 3, 7, 9)])
    cases["gru_2layers"] = case(nn.GRU(5, 6, num_layers=2), [r(4, 3, 5), r(2, 3, 6)], gru_call)
    cases["lstm_2layers_batch_first"] = case(nn.LSTM(5, 6, num_layers=2, batch_first=True), [r(3, 4, 5), r(2, 3, 6), r(2, 3, 6)], lstm_call)
    cases["lstm_unbatched_no_bias"] = case(nn.LSTM(3, 4, bias=False), [r(5, 3), r(1, 4), r(1, 4)], lstm_call)
    write("nn_modules", {"meta": meta(__file__, SEED), "cases": cases})


if __name__ == "__main__":
    sys.exit(main())
