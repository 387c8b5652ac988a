//===- KernelFlags.h - a weight format as quantc_qmatmul_f32's flags -----*- C++ -*-===//
//
// The one place that says how the kernel reads a format: the pass that
// calls it, the kernel's unit tests and its benchmark use it.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_TARGET_CPU_KERNELFLAGS_H
#define QUANTC_TARGET_CPU_KERNELFLAGS_H

#include "quantc/Numerics/Format.h"
#include "quantc/kernels.h"

namespace quantc {

/// NF4 and FP4 codes index the table of their values (QC_QMATMUL_CODEBOOK).
inline bool isCodebook(const numerics::Format &f) {
  return f.code == numerics::ElementCode::NF4 ||
         f.code == numerics::ElementCode::FP4E2M1;
}

/// The flags that describe `f`'s codes and scales to quantc_qmatmul_f32
/// (without QC_QMATMUL_INIT and QC_QMATMUL_INT8_ACT, which are the call's).
inline int64_t qmatmulFormatFlags(const numerics::Format &f) {
  using numerics::ElementCode;
  using numerics::ScaleType;
  return (f.symmetric ? QC_QMATMUL_SYMMETRIC : 0) |
         (f.scaleType == ScaleType::F16 ? QC_QMATMUL_SCALE_F16 : 0) |
         (f.scaleType == ScaleType::BF16 ? QC_QMATMUL_SCALE_BF16 : 0) |
         (isCodebook(f) ? QC_QMATMUL_CODEBOOK : 0) |
         (f.code == ElementCode::FP8E4M3 ? QC_QMATMUL_FP8_E4M3 : 0) |
         (f.code == ElementCode::FP8E5M2 ? QC_QMATMUL_FP8_E5M2 : 0) |
         (f.scaleBits ? QC_QMATMUL_DOUBLE_QUANT : 0);
}

} // namespace quantc

#endif // QUANTC_TARGET_CPU_KERNELFLAGS_H
