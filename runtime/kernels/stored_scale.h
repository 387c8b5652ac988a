/*===- stored_scale.h - one stored weight scale as f32 ---------*- C -*-===*
 *
 * Shared by the quantized-weight kernels: scale i of a weight's stored
 * scales, f32 bytes, or f16/bf16 bit patterns as the flags say.
 *
 *===----------------------------------------------------------------------===*/

#ifndef QUANTC_KERNELS_STORED_SCALE_H
#define QUANTC_KERNELS_STORED_SCALE_H

#include "quantc/kernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float stored_scale(const uint8_t *scales, int64_t i,
                                 int64_t flags) {
  if (flags & (QC_QMATMUL_SCALE_F16 | QC_QMATMUL_SCALE_BF16)) {
    uint16_t h;
    memcpy(&h, scales + 2 * i, 2);
    uint32_t bitsOut;
    if (flags & QC_QMATMUL_SCALE_BF16) {
      bitsOut = (uint32_t)h << 16;
    } else { /* IEEE half to single */
      uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31,
               man = h & 1023;
      if (exp == 0) {
        float f = ldexpf((float)man, -24);
        return sign ? -f : f;
      }
      bitsOut = exp == 31 ? sign | 0x7f800000u | (man << 13)
                          : sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bitsOut, 4);
    return f;
  }
  float f;
  memcpy(&f, scales + 4 * i, 4);
  return f;
}

#endif /* QUANTC_KERNELS_STORED_SCALE_H */
