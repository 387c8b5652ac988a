"""Writes a model in QDQ form, as static quantization tools (ONNX Runtime's
quantize_static with symmetric activations, TensorRT's) write it: for each
MatMul whose B is a 2-D f32 initializer, B becomes int8 codes (symmetric,
scale max|column| / 127 per column) read through DequantizeLinear (axis 1),
and A is read through QuantizeLinear -> DequantizeLinear with one scale
(SCALE, default 2^-4; values past 127 steps saturate, in ONNX Runtime as
in quantc) and zero point int8 0 -- or uint8 128 with --uint8.
  qdq_rewrite.py IN OUT [--scale S] [--uint8]
Prints the number of MatMuls rewritten."""
import argparse

import numpy as np
import onnx
from onnx import helper, numpy_helper

p = argparse.ArgumentParser()
p.add_argument("src")
p.add_argument("out")
p.add_argument("--scale", type=float, default=2.0 ** -4)
p.add_argument("--uint8", action="store_true")
a = p.parse_args()

model = onnx.load(a.src)
g = model.graph
inits = {t.name: t for t in g.initializer}
zero = np.uint8(128) if a.uint8 else np.int8(0)
g.initializer.extend([numpy_helper.from_array(np.array(np.float32(a.scale)), "qdq_s"),
                      numpy_helper.from_array(np.array(zero), "qdq_z")])
nodes, count = [], 0
for n in g.node:
    b = inits.get(n.input[1]) if n.op_type == "MatMul" else None
    w = numpy_helper.to_array(b) if b is not None else None
    if w is None or w.ndim != 2 or w.dtype != np.float32:
        nodes.append(n)
        continue
    count += 1
    tag = "qdq%d" % count
    s = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0
    q = np.clip(np.rint(w / s), -127, 127).astype(np.int8)
    g.initializer.extend([numpy_helper.from_array(q, tag + "_w"),
                          numpy_helper.from_array(s.astype(np.float32), tag + "_ws")])
    nodes += [
        helper.make_node("QuantizeLinear", [n.input[0], "qdq_s", "qdq_z"],
                         [tag + "_xq"], name=tag + "/Q"),
        helper.make_node("DequantizeLinear", [tag + "_xq", "qdq_s", "qdq_z"],
                         [tag + "_x"], name=tag + "/DQ"),
        helper.make_node("DequantizeLinear", [tag + "_w", tag + "_ws"],
                         [tag + "_wd"], name=tag + "/W_DQ", axis=1),
        helper.make_node("MatMul", [tag + "_x", tag + "_wd"], list(n.output),
                         name=n.name)]
del g.node[:]
g.node.extend(nodes)
used = {i for n in g.node for i in n.input}
kept = [t for t in g.initializer if t.name in used]
del g.initializer[:]
g.initializer.extend(kept)
onnx.save(model, a.out)
print(count)
