"""Linear layers with int8 activations, and numpy's answer for them.

w8a8_model.py write DIR   model.mlir: two layers reading x [rows, 96] (one
    with a bias) and one reading x3 [2, rows, 96]; static.mlir: the same
    layers reading qc.dequantize(qc.quantize(x)) at scale 0.03 (values past
    127 steps clamp). Inputs x.npy, x3.npy.
w8a8_model.py check DIR RESULT_DIR static|dynamic
    compares RESULT_DIR/{y1,y2,z}.npy with float64 products of
    - the activations quantized as qc-quantize-activations specifies:
      dynamic, per row s = max|x| / 127 (f32), codes round-half-even(x / s);
      static, codes clamp(round-half-even(x / 0.03), -128, 127); split: the
      same of x with the SPLIT columns zeroed, plus x[..., SPLIT] times
      their weight rows unquantized;
    - the weights, built as 2^-e_n * q with integer q in [-127, 127] and
      max |q| = 127 in every column, so that int8 per-channel quantization
      (scale max|w| / 127) stores them exactly, whatever rounding it uses.
Tolerance: 2e-6 of the sum of |terms| (f32 accumulation of the scaled
int32 sums; one code off anywhere moves a product by ~1e-4 of it)."""
import os
import sys

import numpy as np

K, N1, N2, ROWS = 96, 40, 24, 11
STATIC = np.float32(0.03)
# LLM.int8()'s f32 columns in split*.mlir: x's outlier channel and another
# for the 2-D layers, the first and last for the 3-D one.
SPLIT = {"x": [5, 17], "x3": [0, 95]}


def weights():
    rng = np.random.default_rng(7)
    out = []
    for n in (N1, N2, N2):
        q = rng.integers(-127, 128, (K, n)).astype(np.float64)
        # Full-scale codes away from the SPLIT columns, which split.mlir
        # zeroes: its per-channel scales stay exact too.
        q[rng.integers(20, 90, n), np.arange(n)] = 127.0
        e = rng.integers(3, 9, n)
        out.append(q * 2.0 ** -e)
    bias = rng.standard_normal(N1).astype(np.float32)
    return out, bias


def inputs():
    rng = np.random.default_rng(11)
    x = (rng.standard_normal((ROWS, K)) * 1.5).astype(np.float32)
    x[:, 5] *= 40  # an outlier channel, as LLMs have
    x[3] = 0  # an all-zero row: scale 0
    x3 = (rng.standard_normal((2, ROWS, K)) * 2).astype(np.float32)
    return x, x3


def dense(a):
    rows = ", ".join("[" + ", ".join(f"{v:.9e}" for v in r) + "]" for r in a)
    return f"dense<[{rows}]>"


def split_layer(lines, name, a, cols, w, n, rank):
    """Lines of qc-split-outliers' form of layer `name` reading %{a}'s split
    (%{a}_rest, %{a}_out): the layer on the rest (its weight %{name}w with
    the rows zeroed, as written by the caller), the f32 product of the
    columns, and their sum %{name}."""
    lead = "?x" * (rank - 1)
    t = f"tensor<{lead}{n}xf32>"
    ident = "affine_map<(" + ", ".join(f"d{i}" for i in range(rank)) + ") -> (" + \
        ", ".join(f"d{i}" for i in range(rank)) + ")>"
    iterators = ", ".join(['"parallel"'] * rank)
    dims = []
    for i in range(rank - 1):
        lines.append(f"  %{name}c{i} = arith.constant {i} : index")
        lines.append(f"  %{name}d{i} = tensor.dim %{a}, %{name}c{i} : "
                     f"tensor<{lead}96xf32>")
        dims.append(f"%{name}d{i}")
    lines += [
        f"  %{name}wo = arith.constant {dense(w[cols])} : tensor<{len(cols)}x{n}xf32>",
        f"  %{name}o = qc.linear %{a}_out, %{name}wo : tensor<{lead}{len(cols)}xf32>, "
        f"tensor<{len(cols)}x{n}xf32> -> {t}",
        f"  %{name}e = tensor.empty({', '.join(dims)}) : {t}",
        f"  %{name} = linalg.generic {{indexing_maps = [{ident}, {ident}, {ident}], "
        f"iterator_types = [{iterators}]}} "
        f"ins(%{name}m, %{name}o : {t}, {t}) outs(%{name}e : {t}) {{",
        "  ^bb0(%lhs: f32, %rhs: f32, %acc: f32):",
        "    %sum = arith.addf %lhs, %rhs : f32",
        "    linalg.yield %sum : f32",
        f"  }} -> {t}"]


def write(out):
    (w1, w2, w3), bias = weights()
    x, x3 = inputs()
    np.save(os.path.join(out, "x.npy"), x)
    np.save(os.path.join(out, "x3.npy"), x3)
    q = "!quant.uniform<i8:f32, 3.000000e-02>"
    for name, static, split in (("model.mlir", False, False),
                                ("static.mlir", True, False),
                                ("split.mlir", False, True),
                                ("split-static.mlir", True, True)):
        rows = {}
        if split:  # the layers' weights without the split rows
            rows = {"x": SPLIT["x"], "x3": SPLIT["x3"]}
        def zeroed(w, a):
            w = w.copy()
            w[rows.get(a, [])] = 0
            return w
        lines = [
            'func.func @main(%x: tensor<?x96xf32> {onnx.name = "x"}, '
            '%x3: tensor<?x?x96xf32> {onnx.name = "x3"}) -> ('
            'tensor<?x40xf32> {onnx.name = "y1"}, tensor<?x24xf32> '
            '{onnx.name = "y2"}, tensor<?x?x24xf32> {onnx.name = "z"}) {',
            f"  %w1 = arith.constant {dense(zeroed(w1, 'x'))} : tensor<96x40xf32>",
            f"  %w2 = arith.constant {dense(zeroed(w2, 'x'))} : tensor<96x24xf32>",
            f"  %w3 = arith.constant {dense(zeroed(w3, 'x3'))} : tensor<96x24xf32>",
            "  %b = arith.constant dense<[" + ", ".join(f"{v:.9e}" for v in bias)
            + "]> : tensor<40xf32>"]
        a, a3 = "%x", "%x3"
        if split:
            for v, lead in (("x", "?x"), ("x3", "?x?x")):
                c = SPLIT[v]
                lines.append(
                    f"  %{v}_rest, %{v}_out = qc.split_columns %{v} "
                    f"[{', '.join(map(str, c))}] : tensor<{lead}96xf32> -> "
                    f"tensor<{lead}96xf32>, tensor<{lead}{len(c)}xf32>")
            a, a3 = "%x_rest", "%x3_rest"
        if static:
            lines += [
                f"  %q = qc.quantize %x : tensor<?x96xf32> -> tensor<?x96x{q}>",
                f"  %xd = qc.dequantize %q : tensor<?x96x{q}> -> tensor<?x96xf32>",
                f"  %q3 = qc.quantize %x3 : tensor<?x?x96xf32> -> tensor<?x?x96x{q}>",
                f"  %xd3 = qc.dequantize %q3 : tensor<?x?x96x{q}> -> tensor<?x?x96xf32>"]
            a, a3 = "%xd", "%xd3"
        # Without the split, the layers' results are the outputs (suffix m
        # marks the layers' own results where a split adds to them).
        m = "m" if split else ""
        if static:
            src = {"%xd": "%x_rest", "%xd3": "%x3_rest"} if split else {}
            lines = [l.replace("qc.quantize %x :", f"qc.quantize {src.get('%xd', '%x')} :")
                      .replace("qc.quantize %x3 :", f"qc.quantize {src.get('%xd3', '%x3')} :")
                     for l in lines]
        lines += [
            f'  %y1{m} = qc.linear {a}, %w1, %b {{layer = "l1"}} : tensor<?x96xf32>, '
            "tensor<96x40xf32>, tensor<40xf32> -> tensor<?x40xf32>",
            f'  %y2{m} = qc.linear {a}, %w2 {{layer = "l2"}} : tensor<?x96xf32>, '
            "tensor<96x24xf32> -> tensor<?x24xf32>",
            f'  %z{m} = qc.linear {a3}, %w3 {{layer = "l3"}} : tensor<?x?x96xf32>, '
            "tensor<96x24xf32> -> tensor<?x?x24xf32>"]
        if split:
            split_layer(lines, "y1", "x", SPLIT["x"], w1, N1, 2)
            split_layer(lines, "y2", "x", SPLIT["x"], w2, N2, 2)
            split_layer(lines, "z", "x3", SPLIT["x3"], w3, N2, 3)
        lines += [
            "  return %y1, %y2, %z : tensor<?x40xf32>, tensor<?x24xf32>, "
            "tensor<?x?x24xf32>", "}"]
        with open(os.path.join(out, name), "w") as f:
            f.write("\n".join(lines) + "\n")


def quantized(x, static):
    x = x.reshape(-1, K)
    if static:
        q = np.clip(np.rint(x / STATIC), -128, 127)
        return q.astype(np.float64) * float(STATIC)
    s = (np.abs(x).max(axis=1, keepdims=True) / np.float32(127)).astype(np.float32)
    safe = np.where(s > 0, s, np.float32(1))
    q = np.where(s > 0, np.rint(x / safe), 0)  # f32 division, as specified
    return q.astype(np.float64) * s.astype(np.float64)


def check(out, results, mode):
    (w1, w2, w3), bias = weights()
    x, x3 = inputs()
    static = mode.endswith("static")
    xq, x3q = quantized(x, static), quantized(x3, static)
    if mode.startswith("split"):
        # [quantized rest | f32 columns] times [zeroed rows; the columns' rows]
        def parts(v, name, w):
            c = SPLIT[name]
            rest = v.copy()
            rest[..., c] = 0
            kept = v.reshape(-1, K)[:, c].astype(np.float64)
            wz = w.copy()
            wz[c] = 0
            return (np.concatenate([quantized(rest, static), kept], axis=1),
                    np.concatenate([wz, w[c]], axis=0))
        (a1, v1), (a2, v2), (a3, v3) = (parts(x, "x", w1), parts(x, "x", w2),
                                        parts(x3, "x3", w3))
        cases = {"y1": (a1, v1, bias.astype(np.float64)), "y2": (a2, v2, 0.0),
                 "z": (a3, v3, 0.0)}
    else:
        cases = {"y1": (xq, w1, bias.astype(np.float64)), "y2": (xq, w2, 0.0),
                 "z": (x3q, w3, 0.0)}
    worst, ok = 0.0, True
    for name, (a, w, b) in cases.items():
        got = np.load(os.path.join(results, name + ".npy")).reshape(a.shape[0], -1)
        want = a @ w + b
        mag = np.abs(a) @ np.abs(w) + np.abs(b)
        err = np.abs(got - want) / (mag + 1e-30)
        worst = max(worst, float(err.max()))
        if not np.all(np.abs(got - want) <= 2e-6 * mag + 1e-7):
            i = np.unravel_index(np.argmax(err), err.shape)
            print(f"{name}: differs at {i}: {got[i]} vs {want[i]}")
            ok = False
    print(f"{mode}: {'match' if ok else 'MISMATCH'} "
          f"(worst |error| / sum |terms| {worst:.1e})")
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        sys.exit(check(*sys.argv[2:5]))
