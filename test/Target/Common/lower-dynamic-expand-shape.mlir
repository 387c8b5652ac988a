// RUN: quant-opt %s -quantc-lower-dynamic-expand-shape | FileCheck %s
// RUN: quant-opt %s -quantc-lower-dynamic-expand-shape -expand-strided-metadata -finalize-memref-to-llvm | FileCheck %s --check-prefix=LLVM

// Two dynamic sizes in one group (upstream's expand-strided-metadata
// crashes on it): a reinterpret_cast of the source's buffer, strides
// row-major inside the group: [4 * d1 * 16, d1 * 16, 16, 1].
// CHECK-LABEL: func.func @two_dynamic
// CHECK-SAME: (%[[SRC:.*]]: memref<?xf32>, %[[D0:.*]]: index, %[[D1:.*]]: index)
// CHECK: %[[BASE:.*]], %[[OFF:.*]], %[[SIZE:.*]], %[[STRIDE:.*]] = memref.extract_strided_metadata %[[SRC]]
// CHECK: %[[S2:.*]] = arith.muli %[[STRIDE]], %{{.*}}
// CHECK: %[[S1:.*]] = arith.muli %[[S2]], %[[D1]]
// CHECK: %[[S0:.*]] = arith.muli %[[S1]], %{{.*}}
// CHECK: memref.reinterpret_cast %[[BASE]] to offset: [0], sizes: [%[[D0]], 4, %[[D1]], 16], strides: [%[[S0]], %[[S1]], 16, 1] : memref<f32> to memref<?x4x?x16xf32>
// CHECK-NOT: memref.expand_shape
// LLVM-LABEL: func.func @two_dynamic
// LLVM: llvm.insertvalue
// LLVM-NOT: memref.expand_shape
func.func @two_dynamic(%src: memref<?xf32>, %d0: index, %d1: index) -> memref<?x4x?x16xf32> {
  %e = memref.expand_shape %src [[0, 1, 2, 3]] output_shape [%d0, 4, %d1, 16] : memref<?xf32> into memref<?x4x?x16xf32>
  return %e : memref<?x4x?x16xf32>
}

// A strided source keeps its strides and offset: group [1, 2] starts from
// the source's stride of dimension 1.
// CHECK-LABEL: func.func @strided_source
// CHECK: %[[BASE:.*]], %[[OFF:.*]], %[[SIZES:.*]]:2, %[[STRIDES:.*]]:2 = memref.extract_strided_metadata
// CHECK: %[[INNER:.*]] = arith.muli %[[STRIDES]]#1, %{{.*}}
// CHECK: memref.reinterpret_cast %[[BASE]] to offset: [%[[OFF]]], sizes: [8, %{{.*}}, %{{.*}}], strides: [%[[STRIDES]]#0, %[[INNER]], %[[STRIDES]]#1]
func.func @strided_source(%src: memref<8x?xf32, strided<[?, ?], offset: ?>>, %a: index, %b: index) -> memref<8x?x?xf32, strided<[?, ?, ?], offset: ?>> {
  %e = memref.expand_shape %src [[0], [1, 2]] output_shape [8, %a, %b] : memref<8x?xf32, strided<[?, ?], offset: ?>> into memref<8x?x?xf32, strided<[?, ?, ?], offset: ?>>
  return %e : memref<8x?x?xf32, strided<[?, ?, ?], offset: ?>>
}

// One dynamic size per group: upstream handles it, left alone.
// CHECK-LABEL: func.func @one_dynamic
// CHECK: memref.expand_shape
func.func @one_dynamic(%src: memref<?xf32>, %d0: index) -> memref<?x4xf32> {
  %e = memref.expand_shape %src [[0, 1]] output_shape [%d0, 4] : memref<?xf32> into memref<?x4xf32>
  return %e : memref<?x4xf32>
}
