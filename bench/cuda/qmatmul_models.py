"""One quantized linear layer per model, for timing the GPU's fused
dequantize-matmul kernel: `main(x: [rows, K]) -> x @ W` with W an N x K
weight (the shapes of peers.py) in a #qc.format. The pieces are splats (a
kernel's time does not depend on the values; the artifact's weights then
compress to almost nothing for the trip to the GPU machine).
  python3 qmatmul_models.py OUT_DIR
writes OUT_DIR/<format>_<N>x<K>.mlir.
"""
import os
import sys

SHAPES = [(8192, 28672), (28672, 8192), (4096, 4096)]  # N x K, as peers.py
FORMATS = {
    "w4g128": ("int4, symmetric, group = 128, scale = f16", 4, 128, "f16"),
    "w8": ("int8, symmetric, per_channel, scale = f16", 8, None, "f16"),
}


def model(body, bits, group, scale, n, k):
    groups = -(-k // group) if group else 1
    row_bytes = (k * bits + 7) // 8
    wtype = f"!qc.qweight<{k}x{n}, {body}>"
    return (
        f"func.func @main(%x: tensor<?x{k}xf32> {{onnx.name = \"x\"}}) -> "
        f"(tensor<?x{n}xf32> {{onnx.name = \"y\"}}) {{\n"
        f"  %w = qc.qconstant {{codes = dense<23> : tensor<{n}x{row_bytes}xi8>, "
        f"scales = dense<0.01> : tensor<{n}x{groups}x{scale}>}} : {wtype}\n"
        f"  %y = qc.linear %x, %w : tensor<?x{k}xf32>, {wtype} -> tensor<?x{n}xf32>\n"
        f"  return %y : tensor<?x{n}xf32>\n}}\n")


if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, (body, bits, group, scale) in FORMATS.items():
        for n, k in SHAPES:
            with open(os.path.join(out, f"{name}_{n}x{k}.mlir"), "w") as fh:
                fh.write(model(body, bits, group, scale, n, k))
