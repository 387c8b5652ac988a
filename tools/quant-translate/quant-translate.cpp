//===- quant-translate.cpp - translations into and out of quantc IR -------===//

#include "QC/IR/QC.h"
#include "quantc/Frontend/OnnxImporter.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/SourceMgr.h"

#include <vector>

using namespace mlir;

/// Weights stay out of the printed IR unless asked for: blobs longer than
/// this many characters print as elided (the IR still parses and verifies).
static constexpr const char *kElideWeights =
    "--mlir-elide-resource-strings-if-larger=1024";

static llvm::cl::opt<bool>
    printWeights("print-weights",
                 llvm::cl::desc("Print weight blobs into the output IR (by "
                                "default blobs over 1 KiB are elided)"));

int main(int argc, char **argv) {
  std::vector<char *> args(argv, argv + argc);
  bool given = llvm::any_of(args, [](StringRef a) {
    a = a.ltrim('-');
    return a.starts_with("mlir-elide-resource-strings-if-larger") ||
           a.starts_with("print-weights");
  });
  if (!given)
    args.insert(args.begin() + 1, const_cast<char *>(kElideWeights));

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
  return failed(mlirTranslateMain(static_cast<int>(args.size()), args.data(),
                                  "quantc translation tool"));
}
