"""Shared by the golden-file generators in test/reference/: run with Debian's /usr/bin/python3
(python3-torch 1.13, python3-numpy). Each generator writes test/reference/golden/<name>.json with
a `meta` header naming the script, library versions and seed, and tensors as
{"shape": [...], "data": [...]} (float32 values written exactly, as float64 decimals)."""
import json
import os
import platform
import sys

import numpy as np

try:
    import torch
except ImportError:  # numpy-only generators still run
    torch = None

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")


def meta(script, seed, **extra):
    m = {
        "script": "test/reference/" + os.path.basename(script),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "seed": seed,
    }
    if torch is not None:
        m["torch"] = torch.__version__
    m.update(extra)
    return m


def enc(x):
    """A tensor/array as {"shape", "dtype", "data"} (flat, row-major)."""
    if torch is not None and isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    a = np.asarray(x)
    if a.dtype == np.bool_:
        dtype, data = "bool", [bool(v) for v in a.reshape(-1)]
    elif np.issubdtype(a.dtype, np.integer):
        dtype, data = "int32", [int(v) for v in a.reshape(-1)]
    else:
        dtype, data = "float32", [float(v) for v in a.astype(np.float32).reshape(-1)]
    return {"shape": list(a.shape), "dtype": dtype, "data": data}


def write(name, payload):
    os.makedirs(GOLDEN, exist_ok=True)
    path = os.path.join(GOLDEN, name + ".json")
    with open(path, "w") as f:
        json.dump(payload, f, separators=(",", ":"), allow_nan=True)
        f.write("\n")
    print(f"{path}: {os.path.getsize(path)} bytes", file=sys.stderr)
