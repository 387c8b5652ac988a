"""A QDQ model (ONNX's QuantizeLinear/DequantizeLinear around MatMul, as
static quantization tools write it), and numpy's answer for it.

qdq_model.py write DIR OPSET   DIR/model.onnx and DIR/x.npy:
  y1 = MatMul(DQ(Q(x, 2^-5, int8 0)), DQ(W1 int8, per-column scales))
  y2 = MatMul(DQ(Q(relu(y1), 2^-4, uint8 128)), DQ(W2 uint8 zero point 128,
       one scale))                        -- both int8 x int8 on the CPU
  y3 = MatMul(DQ(Q(x, 2^-5, uint8 3)), DQ(W1 ...))
                                          -- asymmetric activation codes:
                                             int8 x int8 too
  y4 = MatMul(DQ(Q(x, 2^-5, int8 0)), DQ(W3 int8, zero points 1))
                                          -- asymmetric weight codes:
                                             int8 x int8 too
  y5 = Gemm(DQ(Q(x, 2^-5, int8 0)), DQ(W4 int8 [N4, K], per-row scales,
       axis 0), C, transB = 1)            -- channels along B's rows, a bias
qdq_model.py check DIR RESULT_DIR   compares RESULT_DIR/y{1..5}.npy with
  float64 products of ONNX's definition: q = saturate(round-half-even(x /
  s) + z), DQ(q) = (q - z) * s.
Every scale is a power of two, so that each quantity the int8 path forms
(x / s, the int32 sums times s_x * s_w) is exact in f32 and codes cannot
round differently; tolerance 2e-6 of the sum of |terms| (f32 accumulation
where the product stays floating point)."""
import os
import sys

import numpy as np

K, N1, N2, N3, N4, ROWS = 64, 48, 32, 16, 24, 13
S1, S2 = 2.0 ** -5, 2.0 ** -4


def params():
    rng = np.random.default_rng(11)
    w1 = rng.integers(-128, 128, (K, N1)).astype(np.int8)
    s_w1 = (2.0 ** -rng.integers(6, 10, N1)).astype(np.float32)
    w2 = rng.integers(0, 256, (N1, N2)).astype(np.uint8)
    s_w2 = np.float32(2.0 ** -9)
    w3 = rng.integers(-120, 120, (K, N3)).astype(np.int8)
    s_w3 = (2.0 ** -rng.integers(6, 10, N3)).astype(np.float32)
    z_w3 = np.ones(N3, np.int8)
    return w1, s_w1, w2, s_w2, w3, s_w3, z_w3


def gemm_params():
    rng = np.random.default_rng(12)
    w4 = rng.integers(-128, 128, (N4, K)).astype(np.int8)
    s_w4 = (2.0 ** -rng.integers(6, 10, N4)).astype(np.float32)
    c4 = (rng.integers(-64, 64, N4) * 2.0 ** -6).astype(np.float32)
    return w4, s_w4, c4


def inputs():
    # Values past 127 steps of 2^-5 (4.0) saturate.
    return np.random.default_rng(3).normal(0, 1.6, (ROWS, K)).astype(np.float32)


def write(out, opset):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    w1, s_w1, w2, s_w2, w3, s_w3, z_w3 = params()
    w4, s_w4, c4 = gemm_params()
    init = [numpy_helper.from_array(a, n) for a, n in [
        (w4, "W4"), (s_w4, "W4_scale"), (c4, "C4"),
        (w1, "W1"), (s_w1, "W1_scale"), (w2, "W2"), (np.array(s_w2), "W2_scale"),
        (np.array(np.uint8(128)), "W2_zero"), (w3, "W3"), (s_w3, "W3_scale"),
        (z_w3, "W3_zero"), (np.array(np.float32(S1)), "s1"),
        (np.array(np.int8(0)), "z1"), (np.array(np.float32(S2)), "s2"),
        (np.array(np.uint8(128)), "z2"), (np.array(np.uint8(3)), "z3")]]
    Q, DQ = "QuantizeLinear", "DequantizeLinear"
    nodes = [
        helper.make_node(Q, ["x", "s1", "z1"], ["xq"], name="/l1/Q"),
        helper.make_node(DQ, ["xq", "s1", "z1"], ["xd"], name="/l1/DQ"),
        helper.make_node(DQ, ["W1", "W1_scale"], ["w1d"], name="/l1/W_DQ", axis=1),
        helper.make_node("MatMul", ["xd", "w1d"], ["y1"], name="/l1/MatMul"),
        helper.make_node("Relu", ["y1"], ["h"], name="/relu"),
        helper.make_node(Q, ["h", "s2", "z2"], ["hq"], name="/l2/Q"),
        helper.make_node(DQ, ["hq", "s2", "z2"], ["hd"], name="/l2/DQ"),
        helper.make_node(DQ, ["W2", "W2_scale", "W2_zero"], ["w2d"], name="/l2/W_DQ"),
        helper.make_node("MatMul", ["hd", "w2d"], ["y2"], name="/l2/MatMul"),
        helper.make_node(Q, ["x", "s1", "z3"], ["xq3"], name="/l3/Q"),
        helper.make_node(DQ, ["xq3", "s1", "z3"], ["xd3"], name="/l3/DQ"),
        helper.make_node("MatMul", ["xd3", "w1d"], ["y3"], name="/l3/MatMul"),
        helper.make_node(DQ, ["W3", "W3_scale", "W3_zero"], ["w3d"], name="/l4/W_DQ", axis=1),
        helper.make_node("MatMul", ["xd", "w3d"], ["y4"], name="/l4/MatMul"),
        helper.make_node(DQ, ["W4", "W4_scale"], ["w4d"], name="/l5/W_DQ", axis=0),
        helper.make_node("Gemm", ["xd", "w4d", "C4"], ["y5"], name="/l5/Gemm",
                         transB=1),
    ]
    f = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes, "qdq", [helper.make_tensor_value_info("x", f, ["rows", K])],
        [helper.make_tensor_value_info("y1", f, ["rows", N1]),
         helper.make_tensor_value_info("y2", f, ["rows", N2]),
         helper.make_tensor_value_info("y3", f, ["rows", N1]),
         helper.make_tensor_value_info("y4", f, ["rows", N3]),
         helper.make_tensor_value_info("y5", f, ["rows", N4])], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8 if opset < 21 else 10
    if opset <= onnx.defs.onnx_opset_version():
        onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, "model.onnx"))
    np.save(os.path.join(out, "x.npy"), inputs())


def qdq(x, s, z, lo, hi):
    # ONNX: x / s in the input's float type, rounded half to even.
    q = np.clip(np.rint(x.astype(np.float32) / np.float32(s)) + z, lo, hi)
    return (q - z) * np.float64(s)


def check(out, results):
    w1, s_w1, w2, s_w2, w3, s_w3, z_w3 = params()
    x = inputs()
    dw1 = w1.astype(np.float64) * s_w1
    dw2 = (w2.astype(np.float64) - 128) * np.float64(s_w2)
    dw3 = (w3.astype(np.float64) - z_w3) * s_w3
    xd = qdq(x, S1, 0, -128, 127)
    y1 = xd @ dw1
    hd = qdq(np.maximum(y1, 0), S2, 128, 0, 255)
    w4, s_w4, c4 = gemm_params()
    dw4 = (w4.astype(np.float64) * s_w4[:, None]).T
    cases = {"y1": (xd, dw1, 0), "y2": (hd, dw2, 0),
             "y3": (qdq(x, S1, 3, 0, 255), dw1, 0), "y4": (xd, dw3, 0),
             "y5": (xd, dw4, c4.astype(np.float64))}
    ok = True
    for name, (a, w, c) in cases.items():
        got = np.load(os.path.join(results, name + ".npy")).astype(np.float64)
        want = a @ w + c
        mag = np.abs(a) @ np.abs(w) + np.abs(c)
        if got.shape != want.shape or not np.all(
                np.abs(got - want) <= 2e-6 * mag + 1e-7):
            ok = False
            print("%s: mismatch, worst %g" % (
                name, float(np.max(np.abs(got - want))) if got.shape == want.shape
                else float("nan")))
    print("qdq: match" if ok else "qdq: MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], int(sys.argv[3]))
    else:
        check(sys.argv[2], sys.argv[3])
