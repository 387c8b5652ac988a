//===- Pack.cpp - little-endian bit-stream packing of codes ---------------===//

#include "quantc/Numerics/Pack.h"

#include <cstring>

namespace quantc::numerics {

void packCodes(const uint8_t *codes, int64_t count, int bits, uint8_t *out) {
  std::memset(out, 0, static_cast<size_t>((count * bits + 7) / 8));
  const uint32_t mask = (1u << bits) - 1;
  for (int64_t i = 0; i < count; ++i) {
    int64_t bit = i * bits;
    // A code of at most 8 bits spans at most two bytes.
    uint32_t v = (codes[i] & mask) << (bit % 8);
    out[bit / 8] |= static_cast<uint8_t>(v);
    if ((bit % 8) + bits > 8)
      out[bit / 8 + 1] |= static_cast<uint8_t>(v >> 8);
  }
}

void unpackCodes(const uint8_t *packed, int64_t count, int bits,
                 uint8_t *codes) {
  const uint32_t mask = (1u << bits) - 1;
  for (int64_t i = 0; i < count; ++i) {
    int64_t bit = i * bits;
    uint32_t v = packed[bit / 8];
    if ((bit % 8) + bits > 8)
      v |= static_cast<uint32_t>(packed[bit / 8 + 1]) << 8;
    codes[i] = static_cast<uint8_t>((v >> (bit % 8)) & mask);
  }
}

} // namespace quantc::numerics
