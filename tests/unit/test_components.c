/* test_components.c — connected components (mtn_components_label): hand-checked 2D
 * and 3D cases (4-connectivity in a plane, 6 in a volume, no diagonals, U shapes
 * that need merging, raster-order numbering), agreement with a brute-force flood
 * fill on random masks, and the size checks. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mtn/eval.h"

static void expect_labels(const uint8_t *mask, int64_t nz, int64_t ny, int64_t nx, const int32_t *expected,
                          int64_t expected_n) {
    int64_t total = nz * ny * nx, n = -1;
    int32_t *labels = malloc((size_t)total * sizeof *labels);
    CU_ASSERT_PTR_NOT_NULL_FATAL(labels);
    CU_ASSERT_EQUAL(mtn_components_label(mask, nz, ny, nx, labels, &n), MTN_OK);
    CU_ASSERT_EQUAL(n, expected_n);
    CU_ASSERT(memcmp(labels, expected, (size_t)total * sizeof *labels) == 0);
    free(labels);
}

static void test_plane_is_four_connected(void) {
    const uint8_t mask[] = {1, 1, 0, 1,
                            0, 1, 0, 1,
                            1, 0, 0, 0,
                            1, 1, 0, 7}; /* any non-zero value is foreground */
    const int32_t expected[] = {1, 1, 0, 2,
                                0, 1, 0, 2,
                                3, 0, 0, 0,
                                3, 3, 0, 4};
    expect_labels(mask, 1, 4, 4, expected, 4);
}

static void test_shapes_that_merge(void) {
    /* A U opened upwards: two provisional labels joined by the bottom row. */
    const uint8_t u[] = {1, 0, 1,
                         1, 0, 1,
                         1, 1, 1};
    const int32_t u_expected[] = {1, 0, 1, 1, 0, 1, 1, 1, 1};
    expect_labels(u, 1, 3, 3, u_expected, 1);
    /* A W: three prongs, merged at the bottom, after a separate blob numbered first. */
    const uint8_t w[] = {0, 0, 0, 0, 0, 0, 1,
                         1, 0, 1, 0, 1, 0, 0,
                         1, 0, 1, 0, 1, 0, 1,
                         1, 1, 1, 1, 1, 0, 1};
    const int32_t w_expected[] = {0, 0, 0, 0, 0, 0, 1,
                                  2, 0, 2, 0, 2, 0, 0,
                                  2, 0, 2, 0, 2, 0, 3,
                                  2, 2, 2, 2, 2, 0, 3};
    expect_labels(w, 1, 4, 7, w_expected, 3);
}

static void test_volume_is_six_connected(void) {
    /* Face neighbours across z join; (z, y, x) = (0, 0, 0) and (1, 0, 0). */
    const uint8_t stacked[] = {1, 0, 0, 0,
                               1, 0, 0, 0};
    const int32_t stacked_expected[] = {1, 0, 0, 0, 1, 0, 0, 0};
    expect_labels(stacked, 2, 2, 2, stacked_expected, 1);
    /* Edge and corner neighbours do not: (0,0,0), (1,1,1) and (2,1,0) are apart. */
    const uint8_t diagonal[] = {1, 0,
                                0, 0,
                                0, 0,
                                0, 1,
                                0, 0,
                                1, 0};
    const int32_t diagonal_expected[] = {1, 0, 0, 0, 0, 0, 0, 2, 0, 0, 3, 0};
    expect_labels(diagonal, 3, 2, 2, diagonal_expected, 3);
    /* Two pieces of slice 0 joined only through slice 1: one component. */
    const uint8_t bridge[] = {1, 0, 1,
                              1, 1, 1};
    const int32_t bridge_expected[] = {1, 0, 1, 1, 1, 1};
    expect_labels(bridge, 2, 1, 3, bridge_expected, 1);
}

static void test_empty_and_bad_sizes(void) {
    const uint8_t zeros[6] = {0};
    int32_t labels[6] = {9, 9, 9, 9, 9, 9};
    int64_t n = -1;
    CU_ASSERT_EQUAL(mtn_components_label(zeros, 1, 2, 3, labels, &n), MTN_OK);
    CU_ASSERT_EQUAL(n, 0);
    for (int i = 0; i < 6; i++) CU_ASSERT_EQUAL(labels[i], 0);
    CU_ASSERT_EQUAL(mtn_components_label(zeros, 0, 2, 3, labels, &n), MTN_OK);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(mtn_components_label(zeros, 1, -2, 3, labels, &n), MTN_EOVERFLOW);
    CU_ASSERT_EQUAL(mtn_components_label(zeros, 2048, 2048, 1024, labels, &n), MTN_EOVERFLOW);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "too large"));
}

/* Brute force: flood fill from each unlabelled foreground voxel in raster order. */
static int64_t flood_fill(const uint8_t *mask, int64_t nz, int64_t ny, int64_t nx, int32_t *labels) {
    int64_t total = nz * ny * nx, n = 0;
    int64_t *stack = malloc((size_t)total * sizeof *stack);
    memset(labels, 0, (size_t)total * sizeof *labels);
    for (int64_t seed = 0; seed < total; seed++) {
        if (!mask[seed] || labels[seed]) continue;
        n++;
        int64_t top = 0;
        stack[top++] = seed;
        labels[seed] = (int32_t)n;
        while (top > 0) {
            int64_t at = stack[--top], x = at % nx, y = (at / nx) % ny, z = at / (nx * ny);
            const int64_t step[6][3] = {{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}, {0, 0, 1}, {0, 0, -1}};
            for (int k = 0; k < 6; k++) {
                int64_t xx = x + step[k][0], yy = y + step[k][1], zz = z + step[k][2];
                if (xx < 0 || yy < 0 || zz < 0 || xx >= nx || yy >= ny || zz >= nz) continue;
                int64_t next = (zz * ny + yy) * nx + xx;
                if (!mask[next] || labels[next]) continue;
                labels[next] = (int32_t)n;
                stack[top++] = next;
            }
        }
    }
    free(stack);
    return n;
}

static void test_matches_flood_fill(void) {
    const int64_t shapes[][3] = {{1, 64, 64}, {7, 9, 11}, {16, 16, 16}, {3, 1, 50}};
    const double densities[] = {0.2, 0.45, 0.6, 0.9};
    mtn_rng rng;
    mtn_rng_init(&rng, 2024, 1, 0);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t d = 0; d < sizeof densities / sizeof densities[0]; d++) {
            int64_t nz = shapes[s][0], ny = shapes[s][1], nx = shapes[s][2], total = nz * ny * nx;
            uint8_t *mask = malloc((size_t)total);
            int32_t *got = malloc((size_t)total * sizeof *got), *want = malloc((size_t)total * sizeof *want);
            CU_ASSERT_FATAL(mask && got && want);
            for (int64_t i = 0; i < total; i++) mask[i] = mtn_rng_uniform(&rng) < densities[d];
            int64_t n = -1, expected_n = flood_fill(mask, nz, ny, nx, want);
            CU_ASSERT_EQUAL(mtn_components_label(mask, nz, ny, nx, got, &n), MTN_OK);
            CU_ASSERT_EQUAL(n, expected_n);
            bool same = memcmp(got, want, (size_t)total * sizeof *got) == 0;
            CU_ASSERT(same);
            if (!same || n != expected_n)
                fprintf(stderr, "shape %lldx%lldx%lld density %.2f: %lld components, flood fill %lld\n",
                        (long long)nz, (long long)ny, (long long)nx, densities[d], (long long)n,
                        (long long)expected_n);
            free(mask);
            free(got);
            free(want);
        }
}

static const mtn_test_case component_tests[] = {
    {"a plane is 4-connected", test_plane_is_four_connected},
    {"shapes that merge", test_shapes_that_merge},
    {"a volume is 6-connected", test_volume_is_six_connected},
    {"empty masks and bad sizes", test_empty_and_bad_sizes},
    {"matches a flood fill", test_matches_flood_fill},
    {NULL, NULL},
};

const mtn_test_suite mtn_test_suites[] = {
    {"components", component_tests},
    {NULL, NULL},
};
