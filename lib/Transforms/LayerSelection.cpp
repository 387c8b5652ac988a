//===- LayerSelection.cpp - the output heads a default selection leaves out ===//

#include "LayerSelection.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;

/// True if `v` is computed from constants alone (a bias, a broadcast of
/// one), not from the model's inputs.
static bool isConstantDerived(Value v, llvm::DenseMap<Value, bool> &memo) {
  if (auto it = memo.find(v); it != memo.end())
    return it->second;
  Operation *def = v.getDefiningOp();
  bool constant = def != nullptr;
  memo[v] = constant; // a cycle (there is none in a graph) ends here
  // A destination-style op's inits only give the result its shape.
  SmallVector<Value> read;
  if (auto dps = dyn_cast_or_null<DestinationStyleOpInterface>(def))
    read = dps.getDpsInputs();
  else if (def)
    read = def->getOperands();
  if (def)
    for (Value operand : read)
      if (!isConstantDerived(operand, memo)) {
        constant = false;
        break;
      }
  return memo[v] = constant;
}

llvm::StringSet<> quantc::outputHeads(ModuleOp module) {
  llvm::StringSet<> heads;
  llvm::DenseMap<Value, bool> memo;
  module.walk([&](func::ReturnOp ret) {
    for (Value v : ret.getOperands()) {
      // Back through what keeps the values: reshapes, slices, elementwise
      // ops whose other operands are constants.
      while (Operation *def = v.getDefiningOp()) {
        if (auto linear = dyn_cast<qc::LinearOp>(def)) {
          if (linear.getLayer())
            heads.insert(*linear.getLayer());
          break;
        }
        if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp,
                tensor::ReshapeOp, tensor::CastOp, tensor::ExtractSliceOp>(
                def)) {
          v = def->getOperand(0);
          continue;
        }
        auto generic = dyn_cast<linalg::GenericOp>(def);
        if (!generic || generic.getNumParallelLoops() != generic.getNumLoops())
          break;
        SmallVector<Value> fromInputs;
        for (Value in : generic.getDpsInputs())
          if (!isConstantDerived(in, memo))
            fromInputs.push_back(in);
        if (fromInputs.size() != 1)
          break;
        v = fromInputs.front();
      }
    }
  });
  return heads;
}
