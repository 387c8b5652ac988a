// The named pipeline quant-opt offers is the one the JIT and quantc run:
// imported qc + tensor IR all the way to the LLVM dialect, the matmul on
// the microkernel, one entry point.
// RUN: quant-opt %s --quantc-cpu-pipeline | FileCheck %s
// CHECK-NOT: qc.
// CHECK-NOT: linalg.
// CHECK-DAG: llvm.func private @quantc_matmul_f32(
// CHECK-DAG: llvm.func @_mlir_ciface_main(
// CHECK-DAG: llvm.func @quantc_main(
// CHECK-DAG: llvm.call @_mlir_ciface_quantc_matmul_f32
func.func @main(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
  %w = arith.constant dense<0.5> : tensor<8x4xf32>
  %y = qc.linear %x, %w : tensor<?x8xf32>, tensor<8x4xf32> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
