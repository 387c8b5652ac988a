/*===- checksum.h - the weights checksum of artifacts --------------*- C -*-===*
 *
 * FNV-1a, 64 bits, fed in pieces: the compiler writes it into the manifest,
 * the runtime recomputes it over the mapped weights. One definition for both.
 *
 *===----------------------------------------------------------------------===*/

#ifndef QUANTC_CHECKSUM_H
#define QUANTC_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define QC_FNV1A64_INIT 1469598103934665603ull

/* The hash `h` continued over `size` bytes at `data`. */
static inline uint64_t qc_fnv1a64(uint64_t h, const void *data, size_t size) {
  const unsigned char *p = (const unsigned char *)data;
  for (size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

/* The 16 lowercase hex digits of a hash, as the manifest spells it. */
static inline void qc_fnv1a64_hex(uint64_t h, char text[17]) {
  snprintf(text, 17, "%016llx", (unsigned long long)h);
}

#endif /* QUANTC_CHECKSUM_H */
