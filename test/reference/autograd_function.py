"""Golden values for autograd.Function from real PyTorch 1.13: the LegendrePolynomial3 Function of
"Learning PyTorch with Examples" (P3(x) = ½(5x³ − 3x), backward 1.5(5x² − 1)·g) in a small model
a + b·P3(c + d·x), its output and the gradients of every coefficient and of x.

usage: /usr/bin/python3 test/reference/autograd_function.py"""
import sys

import torch

from golden_io import enc, meta, write

SEED = 0
torch.manual_seed(SEED)


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


def main():
    x = torch.linspace(-1, 1, 17).requires_grad_(True)
    a, b, c, d = (torch.randn((), requires_grad=True) for _ in range(4))
    y = a + b * LegendrePolynomial3.apply(c + d * x)
    R = torch.rand(17)
    (y * R).sum().backward()
    write("autograd_function", {
        "meta": meta(__file__, SEED),
        "x": enc(x), "coefficients": [enc(t) for t in (a, b, c, d)], "output": enc(y), "R": enc(R),
        "gradX": enc(x.grad), "gradCoefficients": [enc(t.grad) for t in (a, b, c, d)],
    })


if __name__ == "__main__":
    sys.exit(main())
