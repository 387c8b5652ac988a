//===- quant-opt.cpp - mlir-opt with everything of quantc registered ------===//

#include "QC/IR/QC.h"
#include "quantc/Target/CPU/Jit.h"
#include "quantc/Target/CPU/Pipeline.h"
#include "quantc/Target/CUDA/Pipeline.h"
#include "quantc/Target/Common/Passes.h"
#include "quantc/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  quantc::registerCpuPipeline();
  quantc::registerCudaPipeline();
  quantc::registerCpuExecutor(); // qc-calibrate and qc-gptq run models
  quantc::registerTransformsPasses();
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  quantc::registerTargetCommonExtensions(registry);
  // gpu-module-to-binary serializes kernels through these.
  mlir::NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<quantc::qc::QCDialect>();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "quantc optimizer driver\n", registry));
}
