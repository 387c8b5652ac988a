#!/usr/bin/env python3
"""Exports the zoo with today's PyTorch exporter (torch.onnx.export with
dynamo=True, opsets 18 and 21), which Debian's PyTorch 1.13 does not have;
run where PyTorch 2.x is (the device machine), the outputs are committed
under test/Zoo/Inputs. Also exports Hugging Face transformers' own models
of each family (tiny random configs, logits of input_ids only), when
transformers is there, as users' graphs look.

export_current.py OUT_DIR   (prints one line per model: ok or the error)"""
import os
import sys
import traceback

import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoo  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
print("torch", torch.__version__, flush=True)


def strip(path):
    """Drops the exporter's per-node stack traces and doc strings (half of
    a small model's bytes; nothing quantc or ONNX Runtime reads)."""
    m = onnx.load(path)
    for n in m.graph.node:
        del n.metadata_props[:]
        n.doc_string = ""
    for v in list(m.graph.input) + list(m.graph.output) + list(m.graph.value_info):
        del v.metadata_props[:]
    del m.graph.value_info[:]
    onnx.save(m, path)


def attempt(name, fn):
    try:
        fn()
        strip(os.path.join(out, name))
        print(f"{name}: ok ({os.path.getsize(os.path.join(out, name))} bytes)", flush=True)
    except Exception as e:  # report and go on: one family must not hide the rest
        print(f"{name}: FAILED {type(e).__name__}: {str(e)[:300]}", flush=True)
        traceback.print_exc(limit=3)


# The decoder-with-past graphs (their one-shot prefill is the plain graph's
# computation), the encoder, and opset 21 where its graphs differ.
exports = [(f, 18, f != "bert") for f in
           ("gpt2", "opt", "phi", "llama", "mistral", "qwen", "bert")]
exports += [("gpt2", 21, True), ("phi", 21, True)]
for family, opset, kv in exports:
    name = f"{family}{'_kv' if kv else ''}_op{opset}.onnx"
    attempt(name, lambda: zoo.export(os.path.join(out, name), family,
                                     "micro", opset, kv, dynamo=True))

try:
    import transformers as hf
except ImportError:
    sys.exit(0)
print("transformers", hf.__version__, flush=True)
common = dict(vocab_size=256, hidden_size=32, num_hidden_layers=2,
              num_attention_heads=4, intermediate_size=64,
              max_position_embeddings=64)
configs = {
    "hf_gpt2": lambda: hf.GPT2Config(vocab_size=256, n_embd=32, n_layer=2, n_head=4,
                                     n_positions=64),
    "hf_opt": lambda: hf.OPTConfig(vocab_size=256, hidden_size=32, num_hidden_layers=2,
                                   num_attention_heads=4, ffn_dim=64,
                                   max_position_embeddings=64, word_embed_proj_dim=32),
    "hf_phi": lambda: hf.PhiConfig(**common, partial_rotary_factor=0.5),
    "hf_llama": lambda: hf.LlamaConfig(**common),
    "hf_mistral": lambda: hf.MistralConfig(**common, num_key_value_heads=2),
    "hf_qwen2": lambda: hf.Qwen2Config(**common, num_key_value_heads=1,
                                       tie_word_embeddings=True),
}
classes = {"hf_gpt2": "GPT2LMHeadModel", "hf_opt": "OPTForCausalLM",
           "hf_phi": "PhiForCausalLM", "hf_llama": "LlamaForCausalLM",
           "hf_mistral": "MistralForCausalLM", "hf_qwen2": "Qwen2ForCausalLM"}


class Logits(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids):
        return self.m(input_ids=input_ids, use_cache=False).logits


for name, make in configs.items():
    def export(name=name, make=make):
        torch.manual_seed(0)
        m = getattr(hf, classes[name])(make()).eval()
        ids = torch.randint(0, 256, (2, 5))
        seq = torch.export.Dim("seq", min=2, max=64)
        batch = torch.export.Dim("batch", min=1, max=64)
        with torch.no_grad():
            torch.onnx.export(Logits(m), (ids,), os.path.join(out, name + "_op18.onnx"),
                              input_names=["input_ids"], output_names=["logits"],
                              opset_version=18, dynamo=True,
                              dynamic_shapes={"input_ids": {0: batch, 1: seq}},
                              external_data=False)
    attempt(name + "_op18.onnx", export)
