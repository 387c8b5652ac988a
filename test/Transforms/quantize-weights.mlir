// RUN: quant-opt %s --split-input-file --qc-quantize-weights --verify-diagnostics | FileCheck %s
// RUN: quant-opt %s --split-input-file '--qc-quantize-weights=format="int8, symmetric, per_channel, scale = f32" exclude=*.up' | FileCheck %s --check-prefix=W8

// Layers of the transformer blocks get int4 g128 affine f16 weights (the
// default); the head stays f32. A 200-row weight keeps a shorter last group
// (two scales per channel).
// CHECK-LABEL: func.func @blocks
// CHECK: %[[Q:.+]] = qc.qconstant {codes = dense_resource<m.blocks.0.q_codes> : tensor<4x128xi8>, scales = dense_resource<m.blocks.0.q_scales> : tensor<4x2xf16>, zero_points = dense_resource<m.blocks.0.q_zero_points> : tensor<4x2xi8>} : !qc.qweight<256x4, int4, affine, group = 128, scale = f16>
// CHECK: qc.linear %{{.+}}, %[[Q]] {layer = "m.blocks.0.q"}
// CHECK: %[[U:.+]] = qc.qconstant {{.*}} : !qc.qweight<200x4, int4, affine, group = 128, scale = f16>
// CHECK: qc.linear %{{.+}}, %[[U]] {layer = "m.blocks.0.up"}
// CHECK: qc.linear %{{.+}}, %{{.+}} {layer = "m.head"} : tensor<2x4xf32>, tensor<4x3xf32>
// W8-LABEL: func.func @blocks
// W8: qc.qconstant {codes = {{.*}} : tensor<4x256xi8>, scales = {{.*}} : tensor<4x1xf32>} : !qc.qweight<256x4, int8, symmetric, per_channel, scale = f32>
// W8: qc.linear %{{.+}}, %{{.+}} {layer = "m.blocks.0.up"} : tensor<2x200xf32>, tensor<200x4xf32>
func.func @blocks(%x: tensor<2x256xf32>, %y: tensor<2x200xf32>, %z: tensor<2x4xf32>)
    -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x3xf32>) {
  %wq = arith.constant dense<0.5> : tensor<256x4xf32>
  %wu = arith.constant dense<-0.25> : tensor<200x4xf32>
  %wh = arith.constant dense<1.0> : tensor<4x3xf32>
  %a = qc.linear %x, %wq {layer = "m.blocks.0.q"} : tensor<2x256xf32>, tensor<256x4xf32> -> tensor<2x4xf32>
  %b = qc.linear %y, %wu {layer = "m.blocks.0.up"} : tensor<2x200xf32>, tensor<200x4xf32> -> tensor<2x4xf32>
  %c = qc.linear %z, %wh {layer = "m.head"} : tensor<2x4xf32>, tensor<4x3xf32> -> tensor<2x3xf32>
  return %a, %b, %c : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x3xf32>
}
