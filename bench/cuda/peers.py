"""The peers a quantized GEMM/GEMV on the GPU is measured against, in the
same run (on the GPU machine; PyTorch there): the memory bandwidth measured
on the device (a large device-to-device copy, bytes read + written), cuBLAS
fp16 (torch.nn.functional.linear) and PyTorch's int4 kernel
(torch._weight_int4pack_mm, groups of 128), on weights N x K at several
batches. Weights rotate among copies so that no timing reads the 60 MB L2.
Medians of CUDA-event timings after warm-up.
  python3 peers.py [--shapes 8192x28672,28672x8192,4096x4096] [--batches 1,16,128,512]
"""
import argparse
import statistics

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--shapes", default="8192x28672,28672x8192,4096x4096")
parser.add_argument("--batches", default="1,16,128,512")
parser.add_argument("--reps", type=int, default=50)
args = parser.parse_args()
dev = torch.device("cuda")
L2 = torch.cuda.get_device_properties(dev).L2_cache_size


def median_ms(fn, reps):
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def copies(nbytes):
    """Copies of a weight so that the rotation spans at least 4 x L2."""
    return max(1, -(-4 * L2 // nbytes))


src = torch.empty(1 << 30, dtype=torch.uint8, device=dev).random_()
dst = torch.empty_like(src)
ms = median_ms(lambda: dst.copy_(src), 20)
bandwidth = 2 * src.numel() / (ms * 1e-3)
print(f"device: {torch.cuda.get_device_name(dev)}, L2 {L2 >> 20} MB; "
      f"device-to-device copy {bandwidth / 1e12:.2f} TB/s (read + write)")
del src, dst

print(f"{'N x K':>12} {'batch':>5} {'fp16 us':>9} {'int4 us':>9} {'W4 floor us':>11}")
for shape in args.shapes.split(","):
    n, k = map(int, shape.split("x"))
    n16 = copies(n * k * 2)
    w16 = [torch.randn(n, k, dtype=torch.float16, device=dev) * 0.02 for _ in range(n16)]
    # The int4 peer's operands: codes packed by PyTorch, scales and zeros per group.
    codes = torch.randint(0, 16, (n, k), dtype=torch.int32, device=dev)
    packed_u8 = (codes[:, ::2] << 4 | codes[:, 1::2]).to(torch.uint8)
    n4 = copies(n * k // 2)
    try:
        w4 = [torch._convert_weight_to_int4pack(packed_u8, 8) for _ in range(n4)]
        sz = torch.rand(k // 128, n, 2, dtype=torch.bfloat16, device=dev)
        int4_error = None
    except Exception as e:  # the private API changes between releases
        w4, int4_error = None, str(e).splitlines()[0]
    del codes, packed_u8
    floor_us = (n * k / 2 + n * k / 128 * 4) / bandwidth * 1e6
    for m in map(int, args.batches.split(",")):
        x16 = torch.randn(m, k, dtype=torch.float16, device=dev)
        xbf = x16.to(torch.bfloat16)
        i = [0]

        def fp16():
            i[0] = (i[0] + 1) % n16
            torch.nn.functional.linear(x16, w16[i[0]])

        t16 = median_ms(fp16, args.reps) * 1e3
        t4 = float("nan")
        if w4 is not None:
            j = [0]

            def int4():
                j[0] = (j[0] + 1) % n4
                torch._weight_int4pack_mm(xbf, w4[j[0]], 128, sz)

            t4 = median_ms(int4, args.reps) * 1e3
        print(f"{shape:>12} {m:5d} {t16:9.1f} {t4:9.1f} {floor_us:11.1f}")
    if int4_error:
        print(f"  int4 peer unavailable: {int4_error}")
    del w16, w4
    torch.cuda.empty_cache()
