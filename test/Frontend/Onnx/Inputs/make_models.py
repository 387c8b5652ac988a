"""Writes small ONNX models with external data, good and broken, for the
importer's tests: make_models.py OUT_DIR."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

# OUT_DIR/models holds the models and their weights; OUT_DIR/w.bin is a
# file outside the models' folder that no model may reach.
out = os.path.join(sys.argv[1], "models")
os.makedirs(out, exist_ok=True)
weights = np.arange(8 * 4, dtype=np.float32).reshape(8, 4) / 10
for path in (os.path.join(out, "w.bin"), os.path.join(out, "..", "w.bin")):
    with open(path, "wb") as f:
        f.write(b"\0" * 64)  # data need not start the file
        f.write(weights.tobytes())


def model(name, location="w.bin", offset=64, length=None):
    w = TensorProto()
    w.name = "layer.weight"
    w.data_type = TensorProto.FLOAT
    w.dims.extend([8, 4])
    w.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", offset),
                       ("length", length)):
        if value is not None:
            entry = w.external_data.add()
            entry.key, entry.value = key, str(value)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])
    node = helper.make_node("MatMul", ["x", "layer.weight"], ["y"],
                            name="/layer/MatMul")
    graph = helper.make_graph([node], "g", [x], [y], [w])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    with open(os.path.join(out, name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())


model("good")
model("missing", location="nowhere.bin")
model("escape", location="../w.bin")
model("absolute", location=os.path.abspath(os.path.join(out, "..", "w.bin")))
model("offset", offset=1 << 20)
model("length", length=12)
