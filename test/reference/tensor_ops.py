"""Golden values of the general tensor ops from real PyTorch (float32, CPU): for each case the
inputs, the output, and the gradient of sum(out * R) w.r.t. every float input (R a fixed random
tensor of the output's shape). test/ops/golden.test.ts runs the same cases on both backends.

usage: /usr/bin/python3 test/reference/tensor_ops.py"""
import math
import sys

import torch
import torch.nn.functional as F

from golden_io import enc, meta, write

SEED = 0
torch.manual_seed(SEED)
torch.set_num_threads(1)


def r(*shape, lo=-1.5, hi=1.5):
    return (torch.rand(*shape) * (hi - lo) + lo).float()


def pos(*shape):
    return (torch.rand(*shape) * 2 + 0.1).float()


def ints(values):
    return torch.tensor(values, dtype=torch.int64)


# name -> (inputs, fn). Inputs: float tensors get gradients; int64 tensors are indices (int32 in
# the golden file); bool tensors are masks.
CASES = {
    # broadcasting arithmetic
    "add_bcast": ([r(2, 3, 4), r(3, 1)], lambda a, b: a + b),
    "sub_bcast": ([r(1, 4), r(5, 1)], lambda a, b: a - b),
    "mul_bcast": ([r(2, 1, 3), r(4, 3)], lambda a, b: a * b),
    "div_bcast": ([r(3, 4), pos(4)], lambda a, b: a / b),
    "div_scalar": ([r(3, 5)], lambda a: a / 3.0),
    "pow_tensor": ([pos(2, 3), r(3)], lambda a, b: torch.pow(a, b)),
    "maximum_ties": ([torch.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]]), torch.tensor([1.0, 0.0, 3.0])], lambda a, b: torch.maximum(a, b)),
    "minimum_bcast": ([r(2, 4), r(2, 1)], lambda a, b: torch.minimum(a, b)),
    "where_bcast": ([r(2, 3) > 0, r(2, 3), r(3)], lambda c, a, b: torch.where(c, a, b)),
    "masked_fill": ([r(3, 4), r(4) > 0], lambda a, m: a.masked_fill(m, -2.5)),
    # elementwise math
    "exp": ([r(3, 7)], torch.exp),
    "log": ([pos(3, 7)], torch.log),
    "log1p": ([r(3, 7, lo=-0.9, hi=2)], torch.log1p),
    "expm1": ([r(3, 7)], torch.expm1),
    "sqrt": ([pos(3, 7)], torch.sqrt),
    "rsqrt": ([pos(3, 7)], torch.rsqrt),
    "sin": ([r(3, 7)], torch.sin),
    "cos": ([r(3, 7)], torch.cos),
    "tanh": ([r(3, 7, lo=-4, hi=4)], torch.tanh),
    "sigmoid": ([r(3, 7, lo=-6, hi=6)], torch.sigmoid),
    "logsigmoid": ([r(3, 7, lo=-6, hi=6)], F.logsigmoid),
    "gelu": ([r(3, 7, lo=-4, hi=4)], F.gelu),
    "gelu_tanh": ([r(3, 7, lo=-4, hi=4)], lambda x: F.gelu(x, approximate="tanh")),
    "silu": ([r(3, 7, lo=-4, hi=4)], F.silu),
    "softplus": ([r(3, 7, lo=-4, hi=4)], lambda x: F.softplus(x, beta=2, threshold=5)),
    "leaky_relu": ([r(3, 7)], lambda x: F.leaky_relu(x, 0.1)),
    "elu": ([r(3, 7)], lambda x: F.elu(x, 1.5)),
    "clamp": ([r(3, 7)], lambda x: torch.clamp(x, -0.5, 0.7)),
    "abs": ([r(3, 7)], torch.abs),
    "pow3": ([r(3, 7)], lambda x: x ** 3),
    "pow_half": ([pos(3, 7)], lambda x: x ** 0.5),
    "pow_2_7": ([pos(3, 7)], lambda x: x ** 2.7),
    "square": ([r(3, 7)], torch.square),
    "reciprocal": ([pos(3, 7)], torch.reciprocal),
    # reductions
    "sum_dim1": ([r(2, 3, 4)], lambda x: x.sum(1)),
    "sum_dims02_keepdim": ([r(2, 3, 4)], lambda x: x.sum((0, 2), keepdim=True)),
    "mean_last": ([r(2, 3, 5)], lambda x: x.mean(-1)),
    "mean_all": ([r(4, 5)], lambda x: x.mean()),
    "prod_dim1": ([r(3, 4)], lambda x: x.prod(1)),
    "max_dim1": ([r(3, 5, 2)], lambda x: x.max(1).values),
    "min_dim0_keepdim": ([r(4, 3)], lambda x: x.min(0, keepdim=True).values),
    "amax_all": ([r(4, 5)], lambda x: x.max()),
    "var_dim1": ([r(3, 6)], lambda x: x.var(1)),
    "var_population": ([r(3, 6)], lambda x: x.var(1, unbiased=False)),
    "std_dims02": ([r(2, 3, 4)], lambda x: x.std((0, 2))),
    "logsumexp_dim1": ([r(3, 5, 2)], lambda x: torch.logsumexp(x, 1)),
    "norm2": ([r(3, 4)], lambda x: x.norm()),
    "norm1_dim1": ([r(3, 4)], lambda x: x.norm(1, dim=1)),
    "norm3_dim0": ([r(3, 4)], lambda x: x.norm(3, dim=0)),
    "cumsum_dim1": ([r(2, 5, 3)], lambda x: x.cumsum(1)),
    "softmax_dim0": ([r(3, 4, 2)], lambda x: F.softmax(x, 0)),
    "softmax_dim1": ([r(3, 4, 2)], lambda x: F.softmax(x, 1)),
    "log_softmax_last": ([r(3, 4, 5)], lambda x: F.log_softmax(x, -1)),
    # matmul
    "matmul_dot": ([r(5), r(5)], torch.matmul),
    "matmul_vec_mat": ([r(4), r(4, 3)], torch.matmul),
    "matmul_mat_vec": ([r(3, 4), r(4)], torch.matmul),
    "matmul_batched": ([r(2, 3, 4), r(4, 5)], torch.matmul),
    "matmul_broadcast": ([r(2, 1, 3, 4), r(5, 4, 6)], torch.matmul),
    "matmul_transposed": ([r(2, 4, 3), r(2, 5, 4)], lambda a, b: a.mT @ b.mT),
    "bmm": ([r(3, 2, 4), r(3, 4, 5)], torch.bmm),
    # layout and indexing
    "transpose_contiguous": ([r(2, 3, 4)], lambda x: x.transpose(0, 2).contiguous() * torch.arange(24.0).reshape(4, 3, 2)),
    "permute_mul": ([r(2, 3, 4)], lambda x: x.permute(2, 0, 1) * torch.arange(24.0).reshape(4, 2, 3)),
    "expand_mul": ([r(3, 1)], lambda x: x.expand(2, 3, 4) * torch.arange(24.0).reshape(2, 3, 4)),
    "narrow": ([r(4, 5)], lambda x: x.narrow(1, 1, 3)),
    "select": ([r(3, 4, 5)], lambda x: x.select(1, 2)),
    "slice_step": ([r(4, 9)], lambda x: x[:, 1:8:3]),
    "cat_dim1": ([r(2, 3), r(2, 1), r(2, 4)], lambda a, b, c: torch.cat([a, b, c], 1)),
    "stack_dim1": ([r(2, 3), r(2, 3)], lambda a, b: torch.stack([a, b], 1)),
    "split_second": ([r(7, 2)], lambda x: torch.split(x, 3)[1]),
    "chunk_last": ([r(2, 7)], lambda x: torch.chunk(x, 3, 1)[2]),
    "repeat": ([r(2, 3)], lambda x: x.repeat(2, 1, 2)),
    "tril": ([r(3, 4)], lambda x: torch.tril(x, 1)),
    "triu": ([r(2, 3, 3)], lambda x: torch.triu(x, -1)),
    "index_select": ([r(4, 3), ints([2, 0, 2, 3])], lambda x, i: torch.index_select(x, 0, i)),
    "gather": ([r(3, 4), ints([[0, 3], [1, 1], [2, 0]])], lambda x, i: torch.gather(x, 1, i)),
    "scatter_add": ([r(3, 5), ints([[0, 1, 2, 0, 1], [2, 2, 0, 1, 0]]), r(2, 5)], lambda x, i, s: x.scatter_add(0, i, s)),
    "adv_index_cols": ([r(2, 3, 4)], lambda x: x[:, [2, 0]]),
    "adv_index_negative": ([r(5, 3)], lambda x: x[torch.tensor([-1, 0, -2])]),
    "adv_index_mask": ([r(3, 4)], lambda x: x[x > 0.2]),
    "adv_index_two": ([r(4, 5)], lambda x: x[torch.tensor([0, 3, 1]), torch.tensor([4, 0, 2])]),
}


def main():
    out = {"meta": meta(__file__, SEED), "cases": {}}
    for name, (inputs, fn) in CASES.items():
        xs = []
        for t in inputs:
            if t.dtype.is_floating_point:
                xs.append(t.clone().requires_grad_(True))
            else:
                xs.append(t.clone())
        y = fn(*xs)
        R = r(*y.shape) if y.dim() > 0 else r(1).reshape(())
        (y * R).sum().backward()
        grads = [enc(x.grad) if x.dtype.is_floating_point and x.grad is not None else None for x in xs]
        out["cases"][name] = {
            "inputs": [enc(t) for t in inputs],
            "output": enc(y),
            "R": enc(R),
            "grads": grads,
        }
    write("tensor_ops", out)


if __name__ == "__main__":
    sys.exit(main())
