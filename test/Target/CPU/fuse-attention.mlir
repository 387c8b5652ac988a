// RUN: quant-opt %s --split-input-file --quantc-fuse-attention | FileCheck %s

// softmax(Q K^T) V with the scores [b, 6, s, t] (heads in the middle, as
// the exporters' transposes leave them): P V is tiled by (batch, head) and
// the whole chain runs inside the loop, once each: the scores' product,
// the maximum (read by the exponentials through a unit expand_shape, which
// is folded into their indexing map), the exponentials, their sum and the
// division. Nothing of the chain stays outside.
// CHECK-LABEL: func.func @attention(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<?x?x6x64xf32>, %[[K:[a-z0-9]+]]: tensor<?x?x6x64xf32>, %[[V:[a-z0-9]+]]: tensor<?x?x6x64xf32>
// CHECK: %[[B:.+]] = tensor.dim %[[Q]], %c0
// CHECK-NOT: linalg.
// CHECK-NOT: tensor.expand_shape
// CHECK: scf.forall (%[[I:.+]], %[[H:.+]]) in (%[[B]], 6) shared_outs(%[[OUT:.+]] = %{{.+}}) -> (tensor<?x6x?x64xf32>) {
// CHECK: %[[QS:.+]] = tensor.extract_slice %[[Q]][%[[I]], 0, %[[H]], 0] [1, %{{.+}}, 1, 64]
// CHECK: %[[KS:.+]] = tensor.extract_slice %[[K]][%[[I]], 0, %[[H]], 0] [1, %{{.+}}, 1, 64]
// CHECK: linalg.fill
// CHECK: %[[S:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[QS]], %[[KS]] :
// CHECK: linalg.fill
// CHECK: %[[MAX:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[S]], %{{.+}} : tensor<1x1x?x?xf32>, tensor<f32>) outs(%{{.+}} : tensor<1x1x?xf32>)
// CHECK: arith.maximumf
// CHECK: %[[EXP:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[S]], %{{.+}}, %[[MAX]] : tensor<1x1x?x?xf32>, tensor<f32>, tensor<1x1x?xf32>)
// CHECK: math.exp
// CHECK: linalg.fill
// CHECK: %[[SUM:.+]] = linalg.generic {{.*}}ins(%[[EXP]] : tensor<1x1x?x?xf32>) outs(%{{.+}} : tensor<1x1x?xf32>)
// CHECK: %[[P:.+]] = linalg.generic {{.*}}ins(%[[EXP]], %[[SUM]] :
// CHECK: arith.divf
// CHECK: %[[VS:.+]] = tensor.extract_slice %[[V]][%[[I]], 0, %[[H]], 0] [1, %{{.+}}, 1, 64]
// CHECK: %[[OS:.+]] = tensor.extract_slice %[[OUT]][%[[I]], %[[H]], 0, 0]
// CHECK: %[[ZERO:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[OS]] : tensor<1x1x?x64xf32>)
// CHECK: %[[O:.+]] = linalg.generic {{.*}}ins(%[[P]], %[[VS]] : tensor<1x1x?x?xf32>, tensor<1x?x1x64xf32>) outs(%[[ZERO]] : tensor<1x1x?x64xf32>)
// CHECK: tensor.parallel_insert_slice %[[O]] into %[[OUT]][%[[I]], %[[H]], 0, 0]
// CHECK-NOT: linalg.
// CHECK: return
#q = affine_map<(b, h, i, j, d) -> (b, i, h, d)>
#k = affine_map<(b, h, i, j, d) -> (b, j, h, d)>
#s = affine_map<(b, h, i, j, d) -> (b, h, i, j)>
#id4 = affine_map<(b, h, i, j) -> (b, h, i, j)>
#row4 = affine_map<(b, h, i, j) -> (b, h, i)>
#row1 = affine_map<(b, h, i, j) -> (b, h, i, 0)>
#sc = affine_map<(b, h, i, j) -> ()>
#p = affine_map<(b, h, i, d, j) -> (b, h, i, j)>
#v = affine_map<(b, h, i, d, j) -> (b, j, h, d)>
#o = affine_map<(b, h, i, d, j) -> (b, h, i, d)>
func.func @attention(%q: tensor<?x?x6x64xf32>, %k: tensor<?x?x6x64xf32>, %v: tensor<?x?x6x64xf32>, %scale: tensor<f32>) -> tensor<?x6x?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %b = tensor.dim %q, %c0 : tensor<?x?x6x64xf32>
  %s = tensor.dim %q, %c1 : tensor<?x?x6x64xf32>
  %t = tensor.dim %k, %c1 : tensor<?x?x6x64xf32>
  %e4 = tensor.empty(%b, %s, %t) : tensor<?x6x?x?xf32>
  %z4 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<?x6x?x?xf32>) -> tensor<?x6x?x?xf32>
  %scores = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<?x?x6x64xf32>, tensor<?x?x6x64xf32>) outs(%z4 : tensor<?x6x?x?xf32>) {
  ^bb0(%a: f32, %bb: f32, %acc: f32):
    %m = arith.mulf %a, %bb : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<?x6x?x?xf32>
  %e3 = tensor.empty(%b, %s) : tensor<?x6x?xf32>
  %n3 = linalg.fill ins(%ninf : f32) outs(%e3 : tensor<?x6x?xf32>) -> tensor<?x6x?xf32>
  %max = linalg.generic {indexing_maps = [#id4, #sc, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%scores, %scale : tensor<?x6x?x?xf32>, tensor<f32>) outs(%n3 : tensor<?x6x?xf32>) {
  ^bb0(%x: f32, %c: f32, %acc: f32):
    %m = arith.mulf %x, %c : f32
    %r = arith.maximumf %m, %acc : f32
    linalg.yield %r : f32
  } -> tensor<?x6x?xf32>
  %max1 = tensor.expand_shape %max [[0], [1], [2, 3]] output_shape [%b, 6, %s, 1] : tensor<?x6x?xf32> into tensor<?x6x?x1xf32>
  %exp = linalg.generic {indexing_maps = [#id4, #sc, #row1, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%scores, %scale, %max1 : tensor<?x6x?x?xf32>, tensor<f32>, tensor<?x6x?x1xf32>) outs(%e4 : tensor<?x6x?x?xf32>) {
  ^bb0(%x: f32, %c: f32, %m: f32, %out: f32):
    %y = arith.mulf %x, %c : f32
    %d = arith.subf %y, %m : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<?x6x?x?xf32>
  %z3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<?x6x?xf32>) -> tensor<?x6x?xf32>
  %sum = linalg.generic {indexing_maps = [#id4, #row4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%exp : tensor<?x6x?x?xf32>) outs(%z3 : tensor<?x6x?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.addf %x, %acc : f32
    linalg.yield %r : f32
  } -> tensor<?x6x?xf32>
  %sum1 = tensor.expand_shape %sum [[0], [1], [2, 3]] output_shape [%b, 6, %s, 1] : tensor<?x6x?xf32> into tensor<?x6x?x1xf32>
  %prob = linalg.generic {indexing_maps = [#id4, #row1, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%exp, %sum1 : tensor<?x6x?x?xf32>, tensor<?x6x?x1xf32>) outs(%e4 : tensor<?x6x?x?xf32>) {
  ^bb0(%x: f32, %d: f32, %out: f32):
    %r = arith.divf %x, %d : f32
    linalg.yield %r : f32
  } -> tensor<?x6x?x?xf32>
  %eo = tensor.empty(%b, %s) : tensor<?x6x?x64xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<?x6x?x64xf32>) -> tensor<?x6x?x64xf32>
  %out = linalg.generic {indexing_maps = [#p, #v, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%prob, %v : tensor<?x6x?x?xf32>, tensor<?x?x6x64xf32>) outs(%zo : tensor<?x6x?x64xf32>) {
  ^bb0(%a: f32, %bb: f32, %acc: f32):
    %m = arith.mulf %a, %bb : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<?x6x?x64xf32>
  return %out : tensor<?x6x?x64xf32>
}

// Outside the loops nothing is merged: two reads of one tensor through
// to_buffer (how quantized layers read their input) are two points in time,
// and merging them would tell bufferization the second read happens at the
// first (a write in between could then reuse the buffer).
// CHECK-LABEL: func.func @reads_stay_apart(
// CHECK-COUNT-2: bufferization.to_buffer
func.func @reads_stay_apart(%x: tensor<4xf32>) -> (memref<4xf32>, memref<4xf32>) {
  %a = bufferization.to_buffer %x read_only : tensor<4xf32> to memref<4xf32>
  %b = bufferization.to_buffer %x read_only : tensor<4xf32> to memref<4xf32>
  return %a, %b : memref<4xf32>, memref<4xf32>
}


// -----

// The scores are also a result: Q K^T must stay whole outside, so the
// chain of P V holds no other contraction and nothing is tiled (tiling
// would compute the scores twice).
// CHECK-LABEL: func.func @scores_escape(
// CHECK-NOT: scf.forall
// CHECK: return
#q = affine_map<(b, h, i, j, d) -> (b, i, h, d)>
#k = affine_map<(b, h, i, j, d) -> (b, j, h, d)>
#s = affine_map<(b, h, i, j, d) -> (b, h, i, j)>
#id4 = affine_map<(b, h, i, j) -> (b, h, i, j)>
#p = affine_map<(b, h, i, d, j) -> (b, h, i, j)>
#v = affine_map<(b, h, i, d, j) -> (b, j, h, d)>
#o = affine_map<(b, h, i, d, j) -> (b, h, i, d)>
func.func @scores_escape(%q: tensor<2x5x6x64xf32>, %k: tensor<2x5x6x64xf32>, %v: tensor<2x5x6x64xf32>) -> (tensor<2x6x5x64xf32>, tensor<2x6x5x5xf32>) {
  %zero = arith.constant 0.0 : f32
  %e4 = tensor.empty() : tensor<2x6x5x5xf32>
  %z4 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<2x6x5x5xf32>) -> tensor<2x6x5x5xf32>
  %scores = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : tensor<2x5x6x64xf32>, tensor<2x5x6x64xf32>) outs(%z4 : tensor<2x6x5x5xf32>) {
  ^bb0(%a: f32, %bb: f32, %acc: f32):
    %m = arith.mulf %a, %bb : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x6x5x5xf32>
  %exp = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%scores : tensor<2x6x5x5xf32>) outs(%e4 : tensor<2x6x5x5xf32>) {
  ^bb0(%x: f32, %out: f32):
    %r = math.exp %x : f32
    linalg.yield %r : f32
  } -> tensor<2x6x5x5xf32>
  %eo = tensor.empty() : tensor<2x6x5x64xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x6x5x64xf32>) -> tensor<2x6x5x64xf32>
  %out = linalg.generic {indexing_maps = [#p, #v, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%exp, %v : tensor<2x6x5x5xf32>, tensor<2x5x6x64xf32>) outs(%zo : tensor<2x6x5x64xf32>) {
  ^bb0(%a: f32, %bb: f32, %acc: f32):
    %m = arith.mulf %a, %bb : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x6x5x64xf32>
  return %out, %scores : tensor<2x6x5x64xf32>, tensor<2x6x5x5xf32>
}

// -----

// One batched contraction fed by elementwise work only (no second
// contraction): left as it is, one kernel call over every batch.
// CHECK-LABEL: func.func @lone_contraction(
// CHECK-NOT: scf.forall
// CHECK: return
#p = affine_map<(b, i, d, j) -> (b, i, j)>
#v = affine_map<(b, i, d, j) -> (b, j, d)>
#o = affine_map<(b, i, d, j) -> (b, i, d)>
#id3 = affine_map<(b, i, j) -> (b, i, j)>
func.func @lone_contraction(%x: tensor<4x8x8xf32>, %v: tensor<4x8x16xf32>) -> tensor<4x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8x8xf32>
  %exp = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<4x8x8xf32>) outs(%e : tensor<4x8x8xf32>) {
  ^bb0(%a: f32, %out: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<4x8x8xf32>
  %eo = tensor.empty() : tensor<4x8x16xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
  %out = linalg.generic {indexing_maps = [#p, #v, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%exp, %v : tensor<4x8x8xf32>, tensor<4x8x16xf32>) outs(%zo : tensor<4x8x16xf32>) {
  ^bb0(%a: f32, %bb: f32, %acc: f32):
    %m = arith.mulf %a, %bb : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<4x8x16xf32>
  return %out : tensor<4x8x16xf32>
}

// -----

// A unit dimension added by expand_shape and read at index 0 is dropped
// from the reader's map, which reads the source; an expansion into real
// dimensions (heads) stays.
// CHECK-DAG: #[[ROWS:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @unit_expand(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x?xf32>
// CHECK-NOT: tensor.expand_shape
// CHECK: linalg.generic {indexing_maps = [#[[ROWS]], {{.+}}ins(%[[X]], %{{.+}} : tensor<?x?xf32>, tensor<?x?x8xf32>)
func.func @unit_expand(%x: tensor<?x?xf32>, %y: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : tensor<?x?xf32>
  %s = tensor.dim %x, %c1 : tensor<?x?xf32>
  %x1 = tensor.expand_shape %x [[0], [1, 2]] output_shape [%b, %s, 1] : tensor<?x?xf32> into tensor<?x?x1xf32>
  %e = tensor.empty(%b, %s) : tensor<?x?x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, j, 0)>, affine_map<(i, j, k) -> (i, j, k)>, affine_map<(i, j, k) -> (i, j, k)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x1, %y : tensor<?x?x1xf32>, tensor<?x?x8xf32>) outs(%e : tensor<?x?x8xf32>) {
  ^bb0(%a: f32, %bb: f32, %o: f32):
    %d = arith.divf %bb, %a : f32
    linalg.yield %d : f32
  } -> tensor<?x?x8xf32>
  return %r : tensor<?x?x8xf32>
}

// CHECK-LABEL: func.func @heads_expand(
// CHECK: %[[E:.+]] = tensor.expand_shape
// CHECK: linalg.generic {{.*}}ins(%[[E]] : tensor<?x6x64xf32>)
func.func @heads_expand(%x: tensor<?x384xf32>) -> tensor<?x6x64xf32> {
  %c0 = arith.constant 0 : index
  %b = tensor.dim %x, %c0 : tensor<?x384xf32>
  %x1 = tensor.expand_shape %x [[0], [1, 2]] output_shape [%b, 6, 64] : tensor<?x384xf32> into tensor<?x6x64xf32>
  %e = tensor.empty(%b) : tensor<?x6x64xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, j, k)>, affine_map<(i, j, k) -> (i, j, k)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x1 : tensor<?x6x64xf32>) outs(%e : tensor<?x6x64xf32>) {
  ^bb0(%a: f32, %o: f32):
    %d = math.exp %a : f32
    linalg.yield %d : f32
  } -> tensor<?x6x64xf32>
  return %r : tensor<?x6x64xf32>
}
