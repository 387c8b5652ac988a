//===- quant-translate.cpp - translations into and out of quantc IR -------===//

#include "QC/IR/QC.h"
#include "quantc/Frontend/OnnxImporter.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;

int main(int argc, char **argv) {
  TranslateToMLIRRegistration importOnnx(
      "import-onnx",
      "ONNX model (binary, or ONNX textual syntax) to qc + upstream tensor IR",
      [](llvm::SourceMgr &sourceMgr, MLIRContext *context) {
        const llvm::MemoryBuffer *buffer =
            sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
        return OwningOpRef<Operation *>(
            quantc::importOnnx(buffer->getBuffer(),
                               buffer->getBufferIdentifier(), context)
                .release());
      },
      [](DialectRegistry &registry) {
        quantc::registerOnnxImportDialects(registry);
      });
  return failed(mlirTranslateMain(argc, argv, "quantc translation tool"));
}
