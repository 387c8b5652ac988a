// RUN: quant-opt %s --split-input-file '--qc-repack-weights=layout=tiles<2x2>' --verify-diagnostics | FileCheck %s
// Back to the neutral layout: the same bytes as before.
// RUN: quant-opt %s --split-input-file '--qc-repack-weights=layout=tiles<2x2>' '--qc-repack-weights=layout=channel_major' --verify-diagnostics | FileCheck %s --check-prefix=BACK
// RUN: not quant-opt %s --split-input-file '--qc-repack-weights=layout=rows' 2>&1 | FileCheck %s --check-prefix=BAD

// int8 codes of channel 0 (k = 0..3) are 1 2 3 4, of channel 1 are 5 6 7 8.
// Tiles of 2 channels x 2 inputs: tile (0, 0) holds 1 2 | 5 6, tile (0, 1)
// holds 3 4 | 7 8; the scales keep their layout.
// CHECK-LABEL: func.func @two_tiles
// CHECK: qc.qconstant {codes = dense_resource<[[C:.+]]> : tensor<1x2x4xi8>, scales = dense<[{{\[}}5.000000e-01], [2.500000e-01]]> : tensor<2x1xf32>} : !qc.qweight<4x2, int8, symmetric, per_channel, scale = f32, layout = tiles<2x2>>
// CHECK: qc.linear %{{.+}}, %{{.+}} : tensor<3x4xf32>, !qc.qweight<4x2, int8, symmetric, per_channel, scale = f32, layout = tiles<2x2>>
// CHECK: [[C]]: "0x010000000102050603040708"
// BACK: qc.qconstant {codes = dense_resource<{{.+}}> : tensor<2x4xi8>{{.*}} : !qc.qweight<4x2, int8, symmetric, per_channel, scale = f32>
// BACK: "0x010000000102030405060708"
// BAD: error: qc-repack-weights: layout='rows' is not a layout: expected channel_major or tiles<TNxTK>
func.func @two_tiles(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = qc.qconstant {codes = dense<[[1, 2, 3, 4], [5, 6, 7, 8]]> : tensor<2x4xi8>, scales = dense<[[0.5], [0.25]]> : tensor<2x1xf32>}
       : !qc.qweight<4x2, int8, symmetric, per_channel, scale = f32>
  %y = qc.linear %x, %w : tensor<3x4xf32>, !qc.qweight<4x2, int8, symmetric, per_channel, scale = f32> -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// Three channels do not fill tiles of two: the weight keeps its layout.
// CHECK-LABEL: func.func @kept
// CHECK: !qc.qweight<4x3, int8, symmetric, per_channel, scale = f32>
func.func @kept() -> !qc.qweight<4x3, int8, symmetric, per_channel, scale = f32> {
  // expected-remark @+1 {{kept in layout #qc.layout<channel_major>: tiles of 2x2 (channels x inputs) do not divide a 4x3 weight}}
  %w = qc.qconstant {codes = dense<1> : tensor<3x4xi8>, scales = dense<1.0> : tensor<3x1xf32>}
       : !qc.qweight<4x3, int8, symmetric, per_channel, scale = f32>
  return %w : !qc.qweight<4x3, int8, symmetric, per_channel, scale = f32>
}
