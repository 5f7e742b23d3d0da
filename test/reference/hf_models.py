"""Hugging Face checkpoints without Hugging Face: plain-torch copies of transformers'
GPT2LMHeadModel and BertModel/BertForSequenceClassification with the exact module layout, forward
arithmetic and state-dict key names (transformer.h.0.attn.c_attn.weight as a Conv1D [in, out];
bert.encoder.layer.0.attention.self.query.weight ...), run by real PyTorch 1.13 (no `transformers`
package is reachable here). They write HF-format folders (config.json as GPT2Config/BertConfig's
save_pretrained writes it: the model's own fields plus what differs from PretrainedConfig's
defaults, sorted, indent 2; model.safetensors in the layout of the Rust writer, through
safetensors_numpy.py) and the golden values test/models/hf-gpt2.test.ts and
test/models/bert.test.ts compare with.

  hf_models.py            writes test/reference/golden/hf/: tiny random-init checkpoints
      gpt2-tiny/            GPT-2 (2 layers, 4 heads, n_embd 16, vocab 96, 32 positions), F32, as
                            save_pretrained writes it (transformer.* keys, tied lm_head.weight left out)
      gpt2-tiny-f16/        the same weights stored as F16
      gpt2-tiny-bf16/       ... as BF16
      gpt2-tiny-sharded/    ... split in two shards with model.safetensors.index.json
      gpt2-tiny-old-layout/ ... as openai-community/gpt2 ships: bare keys (wte.weight, h.0...), no
                            lm_head, and the h.N.attn.bias causal-mask buffers (F32 [1, 1, P, P])
      bert-tiny-cls/        BertForSequenceClassification (2 layers, hidden 16, 4 heads,
                            intermediate 32, vocab 48, 3 labels): bert.* keys and classifier.*
      bert-tiny-base/       the same encoder saved as a BertModel (bare keys, as sentence-embedding
                            checkpoints like all-MiniLM-L6-v2 ship), with the old persistent
                            embeddings.position_ids buffer (I64)
      gpt2.json, bert.json  inputs, logits, loss, hidden states, pooled embeddings and the gradient
                            of every parameter (float32 values in their shortest decimal form)
  hf_models.py read-ours  loads the folders our side wrote (test/reference/write-ours-hf.ts, in
                          golden/hf/ours-*) into these modules with load_state_dict(strict=True)
                          after HF's tied-key rule, and writes ours.json with torch's outputs
  hf_models.py --full DIR [--old-layout]
                          writes a full-size GPT-2 124M (n_embd 768, 12 layers, vocab 50257,
                          1024 positions, HF's init; 498 MB of F32 as save_pretrained writes it,
                          548 MB in the old hub layout with the mask buffers) to DIR with reference.json (the
                          loss and last-position logits of a fixed input), for a manual
                          memory/time check (test/reference/check-full-gpt2.ts); not committed

usage: /usr/bin/python3 test/reference/hf_models.py [read-ours | --full DIR [--old-layout]]"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from golden_io import GOLDEN, meta
from safetensors_numpy import encode, write_safetensors

SEED = 0
OUT = os.path.join(GOLDEN, "hf")
torch.set_num_threads(1)

# ---------------------------------------------------------------- configs (as save_pretrained)


def gpt2_config(vocab_size, n_positions, n_embd, n_layer, n_head, torch_dtype="float32"):
    """GPT2Config(...).to_diff_dict() for GPT2LMHeadModel: every GPT2Config field, plus the
    PretrainedConfig fields GPT-2 sets (architectures, bos/eos ids, torch_dtype)."""
    return {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1,
        "bos_token_id": vocab_size - 1,
        "embd_pdrop": 0.1,
        "eos_token_id": vocab_size - 1,
        "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05,
        "model_type": "gpt2",
        "n_embd": n_embd,
        "n_head": n_head,
        "n_inner": None,
        "n_layer": n_layer,
        "n_positions": n_positions,
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "torch_dtype": torch_dtype,
        "use_cache": True,
        "vocab_size": vocab_size,
    }


def bert_config(vocab_size, hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, max_position_embeddings, labels=None, arch="BertModel"):
    """BertConfig(...).to_diff_dict(): id2label/label2id written when the labels are not the
    default two (num_labels itself is not written: HF derives it from id2label)."""
    c = {
        "architectures": [arch],
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": intermediate_size,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": max_position_embeddings,
        "model_type": "bert",
        "num_attention_heads": num_attention_heads,
        "num_hidden_layers": num_hidden_layers,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "type_vocab_size": 2,
        "use_cache": True,
        "vocab_size": vocab_size,
    }
    if labels is not None:
        c["id2label"] = {str(i): name for i, name in enumerate(labels)}
        c["label2id"] = {name: i for i, name in enumerate(labels)}
    return c


# ---------------------------------------------------------------- GPT-2 (modeling_gpt2.py)


class Conv1D(nn.Module):
    """transformers.pytorch_utils.Conv1D: a Linear whose weight is stored [in, out]."""

    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


def gelu_new(x):
    """ACT2FN["gelu_new"]: the tanh approximation, written out as HF does."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class GPT2Attention(nn.Module):
    def __init__(self, c, persistent_bias):
        super().__init__()
        P = c["n_positions"]
        # Old checkpoints saved this mask (float ones/zeros); HF now registers it non-persistent.
        self.register_buffer("bias", torch.tril(torch.ones((P, P))).view(1, 1, P, P), persistent=persistent_bias)
        self.embed_dim = c["n_embd"]
        self.num_heads = c["n_head"]
        self.head_dim = self.embed_dim // self.num_heads
        self.c_attn = Conv1D(3 * self.embed_dim, self.embed_dim)
        self.c_proj = Conv1D(self.embed_dim, self.embed_dim)
        self.attn_dropout = nn.Dropout(c["attn_pdrop"])
        self.resid_dropout = nn.Dropout(c["resid_pdrop"])

    def _attn(self, q, k, v):
        w = torch.matmul(q, k.transpose(-1, -2)) / torch.full([], v.size(-1) ** 0.5, dtype=q.dtype)
        T, S = q.size(-2), k.size(-2)
        causal = self.bias[:, :, S - T : S, :S].bool()
        w = torch.where(causal, w, torch.full([], torch.finfo(w.dtype).min, dtype=w.dtype))
        w = self.attn_dropout(F.softmax(w, dim=-1))
        return torch.matmul(w, v)

    def _split(self, x):
        return x.view(x.size()[:-1] + (self.num_heads, self.head_dim)).permute(0, 2, 1, 3)

    def forward(self, x):
        q, k, v = self.c_attn(x).split(self.embed_dim, dim=2)
        a = self._attn(self._split(q), self._split(k), self._split(v))
        a = a.permute(0, 2, 1, 3).contiguous()
        a = a.view(a.size()[:-2] + (self.embed_dim,))
        return self.resid_dropout(self.c_proj(a))


class GPT2MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        inner = c["n_inner"] or 4 * c["n_embd"]
        self.c_fc = Conv1D(inner, c["n_embd"])
        self.c_proj = Conv1D(c["n_embd"], inner)
        self.dropout = nn.Dropout(c["resid_pdrop"])

    def forward(self, x):
        return self.dropout(self.c_proj(gelu_new(self.c_fc(x))))


class GPT2Block(nn.Module):
    def __init__(self, c, persistent_bias):
        super().__init__()
        E, eps = c["n_embd"], c["layer_norm_epsilon"]
        self.ln_1 = nn.LayerNorm(E, eps=eps)
        self.attn = GPT2Attention(c, persistent_bias)
        self.ln_2 = nn.LayerNorm(E, eps=eps)
        self.mlp = GPT2MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2Model(nn.Module):
    def __init__(self, c, persistent_bias=False):
        super().__init__()
        E = c["n_embd"]
        self.wte = nn.Embedding(c["vocab_size"], E)
        self.wpe = nn.Embedding(c["n_positions"], E)
        self.drop = nn.Dropout(c["embd_pdrop"])
        self.h = nn.ModuleList([GPT2Block(c, persistent_bias) for _ in range(c["n_layer"])])
        self.ln_f = nn.LayerNorm(E, eps=c["layer_norm_epsilon"])

    def forward(self, input_ids):
        pos = torch.arange(input_ids.size(-1), dtype=torch.long).unsqueeze(0)
        x = self.drop(self.wte(input_ids) + self.wpe(pos))
        for block in self.h:
            x = block(x)
        return self.ln_f(x)


class GPT2LMHeadModel(nn.Module):
    _tied_weights_keys = ["lm_head.weight"]

    def __init__(self, c, persistent_bias=False):
        super().__init__()
        self.transformer = GPT2Model(c, persistent_bias)
        self.lm_head = nn.Linear(c["n_embd"], c["vocab_size"], bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tie_word_embeddings
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=c["initializer_range"] / math.sqrt(2 * c["n_layer"]))

    def _init_weights(self, m):
        if isinstance(m, (nn.Linear, Conv1D)):
            m.weight.data.normal_(mean=0.0, std=0.02)
            if getattr(m, "bias", None) is not None:
                m.bias.data.zero_()
        elif isinstance(m, nn.Embedding):
            m.weight.data.normal_(mean=0.0, std=0.02)
        elif isinstance(m, nn.LayerNorm):
            m.bias.data.zero_()
            m.weight.data.fill_(1.0)

    def forward(self, input_ids, labels=None):
        logits = self.lm_head(self.transformer(input_ids))
        loss = None
        if labels is not None:
            shift_logits = logits[..., :-1, :].contiguous()
            shift_labels = labels[..., 1:].contiguous()
            loss = F.cross_entropy(shift_logits.view(-1, shift_logits.size(-1)), shift_labels.view(-1))  # ignore_index -100
        return logits, loss


# ---------------------------------------------------------------- BERT (modeling_bert.py)


class BertEmbeddings(nn.Module):
    def __init__(self, c, persistent_position_ids=False):
        super().__init__()
        H = c["hidden_size"]
        self.word_embeddings = nn.Embedding(c["vocab_size"], H, padding_idx=c["pad_token_id"])
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], H)
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], H)
        self.LayerNorm = nn.LayerNorm(H, eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])
        self.register_buffer("position_ids", torch.arange(c["max_position_embeddings"]).expand((1, -1)), persistent=persistent_position_ids)

    def forward(self, input_ids, token_type_ids):
        T = input_ids.size(1)
        e = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        e = e + self.position_embeddings(self.position_ids[:, :T])
        return self.dropout(self.LayerNorm(e))


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.num_attention_heads = c["num_attention_heads"]
        self.attention_head_size = H // self.num_attention_heads
        self.query = nn.Linear(H, H)
        self.key = nn.Linear(H, H)
        self.value = nn.Linear(H, H)
        self.dropout = nn.Dropout(c["attention_probs_dropout_prob"])

    def _heads(self, x):
        return x.view(x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)).permute(0, 2, 1, 3)

    def forward(self, x, extended_mask):
        q, k, v = self._heads(self.query(x)), self._heads(self.key(x)), self._heads(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.attention_head_size) + extended_mask
        probs = self.dropout(F.softmax(scores, dim=-1))
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.size()[:-2] + (x.size(-1),))


class BertSelfOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.dense = nn.Linear(H, H)
        self.LayerNorm = nn.LayerNorm(H, eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, h, x):
        return self.LayerNorm(self.dropout(self.dense(h)) + x)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c)

    def forward(self, x, extended_mask):
        return self.output(self.self(x, extended_mask), x)


class BertIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])

    def forward(self, x):
        return F.gelu(self.dense(x))  # "gelu": the exact erf form


class BertOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["intermediate_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, h, x):
        return self.LayerNorm(self.dropout(self.dense(h)) + x)


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertOutput(c)

    def forward(self, x, extended_mask):
        a = self.attention(x, extended_mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c["num_hidden_layers"])])

    def forward(self, x, extended_mask):
        for layer in self.layer:
            x = layer(x, extended_mask)
        return x


class BertPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, h):
        return torch.tanh(self.dense(h[:, 0]))


def bert_init(c):
    def init(m):
        if isinstance(m, nn.Linear):
            m.weight.data.normal_(mean=0.0, std=c["initializer_range"])
            if m.bias is not None:
                m.bias.data.zero_()
        elif isinstance(m, nn.Embedding):
            m.weight.data.normal_(mean=0.0, std=c["initializer_range"])
            if m.padding_idx is not None:
                m.weight.data[m.padding_idx].zero_()
        elif isinstance(m, nn.LayerNorm):
            m.bias.data.zero_()
            m.weight.data.fill_(1.0)

    return init


class BertModel(nn.Module):
    def __init__(self, c, persistent_position_ids=False):
        super().__init__()
        self.embeddings = BertEmbeddings(c, persistent_position_ids)
        self.encoder = BertEncoder(c)
        self.pooler = BertPooler(c)
        self.apply(bert_init(c))

    def forward(self, input_ids, attention_mask, token_type_ids):
        ext = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
        h = self.encoder(self.embeddings(input_ids, token_type_ids), ext)
        return h, self.pooler(h)


class BertForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_labels = len(c["id2label"])
        self.bert = BertModel(c)
        p = c["classifier_dropout"] if c["classifier_dropout"] is not None else c["hidden_dropout_prob"]
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(c["hidden_size"], self.num_labels)
        self.apply(bert_init(c))

    def forward(self, input_ids, attention_mask, token_type_ids, labels=None):
        h, pooled = self.bert(input_ids, attention_mask, token_type_ids)
        logits = self.classifier(self.dropout(pooled))
        loss = None if labels is None else F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        return logits, loss, h, pooled


def mean_pool(h, attention_mask):
    """sentence-transformers' mean pooling: the average of the unmasked token vectors."""
    m = attention_mask.unsqueeze(-1).expand(h.size()).float()
    return torch.sum(h * m, 1) / torch.clamp(m.sum(1), min=1e-9)


# ---------------------------------------------------------------- writing folders


def f32(x):
    """float32 values in their shortest decimal form (half the bytes of float64 repr)."""
    a = x.detach().cpu().numpy().astype(np.float32).reshape(-1)
    return [float(str(v)) for v in a]


def genc(x):
    """A tensor as golden_io.enc writes it, with compact float32 decimals."""
    if x.dtype in (torch.int64, torch.int32):
        return {"shape": list(x.shape), "dtype": "int32", "data": [int(v) for v in x.reshape(-1)]}
    return {"shape": list(x.shape), "dtype": "float32", "data": f32(x)}


def write_json(path, obj, **kw):
    with open(path, "w") as f:
        json.dump(obj, f, **kw)
        f.write("\n")
    print(f"{path}: {os.path.getsize(path)} bytes", file=sys.stderr)


def save_config(folder, config):
    write_json(os.path.join(folder, "config.json"), config, indent=2, sort_keys=True)


def stored(state, dtype):
    """{key: (dtype, shape, bytes)} for write_safetensors, and the float32 values a reader gets back."""
    out, back = {}, {}
    for k, v in state.items():
        a = v.detach().cpu().numpy()
        if a.dtype == np.int64:
            out[k] = ("I64", a.shape, a.astype("<i8").tobytes())
            back[k] = torch.from_numpy(a.copy())
            continue
        raw, seen = encode(a.astype(np.float32), dtype)
        out[k] = (dtype, a.shape, raw)
        back[k] = torch.from_numpy(np.array(seen, dtype=np.float32).reshape(a.shape))
    return out, back


def save_pretrained(model, folder, config, dtype="F32", shards=1, drop_prefix=None):
    """model.save_pretrained(folder, safe_serialization=True): the state dict without the tied
    keys; shards > 1 splits it in module order into model-0000i-of-0000n.safetensors files of
    about equal size with model.safetensors.index.json. Returns the float32 values written."""
    os.makedirs(folder, exist_ok=True)
    save_config(folder, config)
    state = {k: v for k, v in model.state_dict().items() if k not in getattr(model, "_tied_weights_keys", [])}
    if drop_prefix is not None:
        state = {k[len(drop_prefix) :] if k.startswith(drop_prefix) else k: v for k, v in state.items()}
    tensors, back = stored(state, dtype)
    if shards == 1:
        write_safetensors(os.path.join(folder, "model.safetensors"), tensors, {"format": "pt"})
        return back
    total = sum(len(t[2]) for t in tensors.values())
    names = [f"model-{i + 1:05d}-of-{shards:05d}.safetensors" for i in range(shards)]
    groups, size = [dict() for _ in range(shards)], 0
    for k, t in tensors.items():
        groups[min(shards - 1, size * shards // total)][k] = t
        size += len(t[2])
    weight_map = {}
    for name, group in zip(names, groups):
        write_safetensors(os.path.join(folder, name), group, {"format": "pt"})
        weight_map.update({k: name for k in group})
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    write_json(os.path.join(folder, "model.safetensors.index.json"), index, indent=2, sort_keys=True)
    return back


def randomize(model, std=0.3):
    """Values of order one (LayerNorm scales near one), so a wrong transpose or a wrong constant shows."""
    g = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "ln" in name.split(".")[-2] or "LayerNorm" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(std * torch.randn(p.shape, generator=g))
        if hasattr(model, "bert"):
            model.bert.embeddings.word_embeddings.weight[0].zero_()  # the padding row, as HF's init leaves it


def run_gpt(model, ids, labels):
    model.eval()  # from_pretrained returns the model in eval mode: dropout off
    model.zero_grad()
    logits, loss = model(ids, labels)
    loss.backward()
    return logits, loss


def gpt2_golden():
    torch.manual_seed(SEED)
    c = gpt2_config(vocab_size=96, n_positions=32, n_embd=16, n_layer=2, n_head=4)
    model = GPT2LMHeadModel(c)
    randomize(model)
    ids = torch.randint(0, 96, (2, 12))
    labels = ids.clone()
    labels[1, 5] = -100  # an ignored label (HF's ignore_index)
    variants = {}
    save_pretrained(model, os.path.join(OUT, "gpt2-tiny"), c)
    save_pretrained(model, os.path.join(OUT, "gpt2-tiny-sharded"), c, shards=2)
    old = GPT2LMHeadModel(c, persistent_bias=True)
    old.load_state_dict(model.state_dict(), strict=False)  # + the mask buffers it makes itself
    old_cfg = {k: v for k, v in c.items() if k not in ("torch_dtype",)}
    old_cfg["n_ctx"] = c["n_positions"]  # the old hub configs carry n_ctx too
    save_pretrained(old, os.path.join(OUT, "gpt2-tiny-old-layout"), old_cfg, drop_prefix="transformer.")
    # Every HF-layout file loads back into the module under HF's rule (only tied keys missing).
    for folder in ("gpt2-tiny", "gpt2-tiny-sharded"):
        hf_load(GPT2LMHeadModel(c), read_folder(os.path.join(OUT, folder)))
    hf_load(GPT2LMHeadModel(c, persistent_bias=True), read_folder(os.path.join(OUT, "gpt2-tiny-old-layout")), prefix="transformer.")
    logits, loss = run_gpt(model, ids, labels)
    grads = {k: genc(p.grad) for k, p in model.named_parameters()}
    variants["gpt2-tiny"] = {"logits": genc(logits), "loss": float(loss)}
    for dtype, folder in (("F16", "gpt2-tiny-f16"), ("BF16", "gpt2-tiny-bf16")):
        cfg = dict(c, torch_dtype={"F16": "float16", "BF16": "bfloat16"}[dtype])
        back = save_pretrained(model, os.path.join(OUT, folder), cfg, dtype=dtype)
        m = GPT2LMHeadModel(c)
        hf_load(m, back)
        lg, ls = run_gpt(m, ids, labels)
        variants[folder] = {"logits": genc(lg), "loss": float(ls)}
    write_json(
        os.path.join(OUT, "gpt2.json"),
        {
            "meta": meta(__file__, SEED, note="GPT2LMHeadModel in eval mode; loss = HF's shifted LM loss, labels -100 ignored"),
            "input_ids": genc(ids),
            "labels": genc(labels),
            "variants": variants,
            "grads": grads,
        },
        separators=(",", ":"),
    )


def bert_golden():
    torch.manual_seed(SEED + 1)
    labels_names = ["negative", "neutral", "positive"]
    c = bert_config(48, 16, 2, 4, 32, 16, labels=labels_names, arch="BertForSequenceClassification")
    model = BertForSequenceClassification(c)
    randomize(model)
    B, T = 3, 10
    ids = torch.randint(1, 48, (B, T))
    lengths = [10, 7, 4]
    mask = torch.zeros(B, T, dtype=torch.long)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
        ids[b, n:] = 0  # [PAD]
    tt = torch.zeros(B, T, dtype=torch.long)
    tt[0, 6:] = 1
    tt[1, 4:7] = 1
    labels = torch.tensor([2, 0, 1])
    save_pretrained(model, os.path.join(OUT, "bert-tiny-cls"), c)
    base_cfg = {k: v for k, v in c.items() if k not in ("id2label", "label2id")}
    base_cfg["architectures"] = ["BertModel"]
    base = BertModel(c, persistent_position_ids=True)
    base.load_state_dict({k[len("bert.") :]: v for k, v in model.state_dict().items() if k.startswith("bert.")}, strict=False)
    save_pretrained(base, os.path.join(OUT, "bert-tiny-base"), base_cfg)
    hf_load(BertForSequenceClassification(c), read_folder(os.path.join(OUT, "bert-tiny-cls")))
    model.eval()
    logits, loss, h, pooled = model(ids, mask, tt, labels)
    loss.backward()
    write_json(
        os.path.join(OUT, "bert.json"),
        {
            "meta": meta(__file__, SEED, note="BertForSequenceClassification in eval mode; mean_pooled = sentence-transformers' mean pooling"),
            "input_ids": genc(ids),
            "attention_mask": genc(mask),
            "token_type_ids": genc(tt),
            "labels": genc(labels),
            "logits": genc(logits),
            "loss": float(loss),
            "last_hidden_state": genc(h),
            "pooler_output": genc(pooled),
            "mean_pooled": genc(mean_pool(h, mask)),
            "grads": {k: genc(p.grad) for k, p in model.named_parameters()},
        },
        separators=(",", ":"),
    )


# ---------------------------------------------------------------- reading folders back


def read_safetensors_torch(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n])
    header.pop("__metadata__", None)
    data = buf[8 + n :]
    out = {}
    for k, info in header.items():
        b, e = info["data_offsets"]
        dt = info["dtype"]
        if dt == "BF16":
            a = (np.frombuffer(data[b:e], dtype="<u2").astype("<u4") << 16).view("<f4")
        else:
            a = np.frombuffer(data[b:e], dtype={"F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4"}[dt])
        a = a.reshape(info["shape"])
        out[k] = torch.from_numpy(a.astype(np.int64 if dt.startswith("I") else np.float32))
    return out


def read_folder(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if not os.path.exists(index):
        return read_safetensors_torch(os.path.join(folder, "model.safetensors"))
    with open(index) as f:
        files = sorted(set(json.load(f)["weight_map"].values()))
    out = {}
    for name in files:
        out.update(read_safetensors_torch(os.path.join(folder, name)))
    return out


def hf_load(model, state, prefix=None):
    """from_pretrained's loading rule, strict otherwise: a checkpoint without the base prefix gets
    it, and the only keys allowed to be missing are the tied ones (lm_head.weight = wte)."""
    if prefix is not None:
        state = {prefix + k if not k.startswith("lm_head.") else k: v for k, v in state.items()}
    tied = set(getattr(model, "_tied_weights_keys", []))
    full = dict(state)
    for k in tied:
        if k not in full:
            full[k] = full["transformer.wte.weight"]
    model.load_state_dict(full, strict=True)
    return model


def read_ours():
    """Our exports (test/reference/write-ours-hf.ts) into the torch modules, strictly."""
    out = {"meta": meta(__file__, SEED)}
    g = json.load(open(os.path.join(OUT, "gpt2.json")))
    ids = torch.tensor(g["input_ids"]["data"]).view(g["input_ids"]["shape"])
    labels = torch.tensor(g["labels"]["data"]).view(g["labels"]["shape"])
    folder = os.path.join(OUT, "ours-gpt2")
    c = json.load(open(os.path.join(folder, "config.json")))
    m = hf_load(GPT2LMHeadModel(c), read_folder(folder))
    logits, loss = run_gpt(m, ids, labels)
    out["gpt2"] = {"keys": sorted(read_folder(folder)), "logits": genc(logits), "loss": float(loss)}
    b = json.load(open(os.path.join(OUT, "bert.json")))
    t = lambda name: torch.tensor(b[name]["data"]).view(b[name]["shape"])  # noqa: E731
    folder = os.path.join(OUT, "ours-bert")
    c = json.load(open(os.path.join(folder, "config.json")))
    m = hf_load(BertForSequenceClassification(c), read_folder(folder))
    m.eval()
    logits, loss, h, _ = m(t("input_ids"), t("attention_mask"), t("token_type_ids"), t("labels"))
    out["bert"] = {"keys": sorted(read_folder(folder)), "logits": genc(logits), "loss": float(loss), "mean_pooled": genc(mean_pool(h, t("attention_mask")))}
    write_json(os.path.join(OUT, "ours.json"), out, separators=(",", ":"))


def full(folder, old_layout=False):
    """GPT-2 124M at HF's init, for the manual memory/time check (not committed); with
    old_layout, as openai-community/gpt2 ships it (bare keys, the mask buffers: 548 MB)."""
    torch.manual_seed(SEED)
    c = gpt2_config(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12)
    c["bos_token_id"] = c["eos_token_id"] = 50256
    model = GPT2LMHeadModel(c, persistent_bias=old_layout)
    save_pretrained(model, folder, c, drop_prefix="transformer." if old_layout else None)
    ids = torch.randint(0, 50257, (1, 64))
    model.eval()
    with torch.no_grad():
        logits, loss = model(ids, ids)
    write_json(
        os.path.join(folder, "reference.json"),
        {"meta": meta(__file__, SEED), "input_ids": genc(ids), "loss": float(loss), "last_logits": f32(logits[0, -1])},
    )


if __name__ == "__main__":
    if len(sys.argv) in (3, 4) and sys.argv[1] == "--full" and sys.argv[3:] in ([], ["--old-layout"]):
        full(sys.argv[2], old_layout=len(sys.argv) == 4)
    elif len(sys.argv) == 2 and sys.argv[1] == "read-ours":
        read_ours()
    elif len(sys.argv) == 1:
        os.makedirs(OUT, exist_ok=True)
        gpt2_golden()
        bert_golden()
    else:
        sys.exit(__doc__)
