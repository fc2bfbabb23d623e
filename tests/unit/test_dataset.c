/* test_dataset.c — the dataset reader on files staged here from the phantom: samples
 * per split, 3D sub-volumes that never cross a region or split boundary (MTNeuro's
 * loader let the last one spill into the next region), Task 1 region labels (the
 * class of the tile's ROI mode, on tiles written where that differs from a vote of
 * classes), Task 2 3-class and 4-class mappings, Task 3 raw labels, and refusals: an incomplete file,
 * a file staged for another task, a file that is not staged at all. */
#include <hdf5.h>
#include <mpi.h>
#include <string.h>

#include "harness.h"
#include "mtn/data.h"

static char small_path[600], pixel_path[600];
static mtn_task_config small_task, pixel_task;

static void stage(const char *task_file, mtn_task_config *task, char *path, const char *name) {
    CU_ASSERT_EQUAL_FATAL(mtn_task_load(task_file, task), 0);
    snprintf(path, 600, "%s/%s", mtn_test_tmpdir(), name);
    mtn_source *src = NULL;
    CU_ASSERT_EQUAL_FATAL(mtn_source_open("phantom", NULL, &src), 0);
    mtn_stage_report rep;
    int rc = mtn_stage(task, src, path, MPI_COMM_WORLD, &rep);
    if (rc) fprintf(stderr, "\n%s\n", mtn_error_message());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    mtn_source_free(src);
}

static void test_setup(void) {
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) MPI_Init(NULL, NULL);
    mtn_log_init(0, 1, MTN_LOG_WARN, NULL);
    stage(MTN_SOURCE_DIR "/tests/data/tasks/stage_small.json", &small_task, small_path, "small.h5");
    /* Task 2, 3-class, on the same slices */
    static const char pixel[] = "{\"base\": \"" MTN_SOURCE_DIR "/tests/data/tasks/stage_small.json\", \"name\": \"px\","
                                " \"task\": 2, \"annotation_chan\": \"bossdb://prasad/prasad_analysis/pixel_labels\","
                                " \"task_type\": \"3class\", \"combine_ax_and_bg\": 1, \"downsample\": 1,"
                                " \"cubes\": {}, \"test_cubes\": [\"A\"]}";
    stage(mtn_test_write_file("pixel.json", pixel), &pixel_task, pixel_path, "pixel.h5");
}

static void test_task1_samples_and_labels(void) {
    mtn_dataset *d = NULL;
    CU_ASSERT_EQUAL_FATAL(mtn_dataset_open(small_path, &small_task, &d), 0);
    CU_ASSERT_EQUAL(mtn_dataset_count(d, MTN_SPLIT_TRAIN), 4 * 16);
    CU_ASSERT_EQUAL(mtn_dataset_count(d, MTN_SPLIT_VAL), 4 * 8);
    CU_ASSERT_EQUAL(mtn_dataset_count(d, MTN_SPLIT_TEST), 4 * 8 + 4 * 8); /* A's z_test and all of C */
    CU_ASSERT_EQUAL(mtn_dataset_tile_h(d), 128);
    int64_t n = mtn_dataset_count(d, MTN_SPLIT_TEST);
    int64_t idx[128];
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    float *x = malloc(sizeof(float) * (size_t)n * 128 * 128);
    int32_t y[128];
    CU_ASSERT_EQUAL_FATAL(mtn_dataset_read(d, MTN_SPLIT_TEST, idx, (int)n, x, y), 0);
    int correct = 0;
    for (int64_t i = 0; i < n; i++) {
        const mtn_tile_info *t = mtn_dataset_tile(d, mtn_dataset_sample_tile(d, MTN_SPLIT_TEST, i));
        correct += y[i] == t->region; /* every phantom cube lies inside its region */
    }
    CU_ASSERT_EQUAL(correct, n);
    float lo = 1, hi = 0;
    for (size_t k = 0; k < (size_t)n * 128 * 128; k++) {
        if (x[k] < lo) lo = x[k];
        if (x[k] > hi) hi = x[k];
    }
    CU_ASSERT(lo >= 0.0f && hi <= 1.0f && hi > lo);
    free(x);
    int64_t bad = n;
    CU_ASSERT_EQUAL(mtn_dataset_read(d, MTN_SPLIT_TEST, &bad, 1, NULL, NULL), MTN_EINTERNAL);
    mtn_dataset_free(d);
}

/* Writes labels into tile row `tile` of a staged file (the dataset reader does not
 * check the staging checksums). */
static void write_tile_labels(const char *path, int64_t tile, const uint8_t *labels) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    hid_t d = H5Dopen2(f, "labels", H5P_DEFAULT);
    hid_t fs = H5Dget_space(d);
    hsize_t start[3] = {(hsize_t)tile, 0, 0}, count[3] = {1, 128, 128};
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    hid_t ms = H5Screate_simple(3, count, NULL);
    CU_ASSERT(H5Dwrite(d, H5T_NATIVE_UINT8, ms, fs, H5P_DEFAULT, labels) >= 0);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
    H5Fclose(f);
}

/* Fills a 128 x 128 tile: runs of (value, pixel count), in order, summing to 16384. */
static void fill_tile(uint8_t *labels, const int (*runs)[2], int n_runs) {
    size_t at = 0;
    for (int r = 0; r < n_runs; r++) {
        memset(labels + at, runs[r][0], (size_t)runs[r][1]);
        at += (size_t)runs[r][1];
    }
    CU_ASSERT_EQUAL_FATAL(at, 128 * 128);
}

static void test_task1_label_is_the_roi_mode(void) {
    enum { NCASES = 5 };
    /* 40% cortex, 35% striatum, 25% corpus callosum: the mode is cortex, although a
     * vote of classes would say STR (35 + 25 > 40) */
    static const int split_vote[][2] = {{1, 6554}, {2, 5734}, {8, 4096}};
    static const int all_clear[][2] = {{0, 16384}};           /* unlabelled: CTX, as in MTNeuro */
    static const int clear_most[][2] = {{0, 6000}, {5, 5500}, {6, 4884}}; /* ZI+IC outvote it: CTX all the same */
    static const int tie[][2] = {{4, 8192}, {3, 8192}};         /* a tie: the smaller value, 3 (TRN) -> VP */
    static const int tie_classes[][2] = {{8, 8192}, {3, 8192}}; /* 3 (VP) beats 8 (STR), unlike classes' order */
    const int (*cases[NCASES])[2] = {split_vote, all_clear, clear_most, tie, tie_classes};
    const int n_runs[NCASES] = {3, 1, 3, 2, 2};
    const int32_t want[NCASES] = {MTN_REGION_CTX, MTN_REGION_CTX, MTN_REGION_CTX, MTN_REGION_VP, MTN_REGION_VP};

    char copy[700], cmd[1500];
    snprintf(copy, sizeof copy, "%s/task1_rule.h5", mtn_test_tmpdir());
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", small_path, copy);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    mtn_dataset *d = NULL;
    CU_ASSERT_EQUAL_FATAL(mtn_dataset_open(copy, &small_task, &d), 0);
    int64_t tiles[NCASES + 1], idx[NCASES + 1];
    for (int i = 0; i <= NCASES; i++) {
        idx[i] = i;
        tiles[i] = mtn_dataset_sample_tile(d, MTN_SPLIT_TRAIN, i);
    }
    mtn_dataset_free(d);
    uint8_t labels[128 * 128];
    for (int i = 0; i < NCASES; i++) {
        fill_tile(labels, cases[i], n_runs[i]);
        write_tile_labels(copy, tiles[i], labels);
    }
    float *x = malloc(sizeof(float) * (NCASES + 1) * 128 * 128);
    int32_t y[NCASES + 1];
    CU_ASSERT_EQUAL_FATAL(mtn_dataset_open(copy, &small_task, &d), 0);
    CU_ASSERT_EQUAL_FATAL(mtn_dataset_read(d, MTN_SPLIT_TRAIN, idx, NCASES, x, y), 0);
    for (int i = 0; i < NCASES; i++) {
        if (y[i] != want[i]) fprintf(stderr, "\n  case %d: class %d, expected %d\n", i, y[i], want[i]);
        CU_ASSERT_EQUAL(y[i], want[i]);
    }
    mtn_dataset_free(d);
    /* a value outside 0..8, even a rare one, is not an ROI label: an error naming the file */
    static const int stray[][2] = {{1, 16383}, {9, 1}};
    fill_tile(labels, stray, 2);
    write_tile_labels(copy, tiles[NCASES], labels);
    CU_ASSERT_EQUAL_FATAL(mtn_dataset_open(copy, &small_task, &d), 0);
    CU_ASSERT_EQUAL(mtn_dataset_read(d, MTN_SPLIT_TRAIN, &idx[NCASES], 1, x, y), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), copy));
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "ROI value 9"));
    mtn_dataset_free(d);
    free(x);
}

static void test_subvolumes_never_cross(void) {
    mtn_task_config t3 = small_task;
    t3.volume_z = 4; /* the same staged tiles, read as 4-slice sub-volumes */
    mtn_dataset *d = NULL;
    CU_ASSERT_EQUAL_FATAL(mtn_dataset_open(small_path, &t3, &d), 0);
    CU_ASSERT_EQUAL(mtn_dataset_count(d, MTN_SPLIT_TRAIN), 4 * 4);
    CU_ASSERT_EQUAL(mtn_dataset_count(d, MTN_SPLIT_VAL), 4 * 2);
    CU_ASSERT_EQUAL(mtn_dataset_count(d, MTN_SPLIT_TEST), 4 * 2 + 4 * 2);
    for (int s = 0; s < 3; s++)
        for (int64_t i = 0; i < mtn_dataset_count(d, (mtn_split)s); i++) {
            int64_t first = mtn_dataset_sample_tile(d, (mtn_split)s, i);
            const mtn_tile_info *a = mtn_dataset_tile(d, first);
            for (int k = 1; k < 4; k++) {
                const mtn_tile_info *b = mtn_dataset_tile(d, first + k);
                CU_ASSERT(b->cube == a->cube && b->region == a->region && b->split == a->split && b->z == a->z + k);
            }
        }
    /* 7 slices per run: one sub-volume, the 3-slice tail is dropped, nothing spills */
    t3.volume_z = 7;
    mtn_dataset_free(d);
    CU_ASSERT_EQUAL_FATAL(mtn_dataset_open(small_path, &t3, &d), 0);
    CU_ASSERT_EQUAL(mtn_dataset_count(d, MTN_SPLIT_VAL), 4 * 1);
    CU_ASSERT_EQUAL(mtn_dataset_count(d, MTN_SPLIT_TRAIN), 4 * 2);
    float *x = malloc(sizeof(float) * 7 * 128 * 128);
    int32_t y;
    int64_t i0 = 0;
    CU_ASSERT_EQUAL(mtn_dataset_read(d, MTN_SPLIT_VAL, &i0, 1, x, &y), 0);
    free(x);
    mtn_dataset_free(d);
}

static void test_pixel_label_mappings(void) {
    mtn_dataset *d = NULL;
    CU_ASSERT_EQUAL_FATAL(mtn_dataset_open(pixel_path, &pixel_task, &d), 0);
    int64_t n = mtn_dataset_count(d, MTN_SPLIT_TRAIN);
    CU_ASSERT_EQUAL(n, 4 * 16);
    int64_t idx[4] = {0, 16, 32, 48}; /* one per region */
    float *x = malloc(sizeof(float) * 4 * 256 * 256);
    int32_t *y = malloc(sizeof(int32_t) * 4 * 256 * 256);
    CU_ASSERT_EQUAL_FATAL(mtn_dataset_read(d, MTN_SPLIT_TRAIN, idx, 4, x, y), 0);
    int64_t counts[4] = {0};
    for (size_t k = 0; k < 4 * 256 * 256; k++) counts[y[k] & 3]++;
    CU_ASSERT_EQUAL(counts[MTN_PIX_AXON], 0); /* 3-class: axons are background */
    CU_ASSERT(counts[MTN_PIX_VESSEL] > 0 && counts[MTN_PIX_CELL] > 0);
    mtn_dataset_free(d);
    /* the same file read as Task 3: raw values, axons included */
    mtn_task_config t3 = pixel_task;
    t3.task = 3;
    t3.combine_ax_and_bg = false;
    t3.task_type = MTN_TASKTYPE_NORMAL;
    CU_ASSERT_EQUAL(mtn_dataset_open(pixel_path, &t3, &d), MTN_EIO); /* staged for Task 2 slices */
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "staged for another task config"));
    free(x);
    free(y);
}

static void test_refusals(void) {
    mtn_dataset *d = NULL;
    CU_ASSERT_EQUAL(mtn_dataset_open("/nonexistent/x.h5", &small_task, &d), MTN_EIO);
    CU_ASSERT_PTR_NULL(d);
    /* a plain HDF5 file */
    char plain[600];
    snprintf(plain, sizeof plain, "%s/plain.h5", mtn_test_tmpdir());
    hid_t f = H5Fcreate(plain, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    CU_ASSERT_EQUAL(mtn_dataset_open(plain, &small_task, &d), MTN_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "expected an mtneuro staged file"));
    /* another task */
    mtn_task_config other = small_task;
    other.downsample = 4;
    CU_ASSERT_EQUAL(mtn_dataset_open(small_path, &other, &d), MTN_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "staged for another task config"));
    /* incomplete: flip the flag of a copy */
    char copy[700], cmd[1500];
    snprintf(copy, sizeof copy, "%s/incomplete.h5", mtn_test_tmpdir());
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", small_path, copy);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    f = H5Fopen(copy, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t a = H5Aopen(f, "complete", H5P_DEFAULT);
    int64_t zero = 0;
    H5Awrite(a, H5T_NATIVE_INT64, &zero);
    H5Aclose(a);
    H5Fclose(f);
    CU_ASSERT_EQUAL(mtn_dataset_open(copy, &small_task, &d), MTN_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "staging is not complete"));
    CU_ASSERT_EQUAL(mtn_roi_class(MTN_ROI_CLEAR), MTN_REGION_CTX);
    CU_ASSERT_EQUAL(mtn_roi_class(MTN_ROI_COUNT), -1);
    CU_ASSERT_EQUAL(mtn_roi_class(MTN_ROI_CORPUS_CALLOSUM), MTN_REGION_STR);
    CU_ASSERT_EQUAL(mtn_roi_class(MTN_ROI_TRN), MTN_REGION_VP);
    CU_ASSERT_EQUAL(mtn_roi_class(MTN_ROI_HYPOTHALAMUS), MTN_REGION_ZI);
    MPI_Finalize();
}

static const mtn_test_case tests[] = {
    {"stage small Task 1 and Task 2 sets from the phantom", test_setup},
    {"Task 1: samples per split, region labels, [0, 1] images", test_task1_samples_and_labels},
    {"Task 1: the class of the ROI mode (ties to the smaller value); values > 8 refused",
     test_task1_label_is_the_roi_mode},
    {"3D sub-volumes never cross a region or split", test_subvolumes_never_cross},
    {"Task 2 3-class mapping; a Task 3 reading of it is refused", test_pixel_label_mappings},
    {"refusals: missing, plain, other task, incomplete", test_refusals},
    {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {{"dataset reader", tests}, {NULL, NULL}};
