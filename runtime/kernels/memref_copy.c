/*===- memref_copy.c - memref.copy of strided views -----------------------===*
 *
 * The lowering of memref.copy between non-contiguous views calls
 * `memrefCopy` (the name MLIR's runner utilities use); the runtime provides
 * it so compiled models need nothing from MLIR.
 *
 *===----------------------------------------------------------------------===*/

#include "quantc/kernels.h"

#include <string.h>

/* Fields of a ranked descriptor: allocated, aligned, offset, sizes, strides. */
static char *aligned_of(void *d) { return ((char **)d)[1]; }
static int64_t offset_of(void *d) { return ((int64_t *)d)[2]; }
static const int64_t *sizes_of(void *d) { return (int64_t *)d + 3; }
static const int64_t *strides_of(void *d, int64_t rank) {
  return (int64_t *)d + 3 + rank;
}

void memrefCopy(int64_t elemSize, qc_unranked_memref *src,
                qc_unranked_memref *dst) {
  int64_t rank = src->rank;
  void *s = src->descriptor, *d = dst->descriptor;
  const int64_t *sizes = sizes_of(s);
  const int64_t *ss = strides_of(s, rank), *ds = strides_of(d, rank);
  char *sp = aligned_of(s) + offset_of(s) * elemSize;
  char *dp = aligned_of(d) + offset_of(d) * elemSize;
  int64_t total = 1;
  for (int64_t i = 0; i < rank; ++i)
    total *= sizes[i];
  if (total == 0)
    return;
  if (rank == 0) {
    memcpy(dp, sp, elemSize);
    return;
  }
  /* Walk all but the innermost dimension; copy rows (contiguous when both
   * inner strides are 1). */
  int64_t index[16] = {0};
  int64_t inner = sizes[rank - 1];
  for (;;) {
    int64_t so = 0, dof = 0;
    for (int64_t i = 0; i + 1 < rank; ++i) {
      so += index[i] * ss[i];
      dof += index[i] * ds[i];
    }
    if (ss[rank - 1] == 1 && ds[rank - 1] == 1) {
      memcpy(dp + dof * elemSize, sp + so * elemSize, inner * elemSize);
    } else {
      for (int64_t j = 0; j < inner; ++j)
        memcpy(dp + (dof + j * ds[rank - 1]) * elemSize,
               sp + (so + j * ss[rank - 1]) * elemSize, elemSize);
    }
    int64_t i = rank - 2;
    for (; i >= 0; --i) {
      if (++index[i] < sizes[i])
        break;
      index[i] = 0;
    }
    if (i < 0)
      return;
  }
}
