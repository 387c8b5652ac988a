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
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
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
/// Output channels per warp: each x value a lane loads serves all of them.
constexpr int64_t kChannelsPerWarp = 4;

/// What one kernel is specialized on (all known at compile time).
struct KernelShape {
  int64_t k = 0, n = 0, bits = 0;
  /// Inputs per scale (k when there is one scale per channel).
  int64_t group = 0;
  bool symmetric = true;
  /// Bytes a lane loads at a time: 4, or 1 where a channel's row is not a
  /// whole number of 4-byte words or a word would straddle a group.
  int64_t wordBytes = 4;
  /// Rows of x one block takes.
  int64_t rows = 1;
  /// Words each lane has in flight per loop trip.
  int64_t unroll = 1;
  /// x read 4 values (16 aligned bytes) at a time: a lane's word meets
  /// contiguous x values, so scalar loads would touch a sector per lane.
  bool vectorX = false;

  int64_t codesPerWord() const { return wordBytes * 8 / bits; }
  int64_t rowBytes() const { return (k * bits + 7) / 8; }
  int64_t wordsPerRow() const { return rowBytes() / wordBytes; }
  int64_t groups() const { return (k + group - 1) / group; }
};

/// Builds the body of one launch; `x`, `y` the activations and result in
/// their own shapes (rows are all dimensions but the last), `codes` as
/// words (i32 or i8), `scales` typed, `zeros` bytes (affine only).
class KernelBuilder {
public:
  KernelBuilder(OpBuilder &b, Location loc, const KernelShape &shape,
                Value x, Value y, Value codes, Value scales, Value zeros,
                ArrayRef<Value> rowSizes, Value rowCount)
      : b(b), loc(loc), s(shape), x(x), y(y), codes(codes), scales(scales),
        zeros(zeros), rowSizes(rowSizes), rowCount(rowCount) {}

  void build(gpu::LaunchOp launch) {
    Value lane = launch.getThreadIds().x;
    Value warp = launch.getThreadIds().y;
    Value n0 = mul(add(mul(launch.getBlockIds().x, idx(kWarpsPerBlock)), warp),
                   idx(kChannelsPerWarp));
    Value r0 = mul(launch.getBlockIds().y, idx(s.rows));

    // Rows and channels past the end are clamped (read, never stored).
    Value lastRow = sub(rowCount, idx(1));
    for (int64_t r = 0; r < s.rows; ++r)
      rowIndices.push_back(
          delinearize(arith::MinUIOp::create(b, loc, add(r0, idx(r)), lastRow)));
    for (int64_t c = 0; c < kChannelsPerWarp; ++c) {
      Value channel =
          arith::MinUIOp::create(b, loc, add(n0, idx(c)), idx(s.n - 1));
      codeBase.push_back(mul(channel, idx(s.wordsPerRow())));
      scaleBase.push_back(mul(channel, idx(s.groups())));
    }

    SmallVector<Value> acc(s.rows * kChannelsPerWarp,
                           arith::ConstantFloatOp::create(
                               b, loc, b.getF32Type(), APFloat(0.0f)));
    int64_t words = s.wordsPerRow();
    int64_t step = kWarp * s.unroll;
    int64_t mainEnd = words / step * step;
    // Whole trips of `unroll` words per lane, then the rest one at a time.
    if (mainEnd > 0)
      acc = pipelinedLoop(lane, mainEnd, step, acc);
    if (mainEnd < words) {
      auto forOp = scf::ForOp::create(b, loc, add(idx(mainEnd), lane),
                                      idx(words), idx(kWarp), acc);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(forOp.getBody());
      Value w = forOp.getInductionVar();
      scf::YieldOp::create(
          b, loc,
          decodeWord(w, loadWord(w),
                     SmallVector<Value>(forOp.getRegionIterArgs())));
      acc = SmallVector<Value>(forOp.getResults());
    }

    for (Value &v : acc)
      v = warpSum(v);
    Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                        lane, idx(0));
    auto ifFirst = scf::IfOp::create(b, loc, first);
    b.setInsertionPointToStart(ifFirst.thenBlock());
    for (int64_t r = 0; r < s.rows; ++r)
      for (int64_t c = 0; c < kChannelsPerWarp; ++c) {
        Value inRows = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::ult, add(r0, idx(r)), rowCount);
        Value channel = add(n0, idx(c));
        Value inChannels = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::ult, channel, idx(s.n));
        auto store = scf::IfOp::create(
            b, loc, arith::AndIOp::create(b, loc, inRows, inChannels));
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(store.thenBlock());
        SmallVector<Value> at = rowIndices[r];
        at.push_back(channel);
        memref::StoreOp::create(b, loc, acc[r * kChannelsPerWarp + c], y, at);
      }
    b.setInsertionPointAfter(ifFirst);
  }

private:

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value i32(int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 32); }
  Value add(Value l, Value r) { return arith::AddIOp::create(b, loc, l, r); }
  Value sub(Value l, Value r) { return arith::SubIOp::create(b, loc, l, r); }
  Value mul(Value l, Value r) { return arith::MulIOp::create(b, loc, l, r); }
  Value fadd(Value l, Value r) { return arith::AddFOp::create(b, loc, l, r); }
  Value fmul(Value l, Value r) { return arith::MulFOp::create(b, loc, l, r); }

  /// A row number as indices of x's (and y's) leading dimensions.
  SmallVector<Value> delinearize(Value row) {
    SmallVector<Value> out(rowSizes.size());
    for (int64_t d = static_cast<int64_t>(rowSizes.size()) - 1; d >= 0; --d) {
      if (d == 0) {
        out[d] = row;
        break;
      }
      out[d] = arith::RemUIOp::create(b, loc, row, rowSizes[d]);
      row = arith::DivUIOp::create(b, loc, row, rowSizes[d]);
    }
    return out;
  }

  /// The words of trip `base`: `unroll` words per lane, 32 apart.
  SmallVector<Value> tripWords(Value base, Value lane) {
    SmallVector<Value> ws;
    for (int64_t u = 0; u < s.unroll; ++u)
      ws.push_back(add(base, add(lane, idx(u * kWarp))));
    return ws;
  }

  /// The trips over words [0, end): each loads the next trip's words (the
  /// last trip reloads its own) before decoding the ones the previous trip
  /// loaded, so a warp always has a trip of loads in flight.
  SmallVector<Value> pipelinedLoop(Value lane, int64_t end, int64_t step,
                                   SmallVector<Value> acc) {
    size_t accCount = acc.size();
    SmallVector<Value> carried = acc;
    for (Value w : tripWords(idx(0), lane))
      llvm::append_range(carried, loadWord(w));
    auto forOp =
        scf::ForOp::create(b, loc, idx(0), idx(end), idx(step), carried);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forOp.getBody());
    Value next = arith::MinUIOp::create(
        b, loc, add(forOp.getInductionVar(), idx(step)), idx(end - step));
    SmallVector<Value> nextLoads;
    for (Value w : tripWords(next, lane))
      llvm::append_range(nextLoads, loadWord(w));
    ValueRange args = forOp.getRegionIterArgs();
    SmallVector<Value> sums(args.take_front(accCount));
    size_t perWord = (args.size() - accCount) / s.unroll;
    SmallVector<Value> words = tripWords(forOp.getInductionVar(), lane);
    for (int64_t u = 0; u < s.unroll; ++u)
      sums = decodeWord(
          words[u],
          SmallVector<Value>(args.slice(accCount + u * perWord, perWord)),
          sums);
    llvm::append_range(sums, nextLoads);
    scf::YieldOp::create(b, loc, sums);
    return SmallVector<Value>(forOp.getResults().take_front(accCount));
  }

  /// Word `w` of each channel's row with its scale (and negated zero
  /// point): C words, C scales[, C zero points].
  SmallVector<Value> loadWord(Value w) {
    Type f32 = b.getF32Type();
    Value group = s.group == s.k
                      ? idx(0)
                      : arith::DivUIOp::create(
                            b, loc, mul(w, idx(s.codesPerWord())),
                            idx(s.group))
                            .getResult();
    SmallVector<Value> raw, scale, zero;
    for (int64_t c = 0; c < kChannelsPerWarp; ++c) {
      Value word = memref::LoadOp::create(b, loc, codes,
                                          ValueRange{add(codeBase[c], w)});
      if (s.wordBytes == 1)
        word = arith::ExtUIOp::create(b, loc, b.getI32Type(), word);
      raw.push_back(word);
      Value at = add(scaleBase[c], group);
      Value sc = memref::LoadOp::create(b, loc, scales, ValueRange{at});
      if (!sc.getType().isF32())
        sc = arith::ExtFOp::create(b, loc, f32, sc);
      scale.push_back(sc);
      if (!s.symmetric) {
        Value z = memref::LoadOp::create(b, loc, zeros, ValueRange{at});
        z = arith::ExtUIOp::create(b, loc, b.getI32Type(), z);
        zero.push_back(arith::NegFOp::create(
            b, loc, arith::UIToFPOp::create(b, loc, f32, z)));
      }
    }
    llvm::append_range(raw, scale);
    llvm::append_range(raw, zero);
    return raw;
  }

  /// Adds word `w` of each channel's row (`loaded` by loadWord), times the
  /// rows of x it meets.
  ///
  /// A code is decoded without an int-to-float conversion (a quarter-rate
  /// instruction, the kernel's bottleneck if used): the code, masked in
  /// place at bit p of a 16-bit half of the word and ORed with the exponent
  /// of 2^23, is the float 2^23 + q * 2^p; minus 2^23 (plus the symmetric
  /// codes' offset, whose sign bits were flipped first) it is exactly
  /// (q - offset) * 2^p, and the x value it multiplies is pre-scaled by
  /// 2^-p, once for all channels.
  SmallVector<Value> decodeWord(Value w, ArrayRef<Value> loaded,
                                SmallVector<Value> acc) {
    Type f32 = b.getF32Type();
    int64_t perWord = s.codesPerWord();
    Value k0 = mul(w, idx(perWord));
    ArrayRef<Value> raw = loaded.take_front(kChannelsPerWarp);
    ArrayRef<Value> scale = loaded.slice(kChannelsPerWarp, kChannelsPerWarp);
    ArrayRef<Value> zero = loaded.drop_front(2 * kChannelsPerWarp);
    // x[r, k0 + j] * 2^-p; past K (the last word of a ragged row) x reads
    // as 0, so that padding codes add nothing.
    bool ragged = s.k % perWord != 0;
    Value zeroF = f32Constant(0.0f);
    SmallVector<SmallVector<Value>> xs(s.rows);
    SmallVector<Value> xSum(s.rows);
    SmallVector<SmallVector<Value>> xVectors(s.rows);
    if (s.vectorX) {
      auto type = VectorType::get({4}, f32);
      for (int64_t r = 0; r < s.rows; ++r)
        for (int64_t q = 0; q < perWord; q += 4) {
          SmallVector<Value> at = rowIndices[r];
          at.push_back(add(k0, idx(q)));
          xVectors[r].push_back(vector::LoadOp::create(
              b, loc, type, x, at, /*nontemporal=*/false,
              b.getI64IntegerAttr(16)));
        }
    }
    for (int64_t j = 0; j < perWord; ++j) {
      Value kj = add(k0, idx(j));
      Value valid;
      if (ragged) {
        valid = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, kj,
                                      idx(s.k));
        kj = arith::MinUIOp::create(b, loc, kj, idx(s.k - 1));
      }
      for (int64_t r = 0; r < s.rows; ++r) {
        SmallVector<Value> at = rowIndices[r];
        at.push_back(kj);
        Value v = s.vectorX ? vector::ExtractOp::create(
                                  b, loc, xVectors[r][j / 4], j % 4)
                                  .getResult()
                            : memref::LoadOp::create(b, loc, x, at).getResult();
        if (ragged)
          v = arith::SelectOp::create(b, loc, valid, v, zeroF);
        if (!s.symmetric)
          xSum[r] = j == 0 ? v : fadd(xSum[r], v);
        if (int64_t p = position(j))
          v = fmul(v, f32Constant(std::ldexp(1.0f, -p)));
        xs[r].push_back(v);
      }
    }
    for (int64_t c = 0; c < kChannelsPerWarp; ++c) {
      Value word = raw[c];
      if (s.symmetric)
        word = arith::XOrIOp::create(b, loc, word, i32(signBits()));
      Value high = s.wordBytes == 4
                       ? arith::ShRUIOp::create(b, loc, word, i32(16))
                             .getResult()
                       : Value();
      SmallVector<Value> codesF;
      for (int64_t j = 0; j < perWord; ++j)
        codesF.push_back(
            decode(s.bits * j < 16 ? word : high, position(j)));
      for (int64_t r = 0; r < s.rows; ++r) {
        Value part = fmul(xs[r][0], codesF[0]);
        for (int64_t j = 1; j < perWord; ++j)
          part = math::FmaOp::create(b, loc, xs[r][j], codesF[j], part);
        // sum_j x_j (q_j - z) = sum_j x_j q_j - z sum_j x_j
        if (!s.symmetric)
          part = math::FmaOp::create(b, loc, zero[c], xSum[r], part);
        Value &a = acc[r * kChannelsPerWarp + c];
        a = math::FmaOp::create(b, loc, scale[c], part, a);
      }
    }
    return acc;
  }

  /// Where code j sits in its 16-bit half of the word.
  int64_t position(int64_t j) const { return s.bits * j % 16; }

  /// A word whose codes all have their top bit set (symmetric codes,
  /// XORed with it, read as unsigned code + 2^(bits-1)).
  int64_t signBits() const {
    uint32_t out = 0;
    for (int64_t p = s.bits - 1; p < 32; p += s.bits)
      out |= 1u << p;
    return static_cast<int32_t>(out);
  }

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

  OpBuilder &b;
  Location loc;
  const KernelShape &s;
  Value x, y, codes, scales, zeros;
  SmallVector<Value> rowSizes;
  Value rowCount;
  SmallVector<SmallVector<Value>> rowIndices;
  SmallVector<Value> codeBase, scaleBase;
};

/// `bytes` (a 1-D i8 buffer) seen as elements of `element`.
Value viewAs(OpBuilder &b, Location loc, Value bytes, Type element,
             int64_t elementBytes) {
  auto type = cast<MemRefType>(bytes.getType());
  auto viewType =
      MemRefType::get({type.getDimSize(0) / elementBytes}, element);
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
  if (shape.wordBytes != 4 || shape.codesPerWord() % 4 != 0 ||
      failed(type.getStridesAndOffset(strides, offset)) ||
      strides.back() != 1)
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
  void runOnOperation() override {
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
    constexpr int64_t kUnsupported = QC_QMATMUL_CODEBOOK |
                                     QC_QMATMUL_FP8_E4M3 |
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
    auto wordInOneGroup = [&](int64_t wordBytes) {
      return shape.group == shape.k ||
             shape.group % (wordBytes * 8 / shape.bits) == 0;
    };
    shape.wordBytes =
        shape.rowBytes() % 4 == 0 && wordInOneGroup(4) ? 4 : 1;
    if (!wordInOneGroup(shape.wordBytes))
      return op.emitError("a group of ")
             << shape.group << " splits a byte of " << shape.bits
             << "-bit codes";

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
    if (shape.wordBytes == 4)
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
      // One row: four words in flight per lane; more rows carry more
      // accumulators and x values instead.
      variant.unroll = rows == 1 ? 4 : 1;
      auto c = [&](int64_t v) {
        return arith::ConstantIndexOp::create(at, loc, v).getResult();
      };
      int64_t perBlock = kWarpsPerBlock * kChannelsPerWarp;
      std::optional<int64_t> known = getConstantIntValue(rowCount);
      Value gridY =
          known ? c((*known + rows - 1) / rows)
                : arith::CeilDivUIOp::create(at, loc, rowCount, c(rows))
                      .getResult();
      auto launch = gpu::LaunchOp::create(
          at, loc, c((shape.n + perBlock - 1) / perBlock), gridY, c(1),
          c(kWarp), c(kWarpsPerBlock), c(1));
      Block &entry = launch.getBody().front();
      OpBuilder body = OpBuilder::atBlockEnd(&entry);
      if (entry.empty() || !entry.back().hasTrait<OpTrait::IsTerminator>())
        gpu::TerminatorOp::create(body, loc);
      body.setInsertionPoint(entry.getTerminator());
      KernelBuilder(body, loc, variant, x, y, codes, scales, zeros, rowSizes,
                    rowCount)
          .build(launch);
    };

    std::optional<int64_t> staticRows = getConstantIntValue(rowCount);
    if (staticRows) {
      if (*staticRows > 0)
        emitLaunch(b, *staticRows == 1 ? 1 : 8);
    } else {
      // One row (decoding a token) or several (a prompt); none: no launch.
      Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
      Value one = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                        rowCount, c1);
      Value some = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                         rowCount, c1);
      auto ifOne = scf::IfOp::create(b, loc, one, /*withElse=*/true);
      OpBuilder thenB = ifOne.getThenBodyBuilder();
      emitLaunch(thenB, 1);
      OpBuilder elseB = ifOne.getElseBodyBuilder();
      auto ifSome = scf::IfOp::create(elseB, loc, some);
      OpBuilder someB = ifSome.getThenBodyBuilder();
      emitLaunch(someB, 8);
    }
    op.erase();
    return success();
  }
};

} // namespace
