// Batch-merging reshapes around contractions fold into the loop nest; the
// transposes between them are folded by quantc-fuse-elementwise first, as
// in the pipeline.
// RUN: quant-opt %s --quantc-fuse-elementwise --quantc-fold-batch-reshapes | FileCheck %s

// Heads merged into the batch by the exporter (batch * heads, then Q K^T,
// then split again) are unmerged: the product runs over batch and heads,
// reading Q and K (a KV-cache view, in place) through their own shapes; K's
// transpose is folded first. No reshape is left to copy through.
// CHECK-LABEL: func.func @heads_unmerged(
// CHECK-SAME: %[[Q:.+]]: tensor<?x4x?x8xf32>, %[[K:.+]]: tensor<?x4x?x8xf32>
// CHECK-NOT: collapse_shape
// CHECK: %[[R:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]{{.*}}ins(%[[Q]], %[[K]] : tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>)
// CHECK: } -> tensor<?x4x?x?xf32>
// CHECK-NOT: expand_shape
// CHECK: return %[[R]]
func.func @heads_unmerged(%q: tensor<?x4x?x8xf32>, %k: tensor<?x4x?x8xf32>, %b: index, %t: index,
                          %s: index) -> tensor<?x4x?x?xf32> {
  %cq = tensor.collapse_shape %q [[0, 1], [2], [3]] : tensor<?x4x?x8xf32> into tensor<?x?x8xf32>
  %ck = tensor.collapse_shape %k [[0, 1], [2], [3]] : tensor<?x4x?x8xf32> into tensor<?x?x8xf32>
  %c4 = arith.constant 4 : index
  %bh = arith.muli %b, %c4 : index
  %e = tensor.empty(%bh, %s) : tensor<?x8x?xf32>
  %kt = linalg.transpose ins(%ck : tensor<?x?x8xf32>) outs(%e : tensor<?x8x?xf32>) permutation = [0, 2, 1]
  %zero = arith.constant 0.0 : f32
  %init = tensor.empty(%bh, %t, %s) : tensor<?x?x?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (b, k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%cq, %kt : tensor<?x?x8xf32>, tensor<?x8x?xf32>) outs(%acc : tensor<?x?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32):
    %p = arith.mulf %x, %y : f32
    %u = arith.addf %z, %p : f32
    linalg.yield %u : f32
  } -> tensor<?x?x?xf32>
  %w = tensor.expand_shape %r [[0, 1], [2], [3]] output_shape [%b, 4, %t, %s] : tensor<?x?x?xf32> into tensor<?x4x?x?xf32>
  return %w : tensor<?x4x?x?xf32>
}

// Merged rows (batch * sequence of a linear layer) and merged reduction
// dimensions stay merged: one long matmul for the kernel.
// CHECK-LABEL: func.func @rows_and_k_stay_merged(
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2]]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
func.func @rows_and_k_stay_merged(%x: tensor<?x?x32xf32>, %h: tensor<?x4x8xf32>, %w: tensor<32x16xf32>,
                                  %o: tensor<?x16xf32>) -> (tensor<?x16xf32>, tensor<?x16xf32>) {
  %cx = tensor.collapse_shape %x [[0, 1], [2]] : tensor<?x?x32xf32> into tensor<?x32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%cx, %w : tensor<?x32xf32>, tensor<32x16xf32>) outs(%o : tensor<?x16xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %u = arith.addf %c, %p : f32
    linalg.yield %u : f32
  } -> tensor<?x16xf32>
  %ch = tensor.collapse_shape %h [[0], [1, 2]] : tensor<?x4x8xf32> into tensor<?x32xf32>
  %r2 = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ch, %w : tensor<?x32xf32>, tensor<32x16xf32>) outs(%o : tensor<?x16xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %u = arith.addf %c, %p : f32
    linalg.yield %u : f32
  } -> tensor<?x16xf32>
  return %r, %r2 : tensor<?x16xf32>, tensor<?x16xf32>
}
