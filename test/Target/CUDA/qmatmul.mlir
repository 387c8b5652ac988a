// RUN: quant-opt %s --split-input-file --quantc-cuda-qmatmul=channel-tiles=2 | FileCheck %s
// Four row tiles: two stages of 64 rows of x (f16) in workgroup memory
// (2 x 64 rows x 160 halves).
// RUN: quant-opt %s --split-input-file --quantc-cuda-qmatmul=row-tiles=4 | FileCheck %s --check-prefix=TILES4
// TILES4-LABEL: func.func @tensor_cores(
// TILES4: workgroup(%{{.+}} : memref<20480xf16, #gpu.address_space<workgroup>>)
// Warps 2 x 2: a block of 32 rows (2 x 16) and 2 x 64 channels; a warp's
// column and row in the block from its y thread id.
// RUN: quant-opt %s --split-input-file --quantc-cuda-qmatmul=row-warps=2 | FileCheck %s --check-prefix=WARPS2
// WARPS2-LABEL: func.func @tensor_cores(
// WARPS2: arith.ceildivui %{{.+}}, %c32
// WARPS2: workgroup(%{{.+}} : memref<10240xf16, #gpu.address_space<workgroup>>)
// WARPS2: %[[ROW:.+]] = arith.divui %arg8, %c2
// WARPS2: %[[COLUMN:.+]] = arith.remui %arg8, %c2
// WARPS2: arith.muli %{{.+}}, %c2
// WARPS2: arith.addi %{{.+}}, %[[COLUMN]]
// WARPS2: arith.muli %[[ROW]], %c16
// Tiles 0: chosen by the codes' bits and the rows (a row count known only
// at run time: both kernels, chosen then). 4-bit codes: 2 x 4
// tiles from 64 rows (blocks of 32 rows: 2 x 32 x 160 halves), 1 x 4 below
// (16 rows).
// RUN: quant-opt %s --split-input-file --quantc-cuda-qmatmul="row-tiles=0 channel-tiles=0" | FileCheck %s --check-prefix=AUTO
// AUTO-LABEL: func.func @tensor_cores(
// AUTO: %[[ROWS:.+]] = memref.dim %arg0, %c0
// AUTO: arith.cmpi uge, %[[ROWS]], %c9
// AUTO: %[[MANY:.+]] = arith.cmpi uge, %[[ROWS]], %c64
// AUTO: scf.if %[[MANY]] {
// AUTO: arith.ceildivui %[[ROWS]], %c32
// AUTO: workgroup(%{{.+}} : memref<10240xf16, #gpu.address_space<workgroup>>)
// AUTO: scf.for {{.*}} -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<4xi32>
// AUTO: } else {
// AUTO: arith.ceildivui %[[ROWS]], %c16
// AUTO: workgroup(%{{.+}} : memref<5120xf16, #gpu.address_space<workgroup>>)
// AUTO: scf.for {{.*}} -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<4xi32>
// AUTO: } else {
// AUTO: gpu.launch
// 8-bit codes: 2 x 2 tiles from 32 rows (2 x 32 x 96 halves), 1 x 8 below.
// AUTO-LABEL: func.func @tensor_cores_int8(
// AUTO: %[[ROWS8:.+]] = memref.dim %arg0, %c0
// AUTO: %[[MANY8:.+]] = arith.cmpi uge, %[[ROWS8]], %c32
// AUTO: scf.if %[[MANY8]] {
// AUTO: arith.ceildivui %[[ROWS8]], %c32
// AUTO: workgroup(%{{.+}} : memref<6144xf16, #gpu.address_space<workgroup>>)
// AUTO: scf.for {{.*}} -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<4xi32>
// AUTO: } else {
// AUTO: arith.ceildivui %[[ROWS8]], %c16
// AUTO: workgroup(%{{.+}} : memref<3072xf16, #gpu.address_space<workgroup>>)
// AUTO: scf.for {{.*}} -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<4xi32>
// AUTO: } else {
// A row count known at compile time takes one kernel: 100 rows, 2 x 4.
// AUTO-LABEL: func.func @tensor_cores_static_rows(
// AUTO-NOT: %c64
// AUTO: arith.ceildivui %c100{{.*}}, %c32
// AUTO: workgroup(%{{.+}} : memref<10240xf16, #gpu.address_space<workgroup>>)
// AUTO-NOT: arith.ceildivui %c100{{.*}}, %c16
// AUTO-LABEL: func.func @tensor_cores_groups_of_32

// int4 symmetric g128, K = 256, N = 20, rows known only at run time: one
// launch for a single row (decoding a token), one for more; none for zero
// rows. Rows of 128 bytes are read as 4-byte words (8 codes each), by the
// one-row kernel in units of 4 words (16 bytes); f16 scales are viewed as
// f16.
// CHECK-LABEL: func.func @int4
// CHECK-DAG: %[[WORDS:.+]] = memref.view %arg1[%{{.+}}][] : memref<2560xi8> to memref<640xi32>
// CHECK-DAG: %[[SCALES:.+]] = memref.view %arg2[%{{.+}}][] : memref<80xi8> to memref<40xf16>
// CHECK: memref.dim %arg0, %{{.+}} : memref<?x?x256xf32>
// CHECK: memref.dim %arg0, %{{.+}} : memref<?x?x256xf32>
// CHECK: %[[ROWS:.+]] = arith.muli
// CHECK: %[[ONE:.+]] = arith.cmpi eq, %[[ROWS]], %c1
// CHECK: %[[SOME:.+]] = arith.cmpi ugt, %[[ROWS]], %c1
// CHECK: scf.if %[[ONE]] {
// One row: 20 channels, 8 a block, whose 4 warps split K: 3 blocks of 32 x
// 4 threads, the warps' sums meeting in workgroup memory (4 x 8 floats).
// Where x is 16-byte aligned (checked at run time), 4-bit codes are
// multiplied in f16 pairs: the scale times 16, x times 1/16 and rounded to
// f16 in pairs (codes j and j + 4 of a word share one mask); one shift by 8
// a word; codes at bit 0 of a byte masked (0x000F000F), their sign bits
// flipped and the half 1024 set in one XOR (0x64086408): 1024 + 8 + q,
// minus 1024 + 8; codes at bit 4 (0x00F000F0, XOR 0x64806480): 1024 +
// 16(8 + q), times 1/16 minus 64 + 8 in one fma. The word's 4 pairs times
// x's pairs in one f16x2 chain, widened to f32, the unit's sum scaled.
// CHECK: scf.if %{{.+}} {
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c3{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) threads({{.*}}) in ({{.*}} = %c32{{.*}}, {{.*}} = %c4{{.*}}, {{.*}} = %c1{{.*}}) workgroup(%{{.+}} : memref<32xf32, #gpu.address_space<workgroup>>)
// CHECK: scf.for %{{.+}} = %{{.+}} to %c8{{.*}} step %c128
// CHECK: vector.load %[[WORDS]][%{{.+}}] {alignment = 16 : i64} : memref<640xi32>, vector<4xi32>
// CHECK: memref.load %[[SCALES]]
// CHECK: arith.extf
// CHECK: arith.mulf %{{.+}}, %cst{{.*}} : f32
// CHECK: vector.load %arg0[%{{.+}}, %{{.+}}, %{{.+}}] {alignment = 16 : i64} : memref<?x?x256xf32>, vector<4xf32>
// CHECK: arith.truncf %{{.+}} : vector<2xf32> to vector<2xf16>
// CHECK: arith.shrui %[[W:.+]], %c8_i32
// CHECK: %[[M0:.+]] = arith.andi %[[W]], %c983055_i32
// CHECK: arith.xori %[[M0]], %c1678271496_i32
// CHECK: arith.subf %{{.+}} : vector<2xf16>
// CHECK: %[[M1:.+]] = arith.andi %[[W]], %c15728880_i32
// CHECK: arith.xori %[[M1]], %c1686135936_i32
// CHECK: llvm.intr.fma
// CHECK: arith.mulf %{{.+}} : vector<2xf16>
// CHECK-COUNT-3: llvm.intr.fma
// CHECK: arith.extf %{{.+}} : vector<2xf16> to vector<2xf32>
// CHECK-NOT: arith.sitofp
// CHECK: math.fma %{{.+}} : f32
// CHECK: gpu.terminator
// x not aligned: f32 arithmetic, x read a value at a time.
// CHECK: } else {
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c3{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) threads({{.*}}) in ({{.*}} = %c32{{.*}}, {{.*}} = %c4{{.*}}, {{.*}} = %c1{{.*}}) workgroup(%[[PARTIAL:.+]] : memref<32xf32, #gpu.address_space<workgroup>>)
// 8 units a row, 128 lanes a row: no whole trip, the tail loop alone.
// CHECK: scf.for %{{.+}} = %{{.+}} to %c8{{.*}} step %c128
// CHECK: vector.load %[[WORDS]][%{{.+}}] {alignment = 16 : i64} : memref<640xi32>, vector<4xi32>
// CHECK: memref.load %[[SCALES]]
// CHECK: arith.extf
// x values of codes 1-3 of a 16-bit half are scaled by 2^-4, 2^-8, 2^-12.
// CHECK: arith.mulf %{{.+}}, %cst{{.*}} : f32
// Signs flipped (0x88888888), the upper half shifted down; code 1 masked in
// place (0xF0), ORed with the exponent of 2^23 (0x4B000000): 2^23 + 16u,
// minus 2^23 + 8 * 16 (the offset at bit 4) is 16 x the signed code. No
// int-to-float conversion.
// CHECK: %[[FLIP:.+]] = arith.xori %{{.+}}, %c-2004318072_i32
// CHECK: arith.shrui %[[FLIP]], %c16_i32
// CHECK: arith.andi %[[FLIP]], %c15_i32
// CHECK: %[[M1:.+]] = arith.andi %[[FLIP]], %c240_i32
// CHECK: %[[B1:.+]] = arith.ori %[[M1]], %c1258291200_i32
// CHECK: %[[F1:.+]] = arith.bitcast %[[B1]] : i32 to f32
// CHECK: arith.subf %[[F1]], %cst{{.*}} : f32
// CHECK-NOT: arith.sitofp
// CHECK: math.fma
// CHECK: gpu.shuffle  xor %{{.+}}, %c16_i32, %c32_i32
// CHECK: gpu.shuffle  xor %{{.+}}, %c1_i32, %c32_i32
// CHECK: memref.store %{{.+}}, %[[PARTIAL]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[PARTIAL]]
// CHECK: memref.store
// CHECK: gpu.terminator
// CHECK: } else {
// CHECK: scf.if %[[SOME]] {
// Several rows: 8 a block, 16 channels a block (4 warps of 4): blocks of
// rows and of channels both along x (y would cap the rows at 65535 x 8).
// CHECK: %[[BLOCKS:.+]] = arith.ceildivui %[[ROWS]], %c8
// CHECK: %[[GX:.+]] = arith.muli %c2{{.*}}, %[[BLOCKS]]
// CHECK: gpu.launch blocks(%[[BX:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %[[GX]], %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}})
// CHECK-NOT: workgroup
// CHECK: %[[RB:.+]] = arith.divui %[[BX]], %c2
// CHECK: arith.muli %[[RB]], %c8
// CHECK: arith.remui %[[BX]], %c2
// CHECK-NOT: qc.ukernel
func.func @int4(%x: memref<?x?x256xf32>, %codes: memref<2560xi8>, %scales: memref<80xi8>,
                %y: memref<?x?x20xf32>) {
  %k = arith.constant 256 : i64
  %n = arith.constant 20 : i64
  %bits = arith.constant 4 : i64
  %g = arith.constant 128 : i64
  %block = arith.constant 0 : i64
  // symmetric (1) | f16 scales (2) | init (8)
  %flags = arith.constant 11 : i64
  qc.ukernel "quantc_qmatmul_f32" ins(%x, %codes, %scales, %scales, %scales, %scales : memref<?x?x256xf32>, memref<2560xi8>, memref<80xi8>, memref<80xi8>, memref<80xi8>, memref<80xi8>) outs(%y : memref<?x?x20xf32>) scalars(%k, %n, %bits, %g, %block, %flags : i64, i64, i64, i64, i64, i64)
  return
}

// -----

// int8 affine per channel, K = 2048 (128 units of 16 bytes a row: one trip
// of the 128 lanes), one static row: the one-row kernel only.
// x is read 4 values at a time where its address is a multiple of 16
// (checked on the host: x's pointer plus offset), else one value at a time.
// Zero points are bytes read unsigned; codes too (masked, not
// sign-extended); the zero point applies once per unit to the sum of its x
// values.
// CHECK-LABEL: func.func @int8_affine
// CHECK: memref.extract_strided_metadata %arg0
// CHECK: memref.extract_aligned_pointer_as_index %arg0
// CHECK: arith.andi %{{.+}}, %c15
// CHECK: %[[AL:.+]] = arith.cmpi eq
// CHECK-NEXT: scf.if %[[AL]] {
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}})
// The first trip's units are loaded before the loop, each trip loads the
// next one's before decoding.
// CHECK: vector.load %{{.+}} : memref<4096xi32>, vector<4xi32>
// CHECK: memref.load %arg3
// CHECK: arith.extui
// CHECK: arith.uitofp
// CHECK: arith.negf
// CHECK: scf.for
// CHECK: vector.load %{{.+}} : memref<4096xi32>, vector<4xi32>
// CHECK: memref.load %arg3
// CHECK: vector.load %arg0[%{{.+}}, %{{.+}}] {alignment = 16 : i64} : memref<1x2048xf32>, vector<4xf32>
// CHECK-NOT: arith.xori
// CHECK: arith.andi %{{.+}}, %c255_i32
// CHECK: arith.ori %{{.+}}, %c1258291200_i32
// CHECK: arith.andi %{{.+}}, %c65280_i32
// A word's 4 products are one chain; the unit's 4 chains are added, then
// the zero point times the unit's sum of x, then the scale.
// CHECK-COUNT-3: math.fma
// CHECK: arith.addf
// CHECK: arith.addf
// CHECK: arith.addf
// CHECK: math.fma %{{.+}}, %{{.+}}, %{{.+}} : f32
// CHECK: math.fma %{{.+}}, %{{.+}}, %{{.+}} : f32
// CHECK: } else {
// CHECK: gpu.launch
// CHECK-NOT: vector.load %arg0
// CHECK: memref.load %arg0[%{{.+}}, %{{.+}}] : memref<1x2048xf32>
func.func @int8_affine(%x: memref<1x2048xf32>, %codes: memref<16384xi8>, %scales: memref<32xi8>,
                       %zeros: memref<8xi8>, %y: memref<1x8xf32>) {
  %k = arith.constant 2048 : i64
  %n = arith.constant 8 : i64
  %bits = arith.constant 8 : i64
  %g = arith.constant 0 : i64
  %block = arith.constant 0 : i64
  %flags = arith.constant 8 : i64
  qc.ukernel "quantc_qmatmul_f32" ins(%x, %codes, %scales, %zeros, %scales, %scales : memref<1x2048xf32>, memref<16384xi8>, memref<32xi8>, memref<8xi8>, memref<32xi8>, memref<32xi8>) outs(%y : memref<1x8xf32>) scalars(%k, %n, %bits, %g, %block, %flags : i64, i64, i64, i64, i64, i64)
  return
}

// -----

// K = 9 int4 codes: rows of 5 bytes are read a byte at a time, and the
// last byte's second code (k = 9, past K) meets x = 0.
// CHECK-LABEL: func.func @ragged
// CHECK-NOT: memref.view %arg1
// CHECK: gpu.launch
// CHECK: memref.load %arg1
// CHECK: arith.extui %{{.+}} : i8 to i32
// CHECK: arith.cmpi ult, %{{.+}}, %c9
// CHECK: arith.minui %{{.+}}, %c8
// CHECK: arith.select
func.func @ragged(%x: memref<3x9xf32>, %codes: memref<15xi8>, %scales: memref<12xi8>,
                  %y: memref<3x3xf32>) {
  %k = arith.constant 9 : i64
  %n = arith.constant 3 : i64
  %bits = arith.constant 4 : i64
  %g = arith.constant 0 : i64
  %block = arith.constant 0 : i64
  %flags = arith.constant 9 : i64
  qc.ukernel "quantc_qmatmul_f32" ins(%x, %codes, %scales, %scales, %scales, %scales : memref<3x9xf32>, memref<15xi8>, memref<12xi8>, memref<12xi8>, memref<12xi8>, memref<12xi8>) outs(%y : memref<3x3xf32>) scalars(%k, %n, %bits, %g, %block, %flags : i64, i64, i64, i64, i64, i64)
  return
}

// -----

// Nine rows or more, 4-bit codes in whole trips of 16-byte units (K = 2048:
// 64 units a row, 16 trips of 4) and x 16-byte aligned: the tensor-core
// kernel (here with 2 tiles of 8 channels a warp), else the 8-row kernel.
// Blocks split K where there are few tiles (up to 1056 blocks, each at
// least 4 trips: at most 4 splits here); then y is zeroed first and the
// blocks add their sums atomically.
// CHECK-LABEL: func.func @tensor_cores(
// CHECK: %[[ROWS:.+]] = memref.dim %arg0, %c0
// CHECK: %[[AL:.+]] = arith.cmpi eq
// CHECK: %[[SOME:.+]] = arith.cmpi ugt, %[[ROWS]], %c1
// CHECK: } else {
// CHECK: scf.if %[[SOME]] {
// CHECK: %[[MANY:.+]] = arith.cmpi uge, %[[ROWS]], %c9
// CHECK: %[[MMA:.+]] = arith.andi %[[MANY]], %[[AL]]
// CHECK: scf.if %[[MMA]] {
// CHECK: %[[RB:.+]] = arith.ceildivui %[[ROWS]], %c16
// CHECK: %[[TILES:.+]] = arith.muli %c1{{.*}}, %[[RB]]
// CHECK: %[[WANT:.+]] = arith.ceildivui %c1056, %[[TILES]]
// CHECK: %[[CAP:.+]] = arith.minui %[[WANT]], %c4
// CHECK: %[[PER:.+]] = arith.ceildivui %c16{{.*}}, %[[CAP]]
// CHECK: %[[SPLITS:.+]] = arith.ceildivui %c16{{.*}}, %[[PER]]
// CHECK: %[[GRID:.+]] = arith.muli %[[TILES]], %[[SPLITS]]
// CHECK: %[[SPLIT:.+]] = arith.cmpi ugt, %[[SPLITS]], %c1
// CHECK: scf.if %[[SPLIT]] {
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c256{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}})
// CHECK: memref.store %cst, %arg3
// Two stages of x (f16) in workgroup memory, each 16 rows of a trip (128
// values and 32 of padding): 2 x 16 x 160 halves.
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[GRID]], {{.*}}) threads({{.*}}) in ({{.*}} = %c32{{.*}}, {{.*}} = %c4{{.*}}, {{.*}} = %c1{{.*}}) workgroup(%[[STAGE:.+]] : memref<5120xf16, #gpu.address_space<workgroup>>)
// The first trip's x staged: 16 x 16 pieces of 8 values, 2 a thread, each
// word's k in the order its codes pair (j, j + 4), rounded to f16.
// CHECK: vector.load %arg0[%{{.+}}, %{{.+}}] {alignment = 16 : i64} : memref<?x2048xf32>, vector<8xf32>
// CHECK: vector.load %arg0[%{{.+}}, %{{.+}}] {alignment = 16 : i64} : memref<?x2048xf32>, vector<8xf32>
// CHECK: vector.shuffle %{{.+}}, %{{.+}} [0, 4, 1, 5, 2, 6, 3, 7] : vector<8xf32>, vector<8xf32>
// CHECK: arith.truncf %{{.+}} : vector<8xf32> to vector<8xf16>
// CHECK: vector.store %{{.+}}, %[[STAGE]][%{{.+}}] {alignment = 16 : i64} : memref<5120xf16, #gpu.address_space<workgroup>>, vector<8xf16>
// Then the first trip's codes (symmetric: the biases are constants, 1024 +
// 8 and -(64 + 8)) and the second trip's x, carried into the loop.
// CHECK: vector.load %{{.+}} {alignment = 16 : i64} : memref<5120xi32>, vector<4xi32>
// CHECK: vector.load %arg0[%{{.+}}, %{{.+}}] {{.*}} vector<8xf32>
// Each trip: the next trip's codes; a barrier; the x loaded a trip before
// stored into the other stage; the x of the trip after the next loaded.
// CHECK: scf.for {{.*}} -> (vector<2x2xf32>, vector<2x2xf32>, vector<4xi32>, vector<4xi32>, {{.*}}, vector<8xf32>, vector<8xf32>)
// CHECK: vector.load %{{.+}} {alignment = 16 : i64} : memref<5120xi32>, vector<4xi32>
// CHECK: gpu.barrier
// CHECK: vector.shuffle %{{.+}}, %{{.+}} [0, 4, 1, 5, 2, 6, 3, 7] : vector<8xf32>, vector<8xf32>
// CHECK: vector.store %{{.+}}, %[[STAGE]]
// CHECK: vector.load %arg0[%{{.+}}, %{{.+}}] {{.*}} vector<8xf32>
// A's pairs straight from the stage: a piece (8 halves) per row (g and g +
// 8 of the tile) and word.
// CHECK: %[[PIECE:.+]] = vector.load %[[STAGE]][%{{.+}}] {alignment = 16 : i64} : memref<5120xf16, #gpu.address_space<workgroup>>, vector<8xf16>
// CHECK: vector.shuffle %[[PIECE]], %[[PIECE]] [0, 1] : vector<8xf16>, vector<8xf16>
// CHECK-NOT: arith.truncf
// CHECK: ub.poison : vector<4x2xf16>
// One shift by 8 for the word; codes at bit 0 of a byte masked
// (0x000F000F), their sign bits flipped and the half 1024 set in one XOR
// (0x64086408): 1024 + 8 + q, minus 1024 + 8 (the signed codes' offset);
// codes at bit 4 (0x00F000F0, XOR 0x64806480): 1024 + 16(8 + q), times 1/16
// minus 64 + 8 in one fma. No scale: the codes go into the mma as they are.
// CHECK: arith.shrui %[[W:.+]], %c8_i32
// CHECK: %[[M0:.+]] = arith.andi %[[W]], %c983055_i32
// CHECK: arith.xori %[[M0]], %c1678271496_i32
// CHECK: vector.bitcast %{{.+}} : vector<1xi32> to vector<2xf16>
// CHECK: arith.subf %{{.+}} : vector<2xf16>
// CHECK: %[[M1:.+]] = arith.andi %[[W]], %c15728880_i32
// CHECK: arith.xori %[[M1]], %c1686135936_i32
// CHECK: llvm.intr.fma
// CHECK-NOT: arith.mulf %{{.+}} : vector<2xf16>
// CHECK: nvgpu.mma.sync(%{{.+}}, %{{.+}}, %{{.+}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// A group of 128 codes is one trip: the tile's 8 mmas sum from zero and
// the trip's sums are scaled once, in f32, per C channel.
// CHECK-COUNT-7: nvgpu.mma.sync
// CHECK: math.fma %{{.+}} : f32
// After the loop: each C element stored where its row and channel exist,
// added atomically where blocks split K.
// CHECK: scf.yield
// CHECK: vector.extract %{{.+}}[0, 0] : f32 from vector<2x2xf32>
// CHECK: memref.atomic_rmw addf %{{.+}}, %arg3
// CHECK: } else {
// CHECK: memref.store %{{.+}}, %arg3
// The 8-row kernel otherwise (x aligned or not).
// CHECK: } else {
// CHECK: gpu.launch
// CHECK-NOT: nvgpu.mma.sync
func.func @tensor_cores(%x: memref<?x2048xf32>, %codes: memref<20480xi8>, %scales: memref<640xi8>,
                        %y: memref<?x20xf32>) {
  %k = arith.constant 2048 : i64
  %n = arith.constant 20 : i64
  %bits = arith.constant 4 : i64
  %g = arith.constant 128 : i64
  %block = arith.constant 0 : i64
  // symmetric (1) | f16 scales (2) | init (8)
  %flags = arith.constant 11 : i64
  qc.ukernel "quantc_qmatmul_f32" ins(%x, %codes, %scales, %scales, %scales, %scales : memref<?x2048xf32>, memref<20480xi8>, memref<640xi8>, memref<640xi8>, memref<640xi8>, memref<640xi8>) outs(%y : memref<?x20xf32>) scalars(%k, %n, %bits, %g, %block, %flags : i64, i64, i64, i64, i64, i64)
  return
}

// -----

// 8-bit codes in the tensor-core kernel (the tile choice: AUTO above).
// CHECK-LABEL: func.func @tensor_cores_int8(
// CHECK: nvgpu.mma.sync
func.func @tensor_cores_int8(%x: memref<?x2048xf32>, %codes: memref<40960xi8>, %scales: memref<640xi8>,
                             %y: memref<?x20xf32>) {
  %k = arith.constant 2048 : i64
  %n = arith.constant 20 : i64
  %bits = arith.constant 8 : i64
  %g = arith.constant 128 : i64
  %block = arith.constant 0 : i64
  // symmetric (1) | f16 scales (2) | init (8)
  %flags = arith.constant 11 : i64
  qc.ukernel "quantc_qmatmul_f32" ins(%x, %codes, %scales, %scales, %scales, %scales : memref<?x2048xf32>, memref<40960xi8>, memref<640xi8>, memref<640xi8>, memref<640xi8>, memref<640xi8>) outs(%y : memref<?x20xf32>) scalars(%k, %n, %bits, %g, %block, %flags : i64, i64, i64, i64, i64, i64)
  return
}

// -----

// 100 rows known at compile time.
// CHECK-LABEL: func.func @tensor_cores_static_rows(
// CHECK: nvgpu.mma.sync
func.func @tensor_cores_static_rows(%x: memref<100x2048xf32>, %codes: memref<20480xi8>, %scales: memref<640xi8>,
                                    %y: memref<100x20xf32>) {
  %k = arith.constant 2048 : i64
  %n = arith.constant 20 : i64
  %bits = arith.constant 4 : i64
  %g = arith.constant 128 : i64
  %block = arith.constant 0 : i64
  %flags = arith.constant 11 : i64
  qc.ukernel "quantc_qmatmul_f32" ins(%x, %codes, %scales, %scales, %scales, %scales : memref<100x2048xf32>, memref<20480xi8>, memref<640xi8>, memref<640xi8>, memref<640xi8>, memref<640xi8>) outs(%y : memref<100x20xf32>) scalars(%k, %n, %bits, %g, %block, %flags : i64, i64, i64, i64, i64, i64)
  return
}

// -----

// Affine 4-bit codes in groups of 32: a trip (128 codes of a row) spans 4
// groups, so the scales multiply the decoded codes (in f16) before the
// mmas; 1024 + z from each group's zero point (a byte, read unsigned).
// CHECK-LABEL: func.func @tensor_cores_groups_of_32
// CHECK: workgroup(%{{.+}} : memref<5120xf16, #gpu.address_space<workgroup>>)
// CHECK: scf.for
// CHECK: memref.load %arg3[%{{.+}}] : memref<1280xi8>
// CHECK: arith.extui %{{.+}} : i8 to i32
// CHECK: arith.ori %{{.+}}, %c25600_i32
// CHECK: gpu.barrier
// CHECK: arith.subf %{{.+}} : vector<2xf16>
// CHECK: arith.mulf %{{.+}} : vector<2xf16>
// CHECK: nvgpu.mma.sync
// CHECK-NOT: math.fma %{{.+}} : f32
// CHECK: scf.yield
func.func @tensor_cores_groups_of_32(%x: memref<?x2048xf32>, %codes: memref<20480xi8>,
                                     %scales: memref<2560xi8>, %zeros: memref<1280xi8>,
                                     %y: memref<?x20xf32>) {
  %k = arith.constant 2048 : i64
  %n = arith.constant 20 : i64
  %bits = arith.constant 4 : i64
  %g = arith.constant 32 : i64
  %block = arith.constant 0 : i64
  // affine | f16 scales (2) | init (8)
  %flags = arith.constant 10 : i64
  qc.ukernel "quantc_qmatmul_f32" ins(%x, %codes, %scales, %zeros, %zeros, %zeros : memref<?x2048xf32>, memref<20480xi8>, memref<2560xi8>, memref<1280xi8>, memref<1280xi8>, memref<1280xi8>) outs(%y : memref<?x20xf32>) scalars(%k, %n, %bits, %g, %block, %flags : i64, i64, i64, i64, i64, i64)
  return
}
