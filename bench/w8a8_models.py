"""The W8A8 product as ONNX Runtime's own dynamic quantization writes it
(onnxruntime.quantization.quantize_dynamic, per-channel int8 weights):
A f32 [m, k] -> DynamicQuantizeLinear -> MatMulInteger with the int8 weight
[k, n] -> Cast f32 -> times (A's scale x the weight's per-channel scales).
ORT's optimizer fuses this into its DynamicQuantizeMatMul kernel.
  w8a8_models.py OUT.onnx M K N"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    out = sys.argv[1]
    m, k, n = map(int, sys.argv[2:5])
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(
            rng.integers(-127, 128, size=(k, n), dtype=np.int8), "W"),
        numpy_helper.from_array(np.zeros(n, np.int8), "W_zero"),
        numpy_helper.from_array(
            rng.random(n, dtype=np.float32) * 0.01 + 1e-3, "W_scale")]
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["A"], ["Aq", "As", "Az"]),
        helper.make_node("MatMulInteger", ["Aq", "W", "Az", "W_zero"], ["Yi"]),
        helper.make_node("Cast", ["Yi"], ["Yf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["As", "W_scale"], ["S"]),
        helper.make_node("Mul", ["Yf", "S"], ["Y0"])]
    graph = helper.make_graph(
        nodes, "w8a8",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("Y0", TensorProto.FLOAT, [m, n])], inits)
    onnx.save(helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)]), out)


main()
