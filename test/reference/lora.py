"""Golden values of LoRA on a 2-layer GPT from real PyTorch 1.13, with a torch reimplementation of
PEFT's LoRA layer (peft.tuners.lora.layer.Linear, one adapter "default", bias "none"; the peft
package is not installed here): y = base(x) + lora_B(lora_A(dropout(x))) * lora_alpha / r, merge
W += (B @ A) * scaling (transposed for a Conv1D base, fan_in_fan_out). The model is
examples/pytorch/gpt_model.py (nanoGPT layout; Hugging Face GPT-2 has the same module paths).

  lora.py          golden/lora.json: base state dict, adapter weights (B non-zero), batch, logits,
                   loss, the lora_A/lora_B gradients, merged logits; and golden/lora/peft/, an
                   adapter folder as PeftModel.save_pretrained writes it for Hugging Face GPT-2
                   (fan_in_fan_out true: its c_attn/c_proj are Conv1D) with the same weights
  lora.py check    reads golden/lora/ours/ (written by our lora.saveAdapter, test/reference/
                   write-ours-lora.ts) strictly as PEFT would, applies it to the same base model in
                   torch and writes golden/lora/ours.json (its keys, config and logits)

usage: /usr/bin/python3 test/reference/lora.py [check]"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples", "pytorch"))
from gpt_model import GPT, GPTConfig  # noqa: E402
from golden_io import GOLDEN, enc, meta, write  # noqa: E402
from safetensors_numpy import read_safetensors, write_safetensors  # noqa: E402

SEED = 0
R, ALPHA, DROPOUT = 4, 8, 0.05
TARGETS = ["c_attn", "c_proj"]
CONFIG = {"vocabSize": 11, "blockSize": 8, "nLayer": 2, "nHead": 2, "nEmbd": 8}
PEFT_DIR = os.path.join(GOLDEN, "lora", "peft")
OURS_DIR = os.path.join(GOLDEN, "lora", "ours")
torch.set_num_threads(1)


class Conv1D(nn.Module):
    """transformers.pytorch_utils.Conv1D: weight [in, out], y = x @ W + b."""

    def __init__(self, weight, bias):
        super().__init__()
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(bias)

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).reshape(*x.shape[:-1], -1)


class LoraLayer(nn.Module):
    """peft.tuners.lora.layer.Linear with one adapter: the same submodule names and init."""

    def __init__(self, base, r, alpha, dropout, fan_in_fan_out=False):
        super().__init__()
        self.base_layer = base
        # PEFT: in/out from nn.Linear's in_features/out_features, or Conv1D's weight.shape = [in, out]
        in_f, out_f = base.weight.shape if fan_in_fan_out else (base.in_features, base.out_features)
        self.fan_in_fan_out = fan_in_fan_out
        self.lora_dropout = nn.ModuleDict({"default": nn.Dropout(dropout) if dropout > 0 else nn.Identity()})
        self.lora_A = nn.ModuleDict({"default": nn.Linear(in_f, r, bias=False)})
        self.lora_B = nn.ModuleDict({"default": nn.Linear(r, out_f, bias=False)})
        self.scaling = alpha / r
        nn.init.kaiming_uniform_(self.lora_A["default"].weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B["default"].weight)
        self.merged = False

    def delta_weight(self):
        d = self.lora_B["default"].weight @ self.lora_A["default"].weight * self.scaling
        return d.T if self.fan_in_fan_out else d

    def merge(self):
        self.base_layer.weight.data += self.delta_weight()
        self.merged = True

    def forward(self, x):
        result = self.base_layer(x)
        if self.merged:
            return result
        a, b, drop = self.lora_A["default"], self.lora_B["default"], self.lora_dropout["default"]
        return result + b(a(drop(x))) * self.scaling


def inject(model, targets, r, alpha, dropout, conv1d=False):
    """PEFT's inject_adapter: wrap every nn.Linear whose path equals a target or ends with '.'+target."""
    paths = [n for n, m in model.named_modules() if isinstance(m, nn.Linear) and any(n == t or n.endswith("." + t) for t in targets)]
    for path in paths:
        parent_path, name = path.rsplit(".", 1)
        parent = model.get_submodule(parent_path)
        base = getattr(parent, name)
        if conv1d:  # Hugging Face GPT-2's layer: the same function, weight stored [in, out]
            base = Conv1D(base.weight.detach().T.clone(), base.bias.detach().clone())
        setattr(parent, name, LoraLayer(base, r, alpha, dropout, fan_in_fan_out=conv1d))
    for n, p in model.named_parameters():
        p.requires_grad = "lora_" in n
    return paths


def base_model():
    torch.manual_seed(SEED)
    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.rand(p.shape) * 1.2 - 0.6)
    return model


def adapter_key(path, which):
    return f"base_model.model.{path}.lora_{which}.weight"


def peft_config_json(fan_in_fan_out, target_modules):
    """adapter_config.json as PEFT 0.7's LoraConfig.save_pretrained writes it (inference_mode set by PeftModel.save_pretrained)."""
    cfg = {
        "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "gpt2", "bias": "none",
        "fan_in_fan_out": fan_in_fan_out, "inference_mode": True, "init_lora_weights": True, "layers_pattern": None,
        "layers_to_transform": None, "loftq_config": {}, "lora_alpha": ALPHA, "lora_dropout": DROPOUT,
        "megatron_config": None, "megatron_core": "megatron.core", "modules_to_save": None, "peft_type": "LORA",
        "r": R, "rank_pattern": {}, "revision": None, "target_modules": target_modules, "task_type": "CAUSAL_LM",
        "use_rslora": False,
    }
    return json.dumps(cfg, indent=2, sort_keys=True)


def generate():
    model = base_model()
    state = {k: enc(v) for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(1)
    idx = torch.randint(0, 11, (3, 7), generator=g)
    targets = torch.randint(0, 11, (3, 7), generator=g)
    targets[1, 2] = -1
    paths = inject(model, TARGETS, R, ALPHA, DROPOUT)
    with torch.no_grad():  # trained-looking adapters: B non-zero, A of order one
        for path in paths:
            layer = model.get_submodule(path)
            layer.lora_A["default"].weight.copy_(torch.rand(layer.lora_A["default"].weight.shape, generator=g) - 0.5)
            layer.lora_B["default"].weight.copy_(torch.rand(layer.lora_B["default"].weight.shape, generator=g) - 0.5)
    adapter = {}
    for path in paths:
        layer = model.get_submodule(path)
        adapter[adapter_key(path, "A")] = layer.lora_A["default"].weight.detach().clone()
        adapter[adapter_key(path, "B")] = layer.lora_B["default"].weight.detach().clone()
    model.eval()  # lora_dropout off: the comparison needs no shared random stream
    logits, loss = model(idx, targets)
    loss.backward()
    grads = {}
    for path in paths:
        layer = model.get_submodule(path)
        grads[adapter_key(path, "A")] = enc(layer.lora_A["default"].weight.grad)
        grads[adapter_key(path, "B")] = enc(layer.lora_B["default"].weight.grad)
    assert all(p.grad is None for n, p in model.named_parameters() if "lora_" not in n), "the base must get no gradient"
    with torch.no_grad():
        for path in paths:
            model.get_submodule(path).merge()
        merged_logits, _ = model(idx, targets)
    merged_state = {k.replace(".base_layer", ""): enc(v) for k, v in model.state_dict().items() if "lora_" not in k}

    # The same adapter on Hugging Face GPT-2's layout (Conv1D, fan_in_fan_out): same A/B tensors, same logits.
    hf = base_model()
    inject(hf, TARGETS, R, ALPHA, DROPOUT, conv1d=True)
    with torch.no_grad():
        for path in paths:
            layer = hf.get_submodule(path)
            assert tuple(layer.lora_A["default"].weight.shape) == tuple(adapter[adapter_key(path, "A")].shape)
            layer.lora_A["default"].weight.copy_(adapter[adapter_key(path, "A")])
            layer.lora_B["default"].weight.copy_(adapter[adapter_key(path, "B")])
        hf.eval()
        hf_logits, _ = hf(idx, targets)
        assert torch.allclose(hf_logits, logits, atol=1e-5), "Conv1D layout disagrees"
        for path in paths:
            hf.get_submodule(path).merge()
        assert torch.allclose(hf(idx, targets)[0], merged_logits, atol=1e-5), "Conv1D merge disagrees"

    os.makedirs(PEFT_DIR, exist_ok=True)
    write_safetensors(
        os.path.join(PEFT_DIR, "adapter_model.safetensors"),
        {k: ("F32", tuple(v.shape), v.numpy().astype("<f4").tobytes()) for k, v in adapter.items()},
        {"format": "pt"},
    )
    with open(os.path.join(PEFT_DIR, "adapter_config.json"), "w") as f:
        f.write(peft_config_json(True, TARGETS))
    write(
        "lora",
        {
            "meta": meta(__file__, SEED, config=CONFIG, lora={"r": R, "alpha": ALPHA, "dropout": DROPOUT, "targetModules": TARGETS}),
            "state": state,
            "paths": paths,
            "adapter": {k: enc(v) for k, v in adapter.items()},
            "idx": enc(idx),
            "targets": enc(targets),
            "logits": enc(logits),
            "loss": float(loss),
            "grads": grads,
            "mergedLogits": enc(merged_logits),
            "mergedState": merged_state,
            "peftConfigJson": peft_config_json(True, TARGETS),
        },
    )


# The LoraConfig fields of PEFT 0.7 (a config with other keys fails LoraConfig(**config) there).
PEFT_07_FIELDS = {
    "alpha_pattern", "auto_mapping", "base_model_name_or_path", "bias", "fan_in_fan_out", "inference_mode",
    "init_lora_weights", "layers_pattern", "layers_to_transform", "loftq_config", "lora_alpha", "lora_dropout",
    "megatron_config", "megatron_core", "modules_to_save", "peft_type", "r", "rank_pattern", "revision",
    "target_modules", "task_type", "use_rslora",
}


def check():
    """Loads our adapter folder as PeftModel.from_pretrained would, strictly, and runs it."""
    with open(os.path.join(OURS_DIR, "adapter_config.json")) as f:
        cfg = json.load(f)
    unknown = set(cfg) - PEFT_07_FIELDS
    assert not unknown, f"fields PEFT 0.7's LoraConfig does not take: {unknown}"
    assert cfg["peft_type"] == "LORA" and cfg["bias"] == "none" and cfg["modules_to_save"] is None
    assert isinstance(cfg["r"], int) and isinstance(cfg["lora_dropout"], float)
    tensors, metadata = read_safetensors(os.path.join(OURS_DIR, "adapter_model.safetensors"))
    assert metadata == {"format": "pt"}, metadata
    model = base_model()
    paths = inject(model, cfg["target_modules"], cfg["r"], cfg["lora_alpha"], cfg["lora_dropout"], conv1d=cfg["fan_in_fan_out"])
    expected = {adapter_key(p, w) for p in paths for w in "AB"}
    assert set(tensors) == expected, f"keys differ: {sorted(set(tensors) ^ expected)}"
    with torch.no_grad():
        for path in paths:
            layer = model.get_submodule(path)
            for which in "AB":
                dtype, a = tensors[adapter_key(path, which)]
                w = getattr(layer, f"lora_{which}")["default"].weight
                assert dtype == "F32" and tuple(a.shape) == tuple(w.shape), f"{adapter_key(path, which)}: {dtype} {a.shape} vs {tuple(w.shape)}"
                w.copy_(torch.from_numpy(np.array(a)))
    gold = json.load(open(os.path.join(GOLDEN, "lora.json")))
    idx = torch.tensor(gold["idx"]["data"]).reshape(gold["idx"]["shape"])
    model.eval()
    with torch.no_grad():
        logits, _ = model(idx)
    with open(os.path.join(GOLDEN, "lora", "ours.json"), "w") as f:
        json.dump({"meta": meta(__file__, SEED), "keys": sorted(tensors), "config": cfg, "logits": enc(logits)}, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "check":
        check()
    elif len(sys.argv) == 1:
        generate()
    else:
        sys.exit("usage: lora.py [check]")
