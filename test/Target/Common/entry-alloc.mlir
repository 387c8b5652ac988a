// RUN: quant-opt %s -quantc-mark-entry -finalize-memref-to-llvm=use-generic-functions -convert-arith-to-llvm -convert-func-to-llvm -reconcile-unrealized-casts -quantc-emit-entry | FileCheck %s
// RUN: not quant-opt %s -quantc-mark-entry -finalize-memref-to-llvm="use-generic-functions use-aligned-alloc" -convert-arith-to-llvm -convert-func-to-llvm -reconcile-unrealized-casts -quantc-emit-entry 2>&1 | FileCheck %s --check-prefix=ALIGNED

// The model's buffers come from the runtime's allocator, which frees what a
// call a run-time check stopped had allocated: no call to MLIR's generic
// names (which the runtime does not define) is left.
// CHECK-DAG: llvm.func @quantc_model_alloc(i64) -> !llvm.ptr
// CHECK-DAG: llvm.func @quantc_model_free(!llvm.ptr)
// CHECK-NOT: _mlir_memref_to_llvm
// CHECK-LABEL: llvm.func @main
// CHECK: llvm.call @quantc_model_alloc
// CHECK: llvm.call @quantc_model_free
// CHECK-NOT: _mlir_memref_to_llvm
// ALIGNED: error: aligned allocations have no runtime function: lower memref.alloc without use-aligned-alloc
func.func @main(%x: memref<?xf32>) -> memref<?xf32> {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?xf32>
  %a = memref.alloc(%n) : memref<?xf32>
  memref.dealloc %a : memref<?xf32>
  return %x : memref<?xf32>
}
