/* test_tree.c — the fixed tree that every sum over samples goes through:
 * mtn_tree_sum (what ranks use on their shares) gives exactly the bits of
 * mtn_exec_reduce (what layers use on their leaves) for 1..40 leaves and 1 or 3
 * threads; a power-of-two block of leaves is a subtree, so ranks that each reduce
 * their own block and then combine the block sums by the same rule get the whole
 * batch's bits; and the Beta sampler that draws mixup's lambda has Beta's mean. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mtn/nn.h"

enum { COUNT = 37, MAX_LEAVES = 48 };

static float leaf_value(int leaf, int i) {
    mtn_rng r;
    mtn_rng_init(&r, 3, (uint64_t)leaf, (uint64_t)i);
    return (float)((mtn_rng_uniform(&r) - 0.5) * pow(10.0, (double)((leaf + i) % 9) - 4.0));
}

static void fill_leaf(void *ctx, int leaf, float *out, int thread) {
    (void)ctx, (void)thread;
    for (int i = 0; i < COUNT; i++) out[i] = leaf_value(leaf, i);
}

static void test_tree_sum_is_exec_reduce(void) {
    for (int threads = 1; threads <= 3; threads += 2) {
        mtn_exec *ex = NULL;
        CU_ASSERT_EQUAL_FATAL(mtn_exec_create(threads, &ex), 0);
        mtn_needs need = {0, COUNT, 0, mtn_tree_floats(COUNT, 40)};
        CU_ASSERT_EQUAL_FATAL(mtn_exec_reserve(ex, need), 0);
        for (int n = 1; n <= 40; n++) {
            float acc[COUNT] = {0};
            mtn_exec_reduce(ex, n, COUNT, fill_leaf, NULL, acc);
            float *parts[MAX_LEAVES];
            for (int l = 0; l < n; l++) {
                parts[l] = malloc(sizeof(float) * COUNT);
                fill_leaf(NULL, l, parts[l], 0);
            }
            int at = mtn_tree_sum(parts, n, COUNT);
            float whole[COUNT];
            for (int i = 0; i < COUNT; i++) whole[i] = 0.0f + parts[at][i]; /* acc starts at 0 */
            CU_ASSERT(memcmp(acc, whole, sizeof acc) == 0);
            for (int l = 0; l < n; l++) free(parts[l]);
        }
        mtn_exec_free(ex);
    }
}

/* R ranks x L leaves each (L a power of two): block sums combined by the rule */
static void test_blocks_are_subtrees(void) {
    const int Ls[] = {1, 2, 4, 8};
    for (int li = 0; li < 4; li++)
        for (int R = 1; R <= 6; R++) {
            int L = Ls[li], n = R * L;
            if (n > MAX_LEAVES) continue;
            float *all[MAX_LEAVES], *blocks[MAX_LEAVES], *tmp[MAX_LEAVES];
            for (int l = 0; l < n; l++) {
                all[l] = malloc(sizeof(float) * COUNT);
                fill_leaf(NULL, l, all[l], 0);
            }
            int at = mtn_tree_sum(all, n, COUNT);
            for (int r = 0; r < R; r++) {
                for (int l = 0; l < L; l++) {
                    tmp[l] = malloc(sizeof(float) * COUNT);
                    fill_leaf(NULL, r * L + l, tmp[l], 0);
                }
                int b = mtn_tree_sum(tmp, L, COUNT);
                blocks[r] = malloc(sizeof(float) * COUNT);
                memcpy(blocks[r], tmp[b], sizeof(float) * COUNT);
                for (int l = 0; l < L; l++) free(tmp[l]);
            }
            int bt = mtn_tree_sum(blocks, R, COUNT);
            CU_ASSERT(memcmp(all[at], blocks[bt], sizeof(float) * COUNT) == 0);
            for (int l = 0; l < n; l++) free(all[l]);
            for (int r = 0; r < R; r++) free(blocks[r]);
        }
}

/* A block that is not a power of two is not a subtree: the rule is not a sum in
 * any order (this is why shares must hold 2^k micro-batches). */
static void test_other_blocks_differ(void) {
    int n = 6, L = 3, differ = 0;
    for (int trial = 0; trial < 20; trial++) {
        float *all[6], *blocks[2], *tmp[3];
        for (int l = 0; l < n; l++) {
            all[l] = malloc(sizeof(float) * COUNT);
            fill_leaf(NULL, l + trial * 7, all[l], 0);
        }
        int at = mtn_tree_sum(all, n, COUNT);
        for (int r = 0; r < 2; r++) {
            for (int l = 0; l < L; l++) {
                tmp[l] = malloc(sizeof(float) * COUNT);
                fill_leaf(NULL, r * L + l + trial * 7, tmp[l], 0);
            }
            int b = mtn_tree_sum(tmp, L, COUNT);
            blocks[r] = malloc(sizeof(float) * COUNT);
            memcpy(blocks[r], tmp[b], sizeof(float) * COUNT);
            for (int l = 0; l < L; l++) free(tmp[l]);
        }
        int bt = mtn_tree_sum(blocks, 2, COUNT);
        differ |= memcmp(all[at], blocks[bt], sizeof(float) * COUNT) != 0;
        for (int l = 0; l < n; l++) free(all[l]);
        free(blocks[0]);
        free(blocks[1]);
    }
    CU_ASSERT(differ);
}

static void test_beta_sampler(void) {
    const double ab[][2] = {{1, 1}, {0.4, 0.4}, {2, 5}};
    for (int k = 0; k < 3; k++) {
        mtn_rng r;
        mtn_rng_init(&r, 11, MTN_STREAM_MIXUP, 0);
        double s = 0, ss = 0;
        int n = 20000;
        for (int i = 0; i < n; i++) {
            double x = mtn_rng_beta(&r, ab[k][0], ab[k][1]);
            CU_ASSERT(x >= 0 && x <= 1);
            s += x;
            ss += x * x;
        }
        double a = ab[k][0], b = ab[k][1], mean = a / (a + b), var = a * b / ((a + b) * (a + b) * (a + b + 1));
        double m = s / n, v = ss / n - m * m;
        /* 5 standard errors of the mean; 10% on the variance */
        CU_ASSERT(fabs(m - mean) < 5 * sqrt(var / n));
        CU_ASSERT(fabs(v - var) < 0.1 * var);
    }
}

static const mtn_test_case tree_tests[] = {
    {"mtn_tree_sum has mtn_exec_reduce's bits (1..40 leaves, 1 and 3 threads)", test_tree_sum_is_exec_reduce},
    {"power-of-two blocks of leaves are subtrees", test_blocks_are_subtrees},
    {"other blocks are not", test_other_blocks_differ},
    {"Beta sampler: mean and variance", test_beta_sampler},
    {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {{"fixed tree", tree_tests}, {NULL, NULL}};
