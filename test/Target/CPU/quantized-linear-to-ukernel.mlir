// RUN: quant-opt %s --split-input-file --quantc-quantized-linear-to-ukernel | FileCheck %s

// An int4 affine g128 layer calls the fused kernel on its stored bytes
// (globals, moved to the weights blob in artifacts); the activations' leading
// dimensions are rows of a collapsed view, the result is allocated in its
// own shape. Flags: init (8) | f16 scales (2) = 10.
// CHECK-DAG: memref.global "private" constant @m.blocks.0.q_q_codes : memref<512xi8>
// CHECK-DAG: memref.global "private" constant @m.blocks.0.q_q_scales : memref<16xi8>
// CHECK-DAG: memref.global "private" constant @m.blocks.0.q_q_zeros : memref<8xi8>
// CHECK-LABEL: func.func @main(
// CHECK-NOT: qc.
// CHECK: %[[X:.+]] = bufferization.to_buffer %arg0 read_only : tensor<?x?x256xf32> to memref<?x?x256xf32>
// CHECK: memref.collapse_shape %[[X]] {{\[\[}}0, 1], [2]]
// CHECK: %[[Y:.+]] = memref.alloc(%{{.+}}, %{{.+}}) {alignment = 64 : i64} : memref<?x?x4xf32>
// CHECK: memref.collapse_shape %[[Y]] {{\[\[}}0, 1], [2]]
// CHECK: call @quantc_qmatmul_f32({{.*}}, %c256_i64, %c4_i64, %c4_i64{{.*}}, %c128_i64, %c10_i64)
// CHECK: bufferization.to_tensor %[[Y]] restrict writable
func.func @main(%x: tensor<?x?x256xf32>) -> tensor<?x?x4xf32> {
  %w = qc.qconstant {codes = dense<17> : tensor<4x128xi8>, scales = dense<1.0> : tensor<4x2xf16>,
                     zero_points = dense<8> : tensor<4x2xi8>}
       : !qc.qweight<256x4, int4, affine, group = 128, scale = f16>
  %y = qc.linear %x, %w {layer = "m.blocks.0.q"} : tensor<?x?x256xf32>, !qc.qweight<256x4, int4, affine, group = 128, scale = f16> -> tensor<?x?x4xf32>
  return %y : tensor<?x?x4xf32>
}

// -----

// NF4 (no fused kernel yet) is left to the reference lowering.
// CHECK-LABEL: func.func @nf4
// CHECK: qc.qconstant
// CHECK: qc.linear
func.func @nf4(%x: tensor<2x64xf32>) -> tensor<2x4xf32> {
  %w = qc.qconstant {codes = dense<0> : tensor<4x32xi8>, scales = dense<1.0> : tensor<4x1xf16>}
       : !qc.qweight<64x4, nf4, group = 64, scale = f16>
  %y = qc.linear %x, %w : tensor<2x64xf32>, !qc.qweight<64x4, nf4, group = 64, scale = f16> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// The module's quantc.int8_activations adds the int8-activation flag (16):
// init (8) | f16 scales (2) | int8 activations (16) = 26.
// CHECK-LABEL: func.func @int8_activations
// CHECK: call @quantc_qmatmul_f32({{.*}}, %c26_i64)
module attributes {quantc.int8_activations} {
  func.func @int8_activations(%x: tensor<1x256xf32>) -> tensor<1x4xf32> {
    %w = qc.qconstant {codes = dense<17> : tensor<4x128xi8>, scales = dense<1.0> : tensor<4x2xf16>,
                       zero_points = dense<8> : tensor<4x2xi8>}
         : !qc.qweight<256x4, int4, affine, group = 128, scale = f16>
    %y = qc.linear %x, %w : tensor<1x256xf32>, !qc.qweight<256x4, int4, affine, group = 128, scale = f16> -> tensor<1x4xf32>
    return %y : tensor<1x4xf32>
  }
}

// -----

// A layer with a bias (ONNX Gemm) calls the kernel too; the bias is added
// to the kernel's result by an elementwise op (broadcast along the rows).
// CHECK-LABEL: func.func @biased
// CHECK-NOT: qc.linear
// CHECK: call @quantc_qmatmul_f32
// CHECK: %[[Y:.+]] = bufferization.to_tensor
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #{{.+}}, #{{.+}}], iterator_types = ["parallel", "parallel"]} ins(%[[Y]], %arg1 : tensor<2x4xf32>, tensor<4xf32>) outs(%[[Y]] : tensor<2x4xf32>)
// CHECK: arith.addf
func.func @biased(%x: tensor<2x256xf32>, %b: tensor<4xf32>) -> tensor<2x4xf32> {
  %w = qc.qconstant {codes = dense<17> : tensor<4x128xi8>, scales = dense<1.0> : tensor<4x2xf16>,
                     zero_points = dense<8> : tensor<4x2xi8>}
       : !qc.qweight<256x4, int4, affine, group = 128, scale = f16>
  %y = qc.linear %x, %w, %b : tensor<2x256xf32>, !qc.qweight<256x4, int4, affine, group = 128, scale = f16>, tensor<4xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
