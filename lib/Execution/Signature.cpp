//===- Signature.cpp - a compiled model's signature, read from IR ---------===//

#include "quantc/Execution/Signature.h"
#include "quantc/Target/Common/KvCache.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace quantc;

static FailureOr<DType> toDType(Type t) {
  if (t.isF32()) return DType::F32;
  if (t.isF16()) return DType::F16;
  if (t.isBF16()) return DType::BF16;
  if (t.isF64()) return DType::F64;
  if (t.isInteger(64)) return DType::I64;
  if (t.isInteger(32)) return DType::I32;
  if (t.isInteger(16)) return DType::I16;
  if (t.isInteger(8)) return DType::I8;
  if (t.isInteger(1)) return DType::Bool;
  return failure();
}

static FailureOr<TensorSignature> signatureOf(Operation *at, Type type,
                                              DictionaryAttr attrs,
                                              size_t index) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  FailureOr<DType> dtype =
      tensor ? toDType(tensor.getElementType()) : FailureOr<DType>(failure());
  if (failed(dtype))
    return at->emitError() << "main's tensor #" << index << " has type "
                           << type << ", which the JIT cannot pass";
  if (tensor.getRank() > QC_MAX_RANK)
    return at->emitError() << "main's tensor #" << index << " has rank "
                           << tensor.getRank() << "; the runtime takes up to "
                           << QC_MAX_RANK;
  TensorSignature sig;
  sig.dtype = *dtype;
  for (int64_t d : tensor.getShape())
    sig.shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
  auto name = attrs ? attrs.getAs<StringAttr>("onnx.name") : StringAttr();
  sig.name = name ? name.str() : "#" + std::to_string(index);
  if (attrs && attrs.get(kv::kLength))
    sig.role = QC_ROLE_KV_LENGTH;
  if (auto cache = attrs ? attrs.getAs<DictionaryAttr>(kv::kCache)
                         : DictionaryAttr()) {
    auto axis = cache.getAs<IntegerAttr>("axis");
    auto present = cache.getAs<StringAttr>("present");
    auto from = cache.getAs<DenseI64ArrayAttr>("size_from");
    if (!axis || !present || !from ||
        from.size() != 2 * static_cast<int64_t>(sig.shape.size()))
      return at->emitError() << "main's tensor #" << index
                             << " has a malformed " << kv::kCache;
    sig.role = QC_ROLE_KV_CACHE;
    sig.kvAxis = axis.getInt();
    sig.kvPresent = present.str();
    if (auto format = cache.getAs<StringAttr>("format"))
      sig.kvFormat = format.str();
    if (auto part = cache.getAs<StringAttr>("part"))
      sig.kvPart = part.str();
    sig.sizeFrom.assign(from.asArrayRef().begin(), from.asArrayRef().end());
  }
  return sig;
}

LogicalResult quantc::readSignature(ModuleOp module,
                                    std::vector<TensorSignature> &inputs,
                                    std::vector<TensorSignature> &outputs) {
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main)
    return module.emitError() << "the module has no function 'main'";
  FunctionType fnType = main.getFunctionType();
  for (auto [i, t] : llvm::enumerate(fnType.getInputs())) {
    auto sig = signatureOf(main, t, main.getArgAttrDict(i), i);
    if (failed(sig))
      return failure();
    inputs.push_back(*sig);
  }
  for (auto [i, t] : llvm::enumerate(fnType.getResults())) {
    // Caches updated in place are not results of the compiled code.
    if (main.getResultAttr(i, kv::kCacheOf))
      continue;
    auto sig = signatureOf(main, t, main.getResultAttrDict(i), i);
    if (failed(sig))
      return failure();
    outputs.push_back(*sig);
  }
  return success();
}

