// RUN: quant-opt %s --split-input-file --qc-quantize-kv-cache="bits=4 keys=per-channel" --verify-diagnostics | FileCheck %s

// Keys (read by Q K^T) and values (read by P V) in two caches. With
// per-channel keys the key cache gets fixed scales and offsets from the
// calibrated ranges: (max - min) / 15 and min per head and channel (head
// 0: [-1, 14], scale 1; head 1: [0, 30], scale 2, but for its last channel,
// constant 3: scale 0, offset 3), constants beside the codes, no scale
// arguments; the values stay per token.
// CHECK-NOT: quantc.kv_ranges
// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<?x2x?x8xf32>, %[[P:[a-z0-9]+]]: tensor<?x2x?x?xf32>, %[[NEWK:[a-z0-9]+]]: tensor<?x2x?x8xf32>, %[[NEWV:[a-z0-9]+]]: tensor<?x2x?x8xf32>
// CHECK-SAME: %[[KEYS:[a-z0-9]+]]: tensor<?x2x?x16xi8> {bufferization.writable = true, onnx.name = "past.key", quantc.kv_cache = {axis = 2 : i64, format = "int4, per channel (calibrated)", part = "codes", present = "present.key"
// CHECK-SAME: %[[VALUES:[a-z0-9]+]]: tensor<?x2x?x16xi8> {bufferization.writable = true, onnx.name = "past.value", quantc.kv_cache = {axis = 2 : i64, format = "int4, per token, group 8", part = "codes", present = "present.value"
// CHECK-SAME: %[[LEN:[a-z0-9]+]]: tensor<i64>
// CHECK-SAME: %[[VS:[a-z0-9]+]]: tensor<?x2x?x1xf32> {bufferization.writable = true, onnx.name = "past.value.scales"
// CHECK-SAME: %[[VO:[a-z0-9]+]]: tensor<?x2x?x1xf32> {bufferization.writable = true, onnx.name = "past.value.offsets"
// CHECK-NOT: past.key.scales
// CHECK-SAME: -> (tensor<?x2x?x?xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x16xi8> {onnx.name = "present.key", quantc.kv_cache_of = 4 : i64}, tensor<?x2x?x16xi8> {onnx.name = "present.value", quantc.kv_cache_of = 5 : i64}, tensor<?x2x?x1xf32> {onnx.name = "present.value.scales", quantc.kv_cache_of = 7 : i64}, tensor<?x2x?x1xf32> {onnx.name = "present.value.offsets", quantc.kv_cache_of = 8 : i64})
// CHECK: %[[C0:.+]] = arith.constant 0 : i64
// CHECK: %[[SCALE:.+]] = arith.constant dense<{{\[}}[1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00], [2.000000e+00, 2.000000e+00, 2.000000e+00, 2.000000e+00, 2.000000e+00, 2.000000e+00, 2.000000e+00, 0.000000e+00]]> : tensor<2x8xf32>
// CHECK: %[[OFFSET:.+]] = arith.constant dense<{{\[}}[-1.000000e+00, -1.000000e+00, -1.000000e+00, -1.000000e+00, -1.000000e+00, -1.000000e+00, -1.000000e+00, -1.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 3.000000e+00]]> : tensor<2x8xf32>
// CHECK: %[[WK:.+]] = qc.ukernel "quantc_kv_append_fixed" ins(%[[NEWK]], %[[SCALE]], %[[OFFSET]] : tensor<?x2x?x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) outs(%[[KEYS]] : tensor<?x2x?x16xi8>) scalars({{.+}}, %[[C0]], %{{.+}} :
// CHECK: %[[WV:.+]]:3 = qc.ukernel "quantc_kv_append" ins(%[[NEWV]] : tensor<?x2x?x8xf32>) outs(%[[VALUES]], %[[VS]], %[[VO]] :
// CHECK: qc.ukernel "quantc_kv_scores" ins(%[[Q]], %[[WK]], %[[SCALE]], %[[OFFSET]] : tensor<?x2x?x8xf32>, tensor<?x2x?x16xi8>, tensor<2x8xf32>, tensor<2x8xf32>) {{.+}} scalars({{.+}}, %[[C0]], %{{.+}} :
// CHECK: qc.ukernel "quantc_kv_values" ins(%[[P]], %[[WV]]#0, %[[WV]]#1, %[[WV]]#2 :
#qk = affine_map<(b, h, r, t, d) -> (b, h, r, d)>
#k = affine_map<(b, h, r, t, d) -> (b, h, t, d)>
#s = affine_map<(b, h, r, t, d) -> (b, h, r, t)>
#p = affine_map<(b, h, r, d, t) -> (b, h, r, t)>
#v = affine_map<(b, h, r, d, t) -> (b, h, t, d)>
#o = affine_map<(b, h, r, d, t) -> (b, h, r, d)>
module attributes {quantc.kv_ranges = {"past.key" = dense<[
    [[-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0]],
    [[14.0, 14.0, 14.0, 14.0, 14.0, 14.0, 14.0, 14.0], [30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 3.0]]]> : tensor<2x2x8xf32>}} {
func.func @main(%q: tensor<?x2x?x8xf32>, %p: tensor<?x2x?x?xf32>, %newk: tensor<?x2x?x8xf32>, %newv: tensor<?x2x?x8xf32>,
    %kc: tensor<?x2x?x8xf32> {bufferization.writable = true, onnx.name = "past.key", quantc.kv_cache = {axis = 2 : i64, present = "present.key", size_from = array<i64: 2, 0, -1, -1, 2, 2, -1, -1>}},
    %vc: tensor<?x2x?x8xf32> {bufferization.writable = true, onnx.name = "past.value", quantc.kv_cache = {axis = 2 : i64, present = "present.value", size_from = array<i64: 2, 0, -1, -1, 2, 2, -1, -1>}},
    %len: tensor<i64> {onnx.name = "past_sequence_length", quantc.kv_length})
    -> (tensor<?x2x?x?xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32> {onnx.name = "present.key", quantc.kv_cache_of = 4 : i64}, tensor<?x2x?x8xf32> {onnx.name = "present.value", quantc.kv_cache_of = 5 : i64}) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %zero = arith.constant 0.0 : f32
  %l64 = tensor.extract %len[] : tensor<i64>
  %l = arith.index_cast %l64 : i64 to index
  %b = tensor.dim %newk, %c0 : tensor<?x2x?x8xf32>
  %n = tensor.dim %newk, %c2 : tensor<?x2x?x8xf32>
  %r = tensor.dim %q, %c2 : tensor<?x2x?x8xf32>
  %updk = tensor.insert_slice %newk into %kc[0, 0, %l, 0] [%b, 2, %n, 8] [1, 1, 1, 1] : tensor<?x2x?x8xf32> into tensor<?x2x?x8xf32>
  %updv = tensor.insert_slice %newv into %vc[0, 0, %l, 0] [%b, 2, %n, 8] [1, 1, 1, 1] : tensor<?x2x?x8xf32> into tensor<?x2x?x8xf32>
  %total = arith.addi %l, %n : index
  %viewk = tensor.extract_slice %updk[0, 0, 0, 0] [%b, 2, %total, 8] [1, 1, 1, 1] : tensor<?x2x?x8xf32> to tensor<?x2x?x8xf32>
  %viewv = tensor.extract_slice %updv[0, 0, 0, 0] [%b, 2, %total, 8] [1, 1, 1, 1] : tensor<?x2x?x8xf32> to tensor<?x2x?x8xf32>
  %es = tensor.empty(%b, %r, %total) : tensor<?x2x?x?xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<?x2x?x?xf32>) -> tensor<?x2x?x?xf32>
  %scores = linalg.generic {indexing_maps = [#qk, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %viewk : tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) outs(%zs : tensor<?x2x?x?xf32>) {
  ^bb0(%a: f32, %k: f32, %acc: f32):
    %m = arith.mulf %a, %k : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x2x?x?xf32>
  %eo = tensor.empty(%b, %r) : tensor<?x2x?x8xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32>
  %out = linalg.generic {indexing_maps = [#p, #v, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %viewv : tensor<?x2x?x?xf32>, tensor<?x2x?x8xf32>) outs(%zo : tensor<?x2x?x8xf32>) {
  ^bb0(%a: f32, %v: f32, %acc: f32):
    %m = arith.mulf %a, %v : f32
    %s = arith.addf %m, %acc : f32
    linalg.yield %s : f32
  } -> tensor<?x2x?x8xf32>
  return %scores, %out, %updk, %updv : tensor<?x2x?x?xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>
}
}

// -----

// Ranges that do not fit the cache (4 channels calibrated, 8 in the cache;
// a stale calibration of another model) are refused, naming the cache.
#qk = affine_map<(b, h, r, t, d) -> (b, h, r, d)>
#k = affine_map<(b, h, r, t, d) -> (b, h, t, d)>
#s = affine_map<(b, h, r, t, d) -> (b, h, r, t)>
module attributes {quantc.kv_ranges = {"past.key" = dense<0.0> : tensor<2x2x4xf32>}} {
func.func @main(%q: tensor<?x2x?x8xf32>, %newk: tensor<?x2x?x8xf32>,
    // expected-error @+1 {{per-channel key scales: quantc.kv_ranges holds no 'tensor<2x2x8xf32>' for cache 'past.key'}}
    %kc: tensor<?x2x?x8xf32> {bufferization.writable = true, onnx.name = "past.key", quantc.kv_cache = {axis = 2 : i64, present = "present.key", size_from = array<i64: 1, 0, -1, -1, 1, 2, -1, -1>}},
    %len: tensor<i64> {onnx.name = "past_sequence_length", quantc.kv_length})
    -> (tensor<?x2x?x?xf32>, tensor<?x2x?x8xf32> {onnx.name = "present.key", quantc.kv_cache_of = 2 : i64}) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %zero = arith.constant 0.0 : f32
  %l64 = tensor.extract %len[] : tensor<i64>
  %l = arith.index_cast %l64 : i64 to index
  %b = tensor.dim %newk, %c0 : tensor<?x2x?x8xf32>
  %n = tensor.dim %newk, %c2 : tensor<?x2x?x8xf32>
  %r = tensor.dim %q, %c2 : tensor<?x2x?x8xf32>
  %updk = tensor.insert_slice %newk into %kc[0, 0, %l, 0] [%b, 2, %n, 8] [1, 1, 1, 1] : tensor<?x2x?x8xf32> into tensor<?x2x?x8xf32>
  %total = arith.addi %l, %n : index
  %viewk = tensor.extract_slice %updk[0, 0, 0, 0] [%b, 2, %total, 8] [1, 1, 1, 1] : tensor<?x2x?x8xf32> to tensor<?x2x?x8xf32>
  %es = tensor.empty(%b, %r, %total) : tensor<?x2x?x?xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<?x2x?x?xf32>) -> tensor<?x2x?x?xf32>
  %scores = linalg.generic {indexing_maps = [#qk, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %viewk : tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) outs(%zs : tensor<?x2x?x?xf32>) {
  ^bb0(%a: f32, %k: f32, %acc: f32):
    %m = arith.mulf %a, %k : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x2x?x?xf32>
  return %scores, %updk : tensor<?x2x?x?xf32>, tensor<?x2x?x8xf32>
}
}
