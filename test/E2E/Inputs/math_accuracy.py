"""Accuracy of the compiled transcendental functions (inline polynomials on
the CPU) against float64: one ONNX model applies Exp, Tanh, Erf, Sigmoid,
Gelu (erf and tanh forms) and Softmax to a grid of f32 inputs covering
[-20, 20] densely, the range edges and +-inf; quant-run runs it, and each
output is compared with numpy/math in float64.

math_accuracy.py QUANT_RUN DIR
Prints the worst error per function and exits 1 if one is beyond its bound:
absolute 4e-7 for outputs bounded by 1 (tanh, erf, sigmoid), relative 2e-6
for exp (results below the smallest normal f32 only within it), and 1e-6 for gelu, relative above 1 and absolute below (for
x << 0, x (1 + f(x)) / 2 cancels in any f32 evaluation)."""
import math
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

quant_run, out = sys.argv[1], sys.argv[2]
n = 20001
x = np.concatenate([np.linspace(-20, 20, n), [-88.0, -87.3, 88.0, 88.7, 1e-30,
                                              -1e-30, 0.0, np.inf, -np.inf]])
x = x.astype(np.float32)
xs = x.astype(np.float64)

nodes = [
    helper.make_node("Exp", ["x"], ["exp"]),
    helper.make_node("Tanh", ["x"], ["tanh"]),
    helper.make_node("Erf", ["x"], ["erf"]),
    helper.make_node("Sigmoid", ["x"], ["sigmoid"]),
    helper.make_node("Gelu", ["x"], ["gelu_erf"]),
    helper.make_node("Gelu", ["x"], ["gelu_tanh"], approximate="tanh"),
]
outputs = ["exp", "tanh", "erf", "sigmoid", "gelu_erf", "gelu_tanh"]
graph = helper.make_graph(
    nodes, "math", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [len(x)])],
    [helper.make_tensor_value_info(o, TensorProto.FLOAT, [len(x)]) for o in outputs])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
os.makedirs(out, exist_ok=True)
onnx.save(model, f"{out}/math.onnx")
np.save(f"{out}/x.npy", x)
subprocess.run([quant_run, f"{out}/math.onnx", "--input", f"x={out}/x.npy",
                "-o", f"{out}/y", "--output-format", "npy"], check=True,
               stdout=subprocess.DEVNULL)

erf = np.vectorize(math.erf)
with np.errstate(over="ignore", invalid="ignore"):
    expect = {
        "exp": np.exp(xs),
        "tanh": np.tanh(xs),
        "erf": erf(xs),
        "sigmoid": 1 / (1 + np.exp(-xs)),
        "gelu_erf": 0.5 * xs * (1 + erf(xs / math.sqrt(2))),
        "gelu_tanh": 0.5 * xs * (1 + np.tanh(math.sqrt(2 / math.pi) *
                                             (xs + 0.044715 * xs ** 3))),
    }
# Gelu at +-inf is inf * (1 + 1) or -inf * 0 (NaN) as the formula is
# written, in ONNX Runtime too: only finite inputs count for it.
finite_only = {"gelu_erf", "gelu_tanh"}
bounded = {"tanh", "erf", "sigmoid"}
failed = False
for name in outputs:
    got = np.load(f"{out}/y/{name}.npy").astype(np.float64)
    want, at = expect[name], x
    if name in finite_only:
        keep = np.isfinite(x)
        got, want, at = got[keep], want[keep], x[keep]
    # float32 overflow: exp beyond ~88.72 is inf on both sides.
    inf = np.isinf(want) | (np.abs(want) > np.finfo(np.float32).max)
    if not np.array_equal(np.isinf(got), inf) or np.isnan(got).any():
        print(f"{name}: wrong inf/nan at x = {at[np.isinf(got) != inf][:5]}")
        failed = True
        continue
    got, want, at = got[~inf], want[~inf], at[~inf]
    if name in bounded:
        err = np.abs(got - want)
        bound, kind = 4e-7, "absolute"
    elif name == "exp":
        # Results below the smallest normal f32 (x < -87.3) may flush.
        normal = want >= np.finfo(np.float32).tiny
        err = np.where(normal, np.abs(got - want) / np.maximum(want, 1e-300),
                       np.abs(got - want) > np.finfo(np.float32).tiny)
        bound, kind = 2e-6, "relative"
    else:  # gelu: x (1 + f) / 2 cancels for x << 0 in any f32 evaluation
        err = np.abs(got - want) / np.maximum(np.abs(want), 1)
        bound, kind = 1e-6, "relative (absolute below 1)"
    worst = int(np.argmax(err))
    ok = err[worst] <= bound
    failed |= not ok
    print(f"{name}: worst {kind} error {err[worst]:.2e} at x = {at[worst]:.6g} "
          f"(bound {bound:.0e}) {'ok' if ok else 'FAIL'}")
sys.exit(1 if failed else 0)
