//===- OnnxImportFuzzer.cpp - libFuzzer target: the ONNX importer ---------===//
//
// Any bytes, as a binary model or (starting with '<') ONNX text: the
// importer must return a module or an error, never crash or hang. The
// model's folder is an empty temporary one, so external data resolves
// nowhere outside it.
//
//===----------------------------------------------------------------------===//

#include "quantc/Frontend/OnnxImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const std::string dir = [] {
    char pattern[] = "/tmp/quantc-fuzz-onnx-XXXXXX";
    const char *made = mkdtemp(pattern);
    return std::string(made ? made : "/tmp");
  }();
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  // Diagnostics are the expected outcome; keep them off stderr.
  mlir::ScopedDiagnosticHandler quiet(&context, [](mlir::Diagnostic &) {
    return mlir::success();
  });
  llvm::StringRef buffer(reinterpret_cast<const char *>(data), size);
  (void)quantc::importOnnx(buffer, dir + "/model.onnx", &context);
  return 0;
}
