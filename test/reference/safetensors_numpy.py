#!/usr/bin/env python3
"""An independent safetensors reader/writer and MLP forward pass in plain numpy (no torch, no
safetensors package), the reference for test/io-safetensors.test.ts. Run by `npm run
test:reference` with Debian's /usr/bin/python3; its outputs are committed under
test/reference/golden/safetensors/, so `npm test` needs no Python.

  safetensors_numpy.py write
      pt.safetensors      an MLP (64-32-16-10, PyTorch Sequential keys) in F32, laid out as
                          safetensors.torch.save_file does (__metadata__ {"format": "pt"}, tensors
                          sorted by dtype then name, header padded with spaces)
      mixed.safetensors   the same weights stored as F64, F16, BF16 and F32
      reference.json      sizes, inputs and the float64 logits of both files, with `meta`

  safetensors_numpy.py read
      parses ours.safetensors (written by our writer, test/reference/write-ours.ts) strictly, runs the
      MLP on the inputs and writes ours.json {keys, shapes, dtypes, metadata, logits, meta}
"""
import json
import os
import struct
import sys

import numpy as np

SIZES = [(64, 32), (32, 16), (16, 10)]
SEED = 20240607
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "safetensors")
KEYS = ["0", "2", "4"]  # nn.Sequential(Linear, ReLU, Linear, ReLU, Linear)
NP_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2"}


def to_bf16_bits(a):
    """float32 → bfloat16 bits, rounding to nearest even (as torch does)."""
    bits = np.asarray(a, dtype="<f4").view("<u4").astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype("<u2")


def from_bf16_bits(b):
    return (b.astype("<u4") << 16).view("<f4")


def encode(tensor, dtype):
    """(bytes, the float32 values a reader gets back)"""
    if dtype == "BF16":
        bits = to_bf16_bits(tensor)
        return bits.tobytes(), from_bf16_bits(bits)
    arr = np.asarray(tensor).astype(NP_DTYPES[dtype])
    return arr.tobytes(), arr.astype(np.float32)


ITEMSIZE = {"F64": 8, "I64": 8, "F32": 4, "F16": 2, "BF16": 2}


def write_safetensors(path, tensors, metadata):
    """tensors: {name: (dtype, shape, bytes)}. Layout as the reference (Rust) writer makes it."""
    order = sorted(tensors, key=lambda k: (-ITEMSIZE[tensors[k][0]], k))
    header = {"__metadata__": metadata}
    offset = 0
    for k in order:
        dtype, shape, raw = tensors[k]
        header[k] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for k in order:
            f.write(tensors[k][2])


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    assert 8 + n <= len(buf), "header length past the end"
    header = json.loads(buf[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = buf[8 + n :]
    pos = 0
    out = {}
    for k, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, end = info["data_offsets"]
        assert begin == pos, f"{k}: offsets do not tile the data section"
        pos = end
        bf16 = info["dtype"] == "BF16"
        dt = np.dtype("<u2" if bf16 else NP_DTYPES[info["dtype"]])
        assert end - begin == int(np.prod(info["shape"], dtype=np.int64)) * dt.itemsize, f"{k}: size mismatch"
        a = np.frombuffer(data[begin:end], dtype=dt)
        out[k] = (info["dtype"], (from_bf16_bits(a) if bf16 else a).reshape(info["shape"]))
    assert pos == len(data), "trailing bytes after the last tensor"
    return out, metadata


def forward(weights, x):
    """float64 MLP: Linear-ReLU-Linear-ReLU-Linear, PyTorch's y = x Wᵀ + b."""
    h = np.asarray(x, dtype=np.float64)
    for i, k in enumerate(KEYS):
        h = h @ weights[f"{k}.weight"].astype(np.float64).T + weights[f"{k}.bias"].astype(np.float64)
        if i < len(KEYS) - 1:
            h = np.maximum(h, 0)
    return h


def meta():
    import platform
    return {"script": "test/reference/safetensors_numpy.py", "python": platform.python_version(), "numpy": np.__version__, "seed": SEED}


def cmd_write(out_dir):
    rng = np.random.default_rng(SEED)
    weights = {}
    for k, (fan_in, fan_out) in zip(KEYS, SIZES):
        bound = 1 / np.sqrt(fan_in)  # PyTorch's default Linear init range
        weights[f"{k}.weight"] = rng.uniform(-bound, bound, (fan_out, fan_in))
        weights[f"{k}.bias"] = rng.uniform(-bound, bound, fan_out)
    inputs = rng.uniform(-1, 1, (6, SIZES[0][0])).astype(np.float32)

    f32 = {}
    seen_f32 = {}
    for name, w in weights.items():
        raw, back = encode(w, "F32")
        f32[name] = ("F32", w.shape, raw)
        seen_f32[name] = back
    write_safetensors(f"{out_dir}/pt.safetensors", f32, {"format": "pt"})

    dtypes = {"0.weight": "F16", "0.bias": "F64", "2.weight": "BF16", "2.bias": "F16", "4.weight": "F64", "4.bias": "BF16"}
    mixed = {}
    seen_mixed = {}
    for name, w in weights.items():
        raw, back = encode(w, dtypes[name])
        mixed[name] = (dtypes[name], w.shape, raw)
        seen_mixed[name] = back
    write_safetensors(f"{out_dir}/mixed.safetensors", mixed, {"format": "pt", "note": "mixed dtypes"})

    ref = {
        "meta": meta(),
        "sizes": [SIZES[0][0]] + [o for _, o in SIZES],
        "inputs": inputs.astype(np.float64).tolist(),
        "logits_pt": forward(seen_f32, inputs).tolist(),
        "logits_mixed": forward(seen_mixed, inputs).tolist(),
        "dtypes_mixed": dtypes,
    }
    with open(f"{out_dir}/reference.json", "w") as f:
        json.dump(ref, f)
        f.write("\n")


def cmd_read(path, inputs_path, out_path):
    tensors, metadata = read_safetensors(path)
    with open(inputs_path) as f:
        inputs = np.asarray(json.load(f)["inputs"], dtype=np.float32)
    weights = {k: a.astype(np.float32) for k, (_, a) in tensors.items()}
    with open(out_path, "w") as f:
        json.dump({
        "meta": meta(),
        "keys": list(tensors),
        "shapes": {k: list(a.shape) for k, (_, a) in tensors.items()},
        "dtypes": {k: d for k, (d, _) in tensors.items()},
        "metadata": metadata,
        "logits": forward(weights, inputs).tolist(),
        }, f)
        f.write("\n")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    if len(sys.argv) == 2 and sys.argv[1] == "write":
        cmd_write(OUT)
    elif len(sys.argv) == 2 and sys.argv[1] == "read":
        cmd_read(os.path.join(OUT, "ours.safetensors"), os.path.join(OUT, "reference.json"), os.path.join(OUT, "ours.json"))
    else:
        sys.exit("usage: safetensors_numpy.py write|read")
