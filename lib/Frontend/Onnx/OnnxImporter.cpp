//===- OnnxImporter.cpp - ONNX graph walk, values, initializers -----------===//

#include "quantc/Frontend/OnnxImporter.h"
#include "Importer.h"

#include "QC/IR/QC.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "onnx/checker.h"
#include "onnx/defs/parser.h"

using namespace mlir;
using namespace quantc;
using namespace quantc::onnx;

//===----------------------------------------------------------------------===//
// Importer
//===----------------------------------------------------------------------===//

/// The folder of the model file (external data is looked up there); the
/// working directory for standard input.
static std::string modelFolder(StringRef path) {
  llvm::SmallString<256> dir(path == "-" ? "." : path);
  if (path != "-")
    llvm::sys::path::remove_filename(dir);
  return dir.empty() ? "." : dir.str().str();
}

Importer::Importer(MLIRContext *context, StringRef path)
    : context(context), modelPath(path.str()), modelDir(modelFolder(path)),
      b(context), currentLoc(FileLineColLoc::get(context, path, 0, 0)) {}

InFlightDiagnostic Importer::error() {
  InFlightDiagnostic d = emitError(currentLoc);
  if (currentNode) {
    d << "node '" << currentNodeName << "' (";
    if (!currentNode->domain().empty() && currentNode->domain() != "ai.onnx")
      d << currentNode->domain() << ".";
    d << currentNode->op_type() << "): ";
  }
  return d;
}

int Importer::numInputs() const {
  int n = currentNode->input_size();
  while (n > 0 && currentNode->input(n - 1).empty())
    --n;
  return n;
}

bool Importer::hasInput(int i) const {
  return i < currentNode->input_size() && !currentNode->input(i).empty();
}

const Imported &Importer::inputEntry(int i) {
  return values.find(currentNode->input(i))->second;
}

Value Importer::input(int i) {
  Imported &entry = values.find(currentNode->input(i))->second;
  if (!entry.tensor)
    entry.tensor = materialize(entry);
  return entry.tensor;
}

int64_t Importer::inputRank(int i) {
  const Imported &entry = inputEntry(i);
  if (!entry.tensor)
    return entry.isScalar ? 0 : 1;
  return cast<RankedTensorType>(entry.tensor.getType()).getRank();
}

/// Small integer tensors the importer tracks elementwise.
static constexpr int64_t kMaxTrackedElements = 64;

std::optional<SmallVector<Value>> Importer::inputElements(int i) {
  Imported &entry = values.find(currentNode->input(i))->second;
  if (entry.elements)
    return entry.elements;
  auto type = cast<RankedTensorType>(entry.tensor.getType());
  auto intType = dyn_cast<IntegerType>(type.getElementType());
  if (!intType || type.getRank() > 1 || !type.hasStaticShape() ||
      type.getNumElements() > kMaxTrackedElements)
    return std::nullopt;
  DenseIntElementsAttr dense;
  if (!matchPattern(entry.tensor, m_Constant(&dense)))
    return std::nullopt;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointAfterValue(entry.tensor);
  SmallVector<Value> elements;
  for (const APInt &v : dense.getValues<APInt>())
    elements.push_back(arith::ConstantOp::create(
        b, currentLoc, intType, b.getIntegerAttr(intType, v)));
  entry.elements = elements;
  entry.isScalar = type.getRank() == 0;
  entry.elementType = intType;
  return entry.elements;
}

FailureOr<SmallVector<int64_t>> Importer::constantInts(int i, StringRef what) {
  std::optional<SmallVector<Value>> elements = inputElements(i);
  SmallVector<int64_t> out;
  if (elements)
    for (Value v : *elements)
      if (std::optional<int64_t> c = getConstantIntValue(v))
        out.push_back(*c);
  if (!elements || out.size() != elements->size())
    return error() << what << " must be known at compile time";
  return out;
}

void Importer::setResult(int i, Value tensor, bool isUnsigned) {
  if (i >= currentNode->output_size() || currentNode->output(i).empty())
    return;
  Imported entry;
  entry.tensor = tensor;
  entry.elementType = cast<RankedTensorType>(tensor.getType()).getElementType();
  entry.isUnsigned = isUnsigned;
  values[currentNode->output(i)] = entry;
}

Imported *Importer::resultEntry(int i) {
  if (i >= currentNode->output_size() || currentNode->output(i).empty())
    return nullptr;
  auto it = values.find(currentNode->output(i));
  return it == values.end() ? nullptr : &it->second;
}

void Importer::setResultElements(int i, SmallVector<Value> elements,
                                 bool isScalar, Type elementType) {
  if (i >= currentNode->output_size() || currentNode->output(i).empty())
    return;
  Imported entry;
  entry.elements = std::move(elements);
  entry.isScalar = isScalar;
  entry.elementType = elementType;
  values[currentNode->output(i)] = entry;
}

Value Importer::materialize(const Imported &value) {
  SmallVector<int64_t> shape;
  if (!value.isScalar)
    shape.push_back(static_cast<int64_t>(value.elements->size()));
  auto type = RankedTensorType::get(shape, value.elementType);
  SmallVector<Attribute> constants;
  for (Value v : *value.elements)
    if (std::optional<int64_t> c = getConstantIntValue(v))
      constants.push_back(b.getIntegerAttr(value.elementType, *c));
  if (constants.size() == value.elements->size())
    return arith::ConstantOp::create(b, currentLoc, type,
                                     DenseElementsAttr::get(type, constants));
  return tensor::FromElementsOp::create(b, currentLoc, type, *value.elements);
}

bool Importer::isKnownNonNegative(Value v) {
  if (std::optional<int64_t> c = getConstantIntValue(v))
    return *c >= 0;
  Operation *op = v.getDefiningOp();
  if (!op)
    return false;
  if (isa<tensor::DimOp>(op))
    return true;
  if (isa<arith::IndexCastOp, arith::IndexCastUIOp, arith::ExtSIOp,
          arith::ExtUIOp>(op))
    return isKnownNonNegative(op->getOperand(0));
  if (isa<arith::AddIOp, arith::MulIOp, arith::DivSIOp, arith::DivUIOp,
          arith::CeilDivSIOp, arith::MaxSIOp>(op))
    return llvm::all_of(op->getOperands(), isKnownNonNegative);
  return false;
}

std::string Importer::layerName() const {
  StringRef name = currentNode->name();
  if (name.empty())
    return currentNode->output_size() ? currentNode->output(0) : "";
  name.consume_front("/");
  SmallVector<StringRef> parts;
  name.split(parts, '/');
  if (parts.size() > 1)
    parts.pop_back(); // the op instance ("MatMul", "Gemm_3")
  return llvm::join(parts, ".");
}

const ::onnx::AttributeProto *Importer::attr(StringRef name) const {
  for (const auto &a : currentNode->attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

const ::onnx::AttributeProto *
Importer::typedAttr(StringRef name,
                    ::onnx::AttributeProto::AttributeType type) const {
  const auto *a = attr(name);
  if (!a || a->type() == type)
    return a;
  // A mapping reads attributes as values, not results: note the error
  // here and fail the node once its mapping returns.
  if (!attributeError) {
    attributeError = true;
    const_cast<Importer *>(this)->error()
        << "attribute '" << name << "' must be "
        << ::onnx::AttributeProto::AttributeType_Name(type) << ", not "
        << ::onnx::AttributeProto::AttributeType_Name(a->type());
  }
  return nullptr;
}

int64_t Importer::attrInt(StringRef name, int64_t dflt) const {
  const auto *a = typedAttr(name, ::onnx::AttributeProto::INT);
  return a ? a->i() : dflt;
}

float Importer::attrFloat(StringRef name, float dflt) const {
  const auto *a = typedAttr(name, ::onnx::AttributeProto::FLOAT);
  return a ? a->f() : dflt;
}

std::string Importer::attrString(StringRef name, StringRef dflt) const {
  const auto *a = typedAttr(name, ::onnx::AttributeProto::STRING);
  return a ? a->s() : dflt.str();
}

std::optional<SmallVector<int64_t>> Importer::attrInts(StringRef name) const {
  const auto *a = typedAttr(name, ::onnx::AttributeProto::INTS);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

Type Importer::elementType(int32_t t) const {
  using TP = ::onnx::TensorProto;
  Builder b(context);
  switch (t) {
  case TP::FLOAT:
    return b.getF32Type();
  case TP::FLOAT16:
    return b.getF16Type();
  case TP::BFLOAT16:
    return b.getBF16Type();
  case TP::DOUBLE:
    return b.getF64Type();
  case TP::INT8:
  case TP::UINT8:
    return b.getI8Type();
  case TP::INT16:
  case TP::UINT16:
    return b.getI16Type();
  case TP::INT32:
  case TP::UINT32:
    return b.getI32Type();
  case TP::INT64:
  case TP::UINT64:
    return b.getI64Type();
  case TP::BOOL:
    return b.getI1Type();
  default:
    return {};
  }
}

static bool isUnsignedOnnxType(int32_t t) {
  using TP = ::onnx::TensorProto;
  return t == TP::UINT8 || t == TP::UINT16 || t == TP::UINT32 ||
         t == TP::UINT64;
}

static std::string dataTypeName(int32_t t) {
  return ::onnx::TensorProto::DataType_IsValid(t)
             ? ::onnx::TensorProto::DataType_Name(
                   static_cast<::onnx::TensorProto::DataType>(t))
             : "type " + std::to_string(t);
}

/// Bytes one element of `type` takes in ONNX's raw data.
static size_t elementBytes(Type type) {
  if (type.isInteger(1))
    return 1;
  return type.getIntOrFloatBitWidth() / 8;
}

std::optional<int64_t> quantc::onnx::tensorBytes(ArrayRef<int64_t> shape,
                                                 int64_t elementBytes) {
  int64_t total = elementBytes;
  for (int64_t d : shape)
    if (d < 0 || llvm::MulOverflow(total, d, total) || total > kMaxTensorBytes)
      return std::nullopt;
  return total;
}

/// Resource keys keep the initializer name, with characters outside
/// [A-Za-z0-9_.] replaced so the key prints as a bare identifier.
static std::string resourceKey(StringRef name) {
  std::string key;
  for (char c : name)
    key.push_back(llvm::isAlnum(c) || c == '_' || c == '.' ? c : '_');
  if (key.empty() || llvm::isDigit(key[0]))
    key.insert(0, "w_");
  return key;
}

FailureOr<AsmResourceBlob>
Importer::externalData(const ::onnx::TensorProto &t, size_t bytes,
                       size_t alignment) {
  std::string location;
  uint64_t offset = 0, length = bytes;
  bool hasLength = false;
  for (const auto &kv : t.external_data()) {
    if (kv.key() == "location")
      location = kv.value();
    else if (kv.key() == "offset" || kv.key() == "length") {
      unsigned long long v = 0;
      if (StringRef(kv.value()).getAsInteger(10, v))
        return emitError(currentLoc)
               << "initializer '" << t.name() << "': external data "
               << kv.key() << " '" << kv.value() << "' is not a number";
      (kv.key() == "offset" ? offset : length) = v;
      hasLength |= kv.key() == "length";
    }
  }
  if (location.empty())
    return emitError(currentLoc) << "initializer '" << t.name()
                                 << "': external data has no location";
  // The file must lie inside the model's folder.
  llvm::SmallString<256> realDir, realFile;
  llvm::SmallString<256> joined(modelDir);
  llvm::sys::path::append(joined, location);
  if (llvm::sys::path::is_absolute(location) ||
      llvm::sys::fs::real_path(modelDir, realDir))
    return emitError(currentLoc)
           << "initializer '" << t.name() << "': external data location '"
           << location << "' escapes the model's folder";
  if (llvm::sys::fs::real_path(joined, realFile))
    return emitError(currentLoc)
           << "initializer '" << t.name() << "': external data file '"
           << joined << "' not found";
  if (!StringRef(realFile).starts_with((realDir + "/").str()))
    return emitError(currentLoc)
           << "initializer '" << t.name() << "': external data location '"
           << location << "' escapes the model's folder";
  // Only a regular file: a FIFO or device would block the import forever.
  llvm::sys::fs::file_status status;
  if (llvm::sys::fs::status(realFile, status) ||
      status.type() != llvm::sys::fs::file_type::regular_file)
    return emitError(currentLoc)
           << "initializer '" << t.name() << "': external data location '"
           << location << "' is not a regular file";
  uint64_t fileSize = status.getSize();
  if (hasLength && length != bytes)
    return emitError(currentLoc)
           << "initializer '" << t.name() << "': external data length "
           << length << " does not match its type's " << bytes << " bytes";
  if (offset > fileSize || bytes > fileSize - offset)
    return emitError(currentLoc)
           << "initializer '" << t.name() << "': external data [" << offset
           << ", " << offset + bytes << ") is outside '" << location << "' ("
           << fileSize << " bytes)";
  auto buffer = llvm::MemoryBuffer::getFileSlice(realFile, bytes, offset,
                                                 /*IsVolatile=*/false);
  if (!buffer)
    return emitError(currentLoc) << "initializer '" << t.name()
                                 << "': cannot map '" << realFile << "'";
  ArrayRef<char> data((*buffer)->getBufferStart(), bytes);
  if (reinterpret_cast<uintptr_t>(data.data()) % alignment != 0)
    return HeapAsmResourceBlob::allocateAndCopyWithAlign(data, alignment);
  // The blob owns the mapping: weights are never copied.
  std::shared_ptr<llvm::MemoryBuffer> owner = std::move(*buffer);
  return AsmResourceBlob(
      data, alignment,
      [owner](void *, size_t, size_t) mutable { owner.reset(); },
      /*dataIsMutable=*/false);
}

/// Raw little-endian bytes of a TensorProto stored in its typed fields.
static std::string typedFieldBytes(const ::onnx::TensorProto &t, Type type) {
  std::string out;
  auto append = [&](const void *p, size_t n) {
    out.append(static_cast<const char *>(p), n);
  };
  if (type.isF32())
    for (float v : t.float_data())
      append(&v, 4);
  else if (type.isF64())
    for (double v : t.double_data())
      append(&v, 8);
  else if (type.isInteger(64))
    for (int64_t v : t.int64_data())
      append(&v, 8);
  else // int32_data carries int32 and narrower types, f16/bf16 as bits
    for (int32_t v : t.int32_data()) {
      size_t n = elementBytes(type);
      append(&v, n);
    }
  return out;
}

FailureOr<ElementsAttr> Importer::tensorAttr(const ::onnx::TensorProto &t,
                                             StringRef name) {
  Type element = elementType(t.data_type());
  if (!element)
    return emitError(currentLoc) << "tensor '" << t.name() << "' has "
                                 << dataTypeName(t.data_type())
                                 << ", which quantc does not support";
  SmallVector<int64_t> shape(t.dims().begin(), t.dims().end());
  for (int64_t d : shape)
    if (d < 0)
      return emitError(currentLoc)
             << "tensor '" << t.name() << "' has a negative dimension";
  std::optional<int64_t> size = tensorBytes(shape, elementBytes(element));
  if (!size)
    return emitError(currentLoc)
           << "tensor '" << t.name() << "' is larger than quantc supports ("
           << kMaxTensorBytes << " bytes)";
  auto type = RankedTensorType::get(shape, element);
  size_t bytes = static_cast<size_t>(*size);
  size_t alignment = std::max<size_t>(elementBytes(element), 1);
  std::string key = resourceKey(name);

  if (t.data_location() == ::onnx::TensorProto::EXTERNAL) {
    FailureOr<AsmResourceBlob> blob = externalData(t, bytes, alignment);
    if (failed(blob))
      return failure();
    return cast<ElementsAttr>(
        DenseResourceElementsAttr::get(type, key, std::move(*blob)));
  }
  std::string owned;
  StringRef raw;
  if (t.has_raw_data()) {
    raw = t.raw_data();
  } else {
    owned = typedFieldBytes(t, element);
    raw = owned;
  }
  if (raw.size() != bytes)
    return emitError(currentLoc)
           << "tensor '" << t.name() << "' holds " << raw.size()
           << " bytes of data but its type " << type << " needs " << bytes;
  if (element.isInteger(1)) {
    SmallVector<bool> bits;
    for (char c : raw)
      bits.push_back(c != 0);
    return cast<ElementsAttr>(DenseElementsAttr::get(type, bits));
  }
  // Weights live in resources; small constants stay inline and fold.
  if (bytes > 256)
    return cast<ElementsAttr>(DenseResourceElementsAttr::get(
        type, key,
        HeapAsmResourceBlob::allocateAndCopyWithAlign(
            ArrayRef<char>(raw.data(), raw.size()), alignment)));
  return cast<ElementsAttr>(DenseElementsAttr::getFromRawBuffer(
      type, ArrayRef<char>(raw.data(), raw.size())));
}

FailureOr<Type> Importer::valueInfoType(const ::onnx::ValueInfoProto &info) {
  if (!info.type().has_tensor_type())
    return emitError(currentLoc)
           << "graph value '" << info.name() << "' is not a tensor";
  const auto &tt = info.type().tensor_type();
  Type element = elementType(tt.elem_type());
  if (!element)
    return emitError(currentLoc)
           << "graph value '" << info.name() << "' has "
           << dataTypeName(tt.elem_type()) << ", which quantc does not support";
  if (!tt.has_shape())
    return emitError(currentLoc) << "graph value '" << info.name()
                                 << "' has no rank; quantc needs ranked inputs";
  SmallVector<int64_t> shape;
  for (const auto &d : tt.shape().dim())
    shape.push_back(d.has_dim_value() && d.dim_value() >= 0
                        ? d.dim_value()
                        : ShapedType::kDynamic);
  SmallVector<int64_t> staticDims;
  for (int64_t d : shape)
    if (!ShapedType::isDynamic(d))
      staticDims.push_back(d);
  if (!tensorBytes(staticDims, elementBytes(element)))
    return emitError(currentLoc)
           << "graph value '" << info.name()
           << "' is larger than quantc supports (" << kMaxTensorBytes
           << " bytes)";
  return Type(RankedTensorType::get(shape, element));
}

LogicalResult Importer::importNode(const ::onnx::NodeProto &node) {
  for (const std::string &name : node.input())
    if (!name.empty() && !values.count(name))
      return error() << "operand '" << name << "' is not defined before use";
  for (const std::string &name : node.output())
    if (!name.empty() && values.count(name))
      return error() << "output '" << name
                     << "' is already defined (ONNX assigns each value once)";
  StringRef domain = node.domain();
  if (!domain.empty() && domain != "ai.onnx" && domain != "com.microsoft")
    return error() << "unsupported domain '" << domain << "'";
  attributeError = false;
  if (failed(importOp(*this)) || attributeError)
    return failure();
  return success();
}

LogicalResult Importer::importGraph(const ::onnx::GraphProto &graph) {
  llvm::StringSet<> initializerNames;
  for (const auto &init : graph.initializer())
    initializerNames.insert(init.name());

  SmallVector<Type> argTypes;
  SmallVector<const ::onnx::ValueInfoProto *> args;
  for (const auto &in : graph.input()) {
    if (initializerNames.count(in.name())) {
      // IR < 4 lists initializers as inputs too; the two must agree.
      const ::onnx::TensorProto *init = nullptr;
      for (const auto &t : graph.initializer())
        if (t.name() == in.name())
          init = &t;
      FailureOr<Type> declared = valueInfoType(in);
      if (failed(declared))
        return failure();
      SmallVector<int64_t> dims(init->dims().begin(), init->dims().end());
      auto declaredType = cast<RankedTensorType>(*declared);
      Type initElement = elementType(init->data_type());
      if (initElement != declaredType.getElementType() ||
          !tensor::CastOp::areCastCompatible(
              declaredType, RankedTensorType::get(dims, initElement)))
        return emitError(currentLoc)
               << "graph input '" << in.name() << "' is declared "
               << declaredType << " but its initializer is "
               << RankedTensorType::get(dims, initElement ? initElement
                                                          : b.getNoneType());
      continue;
    }
    FailureOr<Type> type = valueInfoType(in);
    if (failed(type))
      return failure();
    argTypes.push_back(*type);
    args.push_back(&in);
  }
  auto func = func::FuncOp::create(b, currentLoc, "main",
                                   b.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  for (auto [i, in] : llvm::enumerate(args)) {
    Imported v;
    v.tensor = entry->getArgument(i);
    v.elementType = cast<RankedTensorType>(argTypes[i]).getElementType();
    v.isUnsigned = isUnsignedOnnxType(in->type().tensor_type().elem_type());
    values[in->name()] = v;
  }
  for (const auto &init : graph.initializer()) {
    FailureOr<ElementsAttr> attr = tensorAttr(init, init.name());
    if (failed(attr))
      return failure();
    Imported v;
    v.tensor = arith::ConstantOp::create(b, currentLoc, cast<TypedAttr>(*attr));
    v.elementType = attr->getShapedType().getElementType();
    v.isUnsigned = isUnsignedOnnxType(init.data_type());
    values[init.name()] = v;
  }

  for (auto [i, node] : llvm::enumerate(graph.node())) {
    currentNode = &node;
    // Unnamed nodes are called after their first output.
    currentNodeName = !node.name().empty() ? node.name()
                      : node.output_size() ? node.output(0)
                                           : node.op_type();
    currentLoc = NameLoc::get(
        b.getStringAttr(currentNodeName),
        FileLineColLoc::get(context, modelPath, static_cast<unsigned>(i + 1),
                            0));
    if (failed(importNode(node)))
      return failure();
  }
  currentNode = nullptr;
  currentLoc = FileLineColLoc::get(context, modelPath, 0, 0);

  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  for (const auto &out : graph.output()) {
    auto it = values.find(out.name());
    if (it == values.end())
      return emitError(currentLoc)
             << "graph output '" << out.name() << "' is never computed";
    Value v = it->second.tensor ? it->second.tensor
                                : (it->second.tensor = materialize(it->second));
    // A declared type must agree with the computed one; declared static
    // sizes are kept where the import found them dynamic (checked when the
    // model runs).
    if (out.type().has_tensor_type() &&
        out.type().tensor_type().has_shape()) {
      FailureOr<Type> declared = valueInfoType(out);
      if (failed(declared))
        return failure();
      auto declaredType = cast<RankedTensorType>(*declared);
      auto computed = cast<RankedTensorType>(v.getType());
      if (declaredType.getElementType() != computed.getElementType() ||
          !tensor::CastOp::areCastCompatible(computed, declaredType))
        return emitError(currentLoc)
               << "graph output '" << out.name() << "' is declared "
               << declaredType << " but the graph computes " << computed;
      if (declaredType != computed)
        v = TensorBuilder(b, currentLoc).checkedCast(v, declaredType,
                                                     "graph output '" +
                                                         out.name() + "'");
    } else if (out.type().has_tensor_type() &&
               elementType(out.type().tensor_type().elem_type()) &&
               elementType(out.type().tensor_type().elem_type()) !=
                   cast<RankedTensorType>(v.getType()).getElementType()) {
      return emitError(currentLoc)
             << "graph output '" << out.name()
             << "' is declared with another element type than the graph "
                "computes ("
             << cast<RankedTensorType>(v.getType()).getElementType() << ")";
    }
    results.push_back(v);
    resultTypes.push_back(v.getType());
  }
  func::ReturnOp::create(b, currentLoc, results);
  func.setFunctionType(b.getFunctionType(argTypes, resultTypes));
  // The ONNX names of inputs and outputs, for runners and artifacts.
  for (auto [i, in] : llvm::enumerate(args))
    func.setArgAttr(i, "onnx.name", b.getStringAttr(in->name()));
  for (auto [i, out] : llvm::enumerate(graph.output()))
    func.setResultAttr(i, "onnx.name", b.getStringAttr(out.name()));
  return success();
}

OwningOpRef<ModuleOp> Importer::importModel(const ::onnx::ModelProto &model) {
  for (const auto &opset : model.opset_import())
    if (opset.domain().empty() || opset.domain() == "ai.onnx")
      defaultOpset = opset.version();
  if (defaultOpset < 13 || defaultOpset > 21) {
    emitError(currentLoc) << "unsupported opset " << defaultOpset
                          << " of the default ONNX domain (quantc supports "
                             "opsets 13 to 21)";
    return {};
  }
  OwningOpRef<ModuleOp> owned = ModuleOp::create(currentLoc);
  module = *owned;
  b.setInsertionPointToEnd(module.getBody());
  if (failed(importGraph(model.graph())))
    return {};
  if (failed(verify(module)))
    return {};
  // Fold the shape arithmetic and drop what the folding left unused.
  PassManager pm(context);
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (failed(pm.run(module)))
    return {};
  return owned;
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

void quantc::registerOnnxImportDialects(DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, cf::ControlFlowDialect, func::FuncDialect,
                  linalg::LinalgDialect, math::MathDialect, scf::SCFDialect,
                  tensor::TensorDialect, qc::QCDialect>();
}

OwningOpRef<ModuleOp> quantc::importOnnx(StringRef buffer, StringRef modelPath,
                                         MLIRContext *context) {
  DialectRegistry registry;
  registerOnnxImportDialects(registry);
  context->appendDialectRegistry(registry);
  context->loadAllAvailableDialects();
  Location fileLoc = FileLineColLoc::get(context, modelPath, 0, 0);

  ::onnx::ModelProto model;
  // Textual ONNX starts with '<' once leading '#' comment lines are skipped.
  StringRef text = buffer.ltrim();
  while (text.starts_with("#"))
    text = text.drop_until([](char c) { return c == '\n'; }).ltrim();
  if (text.starts_with("<")) {
    std::string text = buffer.str();
    // ONNX's parser reports most errors in its status but lets number
    // conversions throw (std::stoi, std::stof on malformed literals).
    std::string why;
    try {
      ::onnx::OnnxParser parser(text.c_str());
      auto status = parser.Parse(model);
      if (!status.IsOK())
        why = status.ErrorMessage();
    } catch (const std::exception &e) {
      why = std::string("malformed literal (") + e.what() + ")";
    }
    if (!why.empty()) {
      emitError(fileLoc) << "invalid ONNX text: " << why;
      return {};
    }
  } else if (buffer.size() > static_cast<size_t>(INT_MAX) ||
             !model.ParseFromArray(buffer.data(),
                                   static_cast<int>(buffer.size()))) {
    emitError(fileLoc) << "not a valid ONNX model: the protobuf is truncated "
                          "or corrupt";
    return {};
  }
  if (!model.has_graph()) {
    emitError(fileLoc) << "not a valid ONNX model: it has no graph";
    return {};
  }
  // ONNX's checker knows the opsets and IR versions of its release (Debian's
  // onnx 1.12: opset 17, IR 8) and rejects newer ones; models past them are
  // validated by the importer alone (operand and attribute rules per
  // operator, tensor sizes, values defined once and before use).
  int64_t opset = 0;
  for (const auto &o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx")
      opset = o.version();
  int checkerOpset = ::onnx::OpSchemaRegistry::DomainToVersionRange::Instance()
                         .Map()
                         .at(::onnx::ONNX_DOMAIN)
                         .second;
  bool checkerKnowsModel = opset <= checkerOpset &&
                           model.ir_version() <= ::onnx::Version::IR_VERSION;
  if (checkerKnowsModel) {
    try {
      ::onnx::checker::CheckerContext ctx;
      ctx.set_ir_version(static_cast<int>(model.ir_version()));
      ctx.set_model_dir(modelFolder(modelPath));
      std::unordered_map<std::string, int> opsets;
      for (const auto &o : model.opset_import())
        opsets[o.domain()] = static_cast<int>(o.version());
      ctx.set_opset_imports(opsets);
      ::onnx::checker::LexicalScopeContext scope;
      ::onnx::checker::check_graph(model.graph(), ctx, scope);
    } catch (const std::exception &e) {
      emitError(fileLoc) << "the ONNX checker rejects the model: " << e.what();
      return {};
    }
  }
  Importer importer(context, modelPath);
  return importer.importModel(model);
}

OwningOpRef<ModuleOp> quantc::importOnnxFile(StringRef path,
                                             MLIRContext *context) {
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(path);
  if (!buffer) {
    emitError(FileLineColLoc::get(context, path, 0, 0))
        << "cannot read '" << path << "': " << buffer.getError().message();
    return {};
  }
  return importOnnx((*buffer)->getBuffer(), path, context);
}
