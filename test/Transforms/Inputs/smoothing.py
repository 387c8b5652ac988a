"""Checks of qc-smoothquant, independent of quantc (numpy).
  smoothing.py same A.npy B.npy     -- the smoothed model computes the same
                                       logits (relative error <= 1e-5)
  smoothing.py unit STATS LAYER...  -- the inputs of these layers have
                                       absmax 1 in every channel (alpha = 1:
                                       s_j = max|X_j|, so X_j / s_j peaks at 1)
  smoothing.py outliers BEFORE AFTER LAYER -- max/median channel absmax of
                                       LAYER's input, before and after
  smoothing.py scales STATS REPORT [T] -- qc-quantize-activations
                                       mode=static's report lines "LAYER:
                                       scale S" give S = max over channels of
                                       absmax / 127 (with T: over the
                                       channels of absmax <= T, those
                                       qc-split-outliers leaves)
  smoothing.py alphas REPORT LO HI  -- every alpha qc-smoothquant alpha=auto
                                       reports lies in [LO, HI]
  smoothing.py split STATS REPORT T -- qc-split-outliers' report lines
                                       "LAYER: N of K input columns ..." give
                                       N = channels of absmax > T, for every
                                       layer with such channels
"""
import json
import re
import struct
import sys

import numpy as np


def records(path):
    data = open(path, "rb").read()
    assert data[:8] == b"QCSTATS1" and data[-8:] == b"QCSTATS1", "bad magic"
    at, size = struct.unpack("<QQ", data[-24:-8])
    out = {}
    for r in json.loads(data[at:at + size])["records"]:
        absmax = np.frombuffer(data, np.float32, r["k"], r["offset"]).astype(np.float64)
        for layer in r["layers"]:
            out[layer] = absmax
    return out


def main():
    cmd = sys.argv[1]
    if cmd == "same":
        a = np.load(sys.argv[2]).astype(np.float64)
        b = np.load(sys.argv[3]).astype(np.float64)
        err = np.linalg.norm(a - b) / np.linalg.norm(a)
        print(f"same function: {'ok' if err <= 1e-5 else 'FAIL'} ({err:.1e})")
    elif cmd == "unit":
        stats = records(sys.argv[2])
        for layer in sys.argv[3:]:
            dev = np.abs(stats[layer] - 1).max()
            print(f"{layer}: {'ok' if dev <= 1e-4 else 'FAIL'} (max |absmax - 1| {dev:.1e})")
    elif cmd == "outliers":
        before, after = records(sys.argv[2]), records(sys.argv[3])
        layer = sys.argv[4]
        r0 = before[layer].max() / np.median(before[layer])
        r1 = after[layer].max() / np.median(after[layer])
        print(f"{layer}: max/median {r0:.1f} -> {r1:.1f}: {'smaller' if r1 < r0 else 'NOT smaller'}")
    elif cmd == "scales":
        stats = records(sys.argv[2])
        seen = bad = 0
        for line in open(sys.argv[3]):
            parts = line.split()
            if len(parts) == 3 and parts[1] == "scale":
                layer, got = parts[0].rstrip(":"), float(parts[2])
                kept = stats[layer]
                if len(sys.argv) > 4:
                    kept = kept[kept <= float(sys.argv[4])]
                want = kept.max() / 127
                seen += 1
                if abs(got - want) > 1e-3 * want:  # the report prints 4 digits
                    bad += 1
                    print(f"{layer}: scale {got}, statistics give {want}")
        print(f"static scales: {seen - bad} of {seen} match the statistics")
    elif cmd == "alphas":
        text = open(sys.argv[2]).read()
        found = [float(a) for a in re.findall(r": alpha ([0-9.]+) \(", text)]
        lo, hi = float(sys.argv[3]), float(sys.argv[4])
        inside = all(lo <= a <= hi for a in found)
        print(f"{len(found)} alphas, {'all' if inside else 'NOT all'} in "
              f"[{lo}, {hi}] ({', '.join(map(str, found))})")
    elif cmd == "split":
        stats, t = records(sys.argv[2]), float(sys.argv[4])
        reported = {}
        for line in open(sys.argv[3]):
            parts = line.split()
            if len(parts) >= 4 and parts[2] == "of" and parts[4] == "input":
                reported[parts[0].rstrip(":")] = (int(parts[1]), int(parts[3]))
        want = {layer: (int((a > t).sum()), len(a)) for layer, a in stats.items()
                if (a > t).any()}
        bad = [layer for layer in set(want) | set(reported)
               if want.get(layer) != reported.get(layer)]
        for layer in sorted(bad):
            print(f"{layer}: reported {reported.get(layer)}, statistics give {want.get(layer)}")
        print(f"outlier columns: {len(want) - len(bad)} of {len(want)} layers match "
              f"the statistics, {len(bad)} differ")


if __name__ == "__main__":
    main()
