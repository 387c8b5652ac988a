// RUN: quant-opt %s --quantc-lower-row-reductions --cse | FileCheck %s

// A row sum: the accumulator is loaded once, carried through the inner
// loop (reassociable, so LLVM may vectorize it) and stored once.
// CHECK-LABEL: func.func @row_sum(
// CHECK-SAME: %[[X:.+]]: memref<?x?xf32>, %[[Y:.+]]: memref<?xf32>)
// CHECK: scf.for %[[I:.+]] =
// CHECK: %[[INIT:.+]] = memref.load %[[Y]][%[[I]]]
// CHECK: %[[SUM:.+]] = scf.for %[[J:.+]] = {{.+}} iter_args(%[[ACC:.+]] = %[[INIT]]) -> (f32) {
// CHECK: %[[V:.+]] = memref.load %[[X]][%[[I]], %[[J]]]
// CHECK: %[[SQ:.+]] = arith.mulf %[[V]], %[[V]] : f32
// CHECK: %[[NEXT:.+]] = arith.addf %[[SQ]], %[[ACC]] fastmath<reassoc> : f32
// CHECK: scf.yield %[[NEXT]]
// CHECK: memref.store %[[SUM]], %[[Y]][%[[I]]]
// CHECK-NOT: linalg.generic
func.func @row_sum(%x: memref<?x?xf32>, %y: memref<?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(a, b) -> (a, b)>, affine_map<(a, b) -> (a)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x?xf32>) outs(%y : memref<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %sq = arith.mulf %in, %in : f32
    %s = arith.addf %sq, %out : f32
    linalg.yield %s : f32
  }
  return
}

// A maximum keeps its exact combiner; an elementwise op and a reduction
// that is not innermost are left to the generic lowering.
// CHECK-LABEL: func.func @others(
// CHECK: scf.for
// CHECK: arith.maximumf %{{.+}}, %{{.+}} : f32
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]
func.func @others(%x: memref<?x?xf32>, %y: memref<?xf32>, %z: memref<?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(a, b) -> (a, b)>, affine_map<(a, b) -> (a)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x?xf32>) outs(%y : memref<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %out : f32
    linalg.yield %m : f32
  }
  linalg.generic {indexing_maps = [affine_map<(a, b) -> (a, b)>, affine_map<(a, b) -> (b)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<?x?xf32>) outs(%z : memref<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  }
  return
}
