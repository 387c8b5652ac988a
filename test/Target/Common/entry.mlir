// RUN: quant-opt %s -quantc-mark-entry | FileCheck %s --check-prefix=MARK
// RUN: quant-opt %s -quantc-mark-entry -convert-func-to-llvm -reconcile-unrealized-casts -quantc-emit-entry | FileCheck %s
// RUN: not quant-opt %s -quantc-emit-entry 2>&1 | FileCheck %s --check-prefix=NOCIFACE

// MARK: func.func @main({{.*}}) -> memref<?xf32> attributes {llvm.emit_c_interface}

// quantc_main(descriptors) loads one pointer per parameter of the C
// interface (the result first) and calls it.
// CHECK-LABEL: llvm.func @quantc_main
// CHECK-SAME: (%[[D:.*]]: !llvm.ptr)
// CHECK: %[[P0:.*]] = llvm.getelementptr %[[D]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[R:.*]] = llvm.load %[[P0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[P1:.*]] = llvm.getelementptr %[[D]][1]
// CHECK: %[[A:.*]] = llvm.load %[[P1]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.call @_mlir_ciface_main(%[[R]], %[[A]]) : (!llvm.ptr, !llvm.ptr) -> ()
// NOCIFACE: error: no '_mlir_ciface_main': mark main with llvm.emit_c_interface before lowering
func.func @main(%x: memref<?xf32>) -> memref<?xf32> {
  return %x : memref<?xf32>
}
