/* test_segmentation.c — Task 2's scores (mtn_seg_*) against scikit-learn through
 * tests/ref/segmentation_oracle.py: confusion, pooled F1 and IoU, per-image F1 and
 * IoU averaged over images (with classes absent from some images), on random labels
 * with the phantom's kind of imbalance; argmax ties; hand-made counts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "mtn/core.h"
#include "mtn/eval.h"

enum { IMAGES = 6, PIXELS = 400, K = 4 };

/* Labels with a background majority; image 2 has no class 3, image 4 only class 0
 * in truth; predictions agree with truth 80 % of the time. */
static void make_labels(int32_t *truth, int32_t *pred) {
    mtn_rng r;
    mtn_rng_init(&r, 5, MTN_STREAM_INIT, 0);
    for (int i = 0; i < IMAGES; i++)
        for (int p = 0; p < PIXELS; p++) {
            double u = mtn_rng_uniform(&r);
            int t = u < 0.7 ? 0 : u < 0.8 ? 1 : u < 0.9 ? 2 : 3;
            if (i == 2 && t == 3) t = 1;
            if (i == 4) t = 0;
            int q = mtn_rng_uniform(&r) < 0.8 ? t : (int)(mtn_rng_uniform(&r) * K) % K;
            if (i == 2 && q == 3) q = 0; /* class 3 absent from both in image 2 */
            truth[i * PIXELS + p] = t;
            pred[i * PIXELS + p] = q;
        }
}

static double *run_oracle(const int32_t *truth, const int32_t *pred, size_t count) {
    const char *in = mtn_test_path("seg_in.txt"), *out = mtn_test_path("seg_out.txt");
    FILE *f = fopen(in, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fprintf(f, "%d %d %d\n", IMAGES, PIXELS, K);
    for (int i = 0; i < IMAGES * PIXELS; i++) fprintf(f, "%d\n", truth[i]);
    for (int i = 0; i < IMAGES * PIXELS; i++) fprintf(f, "%d\n", pred[i]);
    CU_ASSERT_FATAL(fclose(f) == 0);
    return mtn_test_run_oracle("segmentation_oracle.py", in, out, count);
}

static void test_against_sklearn(void) {
    int32_t *truth = malloc(sizeof(int32_t) * IMAGES * PIXELS), *pred = malloc(sizeof(int32_t) * IMAGES * PIXELS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(truth);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pred);
    make_labels(truth, pred);
    int64_t conf[K * K] = {0}, counts[3 * K], pooled[3 * K];
    double f1[K], iou[K], f1_sum[K] = {0}, iou_sum[K] = {0};
    for (int i = 0; i < IMAGES; i++) {
        mtn_seg_count(truth + i * PIXELS, pred + i * PIXELS, PIXELS, K, conf, counts);
        mtn_seg_scores(counts, K, f1, iou);
        for (int c = 0; c < K; c++) f1_sum[c] += f1[c], iou_sum[c] += iou[c];
    }
    mtn_seg_counts_of_confusion(conf, K, pooled);
    mtn_seg_scores(pooled, K, f1, iou);
    double *ref = run_oracle(truth, pred, K * K + 4 * K);
    if (ref) {
        /* counts are exact; scores are ratios of the same integers, computed in
         * double on both sides: equal to a few ulps */
        for (int i = 0; i < K * K; i++) CU_ASSERT_EQUAL(conf[i], (int64_t)ref[i]);
        double worst = 0;
        for (int c = 0; c < K; c++) {
            worst = fmax(worst, fabs(f1[c] - ref[K * K + c]));
            worst = fmax(worst, fabs(iou[c] - ref[K * K + K + c]));
            worst = fmax(worst, fabs(f1_sum[c] / IMAGES - ref[K * K + 2 * K + c]));
            worst = fmax(worst, fabs(iou_sum[c] / IMAGES - ref[K * K + 3 * K + c]));
        }
        printf("\n    pooled and per-image F1 / IoU against sklearn: max |diff| %.2g", worst);
        CU_ASSERT(worst < 1e-12);
        free(ref);
    }
    free(truth);
    free(pred);
}

static void test_hand_counts(void) {
    /* truth 0 0 1 1 2, pred 0 1 1 1 0: class 0 tp 1 fp 1 fn 1; class 1 tp 2 fp 1 fn 0;
     * class 2 tp 0 fp 0 fn 1; class 3 absent: F1 = IoU = 1 */
    const int32_t t[] = {0, 0, 1, 1, 2}, p[] = {0, 1, 1, 1, 0};
    int64_t counts[12], conf[16] = {0};
    double f1[4], iou[4];
    mtn_seg_count(t, p, 5, 4, conf, counts);
    const int64_t want[12] = {1, 1, 1, 2, 1, 0, 0, 0, 1, 0, 0, 0};
    for (int i = 0; i < 12; i++) CU_ASSERT_EQUAL(counts[i], want[i]);
    int64_t again[12];
    mtn_seg_counts_of_confusion(conf, 4, again);
    for (int i = 0; i < 12; i++) CU_ASSERT_EQUAL(again[i], want[i]);
    mtn_seg_scores(counts, 4, f1, iou);
    CU_ASSERT_DOUBLE_EQUAL(f1[0], 0.5, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(iou[0], 1.0 / 3, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(f1[1], 0.8, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(iou[1], 2.0 / 3, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(f1[2], 0.0, 0);
    CU_ASSERT_DOUBLE_EQUAL(f1[3], 1.0, 0);
    CU_ASSERT_DOUBLE_EQUAL(iou[3], 1.0, 0);
}

static void test_argmax(void) {
    /* logits (3 classes, 4 pixels): a clear winner, a tie (first wins), negatives */
    const float logits[] = {1, 0.5f, -3, 2,
                            0, 0.5f, -1, 2,
                            2, 0.1f, -2, 1};
    int32_t pred[4];
    mtn_seg_argmax(logits, 3, 4, pred);
    CU_ASSERT(pred[0] == 2 && pred[1] == 0 && pred[2] == 1 && pred[3] == 0);
}

static const mtn_test_case segmentation_tests[] = {
    {"confusion, pooled and per-image F1 / IoU against scikit-learn", test_against_sklearn},
    {"counts and scores by hand; an absent class scores 1", test_hand_counts},
    {"argmax per pixel, first on ties", test_argmax},
    {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {
    {"segmentation scores", segmentation_tests},
    {NULL, NULL},
};
