// RUN: quant-opt %s -quantc-externalize-weights | FileCheck %s
// RUN: quant-opt %s -quantc-externalize-weights=min-bytes=1 | FileCheck %s --check-prefix=ALL

// Constants of 64 bytes and more move to the blob at 64-byte aligned
// offsets, read through memref.view of main's new last argument; smaller
// ones stay in the code.
// Each piece says what it is for the manifest's weights table: plain
// constants are `dense`, `row_major`; a piece the lowering of a quantized
// weight recorded in `quantc.packed_pieces` keeps its format, layout and
// part (the record itself is consumed).
// CHECK: module attributes {quantc.weights = [{bytes = 128 : i64, dtype = "f32", format = "dense", layout = "row_major", name = "w1", offset = 0 : i64, shape = [4, 8], value = dense<1.000000e+00> : tensor<4x8xf32>}, {bytes = 80 : i64, dtype = "f32", format = "dense", layout = "row_major", name = "w2", offset = 128 : i64, shape = [5, 4], value = dense<2.000000e+00> : tensor<5x4xf32>}, {bytes = 64 : i64, dtype = "i8", format = "#qc.format<int4, per_channel>", layout = "tiles<16x64>", name = "codes", offset = 256 : i64, part = "codes", shape = [64], value = dense<7> : tensor<64xi8>}], quantc.weights_bytes = 320 : i64}
// CHECK-NOT: quantc.packed_pieces
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
module attributes {quantc.packed_pieces = [{format = "#qc.format<int4, per_channel>", layout = "tiles<16x64>", part = "codes", value = dense<7> : tensor<64xi8>}]} {
memref.global "private" constant @w1 : memref<4x8xf32> = dense<1.0>
memref.global "private" constant @w2 : memref<5x4xf32> = dense<2.0>
memref.global "private" constant @small : memref<2xf32> = dense<3.0>
memref.global "private" constant @codes : memref<64xi8> = dense<7>
func.func @main(%x: memref<4xf32>) -> (memref<4x8xf32>, memref<5x4xf32>, memref<2xf32>, memref<64xi8>) {
  %a = memref.get_global @w1 : memref<4x8xf32>
  %b = memref.get_global @w2 : memref<5x4xf32>
  %c = memref.get_global @small : memref<2xf32>
  %d = memref.get_global @codes : memref<64xi8>
  return %a, %b, %c, %d : memref<4x8xf32>, memref<5x4xf32>, memref<2xf32>, memref<64xi8>
}
}
