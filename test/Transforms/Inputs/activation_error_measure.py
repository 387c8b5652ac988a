"""Measures what the report's activation_output_error estimates: the shared
LLaMA in float64 with PyTorch (weights from the ONNX file, the forward of
bench/cuda/torch_llama.py) on the first windows of 256 bytes of TEXT, each
named layer's input X captured, rounded to its static step s (the report's
scale: clip(round(X / s), -127, 127) s) and multiplied by the weight as
rounded (RTN int8 per channel): ||(Q(X) - X) W'||^2 / ||X W'||^2, which
must lie within a factor TOLERANCE of the report's estimate.
  activation_error_measure.py MODEL_KV.onnx REPORT.csv TEXT WINDOWS TOLERANCE LAYER...
"""
import csv
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "../../../bench/cuda"))
import torch_llama  # noqa: E402

model, report_path, text_path = sys.argv[1:4]
windows, tolerance = int(sys.argv[4]), float(sys.argv[5])
layers = sys.argv[6:]
report = {r["layer"]: r for r in csv.DictReader(open(report_path))}
inputs = {name: [] for name in layers}
weights = {}


def capture(name, x, w):
    layer = "m." + name
    if layer in inputs:
        inputs[layer].append(x.reshape(-1, x.shape[-1]).clone())
        weights[layer] = w.numpy()
    return x @ w


with tempfile.TemporaryDirectory() as tmp:
    npz = os.path.join(tmp, "weights.npz")
    torch_llama.export(model, npz)
    forward = torch_llama.build(npz, "cpu", torch.float64, capture)
text = open(text_path, "rb").read()
with torch.no_grad():
    for i in range(windows):
        ids = np.frombuffer(text[256 * i:256 * (i + 1)], np.uint8).astype(np.int64)
        forward(torch.tensor(ids)[None], None)
ok = True
for layer in layers:
    x, w = torch.cat(inputs[layer]).numpy(), weights[layer]
    step = float(report[layer]["activations"].split("scale ")[1])
    s = np.abs(w).max(axis=0) / 127
    wq = s * np.clip(np.rint(w / s), -127, 127)
    e = np.clip(np.rint(x / step), -127, 127) * step - x
    measured = ((e @ wq) ** 2).sum() / ((x @ wq) ** 2).sum()
    estimate = float(report[layer]["activation_output_error"])
    good = estimate / tolerance <= measured <= estimate * tolerance
    ok &= good
    print("%s: %s (estimate %.3e, measured %.3e)"
          % (layer, "agrees" if good else "DISAGREES", estimate, measured))
sys.exit(0 if ok else 1)
