//===- QCOps.td - qc operations ----------------------------*- tablegen -*-===//

#ifndef QUANTC_DIALECT_QC_QCOPS_TD
#define QUANTC_DIALECT_QC_QCOPS_TD

include "QC/IR/QCTypes.td"
include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class QC_Op<string mnemonic, list<Trait> traits = []>
    : Op<QC_Dialect, mnemonic, traits>;

def QC_FloatTensor : RankedTensorOf<[AnyFloat]>;
def QC_IntTensor : RankedTensorOf<[AnySignlessInteger]>;
def QC_FloatMatrix : 2DTensorOf<[AnyFloat]>;
def QC_UniformQuantizedType : Type<
    CPred<"::llvm::isa<::mlir::quant::UniformQuantizedType, "
          "::mlir::quant::UniformQuantizedPerAxisType>($_self)">,
    "uniform quantized type (per tensor or per axis)">;
def QC_QuantizedTensor : RankedTensorOf<[QC_UniformQuantizedType]>;

//===----------------------------------------------------------------------===//
// Weights and the linear layer
//===----------------------------------------------------------------------===//

def QC_LinearOp : QC_Op<"linear", [Pure]> {
  let summary = "A linear layer: input times a constant weight, plus bias";
  let description = [{
    `result[..., n] = sum_k input[..., k] * weight[k, n] + bias[n]`.

    The weight is a `K x N` float tensor or a `!qc.qweight<KxN, ...>`; the
    input has any rank >= 1 with K as its last dimension, and the result has
    the input's shape with N in place of K. Every quantization pass targets
    this op; the float form is what the frontend emits for a MatMul or Gemm
    whose B operand is a constant. `layer` names the layer for reports and
    per-layer options (the frontend derives it from the ONNX node name:
    `/m/blocks.0/q/MatMul` becomes `m.blocks.0.q`).

    ```
    %y = qc.linear %x, %w : tensor<?x?x256xf32>, tensor<256x768xf32> -> tensor<?x?x768xf32>
    %z = qc.linear %x, %q, %b : tensor<4x256xf32>, !qc.qweight<256x768, int4, symmetric, group = 128, scale = f16>, tensor<768xf32> -> tensor<4x768xf32>
    ```
  }];
  let arguments = (ins
    QC_FloatTensor:$input,
    AnyTypeOf<[QC_FloatMatrix, QC_QWeightType]>:$weight,
    Optional<1DTensorOf<[AnyFloat]>>:$bias,
    OptionalAttr<StrAttr>:$layer);
  let results = (outs QC_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,`
    type($weight) (`,` type($bias)^)? `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// K and N of the weight, whichever form it has.
    int64_t getInputDim();
    int64_t getOutputDim();
  }];
}

def QC_QConstantOp : QC_Op<"qconstant", [Pure]> {
  let summary = "A quantized constant weight";
  let description = [{
    Holds the stored pieces of a quantized `K x N` weight, usually as
    `dense_resource` blobs. The layout is target-neutral (targets repack at
    lowering): a channel is one output column n, and with C channels of
    scales (N, or 1 per tensor) and G groups per channel (K / g, or 1):

    - `codes`: `tensor<N x R x i8>`, row n holding the K codes of channel n
      packed little-endian at B bits each (code k in bits [kB, kB+B) of the
      row), R = ceil(K * B / 8). Symmetric integer codes are B-bit two's
      complement, affine ones unsigned; NF4 codes index the NF4 table, FP
      codes are the FP4/FP8 bit patterns;
    - `scales`: `tensor<C x G x S>` in the format's scale type, or, when
      double-quantized, `tensor<C x G x i8>` unsigned codes of the format's
      scale bits;
    - `scale_params` (double-quantized only): `tensor<M x 2 x f32>`, scale and
      offset of each block of consecutive scales (row-major over C x G),
      M = ceil(C * G / block); scale = offset + code * scale;
    - `zero_points` (affine only): `tensor<C x G x i8>`, unsigned B-bit;
    - `outlier_offsets`, `outlier_columns`, `outlier_values` (formats with
      outliers): CSR over channels: `tensor<(N+1) x i32>`, `tensor<nnz x i32>`
      (the k of each outlier), `tensor<nnz x f16>`; an outlier replaces the
      dense element at its position.

    ```
    %w = qc.qconstant {codes = dense_resource<l0_codes> : tensor<768x128xi8>,
                       scales = dense_resource<l0_scales> : tensor<768x2xf16>}
         : !qc.qweight<256x768, int4, symmetric, group = 128, scale = f16>
    ```
  }];
  let arguments = (ins
    ElementsAttr:$codes,
    ElementsAttr:$scales,
    OptionalAttr<ElementsAttr>:$scale_params,
    OptionalAttr<ElementsAttr>:$zero_points,
    OptionalAttr<ElementsAttr>:$outlier_offsets,
    OptionalAttr<ElementsAttr>:$outlier_columns,
    OptionalAttr<ElementsAttr>:$outlier_values);
  let results = (outs QC_QWeightType:$result);
  let assemblyFormat = "attr-dict `:` qualified(type($result))";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Activation quantization
//===----------------------------------------------------------------------===//

def QC_QuantizeOp : QC_Op<"quantize", [Pure, SameOperandsAndResultShape]> {
  let summary = "Static activation quantization";
  let description = [{
    Quantizes a float tensor with parameters fixed at compile time, held in
    the upstream `!quant.uniform` result type (per tensor, or per axis for
    per-channel): `q = clamp(round_half_even(x / scale) + zero_point)`.

    ```
    %q = qc.quantize %x : tensor<4x256xf32> -> tensor<4x256x!quant.uniform<i8:f32, 0.05>>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$input);
  let results = (outs QC_QuantizedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def QC_DequantizeOp : QC_Op<"dequantize", [Pure, SameOperandsAndResultShape]> {
  let summary = "Static activation dequantization";
  let description = [{
    The inverse of `qc.quantize`: `x = (q - zero_point) * scale`.

    ```
    %x = qc.dequantize %q : tensor<4x256x!quant.uniform<i8:f32, 0.05>> -> tensor<4x256xf32>
    ```
  }];
  let arguments = (ins QC_QuantizedTensor:$input);
  let results = (outs QC_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def QC_QuantizeDynamicOp : QC_Op<"quantize_dynamic", [Pure]> {
  let summary = "Dynamic activation quantization";
  let description = [{
    Quantizes a float tensor with scales (and zero points) computed from its
    own values at run time, per tensor, per token (one scale per position of
    all dimensions but the last) or per channel (one scale per index of the
    last dimension). The codes' integer width is the bit width; symmetric
    codes are signed with scale = absmax / (2^(B-1) - 1), `affine` codes
    unsigned with the min-max range (widened to hold 0). Scales and zero
    points have the input's rank with reduced dimensions of size 1.

    ```
    %c, %s = qc.quantize_dynamic %x <per_token> : tensor<?x256xf32> -> tensor<?x256xi8>, tensor<?x1xf32>
    %c, %s, %z = qc.quantize_dynamic %x <per_tensor> affine : tensor<4x256xf32> -> tensor<4x256xi8>, tensor<1x1xf32>, tensor<1x1xi8>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$input,
                       QC_ActGranularityAttr:$granularity,
                       UnitAttr:$affine);
  let results = (outs QC_IntTensor:$codes, QC_FloatTensor:$scales,
                      Optional<QC_IntTensor>:$zero_points);
  let assemblyFormat = [{
    $input $granularity (`affine` $affine^)? attr-dict `:` type($input) `->`
    type($codes) `,` type($scales) (`,` type($zero_points)^)?
  }];
  let hasVerifier = 1;
}

def QC_DequantizeDynamicOp : QC_Op<"dequantize_dynamic", [Pure]> {
  let summary = "Dequantization with run-time scales";
  let description = [{
    `x = (codes - zero_points) * scales`, scales and zero points broadcast
    along their dimensions of size 1. Codes are signed unless zero points
    are given (affine), in which case both are unsigned.

    ```
    %x = qc.dequantize_dynamic %c, %s : tensor<?x256xi8>, tensor<?x1xf32> -> tensor<?x256xf32>
    ```
  }];
  let arguments = (ins QC_IntTensor:$codes, QC_FloatTensor:$scales,
                       Optional<QC_IntTensor>:$zero_points);
  let results = (outs QC_FloatTensor:$result);
  let assemblyFormat = [{
    $codes `,` $scales (`,` $zero_points^)? attr-dict `:` type($codes) `,`
    type($scales) (`,` type($zero_points)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def QC_SplitColumnsOp : QC_Op<"split_columns", [Pure]> {
  let summary = "Separates outlier input channels (LLM.int8())";
  let description = [{
    Splits the last dimension of `input` by the channel indices `columns`
    (strictly increasing, each in [0, K)): `rest` is the input with those
    channels set to 0, `outliers[..., i] = input[..., columns[i]]`. A layer
    then multiplies `rest` in low precision and `outliers` in floating point
    and adds the two products (what qc-split-outliers writes); targets may
    fuse the three into one kernel.

    ```
    %rest, %out = qc.split_columns %x [3, 17] : tensor<?x256xf32> -> tensor<?x256xf32>, tensor<?x2xf32>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$input, DenseI64ArrayAttr:$columns);
  let results = (outs QC_FloatTensor:$rest, QC_FloatTensor:$outliers);
  let assemblyFormat = [{
    $input $columns attr-dict `:` type($input) `->` type($rest) `,`
    type($outliers)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Kernel calls
//===----------------------------------------------------------------------===//

def QC_UKernelOp : QC_Op<"ukernel", [
    AttrSizedOperandSegments, DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
    DeclareOpInterfaceMethods<BufferizableOpInterface,
        ["bufferizesToMemoryRead", "bufferizesToMemoryWrite",
         "getAliasingValues", "bufferize"]>]> {
  let summary = "A call of a target's kernel, in destination style";
  let description = [{
    Calls the kernel function `fn` on `ins` (tensors or buffers) and
    `scalars`, writing `outs`. On tensors, each result is the new value of
    its `outs` tensor, so the op goes through bufferization like a linalg
    op; on buffers it has no results. After bufferization a target's pass
    makes it a call `fn(ins..., outs..., scalars...)` (CPU:
    `quantc-lower-ukernels`). A target's lowering emits it where a
    hand-written kernel beats generated code (the CPU's fused
    dequantize-matmul); attributes other than `fn` are the target's.

    ```
    %y = qc.ukernel "quantc_qmatmul_f32" ins(%x, %codes : tensor<?x64xf32>, tensor<512xi8>)
           outs(%init : tensor<?x16xf32>) scalars(%k : i64) -> tensor<?x16xf32>
    ```
  }];
  let arguments = (ins StrAttr:$fn, Variadic<AnyShaped>:$inputs,
                       Variadic<AnyShaped>:$outputs,
                       Variadic<AnyTypeOf<[AnyInteger, Index, AnyFloat]>>:$scalars);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $fn (`ins` `(` $inputs^ `:` type($inputs) `)`)?
    `outs` `(` $outputs `:` type($outputs) `)`
    (`scalars` `(` $scalars^ `:` type($scalars) `)`)? attr-dict
    (`->` type($results)^)?
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getOutputsMutable();
    }
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Calibration
//===----------------------------------------------------------------------===//

def QC_ObserveOp : QC_Op<"observe", [MemoryEffects<[MemWrite]>]> {
  let summary = "Records statistics of a tensor during calibration";
  let description = [{
    Marks a tensor (usually the input of a `qc.linear`) whose statistics the
    calibration run records under the name `layer`, over its last dimension
    (the channels): per-channel absolute maximum, per-channel mean, and the
    Hessian `2 X^T X / n` of the rows X seen. It has no result, so it never
    changes what the model computes.

    ```
    qc.observe %x layer "layers.0.attn.q_proj" <absmax|hessian> : tensor<?x?x256xf32>
    ```
  }];
  let arguments = (ins QC_FloatTensor:$input, StrAttr:$layer,
                       QC_StatisticsAttr:$stats);
  let assemblyFormat = "$input `layer` $layer $stats attr-dict `:` type($input)";
  let hasVerifier = 1;
}

#endif // QUANTC_DIALECT_QC_QCOPS_TD
