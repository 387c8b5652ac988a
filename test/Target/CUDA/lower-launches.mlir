// RUN: quant-opt %s -quantc-cuda-lower-launches -split-input-file -verify-diagnostics | FileCheck %s

// The PTX leaves the module for the artifact; each launch becomes a call of
// the runtime with the kernel's index in quantc_cuda_kernels, the grid, the
// block, the shared bytes and one pointer per argument (stored at the
// function's entry).
// CHECK: module attributes {quantc.cuda_ptx = "//\0A.version 7.8\0A.target sm_90\0A"}
// CHECK-NOT: gpu.binary
// CHECK-LABEL: llvm.func @main
// CHECK-SAME: (%[[P:.*]]: !llvm.ptr, %[[N:.*]]: i64)
// CHECK-DAG: llvm.alloca %{{.*}} x !llvm.struct<(ptr, i64)>
// CHECK-DAG: llvm.alloca %{{.*}} x !llvm.ptr
// CHECK: %[[F0:.*]] = llvm.getelementptr %[[ARGS:.*]][0, 0] : {{.*}}!llvm.struct<(ptr, i64)>
// CHECK: llvm.store %[[P]], %[[F0]]
// CHECK: %[[S0:.*]] = llvm.getelementptr %[[SLOTS:.*]][0]
// CHECK: llvm.store %[[F0]], %[[S0]]
// CHECK: %[[F1:.*]] = llvm.getelementptr %[[ARGS]][0, 1]
// CHECK: llvm.store %[[N]], %[[F1]]
// CHECK: %[[S1:.*]] = llvm.getelementptr %[[SLOTS]][1]
// CHECK: llvm.store %[[F1]], %[[S1]]
// CHECK: %[[SH:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: %[[K0:.*]] = llvm.mlir.constant(0 : i64) : i64
// CHECK: llvm.call @quantc_cuda_launch(%[[K0]], %[[N]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[SH]], %[[SLOTS]])
// CHECK: %[[K1:.*]] = llvm.mlir.constant(1 : i64) : i64
// CHECK: llvm.call @quantc_cuda_launch(%[[K1]],
// CHECK: %[[K0B:.*]] = llvm.mlir.constant(0 : i64) : i64
// CHECK-NEXT: llvm.call @quantc_cuda_launch(%[[K0B]],
// CHECK-NOT: gpu.launch_func
// CHECK: llvm.func @quantc_cuda_launch(i64, i64, i64, i64, i64, i64, i64, i32, !llvm.ptr)
// CHECK: llvm.mlir.global external constant @quantc_cuda_kernels("first\00second\00\00")
module attributes {gpu.container_module} {
  llvm.func @main(%p: !llvm.ptr, %n: i64) {
    %c1 = llvm.mlir.constant(1 : i64) : i64
    %c128 = llvm.mlir.constant(128 : i64) : i64
    gpu.launch_func @quantc_kernels::@first blocks in (%n, %c1, %c1) threads in (%c128, %c1, %c1) : i64 args(%p : !llvm.ptr, %n : i64)
    gpu.launch_func @quantc_kernels::@second blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) : i64 args(%p : !llvm.ptr)
    gpu.launch_func @quantc_kernels::@first blocks in (%n, %c1, %c1) threads in (%c128, %c1, %c1) : i64 args(%p : !llvm.ptr, %n : i64)
    llvm.return
  }
  gpu.binary @quantc_kernels [#gpu.object<#nvvm.target<chip = "sm_90">, assembly = "//\0A.version 7.8\0A.target sm_90\0A">]
}

// -----

// The kernels are one module for one GPU: anything else is an error.
module attributes {gpu.container_module} {
  gpu.binary @a [#gpu.object<#nvvm.target<chip = "sm_90">, assembly = "a">]
  // expected-error @+1 {{more than one kernel binary; expected quantc-gather-gpu-kernels to have run}}
  gpu.binary @b [#gpu.object<#nvvm.target<chip = "sm_90">, assembly = "b">]
}

// -----

module attributes {gpu.container_module} {
  // expected-error @+1 {{expected one PTX object (gpu-module-to-binary format=isa for one target)}}
  gpu.binary @a [#gpu.object<#nvvm.target<chip = "sm_90">, bin = "a">]
}
