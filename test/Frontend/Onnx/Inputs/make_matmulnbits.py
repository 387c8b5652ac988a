"""Writes a com.microsoft MatMulNBits model (K=32, N=2, 4 bits, block 16):
make_matmulnbits.py OUT.onnx."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

k, n, block = 32, 2, 16
codes = np.full((n, k // block, block // 2), 0x21, dtype=np.uint8)
codes[1, 1, :] = 0xF0
scales = np.array([0.5, 0.25, 2.0, 1.0], dtype=np.float32)
zeros = np.array([0x93, 0xC4], dtype=np.uint8)  # col 0: 3, 9; col 1: 4, 12
inits = [numpy_helper.from_array(codes, "B"),
         numpy_helper.from_array(scales, "scales"),
         numpy_helper.from_array(zeros, "zeros")]
node = helper.make_node("MatMulNBits", ["x", "B", "scales", "zeros"], ["y"],
                        domain="com.microsoft", name="/m/proj/MatMulNBits",
                        K=k, N=n, bits=4, block_size=block)
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["s", k])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["s", n])
graph = helper.make_graph([node], "g", [x], [y], inits)
model = helper.make_model(graph, opset_imports=[
    helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
model.ir_version = 8
onnx.save(model, sys.argv[1])
