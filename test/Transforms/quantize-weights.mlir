// RUN: quant-opt %s --split-input-file --qc-quantize-weights --verify-diagnostics | FileCheck %s
// RUN: quant-opt %s --split-input-file '--qc-quantize-weights=format="int8, symmetric, per_channel, scale = f32" exclude=*.up' | FileCheck %s --check-prefix=W8
// RUN: quant-opt %s --split-input-file '--qc-quantize-weights=layers=*' | FileCheck %s --check-prefix=ALL

// Every layer but the output head gets int4 g128 affine f16 weights (the
// default), whatever the layers are named; the head (its result, through a
// bias and a reshape, is what the function returns) stays f32. A 200-row
// weight keeps a shorter last group (two scales per channel).
// CHECK-LABEL: func.func @blocks
// CHECK: %[[Q:.+]] = qc.qconstant {codes = dense_resource<node_linear_codes> : tensor<4x128xi8>, scales = dense_resource<node_linear_scales> : tensor<4x2xf16>, zero_points = dense_resource<node_linear_zero_points> : tensor<4x2xi8>} : !qc.qweight<256x4, int4, affine, group = 128, scale = f16>
// CHECK: qc.linear %{{.+}}, %[[Q]] {layer = "node_linear"}
// CHECK: %[[U:.+]] = qc.qconstant {{.*}} : !qc.qweight<200x4, int4, affine, group = 128, scale = f16>
// CHECK: qc.linear %{{.+}}, %[[U]] {layer = "m.blocks.0.up"}
// A layer without a name stays f32 (it cannot be told from an unnamed head).
// CHECK: qc.linear %{{.+}}, %{{.+}} : tensor<2x256xf32>, tensor<256x4xf32>
// CHECK: qc.linear %{{.+}}, %{{.+}} {layer = "node_MatMul_9"} : tensor<2x4xf32>, tensor<4x3xf32>
// W8-LABEL: func.func @blocks
// W8: qc.qconstant {codes = {{.*}} : tensor<4x256xi8>, scales = {{.*}} : tensor<4x1xf32>} : !qc.qweight<256x4, int8, symmetric, per_channel, scale = f32>
// W8: qc.linear %{{.+}}, %{{.+}} {layer = "m.blocks.0.up"} : tensor<2x200xf32>, tensor<200x4xf32>
// W8: qc.linear %{{.+}}, %{{.+}} {layer = "node_MatMul_9"} : tensor<2x4xf32>, tensor<4x3xf32>
// Named by a pattern, the head is quantized too; a layer without a name
// never is, not even by `*` (what passes add unnamed, like
// qc-split-outliers' f32 products, must stay as it is).
// ALL-LABEL: func.func @blocks
// ALL-COUNT-2: qc.linear %{{.+}}, %{{.+}} {layer = "{{.+}}"} : tensor<2x{{[0-9]+}}xf32>, !qc.qweight
// ALL: qc.linear %{{.+}}, %{{.+}} : tensor<2x256xf32>, tensor<256x4xf32>
// ALL: qc.linear %{{.+}}, %{{.+}} {layer = "node_MatMul_9"} : tensor<2x4xf32>, !qc.qweight
#id = affine_map<(d0, d1) -> (d0, d1)>
#bias = affine_map<(d0, d1) -> (d1)>
func.func @blocks(%x: tensor<2x256xf32>, %y: tensor<2x200xf32>) -> tensor<6xf32> {
  %wq = arith.constant dense<0.5> : tensor<256x4xf32>
  %wu = arith.constant dense<-0.25> : tensor<200x4xf32>
  %wh = arith.constant dense<1.0> : tensor<4x3xf32>
  %bh = arith.constant dense<0.1> : tensor<3xf32>
  %a = qc.linear %x, %wq {layer = "node_linear"} : tensor<2x256xf32>, tensor<256x4xf32> -> tensor<2x4xf32>
  %b = qc.linear %y, %wu {layer = "m.blocks.0.up"} : tensor<2x200xf32>, tensor<200x4xf32> -> tensor<2x4xf32>
  %u = qc.linear %x, %wq : tensor<2x256xf32>, tensor<256x4xf32> -> tensor<2x4xf32>
  %e = tensor.empty() : tensor<2x4xf32>
  %s = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b, %u : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%i: f32, %j: f32, %k: f32, %o: f32):
    %r = arith.addf %i, %j : f32
    %t = arith.addf %r, %k : f32
    linalg.yield %t : f32
  } -> tensor<2x4xf32>
  %c = qc.linear %s, %wh {layer = "node_MatMul_9"} : tensor<2x4xf32>, tensor<4x3xf32> -> tensor<2x3xf32>
  %e3 = tensor.empty() : tensor<2x3xf32>
  %d = linalg.generic {indexing_maps = [#id, #bias, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %bh : tensor<2x3xf32>, tensor<3xf32>) outs(%e3 : tensor<2x3xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %r = arith.addf %i, %j : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  %flat = tensor.collapse_shape %d [[0, 1]] : tensor<2x3xf32> into tensor<6xf32>
  return %flat : tensor<6xf32>
}
