/* components.c — connected components of a 3D mask, 6-connectivity, by one raster
 * pass of union-find over provisional labels (each voxel joined to its -x, -y and -z
 * neighbours) and a second pass that renumbers the roots in raster order. */
#include <stdlib.h>

#include "mtn/eval.h"

/* Root of a provisional label, halving the path on the way. */
static int32_t find_root(int32_t *parent, int32_t a) {
    while (parent[a] != a) {
        parent[a] = parent[parent[a]];
        a = parent[a];
    }
    return a;
}

/* Joins two provisional labels; the smaller root stays root. Returns that root. */
static int32_t join(int32_t *parent, int32_t a, int32_t b) {
    a = find_root(parent, a);
    b = find_root(parent, b);
    if (a == b) return a;
    if (a < b) {
        parent[b] = a;
        return a;
    }
    parent[a] = b;
    return b;
}

int mtn_components_label(const uint8_t *mask, int64_t nz, int64_t ny, int64_t nx, int32_t *labels,
                         int64_t *n_components) {
    MTN_ASSERT(mask != NULL && labels != NULL && n_components != NULL);
    *n_components = 0;
    int64_t dims[3] = {nz, ny, nx}, total;
    if (!mtn_product_i64(dims, 3, &total) || total >= INT32_MAX)
        return mtn_error_set(MTN_EOVERFLOW, "components: volume %lld x %lld x %lld is negative or too large",
                             (long long)nz, (long long)ny, (long long)nx);
    if (total == 0) return MTN_OK;
    /* Provisional labels 1..count; parent[0] unused. At most one per voxel. */
    int32_t *parent = malloc(((size_t)total + 1) * sizeof *parent);
    if (!parent) return mtn_error_set(MTN_ENOMEM, "components: out of memory for %lld voxels", (long long)total);
    const int64_t plane = ny * nx;
    int32_t count = 0;
    for (int64_t z = 0; z < nz; z++) {
        for (int64_t y = 0; y < ny; y++) {
            for (int64_t x = 0; x < nx; x++) {
                int64_t at = (z * ny + y) * nx + x;
                if (!mask[at]) {
                    labels[at] = 0;
                    continue;
                }
                int32_t label = 0;
                const int64_t before[3] = {x > 0 ? at - 1 : -1, y > 0 ? at - nx : -1, z > 0 ? at - plane : -1};
                for (int n = 0; n < 3; n++) {
                    if (before[n] < 0 || !labels[before[n]]) continue;
                    label = label ? join(parent, label, labels[before[n]]) : labels[before[n]];
                }
                if (!label) {
                    label = ++count;
                    parent[label] = label;
                }
                labels[at] = label;
            }
        }
    }
    /* Renumber the roots in raster order of their first voxel. */
    int32_t *final = calloc((size_t)count + 1, sizeof *final);
    if (!final) {
        free(parent);
        return mtn_error_set(MTN_ENOMEM, "components: out of memory");
    }
    int32_t n = 0;
    for (int64_t at = 0; at < total; at++) {
        if (!labels[at]) continue;
        int32_t root = find_root(parent, labels[at]);
        if (!final[root]) final[root] = ++n;
        labels[at] = final[root];
    }
    free(final);
    free(parent);
    *n_components = n;
    return MTN_OK;
}
