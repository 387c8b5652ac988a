//===- ExternalizeWeights.cpp - constant buffers into the weights blob ----===//

#include "quantc/Target/Common/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/DenseMap.h"

namespace quantc {
#define GEN_PASS_DEF_EXTERNALIZEWEIGHTS
#include "quantc/Target/Common/Passes.h.inc"
} // namespace quantc

using namespace mlir;

namespace {

/// Bytes of a global's data in memory (an i1 takes a byte), or 0 when it
/// cannot move.
int64_t byteSize(memref::GlobalOp global) {
  MemRefType type = global.getType();
  Type element = type.getElementType();
  if (!type.hasStaticShape() || !element.isIntOrFloat())
    return 0;
  if (element.isInteger(1))
    return type.getNumElements();
  if (element.getIntOrFloatBitWidth() % 8 != 0)
    return 0;
  return type.getNumElements() * element.getIntOrFloatBitWidth() / 8;
}

/// The bytes the blob holds for `value`: as stored, except that booleans
/// (bit-packed in attributes) take one byte each, as in memory. Null if
/// they cannot be had.
ElementsAttr blobValue(ElementsAttr value) {
  if (!value.getElementType().isInteger(1))
    return value;
  auto dense = dyn_cast<DenseElementsAttr>(value);
  if (!dense)
    return nullptr;
  auto type = RankedTensorType::get(dense.getType().getShape(),
                                    IntegerType::get(value.getContext(), 8));
  SmallVector<int8_t> bytes;
  for (bool b : dense.getValues<bool>())
    bytes.push_back(b ? 1 : 0);
  return DenseElementsAttr::get(type, ArrayRef<int8_t>(bytes));
}

/// The manifest's name of an element type ("f32", "i8", ...).
std::string dtypeName(Type element) {
  std::string out;
  if (element.isInteger(1))
    return "bool";
  if (element.isInteger())
    return "i" + std::to_string(element.getIntOrFloatBitWidth());
  llvm::raw_string_ostream(out) << element;
  return out;
}

/// What the weights table says of a piece: its name (the resource's, else
/// the global's), stored type, and for pieces of quantized weights their
/// format, layout and part (recorded by the passes that lowered them, in
/// `quantc.packed_pieces`: see recordPackedPiece in QC/IR/QConstant.h).
SmallVector<NamedAttribute>
describe(Builder &b, memref::GlobalOp global, ElementsAttr value,
         const llvm::DenseMap<Attribute, DictionaryAttr> &packed) {
  std::string name = global.getSymName().str();
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value))
    name = resource.getRawHandle().getKey().str();
  MemRefType type = global.getType();
  SmallVector<NamedAttribute> out = {
      b.getNamedAttr("name", b.getStringAttr(name)),
      b.getNamedAttr("dtype",
                     b.getStringAttr(dtypeName(type.getElementType()))),
      b.getNamedAttr("shape", b.getI64ArrayAttr(type.getShape()))};
  auto info = packed.find(value);
  if (info == packed.end()) {
    out.push_back(b.getNamedAttr("format", b.getStringAttr("dense")));
    out.push_back(b.getNamedAttr("layout", b.getStringAttr("row_major")));
    return out;
  }
  for (StringRef key : {"format", "layout", "part"})
    out.push_back(b.getNamedAttr(key, info->second.get(key)));
  return out;
}

struct ExternalizeWeightsPass
    : quantc::impl::ExternalizeWeightsBase<ExternalizeWeightsPass> {
  using ExternalizeWeightsBase::ExternalizeWeightsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    auto main = module.lookupSymbol<func::FuncOp>("main");
    if (!main || main.isExternal()) {
      module.emitError("the module has no function 'main'");
      return signalPassFailure();
    }
    // The blob argument.
    auto blobType = MemRefType::get({ShapedType::kDynamic},
                                    IntegerType::get(ctx, 8));
    unsigned index = main.getNumArguments();
    if (failed(main.insertArgument(
            index, blobType,
            DictionaryAttr::get(ctx, {NamedAttribute(
                                         StringAttr::get(ctx, "quantc.weights"),
                                         UnitAttr::get(ctx))}),
            main.getLoc())))
      return signalPassFailure();
    Value blob = main.getArgument(index);

    llvm::DenseMap<Attribute, DictionaryAttr> packed;
    if (auto list = module->getAttrOfType<ArrayAttr>("quantc.packed_pieces"))
      for (auto piece : list.getAsRange<DictionaryAttr>())
        packed[piece.get("value")] = piece;
    module->removeAttr("quantc.packed_pieces");

    SmallVector<Attribute> pieces;
    int64_t cursor = 0;
    Builder b(ctx);
    OpBuilder ob(ctx);
    for (memref::GlobalOp global :
         llvm::make_early_inc_range(module.getOps<memref::GlobalOp>())) {
      auto value = dyn_cast_or_null<ElementsAttr>(
          global.getInitialValue().value_or(Attribute()));
      int64_t bytes = byteSize(global);
      if (!global.getConstant() || !value || bytes < minBytes)
        continue;
      ElementsAttr stored = blobValue(value);
      if (!stored)
        continue;
      int64_t offset = (cursor + 63) / 64 * 64;
      cursor = offset + bytes;
      bool replacedAll = true;
      auto uses = SymbolTable::getSymbolUses(global, module);
      for (const SymbolTable::SymbolUse &use : *uses) {
        auto get = dyn_cast<memref::GetGlobalOp>(use.getUser());
        if (!get || get->getParentOfType<func::FuncOp>() != main) {
          replacedAll = false;
          continue;
        }
        ob.setInsertionPoint(get);
        Value at = arith::ConstantIndexOp::create(ob, get.getLoc(), offset);
        Value view = memref::ViewOp::create(ob, get.getLoc(), get.getType(),
                                            blob, at, ValueRange{});
        get.replaceAllUsesWith(view);
        get.erase();
      }
      if (!replacedAll) {
        global.emitError("constant used outside 'main' cannot move to the "
                         "weights blob");
        return signalPassFailure();
      }
      SmallVector<NamedAttribute> piece = describe(b, global, value, packed);
      piece.push_back(b.getNamedAttr("offset", b.getI64IntegerAttr(offset)));
      piece.push_back(b.getNamedAttr("bytes", b.getI64IntegerAttr(bytes)));
      piece.push_back(b.getNamedAttr("value", stored));
      pieces.push_back(b.getDictionaryAttr(piece));
      global.erase();
    }
    module->setAttr("quantc.weights", b.getArrayAttr(pieces));
    module->setAttr("quantc.weights_bytes", b.getI64IntegerAttr(cursor));
  }
};

} // namespace
