/* test_phantom.c — the phantom volume (issue 3): determinism (sub-boxes equal crops
 * of larger boxes, bit for bit, at every resolution, also from threads), the region
 * map over every cube of the paper's tables A1-A2, per-region class proportions
 * against the paper, cell counts / footprints / spacing against the real label crops,
 * that the image is not trivially classifiable (Task 1 on mean and std; Task 2 by
 * intensity thresholds), resolutions and bad requests. (Its speed is no test here:
 * tests/ref/stage_bench.sh times the whole staging pipeline.)
 *
 * Statistics sample slices rather than whole cubes to keep the run short: 8 slices
 * (z = 132, 177, ..., 447) of each of the 4 cubes A-D per region, i.e. 32 slices of
 * 256 x 256 per region, for proportions and cells; 40 training slices (spread over
 * z 110-378) and 25 test slices (z 420, 422, ..., 468) of cube A for the two
 * classifier bounds. Every measured number is printed to stderr. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mtn/eval.h"
#include "mtn/phantom.h"

enum { TILE = 256, NREGIONS = 4, NCUBES = 4 };

typedef struct {
    const char *name;
    int roi;
    int64_t x0[NCUBES], y0[NCUBES]; /* cubes A, B, C, D (tables A1-A2), 256 wide */
} cube_set;

static const cube_set regions[NREGIONS] = {
    {"CTX", MTN_ROI_CORTEX, {4600, 5312, 5056, 4600}, {900, 388, 644, 400}},
    {"STR", MTN_ROI_STRIATUM, {3700, 3828, 3344, 3800}, {500, 912, 400, 244}},
    {"VP", MTN_ROI_VP, {3063, 2551, 2151, 2295}, {850, 850, 950, 694}},
    {"ZI", MTN_ROI_ZI, {1543, 1287, 1031, 1799}, {650, 906, 906, 650}},
};

/* Paper appendix 4.2.3, percent: background, vessel, cell, axon. */
static const double paper_pct[NREGIONS][4] = {
    {93.0, 2.33, 4.64, 0.0}, {72.63, 2.5, 5.66, 19.22}, {22.75, 4.73, 5.73, 66.8}, {32.15, 5.4, 9.41, 53.04}};
/* Real label crops (reference/mtneuro-data/README.md): cells per 128 x 128 slice,
 * footprint px, NN distance px; VP has no crop, TRN is its proxy. */
static const double crop_cells[NREGIONS] = {12.5, 11.4, 7.3, 14.2};
static const double crop_footprint[NREGIONS] = {34.5, 46.2, 54.2, 64.0};
static const double crop_nn[NREGIONS] = {23.0, 23.6, 30.2, 22.2};

static mtn_box cube_box(int region, int cube, int64_t z0, int64_t z1) {
    mtn_box b = {regions[region].x0[cube], regions[region].x0[cube] + TILE, regions[region].y0[cube],
                 regions[region].y0[cube] + TILE, z0, z1};
    return b;
}

/* A cutout as one byte per voxel (labels narrowed; they are all < 256). */
static uint8_t *cutout_bytes(mtn_phantom_channel ch, int res, const mtn_box *b) {
    int64_t n;
    if (!mtn_box_voxels(b, &n)) return NULL;
    size_t bytes = (size_t)n * (size_t)mtn_phantom_dtype_size(ch);
    void *raw = malloc(bytes);
    uint8_t *out = malloc((size_t)n);
    if (!raw || !out || mtn_phantom_cutout(ch, res, b, raw) != MTN_OK) {
        fprintf(stderr, "cutout failed: %s\n", mtn_error_message());
        free(raw);
        free(out);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) {
        if (ch == MTN_PHANTOM_IMAGE) {
            out[i] = ((uint8_t *)raw)[i];
        } else {
            uint64_t v = ((uint64_t *)raw)[i];
            out[i] = v < 256 ? (uint8_t)v : 255;
        }
    }
    free(raw);
    return out;
}

/* ------------------------------------------------------------ samples --- */

/* Pixel labels of 8 slices of every cube of every region; image and pixel labels of
 * cube A's training and test slices (each set computed once, freed at exit). */
enum { LABEL_SLICES = 8 };
enum { TRAIN_SLICES = 40, TEST_SLICES = 25, TASK_SLICES = TRAIN_SLICES + TEST_SLICES };
static uint8_t *label_samples[NREGIONS][NCUBES][LABEL_SLICES];
static uint8_t *task_images[NREGIONS][TASK_SLICES], *task_labels[NREGIONS][TASK_SLICES];

static void free_samples(void) {
    for (int r = 0; r < NREGIONS; r++) {
        for (int c = 0; c < NCUBES; c++)
            for (int s = 0; s < LABEL_SLICES; s++) {
                free(label_samples[r][c][s]);
                label_samples[r][c][s] = NULL;
            }
        for (int s = 0; s < TASK_SLICES; s++) {
            free(task_images[r][s]);
            free(task_labels[r][s]);
            task_images[r][s] = task_labels[r][s] = NULL;
        }
    }
}

/* Called by each load: frees the samples at exit (not in a test case of its own). */
static void free_samples_at_exit(void) {
    static bool registered = false;
    if (!registered) atexit(free_samples);
    registered = true;
}

static int64_t label_sample_z(int s) { return 132 + 45 * (int64_t)s; }

static bool load_label_samples(void) {
    if (label_samples[0][0][0]) return true;
    free_samples_at_exit();
    for (int r = 0; r < NREGIONS; r++)
        for (int c = 0; c < NCUBES; c++)
            for (int s = 0; s < LABEL_SLICES; s++) {
                mtn_box b = cube_box(r, c, label_sample_z(s), label_sample_z(s) + 1);
                label_samples[r][c][s] = cutout_bytes(MTN_PHANTOM_PIXEL_LABELS, 0, &b);
                if (!label_samples[r][c][s]) return false;
            }
    return true;
}

static int64_t task_slice_z(int s) {
    return s < TRAIN_SLICES ? 110 + (int64_t)s * 269 / TRAIN_SLICES : 420 + 2 * (int64_t)(s - TRAIN_SLICES);
}

static bool load_task_samples(void) {
    if (task_images[0][0]) return true;
    free_samples_at_exit();
    for (int r = 0; r < NREGIONS; r++)
        for (int s = 0; s < TASK_SLICES; s++) {
            mtn_box b = cube_box(r, 0, task_slice_z(s), task_slice_z(s) + 1);
            task_images[r][s] = cutout_bytes(MTN_PHANTOM_IMAGE, 0, &b);
            task_labels[r][s] = cutout_bytes(MTN_PHANTOM_PIXEL_LABELS, 0, &b);
            if (!task_images[r][s] || !task_labels[r][s]) return false;
        }
    return true;
}

/* ------------------------------------------------- bad requests, dtypes --- */

static void expect_bad_box(int res, mtn_box b, const char *what) {
    uint64_t out[64];
    mtn_error_clear();
    int rc = mtn_phantom_cutout(MTN_PHANTOM_PIXEL_LABELS, res, &b, out);
    CU_ASSERT_EQUAL(rc, MTN_EDATA);
    if (rc != MTN_EDATA) fprintf(stderr, "expected MTN_EDATA for %s, got %d\n", what, rc);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), what));
}

static void test_bad_requests(void) {
    CU_ASSERT_EQUAL(mtn_phantom_dtype_size(MTN_PHANTOM_IMAGE), 1);
    CU_ASSERT_EQUAL(mtn_phantom_dtype_size(MTN_PHANTOM_PIXEL_LABELS), 8);
    CU_ASSERT_EQUAL(mtn_phantom_dtype_size(MTN_PHANTOM_ROI_LABELS), 8);
    mtn_box ok = {100, 104, 100, 104, 100, 102};
    uint64_t out[64];
    CU_ASSERT_EQUAL(mtn_phantom_cutout(MTN_PHANTOM_ROI_LABELS, 0, &ok, out), MTN_OK);
    CU_ASSERT_EQUAL(mtn_phantom_cutout(MTN_PHANTOM_ROI_LABELS, -1, &ok, out), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "resolution -1"));
    CU_ASSERT_EQUAL(mtn_phantom_cutout(MTN_PHANTOM_ROI_LABELS, MTN_PHANTOM_LEVELS, &ok, out), MTN_EDATA);
    CU_ASSERT_EQUAL(mtn_phantom_cutout((mtn_phantom_channel)7, 0, &ok, out), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "channel 7"));
    expect_bad_box(0, (mtn_box){5800, 5806, 0, 4, 0, 2}, "outside the frame at resolution 0 (x [0, 5805)");
    expect_bad_box(0, (mtn_box){0, 4, 1418, 1421, 0, 2}, "y [1418, 1421)");
    expect_bad_box(0, (mtn_box){0, 4, 0, 4, 719, 721}, "z [719, 721)");
    expect_bad_box(0, (mtn_box){-1, 3, 0, 4, 0, 2}, "x [-1, 3)");
    expect_bad_box(0, (mtn_box){10, 10, 0, 4, 0, 2}, "empty or outside");
    expect_bad_box(0, (mtn_box){10, 12, 5, 4, 0, 2}, "empty or outside");
    expect_bad_box(1, (mtn_box){2900, 2903, 0, 4, 0, 2}, "at resolution 1 (x [0, 2902), y [0, 710)");
    expect_bad_box(3, (mtn_box){0, 4, 175, 178, 0, 2}, "at resolution 3 (x [0, 725), y [0, 177)");
    /* the last voxel of each resolution is fine */
    for (int res = 0; res < MTN_PHANTOM_LEVELS; res++) {
        mtn_box corner = {(5805 >> res) - 2, 5805 >> res, (1420 >> res) - 2, 1420 >> res, 718, 720};
        CU_ASSERT_EQUAL(mtn_phantom_cutout(MTN_PHANTOM_PIXEL_LABELS, res, &corner, out), MTN_OK);
    }
}

/* ------------------------------------------------------- determinism --- */

/* Compares the crop `small` of `big` (both cutouts of channel ch at res) byte for byte. */
static bool crop_matches(mtn_phantom_channel ch, int res, const mtn_box *big, const mtn_box *small) {
    uint8_t *a = cutout_bytes(ch, res, big), *b = cutout_bytes(ch, res, small);
    bool same = a && b;
    int64_t bnx = mtn_box_nx(big), bny = mtn_box_ny(big);
    int64_t snx = mtn_box_nx(small), sny = mtn_box_ny(small);
    for (int64_t z = small->z0; same && z < small->z1; z++)
        for (int64_t y = small->y0; same && y < small->y1; y++)
            for (int64_t x = small->x0; same && x < small->x1; x++)
                same = a[((z - big->z0) * bny + (y - big->y0)) * bnx + (x - big->x0)] ==
                       b[((z - small->z0) * sny + (y - small->y0)) * snx + (x - small->x0)];
    free(a);
    free(b);
    return same;
}

static void test_sub_boxes_equal_crops(void) {
    /* Across the VP / striatum boundary and the internal capsule, with cells. */
    mtn_box big = {3250, 3420, 610, 740, 200, 206};
    mtn_box subs[] = {{3301, 3377, 633, 690, 202, 205}, {3250, 3251, 610, 611, 200, 201},
                      {3419, 3420, 739, 740, 205, 206}, {3333, 3334, 700, 701, 203, 204},
                      {3260, 3420, 680, 683, 201, 202}};
    for (int ch = 0; ch < MTN_PHANTOM_NCHANNELS; ch++)
        for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
            bool same = crop_matches((mtn_phantom_channel)ch, 0, &big, &subs[i]);
            CU_ASSERT(same);
            if (!same) fprintf(stderr, "channel %d: sub-box %zu differs from the crop\n", ch, i);
        }
    /* Coarser resolutions: the same boxes halved / quartered. */
    for (int res = 1; res < MTN_PHANTOM_LEVELS; res++) {
        mtn_box big_r = {3250 >> res, 3420 >> res, 610 >> res, 740 >> res, 200, 203};
        mtn_box sub_r = {(3301 >> res) + 1, (3377 >> res) - 1, (633 >> res) + 1, (690 >> res), 201, 203};
        for (int ch = 0; ch < MTN_PHANTOM_NCHANNELS; ch++) {
            bool same = crop_matches((mtn_phantom_channel)ch, res, &big_r, &sub_r);
            CU_ASSERT(same);
            if (!same) fprintf(stderr, "res %d channel %d: sub-box differs from the crop\n", res, ch);
        }
    }
}

static void test_roi_at_matches_roi_labels(void) {
    mtn_box b = {3200, 3460, 560, 720, 300, 302};
    uint8_t *roi = cutout_bytes(MTN_PHANTOM_ROI_LABELS, 0, &b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(roi);
    int64_t mismatches = 0, nx = mtn_box_nx(&b), ny = mtn_box_ny(&b);
    bool seen[MTN_ROI_COUNT] = {false};
    for (int64_t z = b.z0; z < b.z1; z++)
        for (int64_t y = b.y0; y < b.y1; y++)
            for (int64_t x = b.x0; x < b.x1; x++) {
                uint8_t v = roi[((z - b.z0) * ny + (y - b.y0)) * nx + (x - b.x0)];
                seen[v] = true;
                if (mtn_phantom_roi_at(z, y, x) != v) mismatches++;
            }
    CU_ASSERT_EQUAL(mismatches, 0);
    /* the box spans the internal capsule, VP and striatum */
    CU_ASSERT(seen[MTN_ROI_INTERNAL_CAPSULE] && seen[MTN_ROI_VP] && seen[MTN_ROI_STRIATUM]);
    free(roi);
}

typedef struct {
    mtn_box box;
    uint8_t *image;
} thread_job;

static void *cutout_thread(void *arg) {
    thread_job *job = arg;
    job->image = cutout_bytes(MTN_PHANTOM_IMAGE, 0, &job->box);
    return NULL;
}

static void test_threads_agree(void) {
    thread_job jobs[3];
    pthread_t threads[3];
    for (int t = 0; t < 3; t++) {
        jobs[t].box = (mtn_box){1500, 1628, 700, 828, 300, 304};
        jobs[t].image = NULL;
        CU_ASSERT_EQUAL_FATAL(pthread_create(&threads[t], NULL, cutout_thread, &jobs[t]), 0);
    }
    for (int t = 0; t < 3; t++) pthread_join(threads[t], NULL);
    uint8_t *serial = cutout_bytes(MTN_PHANTOM_IMAGE, 0, &jobs[0].box);
    CU_ASSERT_PTR_NOT_NULL_FATAL(serial);
    for (int t = 0; t < 3; t++) {
        CU_ASSERT_PTR_NOT_NULL(jobs[t].image);
        if (jobs[t].image) CU_ASSERT(memcmp(jobs[t].image, serial, 128 * 128 * 4) == 0);
        free(jobs[t].image);
    }
    free(serial);
}

/* --------------------------------------------------------- resolutions --- */

static void test_resolutions_reduce_blocks(void) {
    mtn_box full = {2000, 2064, 640, 688, 250, 252}; /* VP / IC boundary: mixed labels */
    uint8_t *base[MTN_PHANTOM_NCHANNELS];
    for (int ch = 0; ch < MTN_PHANTOM_NCHANNELS; ch++) {
        base[ch] = cutout_bytes((mtn_phantom_channel)ch, 0, &full);
        CU_ASSERT_PTR_NOT_NULL_FATAL(base[ch]);
    }
    for (int res = 1; res <= 2; res++) {
        int64_t side = INT64_C(1) << res;
        mtn_box b = {full.x0 >> res, full.x1 >> res, full.y0 >> res, full.y1 >> res, full.z0, full.z1};
        for (int ch = 0; ch < MTN_PHANTOM_NCHANNELS; ch++) {
            uint8_t *got = cutout_bytes((mtn_phantom_channel)ch, res, &b);
            CU_ASSERT_PTR_NOT_NULL_FATAL(got);
            int64_t bad = 0, nx = mtn_box_nx(&b), ny = mtn_box_ny(&b), fnx = mtn_box_nx(&full);
            for (int64_t z = 0; z < mtn_box_nz(&b); z++)
                for (int64_t y = 0; y < ny; y++)
                    for (int64_t x = 0; x < nx; x++) {
                        unsigned sum = 0, counts[256] = {0};
                        for (int64_t j = 0; j < side; j++)
                            for (int64_t i = 0; i < side; i++) {
                                uint8_t v = base[ch][(z * (ny * side) + y * side + j) * fnx + x * side + i];
                                sum += v;
                                counts[v]++;
                            }
                        unsigned n = (unsigned)(side * side), expect = 0;
                        if (ch == MTN_PHANTOM_IMAGE) {
                            expect = (sum + n / 2) / n;
                        } else {
                            for (unsigned v = 1; v < 256; v++)
                                if (counts[v] > counts[expect]) expect = v;
                        }
                        if (got[(z * ny + y) * nx + x] != expect) bad++;
                    }
            CU_ASSERT_EQUAL(bad, 0);
            if (bad) fprintf(stderr, "res %d channel %d: %lld voxels differ from the block reduction\n", res, ch,
                             (long long)bad);
            free(got);
        }
    }
    for (int ch = 0; ch < MTN_PHANTOM_NCHANNELS; ch++) free(base[ch]);
}

/* --------------------------------------------------------- region map --- */

static void test_every_cube_inside_its_region(void) {
    enum { SLAB = 8 };
    int64_t n = (int64_t)TILE * TILE * SLAB;
    uint64_t *roi = malloc((size_t)n * sizeof *roi);
    CU_ASSERT_PTR_NOT_NULL_FATAL(roi);
    for (int r = 0; r < NREGIONS; r++) {
        for (int c = 0; c < NCUBES; c++) {
            int64_t wrong = 0;
            for (int64_t z = 110; z < 470; z += SLAB) {
                mtn_box b = cube_box(r, c, z, z + SLAB);
                CU_ASSERT_EQUAL_FATAL(mtn_phantom_cutout(MTN_PHANTOM_ROI_LABELS, 0, &b, roi), MTN_OK);
                for (int64_t i = 0; i < n; i++) wrong += roi[i] != (uint64_t)regions[r].roi;
            }
            CU_ASSERT_EQUAL(wrong, 0);
            if (wrong)
                fprintf(stderr, "%s cube %c: %lld voxels outside the region\n", regions[r].name, 'A' + c,
                        (long long)wrong);
        }
    }
    free(roi);
    fprintf(stderr, "\n  region map: all 16 cubes A-D (256 x 256 x 360 each) checked voxel by voxel\n");
}

static void test_region_values_elsewhere(void) {
    /* Whole frame at resolution 3 on a few slices: plausible values, every area present
     * mid-volume, nothing but clear outside the tissue's z range. */
    const int64_t slices[] = {5, 110, 300, 470, 700};
    mtn_box b = {0, 5805 >> 3, 0, 1420 >> 3, 0, 1};
    int64_t n = mtn_box_nx(&b) * mtn_box_ny(&b);
    for (size_t s = 0; s < sizeof slices / sizeof slices[0]; s++) {
        b.z0 = slices[s];
        b.z1 = slices[s] + 1;
        uint8_t *roi = cutout_bytes(MTN_PHANTOM_ROI_LABELS, 3, &b);
        CU_ASSERT_PTR_NOT_NULL_FATAL(roi);
        int64_t counts[256] = {0};
        for (int64_t i = 0; i < n; i++) counts[roi[i]]++;
        int64_t invalid = 0;
        for (int v = MTN_ROI_COUNT; v < 256; v++) invalid += counts[v];
        CU_ASSERT_EQUAL(invalid, 0);
        if (slices[s] == 5 || slices[s] == 700) CU_ASSERT_EQUAL(counts[MTN_ROI_CLEAR], n);
        if (slices[s] == 300) {
            fprintf(stderr, "\n  z=300 at res 3, voxels per area:");
            for (int v = 0; v < MTN_ROI_COUNT; v++) {
                CU_ASSERT(counts[v] > 0);
                fprintf(stderr, " %d:%lld", v, (long long)counts[v]);
            }
            fprintf(stderr, "\n");
        }
        free(roi);
    }
}

/* ----------------------------------------------------- class proportions --- */

static void test_class_proportions(void) {
    CU_ASSERT_FATAL(load_label_samples());
    static const char *class_names[4] = {"bg", "vessel", "cell", "axon"};
    fprintf(stderr, "\n  class proportions, %% (32 slices of 256 x 256 per region, cubes A-D; paper in brackets)\n");
    for (int r = 0; r < NREGIONS; r++) {
        int64_t counts[4] = {0}, total = 0;
        double per_cube_axon[NCUBES];
        for (int c = 0; c < NCUBES; c++) {
            int64_t axons = 0;
            for (int s = 0; s < LABEL_SLICES; s++)
                for (int i = 0; i < TILE * TILE; i++) {
                    uint8_t v = label_samples[r][c][s][i];
                    CU_ASSERT_FATAL(v < 4);
                    counts[v]++;
                    axons += v == MTN_PIX_AXON;
                }
            per_cube_axon[c] = 100.0 * (double)axons / (LABEL_SLICES * TILE * TILE);
        }
        for (int k = 0; k < 4; k++) total += counts[k];
        fprintf(stderr, "  %-4s", regions[r].name);
        for (int k = 0; k < 4; k++) {
            double pct = 100.0 * (double)counts[k] / (double)total;
            fprintf(stderr, " %s %6.2f (%5.2f)", class_names[k], pct, paper_pct[r][k]);
            if (paper_pct[r][k] == 0.0) {
                CU_ASSERT_EQUAL(counts[k], 0); /* no axons in cortex, exactly */
            } else {
                bool ok = fabs(pct / paper_pct[r][k] - 1.0) <= 0.25;
                CU_ASSERT(ok);
                if (!ok) fprintf(stderr, " <- more than 25%% off");
            }
        }
        fprintf(stderr, "   axon %% per cube A-D: %.1f %.1f %.1f %.1f\n", per_cube_axon[0], per_cube_axon[1],
                per_cube_axon[2], per_cube_axon[3]);
    }
}

/* ----------------------------------------------------------------- cells --- */

typedef struct {
    double slices, cells, cell_pixels, nn_sum, nn_slices;
} cell_stats;

/* Cells of one 128 x 128 quadrant of a 256 x 256 label slice: 4-connected components
 * of the cell label, their sizes and the mean centroid-to-nearest-centroid distance. */
static void add_quadrant(const uint8_t *labels, int qy, int qx, cell_stats *st) {
    enum { Q = 128 };
    uint8_t mask[Q * Q];
    int32_t comp[Q * Q];
    for (int y = 0; y < Q; y++)
        for (int x = 0; x < Q; x++) mask[y * Q + x] = labels[(qy * Q + y) * TILE + qx * Q + x] == MTN_PIX_CELL;
    int64_t n = 0;
    CU_ASSERT_EQUAL_FATAL(mtn_components_label(mask, 1, Q, Q, comp, &n), MTN_OK);
    double *sx = calloc((size_t)n + 1, sizeof *sx), *sy = calloc((size_t)n + 1, sizeof *sy);
    double *size = calloc((size_t)n + 1, sizeof *size);
    CU_ASSERT_FATAL(sx && sy && size);
    for (int y = 0; y < Q; y++)
        for (int x = 0; x < Q; x++) {
            int32_t c = comp[y * Q + x];
            if (!c) continue;
            sx[c] += x;
            sy[c] += y;
            size[c] += 1;
        }
    st->slices += 1;
    st->cells += (double)n;
    for (int64_t c = 1; c <= n; c++) st->cell_pixels += size[c];
    if (n >= 2) {
        double sum = 0;
        for (int64_t a = 1; a <= n; a++) {
            double best = INFINITY;
            for (int64_t b = 1; b <= n; b++) {
                if (a == b) continue;
                double dx = sx[a] / size[a] - sx[b] / size[b], dy = sy[a] / size[a] - sy[b] / size[b];
                best = fmin(best, sqrt(dx * dx + dy * dy));
            }
            sum += best;
        }
        st->nn_sum += sum / (double)n;
        st->nn_slices += 1;
    }
    free(sx);
    free(sy);
    free(size);
}

static void test_cell_calibration(void) {
    CU_ASSERT_FATAL(load_label_samples());
    fprintf(stderr, "\n  cells per 128 x 128 slice, footprint px (one 4-connected component), NN distance px\n"
                    "  (128 quadrants per region; real crops in brackets, VP against the TRN crop)\n");
    for (int r = 0; r < NREGIONS; r++) {
        cell_stats st = {0, 0, 0, 0, 0};
        for (int c = 0; c < NCUBES; c++)
            for (int s = 0; s < LABEL_SLICES; s++)
                for (int q = 0; q < 4; q++) add_quadrant(label_samples[r][c][s], q / 2, q % 2, &st);
        double per_slice = st.cells / st.slices, footprint = st.cell_pixels / st.cells;
        double nn = st.nn_sum / st.nn_slices;
        double cell_pct = 100.0 * st.cell_pixels / (st.slices * 128 * 128);
        fprintf(stderr,
                "  %-4s cells/slice %5.1f (%4.1f, x%.2f)  footprint %5.1f (%4.1f, x%.2f)  NN %4.1f (%4.1f)  "
                "cell %% %.2f (paper %.2f, x%.2f)\n",
                regions[r].name, per_slice, crop_cells[r], per_slice / crop_cells[r], footprint, crop_footprint[r],
                footprint / crop_footprint[r], nn, crop_nn[r], cell_pct, paper_pct[r][2], cell_pct / paper_pct[r][2]);
        /* CTX, STR, ZI: within 25 % of the crops; VP against the TRN proxy: within 2x. */
        double tolerance = regions[r].roi == MTN_ROI_VP ? 2.0 : 1.25;
        CU_ASSERT(per_slice <= crop_cells[r] * tolerance && per_slice >= crop_cells[r] / tolerance);
        CU_ASSERT(footprint <= crop_footprint[r] * tolerance && footprint >= crop_footprint[r] / tolerance);
        /* spacing: the crops' 22-30 px, loosely */
        CU_ASSERT(nn >= 15.0 && nn <= 40.0);
    }
}

/* ------------------------------------------------------ Task 1 bound --- */

/* Mean and standard deviation of a 256 x 256 tile after 2x block-mean downsampling
 * (rounded half up, as staging does). */
static void tile_features(const uint8_t *image, double f[2]) {
    double s = 0, s2 = 0;
    for (int y = 0; y < TILE / 2; y++)
        for (int x = 0; x < TILE / 2; x++) {
            unsigned sum = image[(2 * y) * TILE + 2 * x] + image[(2 * y) * TILE + 2 * x + 1] +
                           image[(2 * y + 1) * TILE + 2 * x] + image[(2 * y + 1) * TILE + 2 * x + 1];
            double v = (double)((sum + 2) / 4);
            s += v;
            s2 += v * v;
        }
    double n = (TILE / 2) * (TILE / 2);
    f[0] = s / n;
    f[1] = sqrt(fmax(s2 / n - f[0] * f[0], 0.0));
}

typedef struct {
    double mean[NREGIONS][2], cov[NREGIONS][3]; /* per class: mean; covariance xx, xy, yy */
    double scale[2];                            /* training std of each feature */
} class_model;

static void fit_model(double feat[NREGIONS][TASK_SLICES][2], class_model *m) {
    double all[2] = {0, 0}, all2[2] = {0, 0};
    for (int r = 0; r < NREGIONS; r++) {
        double s[2] = {0, 0}, sxx = 0, sxy = 0, syy = 0;
        for (int i = 0; i < TRAIN_SLICES; i++) {
            for (int k = 0; k < 2; k++) {
                s[k] += feat[r][i][k];
                all[k] += feat[r][i][k];
                all2[k] += feat[r][i][k] * feat[r][i][k];
            }
        }
        for (int k = 0; k < 2; k++) m->mean[r][k] = s[k] / TRAIN_SLICES;
        for (int i = 0; i < TRAIN_SLICES; i++) {
            double dx = feat[r][i][0] - m->mean[r][0], dy = feat[r][i][1] - m->mean[r][1];
            sxx += dx * dx;
            sxy += dx * dy;
            syy += dy * dy;
        }
        m->cov[r][0] = sxx / (TRAIN_SLICES - 1) + 1e-6;
        m->cov[r][1] = sxy / (TRAIN_SLICES - 1);
        m->cov[r][2] = syy / (TRAIN_SLICES - 1) + 1e-6;
    }
    double n = NREGIONS * TRAIN_SLICES;
    for (int k = 0; k < 2; k++) m->scale[k] = sqrt(all2[k] / n - (all[k] / n) * (all[k] / n));
}

static int nearest_mean(const class_model *m, const double f[2]) {
    int best = 0;
    double best_d = INFINITY;
    for (int r = 0; r < NREGIONS; r++) {
        double dx = (f[0] - m->mean[r][0]) / m->scale[0], dy = (f[1] - m->mean[r][1]) / m->scale[1];
        if (dx * dx + dy * dy < best_d) best_d = dx * dx + dy * dy, best = r;
    }
    return best;
}

static int gaussian_qda(const class_model *m, const double f[2]) {
    int best = 0;
    double best_score = -INFINITY;
    for (int r = 0; r < NREGIONS; r++) {
        double a = m->cov[r][0], b = m->cov[r][1], d = m->cov[r][2], det = a * d - b * b;
        double dx = f[0] - m->mean[r][0], dy = f[1] - m->mean[r][1];
        double maha = (d * dx * dx - 2 * b * dx * dy + a * dy * dy) / det;
        double score = -0.5 * log(det) - 0.5 * maha;
        if (score > best_score) best_score = score, best = r;
    }
    return best;
}

static int k_nearest(const class_model *m, double feat[NREGIONS][TASK_SLICES][2], const double f[2]) {
    enum { K = 5 };
    double best_d[K];
    int best_r[K];
    for (int k = 0; k < K; k++) best_d[k] = INFINITY, best_r[k] = 0;
    for (int r = 0; r < NREGIONS; r++)
        for (int i = 0; i < TRAIN_SLICES; i++) {
            double dx = (f[0] - feat[r][i][0]) / m->scale[0], dy = (f[1] - feat[r][i][1]) / m->scale[1];
            double d = dx * dx + dy * dy;
            for (int k = 0; k < K; k++)
                if (d < best_d[k]) {
                    for (int j = K - 1; j > k; j--) best_d[j] = best_d[j - 1], best_r[j] = best_r[j - 1];
                    best_d[k] = d;
                    best_r[k] = r;
                    break;
                }
        }
    int votes[NREGIONS] = {0}, best = 0;
    for (int k = 0; k < K; k++) votes[best_r[k]]++;
    for (int r = 1; r < NREGIONS; r++)
        if (votes[r] > votes[best]) best = r;
    return best;
}

static void test_task1_mean_std_not_enough(void) {
    CU_ASSERT_FATAL(load_task_samples());
    static double feat[NREGIONS][TASK_SLICES][2];
    for (int r = 0; r < NREGIONS; r++)
        for (int s = 0; s < TASK_SLICES; s++) tile_features(task_images[r][s], feat[r][s]);
    class_model m;
    fit_model(feat, &m);
    fprintf(stderr, "\n  Task 1 tile features (2x block-mean downsampled 128 x 128), train mean (sd) per region:\n");
    for (int r = 0; r < NREGIONS; r++)
        fprintf(stderr, "  %-4s mean %6.2f (%5.2f)  std %6.2f (%5.2f)\n", regions[r].name, m.mean[r][0],
                sqrt(m.cov[r][0]), m.mean[r][1], sqrt(m.cov[r][2]));
    const char *names[3] = {"nearest class mean", "Gaussian (QDA)", "5-nearest neighbours"};
    for (int method = 0; method < 3; method++) {
        int correct = 0, total = 0;
        for (int r = 0; r < NREGIONS; r++)
            for (int s = TRAIN_SLICES; s < TASK_SLICES; s++) {
                int guess = method == 0 ? nearest_mean(&m, feat[r][s])
                            : method == 1 ? gaussian_qda(&m, feat[r][s])
                                          : k_nearest(&m, feat, feat[r][s]);
                correct += guess == r;
                total++;
            }
        double accuracy = (double)correct / total;
        fprintf(stderr, "  Task 1 on (mean, std), %s: test accuracy %.3f (%d/%d; chance 0.25, bound < 0.70)\n",
                names[method], accuracy, correct, total);
        CU_ASSERT(accuracy < 0.70);
    }
}

/* ------------------------------------------------------ Task 2 bound --- */

/* 3-class labels: background + axons (0), vessels (1), cells (2). */
static int three_class(uint8_t label) {
    return label == MTN_PIX_VESSEL ? 1 : label == MTN_PIX_CELL ? 2 : 0;
}

typedef struct {
    double count[3][257]; /* count[c][v + 1]: pixels of class c with intensity v */
    bool cumulative;      /* after cumulate: count[c][v] = pixels of class c below v */
} intensity_histogram;

static void histogram_add(intensity_histogram *h, const uint8_t *image, const uint8_t *labels, int64_t n) {
    for (int64_t i = 0; i < n; i++) h->count[three_class(labels[i])][image[i] + 1] += 1;
}

static void cumulate(intensity_histogram *h) {
    for (int c = 0; c < 3; c++)
        for (int v = 1; v <= 256; v++) h->count[c][v] += h->count[c][v - 1];
    h->cumulative = true;
}

/* Mean F1 over the 3 classes when class order[0] gets intensities < t1, order[1]
 * [t1, t2) and order[2] >= t2. */
static double interval_f1(const intensity_histogram *h, const int order[3], int t1, int t2, double per_class[3]) {
    MTN_ASSERT(h->cumulative);
    int lo[3] = {0, t1, t2}, hi[3] = {t1, t2, 256};
    double f1 = 0;
    for (int k = 0; k < 3; k++) {
        int c = order[k];
        double tp = h->count[c][hi[k]] - h->count[c][lo[k]], predicted = 0, actual = h->count[c][256];
        for (int d = 0; d < 3; d++) predicted += h->count[d][hi[k]] - h->count[d][lo[k]];
        double class_f1 = predicted + actual > 0 ? 2 * tp / (predicted + actual) : 0;
        if (per_class) per_class[c] = class_f1;
        f1 += class_f1;
    }
    return f1 / 3;
}

static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};

/* Best intervals on `train`; returns the mean F1 they give on `test`. */
static double best_thresholds(const intensity_histogram *train, const intensity_histogram *test, double *train_f1,
                              int chosen[3], double test_per_class[3]) {
    double best = -1;
    int best_o = 0, best_t1 = 0, best_t2 = 0;
    for (int o = 0; o < 6; o++)
        for (int t1 = 0; t1 <= 256; t1++)
            for (int t2 = t1; t2 <= 256; t2++) {
                double f = interval_f1(train, orders[o], t1, t2, NULL);
                if (f > best) best = f, best_o = o, best_t1 = t1, best_t2 = t2;
            }
    *train_f1 = best;
    chosen[0] = best_o;
    chosen[1] = best_t1;
    chosen[2] = best_t2;
    return interval_f1(test, orders[best_o], best_t1, best_t2, test_per_class);
}

/* F1 of "vessel or cell" against the rest with the best single threshold (>= t) on
 * `train`, evaluated on `test`: how well the structures stand out. */
static double foreground_f1(const intensity_histogram *train, const intensity_histogram *test) {
    double best = -1, result = 0;
    for (int t = 0; t <= 256; t++) {
        double f1[2];
        const intensity_histogram *h[2] = {train, test};
        for (int k = 0; k < 2; k++) {
            double fg_total = h[k]->count[1][256] + h[k]->count[2][256];
            double tp = fg_total - h[k]->count[1][t] - h[k]->count[2][t];
            double predicted = 0;
            for (int c = 0; c < 3; c++) predicted += h[k]->count[c][256] - h[k]->count[c][t];
            f1[k] = predicted + fg_total > 0 ? 2 * tp / (predicted + fg_total) : 0;
        }
        if (f1[0] > best) best = f1[0], result = f1[1];
    }
    return result;
}

/* Spatial context, crudely: a 3 x 3 box mean minus a 31 x 31 box mean (which removes
 * the illumination drift and the areas' different neuropil levels), shifted to 128 and
 * rounded; image edges use the pixels inside. */
static void local_contrast(const uint8_t *in, uint8_t *out) {
    enum { N = TILE + 1 };
    static double integral[N * N];
    for (int y = 0; y <= TILE; y++)
        for (int x = 0; x <= TILE; x++)
            integral[y * N + x] = (y && x) ? in[(y - 1) * TILE + x - 1] + integral[(y - 1) * N + x] +
                                                 integral[y * N + x - 1] - integral[(y - 1) * N + x - 1]
                                           : 0.0;
    for (int y = 0; y < TILE; y++)
        for (int x = 0; x < TILE; x++) {
            double mean[2];
            const int radius[2] = {1, 15};
            for (int k = 0; k < 2; k++) {
                int y0 = y - radius[k] < 0 ? 0 : y - radius[k], y1 = y + radius[k] + 1 > TILE ? TILE : y + radius[k] + 1;
                int x0 = x - radius[k] < 0 ? 0 : x - radius[k], x1 = x + radius[k] + 1 > TILE ? TILE : x + radius[k] + 1;
                double sum = integral[y1 * N + x1] - integral[y0 * N + x1] - integral[y1 * N + x0] + integral[y0 * N + x0];
                mean[k] = sum / ((y1 - y0) * (x1 - x0));
            }
            double v = 128.0 + mean[0] - mean[1];
            out[y * TILE + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
        }
}

static void test_task2_thresholds_not_enough(void) {
    CU_ASSERT_FATAL(load_task_samples());
    static intensity_histogram train, test, train_smooth, test_smooth;
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    memset(&train_smooth, 0, sizeof train_smooth);
    memset(&test_smooth, 0, sizeof test_smooth);
    uint8_t *smooth = malloc(TILE * TILE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(smooth);
    double class_sum[NREGIONS][4] = {{0}}, class_n[NREGIONS][4] = {{0}};
    for (int r = 0; r < NREGIONS; r++)
        for (int s = 0; s < TASK_SLICES; s++) {
            bool training = s < TRAIN_SLICES;
            histogram_add(training ? &train : &test, task_images[r][s], task_labels[r][s], TILE * TILE);
            local_contrast(task_images[r][s], smooth);
            histogram_add(training ? &train_smooth : &test_smooth, smooth, task_labels[r][s], TILE * TILE);
            for (int i = 0; i < TILE * TILE; i++) {
                class_sum[r][task_labels[r][s][i]] += task_images[r][s][i];
                class_n[r][task_labels[r][s][i]] += 1;
            }
        }
    free(smooth);
    fprintf(stderr, "\n  mean image intensity per class (bg, vessel, cell, axon), cube A samples:\n");
    for (int r = 0; r < NREGIONS; r++) {
        fprintf(stderr, "  %-4s", regions[r].name);
        for (int k = 0; k < 4; k++)
            fprintf(stderr, " %6.1f", class_n[r][k] > 0 ? class_sum[r][k] / class_n[r][k] : NAN);
        fprintf(stderr, "\n");
    }
    cumulate(&train);
    cumulate(&test);
    cumulate(&train_smooth);
    cumulate(&test_smooth);
    double train_f1, smooth_train_f1;
    int chosen[3], chosen_smooth[3];
    double per_class[3], smooth_per_class[3];
    double f1 = best_thresholds(&train, &test, &train_f1, chosen, per_class);
    double smooth_f1 = best_thresholds(&train_smooth, &test_smooth, &smooth_train_f1, chosen_smooth, smooth_per_class);
    fprintf(stderr,
            "  Task 2 (3-class, full resolution) best intensity intervals: order %d%d%d, thresholds %d, %d:\n"
            "    mean F1 train %.3f, test %.3f (bg+axon %.3f, vessel %.3f, cell %.3f; bound < 0.75)\n"
            "  on a local contrast (3 x 3 mean minus 31 x 31 mean; spatial context): order %d%d%d, thresholds %d, %d: mean F1 train "
            "%.3f, test %.3f (bg+axon %.3f, vessel %.3f, cell %.3f)\n",
            orders[chosen[0]][0], orders[chosen[0]][1], orders[chosen[0]][2], chosen[1], chosen[2], train_f1, f1,
            per_class[0], per_class[1], per_class[2],
            orders[chosen_smooth[0]][0], orders[chosen_smooth[0]][1], orders[chosen_smooth[0]][2],
            chosen_smooth[1], chosen_smooth[2], smooth_train_f1, smooth_f1, smooth_per_class[0], smooth_per_class[1],
            smooth_per_class[2]);
    fprintf(stderr, "  vessel-or-cell against the rest, best single threshold: F1 %.3f on intensity, %.3f on the local "
                    "contrast\n",
            foreground_f1(&train, &test), foreground_f1(&train_smooth, &test_smooth));
    CU_ASSERT(f1 < 0.75);
    CU_ASSERT(f1 > 0.34); /* the classes do differ in intensity */
    CU_ASSERT(smooth_f1 > f1); /* and spatial context helps */
}

static const mtn_test_case request_tests[] = {
    {"bad requests", test_bad_requests},
    {"sub-boxes equal crops of larger boxes", test_sub_boxes_equal_crops},
    {"roi_at matches roi_labels", test_roi_at_matches_roi_labels},
    {"threads agree", test_threads_agree},
    {"resolutions reduce blocks", test_resolutions_reduce_blocks},
    {NULL, NULL},
};

static const mtn_test_case region_tests[] = {
    {"every cube inside its region", test_every_cube_inside_its_region},
    {"region values elsewhere", test_region_values_elsewhere},
    {NULL, NULL},
};

static const mtn_test_case statistics_tests[] = {
    {"class proportions", test_class_proportions},
    {"cell calibration", test_cell_calibration},
    {"task 1 not trivial", test_task1_mean_std_not_enough},
    {"task 2 not trivial", test_task2_thresholds_not_enough},
    {NULL, NULL},
};

const mtn_test_suite mtn_test_suites[] = {
    {"phantom requests", request_tests},
    {"phantom regions", region_tests},
    {"phantom statistics", statistics_tests},
    {NULL, NULL},
};
