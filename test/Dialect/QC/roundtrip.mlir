// Every qc op, type and format prints and parses back to the same IR, in the
// custom and in the generic form.
// RUN: quant-opt %s | quant-opt | FileCheck %s
// RUN: quant-opt %s --mlir-print-op-generic | quant-opt | FileCheck %s

// CHECK-LABEL: func.func @linear_float
// CHECK: qc.linear %arg0, %arg1 : tensor<?x?x256xf32>, tensor<256x768xf32> -> tensor<?x?x768xf32>
// CHECK: qc.linear %arg0, %arg1, %arg2 : tensor<?x?x256xf32>, tensor<256x768xf32>, tensor<768xf32> -> tensor<?x?x768xf32>
func.func @linear_float(%x: tensor<?x?x256xf32>, %w: tensor<256x768xf32>, %b: tensor<768xf32>) -> (tensor<?x?x768xf32>, tensor<?x?x768xf32>) {
  %0 = qc.linear %x, %w : tensor<?x?x256xf32>, tensor<256x768xf32> -> tensor<?x?x768xf32>
  %1 = qc.linear %x, %w, %b : tensor<?x?x256xf32>, tensor<256x768xf32>, tensor<768xf32> -> tensor<?x?x768xf32>
  return %0, %1 : tensor<?x?x768xf32>, tensor<?x?x768xf32>
}

// CHECK-LABEL: func.func @int4_group_affine
// CHECK: %[[W:.*]] = qc.qconstant {codes = dense_resource<w_codes> : tensor<8x16xi8>, scales = dense_resource<w_scales> : tensor<8x1xf16>, zero_points = dense<8> : tensor<8x1xi8>} : !qc.qweight<32x8, int4, affine, group = 32, scale = f16>
// CHECK: qc.linear %arg0, %[[W]] : tensor<2x32xf32>, !qc.qweight<32x8, int4, affine, group = 32, scale = f16> -> tensor<2x8xf32>
func.func @int4_group_affine(%x: tensor<2x32xf32>) -> tensor<2x8xf32> {
  %w = qc.qconstant {codes = dense_resource<w_codes> : tensor<8x16xi8>,
                     scales = dense_resource<w_scales> : tensor<8x1xf16>,
                     zero_points = dense<8> : tensor<8x1xi8>}
       : !qc.qweight<32x8, int4, affine, group = 32, scale = f16>
  %y = qc.linear %x, %w : tensor<2x32xf32>, !qc.qweight<32x8, int4, affine, group = 32, scale = f16> -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// CHECK-LABEL: func.func @every_format
func.func @every_format(%x: tensor<4x64xf32>, %b: tensor<4xf32>) {
  // CHECK: !qc.qweight<64x4, int8, symmetric, per_tensor, scale = f32>
  %t = qc.qconstant {codes = dense<0> : tensor<4x64xi8>, scales = dense<1.0> : tensor<1x1xf32>}
       : !qc.qweight<64x4, int8, symmetric, per_tensor, scale = f32>
  // CHECK: !qc.qweight<64x4, int8, symmetric, per_channel, scale = bf16>
  %c = qc.qconstant {codes = dense<0> : tensor<4x64xi8>, scales = dense<1.0> : tensor<4x1xbf16>}
       : !qc.qweight<64x4, int8, symmetric, per_channel, scale = bf16>
  // CHECK: !qc.qweight<64x4, int2, affine, group = 16, scale = f16>
  %i2 = qc.qconstant {codes = dense<0> : tensor<4x16xi8>, scales = dense<1.0> : tensor<4x4xf16>, zero_points = dense<1> : tensor<4x4xi8>}
       : !qc.qweight<64x4, int2, affine, group = 16, scale = f16>
  // CHECK: !qc.qweight<64x4, int3, symmetric, group = 32, scale = f32>
  %i3 = qc.qconstant {codes = dense<0> : tensor<4x24xi8>, scales = dense<1.0> : tensor<4x2xf32>}
       : !qc.qweight<64x4, int3, symmetric, group = 32, scale = f32>
  // CHECK: !qc.qweight<64x4, nf4, group = 64, scale = bf16, double_quant = <int8, block = 256>>
  %nf4 = qc.qconstant {codes = dense<0> : tensor<4x32xi8>, scales = dense<3> : tensor<4x1xi8>, scale_params = dense<[[0.5, 0.01]]> : tensor<1x2xf32>}
       : !qc.qweight<64x4, nf4, group = 64, scale = bf16, double_quant = <int8, block = 256>>
  // CHECK: !qc.qweight<64x4, fp4_e2m1, group = 32, scale = f16>
  %fp4 = qc.qconstant {codes = dense<0> : tensor<4x32xi8>, scales = dense<1.0> : tensor<4x2xf16>}
       : !qc.qweight<64x4, fp4_e2m1, group = 32, scale = f16>
  // CHECK: !qc.qweight<64x4, fp8_e4m3, per_tensor, scale = f32>
  %e4 = qc.qconstant {codes = dense<0> : tensor<4x64xi8>, scales = dense<1.0> : tensor<1x1xf32>}
       : !qc.qweight<64x4, fp8_e4m3, per_tensor, scale = f32>
  // CHECK: !qc.qweight<64x4, fp8_e5m2, per_channel, scale = f32>
  %e5 = qc.qconstant {codes = dense<0> : tensor<4x64xi8>, scales = dense<1.0> : tensor<4x1xf32>}
       : !qc.qweight<64x4, fp8_e5m2, per_channel, scale = f32>
  // CHECK: !qc.qweight<64x4, int3, affine, group = 16, scale = f16, double_quant = <int3, block = 16>, outliers>
  %spqr = qc.qconstant {codes = dense<0> : tensor<4x24xi8>, scales = dense<2> : tensor<4x4xi8>,
                        scale_params = dense<[[0.1, 0.02]]> : tensor<1x2xf32>, zero_points = dense<4> : tensor<4x4xi8>,
                        outlier_offsets = dense<[0, 1, 1, 2, 2]> : tensor<5xi32>,
                        outlier_columns = dense<[3, 60]> : tensor<2xi32>,
                        outlier_values = dense<[7.5, -3.25]> : tensor<2xf16>}
       : !qc.qweight<64x4, int3, affine, group = 16, scale = f16, double_quant = <int3, block = 16>, outliers>
  // CHECK: qc.linear %arg0, %{{.*}}, %arg1 : tensor<4x64xf32>, !qc.qweight<64x4, int3, affine, group = 16, scale = f16, double_quant = <int3, block = 16>, outliers>, tensor<4xf32> -> tensor<4x4xf32>
  %y = qc.linear %x, %spqr, %b : tensor<4x64xf32>, !qc.qweight<64x4, int3, affine, group = 16, scale = f16, double_quant = <int3, block = 16>, outliers>, tensor<4xf32> -> tensor<4x4xf32>
  return
}

// The format also stands alone as an attribute.
// CHECK-LABEL: func.func @format_attr
// CHECK-SAME: qc.format = #qc.format<int4, symmetric, group = 128, scale = f32>
func.func @format_attr() attributes {qc.format = #qc.format<int4, group = 128>} {
  return
}

// CHECK-LABEL: func.func @static_activations
// CHECK: %[[Q:.*]] = qc.quantize %arg0 : tensor<4x256xf32> -> tensor<4x256x!quant.uniform<i8:f32, 5.000000e-02>>
// CHECK: qc.dequantize %[[Q]] : tensor<4x256x!quant.uniform<i8:f32, 5.000000e-02>> -> tensor<4x256xf32>
// CHECK: qc.quantize %arg0 : tensor<4x256xf32> -> tensor<4x256x!quant.uniform<u8:f32:0, {1.000000e-01:128,2.000000e-01:120,3.000000e-01:128,4.000000e-01:100}>>
func.func @static_activations(%x: tensor<4x256xf32>) -> tensor<4x256xf32> {
  %q = qc.quantize %x : tensor<4x256xf32> -> tensor<4x256x!quant.uniform<i8:f32, 0.05>>
  %d = qc.dequantize %q : tensor<4x256x!quant.uniform<i8:f32, 0.05>> -> tensor<4x256xf32>
  %p = qc.quantize %x : tensor<4x256xf32> -> tensor<4x256x!quant.uniform<u8:f32:0, {0.1:128, 0.2:120, 0.3:128, 0.4:100}>>
  return %d : tensor<4x256xf32>
}

// CHECK-LABEL: func.func @dynamic_activations
// CHECK: %[[C:.*]], %[[S:.*]] = qc.quantize_dynamic %arg0 <per_token> : tensor<?x256xf32> -> tensor<?x256xi8>, tensor<?x1xf32>
// CHECK: qc.dequantize_dynamic %[[C]], %[[S]] : tensor<?x256xi8>, tensor<?x1xf32> -> tensor<?x256xf32>
// CHECK: %[[C2:.*]], %[[S2:.*]], %[[Z2:.*]] = qc.quantize_dynamic %arg0 <per_tensor> affine : tensor<?x256xf32> -> tensor<?x256xi4>, tensor<1x1xf32>, tensor<1x1xi4>
// CHECK: qc.dequantize_dynamic %[[C2]], %[[S2]], %[[Z2]] : tensor<?x256xi4>, tensor<1x1xf32>, tensor<1x1xi4> -> tensor<?x256xf32>
// CHECK: qc.quantize_dynamic %arg0 <per_channel> : tensor<?x256xf32> -> tensor<?x256xi8>, tensor<1x256xf32>
func.func @dynamic_activations(%x: tensor<?x256xf32>) {
  %c, %s = qc.quantize_dynamic %x <per_token> : tensor<?x256xf32> -> tensor<?x256xi8>, tensor<?x1xf32>
  %d = qc.dequantize_dynamic %c, %s : tensor<?x256xi8>, tensor<?x1xf32> -> tensor<?x256xf32>
  %c2, %s2, %z2 = qc.quantize_dynamic %x <per_tensor> affine : tensor<?x256xf32> -> tensor<?x256xi4>, tensor<1x1xf32>, tensor<1x1xi4>
  %d2 = qc.dequantize_dynamic %c2, %s2, %z2 : tensor<?x256xi4>, tensor<1x1xf32>, tensor<1x1xi4> -> tensor<?x256xf32>
  %c3, %s3 = qc.quantize_dynamic %x <per_channel> : tensor<?x256xf32> -> tensor<?x256xi8>, tensor<1x256xf32>
  return
}

// CHECK-LABEL: func.func @split_columns
// CHECK: %{{.*}}, %{{.*}} = qc.split_columns %arg0 [3, 17] : tensor<?x?x64xf32> -> tensor<?x?x64xf32>, tensor<?x?x2xf32>
func.func @split_columns(%x: tensor<?x?x64xf32>) {
  %r, %o = qc.split_columns %x [3, 17] : tensor<?x?x64xf32> -> tensor<?x?x64xf32>, tensor<?x?x2xf32>
  return
}

// CHECK-LABEL: func.func @observe
// CHECK: qc.observe %arg0 layer "layers.0.attn.q_proj" <absmax|mean|hessian> : tensor<?x?x256xf32>
// CHECK: qc.observe %arg0 layer "lm_head" <absmax> : tensor<?x?x256xf32>
func.func @observe(%x: tensor<?x?x256xf32>) {
  qc.observe %x layer "layers.0.attn.q_proj" <absmax|mean|hessian> : tensor<?x?x256xf32>
  qc.observe %x layer "lm_head" <absmax> : tensor<?x?x256xf32>
  return
}

{-#
  dialect_resources: {
    builtin: {
      w_codes: "0x010000002121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121212121",
      w_scales: "0x02000000003c003c003c003c003c003c003c003c"
    }
  }
#-}

// A group size that does not divide K: ceil(K / g) groups, the last one
// shorter (200 = 128 + 72: two scales per channel).
// CHECK-LABEL: func.func @partial_group
// CHECK: qc.qconstant {{.*}} : !qc.qweight<200x4, int4, affine, group = 128, scale = f16>
func.func @partial_group() -> !qc.qweight<200x4, int4, affine, group = 128, scale = f16> {
  %w = qc.qconstant {codes = dense<0> : tensor<4x100xi8>, scales = dense<1.0> : tensor<4x2xf16>,
                     zero_points = dense<8> : tensor<4x2xi8>}
       : !qc.qweight<200x4, int4, affine, group = 128, scale = f16>
  return %w : !qc.qweight<200x4, int4, affine, group = 128, scale = f16>
}

// A kernel call on tensors (results: the outs' new values) and on buffers.
// CHECK-LABEL: func.func @ukernel
// CHECK: %[[Y:.+]] = qc.ukernel "kern" ins(%arg0, %arg1 : tensor<?x8xf32>, tensor<16xi8>) outs(%arg2 : tensor<?x4xf32>) scalars(%arg3 : i64) -> tensor<?x4xf32>
// CHECK: qc.ukernel "kern" outs(%arg4 : memref<3x4xf32>) {note = 1 : i64}
func.func @ukernel(%x: tensor<?x8xf32>, %b: tensor<16xi8>, %e: tensor<?x4xf32>, %k: i64,
                   %m: memref<3x4xf32>) -> tensor<?x4xf32> {
  %y = qc.ukernel "kern" ins(%x, %b : tensor<?x8xf32>, tensor<16xi8>) outs(%e : tensor<?x4xf32>) scalars(%k : i64) -> tensor<?x4xf32>
  qc.ukernel "kern" outs(%m : memref<3x4xf32>) {note = 1}
  return %y : tensor<?x4xf32>
}

// Codes in tiles of 16 channels x 64 inputs (a target's layout); the
// neutral layout is not printed.
// CHECK-LABEL: func.func @tiled
// CHECK-SAME: attributes {l = #qc.layout<tiles<16x64>>, m = #qc.layout<channel_major>}
// CHECK: qc.qconstant {{.*}} : tensor<2x2x512xi8>{{.*}} : !qc.qweight<128x32, int4, symmetric, per_channel, scale = f32, layout = tiles<16x64>>
// CHECK: !qc.qweight<128x32, int4, symmetric, per_channel, scale = f32>
func.func @tiled(%x: tensor<2x128xf32>) -> (tensor<2x32xf32>, !qc.qweight<128x32, int4, per_channel, layout = channel_major>)
    attributes {l = #qc.layout<tiles<16x64>>, m = #qc.layout<channel_major>} {
  %w = qc.qconstant {codes = dense<0> : tensor<2x2x512xi8>, scales = dense<1.0> : tensor<32x1xf32>}
       : !qc.qweight<128x32, int4, per_channel, scale = f32, layout = tiles<16x64>>
  %y = qc.linear %x, %w : tensor<2x128xf32>, !qc.qweight<128x32, int4, per_channel, scale = f32, layout = tiles<16x64>> -> tensor<2x32xf32>
  %n = qc.qconstant {codes = dense<0> : tensor<32x64xi8>, scales = dense<1.0> : tensor<32x1xf32>}
       : !qc.qweight<128x32, int4, per_channel, layout = channel_major>
  return %y, %n : tensor<2x32xf32>, !qc.qweight<128x32, int4, per_channel, layout = channel_major>
}
