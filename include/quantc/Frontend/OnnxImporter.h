//===- OnnxImporter.h - ONNX models to qc + upstream tensor IR --*- C++ -*-===//

#ifndef QUANTC_FRONTEND_ONNXIMPORTER_H
#define QUANTC_FRONTEND_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

namespace quantc {

/// Imports an ONNX model: binary protobuf, or ONNX's textual syntax when the
/// buffer starts with '<'. `modelPath` names the model in diagnostics and is
/// where external data is looked up (next to it, never outside its folder).
/// The result is a module with one function, `main`, whose arguments and
/// results are the graph's inputs and outputs; a MatMul or Gemm with a
/// constant weight becomes `qc.linear`, weights become `dense_resource`
/// blobs named after their initializers. Errors are reported through the
/// context's diagnostic handler with the node's name as location; the result
/// is null then.
mlir::OwningOpRef<mlir::ModuleOp> importOnnx(llvm::StringRef buffer,
                                             llvm::StringRef modelPath,
                                             mlir::MLIRContext *context);

/// Reads `path` and imports it.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxFile(llvm::StringRef path,
                                                 mlir::MLIRContext *context);

/// Registers the dialects imported IR uses.
void registerOnnxImportDialects(mlir::DialectRegistry &registry);

} // namespace quantc

#endif // QUANTC_FRONTEND_ONNXIMPORTER_H
