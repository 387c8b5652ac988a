"""The W8A8 product as ONNX Runtime's own dynamic quantization writes it
(onnxruntime.quantization.quantize_dynamic, per-channel int8 weights):
A f32 [m, k] -> DynamicQuantizeLinear -> MatMulInteger with the int8 weight
[k, n] -> Cast f32 -> times (A's scale x the weight's per-channel scales).
ORT's optimizer fuses this into its DynamicQuantizeMatMul kernel.
  w8a8_models.py OUT.onnx M K N        one such product, random weights
  w8a8_models.py --model IN.onnx OUT.onnx
      every MatMul of IN whose B is a 2-D f32 initializer rewritten so (B
      quantized per column, scale max|column| / 127); prints their number"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "test", "Zoo"))
from qdq_rewrite import rewrite_weight_matmuls  # noqa: E402


def dynamic_matmul(a, y, w, tag):
    """Nodes and initializers computing y = a @ w the dynamic-quantization
    way; w: int8 codes [k, n] and f32 scales [n]."""
    codes, scales = w
    inits = [numpy_helper.from_array(codes, tag + "_W"),
             numpy_helper.from_array(np.zeros(codes.shape[1], np.int8), tag + "_W_zero"),
             numpy_helper.from_array(scales.astype(np.float32), tag + "_W_scale")]
    nodes = [
        helper.make_node("DynamicQuantizeLinear", [a], [tag + "_Aq", tag + "_As", tag + "_Az"]),
        helper.make_node("MatMulInteger", [tag + "_Aq", tag + "_W", tag + "_Az", tag + "_W_zero"],
                         [tag + "_Yi"]),
        helper.make_node("Cast", [tag + "_Yi"], [tag + "_Yf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", [tag + "_As", tag + "_W_scale"], [tag + "_S"]),
        helper.make_node("Mul", [tag + "_Yf", tag + "_S"], [y])]
    return nodes, inits


def product(out, m, k, n):
    rng = np.random.default_rng(0)
    w = (rng.integers(-127, 128, size=(k, n), dtype=np.int8),
         rng.random(n, dtype=np.float32) * 0.01 + 1e-3)
    nodes, inits = dynamic_matmul("A", "Y0", w, "l")
    graph = helper.make_graph(
        nodes, "w8a8",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("Y0", TensorProto.FLOAT, [m, n])], inits)
    onnx.save(helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)]), out)


def whole_model(src, out):
    model = onnx.load(src)
    count = rewrite_weight_matmuls(
        model, lambda node, q, s, tag: dynamic_matmul(
            node.input[0], node.output[0], (q, s), tag))
    onnx.save(model, out)
    print(count)


if sys.argv[1] == "--model":
    whole_model(sys.argv[2], sys.argv[3])
else:
    product(sys.argv[1], *map(int, sys.argv[2:5]))
