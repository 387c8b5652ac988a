"""Checks the quantc.kv_ranges that qc-calibrate-kv-cache left on
Inputs/kv_cache_model.mlir (new keys of byte x: (x, -x/2)) against the
calibration bytes themselves: each range lies within the values' [min,
max], and B-bit codes over it give no more squared error on the values
than codes over [min, max] (numpy, float64); less on some channel.
  check_kv_ranges.py TEXT WINDOWS LENGTH BITS < quant-opt output"""
import re
import sys

import numpy as np

text, windows, length, bits = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
x = np.frombuffer(open(text, "rb").read()[:windows * length], np.uint8).astype(np.float64)
values = [x, -x / 2]
ir = sys.stdin.read()
m = re.search(r"past_key_values\.0\.key = dense<(.+?)> : tensor<2x1x2xf32>", ir)
if not m:
    sys.exit("no quantc.kv_ranges for past_key_values.0.key")
nums = [float(v) for v in re.findall(r"-?[0-9]+(?:\.[0-9]*)?(?:e[+-]?[0-9]+)?", m.group(1))]
lo, hi = nums[:2], nums[2:]
top = 2 ** bits - 1


def squared_error(v, a, b):
    scale = (b - a) / top
    q = np.clip(np.round((v - a) / scale), 0, top) * scale + a
    return float(((v - q) ** 2).sum())


failed, gained = False, False
for c, v in enumerate(values):
    inside = v.min() <= lo[c] < hi[c] <= v.max()
    clipped, full = squared_error(v, lo[c], hi[c]), squared_error(v, v.min(), v.max())
    ok = inside and clipped <= full * (1 + 1e-6)
    failed |= not ok
    gained |= clipped < full * (1 - 1e-6)
    print(f"channel {c}: [{lo[c]:g}, {hi[c]:g}] of [{v.min():g}, {v.max():g}], "
          f"squared error {clipped:.1f} (unclipped {full:.1f}) {'ok' if ok else 'FAIL'}")
print("clipping lowered the error" if gained else "FAIL: no channel clipped to gain")
sys.exit(1 if failed or not gained else 0)
