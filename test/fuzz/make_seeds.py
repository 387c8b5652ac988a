"""Lays out the fuzz corpora: the committed seeds of test/fuzz/corpus/, the
importer's ONNX text tests (as text and as binary models) and a few tensor
files. Usage: make_seeds.py OUT_DIR (existing corpus files are kept)."""
import glob
import os
import shutil
import sys

import numpy as np
from onnx import numpy_helper, parser

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
out = sys.argv[1]
dirs = {t: os.path.join(out, t) for t in
        ("OnnxImportFuzzer", "ArtifactLoadFuzzer", "TensorFileFuzzer")}
for d in dirs.values():
    os.makedirs(d, exist_ok=True)

for path in glob.glob(f"{here}/corpus/artifact/*"):
    shutil.copy(path, dirs["ArtifactLoadFuzzer"])

onnx_dir = dirs["OnnxImportFuzzer"]
for path in glob.glob(f"{root}/test/Frontend/Onnx/*.onnxtxt"):
    text = open(path).read()
    # Split test files hold several models between '# -----' lines.
    for i, part in enumerate(text.split("# -----")):
        body = "\n".join(l for l in part.splitlines() if not l.startswith("#"))
        if "<" not in body:
            continue
        name = f"{os.path.basename(path)}.{i}"
        open(f"{onnx_dir}/{name}.txt", "w").write(body)
        try:
            model = parser.parse_model(body)
            open(f"{onnx_dir}/{name}.onnx", "wb").write(model.SerializeToString())
        except Exception:
            pass  # error cases need not parse

tensor_dir = dirs["TensorFileFuzzer"]
for name, a in {"ids": np.arange(12, dtype=np.int64).reshape(3, 4),
                "f32": np.ones((2, 2), np.float32), "empty": np.zeros((2, 0), np.float32),
                "scalar": np.array(3.0, np.float64)}.items():
    np.save(f"{tensor_dir}/{name}.npy", a)
    open(f"{tensor_dir}/{name}.pb", "wb").write(
        numpy_helper.from_array(a, name).SerializeToString())
# A zero dimension beside an overflowing product, with one typed element.
from onnx import TensorProto
open(f"{tensor_dir}/zero-dim-overflow.pb", "wb").write(TensorProto(
    name="t", data_type=TensorProto.INT64, dims=[2**62, 4, 0],
    int64_data=[7]).SerializeToString())
