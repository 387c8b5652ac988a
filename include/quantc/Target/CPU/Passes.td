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

def ExternalizeWeights : Pass<"quantc-externalize-weights", "mlir::ModuleOp"> {
  let summary = "Move constant buffers out of the code into a weights blob";
  let description = [{
    On bufferized IR, gives `main` one more argument, `memref<?xi8>` (the
    weights blob, memory-mapped by the runtime), and replaces every
    `memref.get_global` of a constant of at least `min-bytes` bytes with a
    `memref.view` of the blob at a 64-byte aligned offset. The globals are
    removed; the module attribute `quantc.weights` lists each piece as
    `{offset, value}` for the artifact writer.
  }];
  let options = [
    Option<"minBytes", "min-bytes", "int64_t", /*default=*/"64",
           "Constants smaller than this stay in the code">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect"];
}

def LowerChecks : Pass<"quantc-lower-checks", "mlir::ModuleOp"> {
  let summary = "Turn run-time checks (cf.assert) into calls that stop the model";
  let description = [{
    The importer guards what compiled code would otherwise read out of
    bounds (index ranges, sizes that must agree at run time) with
    `cf.assert`. Upstream lowers a failed assert to `abort()`, which would
    take the embedding process down; here each becomes
    `scf.if (!cond) { quantc_check_failed("message") }`. That runtime
    function ends the call (`qc_invoke` returns the message as its error)
    and never returns into the model, so nothing after a failed check runs.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect", "mlir::scf::SCFDialect",
                           "mlir::arith::ArithDialect"];
}

def LowerDynamicExpandShape : Pass<"quantc-lower-dynamic-expand-shape", "mlir::ModuleOp"> {
  let summary = "Write expand_shape ops upstream cannot lower as reinterpret_cast";
  let description = [{
    `memref.expand_shape` with more than one dynamic size in one
    reassociation group crashes LLVM 22's `expand-strided-metadata`
    (llvm/llvm-project#186830). Each such op becomes
    `memref.reinterpret_cast` of its source's base buffer with the source's
    offset, the op's output shape and row-major strides within each group
    (the group's innermost stride is the source dimension's). Runs before
    `expand-strided-metadata`; other expands are left to it.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect"];
}

def MarkEntry : Pass<"quantc-mark-entry", "mlir::ModuleOp"> {
  let summary = "Ask for the C interface of `main` (see quantc-emit-entry)";
  let description = [{
    Sets `llvm.emit_c_interface` on `func.func @main`, so that the lowering
    to LLVM emits `_mlir_ciface_main`, which `quantc-emit-entry` wraps, and
    marks its arguments `bufferization.writable = false`: compiled code
    never writes into the caller's inputs.
  }];
}

def EmitEntry : Pass<"quantc-emit-entry", "mlir::ModuleOp"> {
  let summary = "Add `quantc_main(void **)`, the one entry point of a model";
  let description = [{
    On LLVM-dialect IR holding `_mlir_ciface_main` (the C interface of
    `main`), adds `llvm.func @quantc_main(%descriptors: !llvm.ptr)` that
    loads one pointer per parameter of `_mlir_ciface_main` from the array
    and calls it: the result descriptors first (when `main` has results),
    then one descriptor per argument. The JIT and the runtime call every
    model through this single signature. MLIR's generic allocation
    functions (`finalize-memref-to-llvm{use-generic-functions}`) are renamed
    to the runtime's `quantc_model_alloc`/`quantc_model_free`, which track
    each call's buffers.
  }];
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

def FuseElementwise : Pass<"quantc-fuse-elementwise", "mlir::ModuleOp"> {
  let summary = "Fuse chains of elementwise linalg ops into one loop nest";
  let description = [{
    On tensors, fuses an elementwise `linalg.generic` into its consumer
    when the consumer has only parallel loops and is the producer's only
    user: one pass over memory instead of one per op, and no value computed
    twice. Contractions and reductions keep their producers (the matmul
    microkernel must still recognise them).
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def FoldRepeatKv : Pass<"quantc-fold-repeat-kv", "mlir::ModuleOp"> {
  let summary = "Grouped-query attention without copying the repeated K/V";
  let description = [{
    A contraction (attention's Q K^T or P V) reading K or V through the
    graph's head repetition (collapse of a broadcast along a unit head-group
    dim) instead reads the unrepeated tensor, with the query heads of each
    K/V head stacked as rows: the KV cache is no longer copied once per query
    head at every step, and each matmul has rep times the rows.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def FoldBatchReshapes : Pass<"quantc-fold-batch-reshapes", "mlir::ModuleOp"> {
  let summary = "Run contractions over merged batch dimensions unmerged";
  let description = [{
    A contraction reading a `tensor.collapse_shape` (or producing the source
    of a `tensor.expand_shape`) that merges only its batch loops, such as
    attention's batch x heads, runs over the unmerged loops instead
    (upstream's fold of reshapes by expansion, restricted to batch merges):
    a KV-cache view is then read in place through its strides instead of
    copied to be merged. Rows and the reduction stay merged (one long kernel
    call). Runs after transposes are folded into indexing maps and after
    `quantc-fold-repeat-kv` (whose head repetition is also a batch merge).
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
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

def ApproximateMath : Pass<"quantc-approximate-math", "mlir::ModuleOp"> {
  let summary = "Inline polynomial f32 exp, tanh and erf, so loops with them vectorize";
  let description = [{
    Replaces `math.exp`, `math.tanh` and `math.erf` on f32 with upstream
    MLIR's polynomial approximations made of arith ops: unlike calls to
    libm's `expf`/`tanhf`/`erff`, they vectorize with the loop around them
    (softmax, SiLU, GELU in its erf and tanh forms). Their accuracy against
    float64 is tested in `test/E2E/math-accuracy.test`.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::vector::VectorDialect"];
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
    call to `quantc_qmatmul_f32` (runtime/kernels): the stored pieces become
    byte globals (moved to the weights blob in artifacts, as they are: the
    kernel reads qc.qconstant's channel-major layout), the activations a
    `[M, K]` view; a bias is added by an elementwise op on the result. Other
    formats (per tensor, outliers) are left to `qc-to-linalg` (decoded inside
    a contraction).
    With the module's unit attribute `quantc.int8_activations` the kernel
    may round up to 8 rows of activations to int8 (per 128 elements) and
    multiply in integers (AVX-512 VNNI).
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::bufferization::BufferizationDialect",
                           "mlir::func::FuncDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::tensor::TensorDialect"];
}

def KvCacheInPlace : Pass<"quantc-kv-cache-in-place", "mlir::ModuleOp"> {
  let summary = "Append to runtime-owned KV caches in place instead of "
                "concatenating a new present tensor";
  let description = [{
    Finds each result of `main` that is `tensor.concat dim(d) %past, %new`
    of an argument `%past` (a decoder's `present = Concat(past, new)`) and
    turns `%past` into a cache buffer the runtime owns: its size along `d`
    becomes the capacity, `main` gets one more argument (`tensor<i64>`, the
    number of positions already in the caches, named
    `past_sequence_length`), `%new` is inserted at that position and the
    attention reads the first `length + new` positions. The result becomes
    the updated buffer (dropped after bufferization by
    `quantc-kv-cache-drop-results`), so no step copies the whole cache.

    Attributes record the convention for the runtime: on the cache argument
    `quantc.kv_cache = {axis, present, size_from}` where `size_from` names,
    for each dynamic size of the appended tensor, the input and dimension
    it equals (-1, -1 for static sizes), proven with value bounds; on the
    length argument `quantc.kv_length`; on the result
    `quantc.kv_cache_of = <argument index>`.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::tensor::TensorDialect"];
}

def KvCacheDropResults
    : Pass<"quantc-kv-cache-drop-results", "mlir::ModuleOp"> {
  let summary = "Drop the KV cache results of main once bufferized in place";
  let description = [{
    On bufferized IR, removes each result of `main` marked
    `quantc.kv_cache_of = i`: it must be `main`'s argument i itself (the
    cache updated in place). Anything else is an error, never a silent copy.
  }];
}

#endif // QUANTC_TARGET_CPU_PASSES_TD
