//===- Pack.h - packing of low-bit codes ------------------------*- C++ -*-===//
//
// The target-neutral packing of `qc.qconstant`: a little-endian bit stream,
// code i in bits [i*bits, (i+1)*bits) where stream bit j is bit (j % 8) of
// byte j / 8.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTC_NUMERICS_PACK_H
#define QUANTC_NUMERICS_PACK_H

#include <cstdint>
#include <vector>

namespace quantc::numerics {

/// Packs the low `bits` bits (1..8) of each of `codes` into
/// ceil(count * bits / 8) bytes at `out`.
void packCodes(const uint8_t *codes, int64_t count, int bits, uint8_t *out);
/// Unpacks `count` codes of `bits` bits from `packed` into `codes`.
void unpackCodes(const uint8_t *packed, int64_t count, int bits,
                 uint8_t *codes);

/// Sign-extends a `bits`-bit two's complement code.
inline int32_t signExtend(uint32_t code, int bits) {
  uint32_t signBit = 1u << (bits - 1);
  code &= (1u << bits) - 1;
  return static_cast<int32_t>(code ^ signBit) - static_cast<int32_t>(signBit);
}

} // namespace quantc::numerics

#endif // QUANTC_NUMERICS_PACK_H
