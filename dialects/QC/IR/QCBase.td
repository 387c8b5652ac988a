//===- QCBase.td - qc dialect and its enums ----------------*- tablegen -*-===//

#ifndef QUANTC_DIALECT_QC_QCBASE_TD
#define QUANTC_DIALECT_QC_QCBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"

def QC_Dialect : Dialect {
  let name = "qc";
  let cppNamespace = "::quantc::qc";
  let summary = "Quantization dialect of quantc";
  let description = [{
    The `qc` dialect describes quantized language models in a target-neutral
    way: `qc.linear` is the one op every quantization pass rewrites, its weight
    either a float tensor or a `!qc.qweight` produced by `qc.qconstant`, whose
    `#qc.format` says how the weight is coded (bits, symmetric or affine,
    granularity, scale type, double-quantized scales, element code, sparse
    outliers). Activation quantization uses `qc.quantize`/`qc.dequantize`
    (static, with upstream `!quant.uniform` types) and
    `qc.quantize_dynamic`/`qc.dequantize_dynamic` (parameters computed at run
    time). `qc.observe` marks a tensor whose statistics calibration records.
  }];
  let dependentDialects = ["::mlir::quant::QuantDialect"];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
}

def QC_ElementCode : I32EnumAttr<"ElementCode", "how one weight element is coded", [
  I32EnumAttrCase<"Int", 0, "int">,
  I32EnumAttrCase<"NF4", 1, "nf4">,
  I32EnumAttrCase<"FP4E2M1", 2, "fp4_e2m1">,
  I32EnumAttrCase<"FP8E4M3", 3, "fp8_e4m3">,
  I32EnumAttrCase<"FP8E5M2", 4, "fp8_e5m2">]> {
  let cppNamespace = "::quantc::qc";
  let genSpecializedAttr = 0;
}

def QC_Granularity : I32EnumAttr<"Granularity",
    "which weights share one scale (and zero point)", [
  I32EnumAttrCase<"PerTensor", 0, "per_tensor">,
  I32EnumAttrCase<"PerChannel", 1, "per_channel">,
  I32EnumAttrCase<"PerGroup", 2, "group">]> {
  let cppNamespace = "::quantc::qc";
  let genSpecializedAttr = 0;
}

def QC_ActGranularity : I32EnumAttr<"ActGranularity",
    "which activations share one dynamic scale", [
  I32EnumAttrCase<"PerTensor", 0, "per_tensor">,
  I32EnumAttrCase<"PerToken", 1, "per_token">,
  I32EnumAttrCase<"PerChannel", 2, "per_channel">]> {
  let cppNamespace = "::quantc::qc";
  let genSpecializedAttr = 0;
}

def QC_Statistics : I32BitEnumAttr<"Statistics",
    "statistics an observer records", [
  I32BitEnumAttrCaseNone<"None", "none">,
  I32BitEnumAttrCaseBit<"AbsMax", 0, "absmax">,
  I32BitEnumAttrCaseBit<"Mean", 1, "mean">,
  I32BitEnumAttrCaseBit<"Hessian", 2, "hessian">]> {
  let cppNamespace = "::quantc::qc";
  let genSpecializedAttr = 0;
  let separator = "|";
}

#endif // QUANTC_DIALECT_QC_QCBASE_TD
