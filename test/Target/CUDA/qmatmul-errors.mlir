// RUN: quant-opt %s --split-input-file --quantc-cuda-qmatmul -verify-diagnostics
// Tile counts the tensor-core kernel has no registers for are refused:
// RUN: not quant-opt %s --split-input-file --quantc-cuda-qmatmul=row-tiles=-1 2>&1 | FileCheck %s --check-prefix=TILES
// RUN: not quant-opt %s --split-input-file --quantc-cuda-qmatmul=channel-tiles=9 2>&1 | FileCheck %s --check-prefix=TILES9
// TILES: quantc-cuda-qmatmul: row-tiles must be 0-4 and channel-tiles 0-8 (registers; 0: chosen by the codes' bits and the rows), got -1 and 8
// TILES9: got 1 and 9
// Blocks whose rows of x would not fit shared memory, or warps that do not
// divide the block's 4:
// RUN: not quant-opt %s --split-input-file --quantc-cuda-qmatmul="row-tiles=4 row-warps=2" 2>&1 | FileCheck %s --check-prefix=WARPS
// RUN: not quant-opt %s --split-input-file --quantc-cuda-qmatmul=row-warps=3 2>&1 | FileCheck %s --check-prefix=WARPS3
// WARPS: quantc-cuda-qmatmul: row-warps must be 1, 2 or 4, with row-tiles x row-warps at most 4 (64 rows of x in shared memory), got 2 and 4
// WARPS3: got 3 and 1

// Formats the GPU kernel does not take never reach it
// (quantc-quantized-linear-to-ukernel{gpu} leaves them to qc-to-linalg); a
// call that names one anyway is refused, not miscomputed. NF4 (table, 32).
func.func @table(%x: memref<1x64xf32>, %codes: memref<256xi8>, %s: memref<32xi8>, %y: memref<1x8xf32>) {
  %k = arith.constant 64 : i64
  %n = arith.constant 8 : i64
  %bits = arith.constant 4 : i64
  %g = arith.constant 0 : i64
  %block = arith.constant 0 : i64
  %flags = arith.constant 41 : i64
  // expected-error @+1 {{the GPU kernel takes 2-, 4- or 8-bit integer codes with scales as they are (flags 41, 4 bits)}}
  qc.ukernel "quantc_qmatmul_f32" ins(%x, %codes, %s, %s, %s, %s : memref<1x64xf32>, memref<256xi8>, memref<32xi8>, memref<32xi8>, memref<32xi8>, memref<32xi8>) outs(%y : memref<1x8xf32>) scalars(%k, %n, %bits, %g, %block, %flags : i64, i64, i64, i64, i64, i64)
  return
}

// -----

// 3-bit codes straddle bytes.
func.func @three_bits(%x: memref<1x64xf32>, %codes: memref<256xi8>, %s: memref<32xi8>, %y: memref<1x8xf32>) {
  %k = arith.constant 64 : i64
  %n = arith.constant 8 : i64
  %bits = arith.constant 3 : i64
  %g = arith.constant 0 : i64
  %block = arith.constant 0 : i64
  %flags = arith.constant 9 : i64
  // expected-error @+1 {{(flags 9, 3 bits)}}
  qc.ukernel "quantc_qmatmul_f32" ins(%x, %codes, %s, %s, %s, %s : memref<1x64xf32>, memref<256xi8>, memref<32xi8>, memref<32xi8>, memref<32xi8>, memref<32xi8>) outs(%y : memref<1x8xf32>) scalars(%k, %n, %bits, %g, %block, %flags : i64, i64, i64, i64, i64, i64)
  return
}

// -----

// A group of 3 int4 codes ends inside a byte.
func.func @odd_group(%x: memref<1x64xf32>, %codes: memref<256xi8>, %s: memref<32xi8>, %y: memref<1x8xf32>) {
  %k = arith.constant 64 : i64
  %n = arith.constant 8 : i64
  %bits = arith.constant 4 : i64
  %g = arith.constant 3 : i64
  %block = arith.constant 0 : i64
  %flags = arith.constant 9 : i64
  // expected-error @+1 {{a group of 3 splits a byte of 4-bit codes}}
  qc.ukernel "quantc_qmatmul_f32" ins(%x, %codes, %s, %s, %s, %s : memref<1x64xf32>, memref<256xi8>, memref<32xi8>, memref<32xi8>, memref<32xi8>, memref<32xi8>) outs(%y : memref<1x8xf32>) scalars(%k, %n, %bits, %g, %block, %flags : i64, i64, i64, i64, i64, i64)
  return
}

// -----

func.func @dynamic_sizes(%x: memref<1x64xf32>, %codes: memref<256xi8>, %s: memref<32xi8>, %y: memref<1x8xf32>, %k: i64) {
  %n = arith.constant 8 : i64
  %bits = arith.constant 4 : i64
  %g = arith.constant 0 : i64
  %block = arith.constant 0 : i64
  %flags = arith.constant 9 : i64
  // expected-error @+1 {{the kernel's sizes and format must be constants}}
  qc.ukernel "quantc_qmatmul_f32" ins(%x, %codes, %s, %s, %s, %s : memref<1x64xf32>, memref<256xi8>, memref<32xi8>, memref<32xi8>, memref<32xi8>, memref<32xi8>) outs(%y : memref<1x8xf32>) scalars(%k, %n, %bits, %g, %block, %flags : i64, i64, i64, i64, i64, i64)
  return
}

// -----

func.func @dynamic_pieces(%x: memref<1x64xf32>, %codes: memref<?xi8>, %s: memref<32xi8>, %y: memref<1x8xf32>) {
  %k = arith.constant 64 : i64
  %n = arith.constant 8 : i64
  %bits = arith.constant 4 : i64
  %g = arith.constant 0 : i64
  %block = arith.constant 0 : i64
  %flags = arith.constant 9 : i64
  // expected-error @+1 {{expected the weight's pieces as static 1-D byte buffers}}
  qc.ukernel "quantc_qmatmul_f32" ins(%x, %codes, %s, %s, %s, %s : memref<1x64xf32>, memref<?xi8>, memref<32xi8>, memref<32xi8>, memref<32xi8>, memref<32xi8>) outs(%y : memref<1x8xf32>) scalars(%k, %n, %bits, %g, %block, %flags : i64, i64, i64, i64, i64, i64)
  return
}

// -----

func.func @on_tensors(%x: tensor<1x64xf32>, %codes: tensor<256xi8>, %s: tensor<32xi8>, %y: tensor<1x8xf32>) -> tensor<1x8xf32> {
  %k = arith.constant 64 : i64
  %n = arith.constant 8 : i64
  %bits = arith.constant 4 : i64
  %g = arith.constant 0 : i64
  %block = arith.constant 0 : i64
  %flags = arith.constant 9 : i64
  // expected-error @+1 {{expected the bufferized form of the kernel call (6 buffers in, 1 out, 6 scalars)}}
  %r = qc.ukernel "quantc_qmatmul_f32" ins(%x, %codes, %s, %s, %s, %s : tensor<1x64xf32>, tensor<256xi8>, tensor<32xi8>, tensor<32xi8>, tensor<32xi8>, tensor<32xi8>) outs(%y : tensor<1x8xf32>) scalars(%k, %n, %bits, %g, %block, %flags : i64, i64, i64, i64, i64, i64) -> tensor<1x8xf32>
  return %r : tensor<1x8xf32>
}
