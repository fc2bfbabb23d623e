/* test_stage_plan.c — which tiles a task stages (counts per split for ROI-C1/C2/C3,
 * Task 2 without ZI, Task 3), the fetch blocks (contiguous, 16-aligned, covering
 * every tile once), the staging key, and the stage-time filters (block mean, block
 * mode) against hand-computed values. */
#include <string.h>
#include <zlib.h>

#include "../../src/data/stage_plan.h"
#include "harness.h"

#define CFG MTN_SOURCE_DIR "/configs/task/"

static void count_splits(const mtn_stage_plan *p, int64_t counts[4]) {
    memset(counts, 0, 4 * sizeof counts[0]);
    for (int64_t t = 0; t < p->n_tiles; t++) counts[p->tiles[t].split]++;
}

static void plan_for(const char *file, mtn_task_config *t, mtn_stage_plan *p) {
    CU_ASSERT_EQUAL_FATAL(mtn_task_load(file, t), 0);
    CU_ASSERT_EQUAL_FATAL(mtn_stage_plan_build(t, "phantom", p), 0);
}

static void test_tile_counts(void) {
    mtn_task_config t;
    mtn_stage_plan p;
    int64_t c[4];
    /* ROI-C1: 4 regions x (269 train + 29 val + 50 test) slices of cube A */
    plan_for(CFG "task1_roi_c1.json", &t, &p);
    count_splits(&p, c);
    CU_ASSERT_EQUAL(c[MTN_SPLIT_TRAIN], 4 * 269);
    CU_ASSERT_EQUAL(c[MTN_SPLIT_VAL], 4 * 29);
    CU_ASSERT_EQUAL(c[MTN_SPLIT_TEST], 4 * 50);
    CU_ASSERT_EQUAL(c[MTN_SPLIT_OTHER], 0);
    CU_ASSERT_EQUAL(p.tile_h, 128);
    CU_ASSERT_EQUAL(p.tile_h0, 256);
    mtn_stage_plan_free(&p);
    /* ROI-C2: test on all 360 slices of C and D (2880 images) */
    plan_for(CFG "task1_roi_c2.json", &t, &p);
    count_splits(&p, c);
    CU_ASSERT_EQUAL(c[MTN_SPLIT_TRAIN], 4 * 269);
    CU_ASSERT_EQUAL(c[MTN_SPLIT_TEST], 2880);
    mtn_stage_plan_free(&p);
    /* ROI-C3: train on A and all of B */
    plan_for(CFG "task1_roi_c3.json", &t, &p);
    count_splits(&p, c);
    CU_ASSERT_EQUAL(c[MTN_SPLIT_TRAIN], 4 * 269 + 1440);
    CU_ASSERT_EQUAL(c[MTN_SPLIT_VAL], 4 * 29);
    CU_ASSERT_EQUAL(c[MTN_SPLIT_TEST], 2880);
    mtn_stage_plan_free(&p);
    /* Task 2, 4-class: no ZI */
    plan_for(CFG "task2_2d_4class.json", &t, &p);
    count_splits(&p, c);
    CU_ASSERT_EQUAL(c[MTN_SPLIT_TRAIN], 3 * 269);
    for (int64_t i = 0; i < p.n_tiles; i++) CU_ASSERT(p.tiles[i].region != MTN_REGION_ZI);
    mtn_stage_plan_free(&p);
    /* Task 3: every slice of cube A, 1440 images */
    plan_for(CFG "task3.json", &t, &p);
    CU_ASSERT_EQUAL(p.n_tiles, 1440);
    count_splits(&p, c);
    CU_ASSERT_EQUAL(c[MTN_SPLIT_OTHER], 4 * (1 + 11)); /* slice 379 and slices 409-419 */
    mtn_stage_plan_free(&p);
    /* 64 x 64 tiles: 16 per region slice */
    t.tile_size[0] = t.tile_size[1] = 64;
    CU_ASSERT_EQUAL(mtn_stage_plan_build(&t, "phantom", &p), 0);
    CU_ASSERT_EQUAL(p.n_tiles, 1440 * 16);
    mtn_stage_plan_free(&p);
}

static void test_blocks_cover_tiles(void) {
    mtn_task_config t;
    mtn_stage_plan p;
    plan_for(CFG "task1_roi_c3.json", &t, &p);
    int64_t next = 0;
    for (int64_t b = 0; b < p.n_blocks; b++) {
        const mtn_stage_block *blk = &p.blocks[b];
        CU_ASSERT_EQUAL(blk->first_tile, next); /* in order, no gaps, no overlap */
        CU_ASSERT(blk->n_tiles >= 1 && blk->n_tiles <= MTN_STAGE_BLOCK_Z);
        CU_ASSERT_EQUAL(blk->box.z1 - blk->box.z0, blk->n_tiles);
        CU_ASSERT_EQUAL(blk->box.z0 / MTN_STAGE_BLOCK_Z, (blk->box.z1 - 1) / MTN_STAGE_BLOCK_Z); /* one cuboid layer */
        for (int64_t k = 0; k < blk->n_tiles; k++) {
            const mtn_tile_info *ti = &p.tiles[blk->first_tile + k];
            CU_ASSERT_EQUAL(ti->z, blk->box.z0 + k);
            CU_ASSERT_EQUAL(blk->box.x0, t.cubes[ti->cube].x[ti->region].start + ti->x0);
            CU_ASSERT_EQUAL(blk->box.y1 - blk->box.y0, 256);
        }
        next += blk->n_tiles;
    }
    CU_ASSERT_EQUAL(next, p.n_tiles);
    mtn_stage_plan_free(&p);
}

static void test_staging_key(void) {
    mtn_task_config t, t2;
    mtn_stage_plan a, b;
    plan_for(CFG "task2_2d_3class.json", &t, &a);
    /* the 3D config stages the same tiles: same key */
    plan_for(CFG "task2_3d_3class.json", &t2, &b);
    CU_ASSERT_STRING_EQUAL(a.key, b.key);
    mtn_stage_plan_free(&b);
    /* another source, another downsampling, another split: another key */
    CU_ASSERT_EQUAL(mtn_stage_plan_build(&t, "http://127.0.0.1:8080", &b), 0);
    CU_ASSERT(strcmp(a.key, b.key) != 0);
    mtn_stage_plan_free(&b);
    t2 = t;
    t2.downsample = 2;
    CU_ASSERT_EQUAL(mtn_stage_plan_build(&t2, "phantom", &b), 0);
    CU_ASSERT(strcmp(a.key, b.key) != 0);
    mtn_stage_plan_free(&b);
    t2 = t;
    t2.z_val.stop = 408;
    CU_ASSERT_EQUAL(mtn_stage_plan_build(&t2, "phantom", &b), 0);
    CU_ASSERT(strcmp(a.key, b.key) != 0);
    mtn_stage_plan_free(&b);
    CU_ASSERT_EQUAL(strlen(a.key), 16);
    mtn_stage_plan_free(&a);
}

static void test_filters(void) {
    const uint8_t img[16] = {0, 1, 10, 10, 2, 2, 10, 11, 255, 255, 7, 8, 255, 254, 9, 9};
    uint8_t out[4];
    mtn_downsample_mean_u8(img, 2, 2, 2, out);
    CU_ASSERT_EQUAL(out[0], 1);   /* (0+1+2+2)/4 = 1.25 */
    CU_ASSERT_EQUAL(out[1], 10);  /* 41/4 = 10.25 */
    CU_ASSERT_EQUAL(out[2], 255); /* 1019/4 = 254.75 */
    CU_ASSERT_EQUAL(out[3], 8);   /* 33/4 = 8.25 */
    const uint8_t half[4] = {1, 2, 2, 2};
    uint8_t one;
    mtn_downsample_mean_u8(half, 1, 1, 2, &one);
    CU_ASSERT_EQUAL(one, 2); /* 7/4 = 1.75 */
    const uint8_t lab[16] = {3, 3, 1, 2, 3, 0, 2, 1, 0, 0, 2, 2, 1, 1, 3, 3};
    mtn_downsample_mode_u8(lab, 2, 2, 2, out);
    CU_ASSERT_EQUAL(out[0], 3); /* 3,3,3,0 */
    CU_ASSERT_EQUAL(out[1], 1); /* 1,2,2,1: tie -> smaller */
    CU_ASSERT_EQUAL(out[2], 0); /* 0,0,1,1: tie -> smaller */
    CU_ASSERT_EQUAL(out[3], 2); /* 2,2,3,3: tie -> smaller */
    uint8_t big[64], o4;
    for (int i = 0; i < 16; i++) big[i] = (uint8_t)(i < 9 ? 2 : 3);
    mtn_downsample_mode_u8(big, 1, 1, 4, &o4);
    CU_ASSERT_EQUAL(o4, 2);
    uint64_t s1 = mtn_tile_checksum(img, lab, 16), s2 = mtn_tile_checksum(img, lab, 16);
    CU_ASSERT_EQUAL(s1, s2);
    CU_ASSERT_EQUAL(s1 >> 32, crc32(crc32(0L, Z_NULL, 0), img, 16));
    CU_ASSERT_EQUAL(s1 & 0xffffffffu, crc32(crc32(0L, Z_NULL, 0), lab, 16));
    uint8_t img2[16];
    memcpy(img2, img, 16);
    img2[5] ^= 1;
    CU_ASSERT(mtn_tile_checksum(img2, lab, 16) != s1);
    CU_ASSERT_EQUAL(mtn_tile_checksum(img2, lab, 16) & 0xffffffffu, s1 & 0xffffffffu);
}

static const mtn_test_case tests[] = {
    {"tiles per split for ROI-C1/C2/C3, Task 2 and Task 3", test_tile_counts},
    {"fetch blocks cover every tile once, 16-aligned", test_blocks_cover_tiles},
    {"the staging key follows content, not 2D/3D", test_staging_key},
    {"block mean, block mode and tile checksums", test_filters},
    {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {{"stage plan", tests}, {NULL, NULL}};
