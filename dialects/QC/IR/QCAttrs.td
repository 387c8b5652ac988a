//===- QCAttrs.td - qc attributes --------------------------*- tablegen -*-===//

#ifndef QUANTC_DIALECT_QC_QCATTRS_TD
#define QUANTC_DIALECT_QC_QCATTRS_TD

include "QC/IR/QCBase.td"
include "mlir/IR/AttrTypeBase.td"

class QC_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<QC_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def QC_ActGranularityAttr : EnumAttr<QC_Dialect, QC_ActGranularity, "act_granularity"> {
  let assemblyFormat = "`<` $value `>`";
}
def QC_StatisticsAttr : EnumAttr<QC_Dialect, QC_Statistics, "stats"> {
  let assemblyFormat = "`<` $value `>`";
}

def QC_FormatAttr : QC_Attr<"Format", "format"> {
  let summary = "A quantized weight format";
  let description = [{
    Describes how the elements of a weight matrix are coded. One attribute
    covers every format quantc knows:

    ```
    #qc.format<int4, affine, group = 128, scale = f16>
    #qc.format<int8, symmetric, per_channel, scale = f32>
    #qc.format<nf4, group = 64, scale = bf16, double_quant = <int8, block = 256>>
    #qc.format<int3, affine, group = 16, scale = f16, double_quant = <int3, block = 16>, outliers>
    #qc.format<fp8_e4m3, per_tensor, scale = f32>
    ```

    - element code: `intB` (uniform integer, B = 2..8 bits), `nf4` (the 16
      QLoRA NormalFloat values), `fp4_e2m1`, `fp8_e4m3` (no infinities, max
      448) or `fp8_e5m2` (max 57344);
    - `symmetric` (signed codes, no zero point) or `affine` (unsigned codes
      and a zero point); non-integer codes are always symmetric;
    - granularity: `per_tensor`, `per_channel` (one scale per output
      channel) or `group = g` (g consecutive input elements of one output
      channel share a scale);
    - `scale`: element type the scales are stored in (f32, f16 or bf16);
    - `double_quant = <intB, block = n>`: the scales themselves are stored
      as B-bit affine codes, each run of n consecutive scales with its own
      f32 scale and offset (QLoRA: 8 bits, block 256; SpQR: 3 bits, block 16);
    - `outliers`: some elements are kept apart in a CSR matrix of f16 values
      that replace the dense code at their position (SpQR).
  }];
  let parameters = (ins
    "::quantc::qc::ElementCode":$code,
    "unsigned":$bits,
    "bool":$symmetric,
    "::quantc::qc::Granularity":$granularity,
    "int64_t":$groupSize,
    "::mlir::Type":$scaleType,
    "unsigned":$scaleBits,
    "int64_t":$scaleBlock,
    "bool":$outliers);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Parses the body of a format (what stands between `<` and `>`) and
    /// prints it; shared with `!qc.qweight`, which inlines the format.
    /// `extra`, if given, parses options the format does not know (after
    /// their keyword); failure for those it does not know either.
    static FormatAttr parseBody(
        ::mlir::AsmParser &parser,
        ::llvm::function_ref<::mlir::ParseResult(::llvm::StringRef)> extra =
            {});
    void printBody(::mlir::AsmPrinter &printer) const;
    /// True when scales are stored as codes with a second-level scale.
    bool isDoubleQuantized() const { return getScaleBits() != 0; }
    /// True when the format stores a zero point per scale.
    bool hasZeroPoint() const { return !getSymmetric(); }
    /// Scales per output channel for an input dimension of size `k`.
    int64_t getGroupsPerChannel(int64_t k) const;
  }];
}

def QC_LayoutAttr : QC_Attr<"Layout", "layout"> {
  let summary = "How the codes of a quantized weight are laid out";
  let description = [{
    Where each code of a `K x N` quantized weight sits in its `codes`
    tensor. A target's repacking pass may change it; every lowering reads
    both.

    ```
    #qc.layout<channel_major>     // the neutral layout (the default)
    #qc.layout<tiles<16x64>>      // tiles of 16 channels x 64 inputs
    ```

    - `channel_major`: `tensor<N x R x i8>`, row n holding channel n's K
      codes packed little-endian at B bits each, R = ceil(K * B / 8) (see
      `qc.qconstant`). Every weight starts in it; `!qc.qweight` omits it.
    - `tiles<TNxTK>`: `tensor<(N/TN) x (K/TK) x (TN*TK*B/8) x i8>`: tile
      (i, j) holds channels [i*TN, (i+1)*TN) over inputs [j*TK, (j+1)*TK),
      channel after channel, each with its TK codes packed as in a
      channel-major row. A tile is one contiguous block (one wide, coalesced
      load on a GPU), and a block of channels reads its tiles in order along
      K. TN must divide N, TK divide K, and TK * B be a multiple of 8.

    Scales, zero points, double-quantization parameters and outliers keep
    their layout (`qc.qconstant`).
  }];
  let parameters = (ins "int64_t":$tileN, "int64_t":$tileK);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The neutral layout.
    static LayoutAttr getChannelMajor(::mlir::MLIRContext *context) {
      return get(context, 0, 0);
    }
    bool isChannelMajor() const { return getTileN() == 0; }
    /// Parses and prints what stands between `<` and `>` (shared with
    /// `!qc.qweight`'s `layout = ...`).
    static LayoutAttr parseBody(::mlir::AsmParser &parser);
    void printBody(::mlir::AsmPrinter &printer) const;
  }];
}

#endif // QUANTC_DIALECT_QC_QCATTRS_TD
