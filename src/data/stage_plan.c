/* stage_plan.c — the tiles a task needs, in a fixed order (cube, region, tile
 * offset, z), the blocks they are fetched in, and the staging key. Which tiles:
 * every slice of cube A in z_train (if A trains), z_val, z_test (if A tests); every
 * slice of the other train and test cubes; for Task 3 every slice of every cube, with
 * its split recorded for held-out evaluation. Regions: all four, or three without ZI. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "stage_plan.h"

static bool in_range(int64_t z, mtn_range r) { return z >= r.start && z < r.stop; }

static mtn_split split_of(const mtn_task_config *t, int cube, int64_t z) {
    uint32_t bit = 1u << cube;
    if (cube == 0) {
        if ((t->train_cubes & bit) && in_range(z, t->z_train)) return MTN_SPLIT_TRAIN;
        if (in_range(z, t->z_val)) return MTN_SPLIT_VAL;
        if ((t->test_cubes & bit) && in_range(z, t->z_test)) return MTN_SPLIT_TEST;
        return MTN_SPLIT_OTHER;
    }
    if (t->train_cubes & bit) return MTN_SPLIT_TRAIN;
    if (t->test_cubes & bit) return MTN_SPLIT_TEST;
    return MTN_SPLIT_OTHER;
}

static bool cube_used(const mtn_task_config *t, int cube) {
    return cube == 0 || ((t->train_cubes | t->test_cubes) & (1u << cube));
}

static uint64_t fnv1a64(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* The canonical description of the staged content. */
static char *make_spec(const mtn_task_config *t, const char *source_spec, const mtn_stage_plan *p) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "format", "mtneuro-staged/1");
    cJSON_AddStringToObject(o, "source", source_spec);
    cJSON_AddStringToObject(o, "image_chan", t->image_chan);
    cJSON_AddStringToObject(o, "annotation_chan", t->annotation_chan);
    cJSON_AddNumberToObject(o, "task", t->task);
    cJSON_AddNumberToObject(o, "downsample", p->downsample);
    int tile[2] = {p->tile_h0, p->tile_w0};
    cJSON_AddItemToObject(o, "tile_size", cJSON_CreateIntArray(tile, 2));
    cJSON_AddNumberToObject(o, "regions", mtn_task_regions(t));
    double splits[6] = {(double)t->z_train.start, (double)t->z_train.stop, (double)t->z_val.start,
                        (double)t->z_val.stop, (double)t->z_test.start, (double)t->z_test.stop};
    cJSON_AddItemToObject(o, "splits", cJSON_CreateDoubleArray(splits, 6));
    cJSON *cubes = cJSON_AddArrayToObject(o, "cubes");
    for (int c = 0; c < t->n_cubes; c++) {
        if (!cube_used(t, c)) continue;
        const mtn_cube *cb = &t->cubes[c];
        cJSON *co = cJSON_CreateObject();
        cJSON_AddStringToObject(co, "name", cb->name);
        cJSON_AddBoolToObject(co, "train", (t->train_cubes >> c) & 1);
        cJSON_AddBoolToObject(co, "test", (t->test_cubes >> c) & 1);
        double b[2 + 4 * MTN_NREGIONS];
        b[0] = (double)cb->z.start;
        b[1] = (double)cb->z.stop;
        for (int r = 0; r < MTN_NREGIONS; r++) {
            b[2 + 4 * r] = (double)cb->x[r].start;
            b[3 + 4 * r] = (double)cb->x[r].stop;
            b[4 + 4 * r] = (double)cb->y[r].start;
            b[5 + 4 * r] = (double)cb->y[r].stop;
        }
        cJSON_AddItemToObject(co, "z_then_xy_per_region", cJSON_CreateDoubleArray(b, 2 + 4 * MTN_NREGIONS));
        cJSON_AddItemToArray(cubes, co);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

int mtn_stage_plan_build(const mtn_task_config *t, const char *source_spec, mtn_stage_plan *p) {
    memset(p, 0, sizeof *p);
    p->downsample = t->downsample;
    p->tile_h0 = t->tile_size[0];
    p->tile_w0 = t->tile_size[1];
    p->tile_h = mtn_task_tile_h(t);
    p->tile_w = mtn_task_tile_w(t);
    uint32_t regions = mtn_task_regions(t);
    /* count, then fill */
    for (int pass = 0; pass < 2; pass++) {
        int64_t n = 0, nb = 0;
        for (int c = 0; c < t->n_cubes; c++) {
            if (!cube_used(t, c)) continue;
            const mtn_cube *cb = &t->cubes[c];
            for (int r = 0; r < MTN_NREGIONS; r++) {
                if (!(regions & (1u << r))) continue;
                int64_t rh = mtn_range_len(cb->y[r]), rw = mtn_range_len(cb->x[r]);
                for (int64_t y0 = 0; y0 < rh; y0 += p->tile_h0)
                    for (int64_t x0 = 0; x0 < rw; x0 += p->tile_w0) {
                        int64_t prev_z = -2;
                        for (int64_t z = cb->z.start; z < cb->z.stop; z++) {
                            mtn_split s = split_of(t, c, z);
                            if (s == MTN_SPLIT_OTHER && t->task != 3) continue;
                            bool new_block = z != prev_z + 1 || z % MTN_STAGE_BLOCK_Z == 0;
                            if (pass == 1) {
                                p->tiles[n] = (mtn_tile_info){c, r, (int32_t)z, (int32_t)s, (int32_t)y0, (int32_t)x0};
                                if (new_block) {
                                    mtn_stage_block *b = &p->blocks[nb];
                                    b->first_tile = n;
                                    b->box = (mtn_box){cb->x[r].start + x0, cb->x[r].start + x0 + p->tile_w0,
                                                       cb->y[r].start + y0, cb->y[r].start + y0 + p->tile_h0, z, z};
                                }
                                mtn_stage_block *b = &p->blocks[nb + (new_block ? 0 : -1)];
                                b->n_tiles++;
                                b->box.z1 = z + 1;
                            }
                            if (new_block) nb++;
                            prev_z = z;
                            n++;
                        }
                    }
            }
        }
        if (pass == 0) {
            if (n == 0) return mtn_error_set(MTN_ECONFIG, "%s: the task selects no slices to stage", t->file);
            p->tiles = calloc((size_t)n, sizeof *p->tiles);
            p->blocks = calloc((size_t)nb, sizeof *p->blocks);
            if (!p->tiles || !p->blocks) {
                mtn_stage_plan_free(p);
                return mtn_error_set(MTN_ENOMEM, "out of memory planning %lld tiles", (long long)n);
            }
        }
        p->n_tiles = n;
        p->n_blocks = nb;
    }
    p->spec = make_spec(t, source_spec, p);
    if (!p->spec) {
        mtn_stage_plan_free(p);
        return mtn_error_set(MTN_ENOMEM, "out of memory");
    }
    snprintf(p->key, sizeof p->key, "%016llx", (unsigned long long)fnv1a64(p->spec));
    return MTN_OK;
}

void mtn_stage_plan_free(mtn_stage_plan *p) {
    if (!p) return;
    free(p->tiles);
    free(p->blocks);
    cJSON_free(p->spec);
    memset(p, 0, sizeof *p);
}
