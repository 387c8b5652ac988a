// RUN: quant-opt %s -qc-to-linalg -split-input-file | FileCheck %s
// Numerics of these lowerings against numpy: test/Target/CPU/w8a8.test.

// Dynamic per token, symmetric: a reduction of |x| along the last
// dimension into [rows, 1], the scale absmax / 127, then the codes:
// round-half-even(x / s), 0 where s is 0, clamped to [-127, 127].
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @per_token
// CHECK: %[[MAX:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]]], iterator_types = ["parallel", "reduction"]}
// CHECK:   math.absf
// CHECK:   arith.maximumf
// CHECK: %[[S:.*]] = linalg.generic {{.*}} ins(%[[MAX]] : tensor<?x1xf32>)
// CHECK:   arith.constant 1.270000e+02
// CHECK:   arith.divf
// CHECK: %[[C:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], {{.*}} ins(%arg0, %[[S]] : tensor<?x64xf32>, tensor<?x1xf32>)
// CHECK:   math.roundeven
// CHECK:   arith.cmpf oeq
// CHECK:   arith.select
// CHECK:   arith.constant -1.270000e+02
// CHECK:   arith.fptosi %{{.*}} : f32 to i8
// Dequantization: codes times the row's scale.
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], {{.*}} ins(%[[C]], %[[S]] : tensor<?x64xi8>, tensor<?x1xf32>)
// CHECK:   arith.sitofp
// CHECK:   arith.mulf
// CHECK-NOT: qc.
func.func @per_token(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %c, %s = qc.quantize_dynamic %x <per_token> : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<?x1xf32>
  %d = qc.dequantize_dynamic %c, %s : tensor<?x64xi8>, tensor<?x1xf32> -> tensor<?x64xf32>
  return %d : tensor<?x64xf32>
}

// -----

// Dynamic per tensor, affine (ONNX's DynamicQuantizeLinear): min and max
// from 0, scale (max - min) / 255, zero point round(-min / s) in [0, 255],
// codes round(x / s) + z in [0, 255], unsigned.
// CHECK-LABEL: func.func @affine
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]
// CHECK:   arith.minimumf
// CHECK:   arith.maximumf
// CHECK: linalg.generic
// CHECK:   arith.subf
// CHECK:   arith.constant 2.550000e+02
// CHECK:   arith.divf
// CHECK:   arith.negf
// CHECK:   arith.fptoui %{{.*}} : f32 to i8
// CHECK: linalg.generic
// CHECK:   arith.uitofp
// CHECK:   arith.addf
// CHECK:   arith.fptoui %{{.*}} : f32 to i8
// Dequantization of unsigned codes: (codes - z) * s.
// CHECK: linalg.generic
// CHECK:   arith.uitofp
// CHECK:   arith.uitofp
// CHECK:   arith.subf
// CHECK:   arith.mulf
func.func @affine(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %c, %s, %z = qc.quantize_dynamic %x <per_tensor> affine : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<1x1xf32>, tensor<1x1xi8>
  %d = qc.dequantize_dynamic %c, %s, %z : tensor<4x64xi8>, tensor<1x1xf32>, tensor<1x1xi8> -> tensor<4x64xf32>
  return %d : tensor<4x64xf32>
}

// -----

// Static: one elementwise pass, (clamp(round(x / s) + z, lo, hi) - z) * s
// with the type's scale, zero point and storage range (here narrow).
// CHECK-LABEL: func.func @static
// CHECK: linalg.generic
// CHECK:   %[[S:.*]] = arith.constant 5.000000e-02 : f32
// CHECK:   %[[Z:.*]] = arith.constant 3.000000e+00 : f32
// CHECK:   arith.divf %{{.*}}, %[[S]]
// CHECK:   math.roundeven
// CHECK:   arith.addf %{{.*}}, %[[Z]]
// CHECK:   arith.constant -1.270000e+02 : f32
// CHECK:   arith.constant 1.270000e+02 : f32
// CHECK:   arith.subf %{{.*}}, %[[Z]]
// CHECK:   arith.mulf
// CHECK-NOT: qc.
func.func @static(%x: tensor<2x32xf32>) -> tensor<2x32xf32> {
  %q = qc.quantize %x : tensor<2x32xf32> -> tensor<2x32x!quant.uniform<i8<-127:127>:f32, 0.05:3>>
  %d = qc.dequantize %q : tensor<2x32x!quant.uniform<i8<-127:127>:f32, 0.05:3>> -> tensor<2x32xf32>
  return %d : tensor<2x32xf32>
}

// -----

// Per axis: scales and zero points are constant vectors read along the axis.
// CHECK: #[[AXIS:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK: func.func @per_axis
// CHECK: %[[SC:.*]] = arith.constant dense<[1.000000e-01, 2.000000e-01]> : tensor<2xf32>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[AXIS]], #[[AXIS]], #{{.*}}]
func.func @per_axis(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %q = qc.quantize %x : tensor<3x2xf32> -> tensor<3x2x!quant.uniform<i8:f32:1, {0.1, 0.2:1}>>
  %d = qc.dequantize %q : tensor<3x2x!quant.uniform<i8:f32:1, {0.1, 0.2:1}>> -> tensor<3x2xf32>
  return %d : tensor<3x2xf32>
}

// -----

// LLM.int8()'s split: the rest selects 0 where a constant mask along the
// last dimension marks a listed column; the outliers gather the listed
// columns through a constant index table.
// CHECK: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK: #[[LAST:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK: func.func @split_columns
// CHECK: %[[MASK:.*]] = arith.constant dense<[false, false, true, false, false, false, false, true]> : tensor<8xi1>
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[LAST]], #[[ID]]]{{.*}} ins(%arg0, %[[MASK]] : tensor<?x?x8xf32>, tensor<8xi1>)
// CHECK: ^bb0(%[[X:.*]]: f32, %[[M:.*]]: i1, %{{.*}}: f32):
// CHECK:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:   arith.select %[[M]], %[[ZERO]], %[[X]] : f32
// CHECK: %[[TABLE:.*]] = arith.constant dense<[2, 7]> : tensor<2xindex>
// CHECK: linalg.generic {indexing_maps = [#[[LAST]], #[[ID]]]{{.*}} ins(%[[TABLE]] : tensor<2xindex>) outs(%{{.*}} : tensor<?x?x2xf32>)
// CHECK: ^bb0(%[[C:.*]]: index, %{{.*}}: f32):
// CHECK:   %[[I0:.*]] = linalg.index 0 : index
// CHECK:   %[[I1:.*]] = linalg.index 1 : index
// CHECK:   tensor.extract %arg0[%[[I0]], %[[I1]], %[[C]]] : tensor<?x?x8xf32>
// CHECK-NOT: qc.
func.func @split_columns(%x: tensor<?x?x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x2xf32>) {
  %r, %o = qc.split_columns %x [2, 7] : tensor<?x?x8xf32> -> tensor<?x?x8xf32>, tensor<?x?x2xf32>
  return %r, %o : tensor<?x?x8xf32>, tensor<?x?x2xf32>
}
