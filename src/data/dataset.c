/* dataset.c — the reader training uses: opens a complete staged file read-only,
 * lists each split's samples (2D tiles, or sub-volumes of volume_z consecutive
 * slices that never cross a cube, region, tile or split boundary — unlike MTNeuro's
 * loader, whose last sub-volume of a region spilled into the next) and reads batches
 * as float images in [0, 1] with labels mapped for the task. */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "mtn/h5.h"
#include "mtn/data.h"
#include "stage_plan.h"

struct mtn_dataset {
    char path[MTN_PATH_MAX];
    hid_t file, images, labels;
    int task, depth, tile_h, tile_w;
    bool merge_axons;               /* Task 2, 3-class */
    int64_t n_tiles;
    mtn_tile_info *tiles;
    int64_t *samples[4];            /* per split: first tile of each sample */
    int64_t n_samples[4];
    uint8_t *buf_image, *buf_label; /* one sample */
};

int mtn_roi_class(uint64_t roi) {
    switch (roi) {
    case MTN_ROI_CLEAR: /* unlabelled pixels count as cortex, as in MTNeuro */
    case MTN_ROI_CORTEX: return MTN_REGION_CTX;
    case MTN_ROI_STRIATUM:
    case MTN_ROI_CORPUS_CALLOSUM: return MTN_REGION_STR;
    case MTN_ROI_TRN:
    case MTN_ROI_VP: return MTN_REGION_VP;
    case MTN_ROI_ZI:
    case MTN_ROI_INTERNAL_CAPSULE:
    case MTN_ROI_HYPOTHALAMUS: return MTN_REGION_ZI;
    default: return -1; /* not an ROI value */
    }
}

void mtn_dataset_free(mtn_dataset *d) {
    if (!d) return;
    if (d->images > 0) H5Dclose(d->images);
    if (d->labels > 0) H5Dclose(d->labels);
    if (d->file > 0) H5Fclose(d->file);
    free(d->tiles);
    for (int s = 0; s < 4; s++) free(d->samples[s]);
    free(d->buf_image);
    free(d->buf_label);
    free(d);
}

/* Whether tile b continues tile a's sub-volume: same cube, region, offset and
 * split, next slice. */
static bool continues(const mtn_tile_info *a, const mtn_tile_info *b) {
    return a->cube == b->cube && a->region == b->region && a->y0 == b->y0 && a->x0 == b->x0 &&
           a->split == b->split && b->z == a->z + 1;
}

static int build_samples(mtn_dataset *d) {
    for (int s = 0; s < 4; s++) {
        d->samples[s] = malloc(sizeof(int64_t) * (size_t)(d->n_tiles ? d->n_tiles : 1));
        if (!d->samples[s]) return mtn_error_set(MTN_ENOMEM, "out of memory");
    }
    /* runs of consecutive slices; each run gives floor(len / depth) samples */
    int64_t run_start = 0;
    for (int64_t t = 1; t <= d->n_tiles; t++) {
        if (t < d->n_tiles && continues(&d->tiles[t - 1], &d->tiles[t])) continue;
        int split = d->tiles[run_start].split;
        for (int64_t s = run_start; s + d->depth <= t; s += d->depth) d->samples[split][d->n_samples[split]++] = s;
        run_start = t;
    }
    return MTN_OK;
}

int mtn_dataset_open(const char *path, const mtn_task_config *task, mtn_dataset **out) {
    *out = NULL;
    mtn_h5_quiet();
    mtn_dataset *d = calloc(1, sizeof *d);
    if (!d) return mtn_error_set(MTN_ENOMEM, "out of memory");
    snprintf(d->path, sizeof d->path, "%s", path);
    d->task = task->task;
    d->depth = task->volume_z;
    d->merge_axons = task->task == 2 && task->combine_ax_and_bg;
    int rc = MTN_OK;
    char *format = NULL, *key = NULL, *source = NULL;
    int64_t complete = 0, th = 0, tw = 0;
    d->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (d->file < 0) rc = mtn_error_set(MTN_EIO, "%s: cannot open the staged file", path);
    if (!rc && (mtn_h5_read_str(d->file, "format", &format) || strcmp(format, "mtneuro-staged/1") != 0))
        rc = mtn_error_set(MTN_EIO, "%s: expected an mtneuro staged file (format mtneuro-staged/1)", path);
    if (!rc) rc = mtn_h5_read_i64(d->file, "complete", &complete);
    if (!rc && !complete)
        rc = mtn_error_set(MTN_EIO, "%s: staging is not complete; run mtneuro stage again to finish it", path);
    if (!rc) rc = mtn_h5_read_str(d->file, "staging_key", &key);
    if (!rc) rc = mtn_h5_read_str(d->file, "source", &source);
    if (!rc) {
        mtn_stage_plan plan;
        rc = mtn_stage_plan_build(task, source, &plan);
        if (!rc && strcmp(plan.key, key) != 0)
            rc = mtn_error_set(MTN_EIO, "%s was staged for another task config (%s): stage it again for this one", path,
                               task->file);
        mtn_stage_plan_free(&plan);
    }
    if (!rc) rc = mtn_h5_read_i64(d->file, "tile_h", &th);
    if (!rc) rc = mtn_h5_read_i64(d->file, "tile_w", &tw);
    if (!rc) {
        d->tile_h = (int)th;
        d->tile_w = (int)tw;
        d->images = H5Dopen2(d->file, "images", H5P_DEFAULT);
        d->labels = H5Dopen2(d->file, "labels", H5P_DEFAULT);
        hid_t tiles = H5Dopen2(d->file, "tiles", H5P_DEFAULT);
        hid_t space = tiles >= 0 ? H5Dget_space(tiles) : -1;
        hsize_t dims[2] = {0, 0};
        if (space >= 0) H5Sget_simple_extent_dims(space, dims, NULL);
        d->n_tiles = (int64_t)dims[0];
        d->tiles = malloc(sizeof *d->tiles * (size_t)(d->n_tiles ? d->n_tiles : 1));
        if (d->images < 0 || d->labels < 0 || tiles < 0 || dims[1] != 6 || !d->tiles ||
            H5Dread(tiles, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, d->tiles) < 0)
            rc = mtn_error_set(MTN_EIO, "%s: cannot read the staged datasets", path);
        if (space >= 0) H5Sclose(space);
        if (tiles >= 0) H5Dclose(tiles);
    }
    for (int64_t t = 0; !rc && t < d->n_tiles; t++)
        if (d->tiles[t].split < 0 || d->tiles[t].split > 3)
            rc = mtn_error_set(MTN_EIO, "%s: tile %lld has split %d", path, (long long)t, d->tiles[t].split);
    if (!rc) rc = build_samples(d);
    size_t sample_bytes = (size_t)d->depth * (size_t)d->tile_h * (size_t)d->tile_w;
    if (!rc) {
        d->buf_image = malloc(sample_bytes);
        d->buf_label = malloc(sample_bytes);
        if (!d->buf_image || !d->buf_label) rc = mtn_error_set(MTN_ENOMEM, "out of memory");
    }
    free(format);
    free(key);
    free(source);
    if (rc) {
        mtn_dataset_free(d);
        return rc;
    }
    *out = d;
    return MTN_OK;
}

int mtn_dataset_tile_h(const mtn_dataset *d) { return d->tile_h; }
int mtn_dataset_tile_w(const mtn_dataset *d) { return d->tile_w; }
int mtn_dataset_depth(const mtn_dataset *d) { return d->depth; }
const mtn_tile_info *mtn_dataset_tile(const mtn_dataset *d, int64_t tile) { return &d->tiles[tile]; }
int64_t mtn_dataset_count(const mtn_dataset *d, mtn_split split) { return d->n_samples[split]; }

int64_t mtn_dataset_sample_tile(const mtn_dataset *d, mtn_split split, int64_t i) {
    MTN_ASSERT(i >= 0 && i < d->n_samples[split]);
    return d->samples[split][i];
}

/* Task 1: the region class of a sample, MTNeuro's rule (reference-implementation.md
 * §3): the mode of all its raw ROI values, then that value's class. Ties go to the
 * smallest value, as torch.mode on the CPU resolves them. A value outside 0..8 means
 * the file does not hold ROI labels: an error naming the file, tile and value. */
static int region_class(const mtn_dataset *d, const uint8_t *labels, size_t n, int64_t tile, int32_t *out) {
    int64_t counts[256] = {0};
    for (size_t i = 0; i < n; i++) counts[labels[i]]++;
    int mode = 0;
    for (int v = 0; v < 256; v++) {
        if (counts[v] > 0 && mtn_roi_class((uint64_t)v) < 0)
            return mtn_error_set(MTN_EDATA, "%s: /labels tile %lld has ROI value %d (expected 0-8)", d->path,
                                 (long long)tile, v);
        if (counts[v] > counts[mode]) mode = v; /* strictly more: a tie keeps the smaller value */
    }
    *out = mtn_roi_class((uint64_t)mode);
    return MTN_OK;
}

int mtn_dataset_read(mtn_dataset *d, mtn_split split, const int64_t *samples, int n, float *x, int32_t *y) {
    size_t plane = (size_t)d->tile_h * (size_t)d->tile_w, sample = (size_t)d->depth * plane;
    for (int i = 0; i < n; i++) {
        if (samples[i] < 0 || samples[i] >= d->n_samples[split])
            return mtn_error_set(MTN_EINTERNAL, "%s: sample %lld of split %s does not exist (%lld samples)", d->path,
                                 (long long)samples[i], mtn_split_name(split), (long long)d->n_samples[split]);
        int64_t tile = d->samples[split][samples[i]];
        hsize_t start[3] = {(hsize_t)tile, 0, 0}, count[3] = {(hsize_t)d->depth, (hsize_t)d->tile_h, (hsize_t)d->tile_w};
        hid_t fs = H5Dget_space(d->images);
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
        hid_t ms = H5Screate_simple(3, count, NULL);
        herr_t r = H5Dread(d->images, H5T_NATIVE_UINT8, ms, fs, H5P_DEFAULT, d->buf_image);
        if (r >= 0 && y) r = H5Dread(d->labels, H5T_NATIVE_UINT8, ms, fs, H5P_DEFAULT, d->buf_label);
        H5Sclose(ms);
        H5Sclose(fs);
        if (r < 0) return mtn_error_set(MTN_EIO, "%s: cannot read tile %lld", d->path, (long long)tile);
        float *xi = x + (size_t)i * sample;
        for (size_t k = 0; k < sample; k++) xi[k] = (float)d->buf_image[k] / 255.0f;
        if (!y) continue;
        if (d->task == 1) {
            int rc = region_class(d, d->buf_label, sample, tile, &y[i]);
            if (rc) return rc;
            continue;
        }
        int32_t *yi = y + (size_t)i * sample;
        for (size_t k = 0; k < sample; k++) {
            uint8_t v = d->buf_label[k];
            if (v >= MTN_PIX_COUNT)
                return mtn_error_set(MTN_EDATA, "%s: tile %lld has pixel label %d (expected 0-3)", d->path,
                                     (long long)tile, v);
            yi[k] = d->merge_axons && v == MTN_PIX_AXON ? MTN_PIX_BACKGROUND : v;
        }
    }
    return MTN_OK;
}
