#!/usr/bin/env python3
"""Deliberate breaks: applies one small bug at a time to a copy of the tree's
numerics, passes or kernels, rebuilds build-mutate/ and runs the tests that
should catch it; prints which ones did. Restores every file afterwards.
The results are recorded in docs/RELIABILITY.md.
Usage: scripts/mutations.py [NAME...]   (after scripts/setup.sh)"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build-mutate")
LIT = "/usr/lib/llvm-22/bin/lit"

# name: (file, text, replacement, lit tests to run besides the unit tests)
MUTATIONS = {
    "gptq-no-lazy-update": (
        "lib/Numerics/Gptq.cpp",
        "      w.block(0, i2, n, k - i2).noalias() -=\n          err * u.block(i1, i2, count, k - i2);",
        "      ;", ["E2E/quantize.test"]),
    "gptq-no-eager-update": (
        "lib/Numerics/Gptq.cpp",
        "      w.block(0, column + 1, n, i2 - column - 1).noalias() -=\n"
        "          err.col(i) * u.block(column, column + 1, 1, i2 - column - 1);",
        "      ;", []),
    "gptq-no-damping": (
        "lib/Numerics/Gptq.cpp",
        "h.diagonal().array() += options.damping * h.diagonal().mean();",
        ";", []),
    "gptq-error-not-scaled": (
        "lib/Numerics/Gptq.cpp",
        "err(nn, i) = (w(nn, column) - dequantizeInt(code, p)) / d;",
        "err(nn, i) = (w(nn, column) - dequantizeInt(code, p));", []),
    "gptq-pass-ignores-act-order": (
        "lib/Transforms/GptqPass.cpp",
        "options.actOrder = actOrder;", "options.actOrder = false;",
        ["Transforms/calibrate-gptq.test", "E2E/quantize.test"]),
    "group-index-off-by-one": (
        "lib/Numerics/Matrix.cpp",
        "format.granularity == Granularity::PerGroup ? kk / format.groupSize : 0;",
        "format.granularity == Granularity::PerGroup ? std::min(groups - 1, (kk + 1) / format.groupSize) : 0;",
        ["Transforms/quantize-weights.mlir"]),
    "round-half-away": (
        "lib/Numerics/Scalar.cpp",
        "float q = std::nearbyint(x / p.scale) + static_cast<float>(p.zeroPoint);",
        "float q = std::round(x / p.scale) + static_cast<float>(p.zeroPoint);", []),
    "affine-levels-off-by-one": (
        "lib/Numerics/Scalar.cpp",
        "float levels = static_cast<float>((1 << bits) - 1);",
        "float levels = static_cast<float>((1 << bits) - 2);", []),
    "hessian-without-factor-2": (
        "lib/Numerics/Gptq.cpp",
        "2.0 * xtx[j * channels + i] / count;", "xtx[j * channels + i] / count;",
        ["Transforms/calibrate-gptq.test"]),
    "kernel-drops-zero-points": (
        "runtime/kernels/qmatmul_f32.c",
        "          acc[r] -= scales[g] * zeros[g] * sums[r * w->groups + g];",
        "          ;", ["Runtime/kernel-isas.test"]),
}


def run(cmd, **kw):
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, **kw)


def main():
    names = sys.argv[1:] or list(MUTATIONS)
    if not os.path.exists(os.path.join(BUILD, "build.ninja")):
        run(["cmake", "-G", "Ninja", "-S", ".", "-B", BUILD,
             "-DCMAKE_BUILD_TYPE=Release"], check=True)
    run(["ninja", "-C", BUILD], check=True)
    print("| break | file | caught by |")
    print("| --- | --- | --- |")
    for name in names:
        path, old, new, lit = MUTATIONS[name]
        full = os.path.join(ROOT, path)
        original = open(full).read()
        if original.count(old) != 1:
            print(f"| {name} | {path} | (text not found: update this script) |")
            continue
        try:
            open(full, "w").write(original.replace(old, new))
            build = run(["ninja", "-C", BUILD])
            caught = []
            if build.returncode:
                caught.append("the build")
            else:
                ctest = run(["ctest", "--test-dir", BUILD])
                for line in ctest.stdout.splitlines():
                    if "***Failed" in line or "Exception" in line:
                        caught.append(line.split(":")[1].split()[0])
                for test in lit:
                    r = run([LIT, "-q", os.path.join(BUILD, "test", test)])
                    if r.returncode:
                        caught.append(test)
            print(f"| {name} | {path} | {', '.join(caught) or '**nothing**'} |",
                  flush=True)
        finally:
            open(full, "w").write(original)
    run(["ninja", "-C", BUILD])


if __name__ == "__main__":
    main()
