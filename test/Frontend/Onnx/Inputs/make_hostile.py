"""Writes ONNX models a hostile or broken exporter could produce (built with
onnx.helper, never checked here): each must be refused with a located error
by the importer. Usage: make_hostile.py OUT_DIR"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
F, I64 = TensorProto.FLOAT, TensorProto.INT64


def save(name, nodes, inputs, outputs, inits=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    with open(f"{out}/{name}.onnx", "wb") as f:
        f.write(model.SerializeToString())


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


x = vi("X", F, ["N", 4])
y = vi("Y", F, ["A", "B"])
y1 = vi("Y", F, ["A"])
node = helper.make_node

save("concat-empty", [node("Concat", ["", "X"], ["Y"], axis=0)], [x], [y])
save("concat-rank0", [node("Concat", ["S", "S"], ["Y"], axis=0)], [vi("S", F, [])], [y1])
save("gather-rank0", [node("Gather", ["S", "I"], ["Y"], axis=0)],
     [vi("S", F, []), vi("I", I64, [2])], [y1])
save("gemm-rank0", [node("Gemm", ["S", "X"], ["Y"])], [vi("S", F, []), x], [y])
save("concat-float-axis",
     [node("Concat", ["X", "X"], ["Y"], axis=0.5)], [x], [y])

# Sizes that overflow 64 bits, with no data behind them.
huge = TensorProto(name="W", data_type=F, dims=[2**33, 2**31])
save("huge-init", [node("Add", ["X", "W"], ["Y"])], [x], [y], [huge])
huge2 = TensorProto(name="W", data_type=F, dims=[2**62, 4])
save("huge-init2", [node("Add", ["X", "W"], ["Y"])], [x], [y], [huge2])
save("huge-input", [node("Relu", ["X"], ["Y"])], [vi("X", F, [2**40, 2**40])], [y])

# External data that is a FIFO in the model's folder (would block forever).
os.mkfifo(f"{out}/fifo.bin")
ext = TensorProto(name="W", data_type=F, dims=[4, 4])
ext.data_location = TensorProto.EXTERNAL
ext.external_data.add(key="location", value="fifo.bin")
save("fifo", [node("MatMul", ["X", "W"], ["Y"])], [x], [y], [ext])

# MatMulInteger is defined on 8-bit integers only.
w8 = numpy_helper.from_array(np.ones((4, 2), np.int8), "W")
save("matmulinteger-f32", [node("MatMulInteger", ["X", "W"], ["Y"])], [x],
     [vi("Y", TensorProto.INT32, ["A", "B"])], [w8])

# Declared outputs that disagree with what the graph computes.
save("output-shape", [node("Relu", ["X"], ["Y"])], [x], [vi("Y", F, ["N", 5])])
save("output-type", [node("Relu", ["X"], ["Y"])], [x], [vi("Y", I64, ["N", 4])])

# An initializer that shadows a graph input of another shape.
w = numpy_helper.from_array(np.ones((4, 4), np.float32), "W")
save("shadow", [node("MatMul", ["X", "W"], ["Y"])], [x, vi("W", F, ["K", 3])],
     [y], [w])
