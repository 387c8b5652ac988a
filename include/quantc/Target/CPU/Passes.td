//===- Passes.td - CPU target passes -----------------------*- tablegen -*-===//

#ifndef QUANTC_TARGET_CPU_PASSES_TD
#define QUANTC_TARGET_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def MatmulToUkernel : Pass<"quantc-matmul-to-ukernel", "mlir::ModuleOp"> {
  let summary = "Call the CPU matmul microkernel for f32 contractions";
  let description = [{
    On bufferized IR, replaces each `linalg.generic` that is an f32 matrix
    product (`C[..., m, n] += A[..., m, k] * B[..., k, n]`, or a linear layer
    `C[..., n] += A[..., k] * W[k, n]`) over identity-layout buffers with a
    call to `quantc_matmul_f32` (runtime/kernels), on 3-D views
    `[batch, M, K] x [batch or 1, K, N] -> [batch, M, N]`.
  }];
  let dependentDialects = ["mlir::func::FuncDialect",
                           "mlir::memref::MemRefDialect"];
}

#endif // QUANTC_TARGET_CPU_PASSES_TD
