"""Golden values of attention and transformer layers from real PyTorch 1.13: scaled dot-product
attention (torch 1.13 has no F.scaled_dot_product_attention, so its definition from the torch 2
docs, in plain ops), nn.MultiheadAttention, nn.TransformerEncoderLayer and
nn.TransformerDecoderLayer. For each case: the module's state dict (keys verbatim), the inputs,
the outputs, and the gradients of sum_k sum(out_k * R_k) w.r.t. the float inputs and every
parameter. test/nn/transformer-golden.test.ts loads the state dicts into our modules.

usage: /usr/bin/python3 test/reference/transformer.py"""
import math
import sys

import torch
import torch.nn as nn

from golden_io import meta, write
from nn_modules import case, r, randomize

SEED = 0
torch.manual_seed(SEED)
torch.set_num_threads(1)


def sdpa(q, k, v, attn_mask=None, is_causal=False, scale=None):
    """torch 2's F.scaled_dot_product_attention (dropout 0), written out."""
    L, S = q.size(-2), k.size(-2)
    s = 1 / math.sqrt(q.size(-1)) if scale is None else scale
    bias = torch.zeros(L, S)
    if is_causal:
        bias = bias.masked_fill(torch.ones(L, S, dtype=torch.bool).tril(0).logical_not(), float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            bias = bias.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            bias = bias + attn_mask
    return torch.softmax(q @ k.transpose(-2, -1) * s + bias, dim=-1) @ v


class SDPA(nn.Module):
    def __init__(self, **kw):
        super().__init__()
        self.kw = kw

    def forward(self, q, k, v, mask=None):
        return sdpa(q, k, v, attn_mask=mask, **self.kw)


def mask_no_grad(m):
    m.no_grad = True
    return m


def main():
    cases = {}
    cases["sdpa_plain"] = case(SDPA(), [r(2, 3, 5, 4), r(2, 3, 7, 4), r(2, 3, 7, 4)])
    cases["sdpa_causal_scale"] = case(SDPA(is_causal=True, scale=0.3), [r(1, 2, 6, 8), r(1, 2, 6, 8), r(1, 2, 6, 8)])
    keep = torch.rand(5, 7) < 0.7
    keep[:, 0] = True
    cases["sdpa_bool_mask"] = case(SDPA(), [r(2, 5, 3), r(2, 7, 3), r(2, 7, 3), keep])
    cases["sdpa_float_mask_3d"] = case(SDPA(), [r(3, 4, 6), r(3, 9, 6), r(3, 9, 6), mask_no_grad(r(3, 1, 9))])

    mha = randomize(nn.MultiheadAttention(8, 2, batch_first=True))
    cases["mha_self_batch_first"] = case(mha, [r(2, 5, 8)], lambda m, xs: list(m(xs[0], xs[0], xs[0], need_weights=True)))
    mha = randomize(nn.MultiheadAttention(12, 3))
    pad = torch.tensor([[False] * 6 + [True] * 2, [False] * 8])
    cases["mha_cross_masks"] = case(
        mha,
        [r(4, 2, 12), r(8, 2, 12), mask_no_grad(r(4, 8)), pad],
        lambda m, xs: [m(xs[0], xs[1], xs[1], key_padding_mask=xs[3], attn_mask=xs[2], need_weights=False)[0]],
    )
    mha = randomize(nn.MultiheadAttention(6, 3, bias=False))
    cases["mha_separate_qkv_weights_per_head"] = case(
        mha, [r(3, 2, 6), r(5, 2, 6), r(5, 2, 6)], lambda m, xs: list(m(xs[0], xs[1], xs[2], average_attn_weights=False))
    )

    enc1 = randomize(nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0))
    cases["encoder_post_norm_relu"] = case(enc1, [r(5, 2, 8)])
    enc2 = randomize(nn.TransformerEncoderLayer(8, 4, dim_feedforward=12, dropout=0.0, activation="gelu", batch_first=True, norm_first=True))
    causal = torch.ones(6, 6, dtype=torch.bool).triu(1)
    cases["encoder_pre_norm_gelu_causal"] = case(enc2, [r(2, 6, 8), causal], lambda m, xs: m(xs[0], src_mask=xs[1]))
    dec = randomize(nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True))
    tgt_causal = torch.ones(4, 4, dtype=torch.bool).triu(1)
    cases["decoder_post_norm"] = case(dec, [r(2, 4, 8), r(2, 7, 8), tgt_causal], lambda m, xs: m(xs[0], xs[1], tgt_mask=xs[2]))
    write("transformer", {"meta": meta(__file__, SEED), "cases": cases})


if __name__ == "__main__":
    sys.exit(main())
