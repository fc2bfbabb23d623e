/* stage.c — staging: every rank fetches a disjoint, deterministic share of the fetch
 * blocks (block b goes to rank b mod size), downsamples its tiles, and all ranks
 * write them into one HDF5 file with parallel-HDF5 collective writes, one chunk per
 * tile so each chunk has one writer. A tile's data and checksum are written before
 * its done flag, so a killed run resumes where it stopped; the file is marked
 * complete only after every tile has been read back and verified. A complete file
 * is left alone: no network I/O at all. The content depends only on the task and the
 * source, never on the number of ranks. */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "mtn/h5.h"
#include "mtn/data.h"
#include "mtn/dist.h"
#include "stage_plan.h"

enum { BLOCKS_PER_ROUND = 4, VERIFY_BATCH = 64, FORMAT_VERSION = 1 };

const char *mtn_split_name(mtn_split s) {
    static const char *names[] = {"train", "val", "test", "other"};
    return names[s];
}

typedef struct {
    hid_t file, images, labels, tiles, checksums, done, dxpl;
} staged;

static void staged_close(staged *f) {
    hid_t *ids[] = {&f->images, &f->labels, &f->tiles, &f->checksums, &f->done};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (*ids[i] > 0) H5Dclose(*ids[i]);
    if (f->dxpl > 0) H5Pclose(f->dxpl);
    if (f->file > 0) H5Fclose(f->file);
    memset(f, 0, sizeof *f);
}

/* Collective: true when any rank failed; *agreed then holds the first failure,
 * with its message, on every rank. */
static bool any_failed(int rc, MPI_Comm comm, int *agreed) {
    *agreed = mtn_agree(rc, comm);
    return *agreed != MTN_OK;
}

/* ---- the existing file: absent, same staging (partial or complete), or not ours ---- */

typedef enum { FILE_ABSENT, FILE_PARTIAL, FILE_COMPLETE, FILE_FOREIGN } file_state;

static int inspect(const char *path, const mtn_stage_plan *plan, file_state *state) {
    struct stat st;
    if (stat(path, &st) != 0) {
        *state = FILE_ABSENT;
        return MTN_OK;
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return mtn_error_set(MTN_EIO, "%s exists but is not a readable HDF5 file (killed while being created?); "
                                      "remove it to stage again", path);
    char *format = NULL, *key = NULL;
    int64_t complete = 0;
    int rc = mtn_h5_read_str(f, "format", &format);
    if (!rc) rc = mtn_h5_read_str(f, "staging_key", &key);
    if (!rc) rc = mtn_h5_read_i64(f, "complete", &complete);
    H5Fclose(f);
    if (rc) {
        rc = mtn_error_set(MTN_EIO, "%s exists but is not an mtneuro staged file; choose another -o or remove it", path);
    } else if (strcmp(format, "mtneuro-staged/1") != 0 || strcmp(key, plan->key) != 0) {
        *state = FILE_FOREIGN;
        rc = mtn_error_set(MTN_EIO,
                           "%s was staged for another task, source or downsampling (staging key %s, this one %s); "
                           "choose another -o or remove it", path, key, plan->key);
    } else {
        *state = complete ? FILE_COMPLETE : FILE_PARTIAL;
    }
    free(format);
    free(key);
    return rc;
}

/* ---- creating and opening ---- */

static hid_t create_dataset(hid_t file, const char *name, hid_t type, int rank, const hsize_t *dims,
                            const hsize_t *chunk, bool fill_zero) {
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, rank, chunk);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY); /* no metadata changes after creation */
    if (fill_zero) {
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC);
    } else {
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    }
    hid_t d = H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(space);
    return d;
}

static int write_attributes(hid_t file, const mtn_task_config *task, const mtn_stage_plan *plan,
                            const mtn_source *source) {
    cJSON *tj = mtn_task_to_json(task);
    char *task_json = cJSON_PrintUnformatted(tj);
    cJSON_Delete(tj);
    char cubes[MTN_MAX_CUBES * 9] = "";
    for (int c = 0; c < task->n_cubes; c++) {
        size_t n = strlen(cubes);
        snprintf(cubes + n, sizeof cubes - n, "%s%s", c ? "," : "", task->cubes[c].name);
    }
    int rc = mtn_h5_write_str(file, "format", "mtneuro-staged/1");
    if (!rc) rc = mtn_h5_write_i64(file, "complete", 0);
    if (!rc) rc = mtn_h5_write_str(file, "staging_key", plan->key);
    if (!rc) rc = mtn_h5_write_str(file, "staging_spec", plan->spec);
    if (!rc) rc = mtn_h5_write_str(file, "task", task_json ? task_json : "{}");
    if (!rc) rc = mtn_h5_write_str(file, "source", mtn_source_spec(source));
    if (!rc) rc = mtn_h5_write_str(file, "image_chan", task->image_chan);
    if (!rc) rc = mtn_h5_write_str(file, "annotation_chan", task->annotation_chan);
    if (!rc) rc = mtn_h5_write_i64(file, "resolution", 0);
    if (!rc) rc = mtn_h5_write_i64(file, "downsample", plan->downsample);
    if (!rc) rc = mtn_h5_write_str(file, "image_filter", "mean of each downsample x downsample block, rounded half up");
    if (!rc) rc = mtn_h5_write_str(file, "label_filter", "most frequent value of each block, ties to the smaller");
    if (!rc) rc = mtn_h5_write_i64(file, "tile_h", plan->tile_h);
    if (!rc) rc = mtn_h5_write_i64(file, "tile_w", plan->tile_w);
    if (!rc) rc = mtn_h5_write_i64(file, "n_tiles", plan->n_tiles);
    if (!rc) rc = mtn_h5_write_str(file, "cube_names", cubes);
    if (!rc) rc = mtn_h5_write_str(file, "checksum", "crc32(image) << 32 | crc32(labels), per tile");
    if (!rc) rc = mtn_h5_write_str(file, "mtneuro_version", mtn_version());
    if (!rc) rc = mtn_h5_write_str(file, "git_commit", mtn_git_commit());
    cJSON_free(task_json);
    return rc;
}

static int open_staged(const char *path, bool create, const mtn_task_config *task, const mtn_stage_plan *plan,
                       const mtn_source *source, MPI_Comm comm, staged *f) {
    memset(f, 0, sizeof *f);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    f->file = create ? H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : H5Fopen(path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    if (f->file < 0) return mtn_error_set(MTN_EIO, "%s: cannot %s the staged file", path, create ? "create" : "open");
    f->dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(f->dxpl, H5FD_MPIO_COLLECTIVE);
    int rc = MTN_OK;
    if (create) {
        hsize_t n = (hsize_t)plan->n_tiles;
        hsize_t img[3] = {n, (hsize_t)plan->tile_h, (hsize_t)plan->tile_w};
        hsize_t img_chunk[3] = {1, (hsize_t)plan->tile_h, (hsize_t)plan->tile_w};
        hsize_t tiles[2] = {n, 6}, tiles_chunk[2] = {n, 6};
        hsize_t vec[1] = {n}, vec_chunk[1] = {n < 65536 ? n : 65536};
        f->images = create_dataset(f->file, "images", H5T_NATIVE_UINT8, 3, img, img_chunk, false);
        f->labels = create_dataset(f->file, "labels", H5T_NATIVE_UINT8, 3, img, img_chunk, false);
        f->tiles = create_dataset(f->file, "tiles", H5T_NATIVE_INT32, 2, tiles, tiles_chunk, true);
        f->checksums = create_dataset(f->file, "checksums", H5T_NATIVE_UINT64, 1, vec, vec_chunk, true);
        f->done = create_dataset(f->file, "done", H5T_NATIVE_UINT8, 1, vec, vec_chunk, true);
        if (f->images < 0 || f->labels < 0 || f->tiles < 0 || f->checksums < 0 || f->done < 0)
            return mtn_error_set(MTN_EIO, "%s: cannot create the staged datasets", path);
        rc = write_attributes(f->file, task, plan, source);
        if (rc) return rc;
        /* the tile table, written by rank 0 in one collective call */
        int rank;
        MPI_Comm_rank(comm, &rank);
        hid_t fs = H5Dget_space(f->tiles);
        hid_t ms = H5Screate_simple(2, tiles, NULL);
        if (rank != 0) {
            H5Sselect_none(fs);
            H5Sselect_none(ms);
        }
        herr_t w = H5Dwrite(f->tiles, H5T_NATIVE_INT32, ms, fs, f->dxpl, plan->tiles);
        H5Sclose(ms);
        H5Sclose(fs);
        if (w < 0) return mtn_error_set(MTN_EIO, "%s: cannot write the tile table", path);
        /* HDF5 keeps new metadata in memory until a flush: put it on disk now, so a run
         * killed from here on leaves a file that opens and resumes */
        if (H5Fflush(f->file, H5F_SCOPE_GLOBAL) < 0) return mtn_error_set(MTN_EIO, "%s: cannot flush", path);
    } else {
        f->images = H5Dopen2(f->file, "images", H5P_DEFAULT);
        f->labels = H5Dopen2(f->file, "labels", H5P_DEFAULT);
        f->tiles = H5Dopen2(f->file, "tiles", H5P_DEFAULT);
        f->checksums = H5Dopen2(f->file, "checksums", H5P_DEFAULT);
        f->done = H5Dopen2(f->file, "done", H5P_DEFAULT);
        if (f->images < 0 || f->labels < 0 || f->tiles < 0 || f->checksums < 0 || f->done < 0)
            return mtn_error_set(MTN_EIO, "%s: a staged dataset is missing; remove the file to stage again", path);
    }
    return MTN_OK;
}

/* Reads a whole 1-D dataset on every rank. */
static int read_vector(hid_t d, hid_t type, void *out, const char *path, const char *what) {
    if (H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
        return mtn_error_set(MTN_EIO, "%s: cannot read /%s", path, what);
    return MTN_OK;
}

/* ---- one round: fetch a few blocks, downsample, write collectively ---- */

typedef struct {
    const mtn_task_config *task;
    const mtn_stage_plan *plan;
    mtn_source *source;
    mtn_bossdb_channel image_ch, label_ch;
    mtn_bossdb_uri image_uri, label_uri;
    uint8_t *raw_image;       /* BLOCKS_PER_ROUND blocks of up to 16 full-resolution slices */
    unsigned char *raw_label; /* the same, in the label channel's dtype */
    uint8_t *label_u8;        /* one full-resolution label slice as uint8 */
    uint8_t *out_image, *out_label; /* the round's tiles, downsampled, in tile order */
    uint64_t *sums;
    hsize_t *rows;            /* tile index of each output tile */
    uint8_t *ones;
    mtn_fetch_stats stats;
    int64_t tiles_written;
} round_ctx;

/* Converts a label slice to uint8, refusing values that do not fit. */
static int labels_to_u8(const unsigned char *src, mtn_dtype dtype, size_t n, uint8_t *dst, const char *uri) {
    size_t es = mtn_dtype_size(dtype);
    for (size_t i = 0; i < n; i++) {
        uint64_t v = 0;
        memcpy(&v, src + i * es, es); /* little-endian host */
        if (v > 255)
            return mtn_error_set(MTN_EDATA, "%s: label value %llu does not fit the staged uint8 labels", uri,
                                 (unsigned long long)v);
        dst[i] = (uint8_t)v;
    }
    return MTN_OK;
}

static int fetch_blocks(round_ctx *r, const int64_t *blocks, int nb, int64_t *n_out) {
    const mtn_stage_plan *p = r->plan;
    size_t slice = (size_t)p->tile_h0 * (size_t)p->tile_w0;
    size_t label_es = mtn_dtype_size(r->label_ch.dtype);
    mtn_cutout_request reqs[2 * BLOCKS_PER_ROUND];
    for (int i = 0; i < nb; i++) {
        const mtn_stage_block *b = &p->blocks[blocks[i]];
        size_t off = (size_t)i * MTN_STAGE_BLOCK_Z * slice;
        reqs[2 * i] = (mtn_cutout_request){r->image_uri, r->image_ch.dtype, 0, b->box, r->raw_image + off};
        reqs[2 * i + 1] = (mtn_cutout_request){r->label_uri, r->label_ch.dtype, 0, b->box, r->raw_label + off * label_es};
    }
    int rc = mtn_source_fetch(r->source, reqs, 2 * nb, &r->stats);
    if (rc) return rc;
    int64_t n = 0;
    size_t tile_bytes = (size_t)p->tile_h * (size_t)p->tile_w;
    for (int i = 0; i < nb; i++) {
        const mtn_stage_block *b = &p->blocks[blocks[i]];
        for (int64_t k = 0; k < b->n_tiles; k++, n++) {
            size_t off = ((size_t)i * MTN_STAGE_BLOCK_Z + (size_t)k) * slice;
            rc = labels_to_u8(r->raw_label + off * label_es, r->label_ch.dtype, slice, r->label_u8, r->task->annotation_chan);
            if (rc) return rc;
            uint8_t *img = r->out_image + (size_t)n * tile_bytes, *lab = r->out_label + (size_t)n * tile_bytes;
            mtn_downsample_mean_u8(r->raw_image + off, p->tile_h, p->tile_w, p->downsample, img);
            mtn_downsample_mode_u8(r->label_u8, p->tile_h, p->tile_w, p->downsample, lab);
            r->sums[n] = mtn_tile_checksum(img, lab, tile_bytes);
            r->rows[n] = (hsize_t)(b->first_tile + k);
        }
    }
    *n_out = n;
    return MTN_OK;
}

/* Collective: writes n tiles (rows) of this rank; n may be 0. */
static int write_tiles(staged *f, round_ctx *r, int64_t n, const char *path) {
    const mtn_stage_plan *p = r->plan;
    hsize_t count[3] = {1, (hsize_t)p->tile_h, (hsize_t)p->tile_w};
    hid_t fs = H5Dget_space(f->images);
    H5Sselect_none(fs);
    for (int64_t i = 0; i < n; i++) {
        hsize_t start[3] = {r->rows[i], 0, 0};
        H5Sselect_hyperslab(fs, H5S_SELECT_OR, start, NULL, count, NULL);
    }
    hsize_t mdims[1] = {(hsize_t)(n > 0 ? n : 1) * count[1] * count[2]};
    hid_t ms = H5Screate_simple(1, mdims, NULL);
    if (n == 0) H5Sselect_none(ms);
    herr_t w = H5Dwrite(f->images, H5T_NATIVE_UINT8, ms, fs, f->dxpl, r->out_image);
    if (w >= 0) w = H5Dwrite(f->labels, H5T_NATIVE_UINT8, ms, fs, f->dxpl, r->out_label);
    H5Sclose(ms);
    H5Sclose(fs);
    /* checksums, then done flags: a tile counts as done only once its data is on disk */
    hid_t vs = H5Dget_space(f->checksums);
    if (n > 0) H5Sselect_elements(vs, H5S_SELECT_SET, (size_t)n, r->rows);
    else H5Sselect_none(vs);
    hsize_t vdims[1] = {(hsize_t)(n > 0 ? n : 1)};
    hid_t vm = H5Screate_simple(1, vdims, NULL);
    if (n == 0) H5Sselect_none(vm);
    if (w >= 0) w = H5Dwrite(f->checksums, H5T_NATIVE_UINT64, vm, vs, f->dxpl, r->sums);
    if (w >= 0) w = H5Dwrite(f->done, H5T_NATIVE_UINT8, vm, vs, f->dxpl, r->ones);
    H5Sclose(vm);
    H5Sclose(vs);
    if (w < 0) return mtn_error_set(MTN_EIO, "%s: writing tiles failed", path);
    r->tiles_written += n;
    return MTN_OK;
}

/* ---- verification: every tile read back and checked against its checksum ---- */

static int verify(staged *f, const mtn_stage_plan *p, const uint8_t *done, const uint64_t *sums, int rank,
                  int size, uint8_t *bad, int64_t *n_bad, const char *path) {
    size_t tile_bytes = (size_t)p->tile_h * (size_t)p->tile_w;
    uint8_t *img = malloc(VERIFY_BATCH * tile_bytes), *lab = malloc(VERIFY_BATCH * tile_bytes);
    if (!img || !lab) {
        free(img);
        free(lab);
        return mtn_error_set(MTN_ENOMEM, "out of memory verifying %s", path);
    }
    int rc = MTN_OK;
    *n_bad = 0;
    /* this rank checks a contiguous share, read in batches of rows */
    int64_t per = (p->n_tiles + size - 1) / size, lo = rank * per, hi = lo + per < p->n_tiles ? lo + per : p->n_tiles;
    for (int64_t s = lo; s < hi && !rc; s += VERIFY_BATCH) {
        int64_t m = hi - s < VERIFY_BATCH ? hi - s : VERIFY_BATCH;
        hsize_t start[3] = {(hsize_t)s, 0, 0}, count[3] = {(hsize_t)m, (hsize_t)p->tile_h, (hsize_t)p->tile_w};
        hid_t fs = H5Dget_space(f->images);
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
        hid_t ms = H5Screate_simple(3, count, NULL);
        if (H5Dread(f->images, H5T_NATIVE_UINT8, ms, fs, H5P_DEFAULT, img) < 0 ||
            H5Dread(f->labels, H5T_NATIVE_UINT8, ms, fs, H5P_DEFAULT, lab) < 0)
            rc = mtn_error_set(MTN_EIO, "%s: cannot read tiles back for verification", path);
        H5Sclose(ms);
        H5Sclose(fs);
        for (int64_t i = 0; i < m && !rc; i++) {
            int64_t t = s + i;
            if (!done[t] || mtn_tile_checksum(img + (size_t)i * tile_bytes, lab + (size_t)i * tile_bytes, tile_bytes) != sums[t]) {
                bad[t] = 1;
                (*n_bad)++;
            }
        }
    }
    free(img);
    free(lab);
    return rc;
}

/* ---- the whole staging ---- */

/* Fetches and writes this rank's blocks that are not all done, marking them in
 * fetched (per block). */
static int stage_into(staged *f, round_ctx *r, uint8_t *done, int rank, int size, MPI_Comm comm, const char *path,
                      mtn_progress *prog, uint8_t *fetched) {
    const mtn_stage_plan *p = r->plan;
    int agreed = MTN_OK;
    /* this rank's pending blocks */
    int64_t *mine = malloc(sizeof(int64_t) * (size_t)(p->n_blocks / size + 1));
    if (!mine) return mtn_error_set(MTN_ENOMEM, "out of memory");
    int64_t n_mine = 0, skipped = 0;
    for (int64_t b = rank; b < p->n_blocks; b += size) {
        const mtn_stage_block *blk = &p->blocks[b];
        bool pending = false;
        for (int64_t k = 0; k < blk->n_tiles; k++) pending |= !done[blk->first_tile + k];
        if (pending) mine[n_mine++] = b;
        else skipped += blk->n_tiles;
        fetched[b] |= pending;
    }
    int64_t total_done = 0; /* the progress starts from the tiles already there */
    MPI_Allreduce(&skipped, &total_done, 1, MPI_INT64_T, MPI_SUM, comm);
    int64_t my_rounds = (n_mine + BLOCKS_PER_ROUND - 1) / BLOCKS_PER_ROUND, rounds = 0;
    MPI_Allreduce(&my_rounds, &rounds, 1, MPI_INT64_T, MPI_MAX, comm);
    for (int64_t round = 0; round < rounds; round++) {
        int64_t first = round * BLOCKS_PER_ROUND;
        int nb = (int)(first >= n_mine ? 0 : (n_mine - first < BLOCKS_PER_ROUND ? n_mine - first : BLOCKS_PER_ROUND));
        int64_t n = 0;
        int rc = nb ? fetch_blocks(r, mine + first, nb, &n) : MTN_OK;
        if (any_failed(rc, comm, &agreed)) break;
        rc = write_tiles(f, r, n, path);
        if (any_failed(rc, comm, &agreed)) break;
        int64_t written = 0;
        MPI_Allreduce(&n, &written, 1, MPI_INT64_T, MPI_SUM, comm);
        total_done += written;
        mtn_progress_update(prog, total_done, NULL);
    }
    free(mine);
    return agreed;
}

int mtn_stage(const mtn_task_config *task, mtn_source *source, const char *path, MPI_Comm comm,
              mtn_stage_report *report) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    memset(report, 0, sizeof *report);
    double t0 = MPI_Wtime();
    mtn_h5_quiet();
    mtn_stage_plan plan;
    int rc = mtn_stage_plan_build(task, mtn_source_spec(source), &plan);
    if (rc) return rc; /* the same on every rank */
    report->tiles_total = plan.n_tiles;

    /* rank 0 looks at what is there; everyone learns the verdict */
    file_state state = FILE_ABSENT;
    int agreed = MTN_OK;
    if (rank == 0) rc = inspect(path, &plan, &state);
    int st = (int)state;
    MPI_Bcast(&st, 1, MPI_INT, 0, comm);
    state = (file_state)st;
    if (any_failed(rc, comm, &agreed)) {
        mtn_stage_plan_free(&plan);
        return agreed;
    }
    if (state == FILE_COMPLETE) {
        report->was_complete = true;
        report->tiles_skipped = plan.n_tiles;
        report->seconds = MPI_Wtime() - t0;
        mtn_stage_plan_free(&plan);
        return MTN_OK;
    }

    round_ctx r;
    memset(&r, 0, sizeof r);
    r.task = task;
    r.plan = &plan;
    r.source = source;
    rc = mtn_bossdb_parse_uri(task->image_chan, &r.image_uri);
    if (!rc) rc = mtn_bossdb_parse_uri(task->annotation_chan, &r.label_uri);
    if (!rc) rc = mtn_source_channel(source, task->image_chan, &r.image_ch);
    if (!rc) rc = mtn_source_channel(source, task->annotation_chan, &r.label_ch);
    if (!rc && r.image_ch.dtype != MTN_DTYPE_UINT8)
        rc = mtn_error_set(MTN_EDATA, "%s: expected a uint8 image channel, found %s", task->image_chan,
                           mtn_dtype_name(r.image_ch.dtype));
    size_t slice = (size_t)plan.tile_h0 * (size_t)plan.tile_w0;
    size_t tile_bytes = (size_t)plan.tile_h * (size_t)plan.tile_w;
    size_t round_tiles = (size_t)BLOCKS_PER_ROUND * MTN_STAGE_BLOCK_Z;
    if (!rc) {
        r.raw_image = malloc(round_tiles * slice);
        r.raw_label = malloc(round_tiles * slice * mtn_dtype_size(r.label_ch.dtype));
        r.label_u8 = malloc(slice);
        r.out_image = malloc(round_tiles * tile_bytes);
        r.out_label = malloc(round_tiles * tile_bytes);
        r.sums = malloc(round_tiles * sizeof *r.sums);
        r.rows = malloc(round_tiles * sizeof *r.rows);
        r.ones = malloc(round_tiles);
        if (!r.raw_image || !r.raw_label || !r.label_u8 || !r.out_image || !r.out_label || !r.sums || !r.rows || !r.ones)
            rc = mtn_error_set(MTN_ENOMEM, "out of memory for staging buffers");
        else memset(r.ones, 1, round_tiles);
    }
    uint8_t *done = malloc((size_t)plan.n_tiles), *bad = calloc((size_t)plan.n_tiles, 1);
    uint8_t *fetched = calloc((size_t)plan.n_blocks, 1); /* blocks this run fetched (this rank's) */
    uint64_t *sums = malloc((size_t)plan.n_tiles * sizeof *sums);
    if (!rc && (!done || !bad || !fetched || !sums)) rc = mtn_error_set(MTN_ENOMEM, "out of memory for %lld tiles", (long long)plan.n_tiles);
    staged f;
    memset(&f, 0, sizeof f);
    if (!any_failed(rc, comm, &agreed)) {
        rc = open_staged(path, state == FILE_ABSENT, task, &plan, source, comm, &f);
        if (!any_failed(rc, comm, &agreed)) {
            mtn_progress prog;
            mtn_progress_begin(&prog, "stage", plan.n_tiles, NULL);
            for (int attempt = 0; attempt < 2 && agreed == MTN_OK; attempt++) {
                rc = read_vector(f.done, H5T_NATIVE_UINT8, done, path, "done");
                if (any_failed(rc, comm, &agreed)) break;
                for (int64_t t = 0; t < plan.n_tiles; t++) done[t] = done[t] && !bad[t];
                agreed = stage_into(&f, &r, done, rank, size, comm, path, &prog, fetched);
                if (agreed) break;
                rc = read_vector(f.done, H5T_NATIVE_UINT8, done, path, "done");
                if (!rc) rc = read_vector(f.checksums, H5T_NATIVE_UINT64, sums, path, "checksums");
                memset(bad, 0, (size_t)plan.n_tiles);
                int64_t my_bad = 0, n_bad = 0;
                if (!rc) rc = verify(&f, &plan, done, sums, rank, size, bad, &my_bad, path);
                if (any_failed(rc, comm, &agreed)) break;
                MPI_Allreduce(MPI_IN_PLACE, bad, (int)plan.n_tiles, MPI_UINT8_T, MPI_MAX, comm);
                MPI_Allreduce(&my_bad, &n_bad, 1, MPI_INT64_T, MPI_SUM, comm);
                if (n_bad == 0) {
                    rc = mtn_h5_write_i64(f.file, "complete", 1);
                    any_failed(rc, comm, &agreed);
                    break;
                }
                if (rank == 0) MTN_WARN("%s: %lld tiles failed verification; fetching them again", path, (long long)n_bad);
                if (attempt == 1)
                    agreed = mtn_error_set(MTN_EIO, "%s: %lld tiles still fail verification after fetching them again",
                                           path, (long long)n_bad);
            }
            mtn_progress_end(&prog, NULL);
        }
    }
    staged_close(&f);
    /* already there: the tiles of blocks no attempt fetched (a block fetched again
     * after a failed verification is not) */
    int64_t untouched = 0;
    for (int64_t b = rank; fetched && b < plan.n_blocks; b += size)
        if (!fetched[b]) untouched += plan.blocks[b].n_tiles;
    int64_t local[5] = {r.tiles_written, r.stats.bytes_decoded, r.stats.requests, r.stats.retries, untouched}, global[5];
    MPI_Allreduce(local, global, 5, MPI_INT64_T, MPI_SUM, comm);
    report->tiles_fetched = global[0];
    report->tiles_skipped = global[4];
    report->bytes_fetched = global[1];
    report->requests = global[2];
    report->retries = global[3];
    report->bytes_written = global[0] * (int64_t)tile_bytes * 2;
    report->seconds = MPI_Wtime() - t0;
    free(r.raw_image);
    free(r.raw_label);
    free(r.label_u8);
    free(r.out_image);
    free(r.out_label);
    free(r.sums);
    free(r.rows);
    free(r.ones);
    free(done);
    free(bad);
    free(fetched);
    free(sums);
    mtn_stage_plan_free(&plan);
    return agreed;
}
