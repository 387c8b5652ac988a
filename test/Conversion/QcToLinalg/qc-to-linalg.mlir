// RUN: quant-opt %s -qc-to-linalg -split-input-file -verify-diagnostics | FileCheck %s

// A float linear layer becomes one contraction over the leading dimensions,
// N and K, accumulating into zeros; a bias is a second, broadcasting map.
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
// CHECK-DAG: #[[Y:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[IN:.*]]: tensor<?x?x8xf32>, %[[WT:.*]]: tensor<8x4xf32>, %[[BIAS:.*]]: tensor<4xf32>)
// CHECK: %[[ZERO:.*]] = linalg.fill
// CHECK: %[[MM:.*]] = linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[IN]], %[[WT]] : tensor<?x?x8xf32>, tensor<8x4xf32>) outs(%[[ZERO]] : tensor<?x?x4xf32>)
// CHECK:   arith.mulf
// CHECK:   arith.addf
// CHECK: linalg.generic {{.*}} ins(%[[MM]], %[[BIAS]] : tensor<?x?x4xf32>, tensor<4xf32>)
// CHECK-NOT: qc.
func.func @linear(%x: tensor<?x?x8xf32>, %w: tensor<8x4xf32>, %b: tensor<4xf32>) -> tensor<?x?x4xf32> {
  %y = qc.linear %x, %w, %b {layer = "l"} : tensor<?x?x8xf32>, tensor<8x4xf32>, tensor<4xf32> -> tensor<?x?x4xf32>
  return %y : tensor<?x?x4xf32>
}

// -----

// Observers record nothing outside calibration: they go.
// CHECK-LABEL: func.func @observe
// CHECK-NOT: qc.observe
func.func @observe(%x: tensor<4x8xf32>) {
  qc.observe %x layer "l" <absmax> : tensor<4x8xf32>
  return
}

// -----

// A kernel call a target put in before (quantc-quantized-linear-to-ukernel)
// is already lowered: it stays for bufferization.
// CHECK-LABEL: func.func @ukernel
// CHECK: qc.ukernel "kern"
func.func @ukernel(%x: tensor<2x8xf32>, %e: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %y = qc.ukernel "kern" ins(%x : tensor<2x8xf32>) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// A quantized tensor that leaves the function has no buffer form: a located
// error (qc.quantize lowers with the qc.dequantize reading it).
func.func @quantize(%x: tensor<2x32xf32>) -> tensor<2x32x!quant.uniform<i8:f32, 0.05>> {
  // expected-error @+1 {{'qc.quantize' lowers only where qc.dequantize reads it (a !quant.uniform tensor has no buffer form)}}
  %q = qc.quantize %x : tensor<2x32xf32> -> tensor<2x32x!quant.uniform<i8:f32, 0.05>>
  return %q : tensor<2x32x!quant.uniform<i8:f32, 0.05>>
}
