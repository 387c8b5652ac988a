"""For each zoo model: import, int8 per-channel weights, then int8
activations, dynamic (per token) and static (per tensor, calibrated here),
and dynamic after qc-split-outliers (LLM.int8(); threshold: the 90th
percentile of the model's calibration absmax, so that about a tenth of the
columns stay f32); count the layers the CPU fuses into its int8 kernels
(the split kernel for split layers) and compare the logits with the fp32
model's (numpy, float64 relative L2).
  w8a8_check.py QUANT-TRANSLATE QUANT-OPT QUANT-RUN WORKDIR MODEL...
(the tools' paths; WORKDIR holds calib.txt and ids.npy)
Bounds: dynamic 3e-2, static 1e-1 (the zoo's random-weight models have
no outlier channels; a scale off by a factor or codes misplaced give
errors of order 1)."""
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "Transforms", "Inputs"))
from smoothing import records  # noqa: E402  (the statistics file's reader)

translate, opt, quant_run, work = sys.argv[1:5]
models = sys.argv[5:]
here = os.path.dirname(os.path.abspath(__file__))
W8 = "--qc-quantize-weights=format=int8,symmetric,per_channel,scale=f32"


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True)


def logits(model, out):
    run(quant_run, model, "--input", "input_ids=%s/ids.npy" % work, "-o", out,
        "--output-format", "npy")
    return np.load(os.path.join(out, "logits.npy")).astype(np.float64)


for m in models:
    base = os.path.join(work, m)
    run(translate, "--import-onnx", os.path.join(here, "Inputs", m + ".onnx"),
        "--print-weights", "-o", base + ".mlir")
    run(opt, base + ".mlir", "--qc-calibrate=calib=%s/calib.txt stats=%s.qcstats "
        "windows=4 length=16" % (work, base), "-o", base + ".cal.mlir")
    ref = logits(base + ".mlir", base + "_fp32")
    line = [m + ":"]
    absmax = np.concatenate(list(records(base + ".qcstats").values()))
    threshold = float(np.percentile(absmax, 90))
    for mode, bound in (("dynamic", 3e-2), ("static", 1e-1), ("split", 3e-2)):
        out = "%s.%s.mlir" % (base, mode)
        passes = [W8, "--qc-quantize-activations=mode=" +
                  ("static" if mode == "static" else "dynamic")]
        if mode == "split":
            passes.insert(0, "--qc-split-outliers=threshold=%g" % threshold)
        run(opt, base + ".cal.mlir", *passes, "-o", out)
        fused_ir = run(opt, out, "--quantc-quantized-linear-to-ukernel").stdout
        fused = fused_ir.count('qc.ukernel "quantc_qmatmul_i8"')
        split = fused_ir.count('qc.ukernel "quantc_qmatmul_i8_split"')
        err = np.linalg.norm(logits(out, base + "_" + mode) - ref) / np.linalg.norm(ref)
        line.append(f"{mode} {fused + split} fused" +
                    (f" ({split} split)" if mode == "split" else "") +
                    f" {'close' if err <= bound else 'FAR'} ({err:.1e});")
    print(" ".join(line))
