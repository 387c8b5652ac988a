//===- QuantizedMatmul.cpp - the GPU's fused dequantize-matmul kernel -----===//
//
// y[r, n] = sum_k x[r, k] * s[n, k/g] * (q[n, k] - z[n, k/g]) with the codes
// q decoded in registers: the weight is read once per block of rows, as
// packed, and never written out in floating point.
//
//===----------------------------------------------------------------------===//

#include "quantc/Target/CUDA/Passes.h"
#include "quantc/kernels.h"

#include "QC/IR/QC.h"

#include <cmath>

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <functional>

namespace quantc {
#define GEN_PASS_DEF_CUDAQUANTIZEDMATMUL
#include "quantc/Target/CUDA/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {

constexpr const char *kKernel = "quantc_qmatmul_f32";
constexpr int64_t kWarp = 32;
constexpr int64_t kWarpsPerBlock = 4;

/// A row number as indices of x's (and y's) leading dimensions.
SmallVector<Value> delinearizeRow(OpBuilder &b, Location loc, Value row,
                                  ArrayRef<Value> rowSizes) {
  SmallVector<Value> out(rowSizes.size());
  for (int64_t d = static_cast<int64_t>(rowSizes.size()) - 1; d > 0; --d) {
    out[d] = arith::RemUIOp::create(b, loc, row, rowSizes[d]);
    row = arith::DivUIOp::create(b, loc, row, rowSizes[d]);
  }
  if (!out.empty())
    out[0] = row;
  return out;
}

/// A word whose codes all have their top bit set (symmetric codes, XORed
/// with it, read as unsigned code + 2^(bits-1)).
int64_t signBitsOf(int64_t bits) {
  uint32_t out = 0;
  for (int64_t p = bits - 1; p < 32; p += bits)
    out |= 1u << p;
  return static_cast<int32_t>(out);
}

/// What one kernel is specialized on (all known at compile time).
struct KernelShape {
  int64_t k = 0, n = 0, bits = 0;
  /// Inputs per scale (k when there is one scale per channel).
  int64_t group = 0;
  bool symmetric = true;
  /// Bytes a lane loads at a time (a unit): 16 or 4 (4-byte words), or 1
  /// where a channel's row is not a whole number of words or a word would
  /// straddle a group. A unit never straddles a group.
  int64_t unitBytes = 4;
  /// Rows of x one block takes.
  int64_t rows = 1;
  /// Output channels per warp: each x value a lane loads serves all of
  /// them (x's loads, not the codes', fill the L1 of the one-row kernel).
  int64_t channels = 4;
  /// Units each lane has in flight per loop trip.
  int64_t unroll = 1;
  /// The block's warps share their channels and split each row between
  /// them (more warps streaming where there are few channels), or each
  /// takes channels of its own.
  bool splitK = false;
  /// x read 4 values (16 aligned bytes) at a time: a lane's word meets
  /// contiguous x values, so scalar loads would touch a sector per lane.
  bool vectorX = false;
  /// 4-bit codes multiplied in f16 pairs (one row, 16-byte units, x
  /// vectors): see KernelBuilder::decodeUnitInHalves.
  bool halfProducts = false;

  int64_t wordsPerUnit() const { return unitBytes == 16 ? 4 : 1; }
  int64_t codesPerUnit() const { return unitBytes * 8 / bits; }
  int64_t codesPerWord() const { return codesPerUnit() / wordsPerUnit(); }
  int64_t rowBytes() const { return (k * bits + 7) / 8; }
  int64_t unitsPerRow() const { return rowBytes() / unitBytes; }
  /// Elements of the codes buffer (i32 words, or bytes) per row.
  int64_t wordsPerRow() const { return unitsPerRow() * wordsPerUnit(); }
  int64_t groups() const { return (k + group - 1) / group; }
  /// Output channels of one block.
  int64_t channelsPerBlock() const {
    return channels * (splitK ? 1 : kWarpsPerBlock);
  }
  /// Lanes streaming one channel's row.
  int64_t lanesPerRow() const { return kWarp * (splitK ? kWarpsPerBlock : 1); }
};

/// What every kernel body is built from: the call's buffers and sizes and
/// the small helpers both kernels use.
class LaunchBodyBuilder {
protected:
  LaunchBodyBuilder(OpBuilder &b, Location loc, Value x, Value y, Value codes,
                    Value scales, Value zeros, ArrayRef<Value> rowSizes,
                    Value rowCount)
      : b(b), loc(loc), x(x), y(y), codes(codes), scales(scales),
        zeros(zeros), rowSizes(rowSizes), rowCount(rowCount) {}

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value i32(int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 32); }
  Value add(Value l, Value r) { return arith::AddIOp::create(b, loc, l, r); }
  Value sub(Value l, Value r) { return arith::SubIOp::create(b, loc, l, r); }
  Value mul(Value l, Value r) { return arith::MulIOp::create(b, loc, l, r); }
  SmallVector<Value> delinearize(Value row) {
    return delinearizeRow(b, loc, row, rowSizes);
  }

  Value asHalf2(Value word) {
    Value v = vector::BroadcastOp::create(
        b, loc, VectorType::get({1}, b.getI32Type()), word);
    return vector::BitCastOp::create(b, loc,
                                     VectorType::get({2}, b.getF16Type()), v);
  }

  Value halfSplat(float v) {
    auto type = VectorType::get({2}, b.getF16Type());
    return arith::ConstantOp::create(
        b, loc, type,
        DenseElementsAttr::get(type, b.getFloatAttr(b.getF16Type(), v)));
  }

  /// The half2 splats 1024 + z and -(64 + z) for the zero point z of
  /// group `at` (the offset 2^(bits-1) of symmetric codes): what
  /// decodeHalfPairs takes off a decoded pair.
  std::pair<Value, Value> halfBiases(bool symmetric, int64_t bits, Value at) {
    Value z = symmetric
                  ? i32(int64_t(1) << (bits - 1))
                  : arith::ExtUIOp::create(
                        b, loc, b.getI32Type(),
                        memref::LoadOp::create(b, loc, zeros, ValueRange{at}))
                        .getResult();
    // 0x6400 | z is the half 1024 + z, in both halves of a word.
    Value pair =
        mul(arith::OrIOp::create(b, loc, z, i32(0x6400)), i32(0x00010001));
    Value bias0 = asHalf2(pair);
    return {bias0,
            arith::SubFOp::create(b, loc, halfSplat(1024.0f - 64.0f), bias0)};
  }

  /// The k of `codes` consecutive values (one word's) in the order
  /// decodeHalfPairs pairs its codes: c, c + codes/2 for c < codes/2.
  static SmallVector<int64_t> halfPairOrder(int64_t codes) {
    SmallVector<int64_t> order;
    for (int64_t c = 0; c < codes / 2; ++c) {
      order.push_back(c);
      order.push_back(c + codes / 2);
    }
    return order;
  }

  /// The codes of one word as half2 pairs (c, c + codes/2), each q - z
  /// exactly. A code masked in place at bit 0 of a byte and ORed with 0x6400
  /// is the half 1024 + q: minus `bias0` (1024 + z). At bit 4 (4-bit codes)
  /// it is 1024 + 16q: times 1/16 plus `negBias4` (-(64 + z)) in one fma,
  /// exact (a small integer); so one shift (by 8) serves a word. Symmetric
  /// codes get their sign bits flipped (q + 2^(bits-1)) by the same
  /// instruction that sets the exponent: the masked bits XORed with both
  /// (one `lop3`).
  SmallVector<Value> decodeHalfPairs(Value w, int64_t bits, bool symmetric,
                                     Value bias0, Value negBias4) {
    Value high = arith::ShRUIOp::create(b, loc, w, i32(8));
    int64_t mask = (int64_t(1) << bits) - 1;
    SmallVector<Value> pairs;
    for (int64_t c = 0; c < 32 / bits / 2; ++c) {
      int64_t at = c * bits;
      int64_t inByte = at % 8;
      int64_t masked = (mask | mask << 16) << inByte;
      int64_t flips = symmetric ? masked & uint32_t(signBitsOf(bits)) : 0;
      Value word = arith::XOrIOp::create(
          b, loc,
          arith::AndIOp::create(b, loc, at >= 8 ? high : w, i32(masked)),
          i32(flips | 0x64006400));
      Value h = asHalf2(word);
      if (inByte == 0)
        pairs.push_back(arith::SubFOp::create(b, loc, h, bias0));
      else
        // llvm.intr.fma itself: math.fma on f16x2 reaches the NVPTX
        // backend as a multiply and an add.
        pairs.push_back(
            LLVM::FMAOp::create(b, loc, h, halfSplat(1.0f / 16), negBias4));
    }
    return pairs;
  }

  OpBuilder &b;
  Location loc;
  Value x, y, codes, scales, zeros;
  SmallVector<Value> rowSizes;
  Value rowCount;
};

/// Builds the body of one launch; `x`, `y` the activations and result in
/// their own shapes (rows are all dimensions but the last), `codes` as
/// words (i32 or i8), `scales` typed, `zeros` bytes (affine only).
class KernelBuilder : LaunchBodyBuilder {
public:
  KernelBuilder(OpBuilder &b, Location loc, const KernelShape &shape, Value x,
                Value y, Value codes, Value scales, Value zeros,
                ArrayRef<Value> rowSizes, Value rowCount)
      : LaunchBodyBuilder(b, loc, x, y, codes, scales, zeros, rowSizes,
                          rowCount),
        s(shape) {}

  void build(gpu::LaunchOp launch) {
    Value lane = launch.getThreadIds().x;
    Value warp = launch.getThreadIds().y;
    // Blocks of rows and blocks of channels both along x (y's 65535 would
    // cap the rows), the channel blocks of a block of rows adjacent.
    Value bx = launch.getBlockIds().x;
    int64_t perBlock = s.channelsPerBlock();
    Value channelBlocks = idx((s.n + perBlock - 1) / perBlock);
    Value r0 =
        mul(arith::DivUIOp::create(b, loc, bx, channelBlocks), idx(s.rows));
    bx = arith::RemUIOp::create(b, loc, bx, channelBlocks);
    Value n0 = s.splitK ? mul(bx, idx(s.channels))
                        : mul(add(mul(bx, idx(kWarpsPerBlock)), warp),
                              idx(s.channels));
    Value slot = s.splitK ? add(mul(warp, idx(kWarp)), lane) : lane;
    for (int64_t c = 0; c < s.channels; ++c) {
      Value channel =
          arith::MinUIOp::create(b, loc, add(n0, idx(c)), idx(s.n - 1));
      codeBase.push_back(mul(channel, idx(s.wordsPerRow())));
      scaleBase.push_back(mul(channel, idx(s.groups())));
    }
    buildRows(launch, r0, n0, slot);
  }

private:
  /// y[r0 .. r0 + rows, n0 .. n0 + C] of one block.
  void buildRows(gpu::LaunchOp launch, Value r0, Value n0, Value slot) {
    Value lane = launch.getThreadIds().x;
    // Rows and channels past the end are clamped (read, never stored).
    Value lastRow = sub(rowCount, idx(1));
    for (int64_t r = 0; r < s.rows; ++r)
      rowIndices.push_back(delinearize(
          arith::MinUIOp::create(b, loc, add(r0, idx(r)), lastRow)));

    SmallVector<Value> acc(s.rows * s.channels, f32Constant(0.0f));
    int64_t units = s.unitsPerRow();
    int64_t step = s.lanesPerRow() * s.unroll;
    int64_t mainEnd = units / step * step;
    // Whole trips of `unroll` units per lane, then the rest one at a time.
    if (mainEnd > 0)
      acc = pipelinedLoop(slot, mainEnd, step, acc);
    if (mainEnd < units) {
      auto forOp = scf::ForOp::create(b, loc, add(idx(mainEnd), slot),
                                      idx(units), idx(s.lanesPerRow()), acc);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(forOp.getBody());
      Value u = forOp.getInductionVar();
      scf::YieldOp::create(
          b, loc,
          decodeUnit(u, loadUnit(u),
                     SmallVector<Value>(forOp.getRegionIterArgs())));
      acc = SmallVector<Value>(forOp.getResults());
    }

    for (Value &v : acc)
      v = warpSum(v);
    Value writer = lane;
    if (s.splitK) {
      // The warps' sums meet in workgroup memory; the block's first
      // thread adds them up and stores.
      Value partial = launch.getWorkgroupAttributions().front();
      Value warp = launch.getThreadIds().y;
      auto ifFirst = scf::IfOp::create(b, loc, isZero(lane));
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(ifFirst.thenBlock());
        for (size_t i = 0; i < acc.size(); ++i)
          memref::StoreOp::create(
              b, loc, acc[i], partial,
              ValueRange{add(mul(warp, idx(acc.size())), idx(i))});
      }
      gpu::BarrierOp::create(b, loc);
      for (size_t i = 0; i < acc.size(); ++i) {
        acc[i] = memref::LoadOp::create(b, loc, partial, ValueRange{idx(i)});
        for (int64_t w = 1; w < kWarpsPerBlock; ++w)
          acc[i] =
              fadd(acc[i],
                   memref::LoadOp::create(b, loc, partial,
                                          ValueRange{idx(w * acc.size() + i)}));
      }
      writer = add(lane, mul(warp, idx(kWarp)));
    }
    auto ifFirst = scf::IfOp::create(b, loc, isZero(writer));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifFirst.thenBlock());
    for (int64_t r = 0; r < s.rows; ++r)
      for (int64_t c = 0; c < s.channels; ++c) {
        Value inRows = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                             add(r0, idx(r)), rowCount);
        Value channel = add(n0, idx(c));
        Value inChannels = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::ult, channel, idx(s.n));
        auto store = scf::IfOp::create(
            b, loc, arith::AndIOp::create(b, loc, inRows, inChannels));
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(store.thenBlock());
        SmallVector<Value> at = rowIndices[r];
        at.push_back(channel);
        memref::StoreOp::create(b, loc, acc[r * s.channels + c], y, at);
      }
  }

  Value fadd(Value l, Value r) { return arith::AddFOp::create(b, loc, l, r); }
  Value fmul(Value l, Value r) { return arith::MulFOp::create(b, loc, l, r); }
  Value isZero(Value v) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, v, idx(0));
  }


  /// The units of trip `base`: `unroll` units per lane, a row's lanes apart.
  SmallVector<Value> tripUnits(Value base, Value slot) {
    SmallVector<Value> us;
    for (int64_t u = 0; u < s.unroll; ++u)
      us.push_back(add(base, add(slot, idx(u * s.lanesPerRow()))));
    return us;
  }

  /// The trips over units [0, end): each loads the next trip's units (the
  /// last trip reloads its own) before decoding the ones the previous trip
  /// loaded, so a warp always has a trip of loads in flight.
  SmallVector<Value> pipelinedLoop(Value slot, int64_t end, int64_t step,
                                   SmallVector<Value> acc) {
    size_t accCount = acc.size();
    SmallVector<Value> carried = acc;
    for (Value u : tripUnits(idx(0), slot))
      llvm::append_range(carried, loadUnit(u));
    auto forOp =
        scf::ForOp::create(b, loc, idx(0), idx(end), idx(step), carried);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forOp.getBody());
    Value next = arith::MinUIOp::create(
        b, loc, add(forOp.getInductionVar(), idx(step)), idx(end - step));
    SmallVector<Value> nextLoads;
    for (Value u : tripUnits(next, slot))
      llvm::append_range(nextLoads, loadUnit(u));
    ValueRange args = forOp.getRegionIterArgs();
    SmallVector<Value> sums(args.take_front(accCount));
    size_t perUnit = (args.size() - accCount) / s.unroll;
    SmallVector<Value> units = tripUnits(forOp.getInductionVar(), slot);
    for (int64_t u = 0; u < s.unroll; ++u)
      sums = decodeUnit(
          units[u],
          SmallVector<Value>(args.slice(accCount + u * perUnit, perUnit)),
          sums);
    llvm::append_range(sums, nextLoads);
    scf::YieldOp::create(b, loc, sums);
    return SmallVector<Value>(forOp.getResults().take_front(accCount));
  }

  /// Unit `u` of each channel's row with its scale (and negated zero
  /// point): C x wordsPerUnit words, C scales[, C zero points].
  SmallVector<Value> loadUnit(Value u) {
    Type f32 = b.getF32Type();
    Value group = s.group == s.k
                      ? idx(0)
                      : arith::DivUIOp::create(
                            b, loc, mul(u, idx(s.codesPerUnit())), idx(s.group))
                            .getResult();
    SmallVector<Value> raw, scale, zero;
    for (int64_t c = 0; c < s.channels; ++c) {
      Value at = add(codeBase[c], mul(u, idx(s.wordsPerUnit())));
      if (s.unitBytes == 16) {
        Value words = vector::LoadOp::create(
            b, loc, VectorType::get({4}, b.getI32Type()), codes, ValueRange{at},
            /*nontemporal=*/false, b.getI64IntegerAttr(16));
        for (int64_t e = 0; e < 4; ++e)
          raw.push_back(vector::ExtractOp::create(b, loc, words, e));
      } else {
        Value word = memref::LoadOp::create(b, loc, codes, ValueRange{at});
        if (s.unitBytes == 1)
          word = arith::ExtUIOp::create(b, loc, b.getI32Type(), word);
        raw.push_back(word);
      }
      Value g = add(scaleBase[c], group);
      Value sc = memref::LoadOp::create(b, loc, scales, ValueRange{g});
      if (!sc.getType().isF32())
        sc = arith::ExtFOp::create(b, loc, f32, sc);
      if (s.halfProducts) {
        // x was scaled by 1/16 in f16 (see decodeUnitInHalves).
        scale.push_back(fmul(sc, f32Constant(16.0f)));
        auto [bias0, negBias4] = halfBiases(s.symmetric, s.bits, g);
        zero.push_back(bias0);
        zero.push_back(negBias4);
        continue;
      }
      scale.push_back(sc);
      if (!s.symmetric) {
        Value z = memref::LoadOp::create(b, loc, zeros, ValueRange{g});
        z = arith::ExtUIOp::create(b, loc, b.getI32Type(), z);
        zero.push_back(arith::NegFOp::create(
            b, loc, arith::UIToFPOp::create(b, loc, f32, z)));
      }
    }
    llvm::append_range(raw, scale);
    llvm::append_range(raw, zero);
    return raw;
  }

  /// Adds unit `u` of each channel's row (`loaded` by loadUnit), times the
  /// rows of x it meets: word by word, each word's products summed apart
  /// (independent chains), the scale applied once per unit.
  ///
  /// A code is decoded without an int-to-float conversion (a quarter-rate
  /// instruction, the kernel's bottleneck if used): the code, masked in
  /// place at bit p of a 16-bit half of the word and ORed with the exponent
  /// of 2^23, is the float 2^23 + q * 2^p; minus 2^23 (plus the symmetric
  /// codes' offset, whose sign bits were flipped first) it is exactly
  /// (q - offset) * 2^p, and the x value it multiplies is pre-scaled by
  /// 2^-p, once for all channels.
  SmallVector<Value> decodeUnit(Value u, ArrayRef<Value> loaded,
                                SmallVector<Value> acc) {
    if (s.halfProducts)
      return decodeUnitInHalves(u, loaded, acc);
    int64_t wordsPerUnit = s.wordsPerUnit();
    int64_t rawCount = s.channels * wordsPerUnit;
    ArrayRef<Value> raw = loaded.take_front(rawCount);
    ArrayRef<Value> scale = loaded.slice(rawCount, s.channels);
    ArrayRef<Value> zero = loaded.drop_front(rawCount + s.channels);
    // parts[r][c]: one partial sum per word of the unit.
    SmallVector<SmallVector<SmallVector<Value>>> parts(
        s.rows, SmallVector<SmallVector<Value>>(s.channels));
    SmallVector<Value> xSum(s.rows);
    for (int64_t e = 0; e < wordsPerUnit; ++e) {
      Value w = add(mul(u, idx(wordsPerUnit)), idx(e));
      SmallVector<SmallVector<Value>> xs = wordInputs(w, xSum);
      for (int64_t c = 0; c < s.channels; ++c) {
        SmallVector<Value> codesF = decodeWord(raw[c * wordsPerUnit + e]);
        for (int64_t r = 0; r < s.rows; ++r) {
          Value part = fmul(xs[r][0], codesF[0]);
          for (size_t j = 1; j < codesF.size(); ++j)
            part = math::FmaOp::create(b, loc, xs[r][j], codesF[j], part);
          parts[r][c].push_back(part);
        }
      }
    }
    for (int64_t r = 0; r < s.rows; ++r)
      for (int64_t c = 0; c < s.channels; ++c) {
        SmallVector<Value> &p = parts[r][c];
        while (p.size() > 1) {
          SmallVector<Value> halved;
          for (size_t i = 0; i + 1 < p.size(); i += 2)
            halved.push_back(fadd(p[i], p[i + 1]));
          if (p.size() % 2)
            halved.push_back(p.back());
          p = halved;
        }
        Value part = p.front();
        // sum_j x_j (q_j - z) = sum_j x_j q_j - z sum_j x_j
        if (!s.symmetric)
          part = math::FmaOp::create(b, loc, zero[c], xSum[r], part);
        Value &a = acc[r * s.channels + c];
        a = math::FmaOp::create(b, loc, scale[c], part, a);
      }
    return acc;
  }

  /// decodeUnit for 4-bit codes, two at a time in f16 (half the
  /// instructions a code of the f32 decode, which bounds the one-row
  /// kernel): a word's codes decoded as half2 pairs q - z (decodeHalfPairs),
  /// each pair times x's pair in one `fma.rn.f16x2`, the word's 8 products
  /// summed in two f16 chains of 4 and added in f32. x is rounded to f16 once
  /// a word for all channels, after a scaling by 1/16 (put back on the
  /// scale): a chain then overflows only past |x| of about 17000 (symmetric
  /// codes: 32000), and an |x| under 1e-3 keeps an absolute precision of
  /// 5e-7 (f16 subnormals).
  SmallVector<Value> decodeUnitInHalves(Value u, ArrayRef<Value> loaded,
                                        SmallVector<Value> acc) {
    Type f32 = b.getF32Type();
    auto f32x2 = VectorType::get({2}, f32);
    auto f16x2 = VectorType::get({2}, b.getF16Type());
    ArrayRef<Value> raw = loaded.take_front(s.channels * 4);
    ArrayRef<Value> scale = loaded.slice(s.channels * 4, s.channels);
    ArrayRef<Value> bias = loaded.drop_front(s.channels * 5);
    SmallVector<SmallVector<Value>> parts(s.channels);
    for (int64_t e = 0; e < 4; ++e) {
      Value k0 = mul(add(mul(u, idx(4)), idx(e)), idx(8));
      SmallVector<Value> xv;
      for (int64_t q = 0; q < 8; q += 4) {
        SmallVector<Value> at = rowIndices[0];
        at.push_back(add(k0, idx(q)));
        Value v = vector::LoadOp::create(b, loc, VectorType::get({4}, f32), x,
                                         at, /*nontemporal=*/false,
                                         b.getI64IntegerAttr(16));
        for (int64_t j = 0; j < 4; ++j)
          xv.push_back(fmul(vector::ExtractOp::create(b, loc, v, j),
                            f32Constant(1.0f / 16)));
      }
      // x at codes (c, c + 4), the pairs of decodeHalfPairs.
      SmallVector<int64_t> order = halfPairOrder(8);
      SmallVector<Value> xPairs;
      for (int64_t c = 0; c < 4; ++c)
        xPairs.push_back(arith::TruncFOp::create(
            b, loc, f16x2,
            vector::FromElementsOp::create(
                b, loc, f32x2,
                ValueRange{xv[order[2 * c]], xv[order[2 * c + 1]]})));
      for (int64_t c = 0; c < s.channels; ++c) {
        SmallVector<Value> pairs = decodeHalfPairs(
            raw[c * 4 + e], s.bits, s.symmetric, bias[2 * c], bias[2 * c + 1]);
        Value chain = arith::MulFOp::create(b, loc, xPairs[0], pairs[0]);
        for (int64_t i = 1; i < 4; ++i)
          chain = LLVM::FMAOp::create(b, loc, xPairs[i], pairs[i], chain);
        Value wide = arith::ExtFOp::create(b, loc, f32x2, chain);
        parts[c].push_back(fadd(vector::ExtractOp::create(b, loc, wide, 0),
                                vector::ExtractOp::create(b, loc, wide, 1)));
      }
    }
    for (int64_t c = 0; c < s.channels; ++c) {
      Value part =
          fadd(fadd(parts[c][0], parts[c][1]), fadd(parts[c][2], parts[c][3]));
      acc[c] = math::FmaOp::create(b, loc, scale[c], part, acc[c]);
    }
    return acc;
  }

  /// x[r, k0 + j] * 2^-p for the codes j of word `w`, per row (added to
  /// `xSum` for affine codes). Past K (the last word of a ragged row) x
  /// reads as 0, so that padding codes add nothing.
  SmallVector<SmallVector<Value>> wordInputs(Value w,
                                             SmallVector<Value> &xSum) {
    Type f32 = b.getF32Type();
    int64_t perWord = s.codesPerWord();
    Value k0 = mul(w, idx(perWord));
    bool ragged = s.k % perWord != 0;
    SmallVector<SmallVector<Value>> xs(s.rows);
    for (int64_t r = 0; r < s.rows; ++r) {
      SmallVector<Value> vectors;
      if (s.vectorX)
        for (int64_t q = 0; q < perWord; q += 4) {
          SmallVector<Value> at = rowIndices[r];
          at.push_back(add(k0, idx(q)));
          vectors.push_back(vector::LoadOp::create(
              b, loc, VectorType::get({4}, f32), x, at,
              /*nontemporal=*/false, b.getI64IntegerAttr(16)));
        }
      for (int64_t j = 0; j < perWord; ++j) {
        Value kj = add(k0, idx(j));
        Value valid;
        if (ragged) {
          valid = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, kj,
                                        idx(s.k));
          kj = arith::MinUIOp::create(b, loc, kj, idx(s.k - 1));
        }
        Value v;
        if (s.vectorX) {
          v = vector::ExtractOp::create(b, loc, vectors[j / 4], j % 4);
        } else {
          SmallVector<Value> at = rowIndices[r];
          at.push_back(kj);
          v = memref::LoadOp::create(b, loc, x, at);
        }
        if (ragged)
          v = arith::SelectOp::create(b, loc, valid, v, f32Constant(0.0f));
        if (!s.symmetric)
          xSum[r] = xSum[r] ? fadd(xSum[r], v) : v;
        if (int64_t p = position(j))
          v = fmul(v, f32Constant(std::ldexp(1.0f, -p)));
        xs[r].push_back(v);
      }
    }
    return xs;
  }

  /// The codes of one word as floats (q - offset) * 2^p.
  SmallVector<Value> decodeWord(Value word) {
    if (s.symmetric)
      word = arith::XOrIOp::create(b, loc, word, i32(signBits()));
    Value high = s.unitBytes != 1
                     ? arith::ShRUIOp::create(b, loc, word, i32(16)).getResult()
                     : Value();
    SmallVector<Value> codesF;
    for (int64_t j = 0; j < s.codesPerWord(); ++j)
      codesF.push_back(decode(s.bits * j < 16 ? word : high, position(j)));
    return codesF;
  }

  /// Where code j sits in its 16-bit half of the word.
  int64_t position(int64_t j) const { return s.bits * j % 16; }

  int64_t signBits() const { return signBitsOf(s.bits); }

  /// (code - offset) * 2^p for the code at bit p of `half`, exactly.
  Value decode(Value half, int64_t p) {
    constexpr int32_t kExponent223 = 0x4B000000; // the float 2^23
    int64_t mask = ((int64_t(1) << s.bits) - 1) << p;
    Value bits = arith::OrIOp::create(
        b, loc, arith::AndIOp::create(b, loc, half, i32(mask)),
        i32(kExponent223));
    Value asFloat = arith::BitcastOp::create(b, loc, b.getF32Type(), bits);
    float offset = s.symmetric ? std::ldexp(1.0f, s.bits - 1 + p) : 0.0f;
    return arith::SubFOp::create(b, loc, asFloat,
                                 f32Constant(8388608.0f + offset));
  }

  Value f32Constant(float v) {
    return arith::ConstantFloatOp::create(b, loc, b.getF32Type(), APFloat(v));
  }

  /// The sum of `v` over the warp's 32 lanes, in every lane.
  Value warpSum(Value v) {
    for (int32_t offset = kWarp / 2; offset > 0; offset /= 2) {
      auto other = gpu::ShuffleOp::create(b, loc, v, offset, kWarp,
                                          gpu::ShuffleMode::XOR);
      v = fadd(v, other.getShuffleResult());
    }
    return v;
  }

  const KernelShape &s;
  SmallVector<SmallVector<Value>> rowIndices;
  SmallVector<Value> codeBase, scaleBase;
};

/// Rows from which a call takes the tensor-core kernel: past one block of
/// the 8-row kernel (which would read the weight once per 8 rows).
constexpr int64_t kMmaMinRows = 9;
/// The tensor-core kernel's tiles a warp by the codes' bits and x's rows,
/// where the pass options leave them open (0). Measured on the 8192 x 28672
/// weights with ncu on an H100 and an H200 (issue 14's notes; not yet in
/// docs/BENCHMARKS.md, nor the default: bench/cuda/prepare.sh tiles): 4-bit
/// codes are fastest with 1 x 4 tiles below 64 rows and 2 x 4 from 64;
/// 8-bit codes (twice the bytes a channel) with 1 x 8 below 32 rows and
/// 2 x 2 from 32.
struct MmaTiles {
  int64_t rowTiles, channelTiles;
};
int64_t mmaManyRows(int64_t bits) { return bits == 4 ? 64 : 32; }
MmaTiles mmaTiles(int64_t bits, bool manyRows) {
  if (bits == 4)
    return {manyRows ? 2 : 1, 4};
  return manyRows ? MmaTiles{2, 2} : MmaTiles{1, 8};
}
/// Blocks the tensor-core kernel aims for (8 per SM of an H100/H200, 4
/// warps each) when it splits K.
constexpr int64_t kMmaBlocks = 1056;

/// A launch of gridX x 1 x 1 blocks of tx x ty x 1 threads (with
/// `workgroup` buffers) and a builder inside its body, before the
/// terminator.
std::pair<gpu::LaunchOp, OpBuilder> createLaunch(OpBuilder &b, Location loc,
                                                 Value gridX, int64_t tx,
                                                 int64_t ty,
                                                 TypeRange workgroup = {}) {
  auto c = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v).getResult();
  };
  auto launch = gpu::LaunchOp::create(
      b, loc, gridX, c(1), c(1), c(tx), c(ty), c(1),
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/{}, workgroup);
  Block &entry = launch.getBody().front();
  OpBuilder body = OpBuilder::atBlockEnd(&entry);
  if (entry.empty() || !entry.back().hasTrait<OpTrait::IsTerminator>())
    gpu::TerminatorOp::create(body, loc);
  body.setInsertionPoint(entry.getTerminator());
  return {launch, body};
}

/// y = 0 (rows x n), one thread an element: the sums of blocks that split
/// K are added to it.
void emitZero(OpBuilder &b, Location loc, Value y, ArrayRef<Value> rowSizes,
              Value rowCount, int64_t n) {
  auto c = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v).getResult();
  };
  Value total = arith::MulIOp::create(b, loc, rowCount, c(n));
  // (Not a structured binding: C++17 lambdas cannot capture one.)
  auto launched = createLaunch(
      b, loc, arith::CeilDivUIOp::create(b, loc, total, c(256)), 256, 1);
  gpu::LaunchOp launch = launched.first;
  OpBuilder &body = launched.second;
  auto in = [&](int64_t v) {
    return arith::ConstantIndexOp::create(body, loc, v).getResult();
  };
  Value e = arith::AddIOp::create(
      body, loc,
      arith::MulIOp::create(body, loc, launch.getBlockIds().x, in(256)),
      launch.getThreadIds().x);
  auto ifIn = scf::IfOp::create(
      body, loc,
      arith::CmpIOp::create(body, loc, arith::CmpIPredicate::ult, e, total));
  body.setInsertionPointToStart(ifIn.thenBlock());
  SmallVector<Value> at = delinearizeRow(
      body, loc, arith::DivUIOp::create(body, loc, e, in(n)), rowSizes);
  at.push_back(arith::RemUIOp::create(body, loc, e, in(n)));
  memref::StoreOp::create(
      body, loc,
      arith::ConstantFloatOp::create(body, loc, body.getF32Type(),
                                     APFloat(0.0f)),
      y, at);
}

/// The tensor-core kernel (several rows, 4- and 8-bit codes in 16-byte
/// units, x 16-byte aligned): each warp takes 16 * mTiles rows and
/// 8 * nTiles channels and multiplies them with `mma.sync` m16n8k16 on f16
/// operands into f32 sums; the codes are decoded once per block of rows,
/// two at a time into a half2.
///
/// A lane (group g = lane / 4, t = lane % 4) holds the B operand of channel
/// g of each tile: its unit u (4 * trip + t, 32 or 16 codes) read as words
/// of 8 or 4 codes. The order of k inside one mma is free as long as A and
/// B agree, so a word's codes pair as (j, j + codes/2) -- the two codes 16
/// bits apart, one mask for both -- and A's halves are x at the same k.
/// A code q becomes half(0x6400 | q) = 1024 + q exactly, minus 1024 + z
/// (exact too; see decodeHalfPairs), scaled on the f32 sums or, where a trip
/// spans groups, in f16 before the mma. The block's 4 warps take the same
/// rows and different channels (or, with rowWarps > 1, a grid of rows and
/// channels): x comes from workgroup memory, where the block stages it once
/// per trip.
struct MmaShape {
  int64_t k = 0, n = 0, bits = 0, group = 0;
  bool symmetric = true;
  int64_t mTiles = 1, nTiles = 8;
  /// The block's warps as rowWarps x (4 / rowWarps): warps of one row of
  /// the grid take the same rows and different channels.
  int64_t rowWarps = 1;

  int64_t codesPerWord() const { return 32 / bits; }
  int64_t codesPerUnit() const { return 128 / bits; }
  int64_t unitsPerRow() const { return k * bits / 128; }
  int64_t groups() const { return (k + group - 1) / group; }
  int64_t rowsPerWarp() const { return 16 * mTiles; }
  int64_t rowsPerBlock() const { return rowsPerWarp() * rowWarps; }
  int64_t channelWarps() const { return kWarpsPerBlock / rowWarps; }
  /// Whether a trip's units lie in one group (per channel, or groups of
  /// whole trips): the mmas then take the codes unscaled (q - z, exact in
  /// f16) and the scale multiplies the trip's f32 sums, once per channel.
  bool scaleOnSums() const {
    return group == k || group % (4 * codesPerUnit()) == 0;
  }
  /// x is staged in workgroup memory a trip (4 units of k) at a time,
  /// rounded to f16 and in A's order: each word's k reordered as its codes
  /// pair (j, j + codes/2), so that a lane's A pairs are adjacent halves.
  /// 16-byte pieces (8 halves): a row's pieces reordered unit-minor (piece
  /// e of unit t at 4e + t) and rows 4 pieces apart, so that the 8 lanes
  /// of a quarter-warp (rows g, g + 1; units t = 0..3) meet 8 bank groups.
  int64_t piecesPerUnit() const { return codesPerUnit() / 8; }
  int64_t piecesPerTrip() const { return 4 * piecesPerUnit(); }
  int64_t stageRowHalves() const { return (piecesPerTrip() + 4) * 8; }
  /// One of the two stages (double buffering): the block's rows of a trip.
  int64_t stageHalves() const { return rowsPerBlock() * stageRowHalves(); }
  int64_t channelsPerWarp() const { return 8 * nTiles; }
  int64_t channelsPerBlock() const {
    return channelsPerWarp() * channelWarps();
  }
  /// Whether the kernel takes this format and K.
  static bool takes(int64_t bits, int64_t k, int64_t group) {
    if (bits != 4 && bits != 8)
      return false;
    int64_t perUnit = 128 / bits;
    // Whole trips of 4 units a row; a unit inside one group.
    return (k * bits) % (128 * 4) == 0 &&
           (group == k || group % perUnit == 0);
  }
};

class MmaKernelBuilder : LaunchBodyBuilder {
public:
  MmaKernelBuilder(OpBuilder &b, Location loc, const MmaShape &shape, Value x,
                   Value y, Value codes, Value scales, Value zeros,
                   ArrayRef<Value> rowSizes, Value rowCount)
      : LaunchBodyBuilder(b, loc, x, y, codes, scales, zeros, rowSizes,
                          rowCount),
        s(shape) {}

  /// `splits` blocks share each tile, each taking `tripsPerSplit` trips
  /// of K and adding its sums to y (zeroed before) where there are several.
  void build(gpu::LaunchOp launch, Value rowBlocks, Value splits,
             Value tripsPerSplit) {
    Value lane = launch.getThreadIds().x;
    Value warp = launch.getThreadIds().y;
    Value g = arith::ShRUIOp::create(b, loc, lane, idx(2));
    Value t = arith::AndIOp::create(b, loc, lane, idx(3));
    stage = launch.getWorkgroupAttributions().front();
    // The row blocks of one block of channels adjacent: they run together
    // and share the channels' codes through the L2.
    Value bx = launch.getBlockIds().x;
    Value r0 = mul(arith::RemUIOp::create(b, loc, bx, rowBlocks),
                   idx(s.rowsPerBlock()));
    bx = arith::DivUIOp::create(b, loc, bx, rowBlocks);
    Value split = arith::RemUIOp::create(b, loc, bx, splits);
    bx = arith::DivUIOp::create(b, loc, bx, splits);
    Value warpRow = arith::DivUIOp::create(b, loc, warp, idx(s.channelWarps()));
    Value warpColumn =
        arith::RemUIOp::create(b, loc, warp, idx(s.channelWarps()));
    Value n0 = mul(add(mul(bx, idx(s.channelWarps())), warpColumn),
                   idx(s.channelsPerWarp()));
    Value begin = mul(mul(split, tripsPerSplit), idx(4));
    Value end = arith::MinUIOp::create(
        b, loc, add(begin, mul(tripsPerSplit, idx(4))), idx(s.unitsPerRow()));
    int64_t wordsPerRow = s.unitsPerRow() * 4;
    for (int64_t j = 0; j < s.nTiles; ++j) {
      Value channel = arith::MinUIOp::create(
          b, loc, add(n0, add(g, idx(8 * j))), idx(s.n - 1));
      codeBase.push_back(mul(channel, idx(wordsPerRow)));
      scaleBase.push_back(mul(channel, idx(s.groups())));
      for (int64_t c = 0; c < 2; ++c) {
        Value channelC = arith::MinUIOp::create(
            b, loc, add(n0, add(mul(t, idx(2)), idx(8 * j + c))),
            idx(s.n - 1));
        scaleBaseC.push_back(mul(channelC, idx(s.groups())));
      }
    }
    // Rows g and g + 8 of each tile: C's (the stores check), and where
    // their x sits in a stage (with the lane's unit t).
    Value lastRow = sub(rowCount, idx(1));
    for (int64_t m = 0; m < s.mTiles; ++m)
      for (int64_t half = 0; half < 2; ++half) {
        Value inBlock = add(mul(warpRow, idx(s.rowsPerWarp())),
                            add(g, idx(16 * m + 8 * half)));
        Value row = add(r0, inBlock);
        rows.push_back(row);
        rowIndices.push_back(
            delinearize(arith::MinUIOp::create(b, loc, row, lastRow)));
        stageRowBase.push_back(
            add(mul(inBlock, idx(s.stageRowHalves())), mul(t, idx(8))));
      }
    // The pieces this thread stages each trip: the same rows and places
    // every trip (rows past the end read the last one).
    Value thread = add(mul(warp, idx(kWarp)), lane);
    int64_t perThread =
        s.rowsPerBlock() * s.piecesPerTrip() / (kWarp * kWarpsPerBlock);
    for (int64_t i = 0; i < perThread; ++i) {
      Value linear = add(idx(i * kWarp * kWarpsPerBlock), thread);
      Value row = arith::DivUIOp::create(b, loc, linear, idx(s.piecesPerTrip()));
      Value p = arith::RemUIOp::create(b, loc, linear, idx(s.piecesPerTrip()));
      stageSource.push_back(
          delinearize(arith::MinUIOp::create(b, loc, add(r0, row), lastRow)));
      stageK.push_back(mul(p, idx(8)));
      Value unit = arith::DivUIOp::create(b, loc, p, idx(s.piecesPerUnit()));
      Value piece = arith::RemUIOp::create(b, loc, p, idx(s.piecesPerUnit()));
      stageTarget.push_back(add(mul(row, idx(s.stageRowHalves())),
                                mul(add(mul(piece, idx(4)), unit), idx(8))));
    }

    Type accType = VectorType::get({2, 2}, b.getF32Type());
    Value zero = arith::ConstantOp::create(
        b, loc, accType, DenseElementsAttr::get(cast<ShapedType>(accType), 0.0f));
    SmallVector<Value> acc(s.mTiles * s.nTiles, zero);
    acc = loop(t, begin, end, acc);
    Value several = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                          splits, idx(1));
    store(acc, n0, t, several);
  }

private:
  /// Trips of 4 units a row (one per lane of a group) over units [begin,
  /// end), each loading the next trip's codes before multiplying the ones
  /// loaded the trip before.
  ///
  /// The block's x passes through registers into the stages (it is rounded
  /// and reordered on the way): each trip's x is loaded two trips ahead and
  /// stored one trip ahead. At each trip a barrier says that the stage
  /// about to be read is written and that everyone is done with the other
  /// one, which then takes the next trip's x.
  SmallVector<Value> loop(Value t, Value begin, Value end,
                          SmallVector<Value> acc) {
    size_t accCount = acc.size();
    Value lastTrip = sub(end, idx(4));
    auto nextOf = [&](Value trip, int64_t ahead) {
      return arith::MinUIOp::create(b, loc, add(trip, idx(4 * ahead)), lastTrip)
          .getResult();
    };
    storeX(loadX(begin), idx(0));
    SmallVector<Value> carried = acc;
    SmallVector<Value> firstUnit = loadUnit(add(begin, t));
    size_t unitCount = firstUnit.size();
    llvm::append_range(carried, firstUnit);
    llvm::append_range(carried, loadX(nextOf(begin, 1)));
    auto forOp = scf::ForOp::create(b, loc, begin, end, idx(4), carried);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(forOp.getBody());
      Value trip = forOp.getInductionVar();
      ValueRange args = forOp.getRegionIterArgs();
      SmallVector<Value> nextLoads = loadUnit(add(nextOf(trip, 1), t));
      Value parity = arith::AndIOp::create(
          b, loc, arith::DivUIOp::create(b, loc, sub(trip, begin), idx(4)),
          idx(1));
      gpu::BarrierOp::create(b, loc);
      storeX(SmallVector<Value>(args.drop_front(accCount + unitCount)),
             sub(idx(1), parity));
      SmallVector<Value> nextX = loadX(nextOf(trip, 2));
      SmallVector<Value> sums =
          multiplyUnit(mul(parity, idx(s.stageHalves())),
                       SmallVector<Value>(args.slice(accCount, unitCount)),
                       SmallVector<Value>(args.take_front(accCount)));
      llvm::append_range(sums, nextLoads);
      llvm::append_range(sums, nextX);
      scf::YieldOp::create(b, loc, sums);
    }
    return SmallVector<Value>(forOp.getResults().take_front(accCount));
  }

  /// This thread's pieces of x of the trip starting at unit `trip`: 8 f32
  /// values each.
  SmallVector<Value> loadX(Value trip) {
    Value k0 = mul(trip, idx(s.codesPerUnit()));
    SmallVector<Value> pieces;
    for (size_t i = 0; i < stageSource.size(); ++i) {
      SmallVector<Value> from = stageSource[i];
      from.push_back(add(k0, stageK[i]));
      pieces.push_back(vector::LoadOp::create(
          b, loc, VectorType::get({8}, b.getF32Type()), x, from,
          /*nontemporal=*/false, b.getI64IntegerAttr(16)));
    }
    return pieces;
  }

  /// Pieces loaded by loadX into stage `parity`: each word's k in the order
  /// its codes pair (j, j + codes/2), rounded to f16.
  void storeX(ArrayRef<Value> pieces, Value parity) {
    int64_t perWord = s.codesPerWord();
    SmallVector<int64_t> order;
    for (int64_t w = 0; w < 8; w += perWord)
      for (int64_t c : halfPairOrder(perWord))
        order.push_back(w + c);
    Value base = mul(parity, idx(s.stageHalves()));
    for (auto [piece, target] : llvm::zip_equal(pieces, stageTarget)) {
      Value ordered = vector::ShuffleOp::create(b, loc, piece, piece, order);
      Value halves = arith::TruncFOp::create(
          b, loc, VectorType::get({8}, b.getF16Type()), ordered);
      vector::StoreOp::create(b, loc, halves, stage,
                              ValueRange{add(base, target)},
                              /*nontemporal=*/false, b.getI64IntegerAttr(16));
    }
  }

  /// Unit `u` of each tile's channel: nTiles vectors of 4 words; per tile
  /// the half2 splats 1024 + z and -(64 + z) (what a code decodes to, less
  /// q - z: see decodeHalfPairs); then per tile the scale: of channel g as a
  /// half2 splat (scaled in f16), or of C's channels 2t, 2t + 1 as f32
  /// (scaled once per trip, on the sums).
  SmallVector<Value> loadUnit(Value u) {
    Type f16 = b.getF16Type(), f32 = b.getF32Type();
    auto half2 = VectorType::get({2}, f16);
    Value group = s.group == s.k
                      ? idx(0)
                      : arith::DivUIOp::create(
                            b, loc, mul(u, idx(s.codesPerUnit())), idx(s.group))
                            .getResult();
    auto loadScale = [&](Value at) {
      Value sc = memref::LoadOp::create(b, loc, scales, ValueRange{at});
      if (sc.getType().isBF16())
        sc = arith::ExtFOp::create(b, loc, f32, sc);
      return sc;
    };
    SmallVector<Value> words, bias, scale;
    for (int64_t j = 0; j < s.nTiles; ++j) {
      words.push_back(vector::LoadOp::create(
          b, loc, VectorType::get({4}, b.getI32Type()), codes,
          ValueRange{add(codeBase[j], mul(u, idx(4)))},
          /*nontemporal=*/false, b.getI64IntegerAttr(16)));
      Value at = add(scaleBase[j], group);
      auto [bias0, negBias4] = halfBiases(s.symmetric, s.bits, at);
      bias.push_back(bias0);
      bias.push_back(negBias4);
      if (s.scaleOnSums()) {
        // C's channels of the tile (clamped: their sums are not stored).
        for (int64_t c = 0; c < 2; ++c) {
          Value sc = loadScale(add(scaleBaseC[2 * j + c], group));
          if (!sc.getType().isF32())
            sc = arith::ExtFOp::create(b, loc, f32, sc);
          scale.push_back(sc);
        }
      } else {
        Value sc = loadScale(at);
        if (!sc.getType().isF16())
          sc = arith::TruncFOp::create(b, loc, f16, sc);
        scale.push_back(vector::BroadcastOp::create(b, loc, half2, sc));
      }
    }
    llvm::append_range(words, bias);
    llvm::append_range(words, scale);
    return words;
  }

  /// The products of the lane's unit (codes `loaded` by loadUnit, x in the
  /// stage at `stageBase`) added to the tiles: A of the unit's 4 words
  /// first, then tile by tile its codes decoded and multiplied.
  SmallVector<Value> multiplyUnit(Value stageBase, ArrayRef<Value> loaded,
                                  SmallVector<Value> acc) {
    ArrayRef<Value> words = loaded.take_front(s.nTiles);
    ArrayRef<Value> bias = loaded.slice(s.nTiles, 2 * s.nTiles);
    ArrayRef<Value> scale = loaded.drop_front(3 * s.nTiles);
    int64_t perWord = s.codesPerWord(), mmas = perWord / 4;
    int64_t wordsPerPiece = 8 / perWord;
    auto aType = VectorType::get({4, 2}, b.getF16Type());
    auto bType = VectorType::get({2, 2}, b.getF16Type());
    // x of rows g and g + 8 of each tile, a piece (8 halves) each: piece p
    // of the lane's unit holds words p * wordsPerPiece onwards, each as the
    // half2 pairs of its codes (see storeX).
    SmallVector<SmallVector<Value>> xs;
    for (Value rowBase : stageRowBase) {
      SmallVector<Value> pieces;
      for (int64_t p = 0; p < s.piecesPerUnit(); ++p)
        pieces.push_back(vector::LoadOp::create(
            b, loc, VectorType::get({8}, b.getF16Type()), stage,
            ValueRange{add(add(stageBase, rowBase), idx(p * 32))},
            /*nontemporal=*/false, b.getI64IntegerAttr(16)));
      xs.push_back(pieces);
    }
    // A's half2 of pair c of word e (x at codes c and c + perWord / 2).
    auto xPair = [&](int64_t row, int64_t e, int64_t c) {
      Value piece = xs[row][e / wordsPerPiece];
      int64_t at = (e % wordsPerPiece) * perWord + 2 * c;
      return vector::ShuffleOp::create(b, loc, piece, piece,
                                       ArrayRef<int64_t>{at, at + 1})
          .getResult();
    };
    // aOps[e][m][i]: mma i of word e for row tile m.
    SmallVector<SmallVector<SmallVector<Value>>> aOps(4);
    for (int64_t e = 0; e < 4; ++e) {
      aOps[e].resize(s.mTiles);
      for (int64_t m = 0; m < s.mTiles; ++m)
        for (int64_t i = 0; i < mmas; ++i)
          aOps[e][m].push_back(fragment(
              aType,
              {xPair(2 * m, e, 2 * i), xPair(2 * m + 1, e, 2 * i),
               xPair(2 * m, e, 2 * i + 1), xPair(2 * m + 1, e, 2 * i + 1)}));
    }
    Type accType = VectorType::get({2, 2}, b.getF32Type());
    Value zero = arith::ConstantOp::create(
        b, loc, accType,
        DenseElementsAttr::get(cast<ShapedType>(accType), 0.0f));
    for (int64_t j = 0; j < s.nTiles; ++j) {
      SmallVector<Value> bOps;
      for (int64_t e = 0; e < 4; ++e) {
        SmallVector<Value> pairs =
            decodeHalfPairs(vector::ExtractOp::create(b, loc, words[j], e),
                            s.bits, s.symmetric, bias[2 * j], bias[2 * j + 1]);
        if (!s.scaleOnSums())
          for (Value &p : pairs)
            p = arith::MulFOp::create(b, loc, p, scale[j]);
        for (int64_t i = 0; i < mmas; ++i)
          bOps.push_back(fragment(bType, {pairs[2 * i], pairs[2 * i + 1]}));
      }
      for (int64_t m = 0; m < s.mTiles; ++m) {
        Value &a = acc[m * s.nTiles + j];
        Value sum = s.scaleOnSums() ? zero : a;
        for (int64_t e = 0; e < 4; ++e)
          for (int64_t i = 0; i < mmas; ++i)
            sum = nvgpu::MmaSyncOp::create(b, loc, aOps[e][m][i],
                                           bOps[e * mmas + i], sum,
                                           ArrayRef<int64_t>{16, 8, 16});
        if (!s.scaleOnSums()) {
          a = sum;
          continue;
        }
        // C's element [h][c] is channel 2t + c: a += s_c * sum.
        for (int64_t h = 0; h < 2; ++h)
          for (int64_t c = 0; c < 2; ++c) {
            Value v = math::FmaOp::create(
                b, loc, scale[2 * j + c],
                vector::ExtractOp::create(b, loc, sum, ArrayRef<int64_t>{h, c}),
                vector::ExtractOp::create(b, loc, a, ArrayRef<int64_t>{h, c}));
            a = vector::InsertOp::create(b, loc, v, a, ArrayRef<int64_t>{h, c});
          }
      }
    }
    return acc;
  }

  /// C's element [h][c] of tile (m, j) is row g + 8h, channel 8j + 2t + c.
  /// Added atomically where `several` blocks share the tile.
  void store(ArrayRef<Value> acc, Value n0, Value t, Value several) {
    for (int64_t m = 0; m < s.mTiles; ++m)
      for (int64_t j = 0; j < s.nTiles; ++j)
        for (int64_t h = 0; h < 2; ++h)
          for (int64_t c = 0; c < 2; ++c) {
            Value channel = add(n0, add(mul(t, idx(2)), idx(8 * j + c)));
            Value row = rows[2 * m + h];
            Value ok = arith::AndIOp::create(
                b, loc,
                arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row,
                                      rowCount),
                arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                      channel, idx(s.n)));
            auto ifOk = scf::IfOp::create(b, loc, ok);
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPointToStart(ifOk.thenBlock());
            Value v = vector::ExtractOp::create(b, loc, acc[m * s.nTiles + j],
                                                ArrayRef<int64_t>{h, c});
            SmallVector<Value> at = rowIndices[2 * m + h];
            at.push_back(channel);
            auto ifSeveral = scf::IfOp::create(b, loc, several, true);
            b.setInsertionPointToStart(ifSeveral.thenBlock());
            memref::AtomicRMWOp::create(b, loc, arith::AtomicRMWKind::addf, v,
                                        y, at);
            b.setInsertionPointToStart(ifSeveral.elseBlock());
            memref::StoreOp::create(b, loc, v, y, at);
          }
  }

  /// A 2-D mma operand from its rows (half2 each).
  Value fragment(VectorType type, ArrayRef<Value> rowsOf) {
    Value out = ub::PoisonOp::create(b, loc, type);
    for (auto [i, r] : llvm::enumerate(rowsOf))
      out = vector::InsertOp::create(b, loc, r, out, int64_t(i));
    return out;
  }

  const MmaShape &s;
  SmallVector<Value> rows;
  SmallVector<SmallVector<Value>> rowIndices;
  SmallVector<Value> codeBase, scaleBase;
  /// Where the scales of C's channels 2t, 2t + 1 of each tile start.
  SmallVector<Value> scaleBaseC;
  /// The two stages of x (f16) in workgroup memory, and where each row
  /// slot of the lane reads in a stage.
  Value stage;
  SmallVector<Value> stageRowBase;
  /// The pieces this thread stages: x's row indices, k within the trip,
  /// the place in a stage.
  SmallVector<SmallVector<Value>> stageSource;
  SmallVector<Value> stageK, stageTarget;
};

/// `bytes` (a 1-D i8 buffer) seen as elements of `element`.
Value viewAs(OpBuilder &b, Location loc, Value bytes, Type element,
             int64_t elementBytes) {
  auto type = cast<MemRefType>(bytes.getType());
  auto viewType = MemRefType::get({type.getDimSize(0) / elementBytes}, element);
  return memref::ViewOp::create(b, loc, viewType, bytes,
                                arith::ConstantIndexOp::create(b, loc, 0),
                                ValueRange{});
}

/// Null when x can never be read in 16-byte vectors (words of one byte, a
/// row of a lane's word not a whole number of vectors, or rows not of unit
/// stride); else whether this call's x is 16-byte aligned (an i1 computed
/// on the host from x's pointer, offset and strides).
Value vectorLoadable(OpBuilder &b, Location loc, Value x,
                     const KernelShape &shape) {
  auto type = cast<MemRefType>(x.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  if (shape.unitBytes == 1 || shape.codesPerWord() % 4 != 0 ||
      failed(type.getStridesAndOffset(strides, offset)) || strides.back() != 1)
    return nullptr;
  for (int64_t stride : ArrayRef(strides).drop_back())
    if (!ShapedType::isDynamic(stride) && stride % 4 != 0)
      return nullptr;
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, x);
  Value pointer = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, x);
  Value four = arith::ConstantIndexOp::create(b, loc, 4);
  Value start = arith::AddIOp::create(
      b, loc, pointer, arith::MulIOp::create(b, loc, meta.getOffset(), four));
  // Every byte offset that must be a multiple of 16, ORed.
  Value any = start;
  for (int64_t d = 0; d + 1 < type.getRank(); ++d)
    if (ShapedType::isDynamic(strides[d]))
      any = arith::OrIOp::create(
          b, loc, any,
          arith::MulIOp::create(b, loc, meta.getStrides()[d], four));
  Value low = arith::AndIOp::create(b, loc, any,
                                    arith::ConstantIndexOp::create(b, loc, 15));
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, low,
                               arith::ConstantIndexOp::create(b, loc, 0));
}

struct CudaQuantizedMatmulPass
    : quantc::impl::CudaQuantizedMatmulBase<CudaQuantizedMatmulPass> {
  using Base::Base;

  void runOnOperation() override {
    if (rowTiles < 0 || rowTiles > 4 || channelTiles < 0 || channelTiles > 8) {
      // At the module's location, without printing the module.
      mlir::emitError(getOperation().getLoc(),
                      "quantc-cuda-qmatmul: row-tiles must be 0-4 and "
                      "channel-tiles 0-8 (registers; 0: chosen by the codes' "
                      "bits and the rows), got ")
          << int64_t(rowTiles) << " and " << int64_t(channelTiles);
      return signalPassFailure();
    }
    // A block's rows of x, two stages of them, inside the 48 KB of static
    // shared memory a block may have: 64 rows take 40 KB (4-bit codes).
    if ((rowWarps != 1 && rowWarps != 2 && rowWarps != 4) ||
        rowTiles * rowWarps > 4) {
      mlir::emitError(getOperation().getLoc(),
                      "quantc-cuda-qmatmul: row-warps must be 1, 2 or 4, "
                      "with row-tiles x row-warps at most 4 (64 rows of x in "
                      "shared memory), got ")
          << int64_t(rowWarps) << " and " << int64_t(rowTiles);
      return signalPassFailure();
    }
    SmallVector<quantc::qc::UKernelOp> kernels;
    getOperation().walk([&](quantc::qc::UKernelOp op) {
      if (op.getFn() == kKernel)
        kernels.push_back(op);
    });
    for (quantc::qc::UKernelOp op : kernels)
      if (failed(rewrite(op)))
        return signalPassFailure();
  }

  LogicalResult rewrite(quantc::qc::UKernelOp op) {
    if (!op.getResults().empty() || op.getInputs().size() != 6 ||
        op.getOutputs().size() != 1 || op.getScalars().size() != 6)
      return op.emitError("expected the bufferized form of the kernel call "
                          "(6 buffers in, 1 out, 6 scalars)");
    SmallVector<int64_t> scalar;
    for (Value v : op.getScalars()) {
      std::optional<int64_t> c = getConstantIntValue(v);
      if (!c)
        return op.emitError("the kernel's sizes and format must be constants");
      scalar.push_back(*c);
    }
    int64_t flags = scalar[5];
    constexpr int64_t kUnsupported = QC_QMATMUL_CODEBOOK | QC_QMATMUL_FP8_E4M3 |
                                     QC_QMATMUL_FP8_E5M2 |
                                     QC_QMATMUL_DOUBLE_QUANT;
    KernelShape shape;
    shape.k = scalar[0];
    shape.n = scalar[1];
    shape.bits = scalar[2];
    shape.group = scalar[3] ? scalar[3] : shape.k;
    shape.symmetric = flags & QC_QMATMUL_SYMMETRIC;
    if ((flags & kUnsupported) || !(flags & QC_QMATMUL_INIT) ||
        (shape.bits != 2 && shape.bits != 4 && shape.bits != 8))
      return op.emitError("the GPU kernel takes 2-, 4- or 8-bit integer "
                          "codes with scales as they are (flags ")
             << flags << ", " << shape.bits << " bits)";
    // The widest unit that divides a row and stays in one group.
    auto fits = [&](int64_t unitBytes) {
      return shape.rowBytes() % unitBytes == 0 &&
             (shape.group == shape.k ||
              shape.group % (unitBytes * 8 / shape.bits) == 0);
    };
    shape.unitBytes = fits(4) ? 4 : 1;
    if (!fits(shape.unitBytes))
      return op.emitError("a group of ") << shape.group << " splits a byte of "
                                         << shape.bits << "-bit codes";
    bool wideUnits = fits(16);

    Location loc = op.getLoc();
    OpBuilder b(op);
    Value x = op.getInputs()[0], y = op.getOutputs()[0];
    auto xType = cast<MemRefType>(x.getType());
    for (Value bytes : op.getInputs().drop_front()) {
      auto t = dyn_cast<MemRefType>(bytes.getType());
      if (!t || t.getRank() != 1 || !t.hasStaticShape() ||
          !t.getElementType().isInteger(8) || !t.getLayout().isIdentity())
        return op.emitError("expected the weight's pieces as static 1-D "
                            "byte buffers");
    }
    Value codes = op.getInputs()[1];
    if (shape.unitBytes == 4)
      codes = viewAs(b, loc, codes, b.getI32Type(), 4);
    Type scaleType = flags & QC_QMATMUL_SCALE_F16    ? b.getF16Type()
                     : flags & QC_QMATMUL_SCALE_BF16 ? b.getBF16Type()
                                                     : b.getF32Type();
    Value scales = viewAs(b, loc, op.getInputs()[2], scaleType,
                          scaleType.getIntOrFloatBitWidth() / 8);
    Value zeros = op.getInputs()[3];

    // Rows: every dimension of x but the last.
    SmallVector<Value> rowSizes;
    Value rowCount = arith::ConstantIndexOp::create(b, loc, 1);
    for (int64_t d = 0; d + 1 < xType.getRank(); ++d) {
      Value size = b.createOrFold<memref::DimOp>(loc, x, d);
      rowSizes.push_back(size);
      rowCount = b.createOrFold<arith::MulIOp>(loc, rowCount, size);
    }

    // x in 16-byte vectors where its rows are contiguous (a static unit
    // stride), and, checked at run time, its start and row strides are
    // multiples of 16 bytes; else scalar loads.
    Value xAligned = vectorLoadable(b, loc, x, shape);
    std::function<void(OpBuilder &, int64_t, bool)> emitKernel;
    auto emitLaunch = [&](OpBuilder &at, int64_t rows) {
      if (!xAligned)
        return emitKernel(at, rows, false);
      auto ifAligned = scf::IfOp::create(at, loc, xAligned, /*withElse=*/true);
      OpBuilder thenB = ifAligned.getThenBodyBuilder();
      emitKernel(thenB, rows, true);
      OpBuilder elseB = ifAligned.getElseBodyBuilder();
      emitKernel(elseB, rows, false);
    };
    emitKernel = [&](OpBuilder &at, int64_t rows, bool vectorX) {
      KernelShape variant = shape;
      variant.rows = rows;
      variant.vectorX = vectorX;
      // One row (a decode step): the block's warps split the row (more
      // loads in flight where N is small), 8 channels per warp, 16-byte
      // units (or four 4-byte words: 16 bytes in flight per lane and
      // channel either way). More rows carry more accumulators and x
      // values instead.
      if (rows == 1) {
        variant.splitK = true;
        variant.channels = 8;
        if (wideUnits)
          variant.unitBytes = 16;
        else if (variant.unitBytes == 4)
          variant.unroll = 4;
        variant.halfProducts =
            vectorX && wideUnits && shape.bits == 4 && shape.k % 8 == 0;
        // Half the instructions a code: two units in flight per lane to
        // keep the loads ahead (measured: 10-15% on the 8192 x 28672
        // shapes, level on 4096 x 4096).
        if (variant.halfProducts)
          variant.unroll = 2;
      }
      auto c = [&](int64_t v) {
        return arith::ConstantIndexOp::create(at, loc, v).getResult();
      };
      int64_t perBlock = variant.channelsPerBlock();
      Value gridX = c((shape.n + perBlock - 1) / perBlock);
      if (rows > 1)
        gridX = arith::MulIOp::create(
            at, loc, gridX,
            arith::CeilDivUIOp::create(at, loc, rowCount, c(rows)));
      SmallVector<Type> workgroup;
      if (variant.splitK)
        workgroup.push_back(MemRefType::get(
            {kWarpsPerBlock * rows * variant.channels}, at.getF32Type(),
            MemRefLayoutAttrInterface(),
            gpu::AddressSpaceAttr::get(at.getContext(),
                                       gpu::AddressSpace::Workgroup)));
      auto launched =
          createLaunch(at, loc, gridX, kWarp, kWarpsPerBlock, workgroup);
      gpu::LaunchOp launch = launched.first;
      OpBuilder &body = launched.second;
      KernelBuilder(body, loc, variant, x, y, codes, scales, zeros, rowSizes,
                    rowCount)
          .build(launch);
    };

    // Many rows: the tensor-core kernel where it takes the format and x is
    // aligned (checked at run time), else the 8-row kernel.
    bool mma = xAligned && MmaShape::takes(shape.bits, shape.k, shape.group);
    // Its tiles: the options', else chosen by the bits and the rows.
    auto mmaShape = [&](bool manyRows) {
      MmaShape variant;
      variant.k = shape.k;
      variant.n = shape.n;
      variant.bits = shape.bits;
      variant.group = shape.group;
      variant.symmetric = shape.symmetric;
      MmaTiles chosen = mmaTiles(shape.bits, manyRows);
      variant.mTiles = rowTiles
                           ? int64_t(rowTiles)
                           : std::min<int64_t>(chosen.rowTiles, 4 / rowWarps);
      variant.nTiles =
          channelTiles ? int64_t(channelTiles) : chosen.channelTiles;
      variant.rowWarps = rowWarps;
      return variant;
    };
    auto emitMma = [&](OpBuilder &at, const MmaShape &variant) {
      auto c = [&](int64_t v) {
        return arith::ConstantIndexOp::create(at, loc, v).getResult();
      };
      int64_t perBlock = variant.channelsPerBlock();
      Value rowBlocks = arith::CeilDivUIOp::create(at, loc, rowCount,
                                                   c(variant.rowsPerBlock()));
      Value tiles = arith::MulIOp::create(
          at, loc, c((shape.n + perBlock - 1) / perBlock), rowBlocks);
      // Few tiles (few rows or channels, a long K): blocks split K too, up
      // to kMmaBlocks blocks, each at least 4 trips.
      int64_t trips = variant.unitsPerRow() / 4;
      Value splits = arith::MinUIOp::create(
          at, loc, arith::CeilDivUIOp::create(at, loc, c(kMmaBlocks), tiles),
          c(std::max<int64_t>(1, trips / 4)));
      Value tripsPerSplit =
          arith::CeilDivUIOp::create(at, loc, c(trips), splits);
      splits = arith::CeilDivUIOp::create(at, loc, c(trips), tripsPerSplit);
      Value gridX = arith::MulIOp::create(at, loc, tiles, splits);
      auto ifSplit = scf::IfOp::create(
          at, loc,
          arith::CmpIOp::create(at, loc, arith::CmpIPredicate::ugt, splits,
                                c(1)));
      {
        OpBuilder zeroB = ifSplit.getThenBodyBuilder();
        emitZero(zeroB, loc, y, rowSizes, rowCount, shape.n);
      }
      Type stages =
          MemRefType::get({2 * variant.stageHalves()}, at.getF16Type(),
                          MemRefLayoutAttrInterface(),
                          gpu::AddressSpaceAttr::get(
                              at.getContext(), gpu::AddressSpace::Workgroup));
      auto launched =
          createLaunch(at, loc, gridX, kWarp, kWarpsPerBlock, stages);
      gpu::LaunchOp launch = launched.first;
      OpBuilder &body = launched.second;
      MmaKernelBuilder(body, loc, variant, x, y, codes, scales, zeros,
                       rowSizes, rowCount)
          .build(launch, rowBlocks, splits, tripsPerSplit);
    };
    // One shape, or two chosen by the row count (at run time where it is
    // known only then).
    auto emitMmaForRows = [&](OpBuilder &at) {
      MmaShape few = mmaShape(false), many = mmaShape(true);
      if (few.mTiles == many.mTiles && few.nTiles == many.nTiles)
        return emitMma(at, few);
      int64_t manyRows = mmaManyRows(shape.bits);
      if (std::optional<int64_t> rows = getConstantIntValue(rowCount))
        return emitMma(at, *rows >= manyRows ? many : few);
      auto ifMany = scf::IfOp::create(
          at, loc,
          arith::CmpIOp::create(
              at, loc, arith::CmpIPredicate::uge, rowCount,
              arith::ConstantIndexOp::create(at, loc, manyRows)),
          /*withElse=*/true);
      OpBuilder manyB = ifMany.getThenBodyBuilder();
      emitMma(manyB, many);
      OpBuilder fewB = ifMany.getElseBodyBuilder();
      emitMma(fewB, few);
    };
    auto emitRows = [&](OpBuilder &at) {
      if (!mma)
        return emitLaunch(at, 8);
      Value many = arith::CmpIOp::create(at, loc, arith::CmpIPredicate::uge,
                                         rowCount,
                                         arith::ConstantIndexOp::create(
                                             at, loc, kMmaMinRows));
      auto ifMma = scf::IfOp::create(
          at, loc, arith::AndIOp::create(at, loc, many, xAligned),
          /*withElse=*/true);
      OpBuilder thenB = ifMma.getThenBodyBuilder();
      emitMmaForRows(thenB);
      OpBuilder elseB = ifMma.getElseBodyBuilder();
      emitLaunch(elseB, 8);
    };

    std::optional<int64_t> staticRows = getConstantIntValue(rowCount);
    if (staticRows) {
      if (*staticRows == 1)
        emitLaunch(b, 1);
      else if (*staticRows >= kMmaMinRows)
        emitRows(b);
      else if (*staticRows > 1)
        emitLaunch(b, 8);
    } else {
      // One row (decoding a token) or several (a prompt); none: no launch.
      Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
      Value one =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rowCount, c1);
      Value some = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                         rowCount, c1);
      auto ifOne = scf::IfOp::create(b, loc, one, /*withElse=*/true);
      OpBuilder thenB = ifOne.getThenBodyBuilder();
      emitLaunch(thenB, 1);
      OpBuilder elseB = ifOne.getElseBodyBuilder();
      auto ifSome = scf::IfOp::create(elseB, loc, some);
      OpBuilder someB = ifSome.getThenBodyBuilder();
      emitRows(someB);
    }
    op.erase();
    return success();
  }
};

} // namespace
