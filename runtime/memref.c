/*===- memref.c - support functions generated code calls ------------------===*
 *
 * Part of qtc's runtime: what the code of qt-cpu-pipeline calls besides libc
 * and libm. memref.copy between buffers that are not plainly contiguous
 * lowers to a call of memrefCopy (the same contract as MLIR's C runner
 * utilities, implemented here so that compiled models depend on libc, libm
 * and pthreads only).
 *
 *===----------------------------------------------------------------------===*/

#include <stdint.h>
#include <string.h>

/* An unranked memref: rank and a pointer to the ranked descriptor
 * {allocated, aligned, offset, sizes[rank], strides[rank]}. */
typedef struct {
  int64_t rank;
  void *descriptor;
} QtcUnrankedMemRef;

typedef struct {
  char *allocated;
  char *aligned;
  int64_t offset;
  int64_t sizes_and_strides[];
} QtcMemRefHeader;

void memrefCopy(int64_t elemSize, QtcUnrankedMemRef *src,
                QtcUnrankedMemRef *dst) {
  int64_t rank = src->rank;
  QtcMemRefHeader *s = (QtcMemRefHeader *)src->descriptor;
  QtcMemRefHeader *d = (QtcMemRefHeader *)dst->descriptor;
  const int64_t *sizes = s->sizes_and_strides;
  const int64_t *sstrides = s->sizes_and_strides + rank;
  const int64_t *dstrides = d->sizes_and_strides + rank;
  char *sp = s->aligned + s->offset * elemSize;
  char *dp = d->aligned + d->offset * elemSize;
  if (rank == 0) {
    memcpy(dp, sp, (size_t)elemSize);
    return;
  }
  for (int64_t i = 0; i < rank; ++i)
    if (sizes[i] == 0)
      return;
  /* Walk every index; the innermost dimension is copied in one piece when
   * both sides are contiguous along it. */
  int64_t index[64] = {0};
  if (rank > 64)
    return;
  int contiguous = sstrides[rank - 1] == 1 && dstrides[rank - 1] == 1;
  for (;;) {
    int64_t so = 0, dof = 0;
    for (int64_t i = 0; i < rank; ++i) {
      so += index[i] * sstrides[i];
      dof += index[i] * dstrides[i];
    }
    if (contiguous) {
      memcpy(dp + dof * elemSize, sp + so * elemSize,
             (size_t)(sizes[rank - 1] * elemSize));
      index[rank - 1] = sizes[rank - 1] - 1;
    } else {
      memcpy(dp + dof * elemSize, sp + so * elemSize, (size_t)elemSize);
    }
    int64_t axis = rank - 1;
    while (axis >= 0 && ++index[axis] == sizes[axis]) {
      index[axis] = 0;
      --axis;
    }
    if (axis < 0)
      return;
  }
}
