"""Writes a.onnxtxt and b.onnxtxt into OUT_DIR: the same one-layer model
with different 8 x 4 weights (big enough to go to the weights blob)."""
import os
import sys

out = sys.argv[1]
for name, sign in (("a", 1), ("b", -1)):
    weights = ", ".join(str(k * sign) for k in range(32))
    with open(os.path.join(out, name + ".onnxtxt"), "w") as f:
        f.write('<ir_version: 8, opset_import: ["" : 17]>\n'
                "g (float[N, 8] X) => (float[N, 4] Y)\n"
                f"  <float[8, 4] w = {{{weights}}}> {{ Y = MatMul(X, w) }}\n")
