"""Fails unless two quant-run --perplexity outputs agree within a tolerance:
  bpb_close.py A.txt B.txt TOLERANCE"""
import re
import sys

values = []
for path in sys.argv[1:3]:
    m = re.search(r"bits per byte: ([0-9.]+) \((\d+) predictions", open(path).read())
    if not m:
        sys.exit(f"{path}: no bits per byte")
    values.append((float(m.group(1)), m.group(2)))
(a, n), (b, nb) = values
tolerance = float(sys.argv[3])
if n != nb or abs(a - b) > tolerance:
    sys.exit(f"{a} ({n} predictions) and {b} ({nb}) differ by more than {tolerance}")
print(f"{a} and {b} ({n} predictions) within {sys.argv[3]}")
