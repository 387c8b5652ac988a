// RUN: quant-opt %s --quantc-cuda-pipeline | FileCheck %s
// RUN: quant-opt %s --quantc-cuda-pipeline=chip=sm_80 | FileCheck %s --check-prefix=SM80
// RUN: not quant-opt %s --quantc-cuda-pipeline=chip=sm_75 2>&1 | FileCheck %s --check-prefix=CHIP

// The whole pipeline on a small function: host code in the LLVM dialect that
// allocates through the runtime and launches through it, the kernel (exp as
// a polynomial: no libdevice needed) as PTX for the chip, the kernel names
// for the runtime, and the entry every model has.
// CHECK: module attributes {quantc.cuda_ptx = "{{.*}}.target sm_90{{.*}}.visible .entry main_kernel({{.*}}ld.global{{.*}}st.global
// CHECK-NOT: gpu.
// CHECK: llvm.call @quantc_model_alloc
// CHECK: llvm.call @quantc_cuda_launch
// CHECK: llvm.mlir.global external constant @quantc_cuda_kernels("main_kernel\00\00")
// CHECK: llvm.func @quantc_main(
// SM80: .target sm_80
// CHIP: error: quantc-cuda-pipeline: chip must be one of sm_80, sm_90, not 'sm_75'
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @main(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%n) : tensor<?x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%a: f32, %b: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
