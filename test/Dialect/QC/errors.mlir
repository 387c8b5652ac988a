// Every verifier error of the qc ops.
// RUN: quant-opt %s -split-input-file -verify-diagnostics

func.func @linear_dynamic_weight(%x: tensor<4x8xf32>, %w: tensor<?x16xf32>) {
  // expected-error @+1 {{weight must have a static shape, not 'tensor<?x16xf32>'}}
  %y = qc.linear %x, %w : tensor<4x8xf32>, tensor<?x16xf32> -> tensor<4x16xf32>
  return
}

// -----

func.func @linear_weight_type(%x: tensor<4x8xf32>, %w: tensor<8x16xf16>) {
  // expected-error @+1 {{weight element type 'f16' differs from the input's 'f32'}}
  %y = qc.linear %x, %w : tensor<4x8xf32>, tensor<8x16xf16> -> tensor<4x16xf32>
  return
}

// -----

func.func @linear_weight_rank(%x: tensor<4x8xf32>, %w: tensor<2x8x16xf32>) {
  // expected-error @+1 {{operand #1 must be 2D tensor of floating-point values or A quantized weight matrix}}
  %y = qc.linear %x, %w : tensor<4x8xf32>, tensor<2x8x16xf32> -> tensor<4x16xf32>
  return
}

// -----

func.func @linear_k(%x: tensor<4x9xf32>, %w: tensor<8x16xf32>) {
  // expected-error @+1 {{input's last dimension (9) does not match the weight's input dimension (8)}}
  %y = qc.linear %x, %w : tensor<4x9xf32>, tensor<8x16xf32> -> tensor<4x16xf32>
  return
}

// -----

func.func @linear_k_quantized(%x: tensor<4x32xf32>, %w: !qc.qweight<64x16, int4, group = 32>) {
  // expected-error @+1 {{input's last dimension (32) does not match the weight's input dimension (64)}}
  %y = qc.linear %x, %w : tensor<4x32xf32>, !qc.qweight<64x16, int4, group = 32> -> tensor<4x16xf32>
  return
}

// -----

func.func @linear_scalar(%x: tensor<f32>, %w: tensor<8x16xf32>) {
  // expected-error @+1 {{input must have rank 1 or more}}
  %y = qc.linear %x, %w : tensor<f32>, tensor<8x16xf32> -> tensor<16xf32>
  return
}

// -----

func.func @linear_result_type(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>) {
  // expected-error @+1 {{result element type 'f16' differs from the input's 'f32'}}
  %y = qc.linear %x, %w : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<4x16xf16>
  return
}

// -----

func.func @linear_result_rank(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>) {
  // expected-error @+1 {{result rank 3 differs from the input rank 2}}
  %y = qc.linear %x, %w : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<1x4x16xf32>
  return
}

// -----

func.func @linear_result_batch(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>) {
  // expected-error @+1 {{result dimension 0 (5) does not match the input's (4)}}
  %y = qc.linear %x, %w : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<5x16xf32>
  return
}

// -----

func.func @linear_result_n(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>) {
  // expected-error @+1 {{result's last dimension (17) must be the weight's output dimension (16)}}
  %y = qc.linear %x, %w : tensor<4x8xf32>, tensor<8x16xf32> -> tensor<4x17xf32>
  return
}

// -----

func.func @linear_bias(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{bias must be 'tensor<16xf32>', not 'tensor<8xf32>'}}
  %y = qc.linear %x, %w, %b : tensor<4x8xf32>, tensor<8x16xf32>, tensor<8xf32> -> tensor<4x16xf32>
  return
}

// -----

func.func @qconstant_codes() {
  // expected-error @+1 {{'codes' must be 'tensor<16x16xi8>', not 'tensor<16x32xi8>'}}
  %w = qc.qconstant {codes = dense<0> : tensor<16x32xi8>, scales = dense<1.0> : tensor<16x1xf32>}
       : !qc.qweight<32x16, int4, per_channel>
  return
}

// -----

func.func @qconstant_scale_type() {
  // expected-error @+1 {{'scales' must be 'tensor<16x2xf16>', not 'tensor<16x2xf32>'}}
  %w = qc.qconstant {codes = dense<0> : tensor<16x16xi8>, scales = dense<1.0> : tensor<16x2xf32>}
       : !qc.qweight<32x16, int4, group = 16, scale = f16>
  return
}

// -----

func.func @qconstant_per_tensor_scales() {
  // expected-error @+1 {{'scales' must be 'tensor<1x1xf32>', not 'tensor<16x1xf32>'}}
  %w = qc.qconstant {codes = dense<0> : tensor<16x32xi8>, scales = dense<1.0> : tensor<16x1xf32>}
       : !qc.qweight<32x16, int8, per_tensor>
  return
}

// -----

func.func @qconstant_needs_scale_params() {
  // expected-error @+1 {{needs 'scale_params' (the format's scales are double-quantized)}}
  %w = qc.qconstant {codes = dense<0> : tensor<16x16xi8>, scales = dense<1> : tensor<16x2xi8>}
       : !qc.qweight<32x16, nf4, group = 16, double_quant = <int8, block = 8>>
  return
}

// -----

func.func @qconstant_double_quant_scales_are_codes() {
  // expected-error @+1 {{'scales' must be 'tensor<16x2xi8>', not 'tensor<16x2xf32>'}}
  %w = qc.qconstant {codes = dense<0> : tensor<16x16xi8>, scales = dense<1.0> : tensor<16x2xf32>, scale_params = dense<1.0> : tensor<4x2xf32>}
       : !qc.qweight<32x16, nf4, group = 16, double_quant = <int8, block = 8>>
  return
}

// -----

func.func @qconstant_unexpected_scale_params() {
  // expected-error @+1 {{must not have 'scale_params' (the format's scales are double-quantized)}}
  %w = qc.qconstant {codes = dense<0> : tensor<16x16xi8>, scales = dense<1.0> : tensor<16x2xf32>, scale_params = dense<1.0> : tensor<4x2xf32>}
       : !qc.qweight<32x16, nf4, group = 16>
  return
}

// -----

func.func @qconstant_scale_params_shape() {
  // 32 scales in blocks of 8: 4 blocks.
  // expected-error @+1 {{'scale_params' must be 'tensor<4x2xf32>', not 'tensor<3x2xf32>'}}
  %w = qc.qconstant {codes = dense<0> : tensor<16x16xi8>, scales = dense<1> : tensor<16x2xi8>, scale_params = dense<1.0> : tensor<3x2xf32>}
       : !qc.qweight<32x16, nf4, group = 16, double_quant = <int8, block = 8>>
  return
}

// -----

func.func @qconstant_needs_zero_points() {
  // expected-error @+1 {{needs 'zero_points' (the format is affine)}}
  %w = qc.qconstant {codes = dense<0> : tensor<16x12xi8>, scales = dense<1.0> : tensor<16x2xf32>}
       : !qc.qweight<32x16, int3, affine, group = 16>
  return
}

// -----

func.func @qconstant_unexpected_zero_points() {
  // expected-error @+1 {{must not have 'zero_points' (the format is affine)}}
  %w = qc.qconstant {codes = dense<0> : tensor<16x12xi8>, scales = dense<1.0> : tensor<16x2xf32>, zero_points = dense<0> : tensor<16x2xi8>}
       : !qc.qweight<32x16, int3, symmetric, group = 16>
  return
}

// -----

func.func @qconstant_zero_points_shape() {
  // expected-error @+1 {{'zero_points' must be 'tensor<16x2xi8>', not 'tensor<16x1xi8>'}}
  %w = qc.qconstant {codes = dense<0> : tensor<16x12xi8>, scales = dense<1.0> : tensor<16x2xf32>, zero_points = dense<0> : tensor<16x1xi8>}
       : !qc.qweight<32x16, int3, affine, group = 16>
  return
}

// -----

func.func @qconstant_needs_outliers() {
  // expected-error @+1 {{needs 'outlier_offsets' (outliers in the format)}}
  %w = qc.qconstant {codes = dense<0> : tensor<4x16xi8>, scales = dense<1.0> : tensor<4x1xf32>}
       : !qc.qweight<32x4, int4, per_channel, outliers>
  return
}

// -----

func.func @qconstant_unexpected_outliers() {
  // expected-error @+1 {{must not have 'outlier_values' (outliers in the format)}}
  %w = qc.qconstant {codes = dense<0> : tensor<4x16xi8>, scales = dense<1.0> : tensor<4x1xf32>, outlier_values = dense<1.0> : tensor<1xf16>}
       : !qc.qweight<32x4, int4, per_channel>
  return
}

// -----

func.func @qconstant_outlier_columns_rank() {
  // expected-error @+1 {{'outlier_columns' must be a 1-D tensor of i32, not 'tensor<1x1xi32>'}}
  %w = qc.qconstant {codes = dense<0> : tensor<4x16xi8>, scales = dense<1.0> : tensor<4x1xf32>,
                     outlier_offsets = dense<[0, 1, 1, 1, 1]> : tensor<5xi32>, outlier_columns = dense<3> : tensor<1x1xi32>, outlier_values = dense<1.0> : tensor<1xf16>}
       : !qc.qweight<32x4, int4, per_channel, outliers>
  return
}

// -----

func.func @qconstant_outlier_offsets_shape() {
  // expected-error @+1 {{'outlier_offsets' must be 'tensor<5xi32>', not 'tensor<4xi32>'}}
  %w = qc.qconstant {codes = dense<0> : tensor<4x16xi8>, scales = dense<1.0> : tensor<4x1xf32>,
                     outlier_offsets = dense<[0, 1, 1, 1]> : tensor<4xi32>, outlier_columns = dense<3> : tensor<1xi32>, outlier_values = dense<1.0> : tensor<1xf16>}
       : !qc.qweight<32x4, int4, per_channel, outliers>
  return
}

// -----

func.func @qconstant_outlier_values_length() {
  // expected-error @+1 {{'outlier_values' must be 'tensor<1xf16>', not 'tensor<2xf16>'}}
  %w = qc.qconstant {codes = dense<0> : tensor<4x16xi8>, scales = dense<1.0> : tensor<4x1xf32>,
                     outlier_offsets = dense<[0, 1, 1, 1, 1]> : tensor<5xi32>, outlier_columns = dense<3> : tensor<1xi32>, outlier_values = dense<1.0> : tensor<2xf16>}
       : !qc.qweight<32x4, int4, per_channel, outliers>
  return
}

// -----

func.func @qconstant_outlier_offsets_fall() {
  // expected-error @+1 {{'outlier_offsets' must rise from 0 to the number of outliers (2); entry 2 is 0}}
  %w = qc.qconstant {codes = dense<0> : tensor<4x16xi8>, scales = dense<1.0> : tensor<4x1xf32>,
                     outlier_offsets = dense<[0, 2, 0, 2, 2]> : tensor<5xi32>, outlier_columns = dense<[3, 4]> : tensor<2xi32>, outlier_values = dense<1.0> : tensor<2xf16>}
       : !qc.qweight<32x4, int4, per_channel, outliers>
  return
}

// -----

func.func @qconstant_outlier_offsets_end() {
  // expected-error @+1 {{'outlier_offsets' must rise from 0 to the number of outliers (2); entry 4 is 1}}
  %w = qc.qconstant {codes = dense<0> : tensor<4x16xi8>, scales = dense<1.0> : tensor<4x1xf32>,
                     outlier_offsets = dense<[0, 1, 1, 1, 1]> : tensor<5xi32>, outlier_columns = dense<[3, 4]> : tensor<2xi32>, outlier_values = dense<1.0> : tensor<2xf16>}
       : !qc.qweight<32x4, int4, per_channel, outliers>
  return
}

// -----

func.func @qconstant_outlier_column_range() {
  // expected-error @+1 {{outlier column 32 (entry 1) is outside the input dimension 32}}
  %w = qc.qconstant {codes = dense<0> : tensor<4x16xi8>, scales = dense<1.0> : tensor<4x1xf32>,
                     outlier_offsets = dense<[0, 2, 2, 2, 2]> : tensor<5xi32>, outlier_columns = dense<[3, 32]> : tensor<2xi32>, outlier_values = dense<1.0> : tensor<2xf16>}
       : !qc.qweight<32x4, int4, per_channel, outliers>
  return
}

// -----

func.func @quantize_expressed(%x: tensor<4xf32>) {
  // expected-error @+1 {{quantized type expresses 'f16' but the float side is 'f32'}}
  %q = qc.quantize %x : tensor<4xf32> -> tensor<4x!quant.uniform<i8:f16, 0.1>>
  return
}

// -----

func.func @quantize_not_quantized(%x: tensor<4xf32>) {
  // expected-error @+1 {{result #0 must be ranked tensor of uniform quantized type (per tensor or per axis) values}}
  %q = qc.quantize %x : tensor<4xf32> -> tensor<4xi8>
  return
}

// -----

func.func @quantize_axis(%x: tensor<4x3xf32>) {
  // expected-error @+1 {{quantized dimension 2 is outside a tensor of rank 2}}
  %q = qc.quantize %x : tensor<4x3xf32> -> tensor<4x3x!quant.uniform<i8:f32:2, {0.1, 0.2}>>
  return
}

// -----

func.func @quantize_axis_size(%x: tensor<4x3xf32>) {
  // expected-error @+1 {{quantized dimension 1 has size 3 but 2 scales}}
  %q = qc.quantize %x : tensor<4x3xf32> -> tensor<4x3x!quant.uniform<i8:f32:1, {0.1, 0.2}>>
  return
}

// -----

func.func @dequantize_expressed(%q: tensor<4x!quant.uniform<i8:f32, 0.1>>) {
  // expected-error @+1 {{quantized type expresses 'f32' but the float side is 'f16'}}
  %x = qc.dequantize %q : tensor<4x!quant.uniform<i8:f32, 0.1>> -> tensor<4xf16>
  return
}

// -----

func.func @dynamic_scalar(%x: tensor<f32>) {
  // expected-error @+1 {{input must have rank 1 or more}}
  %c, %s = qc.quantize_dynamic %x <per_tensor> : tensor<f32> -> tensor<i8>, tensor<f32>
  return
}

// -----

func.func @dynamic_codes_shape(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{codes shape must match the input's}}
  %c, %s = qc.quantize_dynamic %x <per_token> : tensor<4x8xf32> -> tensor<4x9xi8>, tensor<4x1xf32>
  return
}

// -----

func.func @dynamic_codes_width(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{codes must have 2 to 8 bits, not 16}}
  %c, %s = qc.quantize_dynamic %x <per_token> : tensor<4x8xf32> -> tensor<4x8xi16>, tensor<4x1xf32>
  return
}

// -----

func.func @dynamic_scales_per_token(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{scales of per_token quantization must be 'tensor<4x1xf32>', not 'tensor<1x8xf32>'}}
  %c, %s = qc.quantize_dynamic %x <per_token> : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<1x8xf32>
  return
}

// -----

func.func @dynamic_scales_per_channel(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{scales of per_channel quantization must be 'tensor<1x8xf32>', not 'tensor<?x1xf32>'}}
  %c, %s = qc.quantize_dynamic %x <per_channel> : tensor<?x8xf32> -> tensor<?x8xi8>, tensor<?x1xf32>
  return
}

// -----

func.func @dynamic_scales_per_tensor(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{scales of per_tensor quantization must be 'tensor<1x1xf32>', not 'tensor<1xf32>'}}
  %c, %s = qc.quantize_dynamic %x <per_tensor> : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<1xf32>
  return
}

// -----

func.func @dynamic_affine_without_zero(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{affine quantization needs a zero-point result}}
  %c, %s = qc.quantize_dynamic %x <per_token> affine : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<4x1xf32>
  return
}

// -----

func.func @dynamic_symmetric_with_zero(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{symmetric quantization has no zero points; add 'affine'}}
  %c, %s, %z = qc.quantize_dynamic %x <per_token> : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<4x1xf32>, tensor<4x1xi8>
  return
}

// -----

func.func @dynamic_zero_type(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{zero points must be 'tensor<4x1xi8>', not 'tensor<4x1xi32>'}}
  %c, %s, %z = qc.quantize_dynamic %x <per_token> affine : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<4x1xf32>, tensor<4x1xi32>
  return
}

// -----

func.func @dequantize_dynamic_shape(%c: tensor<4x8xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{result shape must match the codes'}}
  %x = qc.dequantize_dynamic %c, %s : tensor<4x8xi8>, tensor<4x1xf32> -> tensor<4x7xf32>
  return
}

// -----

func.func @dequantize_dynamic_rank(%c: tensor<4x8xi8>, %s: tensor<4xf32>) {
  // expected-error @+1 {{scales must have the codes' rank 2}}
  %x = qc.dequantize_dynamic %c, %s : tensor<4x8xi8>, tensor<4xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @dequantize_dynamic_broadcast(%c: tensor<4x8xi8>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{scales dimension 1 (2) is neither 1 nor the codes' (8)}}
  %x = qc.dequantize_dynamic %c, %s : tensor<4x8xi8>, tensor<4x2xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @dequantize_dynamic_zero(%c: tensor<4x8xi8>, %s: tensor<4x1xf32>, %z: tensor<1x1xi8>) {
  // expected-error @+1 {{zero points must be 'tensor<4x1xi8>', not 'tensor<1x1xi8>'}}
  %x = qc.dequantize_dynamic %c, %s, %z : tensor<4x8xi8>, tensor<4x1xf32>, tensor<1x1xi8> -> tensor<4x8xf32>
  return
}

// -----

func.func @observe_layer(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{needs a non-empty layer name}}
  qc.observe %x layer "" <absmax> : tensor<4x8xf32>
  return
}

// -----

func.func @observe_scalar(%x: tensor<f32>) {
  // expected-error @+1 {{input must have rank 1 or more}}
  qc.observe %x layer "l" <absmax> : tensor<f32>
  return
}

// -----

func.func @observe_nothing(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{must record at least one statistic}}
  qc.observe %x layer "l" <none> : tensor<4x8xf32>
  return
}

// -----

func.func @ukernel_no_name(%e: tensor<4xf32>) {
  // expected-error @+1 {{needs a kernel name}}
  %y = qc.ukernel "" outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @ukernel_no_outs(%x: tensor<4xf32>) {
  // expected-error @+1 {{needs at least one outs operand}}
  "qc.ukernel"(%x) {fn = "k", operandSegmentSizes = array<i32: 1, 0, 0>} : (tensor<4xf32>) -> ()
  return
}

// -----

func.func @ukernel_mixed_outs(%e: tensor<4xf32>, %m: memref<4xf32>) {
  // expected-error @+1 {{outs must be all tensors or all buffers}}
  %y = qc.ukernel "k" outs(%e, %m : tensor<4xf32>, memref<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @ukernel_buffer_results(%m: memref<4xf32>) {
  // expected-error @+1 {{on buffers has no results}}
  %y = qc.ukernel "k" outs(%m : memref<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @ukernel_result_types(%e: tensor<4xf32>) {
  // expected-error @+1 {{results must have the types of the outs tensors}}
  %y = qc.ukernel "k" outs(%e : tensor<4xf32>) -> tensor<5xf32>
  return
}

// -----

func.func @ukernel_mixed_ins(%m: memref<4xf32>, %e: tensor<4xf32>) {
  // expected-error @+1 {{ins must be tensors like its outs}}
  %y = qc.ukernel "k" ins(%m : memref<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

// Tiled codes: (N / TN) x (K / TK) tiles of TN * TK * B / 8 bytes.
func.func @qconstant_tiled_codes() {
  // expected-error @+1 {{'codes' must be 'tensor<2x2x512xi8>', not 'tensor<32x64xi8>'}}
  %w = qc.qconstant {codes = dense<0> : tensor<32x64xi8>, scales = dense<1.0> : tensor<32x1xf32>}
       : !qc.qweight<128x32, int4, per_channel, scale = f32, layout = tiles<16x64>>
  return
}

// -----

func.func @split_columns_dynamic_k(%x: tensor<4x?xf32>) {
  // expected-error @+1 {{input must have a static last dimension}}
  %r, %o = qc.split_columns %x [1] : tensor<4x?xf32> -> tensor<4x?xf32>, tensor<4x1xf32>
  return
}

// -----

func.func @split_columns_none(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{needs at least one column}}
  %r, %o = qc.split_columns %x [] : tensor<4x8xf32> -> tensor<4x8xf32>, tensor<4x0xf32>
  return
}

// -----

func.func @split_columns_out_of_range(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{column 8 is outside [0, 8)}}
  %r, %o = qc.split_columns %x [2, 8] : tensor<4x8xf32> -> tensor<4x8xf32>, tensor<4x2xf32>
  return
}

// -----

func.func @split_columns_unordered(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{columns must be strictly increasing}}
  %r, %o = qc.split_columns %x [3, 3] : tensor<4x8xf32> -> tensor<4x8xf32>, tensor<4x2xf32>
  return
}

// -----

func.func @split_columns_rest_type(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{rest must have the input's type 'tensor<4x8xf32>'}}
  %r, %o = qc.split_columns %x [3] : tensor<4x8xf32> -> tensor<4x8xf16>, tensor<4x1xf32>
  return
}

// -----

func.func @split_columns_outliers_shape(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{outliers must be 'tensor<?x2xf32>', not 'tensor<?x3xf32>'}}
  %r, %o = qc.split_columns %x [3, 5] : tensor<?x8xf32> -> tensor<?x8xf32>, tensor<?x3xf32>
  return
}
