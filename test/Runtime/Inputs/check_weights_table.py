"""Checks an artifact's weights table against its blob and the source ONNX
model: usage check_weights_table.py ARTIFACT MODEL.onnx. Prints what holds,
one fact a line, for FileCheck.

- every piece lies inside weights.bin, none overlaps another;
- a dense piece's bytes are its shape times its dtype's size;
- a dense piece named for an initializer of the model (as the IR spells
  it) holds that
  initializer's values (as stored in the model, or transposed: the compiler
  keeps matrices in the order its kernels read them);
- quantized pieces: which formats, layouts and parts there are.
"""
import collections
import json
import sys

import numpy as np
import onnx
from onnx import numpy_helper

art, model_path = sys.argv[1], sys.argv[2]
m = json.load(open(f"{art}/manifest.json"))
blob = open(f"{art}/{m['weights']['file']}", "rb").read()
table = m["weights"]["tensors"]
dtypes = {"f32": np.float32, "f16": np.float16, "i64": np.int64,
          "i32": np.int32, "i8": np.int8, "f64": np.float64}

extents = sorted((t["offset"], t["offset"] + t["bytes"]) for t in table)
inside = all(0 <= a <= b <= len(blob) for a, b in extents)
apart = all(extents[i][0] >= extents[i - 1][1] for i in range(1, len(extents)))
print(f"pieces inside the blob, none overlapping: {inside and apart}")

dense = [t for t in table if t["format"] == "dense"]
sized = all(t["layout"] == "row_major" and
            t["bytes"] == int(np.prod(t["shape"])) * np.dtype(dtypes[t["dtype"]]).itemsize
            for t in dense)
print(f"dense pieces sized by their shapes: {sized}")

def ir_name(name):
    """The initializer's name as the IR (and so the table) spells it:
    characters other than letters, digits, '_' and '.' become '_'."""
    key = "".join(c if c.isalnum() or c in "_." else "_" for c in name)
    return "w_" + key if not key or key[0].isdigit() else key


inits = {ir_name(i.name): numpy_helper.to_array(i)
         for i in onnx.load(model_path).graph.initializer}
named = [t for t in dense if t["name"] in inits]
same = 0
for t in named:
    stored = np.frombuffer(blob, dtypes[t["dtype"]], int(np.prod(t["shape"])),
                           t["offset"]).reshape(t["shape"])
    source = inits[t["name"]]
    same += any(s.shape == stored.shape and np.array_equal(s, stored)
                for s in (source, source.T))
print(f"dense pieces named for initializers: {len(named)}, holding their values: {same}")

count, size = collections.Counter(), collections.Counter()
for t in table:
    if t["format"] != "dense":
        key = (t["format"], t["layout"], t["part"])
        count[key] += 1
        size[key] += t["bytes"]
for (fmt, layout, part), n in sorted(count.items()):
    print(f"{n} x {part} of {fmt} in {layout}: {size[fmt, layout, part]} bytes")
