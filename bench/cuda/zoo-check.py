"""On the GPU machine (see prepare.sh): every zoo model compiled for CUDA
against ONNX Runtime (CPU) on the same inputs, relative error of the first
output with a tolerance of 1e-4 (f32 arithmetic both sides)."""
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort

zoo, worst = sys.argv[1], 0.0
failed = []
for name in sorted(os.listdir(zoo)):
    if not name.endswith(".onnx"):
        continue
    model = os.path.join(zoo, name)
    artifact = os.path.join(zoo, name[:-5] + "_cuda")
    graph = onnx.load(model, load_external_data=False).graph
    init = {i.name for i in graph.initializer}
    rng = np.random.default_rng(len(name))
    feeds, args = {}, []
    batch, seq = 2, 12
    for inp in graph.input:
        if inp.name in init:
            continue
        if inp.name == "input_ids":
            v = rng.integers(0, 32, size=(batch, seq)).astype(np.int64)
        elif inp.name == "attention_mask":
            v = np.ones((batch, seq), np.int64)
        elif inp.name == "token_type_ids":
            v = np.zeros((batch, seq), np.int64)
        elif inp.name == "position_ids":
            v = np.tile(np.arange(seq, dtype=np.int64), (batch, 1))
        else:
            raise SystemExit(f"{name}: no rule for input {inp.name}")
        feeds[inp.name] = v
        path = f"/tmp/{name}.{inp.name}.npy"
        np.save(path, v)
        args += ["--input", f"{inp.name}={path}"]
    ref = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    out = f"/tmp/{name}.out"
    run = subprocess.run(["./bin/qc-run", artifact, "-o", out] + args,
                         capture_output=True, text=True)
    if run.returncode != 0:
        failed.append(name)
        print(f"{name}: qc-run failed: {run.stderr.strip()}")
        continue
    first = graph.output[0].name.replace("/", "_")
    got = np.load(os.path.join(out, first + ".npy")).astype(np.float64)
    err = np.linalg.norm(got - ref) / np.linalg.norm(ref)
    worst = max(worst, err)
    ok = err <= 1e-4 and np.isfinite(got).all()
    if not ok:
        failed.append(name)
    print(f"{name}: {graph.output[0].name} {list(got.shape)} relative error {err:.2e} "
          f"{'PASS' if ok else 'FAIL'}")
print(f"zoo vs ONNX Runtime: worst {worst:.2e} (tolerance 1e-4); failed: {failed or 'none'}")
