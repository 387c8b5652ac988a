//===- QuantizedLinearToUkernel.cpp - quantized qc.linear to the kernel ---===//

#include "quantc/Target/CPU/KernelFlags.h"
#include "quantc/Target/CPU/Passes.h"
#include "quantc/Conversion/QcToLinalg.h"
#include "quantc/kernels.h"

#include "QC/IR/QC.h"
#include "QC/IR/QConstant.h"
#include "quantc/Numerics/Format.h"
#include "quantc/Numerics/Scalar.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"

namespace quantc {
#define GEN_PASS_DEF_QUANTIZEDLINEARTOUKERNEL
#include "quantc/Target/CPU/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {

constexpr const char *kKernel = "quantc_qmatmul_f32";

MemRefType matrixType(MLIRContext *ctx) {
  int64_t d = ShapedType::kDynamic;
  return MemRefType::get({d, d}, Float32Type::get(ctx),
                         StridedLayoutAttr::get(ctx, d, {d, d}));
}

MemRefType bytesType(MLIRContext *ctx) {
  return MemRefType::get({ShapedType::kDynamic}, IntegerType::get(ctx, 8));
}

/// True if the kernel implements `f`: every code (integers, NF4/FP4 through
/// their table, FP8) and scale kind, per channel or group, without outliers.
bool supported(const quantc::numerics::Format &f) {
  return !f.outliers &&
         f.granularity != quantc::numerics::Granularity::PerTensor;
}

struct QuantizedLinearToUkernelPass
    : quantc::impl::QuantizedLinearToUkernelBase<
          QuantizedLinearToUkernelPass> {
  bool int8Activations = false;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    int8Activations = module->hasAttr(quantc::kInt8ActivationsAttr);
    SmallVector<quantc::qc::LinearOp> linears;
    module.walk([&](quantc::qc::LinearOp op) {
      auto weight = op.getWeight().getDefiningOp<quantc::qc::QConstantOp>();
      if (!weight ||
          !cast<ShapedType>(op.getInput().getType()).getElementType().isF32())
        return;
      auto type = cast<quantc::qc::QWeightType>(weight.getType());
      if (supported(quantc::qc::toNumericsFormat(type.getFormat())))
        linears.push_back(op);
    });
    if (linears.empty())
      return;
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    if (!module.lookupSymbol(kKernel)) {
      b.setInsertionPointToStart(module.getBody());
      Type i64 = b.getI64Type();
      MemRefType m = matrixType(ctx), bytes = bytesType(ctx);
      auto decl = func::FuncOp::create(
          b, module.getLoc(), kKernel,
          b.getFunctionType(
              {m, bytes, bytes, bytes, bytes, bytes, m, i64, i64, i64, i64, i64,
               i64},
              {}));
      decl.setPrivate();
      decl->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    }
    SymbolTable symbols(module);
    for (quantc::qc::LinearOp op : linears)
      rewrite(b, symbols, op);
    // Quantized constants no layer reads any more.
    module.walk([](quantc::qc::QConstantOp op) {
      if (op->use_empty())
        op.erase();
    });
  }

  /// A constant byte global holding `value`'s bytes.
  static memref::GlobalOp bytesGlobal(SymbolTable &symbols, Location loc,
                                      ElementsAttr value, StringRef name) {
    std::vector<char> data = quantc::storedBytes(value);
    OpBuilder b(symbols.getOp()->getContext());
    auto type = MemRefType::get({static_cast<int64_t>(data.size())},
                                b.getI8Type());
    auto init = DenseResourceElementsAttr::get(
        RankedTensorType::get(type.getShape(), b.getI8Type()), name,
        HeapAsmResourceBlob::allocateAndCopyWithAlign(
            ArrayRef<char>(data.data(), data.size()), 1));
    b.setInsertionPointToStart(&symbols.getOp()->getRegion(0).front());
    auto global = memref::GlobalOp::create(
        b, loc, name, b.getStringAttr("private"), type, init,
        /*constant=*/true, /*alignment=*/b.getI64IntegerAttr(64));
    symbols.insert(global); // renamed if the name is taken
    return global;
  }

  void rewrite(OpBuilder &b, SymbolTable &symbols, quantc::qc::LinearOp op) {
    MLIRContext *ctx = b.getContext();
    Location loc = op.getLoc();
    auto weight = op.getWeight().getDefiningOp<quantc::qc::QConstantOp>();
    auto wtype = cast<quantc::qc::QWeightType>(weight.getType());
    quantc::numerics::Format f = quantc::qc::toNumericsFormat(wtype.getFormat());
    int64_t k = wtype.getInputDim(), n = wtype.getOutputDim();
    std::string name = (op.getLayer() ? op.getLayer()->str() : "w") + "_q";

    b.setInsertionPoint(op);
    auto read = [&](ElementsAttr value, StringRef suffix) -> Value {
      memref::GlobalOp g = bytesGlobal(symbols, loc, value, name + suffix.str());
      Value v = memref::GetGlobalOp::create(b, loc, g.getType(), g.getSymName());
      return memref::CastOp::create(b, loc, bytesType(ctx), v);
    };
    Value codes = read(weight.getCodes(), "_codes");
    Value scales = read(weight.getScales(), "_scales");
    // Pieces a format does not have are passed as `scales`, never read.
    Value zeros = weight.getZeroPoints() ? read(*weight.getZeroPoints(), "_zeros")
                                         : scales;
    Value table = scales;
    if (quantc::isCodebook(f)) {
      SmallVector<float> values;
      for (unsigned c = 0; c < (1u << f.bits); ++c)
        values.push_back(quantc::numerics::decodeFloatCode(f.code, c));
      table = read(DenseElementsAttr::get(
                       RankedTensorType::get({int64_t(values.size())},
                                             b.getF32Type()),
                       ArrayRef<float>(values)),
                   "_table");
    }
    Value scaleParams =
        f.scaleBits ? read(*weight.getScaleParams(), "_scale_params") : scales;

    // Activations as [M, K]: the leading dimensions are rows.
    Value x = op.getInput();
    auto xType = cast<RankedTensorType>(x.getType());
    int64_t rank = xType.getRank();
    SmallVector<ReassociationIndices> rows(2);
    for (int64_t i = 0; i + 1 < rank; ++i)
      rows[0].push_back(i);
    rows[1].push_back(rank - 1);
    // The collapse happens on the buffer (a view), as for the f32 kernel.
    auto xBuffer = MemRefType::get(xType.getShape(), b.getF32Type());
    Value xb = bufferization::ToBufferOp::create(b, loc, xBuffer, x,
                                                 /*read_only=*/true);
    if (rank > 2)
      xb = memref::CollapseShapeOp::create(b, loc, xb, rows);
    // The result is allocated in its own shape and written through a
    // collapsed view: expanding [M, N] back would give a group of several
    // dynamic sizes, which upstream's strided-metadata expansion cannot lower.
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    SmallVector<int64_t> yShape = llvm::to_vector(xType.getShape());
    yShape.back() = n;
    SmallVector<Value> yDynamic;
    for (int64_t i = 0; i + 1 < rank; ++i)
      if (xType.isDynamicDim(i))
        yDynamic.push_back(tensor::DimOp::create(b, loc, x, i));
    auto yBuffer = MemRefType::get(yShape, b.getF32Type());
    Value yFull = memref::AllocOp::create(b, loc, yBuffer, yDynamic,
                                          b.getI64IntegerAttr(64));
    Value yb = rank > 2 ? memref::CollapseShapeOp::create(b, loc, yFull, rows)
                        : yFull;
    auto i64 = [&](int64_t v) {
      return arith::ConstantIntOp::create(b, loc, v, 64).getResult();
    };
    int64_t flags = QC_QMATMUL_INIT | quantc::qmatmulFormatFlags(f) |
                    (int8Activations ? QC_QMATMUL_INT8_ACT : 0);
    int64_t group = f.granularity == quantc::numerics::Granularity::PerGroup
                        ? f.groupSize
                        : 0;
    func::CallOp::create(
        b, loc, kKernel, TypeRange{},
        ValueRange{memref::CastOp::create(b, loc, matrixType(ctx), xb),
                   codes, scales, zeros, table, scaleParams,
                   memref::CastOp::create(b, loc, matrixType(ctx), yb),
                   i64(k), i64(n), i64(f.bits), i64(group), i64(f.scaleBlock),
                   i64(flags)});
    Value y = bufferization::ToTensorOp::create(
        b, loc, RankedTensorType::get(yShape, b.getF32Type()), yFull,
        /*restrict=*/true, /*writable=*/true);
    // Written into y: an elementwise op that fuses into y's readers.
    if (Value bias = op.getBias())
      y = quantc::buildBiasAdd(b, loc, y, bias, /*init=*/y);
    if (y.getType() != resultType)
      y = tensor::CastOp::create(b, loc, resultType, y);
    op.getResult().replaceAllUsesWith(y);
    op.erase();
  }

};

} // namespace
