"""Reads a quantc statistics file independently of quantc (numpy) and checks
what must hold of true statistics: H symmetric positive semi-definite,
diag(H) / 2 = mean(x^2) >= mean(x)^2 and <= absmax^2, per record."""
import json
import struct
import sys

import numpy as np

MAGIC = b"QCSTATS1"
data = open(sys.argv[1], "rb").read()
assert data[:8] == MAGIC and data[-8:] == MAGIC, "bad magic"
at, size = struct.unpack("<QQ", data[-24:-8])
index = json.loads(data[at:at + size])
for r in index["records"]:
    k, off = r["k"], r["offset"]
    v = np.frombuffer(data, np.float32, 2 * k + k * k, off).astype(np.float64)
    absmax, mean, h = v[:k], v[k:2 * k], v[2 * k:].reshape(k, k)
    assert np.allclose(h, h.T, rtol=1e-6, atol=1e-9), "H not symmetric"
    assert np.linalg.eigvalsh(h).min() >= -1e-5 * np.abs(h).max(), "H not PSD"
    second = np.diag(h) / 2
    assert np.all(second >= mean**2 * (1 - 1e-4) - 1e-9), "E[x^2] < E[x]^2"
    assert np.all(second <= absmax**2 * (1 + 1e-4) + 1e-9), "E[x^2] > max^2"
    assert np.all(absmax > 0), "a channel never seen"
    print("%s k=%d samples=%d ok" % (",".join(r["layers"]), k, r["samples"]))
print("records:", len(index["records"]))
