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

    Groups run along K; a channel is one of the N output columns.
  }];
  let parameters = (ins
    "int64_t":$inputDim,
    "int64_t":$outputDim,
    "::quantc::qc::FormatAttr":$format);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Scales per output channel.
    int64_t getGroupsPerChannel() const {
      return getFormat().getGroupsPerChannel(getInputDim());
    }
  }];
}

#endif // QUANTC_DIALECT_QC_QCTYPES_TD
