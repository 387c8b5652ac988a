"""For each zoo model: import, calibrate, qc-smoothquant; count the values
smoothed (the pass's report) and compare the logits of the smoothed and
original models (numpy, float64: relative L2 at most 1e-5).
  smoothquant_check.py QUANT-TRANSLATE QUANT-OPT QUANT-RUN WORKDIR MODEL...
(the tools' paths; WORKDIR holds calib.txt and ids.npy)
"""
import os
import subprocess
import sys

import numpy as np

translate, opt, quant_run, work = sys.argv[1:5]
models = sys.argv[5:]
here = os.path.dirname(os.path.abspath(__file__))


def run(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


for m in models:
    base = os.path.join(work, m)
    run(translate, "--import-onnx", os.path.join(here, "Inputs", m + ".onnx"),
        "--print-weights", "-o", base + ".mlir")
    run(opt, base + ".mlir", "--qc-calibrate=calib=%s/calib.txt stats=%s.qcstats "
        "windows=4 length=16" % (work, base), "-o", base + ".cal.mlir")
    report = run(opt, base + ".cal.mlir", "--qc-smoothquant", "-o", base + ".sq.mlir").stderr
    smoothed = report.count("folded into")
    logits = []
    for model, out in ((base + ".mlir", base + "_a"), (base + ".sq.mlir", base + "_b")):
        run(quant_run, model, "--input", "input_ids=%s/ids.npy" % work, "-o", out,
            "--output-format", "npy")
        logits.append(np.load(os.path.join(out, "logits.npy")).astype(np.float64))
    err = np.linalg.norm(logits[0] - logits[1]) / np.linalg.norm(logits[0])
    print(f"{m}: {smoothed} smoothed, {'same logits' if err <= 1e-5 else 'DIFFERENT logits'} ({err:.1e})")
