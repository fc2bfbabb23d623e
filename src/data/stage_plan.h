/* stage_plan.h — what a staged file holds for a task, independent of ranks and of
 * the source's speed: the tile list, the fetch blocks, and the staging key that
 * tells whether an existing file was staged for the same thing. Internal to data. */
#ifndef MTN_DATA_STAGE_PLAN_H
#define MTN_DATA_STAGE_PLAN_H

#include "mtn/data.h"

/* Consecutive tiles of one (cube, region, tile offset) whose slices are contiguous in
 * z and lie in one 16-slice window aligned as BossDB's cuboids: fetched together. */
typedef struct {
    int64_t first_tile, n_tiles;
    mtn_box box; /* resolution 0: the tile's x-y footprint and the slices */
} mtn_stage_block;

typedef struct {
    mtn_tile_info *tiles;
    int64_t n_tiles;
    mtn_stage_block *blocks;
    int64_t n_blocks;
    int tile_h0, tile_w0;      /* tile at resolution 0 */
    int tile_h, tile_w;        /* after downsampling */
    int downsample;
    char *spec;                /* canonical JSON of everything the content depends on */
    char key[17];              /* 64-bit FNV-1a of spec, hex */
} mtn_stage_plan;

enum { MTN_STAGE_BLOCK_Z = 16 };

int mtn_stage_plan_build(const mtn_task_config *task, const char *source_spec, mtn_stage_plan *plan);
void mtn_stage_plan_free(mtn_stage_plan *plan);

/* The downsampling filters are declared in mtn/data.h (Task 3 uses them too). */

/* crc32(image) << 32 | crc32(labels) */
uint64_t mtn_tile_checksum(const uint8_t *image, const uint8_t *labels, size_t bytes);

#endif
