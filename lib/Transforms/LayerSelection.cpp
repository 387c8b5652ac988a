//===- LayerSelection.cpp - the heads a default selection leaves out -----===//

#include "LayerSelection.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;

/// The values of `func` computed from its arguments (the model's inputs);
/// the others come from constants alone (a bias, a broadcast of one). One
/// walk in program order, no recursion: graphs from strangers can be deep.
static llvm::DenseSet<Value> inputDerived(func::FuncOp func) {
  llvm::DenseSet<Value> derived(func.getArguments().begin(),
                                func.getArguments().end());
  func.walk<WalkOrder::PreOrder>([&](Operation *op) {
    // A destination-style op's inits only give the result its shape.
    SmallVector<Value> read;
    if (auto dps = dyn_cast<DestinationStyleOpInterface>(op))
      read = dps.getDpsInputs();
    else
      read = op->getOperands();
    if (llvm::any_of(read, [&](Value v) { return derived.contains(v); }))
      derived.insert(op->getResults().begin(), op->getResults().end());
  });
  return derived;
}

/// The layer `v` is the result of, up to what keeps the values: reshapes,
/// slices, elementwise ops whose other operands are constants (`derived`:
/// the values computed from the inputs).
static std::optional<StringRef>
producingLayer(Value v, const llvm::DenseSet<Value> &derived) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto linear = dyn_cast<quantc::qc::LinearOp>(def))
      return linear.getLayer();
    if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tensor::ReshapeOp,
            tensor::CastOp, tensor::ExtractSliceOp>(def)) {
      v = def->getOperand(0);
      continue;
    }
    auto generic = dyn_cast<linalg::GenericOp>(def);
    if (!generic || generic.getNumParallelLoops() != generic.getNumLoops())
      return std::nullopt;
    SmallVector<Value> fromInputs;
    for (Value in : generic.getDpsInputs())
      if (derived.contains(in))
        fromInputs.push_back(in);
    if (fromInputs.size() != 1)
      return std::nullopt;
    v = fromInputs.front();
  }
  return std::nullopt;
}

llvm::StringSet<> quantc::outputHeads(ModuleOp module) {
  llvm::StringSet<> heads;
  module.walk([&](func::FuncOp func) {
    llvm::DenseSet<Value> derived = inputDerived(func);
    func.walk([&](func::ReturnOp ret) {
      for (Value v : ret.getOperands())
        if (std::optional<StringRef> layer = producingLayer(v, derived))
          heads.insert(*layer);
    });
  });
  return heads;
}

llvm::SmallVector<quantc::qc::LinearOp>
quantc::selectLayers(ModuleOp module, std::vector<std::string> include,
                     std::vector<std::string> exclude,
                     llvm::function_ref<bool(qc::LinearOp)> keep,
                     std::string &error) {
  LayerSelection selection(std::move(include), std::move(exclude),
                           outputHeads(module));
  if (!selection.error().empty()) {
    error = selection.error();
    return {};
  }
  llvm::SmallVector<qc::LinearOp> selected;
  module.walk([&](qc::LinearOp op) {
    auto name = op->getAttrOfType<StringAttr>("layer");
    if (name && selection.selects(name.getValue()) && keep(op))
      selected.push_back(op);
  });
  if (selected.empty())
    error = "no qc.linear layer matches " + selection.describe();
  return selected;
}

std::string quantc::formatBody(qc::FormatAttr format) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << mlir::Attribute(format);
  llvm::StringRef body(text);
  body.consume_front("#qc.format<");
  body.consume_back(">");
  return body.str();
}
