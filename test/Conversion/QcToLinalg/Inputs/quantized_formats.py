"""Every #qc.format through qc-to-linalg's decoding contraction, against numpy.

`write DIR [K N ROWS]` writes DIR/model.mlir: a `main` with one quantized
qc.linear per format below (random codes, scales, zero points,
double-quantized scale codes and CSR outliers; by default K = 100, so groups
end short and 3/5/6/7-bit codes straddle bytes, N = 24 and 5 rows), plus
x.npy (random rows) and eye.npy (the K x K identity).
`check DIR [LOWERED [TOLERANCE]]` decodes every weight here, independently of quantc (numpy, the
formats as `#qc.format` documents them), and compares:
  - the reference lowering (qc-dequantize-constants, run on the identity,
    i.e. lib/Numerics' dequantized matrix) with the numpy weights: equal up
    to 1e-6 of the largest weight (both round the same way in f32);
  - the decoding contraction (qc-to-linalg, run on x; its outputs in
    DIR/LOWERED, default DIR/neutral) with x @ W in float64: relative error
    at most 1e-5 (f32 sums of 100 products), or TOLERANCE (the GPU's
    tensor-core kernel rounds x and the weights to f16).
"""
import os
import sys

import numpy as np

K, N, ROWS = 100, 24, 5
FORMATS = [
    "int2, symmetric, per_channel, scale = f32",
    "int3, affine, group = 16, scale = f16",
    "int4, symmetric, group = 32, scale = bf16",
    "int4, affine, per_tensor, scale = f32",
    "int5, affine, group = 32, scale = f16",
    "int6, symmetric, per_channel, scale = f16",
    "int7, affine, per_channel, scale = bf16",
    "int8, symmetric, group = 64, scale = f32",
    "int8, affine, per_tensor, scale = f16",
    "nf4, group = 64, scale = bf16, double_quant = <int8, block = 16>",
    "nf4, per_channel, scale = f16",
    "fp4_e2m1, group = 32, scale = f16",
    "fp8_e4m3, per_channel, scale = f32",
    "fp8_e5m2, per_tensor, scale = f32",
    "fp8_e4m3, group = 32, scale = f16, double_quant = <int4, block = 8>",
    "int3, affine, group = 16, scale = f16, double_quant = <int3, block = 16>, outliers",
    "int4, symmetric, group = 32, scale = f32, outliers",
    "int4, affine, group = 64, scale = f16",
    "int8, affine, per_channel, scale = bf16",
]
BIASED = 4  # this layer also has a bias (added after the product)
THREE_D = 2  # this format also runs on a 3-D input

NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
       -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
       0.07958029955625534, 0.16093020141124725, 0.24611230194568634,
       0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
       0.7229568362236023, 1.0]


def parse(body):
    """The fields of a format body (a small parser for the list above)."""
    f = {"symmetric": True, "group": None, "per_tensor": False,
         "scale": "f32", "dq": None, "outliers": False}
    parts = body.replace("<", " < ").replace(">", " > ").split(",")
    code = parts[0].strip()
    f["code"] = code
    f["bits"] = int(code[3:]) if code.startswith("int") else (
        8 if code.startswith("fp8") else 4)
    rest = ",".join(parts[1:])
    f["symmetric"] = "affine" not in rest
    f["per_tensor"] = "per_tensor" in rest
    for item in rest.split(","):
        item = item.strip()
        if item.startswith("group"):
            f["group"] = int(item.split("=")[1])
        if item.startswith("scale ="):
            f["scale"] = item.split("=")[1].strip()
        if item.startswith("double_quant"):
            f["dq"] = {"bits": int(item.split("<")[1].strip()[3:])}
        if item.startswith("block"):
            f["dq"]["block"] = int(item.split("=")[1].strip(" >"))
    f["outliers"] = "outliers" in rest
    return f


def to_bf16(a):
    """float32 -> the nearest bf16 (ties to even), as float32."""
    bits = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16 << 16
    return bits.astype(np.uint32).view(np.float32)


def to_scale_type(a, kind):
    a = np.asarray(a, np.float32)
    if kind == "f16":
        return np.clip(a, -65504, 65504).astype(np.float16).astype(np.float32)
    if kind == "bf16":
        return to_bf16(a)
    return a


def decode_code(f, c):
    """The value of codes c (unsigned ints) before scaling."""
    bits = f["bits"]
    if f["code"].startswith("int"):
        if f["symmetric"]:
            return np.where(c >= 1 << (bits - 1), c - (1 << bits), c).astype(np.float32)
        return c.astype(np.float32)  # the zero point comes off later
    if f["code"] == "nf4":
        return np.array(NF4, np.float32)[c]
    if f["code"] == "fp4_e2m1":
        mag = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6], np.float32)[c & 7]
        return np.where(c & 8, -mag, mag)
    ebits, mbits = (4, 3) if f["code"] == "fp8_e4m3" else (5, 2)
    bias = (1 << (ebits - 1)) - 1
    e = (c >> mbits) & ((1 << ebits) - 1)
    m = (c & ((1 << mbits) - 1)).astype(np.float64)
    mag = np.where(e == 0, m / (1 << mbits) * 2.0 ** (1 - bias),
                   (1 + m / (1 << mbits)) * 2.0 ** (e.astype(np.float64) - bias))
    return np.where(c & 0x80, -mag, mag).astype(np.float32)


def valid_codes(f, rng, shape):
    codes = rng.integers(0, 1 << f["bits"], size=shape)
    if f["code"] == "fp8_e4m3":  # no NaN (S.1111.111)
        codes = np.where((codes & 0x7F) == 0x7F, 0x7E, codes)
    if f["code"] == "fp8_e5m2":  # no infinity or NaN (exponent all ones)
        codes = np.where((codes & 0x7C) == 0x7C, codes & 0x83, codes)
    return codes


def pack(codes, bits):
    """Rows of codes -> little-endian bit streams, ceil(K * bits / 8) bytes."""
    rows = []
    for row in codes:
        stream = np.zeros(len(row) * bits, np.uint8)
        for i, c in enumerate(row):
            for j in range(bits):
                stream[i * bits + j] = (int(c) >> j) & 1
        pad = (-len(stream)) % 8
        stream = np.concatenate([stream, np.zeros(pad, np.uint8)])
        rows.append(np.packbits(stream, bitorder="little"))
    return np.array(rows, np.uint8)


def make(f, rng):
    """Random stored pieces of one K x N weight in format f."""
    groups = -(-K // f["group"]) if f["group"] else 1
    channels = 1 if f["per_tensor"] else N
    p = {"codes": valid_codes(f, rng, (N, K)), "groups": groups,
         "channels": channels}
    scales = rng.uniform(0.01, 0.1, size=(channels, groups)).astype(np.float32)
    if f["code"] == "fp8_e5m2":
        scales /= 1000  # codes reach 57344
    if f["dq"]:
        count = channels * groups
        blocks = -(-count // f["dq"]["block"])
        p["scale_codes"] = rng.integers(0, 1 << f["dq"]["bits"], size=(channels, groups))
        p["params"] = np.stack([rng.uniform(0.001, 0.01, blocks),
                                rng.uniform(0.0, 0.02, blocks)], 1).astype(np.float32)
    else:
        p["scales"] = to_scale_type(scales, f["scale"])
    if not f["symmetric"]:
        p["zeros"] = rng.integers(0, 1 << f["bits"], size=(channels, groups))
    if f["outliers"]:
        offsets, columns, values = [0], [], []
        for _ in range(N):
            cols = sorted(rng.choice(K, size=rng.integers(0, 4), replace=False))
            columns += cols
            values += list(rng.uniform(-2, 2, len(cols)))
            offsets.append(len(columns))
        p["offsets"] = np.array(offsets, np.int32)
        p["columns"] = np.array(columns, np.int32)
        p["values"] = np.array(values, np.float16)
    return p


def weight(f, p):
    """The K x N float32 matrix the pieces stand for (numpy, float32 steps)."""
    if f["dq"]:
        block = f["dq"]["block"]
        flat = p["scale_codes"].reshape(-1)
        blk = np.arange(flat.size) // block
        step, offset = p["params"][blk, 0], p["params"][blk, 1]
        scales = to_scale_type(offset + (flat.astype(np.float32) * step).astype(np.float32),
                               f["scale"]).reshape(p["scale_codes"].shape)
    else:
        scales = p["scales"]
    kk = np.arange(K)
    g = kk // f["group"] if f["group"] else np.zeros(K, int)
    w = np.zeros((K, N), np.float32)
    for n in range(N):
        c = 0 if f["per_tensor"] else n
        value = decode_code(f, p["codes"][n])
        if not f["symmetric"]:
            value = (p["codes"][n] - p["zeros"][c, g]).astype(np.float32)
        w[:, n] = (value * scales[c, g]).astype(np.float32)
    if f["outliers"]:
        for n in range(N):
            for i in range(p["offsets"][n], p["offsets"][n + 1]):
                w[p["columns"][i], n] = np.float32(p["values"][i])
    return w


def dense(a, element):
    def item(v):
        if element == "i8":
            return str(int(np.int8(np.uint8(v))))
        if element == "i32":
            return str(int(v))
        return repr(float(v))
    def rec(x):
        if x.ndim == 1:
            return "[" + ", ".join(item(v) for v in x) + "]"
        return "[" + ", ".join(rec(r) for r in x) + "]"
    shape = "x".join(str(d) for d in a.shape)
    return f"dense<{rec(a)}> : tensor<{shape}x{element}>"


def qconstant(f, p, body):
    attrs = [f"codes = {dense(pack(p['codes'], f['bits']), 'i8')}"]
    if f["dq"]:
        attrs.append(f"scales = {dense(p['scale_codes'], 'i8')}")
        attrs.append(f"scale_params = {dense(p['params'], 'f32')}")
    else:
        attrs.append(f"scales = {dense(p['scales'], f['scale'])}")
    if not f["symmetric"]:
        attrs.append(f"zero_points = {dense(p['zeros'], 'i8')}")
    if f["outliers"]:
        attrs.append(f"outlier_offsets = {dense(p['offsets'], 'i32')}")
        if len(p["columns"]):
            attrs.append(f"outlier_columns = {dense(p['columns'], 'i32')}")
            attrs.append(f"outlier_values = {dense(p['values'], 'f16')}")
        else:
            attrs.append("outlier_columns = dense<> : tensor<0xi32>")
            attrs.append("outlier_values = dense<> : tensor<0xf16>")
    return "qc.qconstant {" + ", ".join(attrs) + "} : !qc.qweight<%dx%d, %s>" % (K, N, body)


def write(out):
    rng = np.random.default_rng(7)
    lines, results, types = [], [], []
    bias = rng.uniform(-1, 1, N).astype(np.float32)
    np.save(os.path.join(out, "bias.npy"), bias)
    for i, body in enumerate(FORMATS):
        f = parse(body)
        p = make(f, rng)
        np.save(os.path.join(out, f"w{i}.npy"), weight(f, p))
        wtype = "!qc.qweight<%dx%d, %s>" % (K, N, body)
        lines.append(f"    %w{i} = {qconstant(f, p, body)}")
        if i == BIASED:
            lines.append(f"    %b = arith.constant {dense(bias, 'f32')}")
            lines.append(f"    %y{i} = qc.linear %x, %w{i}, %b : tensor<?x{K}xf32>, {wtype}, tensor<{N}xf32> -> tensor<?x{N}xf32>")
        else:
            lines.append(f"    %y{i} = qc.linear %x, %w{i} : tensor<?x{K}xf32>, {wtype} -> tensor<?x{N}xf32>")
        results.append(f"%y{i}")
        types.append(f"tensor<?x{N}xf32> {{onnx.name = \"y{i}\"}}")
        if i == THREE_D:
            lines.append(f"    %z = qc.linear %x3, %w{i} : tensor<?x?x{K}xf32>, {wtype} -> tensor<?x?x{N}xf32>")
    results.append("%z")
    types.append(f"tensor<?x?x{N}xf32> {{onnx.name = \"z\"}}")
    rtypes = ", ".join(t.split(" {")[0] for t in types)
    with open(os.path.join(out, "model.mlir"), "w") as fh:
        fh.write(f"func.func @main(%x: tensor<?x{K}xf32> {{onnx.name = \"x\"}}, "
                 f"%x3: tensor<?x?x{K}xf32> {{onnx.name = \"x3\"}}) -> ({', '.join(types)}) {{\n")
        fh.write("\n".join(lines) + "\n")
        fh.write(f"    return {', '.join(results)} : {rtypes}\n}}\n")
    np.save(os.path.join(out, "x.npy"), rng.standard_normal((ROWS, K)).astype(np.float32))
    np.save(os.path.join(out, "x3.npy"), rng.standard_normal((2, 3, K)).astype(np.float32))
    np.save(os.path.join(out, "eye.npy"), np.eye(K, dtype=np.float32))
    np.save(os.path.join(out, "eye3.npy"), np.eye(K, dtype=np.float32)[None])


def check(out, lowered="neutral", tolerance="1e-5"):
    """`tolerance`: relative to the largest output, "T" for every format or
    "T,PREFIX=T2,..." where formats starting with PREFIX get T2 (a kernel
    that computes some formats in f16)."""
    default, *overrides = str(tolerance).split(",")
    overrides = [o.split("=") for o in overrides]

    def tolerance_of(body):
        for prefix, value in overrides:
            if body.startswith(prefix):
                return float(value)
        return float(default)
    x = np.load(os.path.join(out, "x.npy")).astype(np.float64)
    x3 = np.load(os.path.join(out, "x3.npy")).astype(np.float64)
    bias = np.load(os.path.join(out, "bias.npy")).astype(np.float64)
    failed = 0
    for i, body in enumerate(FORMATS):
        w = np.load(os.path.join(out, f"w{i}.npy"))
        ref = np.load(os.path.join(out, "reference", f"y{i}.npy"))
        b = bias if i == BIASED else 0
        ref_err = np.abs(ref - b - w).max() / np.abs(w).max()
        want = x @ w.astype(np.float64) + b
        got = np.load(os.path.join(out, lowered, f"y{i}.npy"))
        err = np.abs(got - want).max() / np.abs(want).max()
        ok = ref_err <= 1e-6 and err <= tolerance_of(body)
        failed += not ok
        print(f"{'ok' if ok else 'FAIL'} <{body}>: reference {ref_err:.1e}, contraction {err:.1e}")
    w = np.load(os.path.join(out, f"w{THREE_D}.npy")).astype(np.float64)
    got = np.load(os.path.join(out, lowered, "z.npy"))
    err = np.abs(got - x3 @ w).max() / np.abs(x3 @ w).max()
    ok = err <= tolerance_of(FORMATS[THREE_D])
    failed += not ok
    print(f"{'ok' if ok else 'FAIL'} 3-D input: contraction {err:.1e}")
    print(f"{len(FORMATS) + 1 - failed} of {len(FORMATS) + 1} match")
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1] == "write":
        if len(sys.argv) > 3:
            K, N, ROWS = (int(a) for a in sys.argv[3:6])
        write(sys.argv[2])
    else:
        sys.exit(check(*sys.argv[2:5]))
