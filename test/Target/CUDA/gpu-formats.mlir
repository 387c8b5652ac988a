// RUN: quant-opt %s --quantc-quantized-linear-to-ukernel=gpu | FileCheck %s

// With `gpu`, only the formats of the CUDA target's fused kernel become its
// call: 2-, 4- or 8-bit integer codes, per channel or per group of a
// multiple of 8, scales as stored. The others stay qc.linear (for
// qc-to-linalg's generic contraction).
// CHECK-LABEL: func.func @main
// CHECK: qc.ukernel "quantc_qmatmul_f32" {{.*}} scalars(%c256_i64, %c4_i64, %c4_i64{{.*}}, %c128_i64
// CHECK: qc.ukernel "quantc_qmatmul_f32" {{.*}} scalars(%c256_i64{{.*}}, %c4_i64{{.*}}, %c2_i64, %c0_i64
// NF4 (a table), 3-bit codes (straddle bytes), groups of 12, double-quantized
// scales:
// CHECK-COUNT-4: qc.linear
// CHECK-NOT: qc.ukernel
func.func @main(%x: tensor<?x256xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>) {
  %w0 = qc.qconstant {codes = dense<17> : tensor<4x128xi8>, scales = dense<1.0> : tensor<4x2xf16>}
       : !qc.qweight<256x4, int4, symmetric, group = 128, scale = f16>
  %y0 = qc.linear %x, %w0 : tensor<?x256xf32>, !qc.qweight<256x4, int4, symmetric, group = 128, scale = f16> -> tensor<?x4xf32>
  %w1 = qc.qconstant {codes = dense<17> : tensor<4x64xi8>, scales = dense<1.0> : tensor<4x1xf32>}
       : !qc.qweight<256x4, int2, symmetric, per_channel, scale = f32>
  %y1 = qc.linear %x, %w1 : tensor<?x256xf32>, !qc.qweight<256x4, int2, symmetric, per_channel, scale = f32> -> tensor<?x4xf32>
  %w2 = qc.qconstant {codes = dense<17> : tensor<4x128xi8>, scales = dense<1.0> : tensor<4x4xf16>}
       : !qc.qweight<256x4, nf4, group = 64, scale = f16>
  %y2 = qc.linear %x, %w2 : tensor<?x256xf32>, !qc.qweight<256x4, nf4, group = 64, scale = f16> -> tensor<?x4xf32>
  %w3 = qc.qconstant {codes = dense<17> : tensor<4x96xi8>, scales = dense<1.0> : tensor<4x2xf16>}
       : !qc.qweight<256x4, int3, symmetric, group = 128, scale = f16>
  %y3 = qc.linear %x, %w3 : tensor<?x256xf32>, !qc.qweight<256x4, int3, symmetric, group = 128, scale = f16> -> tensor<?x4xf32>
  %w4 = qc.qconstant {codes = dense<17> : tensor<4x128xi8>, scales = dense<1.0> : tensor<4x22xf16>}
       : !qc.qweight<256x4, int4, symmetric, group = 12, scale = f16>
  %y4 = qc.linear %x, %w4 : tensor<?x256xf32>, !qc.qweight<256x4, int4, symmetric, group = 12, scale = f16> -> tensor<?x4xf32>
  %w5 = qc.qconstant {codes = dense<17> : tensor<4x256xi8>, scales = dense<3> : tensor<4x4xi8>, scale_params = dense<1.0> : tensor<1x2xf32>}
       : !qc.qweight<256x4, int8, symmetric, group = 64, scale = f16, double_quant = <int8, block = 16>>
  %y5 = qc.linear %x, %w5 : tensor<?x256xf32>, !qc.qweight<256x4, int8, symmetric, group = 64, scale = f16, double_quant = <int8, block = 16>> -> tensor<?x4xf32>
  return %y0, %y1, %y2, %y3, %y4, %y5 : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>
}
