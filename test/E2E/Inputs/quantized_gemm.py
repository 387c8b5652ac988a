"""A quantized Gemm with a bias, end to end, against float64: one ONNX Gemm
(x [rows, 256] times a constant W [256, 96] plus a constant bias) whose
weight int8 symmetric per-channel f32-scale quantization holds exactly
(every column is integers times 1/64, one of them 127/64), compiled with
quantc and run with quant-run on rows of 1, 3 and 20 (decode and prefill
paths of the kernel).

quantized_gemm.py DIR   writes DIR/gemm.onnx and DIR/x{1,3,20}.npy
quantized_gemm.py DIR --check ARTIFACT_OUTPUT_DIR...
   prints the worst relative error of each against x @ W + b (float64)
   and exits 1 above 1e-5"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(7)
w = rng.integers(-126, 127, (256, 96)).astype(np.float64)
w[0, :] = 127  # the largest |code| of every channel: scale 127/64 / 127
w /= 64
b = rng.standard_normal(96)
rows = [1, 3, 20]

if "--check" not in sys.argv:
    os.makedirs(out, exist_ok=True)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="/head/Gemm")], "gemm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", 256])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["rows", 96])],
        [numpy_helper.from_array(w.astype(np.float32), "w"),
         numpy_helper.from_array(b.astype(np.float32), "b")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
              f"{out}/gemm.onnx")
    for r in rows:
        np.save(f"{out}/x{r}.npy", rng.standard_normal((r, 256)).astype(np.float32))
    sys.exit(0)

failed = False
for r, d in zip(rows, sys.argv[sys.argv.index("--check") + 1:]):
    x = np.load(f"{out}/x{r}.npy").astype(np.float64)
    want = x @ w + b
    got = np.load(f"{d}/y.npy").astype(np.float64)
    err = float(np.max(np.abs(got - want)) / np.max(np.abs(want)))
    print(f"rows {r}: worst relative error {err:.2e} (tolerance 1e-05)")
    failed |= not err <= 1e-5
sys.exit(1 if failed else 0)
