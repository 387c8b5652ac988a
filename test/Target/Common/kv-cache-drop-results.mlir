// RUN: quant-opt %s --split-input-file --quantc-kv-cache-drop-results --verify-diagnostics | FileCheck %s

// A cache updated in place is the argument itself: the result goes.
// CHECK-LABEL: func.func @main(
// CHECK-SAME: -> memref<?xf32> {
// CHECK: return %{{.+}} : memref<?xf32>
func.func @main(%x: memref<?xf32>, %cache: memref<?x4xf32>, %n: memref<i64>)
    -> (memref<?xf32>, memref<?x4xf32> {quantc.kv_cache_of = 1 : i64}) {
  return %x, %cache : memref<?xf32>, memref<?x4xf32>
}

// -----

// A copy would lose the step's keys and values: an error, not silence.
// expected-error @+1 {{result 0 of main should be its KV cache argument #1 updated in place, but bufferization copied it}}
func.func @main(%x: memref<?xf32>, %cache: memref<?x4xf32>, %n: memref<i64>)
    -> (memref<?x4xf32> {quantc.kv_cache_of = 1 : i64}) {
  %c0 = arith.constant 0 : index
  %d = memref.dim %cache, %c0 : memref<?x4xf32>
  %copy = memref.alloc(%d) : memref<?x4xf32>
  memref.copy %cache, %copy : memref<?x4xf32> to memref<?x4xf32>
  return %copy : memref<?x4xf32>
}
