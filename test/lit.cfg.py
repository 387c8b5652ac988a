# lit configuration of quantc's IR and end-to-end tests.
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "quantc"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".onnxtxt", ".test"]
config.excludes = ["Inputs", "Unit", "node_conformance.py", "compare_ort.py", "zoo.py", "ort_run.js", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.quantc_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [os.path.join(config.quantc_obj_root, "bin"), config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["quant-opt", "quant-translate", "quant-run", "quantc", "quantc-capi-test",
                                  "quantc-session-test", "qc-run"], tool_dirs)

config.substitutions.append(("%shared", config.shared_dir))
config.substitutions.append(("%python", config.python_executable))

# ONNX's node tests (Debian libonnx-testdata), when installed.
node_tests = "/usr/share/libonnx-testdata/data/node"
if os.path.isdir(node_tests):
    config.available_features.add("onnx-node-tests")
    config.substitutions.append(("%onnx_node_tests", node_tests))

# ONNX Runtime for node (installed by scripts/setup.sh), the reference the
# end-to-end tests compare with.
ort_modules = os.path.join(config.quantc_obj_root, "ort", "node_modules")
if os.path.isdir(os.path.join(ort_modules, "onnxruntime-node")):
    config.available_features.add("onnxruntime")
    config.substitutions.append(("%ort_node_modules", ort_modules))
config.substitutions.append(("%quantc_obj", config.quantc_obj_root))
config.substitutions.append(("%quantc_src", config.quantc_src_root))

# PyTorch (Debian's python3-torch), which exports the model zoo (test/Zoo).
import subprocess
if subprocess.run([config.python_executable, "-c", "import torch"],
                  capture_output=True).returncode == 0:
    config.available_features.add("torch")

# The CUDA toolkit (libdevice, which CUDA kernels link, and ptxas, which
# assembles the PTX the tests check): $CUDA_HOME or /usr/local/cuda.
cuda_home = os.environ.get("CUDA_HOME") or "/usr/local/cuda"
if os.path.exists(os.path.join(cuda_home, "nvvm/libdevice/libdevice.10.bc")) and \
        os.access(os.path.join(cuda_home, "bin/ptxas"), os.X_OK):
    config.available_features.add("cuda-toolkit")
    config.substitutions.append(("%ptxas", os.path.join(cuda_home, "bin/ptxas")))
    config.environment["CUDA_HOME"] = cuda_home

# A CUDA driver (CI has none: tests of what a machine without a GPU says
# run there).
import ctypes
try:
    ctypes.CDLL("libcuda.so.1")
    config.available_features.add("cuda-driver")
except OSError:
    pass
