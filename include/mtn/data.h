/* mtn/data.h — from bossdb:// channels to training samples: volumes a server can
 * serve (the phantom, HDF5 volume files), sources staging reads from (the phantom
 * directly, or any BossDB-compatible URL), staging into one parallel-HDF5 file per
 * task config x source x downsample, and the dataset reader that training uses.
 *
 * Staged file layout (format "mtneuro-staged/1"; one chunk per tile, one writer per
 * chunk):
 *   /images    uint8 (N, H, W)   the image tile, after downsampling
 *   /labels    uint8 (N, H, W)   the annotation tile (ROI or pixel label values)
 *   /tiles     int32 (N, 6)      cube index, region (MTN_REGION_*), z, split, and the
 *                                tile's y and x offset inside the region box (all at
 *                                resolution 0); rows ordered by cube, region, y, x, z
 *   /checksums uint64 (N)        crc32(image) << 32 | crc32(labels)
 *   /done      uint8 (N)         1 once the tile and its checksum are written
 *   root attributes: format, complete, staging_key, task (resolved task config JSON),
 *   source, image_chan, annotation_chan, resolution, downsample, image_filter,
 *   label_filter, tile_h, tile_w, n_tiles, cube_names, mtneuro_version, git_commit.
 *
 * Ownership: *_open functions return objects freed by the matching *_free (NULL ok). */
#ifndef MTN_DATA_H
#define MTN_DATA_H

#include <mpi.h>
#include <stdint.h>

#include "mtn/bossdb.h"
#include "mtn/config.h"

/* ---------------------------------------------------------------- volumes --- */

/* The phantom (prasad/prasad2020/image, prasad/prasad_analysis/{pixel,roi}_labels). */
int mtn_volume_open_phantom(mtn_volume **out);
/* An HDF5 volume file: one dataset per channel at /<collection>/<experiment>/<channel>,
 * uint8, uint16 or uint64, shape (z, y, x), all the same shape; annotation channels
 * carry an attribute type = "annotation". Optional root attributes: coord_frame,
 * voxel_size (3 doubles x, y, z), voxel_unit. Resolutions above 0 are computed as
 * the phantom's are (block mean for images, block mode for labels). */
int mtn_volume_open_hdf5(const char *path, mtn_volume **out);

/* ---------------------------------------------------------------- sources --- */

/* Where staging reads from: "phantom" (computed here, no network), or the base URL
 * of a BossDB-compatible server ("https://api.bossdb.io", "http://127.0.0.1:8080"). */
typedef struct mtn_source mtn_source;
int mtn_source_open(const char *spec, const mtn_bossdb_options *options, mtn_source **out);
void mtn_source_free(mtn_source *s);
const char *mtn_source_spec(const mtn_source *s);
/* Channel metadata (dtype above all) for a bossdb:// URI. */
int mtn_source_channel(mtn_source *s, const char *uri, mtn_bossdb_channel *out);
/* Fetches cutouts into their destinations (see mtn_bossdb_fetch). */
int mtn_source_fetch(mtn_source *s, const mtn_cutout_request *reqs, int n, mtn_fetch_stats *stats);

/* ---------------------------------------------------------------- staging --- */

typedef enum { MTN_SPLIT_TRAIN = 0, MTN_SPLIT_VAL = 1, MTN_SPLIT_TEST = 2, MTN_SPLIT_OTHER = 3 } mtn_split;
const char *mtn_split_name(mtn_split s);

typedef struct {
    int64_t tiles_total;     /* tiles in the file */
    int64_t tiles_fetched;   /* fetched by this run (all ranks) */
    int64_t tiles_skipped;   /* already present and verified */
    int64_t bytes_fetched;   /* voxel bytes received from the source (all ranks) */
    int64_t bytes_written;   /* tile bytes written (all ranks) */
    int64_t requests, retries;
    double seconds;
    bool was_complete;       /* the file was complete already: nothing was fetched */
} mtn_stage_report;

/* Stages `task` (its downsample) from `source` into `path`, collectively over comm:
 * every rank calls it. Resumes a partial file of the same staging key; refuses a file
 * staged from something else. */
int mtn_stage(const mtn_task_config *task, mtn_source *source, const char *path, MPI_Comm comm,
              mtn_stage_report *report);

/* ---------------------------------------------------------------- dataset --- */

typedef struct {
    int32_t cube, region, z, split, y0, x0;
} mtn_tile_info;

typedef struct mtn_dataset mtn_dataset;
/* Opens a complete staged file read-only (serial HDF5: each rank opens its own).
 * The task gives the sample shape (volume_z) and the label mapping; it must match
 * the file's staging key. */
int mtn_dataset_open(const char *path, const mtn_task_config *task, mtn_dataset **out);
void mtn_dataset_free(mtn_dataset *d);
int mtn_dataset_tile_h(const mtn_dataset *d);
int mtn_dataset_tile_w(const mtn_dataset *d);
int mtn_dataset_depth(const mtn_dataset *d); /* volume_z */
const mtn_tile_info *mtn_dataset_tile(const mtn_dataset *d, int64_t tile);

/* Samples of a split: 2D tiles, or sub-volumes of volume_z consecutive slices of one
 * cube and region inside one split (never crossing a region or split boundary; a
 * short tail is dropped). Task 2 4-class leaves ZI out; Task 3 uses every slice. */
int64_t mtn_dataset_count(const mtn_dataset *d, mtn_split split);
/* First tile (row in the file) of sample i. */
int64_t mtn_dataset_sample_tile(const mtn_dataset *d, mtn_split split, int64_t i);

/* Reads n samples of a split: x float (n, 1, [D,] H, W) in [0, 1] (uint8 / 255);
 * y: Task 1 one class per sample (0 CTX, 1 STR, 2 VP, 3 ZI: the class of the mode of
 * its ROI labels; MTN_EDATA for a value outside 0..8);
 * Task 2 one class per pixel (3-class: axons merged into background); Task 3 the
 * pixel label values. y may be NULL. */
int mtn_dataset_read(mtn_dataset *d, mtn_split split, const int64_t *samples, int n, float *x, int32_t *y);

/* Downsampling filters (stage time; see downsample.c for why these). src is (h*ds,
 * w*ds), dst (h, w). */
void mtn_downsample_mean_u8(const uint8_t *src, int h, int w, int ds, uint8_t *dst);
void mtn_downsample_mode_u8(const uint8_t *src, int h, int w, int ds, uint8_t *dst);

/* Task 1: the class of an ROI value (reference-implementation.md §3: 0 clear and
 * 1 cortex are CTX), or -1 for a value outside 0..8. */
int mtn_roi_class(uint64_t roi);

#endif
