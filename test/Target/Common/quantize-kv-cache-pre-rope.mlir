// RUN: quant-opt %s --split-input-file --qc-quantize-kv-cache="bits=8 pre-rope=true" --verify-diagnostics | FileCheck %s
// RUN: quant-opt %s --split-input-file --qc-quantize-kv-cache="bits=8" | FileCheck %s --check-prefix=POST
// RUN: sed 's/^module {/module attributes {quantc.kv_observe_pre_rope} {/' %s | quant-opt --split-input-file --qc-quantize-kv-cache --verify-diagnostics | FileCheck %s --check-prefix=OBSERVE

// Two key caches (read by Q K^T only) written with RoPE in the rotate_half
// form, x * cos + concat(-x[.., 4:], x[.., :4]) * sin, by the same cos and
// sin [b, 1, n, 8]: with pre-rope each stores x itself, and one table of
// cos and sin (a new cache argument, [b, 1, positions, 16], written at the
// length where cos, sin and the length are known) serves both scores,
// which rotate each key at its position (rotary 8, the whole head).
// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<?x2x?x8xf32>, %[[X0:[a-z0-9]+]]: tensor<?x2x?x8xf32>, %[[X1:[a-z0-9]+]]: tensor<?x2x?x8xf32>, %[[COS:[a-z0-9]+]]: tensor<?x1x?x8xf32>, %[[SIN:[a-z0-9]+]]: tensor<?x1x?x8xf32>
// CHECK-SAME: %[[TABLE:[a-z0-9]+]]: tensor<?x1x?x16xf32> {bufferization.writable = true, onnx.name = "past.0.key.rope", quantc.kv_cache = {axis = 2 : i64, format = "f32 cos, sin of RoPE, rotary 8", part = "rope", present = "present.0.key.rope", size_from = array<i64: 1, 0, -1, -1, 1, 2, -1, -1>}}
// CHECK-NOT: past.1.key.rope
// CHECK-SAME: {onnx.name = "present.0.key.rope", quantc.kv_cache_of = 10 : i64}
// CHECK: %[[ROWS:.+]] = tensor.concat dim(3) %[[COS]], %[[SIN]]
// CHECK: %[[T:.+]] = tensor.insert_slice %[[ROWS]] into %[[TABLE]][0, 0, %{{.+}}, 0]
// CHECK: %[[C8:.+]] = arith.constant 8 : i64
// CHECK: %[[W0:.+]]:3 = qc.ukernel "quantc_kv_append" ins(%[[X0]] : tensor<?x2x?x8xf32>)
// CHECK: qc.ukernel "quantc_kv_scores_rope" ins(%[[Q]], %[[W0]]#0, %[[W0]]#1, %[[W0]]#2, %[[T]] : {{.+}}) outs({{.+}}) scalars({{.+}}, %[[C8]] :
// CHECK: %[[W1:.+]]:3 = qc.ukernel "quantc_kv_append" ins(%[[X1]] : tensor<?x2x?x8xf32>)
// CHECK: qc.ukernel "quantc_kv_scores_rope" ins(%[[Q]], %[[W1]]#0, %[[W1]]#1, %[[W1]]#2, %[[T]] : {{.+}})
// CHECK: return {{.+}}, %[[T]], {{.+}} :
// Without pre-rope, the rotated keys are stored and read as they are.
// POST-LABEL: func.func @main(
// POST-NOT: rope
// POST: qc.ukernel "quantc_kv_append" ins(%{{.+}} : tensor<?x2x?x8xf32>)
// POST: qc.ukernel "quantc_kv_scores" ins(
// Calibration's view: each key cache's pre-RoPE keys as one more result,
// nothing else changed.
// OBSERVE-LABEL: func.func @main(
// OBSERVE-SAME: %[[Q:[a-z0-9]+]]: tensor<?x2x?x8xf32>, %[[X0:[a-z0-9]+]]: tensor<?x2x?x8xf32>, %[[X1:[a-z0-9]+]]: tensor<?x2x?x8xf32>
// OBSERVE-SAME: tensor<?x2x?x8xf32> {onnx.name = "present.0.key.pre_rope"}, tensor<?x2x?x8xf32> {onnx.name = "present.1.key.pre_rope"})
// OBSERVE-NOT: qc.ukernel
// OBSERVE: return %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[X0]], %[[X1]] :
#qk = affine_map<(b, h, r, t, d) -> (b, h, r, d)>
#k = affine_map<(b, h, r, t, d) -> (b, h, t, d)>
#s = affine_map<(b, h, r, t, d) -> (b, h, r, t)>
#id = affine_map<(b, h, n, d) -> (b, h, n, d)>
#row = affine_map<(b, h, n, d) -> (b, 0, n, d)>
module {
func.func @main(%q: tensor<?x2x?x8xf32>, %x0: tensor<?x2x?x8xf32>, %x1: tensor<?x2x?x8xf32>,
    %cos: tensor<?x1x?x8xf32>, %sin: tensor<?x1x?x8xf32>,
    %k0: tensor<?x2x?x8xf32> {bufferization.writable = true, onnx.name = "past.0.key", quantc.kv_cache = {axis = 2 : i64, present = "present.0.key", size_from = array<i64: 1, 0, -1, -1, 1, 2, -1, -1>}},
    %k1: tensor<?x2x?x8xf32> {bufferization.writable = true, onnx.name = "past.1.key", quantc.kv_cache = {axis = 2 : i64, present = "present.1.key", size_from = array<i64: 1, 0, -1, -1, 1, 2, -1, -1>}},
    %len: tensor<i64> {onnx.name = "past_sequence_length", quantc.kv_length})
    -> (tensor<?x2x?x?xf32>, tensor<?x2x?x?xf32>, tensor<?x2x?x8xf32> {onnx.name = "present.0.key", quantc.kv_cache_of = 5 : i64}, tensor<?x2x?x8xf32> {onnx.name = "present.1.key", quantc.kv_cache_of = 6 : i64}) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %zero = arith.constant 0.0 : f32
  %l64 = tensor.extract %len[] : tensor<i64>
  %l = arith.index_cast %l64 : i64 to index
  %b = tensor.dim %x0, %c0 : tensor<?x2x?x8xf32>
  %n = tensor.dim %x0, %c2 : tensor<?x2x?x8xf32>
  %r = tensor.dim %q, %c2 : tensor<?x2x?x8xf32>
  %total = arith.addi %l, %n : index
  %hi0 = tensor.extract_slice %x0[0, 0, 0, 4] [%b, 2, %n, 4] [1, 1, 1, 1] : tensor<?x2x?x8xf32> to tensor<?x2x?x4xf32>
  %e0 = tensor.empty(%b, %n) : tensor<?x2x?x4xf32>
  %neg0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%hi0 : tensor<?x2x?x4xf32>) outs(%e0 : tensor<?x2x?x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.negf %in : f32
    linalg.yield %m : f32
  } -> tensor<?x2x?x4xf32>
  %lo0 = tensor.extract_slice %x0[0, 0, 0, 0] [%b, 2, %n, 4] [1, 1, 1, 1] : tensor<?x2x?x8xf32> to tensor<?x2x?x4xf32>
  %rot0 = tensor.concat dim(3) %neg0, %lo0 : (tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) -> tensor<?x2x?x8xf32>
  %e80 = tensor.empty(%b, %n) : tensor<?x2x?x8xf32>
  %y0 = linalg.generic {indexing_maps = [#id, #row, #id, #row, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x0, %cos, %rot0, %sin : tensor<?x2x?x8xf32>, tensor<?x1x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x1x?x8xf32>) outs(%e80 : tensor<?x2x?x8xf32>) {
  ^bb0(%a: f32, %c: f32, %ra: f32, %sa: f32, %out: f32):
    %m1 = arith.mulf %ra, %sa : f32
    %m0 = arith.mulf %a, %c : f32
    %sum = arith.addf %m0, %m1 : f32
    linalg.yield %sum : f32
  } -> tensor<?x2x?x8xf32>
  %u0 = tensor.insert_slice %y0 into %k0[0, 0, %l, 0] [%b, 2, %n, 8] [1, 1, 1, 1] : tensor<?x2x?x8xf32> into tensor<?x2x?x8xf32>
  %view0 = tensor.extract_slice %u0[0, 0, 0, 0] [%b, 2, %total, 8] [1, 1, 1, 1] : tensor<?x2x?x8xf32> to tensor<?x2x?x8xf32>
  %es0 = tensor.empty(%b, %r, %total) : tensor<?x2x?x?xf32>
  %zs0 = linalg.fill ins(%zero : f32) outs(%es0 : tensor<?x2x?x?xf32>) -> tensor<?x2x?x?xf32>
  %s0 = linalg.generic {indexing_maps = [#qk, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %view0 : tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) outs(%zs0 : tensor<?x2x?x?xf32>) {
  ^bb0(%a: f32, %k: f32, %acc: f32):
    %m = arith.mulf %a, %k : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  } -> tensor<?x2x?x?xf32>
  %hi1 = tensor.extract_slice %x1[0, 0, 0, 4] [%b, 2, %n, 4] [1, 1, 1, 1] : tensor<?x2x?x8xf32> to tensor<?x2x?x4xf32>
  %e1 = tensor.empty(%b, %n) : tensor<?x2x?x4xf32>
  %neg1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%hi1 : tensor<?x2x?x4xf32>) outs(%e1 : tensor<?x2x?x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.negf %in : f32
    linalg.yield %m : f32
  } -> tensor<?x2x?x4xf32>
  %lo1 = tensor.extract_slice %x1[0, 0, 0, 0] [%b, 2, %n, 4] [1, 1, 1, 1] : tensor<?x2x?x8xf32> to tensor<?x2x?x4xf32>
  %rot1 = tensor.concat dim(3) %neg1, %lo1 : (tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) -> tensor<?x2x?x8xf32>
  %e81 = tensor.empty(%b, %n) : tensor<?x2x?x8xf32>
  %y1 = linalg.generic {indexing_maps = [#id, #row, #id, #row, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x1, %cos, %rot1, %sin : tensor<?x2x?x8xf32>, tensor<?x1x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x1x?x8xf32>) outs(%e81 : tensor<?x2x?x8xf32>) {
  ^bb0(%a: f32, %c: f32, %ra: f32, %sa: f32, %out: f32):
    %m1 = arith.mulf %ra, %sa : f32
    %m0 = arith.mulf %a, %c : f32
    %sum = arith.addf %m0, %m1 : f32
    linalg.yield %sum : f32
  } -> tensor<?x2x?x8xf32>
  %u1 = tensor.insert_slice %y1 into %k1[0, 0, %l, 0] [%b, 2, %n, 8] [1, 1, 1, 1] : tensor<?x2x?x8xf32> into tensor<?x2x?x8xf32>
  %view1 = tensor.extract_slice %u1[0, 0, 0, 0] [%b, 2, %total, 8] [1, 1, 1, 1] : tensor<?x2x?x8xf32> to tensor<?x2x?x8xf32>
  %es1 = tensor.empty(%b, %r, %total) : tensor<?x2x?x?xf32>
  %zs1 = linalg.fill ins(%zero : f32) outs(%es1 : tensor<?x2x?x?xf32>) -> tensor<?x2x?x?xf32>
  %s1 = linalg.generic {indexing_maps = [#qk, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %view1 : tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) outs(%zs1 : tensor<?x2x?x?xf32>) {
  ^bb0(%a: f32, %k: f32, %acc: f32):
    %m = arith.mulf %a, %k : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  } -> tensor<?x2x?x?xf32>
  return %s0, %s1, %u0, %u1 : tensor<?x2x?x?xf32>, tensor<?x2x?x?xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>
}
}

// -----

// A key cache written without RoPE: there are no pre-RoPE keys to store
// (nor to calibrate on).
#qk = affine_map<(b, h, r, t, d) -> (b, h, r, d)>
#k = affine_map<(b, h, r, t, d) -> (b, h, t, d)>
#s = affine_map<(b, h, r, t, d) -> (b, h, r, t)>
module {
func.func @main(%q: tensor<?x2x?x8xf32>, %new: tensor<?x2x?x8xf32>,
    // expected-error @+1 {{pre-RoPE keys: the keys written to cache 'past.key' are not RoPE of the form x * cos + concat(-x[.., d/2:], x[.., :d/2]) * sin with cos and sin [batch, 1, positions, head_dim]}}
    %cache: tensor<?x2x?x8xf32> {bufferization.writable = true, onnx.name = "past.key", quantc.kv_cache = {axis = 2 : i64, present = "present.key", size_from = array<i64: 1, 0, -1, -1, 1, 2, -1, -1>}},
    %len: tensor<i64> {onnx.name = "past_sequence_length", quantc.kv_length})
    -> (tensor<?x2x?x?xf32>, tensor<?x2x?x8xf32> {onnx.name = "present.key", quantc.kv_cache_of = 2 : i64}) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %zero = arith.constant 0.0 : f32
  %l64 = tensor.extract %len[] : tensor<i64>
  %l = arith.index_cast %l64 : i64 to index
  %b = tensor.dim %new, %c0 : tensor<?x2x?x8xf32>
  %n = tensor.dim %new, %c2 : tensor<?x2x?x8xf32>
  %r = tensor.dim %q, %c2 : tensor<?x2x?x8xf32>
  %upd = tensor.insert_slice %new into %cache[0, 0, %l, 0] [%b, 2, %n, 8] [1, 1, 1, 1] : tensor<?x2x?x8xf32> into tensor<?x2x?x8xf32>
  %total = arith.addi %l, %n : index
  %view = tensor.extract_slice %upd[0, 0, 0, 0] [%b, 2, %total, 8] [1, 1, 1, 1] : tensor<?x2x?x8xf32> to tensor<?x2x?x8xf32>
  %es = tensor.empty(%b, %r, %total) : tensor<?x2x?x?xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<?x2x?x?xf32>) -> tensor<?x2x?x?xf32>
  %scores = linalg.generic {indexing_maps = [#qk, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %view : tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) outs(%zs : tensor<?x2x?x?xf32>) {
  ^bb0(%a: f32, %k: f32, %acc: f32):
    %m = arith.mulf %a, %k : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  } -> tensor<?x2x?x?xf32>
  return %scores, %upd : tensor<?x2x?x?xf32>, tensor<?x2x?x8xf32>
}
}
