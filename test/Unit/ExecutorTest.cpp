//===- ExecutorTest.cpp - calibration runs through a device's executor ----===//
//
// This binary links the quantization passes and no target: it fails to link
// if QuantcTransforms needs the CPU target again. A fake executor stands in
// for a device and shows that qc-calibrate compiles through it.

#include "QC/IR/QC.h"
#include "quantc/Execution/Executor.h"
#include "quantc/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace mlir;

namespace {

// Runs first (gtest keeps a file's order): nothing is registered yet.
TEST(Executor, NoneRegistered) {
  std::string error;
  EXPECT_EQ(quantc::createExecutor("cpu", error), nullptr);
  EXPECT_EQ(error, "no executor for device 'cpu' in this build (none "
                   "registered)");
}

struct FakeExecutor : quantc::Executor {
  static inline int compiles = 0;
  static inline unsigned arguments = 0;
  FailureOr<std::unique_ptr<quantc::Model>>
  compile(OwningOpRef<ModuleOp> module) override {
    ++compiles;
    arguments = module->lookupSymbol<func::FuncOp>("main").getNumArguments();
    return module->emitError("fake device: cannot run");
  }
};

TEST(Executor, UnknownDeviceListsTheKnownOnes) {
  quantc::registerExecutor("fake", [] { return std::make_unique<FakeExecutor>(); });
  std::string error;
  EXPECT_NE(quantc::createExecutor("fake", error), nullptr);
  EXPECT_EQ(quantc::createExecutor("tpu", error), nullptr);
  EXPECT_EQ(error, "no executor for device 'tpu' in this build (known: fake)");
}

TEST(Executor, CalibrationCompilesThroughTheDevicesExecutor) {
  quantc::registerExecutor("fake", [] { return std::make_unique<FakeExecutor>(); });
  MLIRContext context;
  context.loadDialect<quantc::qc::QCDialect, arith::ArithDialect,
                      func::FuncDialect, tensor::TensorDialect>();
  // One named layer (observed) and the head (not).
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(R"mlir(
    func.func @main(%ids: tensor<1x8xi64> {onnx.name = "input_ids"},
                    %x: tensor<1x16xf32>) -> tensor<1x2xf32> {
      %w = arith.constant dense<0.5> : tensor<16x4xf32>
      %h = arith.constant dense<1.0> : tensor<4x2xf32>
      %a = qc.linear %x, %w {layer = "m.blocks.0.up"} : tensor<1x16xf32>, tensor<16x4xf32> -> tensor<1x4xf32>
      %y = qc.linear %a, %h {layer = "head"} : tensor<1x4xf32>, tensor<4x2xf32> -> tensor<1x2xf32>
      return %y : tensor<1x2xf32>
    })mlir",
                                                             &context);
  ASSERT_TRUE(module);
  auto dir = std::filesystem::temp_directory_path() /
             ("quantc-executor-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string text = (dir / "calib.txt").string(),
              stats = (dir / "out.qcstats").string();
  std::ofstream(text) << std::string(4096, 'a');

  std::string diagnostics;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return success();
  });
  PassManager pm(&context);
  quantc::CalibrateOptions options;
  options.calib = text;
  options.stats = stats;
  options.windows = 4;
  options.device = "fake";
  pm.addPass(quantc::createCalibrate(options));
  EXPECT_TRUE(failed(pm.run(*module)));
  EXPECT_EQ(FakeExecutor::compiles, 1);
  // It got the model (a copy, with the observed value as another result).
  EXPECT_EQ(FakeExecutor::arguments, 2u);
  EXPECT_NE(diagnostics.find("fake device: cannot run"), std::string::npos)
      << diagnostics;
  EXPECT_NE(diagnostics.find("cannot compile the model for calibration"),
            std::string::npos)
      << diagnostics;
  EXPECT_FALSE(std::filesystem::exists(stats));
  std::filesystem::remove_all(dir);
}

} // namespace
