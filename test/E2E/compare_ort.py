"""Runs a model with quantc (quant-run, CPU JIT) and with ONNX Runtime on the
same random inputs and reports, per output, the largest difference relative
to the largest magnitude of ONNX Runtime's output.

compare_ort.py QUANT_RUN NODE_MODULES MODEL --batch B --seq S [--past P]
               [--seed N] [--tolerance T] [--artifact DIR]
Exit 1 if any output differs by more than the tolerance (default 1e-4)."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

p = argparse.ArgumentParser()
p.add_argument("quant_run")
p.add_argument("node_modules")
p.add_argument("model")
p.add_argument("--batch", type=int, default=1)
p.add_argument("--seq", type=int, default=8)
p.add_argument("--past", type=int, default=0)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--tolerance", type=float, default=1e-4)
p.add_argument("--artifact", help="run this compiled artifact of MODEL instead "
               "of compiling MODEL (one compile for many comparisons)")
a = p.parse_args()

model = onnx.load(a.model, load_external_data=False)
rng = np.random.default_rng(a.seed)
inputs = {}
for vi in model.graph.input:
    dims = [d.dim_value if d.dim_value else None
            for d in vi.type.tensor_type.shape.dim]
    if vi.name == "input_ids":
        inputs[vi.name] = rng.integers(0, 256, (a.batch, a.seq), dtype=np.int64)
    elif vi.name == "position_ids":
        pos = np.arange(a.past, a.past + a.seq, dtype=np.int64)
        inputs[vi.name] = np.broadcast_to(pos, (a.batch, a.seq)).copy()
    elif vi.name.startswith("past_key_values"):
        shape = (a.batch, dims[1], a.past, dims[3])
        inputs[vi.name] = rng.standard_normal(shape).astype(np.float32)
    else:
        sys.exit(f"don't know how to make input '{vi.name}'")

dtypes = {np.dtype(np.int64): "int64", np.dtype(np.float32): "float32"}
with tempfile.TemporaryDirectory() as tmp:
    spec, cmd = [], [a.quant_run, a.artifact or a.model, "-o",
                     os.path.join(tmp, "quantc")]
    for name, arr in inputs.items():
        raw = os.path.join(tmp, name + ".bin")
        arr.tofile(raw)
        spec.append({"name": name, "dtype": dtypes[arr.dtype],
                     "shape": list(arr.shape), "file": raw})
        pb = os.path.join(tmp, name + ".pb")
        with open(pb, "wb") as f:
            f.write(numpy_helper.from_array(arr, name).SerializeToString())
        cmd += ["--input", pb]
    with open(os.path.join(tmp, "inputs.json"), "w") as f:
        json.dump(spec, f)
    ort_dir = os.path.join(tmp, "ort")
    os.makedirs(ort_dir)
    env = dict(os.environ, NODE_PATH=a.node_modules)
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run(["node", os.path.join(here, "ort_run.js"), a.model,
                    os.path.join(tmp, "inputs.json"), ort_dir],
                   check=True, env=env)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    worst = 0.0
    for t in json.load(open(os.path.join(ort_dir, "outputs.json"))):
        ref = np.fromfile(t["file"], dtype=np.float32).reshape(t["shape"])
        pb = onnx.TensorProto()
        with open(os.path.join(tmp, "quantc", t["name"].replace("/", "_") + ".pb"),
                  "rb") as f:
            pb.ParseFromString(f.read())
        got = numpy_helper.to_array(pb)
        if got.shape != ref.shape:
            sys.exit(f"{t['name']}: shape {got.shape}, ONNX Runtime {ref.shape}")
        rel = float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-30))
        worst = max(worst, rel)
        print(f"{t['name']}: {list(ref.shape)} max |quantc - ort| / max |ort| = {rel:.2e}")
print(f"worst relative difference {worst:.2e} (tolerance {a.tolerance:g})")
sys.exit(0 if worst <= a.tolerance else 1)
