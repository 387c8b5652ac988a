"""Shape-changing ops whose ONNX node tests pass their shapes as graph
inputs (so quantc skips them there): the same ops with constant shapes,
compiled and run by quant-run (JIT), compared with numpy. The Reshapes
cover each pairing of dimension runs the importer's expand/collapse
matching handles (1:1, split, merge, runs regrouped on both sides, -1, 0,
unit dimensions, and the flatten/unflatten fallback).
check_shape_ops.py QUANT_RUN TMP_DIR"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

quant_run, tmp = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(0)
x = rng.standard_normal((3, 10, 4)).astype(np.float32)


def ints(name, values):
    return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)




# (name, node, constant inputs, numpy result)
cases = [
    ("slice_step2", "Slice", [ints("s", [1]), ints("e", [9]), ints("a", [1]), ints("p", [2])],
     x[:, 1:9:2, :]),
    ("slice_negative", "Slice", [ints("s", [-3]), ints("e", [100]), ints("a", [1])],
     x[:, -3:, :]),
    ("slice_clamped", "Slice", [ints("s", [-100, 1]), ints("e", [2, 1000]), ints("a", [0, 2])],
     x[:2, :, 1:]),
    ("slice_empty", "Slice", [ints("s", [5]), ints("e", [2]), ints("a", [1])],
     x[:, 5:2, :]),
    ("expand", "Expand", [ints("shape", [2, 1, 1, 1])],
     np.broadcast_to(x, (2, 3, 10, 4))),
    ("unsqueeze", "Unsqueeze", [ints("axes", [0, 3])], x[None, :, :, None, :]),
    ("squeeze", "Squeeze", [ints("axes", [0])], None),  # on unsqueezed x below
]
reshapes = [((2, 3, 4), (3, 2, 4)), ((2, 3, 4), (4, 6)), ((2, 12), (2, 3, 4)),
            ((2, 3, 4), (-1, 4)), ((2, 3, 4), (0, 12)), ((6, 1, 4), (2, 3, 4, 1)),
            ((4, 6), (24,)), ((24,), (2, 2, 6)), ((1, 1), ())]
for n, (shape, target) in enumerate(reshapes):
    data = rng.standard_normal(shape).astype(np.float32)
    want = data.reshape([d if d != 0 else shape[i] for i, d in enumerate(target)])
    cases.append((f"reshape{n}", "Reshape", [ints("t", list(target))], want, data))
failures = 0
for name, op, consts, want, *given in cases:
    data = given[0] if given else x
    if op == "Squeeze":
        data = x[None]
        want = x
    inputs = ["x"] + [c.name for c in consts]
    node = helper.make_node(op, inputs, ["y"])
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(data.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(want.shape))],
        consts)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = os.path.join(tmp, name + ".onnx")
    onnx.save(model, path)
    np.save(os.path.join(tmp, name + ".npy"), data)
    out = os.path.join(tmp, name)
    r = subprocess.run([quant_run, path, "--input", f"x={out}.npy", "-o", out,
                        "--output-format", "npy"], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"{name}: quant-run failed: {r.stderr.strip()}")
        failures += 1
        continue
    got = np.load(os.path.join(out, "y.npy"))
    ok = got.shape == want.shape and np.array_equal(got, want)
    failures += not ok
    print(f"{name}: {'ok' if ok else f'differs, shape {got.shape} vs {want.shape}'}")
print(f"{len(cases) - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
