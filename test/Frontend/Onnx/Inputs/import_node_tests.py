"""Imports every model of ONNX's node tests and checks that each either
imports or is rejected with a diagnostic (exit 1), never a crash or a hang.
import_node_tests.py QUANT_TRANSLATE NODE_TEST_DIR MIN_IMPORTED"""
import os
import subprocess
import sys

tool, root, minimum = sys.argv[1], sys.argv[2], int(sys.argv[3])
imported, rejected, broken = [], [], []
for name in sorted(os.listdir(root)):
    model = os.path.join(root, name, "model.onnx")
    if not os.path.exists(model):
        continue
    try:
        r = subprocess.run([tool, "--import-onnx", model, "-o", os.devnull],
                           capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        broken.append((name, "timeout"))
        continue
    if r.returncode == 0:
        imported.append(name)
    elif r.returncode == 1 and "error:" in r.stderr:
        rejected.append(name)
    else:
        broken.append((name, f"exit {r.returncode}: {r.stderr[-300:]}"))
print(f"imported {len(imported)}, rejected with a diagnostic {len(rejected)}, "
      f"crashed or hung {len(broken)}")
for name, why in broken:
    print(f"BROKEN {name}: {why}")
if broken or len(imported) < minimum:
    sys.exit(1)
