// RUN: quant-opt %s --split-input-file --quantc-kv-cache-in-place --verify-diagnostics | FileCheck %s

// present = concat(past, new) becomes an in-place append into the cache
// argument at `past_sequence_length`; readers see the first length + new
// positions, the past's size along the axis is the length.
// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[IDS:[a-z0-9]+]]: tensor<?x?xi64>
// CHECK-SAME: %[[CACHE:[a-z0-9]+]]: tensor<?x2x?x4xf32> {bufferization.writable = true, onnx.name = "past.key", quantc.kv_cache = {axis = 2 : i64, present = "present.key", size_from = array<i64: 0, 0, -1, -1, 0, 1, -1, -1>}}
// CHECK-SAME: %[[LEN:[a-z0-9]+]]: tensor<i64> {bufferization.writable = false, onnx.name = "past_sequence_length", quantc.kv_length}
// CHECK-SAME: -> (tensor<?x2x?x4xf32> {onnx.name = "present.key", quantc.kv_cache_of = 1 : i64}, tensor<?x2x?x?xf32>)
// CHECK: %[[L:.+]] = tensor.extract %[[LEN]][]
// CHECK: %[[LI:.+]] = arith.index_cast %[[L]]
// CHECK: %[[UPD:.+]] = tensor.insert_slice %{{.+}} into %[[CACHE]][0, 0, %[[LI]], 0]
// CHECK: %[[TOTAL:.+]] = arith.addi %[[LI]]
// CHECK: %[[PRESENT:.+]] = tensor.extract_slice %[[UPD]][0, 0, 0, 0] [%{{.+}}, 2, %[[TOTAL]], 4]
// CHECK: tensor.empty(%{{.+}}, %{{.+}}, %[[LI]])
// CHECK: linalg.copy ins(%[[PRESENT]]
// CHECK: return %[[UPD]],
func.func @main(%ids: tensor<?x?xi64>, %past: tensor<?x2x?x4xf32> {onnx.name = "past.key"})
    -> (tensor<?x2x?x4xf32> {onnx.name = "present.key"}, tensor<?x2x?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %s = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %e = tensor.empty(%b, %s) : tensor<?x2x?x4xf32>
  %one = arith.constant 1.0 : f32
  %new = linalg.fill ins(%one : f32) outs(%e : tensor<?x2x?x4xf32>) -> tensor<?x2x?x4xf32>
  %present = tensor.concat dim(2) %past, %new : (tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) -> tensor<?x2x?x4xf32>
  %p = tensor.dim %past, %c2 : tensor<?x2x?x4xf32>
  %t = tensor.dim %present, %c2 : tensor<?x2x?x4xf32>
  %e2 = tensor.empty(%b, %t, %p) : tensor<?x2x?x?xf32>
  %copy = tensor.empty(%b, %t) : tensor<?x2x?x4xf32>
  %c = linalg.copy ins(%present : tensor<?x2x?x4xf32>) outs(%copy : tensor<?x2x?x4xf32>) -> tensor<?x2x?x4xf32>
  return %present, %e2 : tensor<?x2x?x4xf32>, tensor<?x2x?x?xf32>
}

// -----

// A concat that is not of an argument, or along a static size, is left alone.
// CHECK-LABEL: func.func @main(
// CHECK-NOT: quantc.kv
// CHECK: tensor.concat dim(1)
func.func @main(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<2x6xf32> {
  %c = tensor.concat dim(1) %a, %b : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x6xf32>
  return %c : tensor<2x6xf32>
}

// -----

// The runtime sizes a cache before the call, so each dynamic size of what a
// step appends must be an input's size.
func.func @main(%n: tensor<index>, %past: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %s = tensor.extract %n[] : tensor<index>
  %e = tensor.empty(%s) : tensor<?x4xf32>
  // expected-error @+1 {{KV cache '#1': size 0 of the appended tensor is not the size of an input, so the runtime cannot size the cache before a run}}
  %present = tensor.concat dim(0) %past, %e : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  return %present : tensor<?x4xf32>
}

// -----

// The appended keys come from a concat along the head dimension (Phi's
// rotated and kept halves): their batch and sequence sizes are still the
// ids' (a concat's other sizes are its first operand's), so the cache is
// sized from them.
// CHECK-LABEL: func.func @main(
// CHECK-SAME: quantc.kv_cache = {axis = 2 : i64, present = "present.key", size_from = array<i64: 0, 0, -1, -1, 0, 1, -1, -1>}
func.func @main(%ids: tensor<?x?xi64>, %past: tensor<?x2x?x4xf32> {onnx.name = "past.key"})
    -> (tensor<?x2x?x4xf32> {onnx.name = "present.key"}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %s = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %e = tensor.empty(%b, %s) : tensor<?x2x?x2xf32>
  %one = arith.constant 1.0 : f32
  %half = linalg.fill ins(%one : f32) outs(%e : tensor<?x2x?x2xf32>) -> tensor<?x2x?x2xf32>
  %rot = tensor.concat dim(3) %half, %half : (tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32>) -> tensor<?x2x?x4xf32>
  %b2 = tensor.dim %rot, %c0 : tensor<?x2x?x4xf32>
  %e2 = tensor.empty(%b2, %s) : tensor<?x2x?x4xf32>
  %new = linalg.copy ins(%rot : tensor<?x2x?x4xf32>) outs(%e2 : tensor<?x2x?x4xf32>) -> tensor<?x2x?x4xf32>
  %present = tensor.concat dim(2) %past, %new : (tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) -> tensor<?x2x?x4xf32>
  return %present : tensor<?x2x?x4xf32>
}
