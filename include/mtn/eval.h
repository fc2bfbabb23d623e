/* mtn/eval.h — evaluation helpers over label volumes: connected components (what
 * Task 3's cell counts, sizes and distances, and the phantom's calibration, are built
 * on). Arrays are C order (z, y, x), x fastest; the caller owns every buffer. */
#ifndef MTN_EVAL_H
#define MTN_EVAL_H

#include <stdint.h>

#include "mtn/core.h"

/* Labels the connected components of the non-zero voxels of `mask` (nz x ny x nx)
 * with 6-connectivity (faces; with nz = 1 that is 4-connectivity in the plane):
 * labels[i] = 0 for zero voxels, else 1..n numbered in raster order of each
 * component's first voxel (as scipy.ndimage.label numbers them). *n_components = n.
 * `labels` holds nz*ny*nx values. Returns MTN_OK, MTN_EOVERFLOW when the volume has
 * INT32_MAX voxels or more (or a dimension is negative), MTN_ENOMEM. */
int mtn_components_label(const uint8_t *mask, int64_t nz, int64_t ny, int64_t nx, int32_t *labels,
                         int64_t *n_components);

#endif
