/* features.c — Task 3's semantic features of a pixel-label volume (see mtn/eval.h):
 * per image, or per quadrant, the vessel and axon percentages and the cell count,
 * mean cell footprint and mean nearest-neighbour distance.
 *
 * Choices, each against MTNeuro's annots/features.py (reference-implementation §6):
 *  - Cells are the 3D 6-connected components of label 2 over the whole stack, as the
 *    original's cc3d call; a component counts once in an image or quadrant however its
 *    footprint there splits (the original's regionprops over the component ids).
 *  - Footprint centroids are (row, col) means within the image or quadrant (distances
 *    do not depend on the origin).
 *  - nn_dist_px is the mean over cells of the distance to the nearest OTHER cell. The
 *    original averaged KDTree's k=2 array, self-distances 0 included, i.e. half this
 *    value: fixed. With fewer than 2 cells it is NaN (the original wrote 64, a number
 *    a regression would take for a distance); cell_size_px is NaN with no cell (the
 *    original left 0, a size no cell has). cell_count is then 0 or 1, never NaN.
 *  - vessel_pct is 0 for an image without vessels (the original raised IndexError on
 *    such a quadrant); axon_pct likewise (as the original).
 *  - Quadrants split at h/2 and w/2 rounded down, so with an odd size the lower and
 *    right quadrants get the extra row or column (numpy's [:h//2] and [h//2:]); for
 *    the paper's 256 x 256 slices these are the original's [:128] and [-128:].
 * Nearest neighbours: centroids sorted by column, each searched outwards until the
 * column gap alone exceeds the best distance — exact, and near-linear for cells
 * spread over an image (the worst case, all in one column, is quadratic). */
#include <math.h>
#include <stdlib.h>

#include "mtn/eval.h"

typedef struct {
    double x, y;
} point;

static int by_x(const void *a, const void *b) {
    double u = ((const point *)a)->x, v = ((const point *)b)->x;
    return (u > v) - (u < v);
}

/* Mean over the m points of the distance to the nearest other point; sorts pts. */
static double mean_nn_distance(point *pts, int64_t m) {
    qsort(pts, (size_t)m, sizeof *pts, by_x);
    double sum = 0;
    for (int64_t i = 0; i < m; i++) {
        double best = INFINITY;
        for (int64_t j = i + 1; j < m; j++) {
            double dx = pts[j].x - pts[i].x, dy = pts[j].y - pts[i].y;
            if (dx * dx >= best) break;
            if (dx * dx + dy * dy < best) best = dx * dx + dy * dy;
        }
        for (int64_t j = i - 1; j >= 0; j--) {
            double dx = pts[i].x - pts[j].x, dy = pts[j].y - pts[i].y;
            if (dx * dx >= best) break;
            if (dx * dx + dy * dy < best) best = dx * dx + dy * dy;
        }
        sum += sqrt(best);
    }
    return sum / (double)m;
}

/* Per-component sums of one region, reset lazily: stamp[id] names the region that
 * last touched id; ids lists the components of the current region in order. */
typedef struct {
    int64_t *stamp, *count, *sum_y, *sum_x;
    int32_t *ids;
    point *pts;
} work;

/* The five features of rows [y0, y1) x columns [x0, x1) of slice `slice` into row. */
static void region_features(const uint8_t *labels, const int32_t *cells, int64_t h, int64_t w, int64_t slice,
                            int64_t y0, int64_t y1, int64_t x0, int64_t x1, int64_t region, work *k, double *row) {
    int64_t vessel = 0, axon = 0, cell_px = 0, m = 0;
    for (int64_t y = y0; y < y1; y++) {
        const int64_t at = (slice * h + y) * w;
        for (int64_t x = x0; x < x1; x++) {
            uint8_t v = labels[at + x];
            if (v == MTN_PIX_VESSEL) {
                vessel++;
            } else if (v == MTN_PIX_AXON) {
                axon++;
            } else if (v == MTN_PIX_CELL) {
                int32_t id = cells[at + x];
                if (k->stamp[id] != region) {
                    k->stamp[id] = region;
                    k->count[id] = k->sum_y[id] = k->sum_x[id] = 0;
                    k->ids[m++] = id;
                }
                k->count[id]++;
                k->sum_y[id] += y - y0;
                k->sum_x[id] += x - x0;
                cell_px++;
            }
        }
    }
    const double pixels = (double)((y1 - y0) * (x1 - x0));
    row[0] = 100.0 * (double)vessel / pixels;
    row[1] = 100.0 * (double)axon / pixels;
    row[2] = (double)m;
    row[3] = m ? (double)cell_px / (double)m : NAN;
    row[4] = NAN;
    if (m >= 2) {
        for (int64_t i = 0; i < m; i++) {
            int32_t id = k->ids[i];
            k->pts[i].y = (double)k->sum_y[id] / (double)k->count[id];
            k->pts[i].x = (double)k->sum_x[id] / (double)k->count[id];
        }
        row[4] = mean_nn_distance(k->pts, m);
    }
}

int mtn_features(const uint8_t *labels, int64_t z, int64_t h, int64_t w, bool quadrants, double *out) {
    MTN_ASSERT(labels != NULL && out != NULL);
    const int64_t least = quadrants ? 2 : 1;
    if (z < 1 || h < least || w < least)
        return mtn_error_set(MTN_EDATA,
                             "features: labels of %lld x %lld x %lld (Z, H, W); expected Z >= 1 and H, W >= %lld%s",
                             (long long)z, (long long)h, (long long)w, (long long)least,
                             quadrants ? " for quadrants" : "");
    int64_t dims[3] = {z, h, w}, total;
    if (!mtn_product_i64(dims, 3, &total) || total < 1 || total >= INT32_MAX)
        return mtn_error_set(MTN_EOVERFLOW, "features: labels of %lld x %lld x %lld are too many (2^31 or more)",
                             (long long)z, (long long)h, (long long)w);
    for (int64_t at = 0; at < total; at++)
        if (labels[at] >= MTN_PIX_COUNT)
            return mtn_error_set(MTN_EDATA,
                                 "label value %d at (z, y, x) = (%lld, %lld, %lld); expected 0 background, "
                                 "1 vessel, 2 cell or 3 axon",
                                 labels[at], (long long)(at / (h * w)), (long long)(at / w % h), (long long)(at % w));

    int rc = MTN_OK;
    uint8_t *mask = malloc((size_t)total);
    int32_t *cells = malloc((size_t)total * sizeof *cells);
    int64_t n = 0;
    work k = {0};
    if (!mask || !cells) rc = mtn_error_set(MTN_ENOMEM, "features: out of memory for %lld voxels", (long long)total);
    if (!rc) {
        for (int64_t at = 0; at < total; at++) mask[at] = labels[at] == MTN_PIX_CELL;
        rc = mtn_components_label(mask, z, h, w, cells, &n);
    }
    free(mask);
    if (!rc) {
        const size_t ncomp = (size_t)n + 1, plane = (size_t)(h * w);
        k.stamp = malloc(ncomp * sizeof *k.stamp);
        k.count = malloc(ncomp * sizeof *k.count);
        k.sum_y = malloc(ncomp * sizeof *k.sum_y);
        k.sum_x = malloc(ncomp * sizeof *k.sum_x);
        k.ids = malloc(plane * sizeof *k.ids);
        k.pts = malloc(plane * sizeof *k.pts);
        if (!k.stamp || !k.count || !k.sum_y || !k.sum_x || !k.ids || !k.pts)
            rc = mtn_error_set(MTN_ENOMEM, "features: out of memory for %lld cells", (long long)n);
        else
            for (size_t i = 0; i < ncomp; i++) k.stamp[i] = -1;
    }
    if (!rc) {
        const int64_t hh = h / 2, hw = w / 2;
        for (int64_t s = 0; s < z; s++) {
            if (!quadrants) {
                region_features(labels, cells, h, w, s, 0, h, 0, w, s, &k, out + s * MTN_FEATURES_NCOL);
                continue;
            }
            for (int64_t c = 0; c < 4; c++) {
                const int64_t r = 4 * s + c;
                region_features(labels, cells, h, w, s, c < 2 ? 0 : hh, c < 2 ? hh : h, c % 2 ? hw : 0,
                                c % 2 ? w : hw, r, &k, out + r * MTN_FEATURES_NCOL);
            }
        }
    }
    free(cells);
    free(k.stamp);
    free(k.count);
    free(k.sum_y);
    free(k.sum_x);
    free(k.ids);
    free(k.pts);
    return rc;
}
