/* cutout.c — the public entry points: checks a request, splits it into pieces of
 * bounded memory (z-slabs and y-bands), computes each piece at resolution 0 and
 * reduces it to the requested resolution (image: rounded mean of each 2^r x 2^r
 * block; labels: most frequent value, ties to the smaller). */
#include <stdlib.h>
#include <string.h>

#include "mtn/phantom.h"
#include "phantom_internal.h"

/* Resolution-0 voxels computed at once (bounds the scratch memory: about 12 bytes per
 * voxel of a piece's slices, plus one byte per voxel of the piece). */
#define PIECE_VOXELS (INT64_C(4) << 20)

int mtn_phantom_dtype_size(mtn_phantom_channel ch) { return ch == MTN_PHANTOM_IMAGE ? 1 : 8; }

static const char *channel_name(mtn_phantom_channel ch) {
    return ch == MTN_PHANTOM_IMAGE ? "image" : ch == MTN_PHANTOM_PIXEL_LABELS ? "pixel_labels" : "roi_labels";
}

/* Brain areas of a res-0 box into roi (one byte per voxel). */
static int compute_roi(const mtn_box *b, uint8_t *roi) {
    int64_t nx = mtn_box_nx(b), ny = mtn_box_ny(b);
    float *scratch = malloc((size_t)nx * sizeof(float));
    if (!scratch) return mtn_error_set(MTN_ENOMEM, "phantom: out of memory");
    for (int64_t z = b->z0; z < b->z1; z++)
        for (int64_t y = b->y0; y < b->y1; y++)
            ph_roi_row(z, y, b->x0, nx, roi + ((z - b->z0) * ny + (y - b->y0)) * nx, scratch);
    free(scratch);
    return MTN_OK;
}

/* Pixel labels or the image of a res-0 box (one byte per voxel). */
static int compute_tissue(mtn_phantom_channel ch, const mtn_box *b, uint8_t *out) {
    const int64_t margin = ch == MTN_PHANTOM_IMAGE ? PH_BLUR_RADIUS : 0;
    const int64_t nx = mtn_box_nx(b), ny = mtn_box_ny(b);
    mtn_box wide = {b->x0 - margin, b->x1 + margin, b->y0 - margin, b->y1 + margin, b->z0, b->z1};
    ph_window w = {0, wide.y0, wide.x0, mtn_box_ny(&wide), mtn_box_nx(&wide)};
    size_t window_voxels = (size_t)(w.nx * w.ny);
    ph_cell_list cells = {NULL, 0};
    ph_row_scratch s = {NULL, NULL, NULL, NULL};
    uint8_t *roi = malloc(window_voxels), *cls = malloc(window_voxels);
    float *raw = margin ? malloc(window_voxels * sizeof(float)) : NULL;
    int rc = (!roi || !cls || (margin && !raw)) ? mtn_error_set(MTN_ENOMEM, "phantom: out of memory") : MTN_OK;
    if (!rc) rc = ph_row_scratch_init(&s, w.nx);
    if (!rc) rc = ph_cells_in_box(&wide, &cells);
    for (int64_t z = b->z0; !rc && z < b->z1; z++) {
        w.z = z;
        ph_slice(&w, &cells, &s, roi, cls, raw);
        uint8_t *slice = out + (z - b->z0) * ny * nx;
        if (ch == MTN_PHANTOM_IMAGE)
            rc = ph_render(&w, raw, &s, slice);
        else
            memcpy(slice, cls, (size_t)(ny * nx));
    }
    ph_cell_list_free(&cells);
    ph_row_scratch_free(&s);
    free(roi);
    free(cls);
    free(raw);
    return rc;
}

/* Most frequent value of a side x side block (label values < 16), ties to the smaller. */
static uint8_t block_mode(const uint8_t *const *rows, int64_t side) {
    int counts[16] = {0};
    for (int64_t j = 0; j < side; j++)
        for (int64_t i = 0; i < side; i++) counts[rows[j][i] & 15]++;
    int best = 0;
    for (int v = 1; v < 16; v++)
        if (counts[v] > counts[best]) best = v;
    return (uint8_t)best;
}

/* Mean of a side x side block, rounded half up. */
static uint8_t block_mean(const uint8_t *const *rows, int64_t side) {
    uint32_t sum = 0;
    for (int64_t j = 0; j < side; j++)
        for (int64_t i = 0; i < side; i++) sum += rows[j][i];
    uint32_t n = (uint32_t)(side * side);
    return (uint8_t)((sum + n / 2) / n);
}

/* Writes a piece (res-r box `piece`, computed at res 0 into `full`) into `out`, which
 * holds the whole requested box `box`. */
static void reduce_piece(mtn_phantom_channel ch, int res, const mtn_box *box, const mtn_box *piece,
                         const uint8_t *full, void *out) {
    const int64_t side = INT64_C(1) << res;
    const int64_t nx = mtn_box_nx(piece), full_nx = nx * side, full_ny = mtn_box_ny(piece) * side;
    const int64_t out_nx = mtn_box_nx(box), out_ny = mtn_box_ny(box);
    const uint8_t *rows[1 << (MTN_PHANTOM_LEVELS - 1)];
    for (int64_t z = piece->z0; z < piece->z1; z++) {
        for (int64_t y = piece->y0; y < piece->y1; y++) {
            const uint8_t *first = full + ((z - piece->z0) * full_ny + (y - piece->y0) * side) * full_nx;
            int64_t at = ((z - box->z0) * out_ny + (y - box->y0)) * out_nx + (piece->x0 - box->x0);
            if (side == 1 && ch == MTN_PHANTOM_IMAGE) {
                memcpy((uint8_t *)out + at, first, (size_t)nx);
            } else if (side == 1) {
                for (int64_t x = 0; x < nx; x++) ((uint64_t *)out)[at + x] = first[x];
            } else {
                for (int64_t x = 0; x < nx; x++) {
                    for (int64_t j = 0; j < side; j++) rows[j] = first + j * full_nx + x * side;
                    if (ch == MTN_PHANTOM_IMAGE)
                        ((uint8_t *)out)[at + x] = block_mean(rows, side);
                    else
                        ((uint64_t *)out)[at + x] = block_mode(rows, side);
                }
            }
        }
    }
}

static int check_request(mtn_phantom_channel ch, int res, const mtn_box *box) {
    if ((int)ch < 0 || ch >= MTN_PHANTOM_NCHANNELS)
        return mtn_error_set(MTN_EDATA, "phantom: no channel %d (image, pixel_labels, roi_labels)", (int)ch);
    if (res < 0 || res >= MTN_PHANTOM_LEVELS)
        return mtn_error_set(MTN_EDATA, "phantom: resolution %d is not one of 0..%d", res, MTN_PHANTOM_LEVELS - 1);
    const int64_t nx = PH_NX >> res, ny = PH_NY >> res, nz = PH_NZ;
    if (box->x0 < 0 || box->y0 < 0 || box->z0 < 0 || box->x1 > nx || box->y1 > ny || box->z1 > nz ||
        box->x0 >= box->x1 || box->y0 >= box->y1 || box->z0 >= box->z1)
        return mtn_error_set(MTN_EDATA,
                             "phantom: %s cutout x [%lld, %lld) y [%lld, %lld) z [%lld, %lld) is empty or "
                             "outside the frame at resolution %d (x [0, %lld), y [0, %lld), z [0, %lld))",
                             channel_name(ch), (long long)box->x0, (long long)box->x1, (long long)box->y0,
                             (long long)box->y1, (long long)box->z0, (long long)box->z1, res, (long long)nx,
                             (long long)ny, (long long)nz);
    return MTN_OK;
}

int mtn_phantom_cutout(mtn_phantom_channel ch, int res, const mtn_box *box, void *out) {
    MTN_ASSERT(box != NULL && out != NULL);
    int rc = check_request(ch, res, box);
    if (rc) return rc;
    /* Pieces: y-bands of whole rows, then z-slabs, each at most PIECE_VOXELS at res 0
     * (at least one res-r row). Inside the frame every product below fits easily. */
    const int64_t side = INT64_C(1) << res;
    const int64_t row_voxels = mtn_box_nx(box) * side * side;
    int64_t band = PIECE_VOXELS / row_voxels;
    if (band < 1) band = 1;
    if (band > mtn_box_ny(box)) band = mtn_box_ny(box);
    int64_t slab = PIECE_VOXELS / (row_voxels * band);
    if (slab < 1) slab = 1;
    uint8_t *full = malloc((size_t)(row_voxels * band * slab));
    if (!full) return mtn_error_set(MTN_ENOMEM, "phantom: out of memory for a cutout piece");
    for (int64_t z0 = box->z0; !rc && z0 < box->z1; z0 += slab) {
        for (int64_t y0 = box->y0; !rc && y0 < box->y1; y0 += band) {
            mtn_box piece = {box->x0, box->x1, y0, y0 + band < box->y1 ? y0 + band : box->y1,
                             z0, z0 + slab < box->z1 ? z0 + slab : box->z1};
            mtn_box full_box = {piece.x0 * side, piece.x1 * side, piece.y0 * side, piece.y1 * side,
                                piece.z0, piece.z1};
            rc = ch == MTN_PHANTOM_ROI_LABELS ? compute_roi(&full_box, full)
                                              : compute_tissue(ch, &full_box, full);
            if (!rc) reduce_piece(ch, res, box, &piece, full, out);
        }
    }
    free(full);
    return rc;
}
