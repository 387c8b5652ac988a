"""Recomputes the report's relative output error of round-to-nearest int8
per-channel weights without quantc: W from the ONNX model (MatMul B, K x
N), W' = s * clip(round(W / s), -127, 127) with s = max|column| / 127, H
from the statistics file; error = tr(D^T H D) / tr(W^T H W), D = W - W'.
With --activations, the expected error of static int8 activations instead:
step s = max_j absmax_j / 127 (absmax from the statistics), each input
channel's rounding error independent, of variance min(s^2/12, E[x_j^2])
(E[x_j^2] = H_jj / 2): sum_j var_j ||W'_j||^2 / (tr(W'^T H W') / 2).
  report_check.py STATS MODEL.onnx REPORT.csv LAYER... [--activations]
Agreement within 1% (f32 scales; ties rounding differently)."""
import csv
import json
import struct
import sys

import numpy as np
import onnx
from onnx import numpy_helper

stats_path, model_path, report_path = sys.argv[1:4]
data = open(stats_path, "rb").read()
at, size = struct.unpack("<QQ", data[-24:-8])
activations = "--activations" in sys.argv
hessians, absmaxes = {}, {}
for r in json.loads(data[at:at + size])["records"]:
    k = r["k"]
    h = np.frombuffer(data, np.float32, k * k, r["offset"] + 8 * k)
    absmax = np.frombuffer(data, np.float32, k, r["offset"])
    for layer in r["layers"]:
        hessians[layer] = h.astype(np.float64).reshape(k, k)
        absmaxes[layer] = absmax.astype(np.float64)
model = onnx.load(model_path)
inits = {t.name: t for t in model.graph.initializer}
weights = {}
for n in model.graph.node:
    if n.op_type == "MatMul" and n.input[1] in inits:
        # "/m/blocks.0/q/MatMul" is layer "m.blocks.0.q".
        name = ".".join(p for p in n.name.split("/")[:-1] if p)
        weights[name] = numpy_helper.to_array(inits[n.input[1]]).astype(np.float64)
rows = {r["layer"]: r for r in csv.DictReader(open(report_path))}
ok = True
for layer in [a for a in sys.argv[4:] if not a.startswith("--")]:
    w, h = weights[layer], hessians[layer]
    s = (np.abs(w).max(axis=0) / 127).astype(np.float32).astype(np.float64)
    wq = s * np.clip(np.rint(w / s), -127, 127)
    if activations:
        step = absmaxes[layer].max() / 127
        var = np.minimum(step * step / 12, np.diag(h) / 2)
        want = (var * (wq * wq).sum(axis=1)).sum() / (np.trace(wq.T @ h @ wq) / 2)
        got = float(rows[layer]["activation_output_error"])
    else:
        d = w - wq
        want = np.trace(d.T @ h @ d) / np.trace(w.T @ h @ w)
        got = float(rows[layer]["relative_output_error"])
    good = abs(got - want) <= 0.01 * want
    ok &= good
    print("%s: %s (quantc %.4e, numpy %.4e)" % (layer, "matches" if good else "DIFFERS", got, want))
sys.exit(0 if ok else 1)
