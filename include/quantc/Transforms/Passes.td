//===- Passes.td - quantization passes ---------------------*- tablegen -*-===//

#ifndef QUANTC_TRANSFORMS_PASSES_TD
#define QUANTC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def QuantizeWeights : Pass<"qc-quantize-weights", "mlir::ModuleOp"> {
  let summary = "Round-to-nearest weight quantization of qc.linear layers";
  let description = [{
    Replaces the f32 constant weight of each selected `qc.linear` with a
    `qc.qconstant` in `format` (any `#qc.format` body without outliers:
    integer 2..8 bits symmetric or affine, NF4, FP4, FP8; per tensor, per
    channel or per group; double-quantized scales), quantized by
    round-to-nearest with min-max (affine) or absmax (symmetric) scales, as
    quantc's reference numerics define them. Layers are selected by name
    (`layer` attribute) with glob patterns: `layers` picks, `exclude` drops;
    `layer-formats` gives layers matching a pattern their own format (mixed
    precision) or keeps them in f32. A layer whose shape the format cannot
    hold is an error naming it. Given calibration statistics (`stats`),
    each quantized layer they serve gets its relative output error
    ||(W - W')X||^2 / ||WX||^2 on the calibration inputs as `qc.output_error`
    (read by qc-report).
  }];
  let options = [
    Option<"format", "format", "std::string",
           /*default=*/"\"int4, affine, group = 128, scale = f16\"",
           "The #qc.format<...> body of the quantized weights">,
    ListOption<"layers", "layers", "std::string",
               "Glob patterns of layer names to quantize (default: every "
               "layer but the output head, whose result is the model's "
               "output)">,
    ListOption<"exclude", "exclude", "std::string",
               "Glob patterns of layer names to keep in floating point">,
    Option<"layerFormats", "layer-formats", "std::string", /*default=*/"",
           "Per-layer formats: 'GLOB=FORMAT; GLOB=FORMAT' (first match "
           "wins; FORMAT 'f32' keeps the layer)">,
    Option<"stats", "stats", "std::string", /*default=*/"",
           "Statistics file from this model: record each layer's output "
           "error (default: none)">
  ];
  let dependentDialects = ["quantc::qc::QCDialect"];
}

def Report : Pass<"qc-report", "mlir::ModuleOp"> {
  let summary = "Writes the per-layer quantization report as CSV";
  let description = [{
    One line per named `qc.linear`, in program order, to `file`:
    `layer,k,n,format,alpha,outlier_columns,activations,relative_output_error,activation_output_error,seconds`.
    format: the weight's #qc.format body (f32 if not quantized); alpha:
    SmoothQuant's (`qc.alpha`); outlier_columns: the input columns
    qc-split-outliers keeps in floating point; activations: f32, `int8
    dynamic per token` or `int8 static per tensor` with its scale;
    relative_output_error: ||(W - W')X||^2 / ||WX||^2 of the weight's
    quantization on the calibration inputs (`qc.output_error`: qc-gptq,
    or qc-quantize-weights given statistics; of the layer's int8 part
    where columns were split off); activation_output_error: for static
    activations, the expected relative output error of rounding the input
    to the layer's step s, from the statistics (`stats`, else those
    qc-calibrate left): input channels' errors taken as independent, each
    of variance min(s^2 / 12, E[x_j^2]), so sum_j var_j ||W'_j||^2 /
    (tr(W'^T H W') / 2) with W' the weight as quantized (dynamic
    activations: empty, their steps vary by token); seconds: GPTQ's time.
    Empty where a pass did not run or had no statistics.
  }];
  let options = [
    Option<"file", "file", "std::string", /*default=*/"",
           "The CSV file to write">,
    Option<"stats", "stats", "std::string", /*default=*/"",
           "Calibration statistics for the activations' expected error "
           "(default: those qc-calibrate left on the module)">
  ];
}

def Calibrate : Pass<"qc-calibrate", "mlir::ModuleOp"> {
  let summary = "Gathers per-layer input statistics on calibration text";
  let description = [{
    Runs the model through the CPU JIT on windows of calibration text
    (EVAL.md's protocol by default: 256 windows of 256 bytes from its start)
    with the input of each selected `qc.linear` observed, and writes, for
    each observed value, per-channel absmax and mean and the Hessian
    H = 2 X^T X / samples to the statistics file `stats` (read later by
    qc-gptq; its path is left on the module as `qc.calibration_stats`).
    Memory stays within `memory-mb`: layers whose accumulators and
    activations do not fit together are observed in further runs over the
    text, and each run's statistics are written before the next starts.
    The model itself is not changed.
  }];
  let options = [
    Option<"calib", "calib", "std::string", /*default=*/"",
           "Calibration text (bytes; one token each)">,
    Option<"stats", "stats", "std::string", /*default=*/"",
           "Statistics file to write">,
    Option<"windows", "windows", "int64_t", /*default=*/"256",
           "Windows of calibration text">,
    Option<"length", "length", "int64_t", /*default=*/"256",
           "Bytes per window">,
    ListOption<"layers", "layers", "std::string",
               "Glob patterns of layer names to observe (default: every "
               "layer but the output head)">,
    ListOption<"exclude", "exclude", "std::string",
               "Glob patterns of layer names not to observe">,
    Option<"memoryMb", "memory-mb", "int64_t", /*default=*/"4096",
           "MiB of statistics and activations held at once">,
    Option<"device", "device", "std::string", /*default=*/"\"cpu\"",
           "Device whose executor runs the model (Execution/Executor.h)">
  ];
  let dependentDialects = ["quantc::qc::QCDialect"];
}

def CalibrateKvCache : Pass<"qc-calibrate-kv-cache", "mlir::ModuleOp"> {
  let summary = "Per-channel ranges of a decoder's KV cache on calibration text";
  let description = [{
    Runs the model (a decoder with `past_key_values.*` inputs and `present.*`
    outputs) through the CPU JIT on windows of calibration text, each from
    an empty cache, and leaves on the module, as `quantc.kv_ranges`, for each
    cache input the [min, max] of the values its present held, per KV head
    and channel: `{"<input>" = dense<...> : tensor<2 x kv_heads x head_dim x
    f32>}` (mins, then maxes). With `bits`, each range is then clipped
    where that lowers the squared error of `bits`-bit codes on the
    calibration values (a second run over the text for per-channel
    histograms of 256 bins; both ends moved inwards in steps of 1/64:
    rare outliers are clamped so that the rest get finer steps).
    qc-quantize-kv-cache's per-channel keys (KVQuant's calibrated key
    scales) are read from it. With `pre-rope`, the ranges of key caches
    are those of the keys before RoPE (qc-quantize-kv-cache's `pre-rope`
    keys; the model must apply RoPE in its rotate_half form). The model
    itself is not changed.
  }];
  let options = [
    Option<"bits", "bits", "int", /*default=*/"0",
           "Bits of the codes the ranges are clipped for (8, 4, 2; 0: the "
           "plain [min, max])">,
    Option<"calib", "calib", "std::string", /*default=*/"",
           "Calibration text (bytes; one token each)">,
    Option<"windows", "windows", "int64_t", /*default=*/"256",
           "Windows of calibration text">,
    Option<"length", "length", "int64_t", /*default=*/"256",
           "Bytes per window">,
    Option<"device", "device", "std::string", /*default=*/"\"cpu\"",
           "Device whose executor runs the model (Execution/Executor.h)">,
    Option<"preRope", "pre-rope", "bool", /*default=*/"false",
           "Ranges of the keys before RoPE">
  ];
  let dependentDialects = ["quantc::qc::QCDialect"];
}

def Gptq : Pass<"qc-gptq", "mlir::ModuleOp"> {
  let summary = "GPTQ weight quantization of qc.linear layers";
  let description = [{
    Rewrites the f32 weight of each selected `qc.linear` with GPTQ (Frantar
    et al.): Cholesky of the damped inverse Hessian from the calibration
    statistics, column-by-column error feedback inside blocks of `block`
    columns, lazy update of the rest; act-order with static groups; inputs
    never seen are zeroed. Statistics come from `stats` (default: the file
    qc-calibrate left on the module), one record at a time; they must come
    from this model. With `true-sequential`, layers go in stages (those
    reading one value), each calibrated on `calib` with the stages before
    it already quantized. Prints a per-layer table (relative output error
    ||(W - W')X||^2 / ||WX||^2, format, seconds) and leaves the error and
    seconds on each layer for qc-report.
  }];
  let options = [
    Option<"format", "format", "std::string",
           /*default=*/"\"int4, affine, group = 128, scale = f16\"",
           "The #qc.format<...> body (integer, per channel or group)">,
    Option<"layerFormats", "layer-formats", "std::string", /*default=*/"",
           "Per-layer formats: 'GLOB=FORMAT; ...' (FORMAT 'f32' keeps it)">,
    ListOption<"layers", "layers", "std::string",
               "Glob patterns of layer names to quantize (default: every "
               "layer but the output head)">,
    ListOption<"exclude", "exclude", "std::string",
               "Glob patterns of layer names to keep in floating point">,
    Option<"stats", "stats", "std::string", /*default=*/"",
           "Statistics file (default: the module's qc.calibration_stats)">,
    Option<"damp", "damp", "double", /*default=*/"0.01",
           "Damping added to diag(H), as a fraction of its mean">,
    Option<"block", "block", "int64_t", /*default=*/"128",
           "Columns per block of eager error feedback">,
    Option<"actOrder", "act-order", "bool", /*default=*/"true",
           "Quantize columns by decreasing diag(H) (static groups)">,
    Option<"trueSequential", "true-sequential", "bool", /*default=*/"false",
           "Calibrate each stage on `calib` after the stages before it">,
    Option<"calib", "calib", "std::string", /*default=*/"",
           "Calibration text (true-sequential)">,
    Option<"windows", "windows", "int64_t", /*default=*/"256",
           "Windows of calibration text (true-sequential)">,
    Option<"device", "device", "std::string", /*default=*/"\"cpu\"",
           "Device that runs the calibration (true-sequential)">
  ];
  let dependentDialects = ["quantc::qc::QCDialect"];
}

def SmoothQuant : Pass<"qc-smoothquant", "mlir::ModuleOp"> {
  let summary = "SmoothQuant: moves activation outliers into the weights";
  let description = [{
    For the selected f32 `qc.linear` layers reading one value X, per input
    channel j: s_j = max|X_j|^alpha / max|W_j|^(1 - alpha) (max|X_j| from
    the calibration statistics, max|W_j| over every layer reading X);
    W <- diag(s) W, and X diag(1/s) folded into what produces X: a constant
    scale along X's last dimension (a normalization's weight), or the
    output columns (and bias) of a linear layer whose result only
    multiplies elementwise into X (silu(gate) * up before down). The model
    computes the same function; X's outlier channels shrink. With neither
    (attention's output before its projection) the layers read X through a
    multiply by 1/s along its last dimension, which the CPU's W8A8 kernel
    applies as it quantizes rows. A value read by a layer not selected is
    left alone; a line per value reports s's range and where 1/s went, or
    why not. Statistics come from `stats` (default: the
    file qc-calibrate left on the module) and must come from this model.

    `alpha=auto` searches alpha in 0, 0.1, ..., 1 for each value X: the
    expected output error of the layers reading it once their weights are
    quantized to `format` and X to `abits` bits per tensor, from the
    calibration statistics: sum over the layers of tr(D^T H D / 2)
    (D: the weight's rounding error mapped back through s, H = 2 X^T X / n)
    plus the activation rounding noise d^2 / 12 times |diag(s) W|^2 (d: the
    step of X diag(1/s)'s absmax over 2^(abits-1) - 1 levels).
  }];
  let options = [
    Option<"alpha", "alpha", "std::string", /*default=*/"\"0.5\"",
           "Migration strength in [0, 1] (0: weights unchanged), or 'auto': "
           "per input value, the alpha of 0, 0.1, ..., 1 whose quantized "
           "layers have the least expected output error (see the pass's "
           "description)">,
    Option<"format", "format", "std::string",
           /*default=*/"\"int8,symmetric,per_channel,scale=f32\"",
           "alpha=auto: the #qc.format body the weights will be quantized to">,
    Option<"abits", "abits", "int", /*default=*/"8",
           "alpha=auto: the bits the activations will be quantized to">,
    Option<"stats", "stats", "std::string", /*default=*/"",
           "Statistics file (default: the module's qc.calibration_stats)">,
    ListOption<"layers", "layers", "std::string",
               "Glob patterns of layer names to smooth (default: every "
               "layer but the output head)">,
    ListOption<"exclude", "exclude", "std::string",
               "Glob patterns of layer names to leave alone">
  ];
  let dependentDialects = ["quantc::qc::QCDialect",
                           "mlir::arith::ArithDialect"];
}

def QuantizeActivations : Pass<"qc-quantize-activations", "mlir::ModuleOp"> {
  let summary = "Quantize the inputs of linear layers (W8A8 and below)";
  let description = [{
    Makes each selected `qc.linear` read its input rounded to `bits`-bit
    signed integers: `mode=dynamic` inserts `qc.quantize_dynamic
    <per_token>` and `qc.dequantize_dynamic` (a scale per row, max|x| /
    (2^(bits-1) - 1), at run time); `mode=static` inserts `qc.quantize` to
    `!quant.uniform<iB:f32, s>` and `qc.dequantize`, one scale per layer
    from the calibration statistics (`stats`, default: the file
    qc-calibrate left on the module): the input's absmax over every channel
    / (2^(bits-1) - 1), values beyond it clamped. A layer already reading a
    dequantized input is left alone. Targets lower the pair or fuse it with
    the layer into an integer product (CPU: int8 with per-channel int8
    weights).
  }];
  let options = [
    Option<"mode", "mode", "std::string", /*default=*/"\"dynamic\"",
           "dynamic (a scale per token at run time) or static (a scale per "
           "tensor from calibration)">,
    Option<"bits", "bits", "int", /*default=*/"8",
           "Bits of the activation codes (2 to 8)">,
    Option<"stats", "stats", "std::string", /*default=*/"",
           "Statistics file for mode=static (default: the module's "
           "qc.calibration_stats)">,
    ListOption<"layers", "layers", "std::string",
               "Glob patterns of layer names (default: every layer but the "
               "output head)">,
    ListOption<"exclude", "exclude", "std::string",
               "Glob patterns of layer names to leave alone">
  ];
  let dependentDialects = ["quantc::qc::QCDialect",
                           "mlir::quant::QuantDialect"];
}

def SplitOutliers : Pass<"qc-split-outliers", "mlir::ModuleOp"> {
  let summary = "LLM.int8(): outlier input channels stay in floating point";
  let description = [{
    For each selected f32 `qc.linear`, the input channels whose calibration
    absmax exceeds `threshold` (from `stats`, default: the file
    qc-calibrate left on the module) are split off with
    `qc.split_columns`: the layer reads the input with those channels set to
    0 (and its weight rows there set to 0, so that quantizing the weight
    later ignores them), and an unnamed f32 `qc.linear` multiplies the
    channels by their weight rows; the two products are added. Run it
    before weight and activation quantization: the layer keeps its name, so
    those passes quantize the low-precision part only, and static
    activation scales ignore the split channels. Reports the outlier
    columns per layer and their fraction of all input columns.
  }];
  let options = [
    Option<"threshold", "threshold", "double", /*default=*/"6.0",
           "An input channel whose calibration absmax exceeds this stays in "
           "floating point (> 0)">,
    Option<"stats", "stats", "std::string", /*default=*/"",
           "Statistics file (default: the module's qc.calibration_stats)">,
    ListOption<"layers", "layers", "std::string",
               "Glob patterns of layer names (default: every layer but the "
               "output head)">,
    ListOption<"exclude", "exclude", "std::string",
               "Glob patterns of layer names to leave alone">
  ];
  let dependentDialects = ["quantc::qc::QCDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def RepackWeights : Pass<"qc-repack-weights", "mlir::ModuleOp"> {
  let summary = "Lay the codes of quantized weights out for a target";
  let description = [{
    Rewrites every `qc.qconstant` into `layout` (a `#qc.layout` body:
    `tiles<TNxTK>` or `channel_major`), moving its code bytes and changing
    its `!qc.qweight` type to say so; scales, zero points and outliers keep
    their layout. What a layer computes does not change. A weight the
    layout cannot hold (tiles that do not divide it, tile rows that do not
    end on a byte) keeps its layout, with a remark saying why. GPU targets
    run it in their pipeline with the tiles their kernels read; the CPU
    kernel reads channel-major codes and leaves tiled weights to
    `qc-to-linalg`.
  }];
  let options = [
    Option<"layout", "layout", "std::string", /*default=*/"\"tiles<16x64>\"",
           "The #qc.layout<...> body">
  ];
  let dependentDialects = ["quantc::qc::QCDialect"];
}

#endif // QUANTC_TRANSFORMS_PASSES_TD
