// RUN: quant-opt %s -quantc-matmul-to-ukernel | FileCheck %s

#x = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
#y = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#a = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#b = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#c = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
#e = affine_map<(d0, d1) -> (d0, d1)>
#m0 = affine_map<(d0, d1, d2) -> (d0, d2)>
#m1 = affine_map<(d0, d1, d2) -> (d2, d1)>
#m2 = affine_map<(d0, d1, d2) -> (d0, d1)>

// CHECK: func.func private @quantc_matmul_f32(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, i64) attributes {llvm.emit_c_interface}

// A linear layer: all leading dims are rows of one [1, M, K] x [1, K, N].
// CHECK-LABEL: func.func @linear
// CHECK: %[[A:.*]] = memref.collapse_shape %arg0 {{\[\[}}0, 1], [2]] : memref<?x?x8xf32> into memref<?x8xf32>
// CHECK: memref.expand_shape %[[A]] {{\[\[}}0, 1], [2]] {{.*}} into memref<1x?x8xf32>
// CHECK: memref.expand_shape %arg1 {{\[\[}}0, 1], [2]] output_shape [1, 8, 4] : memref<8x4xf32> into memref<1x8x4xf32>
// CHECK: %[[ACCUMULATE:.+]] = arith.constant 0 : i64
// CHECK: call @quantc_matmul_f32({{.*}}, %[[ACCUMULATE]])
// CHECK-NOT: linalg.generic
func.func @linear(%x: memref<?x?x8xf32>, %w: memref<8x4xf32>, %out: memref<?x?x4xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x?x8xf32>, memref<8x4xf32>) outs(%out : memref<?x?x4xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %p = arith.mulf %i, %j : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// Attention-shaped: the leading two dims are the batch.
// CHECK-LABEL: func.func @batched
// CHECK: memref.collapse_shape %arg0 {{\[\[}}0, 1], [2], [3]] : memref<?x4x?x32xf32> into memref<?x?x32xf32>
// CHECK: memref.collapse_shape %arg1 {{\[\[}}0, 1], [2], [3]]
// CHECK: memref.collapse_shape %arg2 {{\[\[}}0, 1], [2], [3]]
// CHECK: call @quantc_matmul_f32
func.func @batched(%q: memref<?x4x?x32xf32>, %k: memref<?x4x32x?xf32>, %s: memref<?x4x?x?xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : memref<?x4x?x32xf32>, memref<?x4x32x?xf32>) outs(%s : memref<?x4x?x?xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %p = arith.mulf %i, %j : f32
    %r = arith.addf %p, %o : f32
    linalg.yield %r : f32
  }
  return
}

// Anything else stays: an elementwise op, an f64 product.
// CHECK-LABEL: func.func @untouched
// CHECK-COUNT-2: linalg.generic
// CHECK-NOT: call
func.func @untouched(%x: memref<4x4xf32>, %w: memref<4x4xf64>, %v: memref<4x4xf64>, %o: memref<4x4x4xf64>) {
  linalg.generic {indexing_maps = [#e, #e], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<4x4xf32>) outs(%x : memref<4x4xf32>) {
  ^bb0(%i: f32, %out: f32):
    %n = arith.negf %i : f32
    linalg.yield %n : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %v : memref<4x4xf64>, memref<4x4xf64>) outs(%w : memref<4x4xf64>) {
  ^bb0(%i: f64, %j: f64, %out: f64):
    %p = arith.mulf %i, %j : f64
    %s = arith.addf %out, %p : f64
    linalg.yield %s : f64
  }
  return
}

// A zero fill right before the product: the kernel overwrites C instead.
// CHECK-LABEL: func.func @zero_filled
// CHECK-NOT: linalg.fill
// CHECK: %[[INIT:.+]] = arith.constant 1 : i64
// CHECK: call @quantc_matmul_f32({{.*}}, %[[INIT]])
func.func @zero_filled(%x: memref<?x8xf32>, %w: memref<8x4xf32>, %out: memref<?x4xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%out : memref<?x4xf32>)
  linalg.generic {indexing_maps = [#m0, #m1, #m2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x8xf32>, memref<8x4xf32>) outs(%out : memref<?x4xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %p = arith.mulf %i, %j : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// A fill of another value, or one the buffer is read after: C accumulates.
// CHECK-LABEL: func.func @kept_fills
// CHECK: linalg.fill ins(%{{.+}} : f32)
// CHECK: call @quantc_matmul_f32({{.*}}, %c0_i64)
// CHECK: linalg.fill
// CHECK: memref.load
// CHECK: call @quantc_matmul_f32({{.*}}, %c0_i64
func.func @kept_fills(%x: memref<?x8xf32>, %w: memref<8x4xf32>, %out: memref<?x4xf32>) -> f32 {
  %one = arith.constant 1.0 : f32
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  linalg.fill ins(%one : f32) outs(%out : memref<?x4xf32>)
  linalg.generic {indexing_maps = [#m0, #m1, #m2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x8xf32>, memref<8x4xf32>) outs(%out : memref<?x4xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %p = arith.mulf %i, %j : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  linalg.fill ins(%zero : f32) outs(%out : memref<?x4xf32>)
  %v = memref.load %out[%c0, %c0] : memref<?x4xf32>
  linalg.generic {indexing_maps = [#m0, #m1, #m2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x8xf32>, memref<8x4xf32>) outs(%out : memref<?x4xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %p = arith.mulf %i, %j : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return %v : f32
}

// Attention's scores against K itself ([.., N, K]: the transpose folded
// into the indexing map): the kernel takes B transposed.
// CHECK-LABEL: func.func @transposed_b
// CHECK: %[[FLAGS:.+]] = arith.constant 2 : i64
// CHECK: call @quantc_matmul_f32({{.*}}, %[[FLAGS]])
func.func @transposed_b(%q: memref<?x4x?x32xf32>, %k: memref<?x4x?x32xf32>, %s: memref<?x4x?x?xf32>) {
  linalg.generic {indexing_maps = [#a, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>, #c],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : memref<?x4x?x32xf32>, memref<?x4x?x32xf32>) outs(%s : memref<?x4x?x?xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %p = arith.mulf %i, %j : f32
    %r = arith.addf %p, %o : f32
    linalg.yield %r : f32
  }
  return
}

// A KV cache read up to its length (a subview keeping the heads whole)
// merges its batch dims although its layout is strided: no copy.
// CHECK-LABEL: func.func @cache_view
// CHECK: %[[V:.+]] = memref.subview %arg1[0, 0, 0, 0] [%arg3, 4, %arg4, 32] [1, 1, 1, 1]
// CHECK: memref.collapse_shape %[[V]] {{\[\[}}0, 1], [2], [3]]
// CHECK: call @quantc_matmul_f32
// CHECK-NOT: linalg.generic
func.func @cache_view(%q: memref<?x4x?x32xf32>, %cache: memref<?x4x?x32xf32>, %out: memref<?x4x?x?xf32>, %b: index, %len: index) {
  %k = memref.subview %cache[0, 0, 0, 0] [%b, 4, %len, 32] [1, 1, 1, 1] : memref<?x4x?x32xf32> to memref<?x4x?x32xf32, strided<[?, ?, 32, 1]>>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : memref<?x4x?x32xf32>, memref<?x4x?x32xf32, strided<[?, ?, 32, 1]>>) outs(%out : memref<?x4x?x?xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %p = arith.mulf %i, %j : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// A subview that slices the heads does not merge with the batch: the
// kernel reads every operand through its own strides, one call per batch
// entry, the heads as the call's batch.
// CHECK-LABEL: func.func @sliced_heads
// CHECK: %[[K:.+]] = memref.subview
// CHECK-DAG: %[[QB:[^,]+]], %[[QOFF:[^,]+]], %[[QSIZES:[^,]+]]:4, %[[QSTRIDES:[^ ]+]]:4 = memref.extract_strided_metadata %arg0
// CHECK-DAG: %[[KB:[^,]+]], %[[KOFF:[^,]+]], %[[KSIZES:[^,]+]]:4, %[[KSTRIDES:[^ ]+]]:4 = memref.extract_strided_metadata %[[K]]
// CHECK-DAG: %[[CB:[^,]+]], %[[COFF:[^,]+]], %[[CSIZES:[^,]+]]:4, %[[CSTRIDES:[^ ]+]]:4 = memref.extract_strided_metadata %arg2
// CHECK: scf.for %[[I:.+]] = %{{.+}} to %[[CSIZES]]#0
// CHECK: %[[KSTEP:.+]] = arith.muli %[[I]], %[[KSTRIDES]]#0
// CHECK: %[[KAT:.+]] = arith.addi %[[KOFF]], %[[KSTEP]]
// CHECK: memref.reinterpret_cast %[[KB]] to offset: [%[[KAT]]], sizes: [%[[KSIZES]]#1, %[[KSIZES]]#2, %[[KSIZES]]#3], strides: [%[[KSTRIDES]]#1, %[[KSTRIDES]]#2, %[[KSTRIDES]]#3]
// CHECK: call @quantc_matmul_f32({{.*}}, %c0_i64)
// CHECK-NOT: linalg.generic
func.func @sliced_heads(%q: memref<?x2x?x32xf32>, %cache: memref<?x4x?x32xf32>, %out: memref<?x2x?x?xf32>, %b: index, %len: index) {
  %k = memref.subview %cache[0, 1, 0, 0] [%b, 2, %len, 32] [1, 1, 1, 1] : memref<?x4x?x32xf32> to memref<?x2x?x32xf32, strided<[?, ?, 32, 1], offset: ?>>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : memref<?x2x?x32xf32>, memref<?x2x?x32xf32, strided<[?, ?, 32, 1], offset: ?>>) outs(%out : memref<?x2x?x?xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %p = arith.mulf %i, %j : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// GPT-2's scores: q and k are heads of one fused projection [b, s, h, hd]
// and of a cache [b, h, t, hd], transposed by the maps alone. The kernel
// takes q as [h, s, hd] with its row stride, k transposed (hd innermost),
// the zero fill as its init flag.
// CHECK-LABEL: func.func @split_heads
// CHECK-NOT: linalg.fill
// CHECK: scf.for
// CHECK: memref.reinterpret_cast %{{.+}} to offset: [%{{.+}}], sizes: [%{{.+}}#2, %{{.+}}#1, %{{.+}}#3], strides: [%{{.+}}#2, %{{.+}}#1, %{{.+}}#3]
// CHECK: %[[FLAGS:.+]] = arith.constant 3 : i64
// CHECK: call @quantc_matmul_f32({{.*}}, %[[FLAGS]])
// CHECK-NOT: linalg.generic
func.func @split_heads(%qkv: memref<?x?x6x64xf32, strided<[?, 1152, 64, 1]>>, %k: memref<?x6x?x64xf32>, %s: memref<?x6x?x?xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%s : memref<?x6x?x?xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d1, d4)>,
                                   affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>, #c],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%qkv, %k : memref<?x?x6x64xf32, strided<[?, 1152, 64, 1]>>, memref<?x6x?x64xf32>) outs(%s : memref<?x6x?x?xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %p = arith.mulf %i, %j : f32
    %r = arith.addf %p, %o : f32
    linalg.yield %r : f32
  }
  return
}

// One K head read by every query head (multi-query attention, the head
// indexed as 0): the heads are rows of A and C only, run around the call.
// CHECK-LABEL: func.func @shared_head
// CHECK: %[[KB:[^,]+]], %[[KOFF:[^,]+]], %{{.+}} = memref.extract_strided_metadata %arg1
// CHECK: %[[CB:[^,]+]], %[[COFF:[^,]+]], %[[CSIZES:[^,]+]]:4, %{{.+}} = memref.extract_strided_metadata %arg2
// CHECK: scf.for %{{.+}} = %{{.+}} to %[[CSIZES]]#1
// CHECK-NOT: scf.for
// CHECK: memref.reinterpret_cast %[[KB]] to offset: [%[[KOFF]]]
// CHECK: call @quantc_matmul_f32
// CHECK-NOT: linalg.generic
func.func @shared_head(%q: memref<?x4x?x32xf32, strided<[?, 32, 128, 1]>>, %k: memref<?x1x?x32xf32>, %s: memref<?x4x?x?xf32>) {
  linalg.generic {indexing_maps = [#a, affine_map<(d0, d1, d2, d3, d4) -> (d0, 0, d3, d4)>, #c],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : memref<?x4x?x32xf32, strided<[?, 32, 128, 1]>>, memref<?x1x?x32xf32>) outs(%s : memref<?x4x?x?xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %p = arith.mulf %i, %j : f32
    %r = arith.addf %p, %o : f32
    linalg.yield %r : f32
  }
  return
}

// A loop that indexes only one operand is no product the kernel takes.
// CHECK-LABEL: func.func @not_a_product
// CHECK-NOT: call
// CHECK: linalg.generic
func.func @not_a_product(%x: memref<?x8xf32>, %w: memref<8x4x3xf32>, %out: memref<?x4xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d2)>, affine_map<(d0, d1, d2, d3) -> (d2, d1, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w : memref<?x8xf32>, memref<8x4x3xf32>) outs(%out : memref<?x4xf32>) {
  ^bb0(%i: f32, %j: f32, %o: f32):
    %p = arith.mulf %i, %j : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}
