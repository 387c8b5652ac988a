// RUN: quant-opt %s --split-input-file --quantc-fuse-elementwise | FileCheck %s

// quantc-fuse-elementwise moves softmax(Q K^T / c) V's two divisions off
// the scores: Q is divided by c before Q K^T (and the division fuses into
// Q's producer), and each row of P V is divided by its sum after the
// product. What stays on the scores: the exponentials and their sum.

// CHECK-DAG: #[[$ID:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[$SCALAR:.+]] = affine_map<(d0, d1, d2, d3) -> ()>
// CHECK-DAG: #[[$ROW:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// CHECK-LABEL: func.func @attention(
// CHECK-SAME: %[[Q:[^:]+]]: tensor<1x2x4x8xf32>, %[[K:[^:]+]]: tensor<1x2x4x8xf32>, %[[V:[^:]+]]: tensor<1x2x4x8xf32>, %[[C:[^:]+]]: tensor<f32>
// Q's rotation (here: a negation) and the division by c, one generic.
// CHECK: %[[QS:.+]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$SCALAR]], #[[$ID]]]{{.*}}ins(%[[Q]], %[[C]] :
// CHECK-NEXT: ^bb0(%[[X:.+]]: f32, %[[F:.+]]: f32,
// CHECK-NEXT: %[[N:.+]] = arith.negf %[[X]]
// CHECK-NEXT: %[[D:.+]] = arith.divf %[[N]], %[[F]]
// CHECK-NEXT: linalg.yield %[[D]]
// CHECK: %[[S:.+]] = linalg.generic {{.*}}ins(%[[QS]], %[[K]] :
// CHECK: %[[E:.+]] = linalg.generic {{.*}}ins(%[[S]] :
// CHECK-NEXT: ^bb0(
// CHECK-NEXT: math.exp
// CHECK-NEXT: linalg.yield
// CHECK: %[[SUM:.+]] = linalg.generic {{.*}}ins(%[[E]] :
// CHECK: %[[O:.+]] = linalg.generic {{.*}}ins(%[[E]], %[[V]] :
// CHECK: %[[R:.+]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]], #[[$ID]]]{{.*}}ins(%[[O]], %[[SUM]] :
// CHECK-NEXT: ^bb0(%[[OV:.+]]: f32, %[[SV:.+]]: f32,
// CHECK-NEXT: %[[NORM:.+]] = arith.divf %[[OV]], %[[SV]]
// CHECK-NEXT: linalg.yield %[[NORM]]
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]
#q = affine_map<(b, h, s, t, k) -> (b, h, s, k)>
#k = affine_map<(b, h, s, t, k) -> (b, h, t, k)>
#o = affine_map<(b, h, s, t, k) -> (b, h, s, t)>
#pv_p = affine_map<(b, h, s, d, t) -> (b, h, s, t)>
#pv_v = affine_map<(b, h, s, d, t) -> (b, h, t, d)>
#pv_o = affine_map<(b, h, s, d, t) -> (b, h, s, d)>
#id4 = affine_map<(b, h, s, t) -> (b, h, s, t)>
#scalar = affine_map<(b, h, s, t) -> ()>
#row = affine_map<(b, h, s, t) -> (b, h, s)>
func.func @attention(%q: tensor<1x2x4x8xf32>, %kk: tensor<1x2x4x8xf32>, %vv: tensor<1x2x4x8xf32>, %c: tensor<f32>) -> tensor<1x2x4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %eq = tensor.empty() : tensor<1x2x4x8xf32>
  %rq = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%q : tensor<1x2x4x8xf32>) outs(%eq : tensor<1x2x4x8xf32>) {
  ^bb0(%x: f32, %out: f32):
    %y = arith.negf %x : f32
    linalg.yield %y : f32
  } -> tensor<1x2x4x8xf32>
  %e0 = tensor.empty() : tensor<1x2x4x4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %s = linalg.generic {indexing_maps = [#q, #k, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%rq, %kk : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) outs(%z : tensor<1x2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  } -> tensor<1x2x4x4xf32>
  %scaled = linalg.generic {indexing_maps = [#id4, #scalar, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s, %c : tensor<1x2x4x4xf32>, tensor<f32>) outs(%e0 : tensor<1x2x4x4xf32>) {
  ^bb0(%x: f32, %f: f32, %out: f32):
    %y = arith.divf %x, %f : f32
    linalg.yield %y : f32
  } -> tensor<1x2x4x4xf32>
  %exp = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%scaled : tensor<1x2x4x4xf32>) outs(%e0 : tensor<1x2x4x4xf32>) {
  ^bb0(%x: f32, %out: f32):
    %y = math.exp %x : f32
    linalg.yield %y : f32
  } -> tensor<1x2x4x4xf32>
  %e1 = tensor.empty() : tensor<1x2x4xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  %sum = linalg.generic {indexing_maps = [#id4, #row], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%exp : tensor<1x2x4x4xf32>) outs(%z1 : tensor<1x2x4xf32>) {
  ^bb0(%x: f32, %out: f32):
    %y = arith.addf %x, %out : f32
    linalg.yield %y : f32
  } -> tensor<1x2x4xf32>
  %p = linalg.generic {indexing_maps = [#id4, #row, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%exp, %sum : tensor<1x2x4x4xf32>, tensor<1x2x4xf32>) outs(%e0 : tensor<1x2x4x4xf32>) {
  ^bb0(%x: f32, %r: f32, %out: f32):
    %y = arith.divf %x, %r : f32
    linalg.yield %y : f32
  } -> tensor<1x2x4x4xf32>
  %e2 = tensor.empty() : tensor<1x2x4x8xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  %o = linalg.generic {indexing_maps = [#pv_p, #pv_v, #pv_o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %vv : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) outs(%z2 : tensor<1x2x4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// Left alone: a product that accumulates into a given tensor (its init is
// not zeros: the factor would scale the init too), a divisor that differs
// per score, and a product of a linear layer (no batch loop).
// CHECK-LABEL: func.func @not_moved(
// CHECK-SAME: %[[Q:[^:]+]]: tensor<1x4x8xf32>, %[[K:[^:]+]]: tensor<1x4x8xf32>, %[[ACC:[^:]+]]: tensor<1x4x4xf32>, %[[C:[^:]+]]: tensor<f32>, %[[DIV:[^:]+]]: tensor<1x4x4xf32>, %[[X:[^:]+]]: tensor<4x8xf32>, %[[W:[^:]+]]: tensor<8x4xf32>
// CHECK: %[[S1:.+]] = linalg.generic {{.*}}ins(%[[Q]], %[[K]] : {{.*}}outs(%[[ACC]] :
// CHECK: linalg.generic {{.*}}ins(%[[S1]], %[[C]] :
// CHECK: %[[S2:.+]] = linalg.generic {{.*}}ins(%[[Q]], %[[K]] :
// CHECK: linalg.generic {{.*}}ins(%[[S2]], %[[DIV]] :
// CHECK: %[[Y:.+]] = linalg.generic {{.*}}ins(%[[X]], %[[W]] :
// CHECK: linalg.generic {{.*}}ins(%[[Y]], %[[C]] :
#q = affine_map<(b, s, t, k) -> (b, s, k)>
#k = affine_map<(b, s, t, k) -> (b, t, k)>
#o = affine_map<(b, s, t, k) -> (b, s, t)>
#id3 = affine_map<(b, s, t) -> (b, s, t)>
#scalar3 = affine_map<(b, s, t) -> ()>
#id2 = affine_map<(i, j) -> (i, j)>
#scalar2 = affine_map<(i, j) -> ()>
func.func @not_moved(%q: tensor<1x4x8xf32>, %kk: tensor<1x4x8xf32>, %acc: tensor<1x4x4xf32>, %c: tensor<f32>,
                     %div: tensor<1x4x4xf32>, %x: tensor<4x8xf32>, %w: tensor<8x4xf32>)
    -> (tensor<1x4x4xf32>, tensor<1x4x4xf32>, tensor<4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x4xf32>
  %s1 = linalg.generic {indexing_maps = [#q, #k, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %kk : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%acc : tensor<1x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %r: f32):
    %p = arith.mulf %a, %b : f32
    %t = arith.addf %r, %p : f32
    linalg.yield %t : f32
  } -> tensor<1x4x4xf32>
  %d1 = linalg.generic {indexing_maps = [#id3, #scalar3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s1, %c : tensor<1x4x4xf32>, tensor<f32>) outs(%e : tensor<1x4x4xf32>) {
  ^bb0(%v: f32, %f: f32, %out: f32):
    %y = arith.divf %v, %f : f32
    linalg.yield %y : f32
  } -> tensor<1x4x4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %s2 = linalg.generic {indexing_maps = [#q, #k, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %kk : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%z : tensor<1x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %r: f32):
    %p = arith.mulf %a, %b : f32
    %t = arith.addf %r, %p : f32
    linalg.yield %t : f32
  } -> tensor<1x4x4xf32>
  %d2 = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s2, %div : tensor<1x4x4xf32>, tensor<1x4x4xf32>) outs(%e : tensor<1x4x4xf32>) {
  ^bb0(%v: f32, %f: f32, %out: f32):
    %y = arith.divf %v, %f : f32
    linalg.yield %y : f32
  } -> tensor<1x4x4xf32>
  %e2 = tensor.empty() : tensor<4x4xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<4x4xf32>) -> tensor<4x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (k, j)>, affine_map<(i, j, k) -> (i, j)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<4x8xf32>, tensor<8x4xf32>) outs(%z2 : tensor<4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %r: f32):
    %p = arith.mulf %a, %b : f32
    %t = arith.addf %r, %p : f32
    linalg.yield %t : f32
  } -> tensor<4x4xf32>
  %d3 = linalg.generic {indexing_maps = [#id2, #scalar2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%y, %c : tensor<4x4xf32>, tensor<f32>) outs(%e2 : tensor<4x4xf32>) {
  ^bb0(%v: f32, %f: f32, %out: f32):
    %r = arith.divf %v, %f : f32
    linalg.yield %r : f32
  } -> tensor<4x4xf32>
  return %d1, %d2, %d3 : tensor<1x4x4xf32>, tensor<1x4x4xf32>, tensor<4x4xf32>
}

// -----

// Multiplied by the factor (some exporters scale by 1/sqrt(d)), the factor
// a constant from outside the body: Q is multiplied instead (the
// constant moved to the right, as folding puts it).
// CHECK-LABEL: func.func @scaled_by_product(
// CHECK-SAME: %[[Q:[^:]+]]: tensor<1x4x8xf32>, %[[K:[^:]+]]: tensor<1x4x8xf32>
// CHECK: %[[F:.+]] = arith.constant 1.250000e-01 : f32
// CHECK: %[[QS:.+]] = linalg.generic {{.*}}ins(%[[Q]] :
// CHECK-NEXT: ^bb0(%[[X:.+]]: f32,
// CHECK-NEXT: %[[M:.+]] = arith.mulf %[[X]], %[[F]]
// CHECK-NEXT: linalg.yield %[[M]]
// CHECK: %[[S:.+]] = linalg.generic {{.*}}ins(%[[QS]], %[[K]] :
// CHECK-NOT: linalg.generic
// CHECK: return %[[S]]
#q = affine_map<(b, s, t, k) -> (b, s, k)>
#k = affine_map<(b, s, t, k) -> (b, t, k)>
#o = affine_map<(b, s, t, k) -> (b, s, t)>
#id3 = affine_map<(b, s, t) -> (b, s, t)>
func.func @scaled_by_product(%q: tensor<1x4x8xf32>, %kk: tensor<1x4x8xf32>) -> tensor<1x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %f = arith.constant 0.125 : f32
  %e = tensor.empty() : tensor<1x4x4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %s = linalg.generic {indexing_maps = [#q, #k, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %kk : tensor<1x4x8xf32>, tensor<1x4x8xf32>) outs(%z : tensor<1x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %r: f32):
    %p = arith.mulf %a, %b : f32
    %t = arith.addf %r, %p : f32
    linalg.yield %t : f32
  } -> tensor<1x4x4xf32>
  %m = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<1x4x4xf32>) outs(%e : tensor<1x4x4xf32>) {
  ^bb0(%v: f32, %out: f32):
    %y = arith.mulf %f, %v : f32
    linalg.yield %y : f32
  } -> tensor<1x4x4xf32>
  return %m : tensor<1x4x4xf32>
}
