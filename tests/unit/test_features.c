/* test_features.c — Task 3's semantic features (mtn_features) on hand-made volumes
 * with answers worked out by hand: a cell spanning two slices counts in each; a 3D
 * cell whose footprint splits within an image or quadrant counts once; nearest-
 * neighbour distances exclude the self-distance; quadrant order and odd sizes; empty
 * images and quadrants (0 %, NaN); a checkerboard of ties; bad values and sizes. */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "mtn/eval.h"

enum { V = 1, C = 2, A = 3 }; /* vessel, cell, axon */

/* The features of labels, checked against rows x 5 expected values (NaN matches NaN). */
static void expect_features(const uint8_t *labels, int64_t z, int64_t h, int64_t w, bool quadrants,
                            const double *expected) {
    const int64_t rows = quadrants ? 4 * z : z;
    double got[64 * MTN_FEATURES_NCOL];
    CU_ASSERT_FATAL(rows <= 64);
    CU_ASSERT_EQUAL_FATAL(mtn_features(labels, z, h, w, quadrants, got), MTN_OK);
    for (int64_t i = 0; i < rows * MTN_FEATURES_NCOL; i++) {
        if (isnan(expected[i])) {
            CU_ASSERT(isnan(got[i]));
        } else {
            CU_ASSERT_DOUBLE_EQUAL(got[i], expected[i], 1e-12);
        }
        if (isnan(expected[i]) != isnan(got[i]) || (!isnan(got[i]) && fabs(got[i] - expected[i]) > 1e-12))
            printf("\n  row %lld column %lld: got %.17g, expected %.17g", (long long)(i / MTN_FEATURES_NCOL),
                   (long long)(i % MTN_FEATURES_NCOL), got[i], expected[i]);
    }
}

static void test_cell_spanning_slices(void) {
    /* One cell through both slices: 1 pixel in slice 0, 2 in slice 1; a vessel
     * pixel in slice 0 and two axon pixels in slice 1, of 16 pixels each. */
    const uint8_t labels[] = {0, 0, 0, 0,
                              0, C, 0, 0,
                              0, 0, 0, V,
                              0, 0, 0, 0,

                              0, 0, 0, 0,
                              0, C, C, 0,
                              0, 0, 0, 0,
                              A, A, 0, 0};
    const double expected[] = {100.0 / 16, 0, 1, 1, NAN,
                               0, 200.0 / 16, 1, 2, NAN};
    expect_features(labels, 2, 4, 4, false, expected);
}

static void test_split_footprint_counts_once(void) {
    /* Cell a is a U in 3D: two pieces in slice 0 joined by slice 1's row 0; cell b
     * is one pixel. Slice 0: 2 cells (not 3), sizes 2 and 1, centroids (0, 1.5) and
     * (2, 1): both nearest each other at sqrt(4 + 0.25). Slice 1: cell a alone. */
    const uint8_t labels[] = {C, 0, 0, C,
                              0, 0, 0, 0,
                              0, C, 0, 0,

                              C, C, C, C,
                              0, 0, 0, 0,
                              0, 0, 0, 0};
    const double expected[] = {0, 0, 2, 1.5, sqrt(4.25),
                               0, 0, 1, 4, NAN};
    expect_features(labels, 2, 3, 4, false, expected);
}

static void test_split_footprint_in_quadrant(void) {
    /* Quadrant 0 of slice 0 holds two diagonal pixels of one 3D cell (joined through
     * slice 1): one cell of 2 pixels. Quadrant 3 of slice 0 holds two cells on a
     * diagonal: sqrt(2) apart. Slice 1's bottom row is one cell crossing quadrants
     * 2 and 3: 2 pixels in each. Quadrant 1 of each slice is empty. */
    const uint8_t labels[] = {C, 0, 0, 0,
                              0, C, 0, 0,
                              0, 0, C, 0,
                              0, 0, 0, C,

                              C, C, 0, 0,
                              0, C, 0, 0,
                              0, 0, 0, 0,
                              C, C, C, C};
    const double nan = NAN;
    const double expected[] = {0, 0, 1, 2, nan, /* slice 0, [:h, :w] */
                               0, 0, 0, nan, nan,
                               0, 0, 0, nan, nan,
                               0, 0, 2, 1, sqrt(2.0),
                               0, 0, 1, 3, nan, /* slice 1 */
                               0, 0, 0, nan, nan,
                               0, 0, 1, 2, nan,
                               0, 0, 1, 2, nan};
    expect_features(labels, 2, 4, 4, true, expected);
}

static void test_nearest_other_cell(void) {
    /* Cells at (0, 0), (0, 3), (4, 0): nearest others 3, 3 and 4, mean 10/3 (the
     * original code's mean over (self 0, nearest) pairs gave half: 5/3). */
    uint8_t three[8 * 8] = {0};
    three[0 * 8 + 0] = three[0 * 8 + 3] = three[4 * 8 + 0] = C;
    const double e3[] = {0, 0, 3, 1, 10.0 / 3};
    expect_features(three, 1, 8, 8, false, e3);
    /* Two cells of 2 pixels, centroids (0.5, 0) and (3.5, 4): 5 apart (3-4-5). */
    uint8_t two[5 * 5] = {0};
    two[0 * 5 + 0] = two[1 * 5 + 0] = two[3 * 5 + 4] = two[4 * 5 + 4] = C;
    const double e2[] = {0, 0, 2, 2, 5};
    expect_features(two, 1, 5, 5, false, e2);
}

static void test_empty_and_odd_quadrants(void) {
    /* 3 x 3: quadrants of 1 x 1, 1 x 2, 2 x 1, 2 x 2 pixels (split at 3 // 2 = 1).
     * Quadrant 0 a vessel (100 %), quadrant 1 an axon of its 2 pixels (50 %),
     * quadrant 2 empty (0 %, no cell: NaN), quadrant 3 a vessel and a cell of 4. */
    const uint8_t labels[] = {V, A, 0,
                              0, 0, C,
                              0, 0, V};
    const double nan = NAN;
    const double expected[] = {100, 0, 0, nan, nan,
                               0, 50, 0, nan, nan,
                               0, 0, 0, nan, nan,
                               25, 0, 1, 1, nan};
    expect_features(labels, 1, 3, 3, true, expected);
    /* an all-background image: 0 %, no cells */
    const uint8_t zeros[6] = {0};
    const double ez[] = {0, 0, 0, nan, nan};
    expect_features(zeros, 1, 2, 3, false, ez);
}

static void test_checkerboard_ties(void) {
    /* 16 x 16 checkerboard of cells: 128 one-pixel cells (diagonals do not join),
     * each with four nearest others at sqrt(2) (two on the border); the others are
     * vessels: 50 %. */
    uint8_t board[16 * 16];
    for (int i = 0; i < 16 * 16; i++) board[i] = (i / 16 + i % 16) % 2 ? V : C;
    const double expected[] = {50, 0, 128, 1, sqrt(2.0)};
    expect_features(board, 1, 16, 16, false, expected);
}

static void test_bad_values_and_sizes(void) {
    uint8_t labels[2 * 3 * 4] = {0};
    double out[8 * MTN_FEATURES_NCOL];
    labels[(1 * 3 + 2) * 4 + 1] = 7;
    CU_ASSERT_EQUAL(mtn_features(labels, 2, 3, 4, false, out), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "label value 7 at (z, y, x) = (1, 2, 1)"));
    labels[(1 * 3 + 2) * 4 + 1] = 4;
    CU_ASSERT_EQUAL(mtn_features(labels, 2, 3, 4, true, out), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "label value 4"));
    labels[(1 * 3 + 2) * 4 + 1] = 0;
    CU_ASSERT_EQUAL(mtn_features(labels, 0, 3, 4, false, out), MTN_EDATA);
    CU_ASSERT_EQUAL(mtn_features(labels, 2, 3, 0, false, out), MTN_EDATA);
    CU_ASSERT_EQUAL(mtn_features(labels, 2, 1, 12, true, out), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "H, W >= 2 for quadrants"));
    CU_ASSERT_EQUAL(mtn_features(labels, 2, 1, 12, false, out), MTN_OK);
    CU_ASSERT_EQUAL(mtn_features(labels, 2048, 2048, 1024, false, out), MTN_EOVERFLOW);
}

static const mtn_test_case feature_tests[] = {
    {"a cell spanning two slices", test_cell_spanning_slices},
    {"a split footprint counts once", test_split_footprint_counts_once},
    {"a split footprint in a quadrant", test_split_footprint_in_quadrant},
    {"distance to the nearest other cell", test_nearest_other_cell},
    {"empty and odd quadrants", test_empty_and_odd_quadrants},
    {"a checkerboard of ties", test_checkerboard_ties},
    {"bad values and sizes", test_bad_values_and_sizes},
    {NULL, NULL},
};

const mtn_test_suite mtn_test_suites[] = {
    {"features", feature_tests},
    {NULL, NULL},
};
