//===- QCTypes.td - qc types -------------------------------*- tablegen -*-===//

#ifndef QUANTC_DIALECT_QC_QCTYPES_TD
#define QUANTC_DIALECT_QC_QCTYPES_TD

include "QC/IR/QCAttrs.td"

def QC_QWeightType : TypeDef<QC_Dialect, "QWeight"> {
  let mnemonic = "qweight";
  let summary = "A quantized weight matrix";
  let description = [{
    A constant weight matrix of logical shape `K x N` (input x output, the
    orientation of ONNX MatMul's B operand) in a given `#qc.format`, written
    with the format inlined:

    ```
    !qc.qweight<256x768, int4, affine, group = 128, scale = f16>
    ```

    Groups run along K; a channel is one of the N output columns. The codes'
    layout (`#qc.layout`) follows the format when it is not the neutral
    `channel_major`:

    ```
    !qc.qweight<256x768, int4, affine, group = 128, scale = f16, layout = tiles<16x64>>
    ```
  }];
  let parameters = (ins
    "int64_t":$inputDim,
    "int64_t":$outputDim,
    "::quantc::qc::FormatAttr":$format,
    "::quantc::qc::LayoutAttr":$layout);
  let builders = [
    // In the neutral layout.
    TypeBuilder<(ins "int64_t":$inputDim, "int64_t":$outputDim,
                     "::quantc::qc::FormatAttr":$format), [{
      return $_get($_ctxt, inputDim, outputDim, format,
                   LayoutAttr::getChannelMajor($_ctxt));
    }]>
  ];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Scales per output channel.
    int64_t getGroupsPerChannel() const {
      return getFormat().getGroupsPerChannel(getInputDim());
    }
    /// The shape of the `codes` tensor in this type's layout.
    ::llvm::SmallVector<int64_t> getCodesShape() const;
    /// This type with `layout`.
    QWeightType withLayout(LayoutAttr layout) const {
      return get(getContext(), getInputDim(), getOutputDim(), getFormat(),
                 layout);
    }
  }];
}

#endif // QUANTC_DIALECT_QC_QCTYPES_TD
