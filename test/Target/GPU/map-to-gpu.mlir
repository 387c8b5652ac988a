// RUN: quant-opt %s -quantc-map-to-gpu=block-size=128 -split-input-file | FileCheck %s

// An elementwise op over a 2-d buffer: one loop over all elements (the last
// index fastest), 128 threads a block, the rest of the last block guarded.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[A:.*]]: memref<?x8xf32>, %[[B:.*]]: memref<?x8xf32>)
// CHECK: %[[N:.*]] = memref.dim %[[A]]
// CHECK: scf.parallel (%[[BLK:.*]]) = {{.*}} step (%[[STEP:.*]]) {
// CHECK:   scf.parallel (%[[T:.*]]) = {{.*}} to (%[[STEP]]) step
// CHECK:     %[[I:.*]] = arith.addi %[[T]], %[[BLK]]
// CHECK:     scf.if
// CHECK:       arith.remsi
// CHECK:       arith.divsi
// CHECK:       memref.load %[[A]]
// CHECK:       math.exp
// CHECK:       memref.store {{.*}}, %[[B]]
// CHECK:   } {mapping = [#gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @main(%a: memref<?x8xf32>, %b: memref<?x8xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<?x8xf32>) outs(%b : memref<?x8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// A copy becomes a kernel; a reduction to a scalar (no parallel loop) runs
// on one device thread; the host keeps no loop.
// CHECK-LABEL: func.func @main
// CHECK-NOT: memref.copy
// CHECK: scf.parallel {{.*}} {
// CHECK:   scf.parallel
// CHECK:     memref.load
// CHECK:     memref.store
// CHECK: scf.parallel {{.*}} {
// CHECK:   scf.parallel
// CHECK:     scf.if
// CHECK:       scf.for
// CHECK:         scf.for
// CHECK:           arith.addf
// CHECK: return
#all = affine_map<(d0, d1) -> (d0, d1)>
#none = affine_map<(d0, d1) -> ()>
func.func @main(%a: memref<4x?xf32>, %b: memref<4x?xf32>, %s: memref<f32>) {
  memref.copy %a, %b : memref<4x?xf32> to memref<4x?xf32>
  linalg.generic {indexing_maps = [#all, #none], iterator_types = ["reduction", "reduction"]}
      ins(%a : memref<4x?xf32>) outs(%s : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %sum = arith.addf %x, %acc : f32
    linalg.yield %sum : f32
  }
  return
}

// -----

// A check on a flag the device computed is deferred to the runtime, which
// reads the flag back with the call's other work.
// CHECK: llvm.func @quantc_check_device(!llvm.ptr, !llvm.ptr)
// CHECK-LABEL: func.func @main
// CHECK-NOT: memref.load
// CHECK: %[[M:.*]] = llvm.mlir.addressof @message
// CHECK: %[[P:.*]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK: %[[I:.*]] = arith.index_cast %[[P]] : index to i64
// CHECK: %[[F:.*]] = llvm.inttoptr %[[I]] : i64 to !llvm.ptr
// CHECK: llvm.call @quantc_check_device(%[[F]], %[[M]])
// CHECK-NOT: scf.if
llvm.mlir.global internal constant @message("id out of range\00") {addr_space = 0 : i32}
llvm.func @quantc_check_failed(!llvm.ptr)
func.func @main(%flag: memref<i1>) {
  %ok = memref.load %flag[] : memref<i1>
  %true = arith.constant true
  %bad = arith.xori %ok, %true : i1
  scf.if %bad {
    %m = llvm.mlir.addressof @message : !llvm.ptr
    llvm.call @quantc_check_failed(%m) : (!llvm.ptr) -> ()
  }
  return
}

// -----

// The KV caches' length stays in host memory (the host sizes views with
// it); a kernel reading it reads a device copy made at the start of the
// call. A scalar the host stores into a buffer is stored by one device
// thread.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[LEN:.*]]: memref<i64> {quantc.kv_length}, %[[OUT:.*]]: memref<4xi64>, %[[S:.*]]: memref<i64>)
// CHECK: %[[V:.*]] = memref.load %[[LEN]][] : memref<i64>
// CHECK: %[[COPY:.*]] = memref.alloc() : memref<i64>
// CHECK: scf.parallel
// CHECK:   scf.parallel
// CHECK:     memref.store %[[V]], %[[COPY]][]
// CHECK: %[[H:.*]] = memref.load %[[LEN]][] : memref<i64>
// CHECK: scf.parallel
// CHECK:   scf.parallel
// CHECK:     memref.store %[[H]], %[[S]][]
// CHECK: scf.parallel
// CHECK:   scf.parallel
// CHECK:     memref.load %[[COPY]][]
// CHECK:     memref.store {{.*}}, %[[OUT]]
// CHECK: memref.dealloc %[[COPY]]
// CHECK-NEXT: return
#scalar = affine_map<(d0) -> ()>
#vec = affine_map<(d0) -> (d0)>
func.func @main(%len: memref<i64> {quantc.kv_length}, %out: memref<4xi64>, %s: memref<i64>) {
  %h = memref.load %len[] : memref<i64>
  memref.store %h, %s[] : memref<i64>
  linalg.generic {indexing_maps = [#scalar, #vec], iterator_types = ["parallel"]}
      ins(%len : memref<i64>) outs(%out : memref<4xi64>) {
  ^bb0(%l: i64, %o: i64):
    linalg.yield %l : i64
  }
  return
}
