"""Runs Reshape models through quant-run (JIT) and compares with numpy:
every pairing of dimension runs the importer's expand/collapse matching
handles (1:1, split, merge, regrouped static runs, -1, 0, unit dims, and
the flatten/unflatten fallback).  check_reshapes.py QUANT_RUN TMP_DIR"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

quant_run, tmp = sys.argv[1], sys.argv[2]
cases = [((2, 3, 4), (3, 2, 4)), ((2, 3, 4), (4, 6)), ((2, 12), (2, 3, 4)),
         ((2, 3, 4), (-1, 4)), ((2, 3, 4), (0, 12)), ((6, 1, 4), (2, 3, 4, 1)),
         ((4, 6), (24,)), ((24,), (2, 2, 6)), ((1, 1), ())]
failures = 0
for n, (shape, target) in enumerate(cases):
    want_shape = np.empty(shape).reshape(
        [d if d != 0 else shape[i] for i, d in enumerate(target)]).shape
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, list(want_shape))
    t = helper.make_tensor("t", TensorProto.INT64, [len(target)], list(target))
    graph = helper.make_graph([helper.make_node("Reshape", ["x", "t"], ["y"])],
                              "g", [x], [y], [t])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = os.path.join(tmp, f"r{n}.onnx")
    onnx.save(model, path)
    data = np.random.default_rng(n).standard_normal(shape).astype(np.float32)
    np.save(os.path.join(tmp, f"x{n}.npy"), data)
    out = os.path.join(tmp, f"out{n}")
    subprocess.run([quant_run, path, "--input", f"x={tmp}/x{n}.npy", "-o", out,
                    "--output-format", "npy"], check=True, stdout=subprocess.DEVNULL)
    want = data.reshape([d if d != 0 else shape[i] for i, d in enumerate(target)])
    got = np.load(os.path.join(out, "y.npy"))
    ok = got.shape == want.shape and np.array_equal(got, want)
    failures += not ok
    print(f"{shape} -> {target}: {'ok' if ok else f'got {got.shape}'}")
print(f"{len(cases) - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
