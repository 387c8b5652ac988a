// RUN: quant-opt %s --split-input-file --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --quantc-lower-ukernels --verify-diagnostics | FileCheck %s

// qc.ukernel bufferizes like a linalg op (its outs tensor becomes the
// buffer it writes, the result that buffer), then becomes a call
// fn(ins..., outs..., scalars...): x and y as [rows, K] and [rows, N]
// views, every buffer with dynamic sizes and a dynamic strided layout, the
// kernel declared once with the C interface.
// CHECK: func.func private @kern(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?xi8, strided<[?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i64) attributes {llvm.emit_c_interface}
// CHECK-NOT: func.func private @kern
// CHECK-LABEL: func.func @rows(
// CHECK-SAME: %[[XA:.+]]: memref<?x?x8xf32>
// CHECK: %[[Y:.+]] = memref.alloc(%{{.+}}, %{{.+}}) {alignment = 64 : i64} : memref<?x?x4xf32>
// CHECK: %[[X:.+]] = memref.collapse_shape %[[XA]] {{\[\[}}0, 1], [2]] : memref<?x?x8xf32> into memref<?x8xf32>
// CHECK: %[[XV:.+]] = memref.cast %[[X]] : memref<?x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK: %[[B:.+]] = memref.cast %{{.+}} : memref<16xi8> to memref<?xi8, strided<[?], offset: ?>>
// CHECK: %[[YC:.+]] = memref.collapse_shape %[[Y]] {{\[\[}}0, 1], [2]]
// CHECK: %[[YV:.+]] = memref.cast %[[YC]]
// CHECK: call @kern(%[[XV]], %[[B]], %[[YV]], %c7_i64)
// CHECK-NOT: qc.ukernel
// CHECK: return %[[Y]]
// CHECK-LABEL: func.func @twice(
// CHECK-COUNT-2: call @kern(
func.func @rows(%x: tensor<?x?x8xf32>) -> tensor<?x?x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %d0 = tensor.dim %x, %c0 : tensor<?x?x8xf32>
  %d1 = tensor.dim %x, %c1 : tensor<?x?x8xf32>
  %b = arith.constant dense<1> : tensor<16xi8>
  %k = arith.constant 7 : i64
  %e = tensor.empty(%d0, %d1) : tensor<?x?x4xf32>
  %y = qc.ukernel "kern" ins(%x, %b : tensor<?x?x8xf32>, tensor<16xi8>) outs(%e : tensor<?x?x4xf32>) scalars(%k : i64) -> tensor<?x?x4xf32>
  return %y : tensor<?x?x4xf32>
}
func.func @twice(%x: tensor<3x8xf32>) -> tensor<3x4xf32> {
  %b = arith.constant dense<2> : tensor<16xi8>
  %k = arith.constant 7 : i64
  %e = tensor.empty() : tensor<3x4xf32>
  %y = qc.ukernel "kern" ins(%x, %b : tensor<3x8xf32>, tensor<16xi8>) outs(%e : tensor<3x4xf32>) scalars(%k : i64) -> tensor<3x4xf32>
  %z = qc.ukernel "kern" ins(%y, %b : tensor<3x4xf32>, tensor<16xi8>) outs(%e : tensor<3x4xf32>) scalars(%k : i64) -> tensor<3x4xf32>
  return %z : tensor<3x4xf32>
}

// -----

// Rows that cannot be merged (3 of 6 rows of each batch) go through a
// dense copy; an output's copy is written back after the call.
// CHECK-LABEL: func.func @strided(
// CHECK: %[[D:.+]] = memref.alloc() {alignment = 64 : i64} : memref<2x3x8xf32>
// CHECK: memref.copy %{{.+}}, %[[D]]
// CHECK: memref.collapse_shape %[[D]]
// CHECK: %[[O:.+]] = memref.alloc() {alignment = 64 : i64} : memref<2x3x4xf32>
// CHECK: memref.copy %{{.+}}, %[[O]]
// CHECK: call @kern2(
// CHECK: memref.copy %[[O]], %{{.+}}
func.func @strided(%x: memref<2x6x8xf32>, %y: memref<2x6x4xf32>) {
  %xs = memref.subview %x[0, 0, 0] [2, 3, 8] [1, 1, 1] : memref<2x6x8xf32> to memref<2x3x8xf32, strided<[48, 8, 1]>>
  %ys = memref.subview %y[0, 0, 0] [2, 3, 4] [1, 1, 1] : memref<2x6x4xf32> to memref<2x3x4xf32, strided<[24, 4, 1]>>
  qc.ukernel "kern2" ins(%xs : memref<2x3x8xf32, strided<[48, 8, 1]>>) outs(%ys : memref<2x3x4xf32, strided<[24, 4, 1]>>)
  return
}

// -----

func.func private @kern3(i64)
func.func @mismatch(%y: memref<4xf32>) {
  // expected-error @+1 {{'qc.ukernel' op passes '(memref<?xf32, strided<[?], offset: ?>>) -> ()' to 'kern3', which takes '(i64) -> ()'}}
  qc.ukernel "kern3" outs(%y : memref<4xf32>)
  return
}

// -----

// Left on tensors (no bufferization before): an error, not a silent copy.
// RUN: not quant-opt %s --split-input-file --quantc-lower-ukernels 2>&1 | FileCheck %s --check-prefix=TENSORS
// TENSORS: error: 'qc.ukernel' op is still on tensors; run it after bufferization
func.func @on_tensors(%e: tensor<4xf32>) -> tensor<4xf32> {
  %y = qc.ukernel "kern4" outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}
