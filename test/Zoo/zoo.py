#!/usr/bin/env python3
"""The model zoo: small decoder (and one encoder) language models of the
families users bring, written in PyTorch the way their reference
implementations are, with random weights, exported to ONNX.

zoo.py OUT --family F [--size micro|tiny|bench] [--opset N] [--kv] [--dynamo]
       [--seed S]
writes OUT (an .onnx file). Families: gpt2, opt, phi, llama (MHA), mistral
(GQA), qwen (MQA, biased q/k/v, tied head), bert (bidirectional encoder).

The plain graph takes `input_ids` [batch, seq] and gives `logits`; the
decoder-with-past graph (--kv) also takes `position_ids` [batch, seq] and
`past_key_values.{i}.key/value` [batch, kv_heads, past, head_dim] and gives
`present.{i}.key/value` (quantc's KV-cache convention). Each family differs
in what the exporter sees, as its peers' code does: fused or separate q/k/v,
heads split with view+transpose or reshaped to 3-D for bmm, the scale before
or after the product, masks from Trilu or from Range comparisons.

--dynamo exports with torch.onnx.export(dynamo=True) (PyTorch 2.x);
otherwise the TorchScript exporter (Debian's PyTorch 1.13)."""
import argparse
import math
import sys

import torch
from torch import nn
import torch.nn.functional as F

VOCAB = 256
SIZES = {
    # d, layers, heads, ffn, max_positions
    "micro": (32, 2, 4, 64, 256),  # committed exports (test/Zoo/Inputs)
    "tiny": (64, 2, 4, 128, 256),
    "bench": (384, 5, 6, 1536, 512),
    # LLaMA-7B's attention heads (8 x 128) and a long context, two layers:
    # decode through an 8192-position KV cache (bench/kv_decode.sh)
    "long": (1024, 2, 8, 2816, 8192),
}


class Config:
    def __init__(self, family, size):
        d, layers, heads, ffn, positions = SIZES[size]
        self.family, self.d, self.layers, self.heads = family, d, layers, heads
        self.ffn, self.positions = ffn, positions
        self.head_dim = d // heads
        self.kv_heads = {"mistral": heads // 2, "qwen": 1}.get(family, heads)
        self.rotary_dim = self.head_dim // 2 if family == "phi" else self.head_dim


def rope_tables(rotary_dim, positions, base=10000.0):
    inv = 1.0 / (base ** (torch.arange(0, rotary_dim, 2).float() / rotary_dim))
    angles = torch.outer(torch.arange(positions).float(), inv)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def apply_rope(x, cos, sin, rotary_dim, head_dim):
    # x [b, h, s, hd]; cos/sin [b, 1, s, rotary_dim]
    if rotary_dim == head_dim:
        return x * cos + rotate_half(x) * sin
    rot, keep = x[..., :rotary_dim], x[..., rotary_dim:]
    return torch.cat([rot * cos + rotate_half(rot) * sin, keep], dim=-1)


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d) + 0.1 * torch.randn(d))
        self.eps = eps

    def forward(self, x):
        v = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(v + self.eps))


def layer_norm(d):
    ln = nn.LayerNorm(d)
    with torch.no_grad():
        ln.weight.add_(0.1 * torch.randn(d))
        ln.bias.add_(0.1 * torch.randn(d))
    return ln


class Attention(nn.Module):
    """Self-attention of every family; `past` is (key, value) or None."""

    def __init__(self, c, causal=True):
        super().__init__()
        self.c, self.causal = c, causal
        f = c.family
        qkv_bias = f in ("gpt2", "opt", "phi", "qwen", "bert")
        out_bias = f in ("gpt2", "opt", "phi", "bert")
        kv = c.kv_heads * c.head_dim
        if f == "gpt2":
            self.c_attn = nn.Linear(c.d, c.d + 2 * kv, bias=True)
        else:
            self.q = nn.Linear(c.d, c.heads * c.head_dim, bias=qkv_bias)
            self.k = nn.Linear(c.d, kv, bias=qkv_bias)
            self.v = nn.Linear(c.d, kv, bias=qkv_bias)
        self.o = nn.Linear(c.heads * c.head_dim, c.d, bias=out_bias)

    def split(self, x, heads):
        b, s, _ = x.shape
        return x.view(b, s, heads, self.c.head_dim).transpose(1, 2)

    def forward(self, x, rope, mask, past):
        c = self.c
        b, s, _ = x.shape
        if c.family == "gpt2":
            q, k, v = self.c_attn(x).split(
                [c.d, c.kv_heads * c.head_dim, c.kv_heads * c.head_dim], dim=2)
        else:
            q, k, v = self.q(x), self.k(x), self.v(x)
        scale = 1.0 / math.sqrt(c.head_dim)
        if c.family == "opt":
            q = q * scale  # OPT scales q before the product
        q, k, v = self.split(q, c.heads), self.split(k, c.kv_heads), self.split(v, c.kv_heads)
        if rope is not None:
            cos, sin = rope
            q = apply_rope(q, cos, sin, c.rotary_dim, c.head_dim)
            k = apply_rope(k, cos, sin, c.rotary_dim, c.head_dim)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        present = (k, v)
        groups = c.heads // c.kv_heads
        t = k.shape[2]
        if groups > 1:  # as Hugging Face's repeat_kv: expand, then merge
            k = k[:, :, None].expand(b, c.kv_heads, groups, t, c.head_dim).reshape(
                b, c.heads, t, c.head_dim)
            v = v[:, :, None].expand(b, c.kv_heads, groups, t, c.head_dim).reshape(
                b, c.heads, t, c.head_dim)
        if c.family == "opt":
            # OPT's bmm over [b*h, s, hd] with K transposed by the caller.
            q3 = q.reshape(b * c.heads, s, c.head_dim)
            k3 = k.reshape(b * c.heads, t, c.head_dim)
            v3 = v.reshape(b * c.heads, t, c.head_dim)
            scores = torch.bmm(q3, k3.transpose(1, 2)).view(b, c.heads, s, t)
        elif c.family == "gpt2":
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(c.head_dim)
        else:
            scores = torch.matmul(q, k.transpose(2, 3)) * scale
        if mask is not None:
            scores = scores + mask
        probs = F.softmax(scores, dim=-1)
        if c.family == "opt":
            out = torch.bmm(probs.view(b * c.heads, s, t), v3).view(
                b, c.heads, s, c.head_dim)
        else:
            out = torch.matmul(probs, v)
        out = out.transpose(1, 2).reshape(b, s, c.heads * c.head_dim)
        return self.o(out), present


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.family = c.family
        gated = c.family in ("llama", "mistral", "qwen")
        bias = not gated
        self.up = nn.Linear(c.d, c.ffn, bias=bias)
        self.down = nn.Linear(c.ffn, c.d, bias=bias)
        self.gate = nn.Linear(c.d, c.ffn, bias=False) if gated else None

    def forward(self, x):
        if self.gate is not None:
            return self.down(F.silu(self.gate(x)) * self.up(x))
        h = self.up(x)
        if self.family == "opt":
            h = F.relu(h)
        elif self.family == "bert":
            h = F.gelu(h)  # erf
        else:
            h = F.gelu(h, approximate="tanh")
        return self.down(h)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.family = c.family
        norm = RMSNorm if c.family in ("llama", "mistral", "qwen") else layer_norm
        self.norm1 = norm(c.d)
        if c.family != "phi":  # phi: one norm, attention and MLP in parallel
            self.norm2 = norm(c.d)
        self.attn = Attention(c, causal=c.family != "bert")
        self.mlp = MLP(c)

    def forward(self, x, rope, mask, past):
        if self.family == "phi":
            h = self.norm1(x)
            a, present = self.attn(h, rope, mask, past)
            return x + a + self.mlp(h), present
        if self.family == "bert":  # post-norm
            a, present = self.attn(x, rope, mask, past)
            x = self.norm1(x + a)
            return self.norm2(x + self.mlp(x)), present
        a, present = self.attn(self.norm1(x), rope, mask, past)
        x = x + a
        return x + self.mlp(self.norm2(x)), present


class LanguageModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        f = c.family
        self.embed = nn.Embedding(VOCAB, c.d)
        nn.init.normal_(self.embed.weight, std=0.5)
        self.offset = 2 if f == "opt" else 0  # OPT's learned positions start at 2
        if f in ("gpt2", "opt", "bert"):
            self.positions = nn.Embedding(c.positions + self.offset, c.d)
            nn.init.normal_(self.positions.weight, std=0.1)
        else:
            cos, sin = rope_tables(c.rotary_dim, c.positions)
            self.register_buffer("cos", cos, persistent=False)
            self.register_buffer("sin", sin, persistent=False)
        if f == "bert":
            self.embed_norm = layer_norm(c.d)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.layers))
        norm = RMSNorm if f in ("llama", "mistral", "qwen") else layer_norm
        self.final_norm = norm(c.d) if f != "bert" else None
        if f == "bert":  # MLM head: transform, then the tied decoder
            self.transform = nn.Linear(c.d, c.d)
            self.transform_norm = layer_norm(c.d)
        self.tied = f in ("gpt2", "opt", "qwen", "bert")
        if not self.tied:
            self.lm_head = nn.Linear(c.d, VOCAB, bias=f == "phi")
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=1.0 / math.sqrt(m.in_features))
                if m.bias is not None:
                    nn.init.normal_(m.bias, std=0.1)

    def mask(self, s, t, position_ids):
        """Additive mask [b or 1, 1, s, t]: -inf above the diagonal."""
        f = self.c.family
        if f == "bert":
            return None
        if position_ids is None:
            if f in ("gpt2", "phi"):
                # Trilu, as GPT-2's registered causal buffer becomes.
                keep = torch.ones(s, t, dtype=torch.bool).tril(t - s)
                return torch.zeros(s, t).masked_fill(~keep, float("-inf"))[None, None]
            j = torch.arange(t)
            i = torch.arange(s) + (t - s)
            hidden = j[None, :] > i[:, None]
            return torch.zeros(s, t).masked_fill(hidden, float("-inf"))[None, None]
        # Keys after the query's position (Range against position_ids).
        hidden = torch.arange(t)[None, None, :] > position_ids[:, :, None]
        return torch.zeros(hidden.shape).masked_fill(hidden, float("-inf"))[:, None]

    def forward(self, input_ids, position_ids=None, past=None):
        c = self.c
        b, s = input_ids.shape
        past_len = past[0][0].shape[2] if past is not None else 0
        pos = position_ids
        if pos is None:
            pos = torch.arange(s)[None].expand(b, s)
        x = self.embed(input_ids)
        rope = None
        if hasattr(self, "positions"):
            x = x + self.positions(pos + self.offset)
            if c.family == "bert":
                x = self.embed_norm(x)
        else:
            rope = (self.cos[pos][:, None], self.sin[pos][:, None])
        mask = self.mask(s, past_len + s, position_ids)
        presents = []
        for i, block in enumerate(self.blocks):
            x, present = block(x, rope, mask, past[i] if past is not None else None)
            presents.append(present)
        if self.final_norm is not None:
            x = self.final_norm(x)
        if c.family == "bert":
            x = self.transform_norm(F.gelu(self.transform(x)))
        logits = x @ self.embed.weight.t() if self.tied else self.lm_head(x)
        return logits, presents


class Plain(nn.Module):
    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids):
        return self.lm(input_ids)[0]


class WithPast(nn.Module):
    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids, position_ids, *flat):
        past = [(flat[2 * i], flat[2 * i + 1]) for i in range(len(flat) // 2)]
        logits, presents = self.lm(input_ids, position_ids, past)
        out = [logits]
        for k, v in presents:
            out += [k, v]
        return tuple(out)


def export(out, family, size="tiny", opset=17, kv=False, dynamo=False, seed=0):
    if family == "bert" and kv:
        sys.exit("zoo: bert is an encoder: no decoder-with-past graph")
    torch.manual_seed(seed)
    c = Config(family, size)
    lm = LanguageModel(c).eval()
    b, s, p = 2, 5, 3
    ids = torch.randint(0, VOCAB, (b, s))
    names_in, names_out = ["input_ids"], ["logits"]
    dims = {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}
    if kv:
        model = WithPast(lm)
        pos = torch.arange(p, p + s)[None].expand(b, s).contiguous()
        args = [ids, pos]
        names_in.append("position_ids")
        dims["position_ids"] = {0: "batch", 1: "seq"}
        for i in range(c.layers):
            for kind in ("key", "value"):
                args.append(torch.randn(b, c.kv_heads, p, c.head_dim))
                name = f"past_key_values.{i}.{kind}"
                names_in.append(name)
                dims[name] = {0: "batch", 2: "past_seq"}
                present = f"present.{i}.{kind}"
                names_out.append(present)
                dims[present] = {0: "batch", 2: "total_seq"}
        args = tuple(args)
    else:
        model = Plain(lm)
        args = (ids,)
    with torch.no_grad():
        if dynamo:
            seq = torch.export.Dim("seq", min=1, max=c.positions)
            batch = torch.export.Dim("batch", min=1, max=64)
            shapes = {"input_ids": {0: batch, 1: seq}}
            if kv:
                past = torch.export.Dim("past_seq", min=1, max=c.positions)
                shapes["position_ids"] = {0: batch, 1: seq}
                shapes["flat"] = tuple({0: batch, 2: past} for _ in args[2:])
            torch.onnx.export(model, args, out, input_names=names_in,
                              output_names=names_out, opset_version=opset,
                              dynamo=True, dynamic_shapes=shapes,
                              external_data=False)
        else:
            torch.onnx.export(model, args, out, input_names=names_in,
                              output_names=names_out, opset_version=opset,
                              dynamic_axes=dims, do_constant_folding=True)


def main():
    a = argparse.ArgumentParser()
    a.add_argument("out")
    a.add_argument("--family", required=True,
                   choices=["gpt2", "opt", "phi", "llama", "mistral", "qwen", "bert"])
    a.add_argument("--size", default="tiny", choices=list(SIZES))
    a.add_argument("--opset", type=int, default=17)
    a.add_argument("--kv", action="store_true")
    a.add_argument("--dynamo", action="store_true")
    a.add_argument("--seed", type=int, default=0)
    o = a.parse_args()
    export(o.out, o.family, o.size, o.opset, o.kv, o.dynamo, o.seed)


if __name__ == "__main__":
    main()
