// RUN: quant-opt %s --split-input-file --quantc-quantized-linear-to-ukernel | FileCheck %s

// An int4 affine g128 layer becomes a destination-style qc.ukernel of the
// fused kernel on its stored bytes (byte constants, moved to the weights
// blob in artifacts) writing an empty tensor in the result's shape.
// Flags: init (8) | f16 scales (2) = 10. Each piece is recorded with its
// format, layout and part for the artifact's weights table.
// CHECK: module attributes {quantc.packed_pieces = [{format = "#qc.format<int4, affine, group = 128, scale = f16>", layout = "channel_major", part = "codes", value = dense_resource<m.blocks.0.q_q_codes> : tensor<512xi8>}, {{{.*}} part = "scales", value = dense_resource<m.blocks.0.q_q_scales> : tensor<16xi8>}, {{{.*}} part = "zero_points", value = dense_resource<m.blocks.0.q_q_zero_points> : tensor<8xi8>}]}
// CHECK-LABEL: func.func @main(
// CHECK-NOT: qc.linear
// CHECK-DAG: %[[C:.+]] = arith.constant dense_resource<m.blocks.0.q_q_codes> : tensor<512xi8>
// CHECK-DAG: %[[S:.+]] = arith.constant dense_resource<m.blocks.0.q_q_scales> : tensor<16xi8>
// CHECK-DAG: %[[Z:.+]] = arith.constant dense_resource<m.blocks.0.q_q_zero_points> : tensor<8xi8>
// CHECK: %[[E:.+]] = tensor.empty(%{{.+}}, %{{.+}}) : tensor<?x?x4xf32>
// ins: x, codes, scales, zero points, table and scale parameters (the
// scales stand for those a format does not have); scalars: K, N, bits,
// group, scale block, flags.
// CHECK: %[[Y:.+]] = qc.ukernel "quantc_qmatmul_f32" ins(%arg0, %[[C]], %[[S]], %[[Z]], %[[S]], %[[S]] : tensor<?x?x256xf32>, tensor<512xi8>, tensor<16xi8>, tensor<8xi8>, tensor<16xi8>, tensor<16xi8>) outs(%[[E]] : tensor<?x?x4xf32>) scalars(%c256_i64, %c4_i64, %c4_i64{{.*}}, %c128_i64, %c0_i64, %c10_i64 : i64, i64, i64, i64, i64, i64) -> tensor<?x?x4xf32>
// CHECK: return %[[Y]]
// After bufferization it becomes a call (lower-ukernels.mlir).
func.func @main(%x: tensor<?x?x256xf32>) -> tensor<?x?x4xf32> {
  %w = qc.qconstant {codes = dense<17> : tensor<4x128xi8>, scales = dense<1.0> : tensor<4x2xf16>,
                     zero_points = dense<8> : tensor<4x2xi8>}
       : !qc.qweight<256x4, int4, affine, group = 128, scale = f16>
  %y = qc.linear %x, %w {layer = "m.blocks.0.q"} : tensor<?x?x256xf32>, !qc.qweight<256x4, int4, affine, group = 128, scale = f16> -> tensor<?x?x4xf32>
  return %y : tensor<?x?x4xf32>
}

// -----

// QLoRA's NF4 (bf16 scales double-quantized to int8 codes in blocks of 256)
// calls the kernel with the table of the 16 NF4 values (64 bytes) and the
// scales' (step, offset) pairs. Flags: symmetric (1) | bf16 (4) | init (8) |
// table (32) | double-quantized scales (256) = 301.
// CHECK-LABEL: func.func @nf4
// CHECK-DAG: arith.constant dense_resource<w_q_table> : tensor<64xi8>
// CHECK-DAG: arith.constant dense_resource<w_q_scale_params> : tensor<8xi8>
// CHECK-NOT: qc.qconstant
// CHECK: qc.ukernel "quantc_qmatmul_f32" {{.*}} scalars(%c64_i64, %c4_i64, %c4_i64{{.*}}, %c64_i64{{.*}}, %c256_i64, %c301_i64 : 
// The table runs from -1.0 (bytes 00 00 80 BF) to 1.0 (00 00 80 3F).
// CHECK: w_q_table: "0x{{[0-9A-F]+}}000080BF{{[0-9A-F]+}}0000803F"
func.func @nf4(%x: tensor<2x64xf32>) -> tensor<2x4xf32> {
  %w = qc.qconstant {codes = dense<0> : tensor<4x32xi8>, scales = dense<3> : tensor<4x1xi8>,
                     scale_params = dense<[[0.5, 0.0]]> : tensor<1x2xf32>}
       : !qc.qweight<64x4, nf4, group = 64, scale = bf16, double_quant = <int8, block = 256>>
  %y = qc.linear %x, %w : tensor<2x64xf32>, !qc.qweight<64x4, nf4, group = 64, scale = bf16, double_quant = <int8, block = 256>> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// FP8 E4M3 codes are read as they are (flag 64): symmetric (1) | f32
// scales | init (8) | E4M3 (64) = 73.
// CHECK-LABEL: func.func @fp8
// CHECK: qc.ukernel "quantc_qmatmul_f32" {{.*}} scalars(%c32_i64, %c4_i64, %c8_i64, %c0_i64, %c0_i64{{.*}}, %c73_i64 : 
func.func @fp8(%x: tensor<2x32xf32>) -> tensor<2x4xf32> {
  %w = qc.qconstant {codes = dense<56> : tensor<4x32xi8>, scales = dense<1.0> : tensor<4x1xf32>}
       : !qc.qweight<32x4, fp8_e4m3, per_channel, scale = f32>
  %y = qc.linear %x, %w : tensor<2x32xf32>, !qc.qweight<32x4, fp8_e4m3, per_channel, scale = f32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Outliers, a single scale per tensor and codes in another layout than
// channel-major (a GPU's tiles) have no kernel: left to qc-to-linalg.
// CHECK-LABEL: func.func @left_alone
// CHECK-COUNT-3: qc.linear
func.func @left_alone(%x: tensor<2x32xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %w = qc.qconstant {codes = dense<0> : tensor<4x16xi8>, scales = dense<1.0> : tensor<1x1xf32>}
       : !qc.qweight<32x4, int4, per_tensor, scale = f32>
  %y = qc.linear %x, %w : tensor<2x32xf32>, !qc.qweight<32x4, int4, per_tensor, scale = f32> -> tensor<2x4xf32>
  %o = qc.qconstant {codes = dense<0> : tensor<4x16xi8>, scales = dense<1.0> : tensor<4x1xf32>,
                     outlier_offsets = dense<[0, 1, 1, 1, 1]> : tensor<5xi32>,
                     outlier_columns = dense<[3]> : tensor<1xi32>, outlier_values = dense<[2.0]> : tensor<1xf16>}
       : !qc.qweight<32x4, int4, per_channel, scale = f32, outliers>
  %z = qc.linear %x, %o : tensor<2x32xf32>, !qc.qweight<32x4, int4, per_channel, scale = f32, outliers> -> tensor<2x4xf32>
  %t = qc.qconstant {codes = dense<0> : tensor<2x1x32xi8>, scales = dense<1.0> : tensor<4x1xf32>}
       : !qc.qweight<32x4, int4, per_channel, scale = f32, layout = tiles<2x32>>
  %u = qc.linear %x, %t : tensor<2x32xf32>, !qc.qweight<32x4, int4, per_channel, scale = f32, layout = tiles<2x32>> -> tensor<2x4xf32>
  return %y, %z, %u : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// The module's quantc.int8_activations adds the int8-activation flag (16):
// init (8) | f16 scales (2) | int8 activations (16) = 26.
// CHECK-LABEL: func.func @int8_activations
// CHECK: qc.ukernel "quantc_qmatmul_f32" {{.*}}, %c26_i64 : 
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
// CHECK: %[[Y:.+]] = qc.ukernel "quantc_qmatmul_f32"
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #{{.+}}, #{{.+}}], iterator_types = ["parallel", "parallel"]} ins(%[[Y]], %arg1 : tensor<2x4xf32>, tensor<4xf32>) outs(%[[Y]] : tensor<2x4xf32>)
// CHECK: arith.addf
func.func @biased(%x: tensor<2x256xf32>, %b: tensor<4xf32>) -> tensor<2x4xf32> {
  %w = qc.qconstant {codes = dense<17> : tensor<4x128xi8>, scales = dense<1.0> : tensor<4x2xf16>,
                     zero_points = dense<8> : tensor<4x2xi8>}
       : !qc.qweight<256x4, int4, affine, group = 128, scale = f16>
  %y = qc.linear %x, %w, %b : tensor<2x256xf32>, !qc.qweight<256x4, int4, affine, group = 128, scale = f16>, tensor<4xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// W8A8: an int8 per-channel layer reading dequantize_dynamic(quantize_dynamic
// <per_token>) of x becomes one call of the int8 kernel on x itself, which
// quantizes the rows (static scale 0: per row); the pair is gone.
// ins: x, codes, scales, zero points (the scales: symmetric), column
// factors (none: empty); scalars: K, N, the static scale, flags (symmetric
// 1 | init 8 = 9), the static zero point (0).
// CHECK-LABEL: func.func @w8a8_dynamic
// CHECK-NOT: qc.quantize_dynamic
// CHECK-DAG: %[[C:.+]] = arith.constant dense_resource<w_q_codes> : tensor<32xi8>
// CHECK-DAG: %[[S:.+]] = arith.constant dense_resource<w_q_scales> : tensor<16xi8>
// CHECK-DAG: %[[NONE:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[NOF:.+]] = arith.constant dense<> : tensor<0xi8>
// CHECK: qc.ukernel "quantc_qmatmul_i8" ins(%arg0, %[[C]], %[[S]], %[[S]], %[[NOF]] : tensor<?x8xf32>, tensor<32xi8>, tensor<16xi8>, tensor<16xi8>, tensor<0xi8>) outs(%{{.+}} : tensor<?x4xf32>) scalars(%c8_i64, %c4_i64, %[[NONE]], %c9_i64, %c0_i64 : i64, i64, f32, i64, i64)
// CHECK-NOT: qc.dequantize_dynamic
func.func @w8a8_dynamic(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
  %w = qc.qconstant {codes = dense<3> : tensor<4x8xi8>, scales = dense<0.5> : tensor<4x1xf32>}
       : !qc.qweight<8x4, int8, symmetric, per_channel, scale = f32>
  %c, %s = qc.quantize_dynamic %x <per_token> : tensor<?x8xf32> -> tensor<?x8xi8>, tensor<?x1xf32>
  %d = qc.dequantize_dynamic %c, %s : tensor<?x8xi8>, tensor<?x1xf32> -> tensor<?x8xf32>
  %y = qc.linear %d, %w {layer = "w"} : tensor<?x8xf32>, !qc.qweight<8x4, int8, symmetric, per_channel, scale = f32> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

// Static per tensor, zero point 0, full int8 range: the type's scale is the
// kernel's; affine weights pass their zero points (flags: f16 2 | init 8).
// CHECK-LABEL: func.func @w8a8_static
// CHECK-DAG: %[[SCALE:.+]] = arith.constant 2.500000e-01 : f32
// CHECK-DAG: %[[Z:.+]] = arith.constant dense_resource<w_q_zero_points> : tensor<4xi8>
// CHECK: qc.ukernel "quantc_qmatmul_i8" ins(%arg0, %{{.+}}, %{{.+}}, %[[Z]], %{{.+}} : {{.*}} scalars(%c8_i64, %c4_i64, %[[SCALE]], %c10_i64, %c0_i64 : i64, i64, f32, i64, i64)
// CHECK-NOT: qc.quantize
// CHECK-NOT: linalg.generic
func.func @w8a8_static(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
  %w = qc.qconstant {codes = dense<3> : tensor<4x8xi8>, scales = dense<0.5> : tensor<4x1xf16>, zero_points = dense<128> : tensor<4x1xi8>}
       : !qc.qweight<8x4, int8, affine, per_channel, scale = f16>
  %q = qc.quantize %x : tensor<?x8xf32> -> tensor<?x8x!quant.uniform<i8:f32, 0.25>>
  %d = qc.dequantize %q : tensor<?x8x!quant.uniform<i8:f32, 0.25>> -> tensor<?x8xf32>
  %y = qc.linear %d, %w {layer = "w"} : tensor<?x8xf32>, !qc.qweight<8x4, int8, affine, per_channel, scale = f16> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

// x times constant factors along its last dimension (qc-smoothquant's 1/s
// where nothing before the layer takes it): the kernel reads x and the
// factors (f32 bytes, recorded with the weight's pieces); the multiply is
// gone.
// CHECK-LABEL: func.func @w8a8_factors
// CHECK-DAG: %[[F:.+]] = arith.constant dense_resource<w_q_input_factors> : tensor<32xi8>
// CHECK: qc.ukernel "quantc_qmatmul_i8" ins(%arg0, %{{.+}}, %{{.+}}, %{{.+}}, %[[F]] : tensor<?x8xf32>, tensor<32xi8>, tensor<16xi8>, tensor<16xi8>, tensor<32xi8>)
// CHECK-NOT: linalg.generic
// CHECK: w_q_input_factors: "0x010000000000003F0000803F000000400000803E0000003F0000803F000000400000803E"
#id = affine_map<(d0, d1) -> (d0, d1)>
#last = affine_map<(d0, d1) -> (d1)>
func.func @w8a8_factors(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
  %w = qc.qconstant {codes = dense<3> : tensor<4x8xi8>, scales = dense<0.5> : tensor<4x1xf32>}
       : !qc.qweight<8x4, int8, symmetric, per_channel, scale = f32>
  %f = arith.constant dense<[0.5, 1.0, 2.0, 0.25, 0.5, 1.0, 2.0, 0.25]> : tensor<8xf32>
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%rows) : tensor<?x8xf32>
  %xs = linalg.generic {indexing_maps = [#id, #last, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %f : tensor<?x8xf32>, tensor<8xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<?x8xf32>
  %c, %s = qc.quantize_dynamic %xs <per_token> : tensor<?x8xf32> -> tensor<?x8xi8>, tensor<?x1xf32>
  %d = qc.dequantize_dynamic %c, %s : tensor<?x8xi8>, tensor<?x1xf32> -> tensor<?x8xf32>
  %y = qc.linear %d, %w {layer = "w"} : tensor<?x8xf32>, !qc.qweight<8x4, int8, symmetric, per_channel, scale = f32> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

// A static zero point z (3): the kernel quantizes round(x / s) + z and
// multiplies those codes as they are; s z times W's column sums (0.25 x 3 x
// 8 x 1.5 = 9 per channel) comes off after it, as a bias.
// CHECK-LABEL: func.func @w8a8_zero_point
// CHECK: %[[SCALE:.+]] = arith.constant 2.500000e-01 : f32
// CHECK: %[[Y:.+]] = qc.ukernel "quantc_qmatmul_i8" ins(%arg0, {{.*}} scalars(%c8_i64, %c4_i64, %[[SCALE]], %c9_i64, %c3_i64 : i64, i64, f32, i64, i64)
// CHECK: %[[TERM:.+]] = arith.constant dense<-9.000000e+00> : tensor<4xf32>
// CHECK: linalg.generic {{.*}} ins(%[[Y]], %[[TERM]] : tensor<?x4xf32>, tensor<4xf32>)
// CHECK: arith.addf
// CHECK-NOT: qc.quantize
func.func @w8a8_zero_point(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
  %w = qc.qconstant {codes = dense<3> : tensor<4x8xi8>, scales = dense<0.5> : tensor<4x1xf32>}
       : !qc.qweight<8x4, int8, symmetric, per_channel, scale = f32>
  %q = qc.quantize %x : tensor<?x8xf32> -> tensor<?x8x!quant.uniform<i8:f32, 0.25:3>>
  %d = qc.dequantize %q : tensor<?x8x!quant.uniform<i8:f32, 0.25:3>> -> tensor<?x8xf32>
  %y = qc.linear %d, %w {layer = "a"} : tensor<?x8xf32>, !qc.qweight<8x4, int8, symmetric, per_channel, scale = f32> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

// What the int8 kernel does not compute keeps its pair and goes to the f32
// kernel on the dequantized input: a narrow range (the kernel clamps to
// -128), grouped or 4-bit weights, per-tensor dynamic scales.
// CHECK-LABEL: func.func @not_w8a8
// CHECK-NOT: quantc_qmatmul_i8
// CHECK-COUNT-3: qc.ukernel "quantc_qmatmul_f32"
// CHECK-NOT: quantc_qmatmul_i8
func.func @not_w8a8(%x: tensor<?x8xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>) {
  %w = qc.qconstant {codes = dense<3> : tensor<4x8xi8>, scales = dense<0.5> : tensor<4x1xf32>}
       : !qc.qweight<8x4, int8, symmetric, per_channel, scale = f32>
  %w4 = qc.qconstant {codes = dense<3> : tensor<4x4xi8>, scales = dense<0.5> : tensor<4x1xf32>}
       : !qc.qweight<8x4, int4, symmetric, per_channel, scale = f32>
  %n = qc.quantize %x : tensor<?x8xf32> -> tensor<?x8x!quant.uniform<i8<-127:127>:f32, 0.25>>
  %nd = qc.dequantize %n : tensor<?x8x!quant.uniform<i8<-127:127>:f32, 0.25>> -> tensor<?x8xf32>
  %y1 = qc.linear %nd, %w {layer = "b"} : tensor<?x8xf32>, !qc.qweight<8x4, int8, symmetric, per_channel, scale = f32> -> tensor<?x4xf32>
  %c, %s = qc.quantize_dynamic %x <per_token> : tensor<?x8xf32> -> tensor<?x8xi8>, tensor<?x1xf32>
  %dd = qc.dequantize_dynamic %c, %s : tensor<?x8xi8>, tensor<?x1xf32> -> tensor<?x8xf32>
  %y2 = qc.linear %dd, %w4 {layer = "c"} : tensor<?x8xf32>, !qc.qweight<8x4, int4, symmetric, per_channel, scale = f32> -> tensor<?x4xf32>
  %ct, %st = qc.quantize_dynamic %x <per_tensor> : tensor<?x8xf32> -> tensor<?x8xi8>, tensor<1x1xf32>
  %dt = qc.dequantize_dynamic %ct, %st : tensor<?x8xi8>, tensor<1x1xf32> -> tensor<?x8xf32>
  %y3 = qc.linear %dt, %w {layer = "d"} : tensor<?x8xf32>, !qc.qweight<8x4, int8, symmetric, per_channel, scale = f32> -> tensor<?x4xf32>
  return %y1, %y2, %y3 : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>
}
