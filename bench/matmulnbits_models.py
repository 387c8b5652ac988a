"""An ONNX model of `copies` com.microsoft MatMulNBits nodes (ONNX Runtime's
quantized-weight matmul), all reading input A [m, k] f32, each with its own
random packed weights (block 128, uint8 zero points), outputs Y0.. [m, n]:
  matmulnbits_models.py OUT.onnx BITS M K N ACCURACY_LEVEL COPIES
Several copies make a working set larger than the last-level cache, so that
a run reads its weights from memory. accuracy_level 0 computes with f32
activations (as quantc's kernel does), 4 with int8 activations (ONNX
Runtime's fastest CPU path)."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

BLOCK = 128


def main():
    out = sys.argv[1]
    bits, m, k, n, level, copies = map(int, sys.argv[2:8])
    rng = np.random.default_rng(0)
    blocks = (k + BLOCK - 1) // BLOCK
    blob = BLOCK * bits // 8
    zp_bytes = (blocks * bits + 7) // 8
    nodes, inits, outputs = [], [], []
    for c in range(copies):
        inits += [
            numpy_helper.from_array(
                rng.integers(0, 256, size=(n, blocks, blob), dtype=np.uint8),
                f"B{c}"),
            numpy_helper.from_array(
                rng.random(n * blocks, dtype=np.float32) * 0.01 + 1e-3,
                f"scales{c}"),
            numpy_helper.from_array(
                rng.integers(0, 256, size=(n * zp_bytes,), dtype=np.uint8),
                f"zero_points{c}")]
        nodes.append(helper.make_node(
            "MatMulNBits", ["A", f"B{c}", f"scales{c}", f"zero_points{c}"],
            [f"Y{c}"], domain="com.microsoft", K=k, N=n, bits=bits,
            block_size=BLOCK, accuracy_level=level))
        outputs.append(
            helper.make_tensor_value_info(f"Y{c}", TensorProto.FLOAT, [m, n]))
    graph = helper.make_graph(
        nodes, "matmulnbits",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [m, k])],
        outputs, inits)
    onnx.save(helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17),
                              helper.make_opsetid("com.microsoft", 1)]), out)


main()
