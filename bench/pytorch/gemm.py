"""Matrix products through torch.matmul in real PyTorch, for bench/pytorch.ts: reads a JSON list of
cases [{"label", "form", "M", "N", "K"}] (form nn: A(M,K)·B(K,N); nt: A(M,K)·B(N,K)ᵀ; tn:
A(K,M)ᵀ·B(K,N), transposed operands as views, as autograd passes them) and prints one JSON line
{label/form: {"best": s, "median": s}} (seconds per product).

usage: /usr/bin/python3 bench/pytorch/gemm.py --threads 1 '[{"label": "512³", "form": "nn", "M": 512, "N": 512, "K": 512}]'"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timing  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--budget", type=float, default=0.6, help="seconds per case")
p.add_argument("cases")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)



def timed(fn):
    return timing.timed(fn, a.budget, most=50)


out = {"version": torch.__version__, "threads": a.threads}
with torch.no_grad():
    for c in json.loads(a.cases):
        M, N, K, form = c["M"], c["N"], c["K"], c["form"]
        A = torch.rand(K, M).t() if form == "tn" else torch.rand(M, K)
        B = torch.rand(N, K).t() if form == "nt" else torch.rand(K, N)
        out[f"{c['label']} {form}"] = timed(lambda: torch.matmul(A, B))
print(json.dumps(out))
