"""Relative error of quantized artifacts' logits against the fp32 artifact
of the same model, on text: the first 2 windows of 64 bytes of TEXT as
input_ids (position_ids counting from 0, empty past caches where the model
has them).

logits_error.py QUANT_RUN MODEL TEXT FP32_ARTIFACT NAME=ARTIFACT...
                [--max E] [--each-below F]
Prints `NAME: relative error E` (||logits - fp32||_2 / ||fp32||_2) for each,
then `ok` or `FAIL`: FAIL if an error is above E, or (--each-below) an
artifact's error is not below F times the one named before it."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

args = sys.argv[1:]
options = {}
for flag in ("--max", "--each-below"):
    if flag in args:
        i = args.index(flag)
        options[flag] = float(args[i + 1])
        del args[i:i + 2]
quant_run, model_path, text, fp32 = args[:4]
named = [a.split("=", 1) for a in args[4:]]
model = onnx.load(model_path, load_external_data=False)
data = np.frombuffer(open(text, "rb").read(128), dtype=np.uint8)
ids = data.astype(np.int64).reshape(2, 64)
inputs = {}
for vi in model.graph.input:
    dims = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    if vi.name == "input_ids":
        inputs[vi.name] = ids
    elif vi.name == "position_ids":
        inputs[vi.name] = np.broadcast_to(np.arange(64, dtype=np.int64), (2, 64)).copy()
    elif vi.name.startswith("past_key_values"):
        inputs[vi.name] = np.zeros((2, dims[1], 0, dims[3]), dtype=np.float32)
    else:
        sys.exit(f"don't know how to make input '{vi.name}'")


def logits(artifact, tmp):
    out = os.path.join(tmp, os.path.basename(artifact))
    cmd = [quant_run, artifact, "-o", out, "--output-format", "npy"]
    for name, arr in inputs.items():
        path = os.path.join(tmp, name + ".npy")
        np.save(path, arr)
        cmd += ["--input", f"{name}={path}"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return np.load(os.path.join(out, "logits.npy")).astype(np.float64)


errors = []
with tempfile.TemporaryDirectory() as tmp:
    ref = logits(fp32, tmp)
    for name, artifact in named:
        errors.append(np.linalg.norm(logits(artifact, tmp) - ref) / np.linalg.norm(ref))
        print(f"{name}: relative error {errors[-1]:.4f}")
ok = all(e <= options.get("--max", np.inf) for e in errors)
if "--each-below" in options:
    ok &= all(b < options["--each-below"] * a for a, b in zip(errors, errors[1:]))
print("ok" if ok else "FAIL")
sys.exit(0 if ok else 1)
