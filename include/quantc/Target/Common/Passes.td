//===- Passes.td - passes every target runs ----------------*- tablegen -*-===//

#ifndef QUANTC_TARGET_COMMON_PASSES_TD
#define QUANTC_TARGET_COMMON_PASSES_TD

include "mlir/Pass/PassBase.td"

def ApproximateMath : Pass<"quantc-approximate-math", "mlir::ModuleOp"> {
  let summary = "Inline polynomial f32 exp, tanh and erf, without libm";
  let description = [{
    Replaces `math.exp`, `math.tanh` and `math.erf` on f32 with upstream
    MLIR's polynomial approximations made of arith ops: unlike calls to
    libm's `expf`/`tanhf`/`erff`, they vectorize with the loop around them
    on the CPU (softmax, SiLU, GELU in its erf and tanh forms), and GPU
    kernels need no device math library for them. Their accuracy against
    float64 is tested in `test/E2E/math-accuracy.test`.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::vector::VectorDialect"];
}

def ExternalizeWeights : Pass<"quantc-externalize-weights", "mlir::ModuleOp"> {
  let summary = "Move constant buffers out of the code into a weights blob";
  let description = [{
    On bufferized IR, gives `main` one more argument, `memref<?xi8>` (the
    weights blob, memory-mapped by the runtime), and replaces every
    `memref.get_global` of a constant of at least `min-bytes` bytes with a
    `memref.view` of the blob at a 64-byte aligned offset. The globals are
    removed; the module attribute `quantc.weights` lists each piece as
    `{name, dtype, shape, format, layout, [part], offset, bytes, value}` for
    the artifact writer: pieces of quantized weights (listed in
    `quantc.packed_pieces` by the passes that lowered them) carry their
    `#qc.format`, layout and part, others are `dense`, `row_major`.
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

def FuseElementwise : Pass<"quantc-fuse-elementwise", "mlir::ModuleOp"> {
  let summary = "Fuse chains of elementwise linalg ops into one loop nest";
  let description = [{
    On tensors, fuses an elementwise `linalg.generic` into its consumer
    when the consumer has only parallel loops and is the producer's only
    user: one pass over memory instead of one per op, and no value computed
    twice. Contractions and reductions keep their producers (the matmul
    microkernel must still recognise them).

    First, attention's divisions leave the scores (one value per query and
    key): softmax(Q K^T / c) divides Q by c before the product (exact for
    a power of two c), and softmax's division by each row's sum moves after
    P V, onto its d values per row. Only for products of two activations
    (a batch loop) that start from zeros.
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

def QuantizeKvCache : Pass<"qc-quantize-kv-cache", "mlir::ModuleOp"> {
  let summary = "Store the runtime-owned KV caches in 8, 4 or 2 bits, or "
                "FP8 E4M3";
  let description = [{
    Runs after `quantc-kv-cache-in-place` (and `quantc-fold-repeat-kv`,
    `quantc-fold-batch-reshapes`). Each cache argument of `main`
    (`quantc.kv_cache`, laid out [batch, kv_heads, positions, head_dim] with
    static heads and head_dim) becomes codes of `bits` bits,
    `tensor<?xHx?xRxi8>` with R the bytes of a token's row (the layout of
    the runtime's `qc_kv_cache`), plus two more cache arguments appended to
    `main`, the scales and offsets of each token's groups of `group` values
    (`tensor<?xHx?xGxf32>`, G = head_dim / group; per token, for keys and
    values alike). The step's new keys/values are quantized once, on write
    (`qc.ukernel "quantc_kv_append"`), and the attention's two products
    over the cache (Q K^T, P V: the contractions that read the cache's
    positions so far) decode it inside the kernel
    (`quantc_kv_scores`, `quantc_kv_values`): no float copy of the cache.

    `keys=per-channel` (KVQuant's calibrated key scales): each key cache (a
    cache read by Q K^T) has fixed scales and offsets per KV head and
    channel instead, constants spanning the [min, max] that
    qc-calibrate-kv-cache left in the module attribute `quantc.kv_ranges`
    (values beyond it are clamped); the keys then take no scale arguments,
    and their write is `quantc_kv_append_fixed`. Values stay per token.

    `format=e4m3` (with `bits=8`, per-token keys): the codes are OCP FP8
    E4M3 numbers, each group's scale its max |x| / 448 and its offsets 0
    (kept: the layout is int8's); `kernels.h`'s `QC_KV_E4M3`.

    `pre-rope` (KVQuant's pre-RoPE keys): each key cache stores the keys
    before RoPE and the scores rotate each token's decoded key at its
    position (`quantc_kv_scores_rope`), from a table of the cosines and
    sines the model computed for each position: one more cache argument of
    `main`, `tensor<?x1x?x(2 head_dim)xf32>`, shared by the key caches
    rotated by the same values, written where the keys are. RoPE must be
    the rotate_half form, `x * cos + concat(-x[.., d/2:], x[.., :d/2]) *
    sin` with cos and sin [batch, 1, positions, head_dim]; anything else
    is an error naming the cache. A module marked `quantc.kv_observe_pre_rope`
    (by qc-calibrate-kv-cache, to measure the ranges of pre-RoPE keys) gets,
    for each key cache, its step's keys before RoPE as one more result of
    `main`, named after its present output with `.pre_rope`, and nothing
    else changes.

    `bits` 0 (the default) takes the request from the module attribute
    `quantc.kv_quant = {bits, group, keys, format, pre_rope}` (the driver's
    `--kv-bits`) and
    does nothing without it. A module with no cache, or a cache read other
    than by those products, is an error naming what was looked for, unless
    `best-effort` (then a warning, and the caches stay f32).
  }];
  let options = [
    Option<"bits", "bits", "int", /*default=*/"0",
           "Bits of the cache codes: 8, 4 or 2 (0: the module's "
           "quantc.kv_quant, if any)">,
    Option<"group", "group", "int64_t", /*default=*/"0",
           "Values per scale along the head dimension (0: the whole head)">,
    Option<"format", "format", "std::string", /*default=*/"\"int\"",
           "Codes: int (integers spanning [min, max]) or e4m3 (FP8 E4M3 "
           "numbers, bits 8, symmetric)">,
    Option<"keys", "keys", "std::string", /*default=*/"\"per-token\"",
           "Scales of the keys: per-token, or per-channel (fixed, from "
           "the module's quantc.kv_ranges)">,
    Option<"preRope", "pre-rope", "bool", /*default=*/"false",
           "Store keys before RoPE, rotated at their positions when read">,
    Option<"bestEffort", "best-effort", "bool", /*default=*/"false",
           "Warn and change nothing where no cache can be quantized">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::tensor::TensorDialect",
                           "quantc::qc::QCDialect"];
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

def MapToGpu : Pass<"quantc-map-to-gpu", "mlir::ModuleOp"> {
  let summary = "Put every loop nest of `main` on the GPU: linalg to parallel "
                "loops mapped to blocks and threads";
  let description = [{
    The first step of the GPU targets, on bufferized IR after
    `quantc-lower-checks`. In `main`:
    - `memref.copy` becomes `linalg.copy` (a kernel, not a host loop);
    - a linalg op with no parallel loop (a 0-d fill or copy, a reduction to
      a scalar) is wrapped in a one-trip `scf.parallel`, so it too runs on
      the device (one thread);
    - linalg ops become `scf.parallel` nests (reductions stay sequential
      loops inside each thread);
    - each outermost `scf.parallel` is collapsed to one dimension (the
      innermost index fastest, so neighbouring threads touch neighbouring
      elements), tiled by `block-size` and mapped to `block_x` / `thread_x`
      for upstream `convert-parallel-loops-to-gpu`;
    - a run-time check on a flag the device computed (the lowered form of
      `cf.assert` on a loaded `i1`) becomes `quantc_check_device(flag,
      message)`: the runtime copies the flag back with the call's other
      work and reports the message after the call, instead of stalling the
      host mid-call.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Threads per block of the mapped loops">
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::linalg::LinalgDialect",
                           "mlir::scf::SCFDialect", "mlir::LLVM::LLVMDialect",
                           "mlir::arith::ArithDialect", "mlir::memref::MemRefDialect"];
}

def GatherGpuKernels : Pass<"quantc-gather-gpu-kernels", "mlir::ModuleOp"> {
  let summary = "One device module for all kernels; nothing left on the host "
                "that touches tensor data";
  let description = [{
    After `gpu-kernel-outlining` (one `gpu.module` per kernel), moves every
    kernel into one `gpu.module @quantc_kernels`, each named after the
    module it came from, and points the launches at them: the target gets
    one code object, loaded once. Then checks that `main` keeps only what
    the host may do (sizes, launches, allocations, views, run-time checks):
    an op left on the host that reads or writes tensor data is an error
    naming it, never a silent host fallback.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect"];
}

#endif // QUANTC_TARGET_COMMON_PASSES_TD
