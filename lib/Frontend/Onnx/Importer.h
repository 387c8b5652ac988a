//===- Importer.h - state of one ONNX graph import ---------------*- C++ -*-===//
//
// The importer walks the graph in order; each node's mapping (OnnxOps.cpp)
// reads its operands from and writes its results to the value table here.
//
// Small integer tensors (rank 0 or 1, the values of shape computations) are
// also kept element by element as scalar SSA values built with folding, so a
// Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain folds to constants
// where the sizes are static and to tensor.dim arithmetic where they are not.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_LIB_FRONTEND_ONNX_IMPORTER_H
#define QUANTC_LIB_FRONTEND_ONNX_IMPORTER_H

#include "TensorBuilder.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"

#include "onnx/onnx_pb.h"

#include <functional>
#include <optional>

namespace quantc::onnx {

/// Builds a constant weight as a qc.qconstant whose output channels are
/// the weight's rows (or columns); null where they cannot be.
using WeightBuilder = std::function<mlir::Value(bool channelsAreRows)>;

/// One ONNX value as the importer holds it.
struct Imported {
  /// The tensor; null for a small integer tensor known only elementwise
  /// until something needs it whole (see `Importer::tensor`).
  mlir::Value tensor;
  /// Elements of a small integer tensor, as scalars of its element type.
  std::optional<llvm::SmallVector<mlir::Value>> elements;
  /// Shape of `elements`: true for rank 0, false for rank 1.
  bool isScalar = false;
  /// Element type (needed when only `elements` is set).
  mlir::Type elementType;
  /// ONNX element type is unsigned (uint8 etc.): the MLIR type is signless.
  bool isUnsigned = false;
  /// QuantizeLinear's codes of `quantizedFrom` at one constant scale and
  /// zero point (null otherwise): a DequantizeLinear with the same
  /// parameters imports as qc.quantize + qc.dequantize of that value.
  mlir::Value quantizedFrom;
  double quantScale = 0;
  int64_t quantZeroPoint = 0;
  /// DequantizeLinear of a constant weight that int8 per-channel codes
  /// hold exactly: builds that weight as a qc.qconstant, which MatMul and
  /// Gemm take (see quantizedWeight).
  WeightBuilder qweight;
};

class Importer {
public:
  Importer(mlir::MLIRContext *context, llvm::StringRef modelPath);

  /// Imports a whole model; null after reporting an error.
  mlir::OwningOpRef<mlir::ModuleOp> importModel(const ::onnx::ModelProto &model);

  //===--- for the op mappings ---------------------------------------------===//

  mlir::OpBuilder &builder() { return b; }
  mlir::Location loc() const { return currentLoc; }
  TensorBuilder tb() { return TensorBuilder(b, currentLoc); }
  int64_t opset() const { return defaultOpset; }
  const ::onnx::NodeProto &node() const { return *currentNode; }

  /// An error about the current node, naming it, its op and domain.
  mlir::InFlightDiagnostic error();

  /// Number of operands given (trailing empty names dropped).
  int numInputs() const;
  /// True when operand `i` is given (not empty and not past the end).
  bool hasInput(int i) const;
  /// Operand `i` as a tensor (materializing small integer tensors).
  mlir::Value input(int i);
  /// Operand `i`'s table entry.
  const Imported &inputEntry(int i);
  /// Operand `i`'s elements when it is a small integer tensor whose values
  /// the importer knows (constants or shape arithmetic); nullopt otherwise.
  std::optional<llvm::SmallVector<mlir::Value>> inputElements(int i);
  /// Operand `i` as integer constants; error (naming `what`) if it is not a
  /// compile-time constant.
  mlir::FailureOr<llvm::SmallVector<int64_t>> constantInts(int i,
                                                           llvm::StringRef what);
  /// The rank of operand `i`.
  int64_t inputRank(int i);

  /// Binds result `i` of the current node.
  void setResult(int i, mlir::Value tensor, bool isUnsigned = false);
  /// Result `i`'s table entry once bound (null for an unnamed result).
  Imported *resultEntry(int i);
  /// Binds result `i` to a small integer tensor known elementwise.
  void setResultElements(int i, llvm::SmallVector<mlir::Value> elements,
                         bool isScalar, mlir::Type elementType);

  /// Attributes of the current node.
  const ::onnx::AttributeProto *attr(llvm::StringRef name) const;
  /// Attribute `name` if it has `type`; a node whose attribute has another
  /// type fails (reported once).
  const ::onnx::AttributeProto *
  typedAttr(llvm::StringRef name,
            ::onnx::AttributeProto::AttributeType type) const;
  int64_t attrInt(llvm::StringRef name, int64_t dflt) const;
  float attrFloat(llvm::StringRef name, float dflt) const;
  std::string attrString(llvm::StringRef name, llvm::StringRef dflt) const;
  std::optional<llvm::SmallVector<int64_t>> attrInts(llvm::StringRef name) const;

  /// The MLIR element type of an ONNX data type; null if unsupported.
  mlir::Type elementType(int32_t onnxType) const;
  /// A tensor attribute of an ONNX TensorProto (inline or external data);
  /// large tensors become dense_resource blobs named `name`.
  mlir::FailureOr<mlir::ElementsAttr> tensorAttr(const ::onnx::TensorProto &t,
                                                 llvm::StringRef name);
  /// Materializes an elementwise-known small integer tensor.
  mlir::Value materialize(const Imported &value);
  /// True if the value is known to be non-negative (sizes, counts).
  static bool isKnownNonNegative(mlir::Value scalar);
  /// Layer name of the current node: "/m/blocks.0/q/MatMul" -> "m.blocks.0.q".
  std::string layerName() const;

private:
  mlir::LogicalResult importGraph(const ::onnx::GraphProto &graph);
  mlir::LogicalResult importNode(const ::onnx::NodeProto &node);
  mlir::FailureOr<mlir::Type> valueInfoType(const ::onnx::ValueInfoProto &info);
  mlir::FailureOr<mlir::AsmResourceBlob>
  externalData(const ::onnx::TensorProto &t, size_t bytes, size_t alignment);

  mlir::MLIRContext *context;
  std::string modelPath, modelDir;
  mlir::OpBuilder b;
  mlir::ModuleOp module;
  mlir::Location currentLoc;
  const ::onnx::NodeProto *currentNode = nullptr;
  std::string currentNodeName;
  int64_t defaultOpset = 0;
  mutable bool attributeError = false;
  llvm::StringMap<Imported> values;
};

/// The largest tensor quantc imports (256 TiB): far above any model, small
/// enough that no size computed from it overflows 64 bits.
constexpr int64_t kMaxTensorBytes = int64_t(1) << 48;
/// The bytes of a tensor of `shape` (static dims), or nothing if a dim is
/// negative or the size overflows or exceeds kMaxTensorBytes.
std::optional<int64_t> tensorBytes(llvm::ArrayRef<int64_t> shape,
                                   int64_t elementBytes);

/// Maps the current node of `im`; defined in OnnxOps.cpp.
mlir::LogicalResult importOp(Importer &im);

} // namespace quantc::onnx

#endif // QUANTC_LIB_FRONTEND_ONNX_IMPORTER_H
