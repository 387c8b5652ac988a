// RUN: quant-opt %s --split-input-file --quantc-fold-repeat-kv --resolve-shaped-type-result-dims --canonicalize | FileCheck %s

#bcast = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, 0, d3, d4)>
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#q = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#k = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>
#s = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>

// Q K^T over 8 query heads with K repeated from 4 heads: the contraction
// reads K [b, 4, L, 32] itself, Q's heads stacked as rows [b, 4, 2 * S, 32],
// and the result is viewed back as [b, 8, S, L]; the broadcast is gone.
// CHECK-LABEL: func.func @gqa
// CHECK-NOT: tensor<?x4x1x?x32xf32>
// CHECK: %[[Q:.+]] = tensor.collapse_shape %{{.+}} {{\[\[}}0], [1], [2, 3], [4]] : tensor<?x4x2x?x32xf32> into tensor<?x4x?x32xf32>
// CHECK: %[[S:.+]] = linalg.generic {{.*}} ins(%[[Q]], %arg1 : tensor<?x4x?x32xf32>, tensor<?x4x?x32xf32>)
// CHECK: tensor.expand_shape %[[S]] {{\[\[}}0], [1], [2, 3], [4]]
// CHECK: tensor.collapse_shape %{{.+}} {{\[\[}}0], [1, 2], [3], [4]] : tensor<?x4x2x?x?xf32> into tensor<?x8x?x?xf32>
func.func @gqa(%q: tensor<?x8x?x32xf32>, %k: tensor<?x4x?x32xf32>) -> tensor<?x8x?x?xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %zero = arith.constant 0.0 : f32
  %b = tensor.dim %k, %c0 : tensor<?x4x?x32xf32>
  %l = tensor.dim %k, %c2 : tensor<?x4x?x32xf32>
  %s = tensor.dim %q, %c2 : tensor<?x8x?x32xf32>
  %e = tensor.expand_shape %k [[0], [1, 2], [3], [4]] output_shape [%b, 4, 1, %l, 32] : tensor<?x4x?x32xf32> into tensor<?x4x1x?x32xf32>
  %empty = tensor.empty(%b, %l) : tensor<?x4x2x?x32xf32>
  %rep = linalg.generic {indexing_maps = [#bcast, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%e : tensor<?x4x1x?x32xf32>) outs(%empty : tensor<?x4x2x?x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<?x4x2x?x32xf32>
  %kk = tensor.collapse_shape %rep [[0], [1, 2], [3], [4]] : tensor<?x4x2x?x32xf32> into tensor<?x8x?x32xf32>
  %init = tensor.empty(%b, %s, %l) : tensor<?x8x?x?xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%init : tensor<?x8x?x?xf32>) -> tensor<?x8x?x?xf32>
  %scores = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %kk : tensor<?x8x?x32xf32>, tensor<?x8x?x32xf32>) outs(%fill : tensor<?x8x?x?xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %p = arith.mulf %a, %c : f32
    %sum = arith.addf %o, %p : f32
    linalg.yield %sum : f32
  } -> tensor<?x8x?x?xf32>
  return %scores : tensor<?x8x?x?xf32>
}

// -----

#bcast = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, 0, d3, d4)>
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#q = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#k = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>
#s = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>

// A repetition that is not a broadcast of a unit head-group dim (here an
// elementwise op on the repeated values) stays: nothing is folded.
// CHECK-LABEL: func.func @not_a_broadcast
// CHECK: linalg.generic {{.*}} ins(%{{.+}} : tensor<?x4x1x?x32xf32>) outs(%{{.+}} : tensor<?x4x2x?x32xf32>)
// CHECK: arith.negf
func.func @not_a_broadcast(%q: tensor<?x8x?x32xf32>, %k: tensor<?x4x?x32xf32>) -> tensor<?x8x?x?xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %zero = arith.constant 0.0 : f32
  %b = tensor.dim %k, %c0 : tensor<?x4x?x32xf32>
  %l = tensor.dim %k, %c2 : tensor<?x4x?x32xf32>
  %s = tensor.dim %q, %c2 : tensor<?x8x?x32xf32>
  %e = tensor.expand_shape %k [[0], [1, 2], [3], [4]] output_shape [%b, 4, 1, %l, 32] : tensor<?x4x?x32xf32> into tensor<?x4x1x?x32xf32>
  %empty = tensor.empty(%b, %l) : tensor<?x4x2x?x32xf32>
  %rep = linalg.generic {indexing_maps = [#bcast, #id5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%e : tensor<?x4x1x?x32xf32>) outs(%empty : tensor<?x4x2x?x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  } -> tensor<?x4x2x?x32xf32>
  %kk = tensor.collapse_shape %rep [[0], [1, 2], [3], [4]] : tensor<?x4x2x?x32xf32> into tensor<?x8x?x32xf32>
  %init = tensor.empty(%b, %s, %l) : tensor<?x8x?x?xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%init : tensor<?x8x?x?xf32>) -> tensor<?x8x?x?xf32>
  %scores = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %kk : tensor<?x8x?x32xf32>, tensor<?x8x?x32xf32>) outs(%fill : tensor<?x8x?x?xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %p = arith.mulf %a, %c : f32
    %sum = arith.addf %o, %p : f32
    linalg.yield %sum : f32
  } -> tensor<?x8x?x?xf32>
  return %scores : tensor<?x8x?x?xf32>
}
