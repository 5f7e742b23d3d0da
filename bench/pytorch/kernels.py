"""The tensor-op rows of bench/kernels.ts timed in real PyTorch on one thread: prints one JSON
object {op: {"best": s, "median": s}} (seconds per call). Run by bench/kernels.ts in the same run
as the wasm and js figures; needs Debian's python3-torch (apt-get install -y python3-torch)."""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timing  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(0)
BUDGET = float(sys.argv[1]) if len(sys.argv) > 1 else 0.8


def timed(fn):
    return timing.timed(fn, BUDGET)


T, D = 512, 768
a, b = torch.rand(8, 128, 64) * 2 - 1, torch.rand(8, 64, 128) * 2 - 1
out = {"bmm 8×128×64·64×128": timed(lambda: torch.matmul(a, b))}
with torch.no_grad():
    for B in (64, 8):
        x = torch.rand(B, T, D) * 2 - 1
        h1, h2 = torch.rand(B, T, D // 2), torch.rand(B, T, D // 2)
        w, bias = torch.rand(D), torch.rand(D)
        shape = f"[{B},{T},{D}]"
        out[f"softmax(-1) {shape}"] = timed(lambda: torch.softmax(x, -1))
        out[f"layerNorm(768) {shape}"] = timed(lambda: F.layer_norm(x, (D,), w, bias))
        out[f"gelu (erf) {shape}"] = timed(lambda: F.gelu(x))
        out[f"cat(-1) of two halves {shape}"] = timed(lambda: torch.cat([h1, h2], -1))
        out[f"permute(0,2,1).contiguous() {shape}"] = timed(lambda: x.permute(0, 2, 1).contiguous())
out["torch"] = torch.__version__
print(json.dumps(out))
