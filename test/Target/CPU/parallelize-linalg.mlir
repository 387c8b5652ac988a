// RUN: quant-opt %s --quantc-parallelize-linalg --cse | FileCheck %s

// The leading parallel loops (all but the innermost) become a collapsed
// OpenMP loop whose items are rows; with sizes known only when it runs, the
// threads start only for at least min-iterations points, and smaller spaces
// run the same loop on the calling thread, outside the OpenMP runtime. The
// innermost loop stays whole inside each item.
// CHECK-LABEL: func.func @rows(
// CHECK-SAME: %[[X:.+]]: memref<?x?x?xf32>, %[[Y:.+]]: memref<?x?x?xf32>)
// CHECK: %[[D0:.+]] = memref.dim %[[X]], %c0
// CHECK: %[[D1:.+]] = memref.dim %[[X]], %c1
// CHECK: %[[D2:.+]] = memref.dim %[[X]], %c2
// CHECK: %[[P0:.+]] = arith.muli %c1, %[[D0]]
// CHECK: %[[P1:.+]] = arith.muli %[[P0]], %[[D1]]
// CHECK: %[[POINTS:.+]] = arith.muli %[[P1]], %[[D2]]
// CHECK: %[[BIG:.+]] = arith.cmpi sge, %[[POINTS]], %c32768
// CHECK: scf.if %[[BIG]] {
// CHECK-NEXT: omp.parallel {
// CHECK: omp.wsloop schedule(guided) {
// CHECK: omp.loop_nest (%[[I:.+]], %[[J:.+]]) : index = (%c0, %c0) to (%[[D0]], %[[D1]]) step (%c1, %c1) collapse(2) {
// CHECK: memref.subview %[[X]][%[[I]], %[[J]], 0] [1, 1, %[[D2]]]
// CHECK: linalg.generic
// CHECK: omp.yield
// CHECK: } else {
// CHECK-NEXT: scf.parallel (%[[I2:.+]], %[[J2:.+]]) = (%c0, %c0) to (%[[D0]], %[[D1]]) step (%c1, %c1) {
// CHECK-NOT: omp.
// CHECK: memref.subview %[[X]][%[[I2]], %[[J2]], 0] [1, 1, %[[D2]]]
// CHECK: linalg.generic
// CHECK: scf.reduce
func.func @rows(%x: memref<?x?x?xf32>, %y: memref<?x?x?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> (a, b, c)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : memref<?x?x?xf32>) outs(%y : memref<?x?x?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  }
  return
}

// A reduction over the last loop: the rows before it are the items.
// CHECK-LABEL: func.func @row_max(
// CHECK: omp.loop_nest (%{{.+}}) : index = (%c0) to (%{{.+}}) step (%c1) {
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
func.func @row_max(%x: memref<?x?xf32>, %y: memref<?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(a, b) -> (a, b)>, affine_map<(a, b) -> (a)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x?xf32>) outs(%y : memref<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %out : f32
    linalg.yield %m : f32
  }
  return
}

// One loop, or a reduction first: nothing to distribute.
// CHECK-LABEL: func.func @vector(
// CHECK-NOT: omp.
// CHECK: return
func.func @vector(%x: memref<?xf32>, %y: memref<?xf32>) {
  linalg.copy ins(%x : memref<?xf32>) outs(%y : memref<?xf32>)
  return
}

// Sizes known when compiling decide there: 64 x 1024 points get threads
// without a test, 4 x 384 (a decode step's row) stays on this thread.
// CHECK-LABEL: func.func @static_large(
// CHECK-NOT: scf.if
// CHECK: omp.parallel {
// CHECK: omp.loop_nest (%{{.+}}) : index = (%c0) to (%c64) step (%c1) {
func.func @static_large(%x: memref<64x1024xf32>, %y: memref<64x1024xf32>) {
  linalg.copy ins(%x : memref<64x1024xf32>) outs(%y : memref<64x1024xf32>)
  return
}

// CHECK-LABEL: func.func @static_small(
// CHECK-NOT: omp.
// CHECK-NOT: scf.
// CHECK: linalg.copy
// CHECK-NEXT: return
func.func @static_small(%x: memref<4x384xf32>, %y: memref<4x384xf32>) {
  linalg.copy ins(%x : memref<4x384xf32>) outs(%y : memref<4x384xf32>)
  return
}

// An scf.forall (attention by batch and head, from quantc-fuse-attention)
// runs on the threads when the largest buffer it uses from outside has at
// least min-iterations elements, else on this thread; the ops inside stay
// serial (each is a thread's work item already).
// CHECK-LABEL: func.func @forall(
// CHECK-SAME: %[[X:.+]]: memref<?x6x?xf32>, %[[S:.+]]: memref<?xf32>, %[[Y:.+]]: memref<?x6x?xf32>)
// CHECK: %[[X0:.+]] = memref.dim %[[X]], %c0
// CHECK: arith.maxui %c0, %{{.+}}
// CHECK: memref.dim %[[Y]], %c0
// CHECK: arith.maxui
// CHECK: memref.dim %[[S]], %c0
// CHECK: %[[MOST:.+]] = arith.maxui
// CHECK: %[[BIG:.+]] = arith.cmpi sge, %[[MOST]], %c32768
// CHECK: scf.if %[[BIG]] {
// CHECK-NEXT: omp.parallel {
// CHECK: omp.wsloop schedule(guided) {
// CHECK: omp.loop_nest (%[[B:.+]], %[[H:.+]]) : index = (%c0, %c0) to (%[[X0]], %c6) step (%c1, %c1) collapse(2) {
// CHECK-NOT: omp.
// CHECK: memref.subview %[[X]][%[[B]], %[[H]], 0]
// CHECK: linalg.generic
// CHECK: omp.yield
// CHECK: } else {
// CHECK-NEXT: scf.parallel
// CHECK-NOT: omp.
// CHECK: linalg.generic
// CHECK: scf.reduce
func.func @forall(%x: memref<?x6x?xf32>, %s: memref<?xf32>, %y: memref<?x6x?xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %b = memref.dim %x, %c0 : memref<?x6x?xf32>
  %n = memref.dim %x, %c2 : memref<?x6x?xf32>
  scf.forall (%i, %h) in (%b, 6) {
    %xs = memref.subview %x[%i, %h, 0] [1, 1, %n] [1, 1, 1] : memref<?x6x?xf32> to memref<1x1x?xf32, strided<[?, ?, 1], offset: ?>>
    %ys = memref.subview %y[%i, %h, 0] [1, 1, %n] [1, 1, 1] : memref<?x6x?xf32> to memref<1x1x?xf32, strided<[?, ?, 1], offset: ?>>
    linalg.generic {indexing_maps = [affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> (c)>, affine_map<(a, b, c) -> (a, b, c)>],
                    iterator_types = ["parallel", "parallel", "parallel"]}
        ins(%xs, %s : memref<1x1x?xf32, strided<[?, ?, 1], offset: ?>>, memref<?xf32>) outs(%ys : memref<1x1x?xf32, strided<[?, ?, 1], offset: ?>>) {
    ^bb0(%in: f32, %sc: f32, %out: f32):
      %m = arith.mulf %in, %sc : f32
      linalg.yield %m : f32
    }
  }
  return
}
