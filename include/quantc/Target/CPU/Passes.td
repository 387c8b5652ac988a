//===- Passes.td - CPU target passes -----------------------------*- tablegen -*-===//

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
    `[batch, M, K] x [batch or 1, K, N] -> [batch, M, N]`. Operands whose
    dims do not merge into such views (heads split out of a fused q/k/v
    projection and transposed by the indexing maps, a strided cache view)
    are read through their own strides, with the batch and row loops the
    views cannot hold run as `scf.for` loops around the call.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::func::FuncDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect"];
}

def ParallelizeLinalg : Pass<"quantc-parallelize-linalg", "mlir::ModuleOp"> {
  let summary = "Run the remaining linalg ops on all threads (OpenMP)";
  let description = [{
    On bufferized IR, tiles each linalg op (other than the matmuls already
    given to the microkernel) by 1 along its leading parallel loops, except
    the innermost loop, which stays whole for LLVM to vectorize, and runs
    those tiles as a collapsed `omp.wsloop` inside an `omp.parallel` whose
    `if` clause holds only when the op's iteration space has at least
    `min-iterations` points, so small ops (decoding) do not pay for a fork.
    `memref.copy` ops (from bufferization) become `linalg.copy` first.
    An `scf.forall` made on tensors (`quantc-fuse-attention`) runs on the
    threads the same way, when the largest buffer it uses from outside has
    at least `min-iterations` elements; the ops inside it stay serial.
  }];
  let options = [
    Option<"minIterations", "min-iterations", "int64_t", /*default=*/"32768",
           "Iteration spaces smaller than this run on the calling thread">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::omp::OpenMPDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::memref::MemRefDialect"];
}

def FuseAttention : Pass<"quantc-fuse-attention", "mlir::ModuleOp"> {
  let summary = "Run attention one (batch, head) at a time, its scores in cache";
  let description = [{
    A batched contraction whose operand is computed from another batched
    contraction, through ops that feed nothing else (P V of
    softmax(Q K^T)), is tiled by 1 along its batch loops into an
    `scf.forall` with that whole chain fused in (upstream's
    tile-and-fuse): Q K^T, the softmax's maximum, exponentials, sum and
    division of one head run back to back while its scores are in cache,
    instead of each op making a pass over every head's scores in memory.
    First, `tensor.expand_shape`s that only add unit dimensions read at
    index 0 (a reduction's [b, h, s] seen as [b, h, s, 1]) are folded into
    the reading op's indexing map, so the softmax's reductions reach their
    readers directly and are fused too. `quantc-parallelize-linalg` runs
    the loop on the threads.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect"];
}

def LowerRowReductions
    : Pass<"quantc-lower-row-reductions", "mlir::ModuleOp"> {
  let summary = "Lower reductions along the innermost loop to loops that "
                "carry their accumulator (so LLVM vectorizes them)";
  let description = [{
    On bufferized IR, rewrites each `linalg.generic` whose innermost loop is
    its only reduction (sums, maxima of softmax and norms) into `scf.for`
    loops where the innermost one carries the accumulator in a register
    (`iter_args`): loaded once before, stored once after. Upstream's
    `convert-linalg-to-loops` loads and stores the output element on every
    iteration, which LLVM can neither vectorize nor keep in a register (it
    cannot prove the output does not alias the input). The combining
    `arith.addf`/`arith.mulf` get `reassoc`, so the vectorizer may reorder
    the sum.
  }];
  let dependentDialects = ["mlir::affine::AffineDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect"];
}

def QuantizedLinearToUkernel
    : Pass<"quantc-quantized-linear-to-ukernel", "mlir::ModuleOp"> {
  let summary = "Call the fused dequantize-matmul kernel for quantized "
                "qc.linear layers";
  let description = [{
    Replaces each `qc.linear` whose weight is a `qc.qconstant` stored per
    channel or per group without outliers (any code: 2- to 8-bit integers,
    symmetric or affine, NF4 and FP4 through the table of their 16 values,
    FP8 E4M3/E5M2; f32, f16 or bf16 scales, double-quantized or not) with a
    destination-style `qc.ukernel "quantc_qmatmul_f32"` (runtime/kernels) on
    tensors: the stored pieces become byte constants (globals after
    bufferization, moved to the weights blob in artifacts, as they are: the
    kernel reads qc.qconstant's channel-major layout), the result an empty
    tensor in its own shape; a bias is added by an elementwise op on the
    result. `quantc-lower-ukernels` makes it a call after bufferization.
    Other formats (per tensor, outliers) are left to `qc-to-linalg`
    (decoded inside a contraction).
    With the module's unit attribute `quantc.int8_activations` the kernel
    may round up to 8 rows of activations to int8 (per 128 elements) and
    multiply in integers (AVX-512 VNNI).
    With `gpu`, only the formats the CUDA target's kernel takes
    (`quantc-cuda-qmatmul`): 2-, 4- or 8-bit integer codes, symmetric or
    affine, per channel or per group of a multiple of 8, scales not
    double-quantized; the others go to `qc-to-linalg`.
  }];
  let options = [Option<"gpu", "gpu", "bool", /*default=*/"false",
                        "only the formats of the GPU kernel">];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect",
                           "quantc::qc::QCDialect"];
}

def LowerUKernels : Pass<"quantc-lower-ukernels", "mlir::ModuleOp"> {
  let summary = "Call the kernel of each bufferized qc.ukernel";
  let description = [{
    Replaces each `qc.ukernel` on buffers with `func.call @fn(ins...,
    outs..., scalars...)` (declared private with `llvm.emit_c_interface`,
    the kernels' ABI). Each
    buffer is passed with dynamic sizes and a dynamic strided layout, a
    buffer of rank above 2 as a 2-D view with its leading dimensions merged
    (rows; copied to a dense buffer first where they cannot be merged);
    scalars are passed as they are. Calls of one kernel must agree on the
    types they pass. `qc.ukernel` ops left on tensors are an error.
  }];
  let dependentDialects = ["mlir::func::FuncDialect",
                           "mlir::memref::MemRefDialect"];
}

#endif // QUANTC_TARGET_CPU_PASSES_TD
