// RUN: quant-opt %s -quantc-externalize-weights | FileCheck %s
// RUN: quant-opt %s -quantc-externalize-weights=min-bytes=1 | FileCheck %s --check-prefix=ALL

// Constants of 64 bytes and more move to the blob at 64-byte aligned
// offsets, read through memref.view of main's new last argument; smaller
// ones stay in the code.
// CHECK: module attributes {quantc.weights = [{offset = 0 : i64, value = dense<1.000000e+00> : tensor<4x8xf32>}, {offset = 128 : i64, value = dense<2.000000e+00> : tensor<5x4xf32>}], quantc.weights_bytes = 208 : i64}
// CHECK: memref.global "private" constant @small
// CHECK-NOT: memref.global "private" constant @w
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%arg0: memref<4xf32>, %[[BLOB:.*]]: memref<?xi8> {quantc.weights})
// CHECK: %[[O1:.*]] = arith.constant 0 : index
// CHECK: memref.view %[[BLOB]][%[[O1]]][] : memref<?xi8> to memref<4x8xf32>
// CHECK: %[[O2:.*]] = arith.constant 128 : index
// CHECK: memref.view %[[BLOB]][%[[O2]]][] : memref<?xi8> to memref<5x4xf32>
// CHECK: memref.get_global @small
// ALL-NOT: memref.global
memref.global "private" constant @w1 : memref<4x8xf32> = dense<1.0>
memref.global "private" constant @w2 : memref<5x4xf32> = dense<2.0>
memref.global "private" constant @small : memref<2xf32> = dense<3.0>
func.func @main(%x: memref<4xf32>) -> (memref<4x8xf32>, memref<5x4xf32>, memref<2xf32>) {
  %a = memref.get_global @w1 : memref<4x8xf32>
  %b = memref.get_global @w2 : memref<5x4xf32>
  %c = memref.get_global @small : memref<2xf32>
  return %a, %b, %c : memref<4x8xf32>, memref<5x4xf32>, memref<2xf32>
}
