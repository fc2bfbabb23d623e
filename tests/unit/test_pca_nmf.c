/* test_pca_nmf.c — Task 1's PCA and NMF baselines (mtn_pca_*, mtn_nmf_*). PCA against
 * scikit-learn through tests/ref/pca_nmf_oracle.py (explained variance, components
 * under the sign convention, transform) on the covariance path (n >= d), the Gram
 * path (n < d) and a rank-deficient case (k = n); NMF's non-negative factors,
 * decreasing loss, reproducible bits, its documented initial W, the final loss of
 * sklearn's solver='mu' started from our initial W and H (tight: same algorithm) and
 * from its own init='random' (loose); and bad inputs (k too large, negative values,
 * no samples). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mtn/eval.h"

enum { NMF_ITERS = 200, NMF_SEED = 7 };

/* A data set: non-negative, a rank-5 signal with decreasing weights plus noise, so
 * the leading eigenvalues are well apart. Values are exact in the text file. */
typedef struct {
    int n, d, k;
    float *x;
    double *ref; /* oracle output: ev (k), components (k*d), transform (n*k), NMF loss
                  * from sklearn's random init, NMF loss from our initial W and H */
} dataset;

static float *make_data(int n, int d, uint64_t seed) {
    enum { RANK = 5 };
    float *x = malloc((size_t)n * (size_t)d * sizeof *x);
    double *a = malloc((size_t)n * RANK * sizeof *a), *b = malloc((size_t)d * RANK * sizeof *b);
    CU_ASSERT_FATAL(x && a && b);
    mtn_rng rng;
    mtn_rng_init(&rng, seed, 100, 0);
    for (int i = 0; i < n * RANK; i++) a[i] = mtn_rng_uniform(&rng);
    for (int i = 0; i < d * RANK; i++) b[i] = mtn_rng_uniform(&rng);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            double v = 0.3 * mtn_rng_uniform(&rng);
            for (int r = 0; r < RANK; r++) v += 4.0 / (r + 1) * a[i * RANK + r] * b[j * RANK + r];
            x[(size_t)i * (size_t)d + (size_t)j] = (float)v;
        }
    free(a);
    free(b);
    return x;
}

static void write_rows(FILE *f, const float *a, int rows, int cols) {
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            fprintf(f, "%.9g%c", (double)a[(size_t)i * (size_t)cols + (size_t)j], j + 1 < cols ? ' ' : '\n');
}

/* Runs the oracle on x and NMF's initial w0 (n, k), h0 (k, d); returns its numbers
 * (malloc'd) or NULL after a failed assert. */
static double *run_oracle(const float *x, int n, int d, int k, int iterations, const float *w0, const float *h0) {
    char in[512], out[512];
    snprintf(in, sizeof in, "%s/pca_nmf_in_%dx%dx%d.txt", mtn_test_tmpdir(), n, d, k);
    snprintf(out, sizeof out, "%s/pca_nmf_out_%dx%dx%d.txt", mtn_test_tmpdir(), n, d, k);
    FILE *f = fopen(in, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fprintf(f, "%d %d %d %d\n", n, d, k, iterations);
    write_rows(f, x, n, d);
    write_rows(f, w0, n, k);
    write_rows(f, h0, k, d);
    CU_ASSERT_FATAL(fclose(f) == 0);
    size_t count = (size_t)k + (size_t)k * (size_t)d + (size_t)n * (size_t)k + 2;
    return mtn_test_run_oracle("pca_nmf_oracle.py", in, out, count);
}

/* The data sets, built and sent to the oracle once each. */
enum { CASE_SCATTER, CASE_GRAM, CASE_DEFICIENT, CASE_COUNT };
static dataset cases[CASE_COUNT];
static const int case_shape[CASE_COUNT][3] = {{60, 40, 8}, {30, 100, 10}, {30, 100, 30}};

static void free_cases(void) {
    for (int i = 0; i < CASE_COUNT; i++) {
        free(cases[i].x);
        free(cases[i].ref);
    }
}

static const dataset *get_case(int which) {
    dataset *c = &cases[which];
    if (!c->x) {
        static bool registered;
        if (!registered) registered = atexit(free_cases) == 0;
        c->n = case_shape[which][0];
        c->d = case_shape[which][1];
        c->k = case_shape[which][2];
        c->x = make_data(c->n, c->d, 11 + (uint64_t)which);
        /* NMF's initial factors: a fit of 0 iterations. */
        float *w0 = malloc((size_t)c->n * (size_t)c->k * sizeof *w0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(w0);
        mtn_nmf m0;
        CU_ASSERT_EQUAL_FATAL(mtn_nmf_fit(c->x, c->n, c->d, c->k, 0, NMF_SEED, &m0, w0), MTN_OK);
        c->ref = run_oracle(c->x, c->n, c->d, c->k, NMF_ITERS, w0, m0.h);
        mtn_nmf_free(&m0);
        free(w0);
    }
    return c->ref ? c : NULL;
}

/* ------------------------------------------------------------------- PCA --- */

static void check_pca_case(int which, const char *label) {
    const dataset *c = get_case(which);
    if (!c) return;
    const int n = c->n, d = c->d, k = c->k;
    const double *ref_ev = c->ref, *ref_c = c->ref + k, *ref_t = c->ref + k + (size_t)k * (size_t)d;
    mtn_pca p;
    CU_ASSERT_EQUAL_FATAL(mtn_pca_fit(c->x, n, d, k, &p), MTN_OK);
    CU_ASSERT_EQUAL(p.d, d);
    CU_ASSERT_EQUAL(p.k, k);
    float *t = malloc((size_t)n * (size_t)k * sizeof *t);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(mtn_pca_transform(&p, c->x, n, t), MTN_OK);

    /* Components whose variance is ~0 (beyond the rank of the centred data) are
     * arbitrary in both; only the others are compared. */
    double ev_max = ref_ev[0], ev_rel = 0, comp_abs = 0, trans_abs = 0, ortho = 0;
    int compared = 0;
    for (int i = 0; i < k; i++) {
        if (ref_ev[i] <= 1e-9 * ev_max) {
            CU_ASSERT(p.explained_variance[i] <= 1e-9 * ev_max);
            continue;
        }
        compared++;
        ev_rel = fmax(ev_rel, fabs(p.explained_variance[i] - ref_ev[i]) / ref_ev[i]);
        for (int j = 0; j < d; j++)
            comp_abs = fmax(comp_abs, fabs((double)p.components[(size_t)i * (size_t)d + (size_t)j] -
                                           ref_c[(size_t)i * (size_t)d + (size_t)j]));
        for (int s = 0; s < n; s++)
            trans_abs = fmax(trans_abs, fabs((double)t[(size_t)s * (size_t)k + (size_t)i] -
                                             ref_t[(size_t)s * (size_t)k + (size_t)i]));
    }
    /* Every row: unit length, orthogonal to the others, largest entry positive. */
    for (int i = 0; i < k; i++) {
        const float *ci = p.components + (size_t)i * (size_t)d;
        int arg = 0;
        for (int j = 1; j < d; j++)
            if (fabsf(ci[j]) > fabsf(ci[arg])) arg = j;
        CU_ASSERT(ci[arg] > 0);
        for (int l = 0; l <= i; l++) {
            const float *cl = p.components + (size_t)l * (size_t)d;
            double dot = 0;
            for (int j = 0; j < d; j++) dot += (double)ci[j] * (double)cl[j];
            ortho = fmax(ortho, fabs(dot - (l == i ? 1.0 : 0.0)));
        }
    }
    for (int i = 1; i < k; i++) CU_ASSERT(p.explained_variance[i] <= p.explained_variance[i - 1]);
    printf("\n    %s (n=%d d=%d k=%d, %d compared): explained variance max rel %.2e, components max abs %.2e, "
           "transform max abs %.2e, |C C^T - I| max %.2e\n",
           label, n, d, k, compared, ev_rel, comp_abs, trans_abs, ortho);
    CU_ASSERT(compared >= (k < n - 1 ? k : n - 1));
    CU_ASSERT(ev_rel <= 1e-4);
    CU_ASSERT(comp_abs <= 1e-4);
    CU_ASSERT(trans_abs <= 1e-4 * (1.0 + sqrt(ev_max)));
    CU_ASSERT(ortho <= 1e-5);

    /* Same bits on a second fit. */
    mtn_pca q;
    CU_ASSERT_EQUAL_FATAL(mtn_pca_fit(c->x, n, d, k, &q), MTN_OK);
    CU_ASSERT(memcmp(p.components, q.components, (size_t)k * (size_t)d * sizeof(float)) == 0);
    CU_ASSERT(memcmp(p.mean, q.mean, (size_t)d * sizeof(float)) == 0);
    CU_ASSERT(memcmp(p.explained_variance, q.explained_variance, (size_t)k * sizeof(double)) == 0);
    mtn_pca_free(&q);
    free(t);
    mtn_pca_free(&p);
    CU_ASSERT_PTR_NULL(p.components);
    mtn_pca_free(&p); /* twice is harmless */
    mtn_pca_free(NULL);
}

static void test_pca_scatter_path(void) { check_pca_case(CASE_SCATTER, "covariance path"); }
static void test_pca_gram_path(void) { check_pca_case(CASE_GRAM, "Gram path"); }
static void test_pca_rank_deficient(void) { check_pca_case(CASE_DEFICIENT, "Gram path, k = n"); }

static void test_pca_bad_input(void) {
    float x[12 * 5];
    for (int i = 0; i < 12 * 5; i++) x[i] = (float)((i * 7) % 11);
    mtn_pca p;
    CU_ASSERT_EQUAL(mtn_pca_fit(x, 12, 5, 6, &p), MTN_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "6 components"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "= 5"));
    CU_ASSERT_PTR_NULL(p.components);
    mtn_pca_free(&p);
    CU_ASSERT_EQUAL(mtn_pca_fit(x, 5, 12, 6, &p), MTN_EUSAGE); /* d > n: at most n */
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "6 components"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "= 5"));
    CU_ASSERT_EQUAL(mtn_pca_fit(x, 12, 5, 0, &p), MTN_EUSAGE);
    CU_ASSERT_EQUAL(mtn_pca_fit(x, 0, 5, 1, &p), MTN_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "0 samples"));
    CU_ASSERT_EQUAL(mtn_pca_fit(x, 1, 5, 1, &p), MTN_EUSAGE);
    CU_ASSERT_EQUAL(mtn_pca_fit(x, 12, 0, 1, &p), MTN_EUSAGE);
    x[2 * 5 + 3] = NAN;
    CU_ASSERT_EQUAL(mtn_pca_fit(x, 12, 5, 2, &p), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "row 2 column 3"));
    CU_ASSERT_PTR_NULL(p.mean);
    x[2 * 5 + 3] = 1;
    /* Constant data: zero variance, components still an orthonormal set. */
    for (int i = 0; i < 12 * 5; i++) x[i] = 3;
    CU_ASSERT_EQUAL_FATAL(mtn_pca_fit(x, 12, 5, 5, &p), MTN_OK);
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(p.explained_variance[i], 0.0);
        CU_ASSERT_DOUBLE_EQUAL(p.components[i * 5 + i], 1.0, 1e-6);
    }
    float t[12 * 5];
    CU_ASSERT_EQUAL(mtn_pca_transform(&p, x, 12, t), MTN_OK);
    for (int i = 0; i < 12 * 5; i++) CU_ASSERT_EQUAL(t[i], 0.0f);
    CU_ASSERT_EQUAL(mtn_pca_transform(&p, x, 0, t), MTN_OK);
    CU_ASSERT_EQUAL(mtn_pca_transform(&p, x, -1, t), MTN_EUSAGE);
    mtn_pca_free(&p);
}

/* ------------------------------------------------------------------- NMF --- */

/* ||X - W H||_F in double, independently of the library. */
static double loss_of(const float *x, const float *w, const float *h, int n, int d, int k) {
    double sum = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            double v = 0;
            for (int c = 0; c < k; c++) v += (double)w[i * k + c] * (double)h[(size_t)c * (size_t)d + (size_t)j];
            double r = (double)x[(size_t)i * (size_t)d + (size_t)j] - v;
            sum += r * r;
        }
    return sqrt(sum);
}

static bool all_non_negative(const float *a, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (!(a[i] >= 0)) return false;
    return true;
}

static void check_nmf_case(int which) {
    const dataset *c = get_case(which);
    if (!c) return;
    const int n = c->n, d = c->d, k = c->k;
    const double sk_random = c->ref[k + (size_t)k * (size_t)d + (size_t)n * (size_t)k],
                 sk_same_init = c->ref[k + (size_t)k * (size_t)d + (size_t)n * (size_t)k + 1];
    const size_t nk = (size_t)n * (size_t)k, kd = (size_t)k * (size_t)d;
    const int iters[] = {0, 10, 50, NMF_ITERS};
    double loss[4];
    float *w = malloc(nk * sizeof *w), *w2 = malloc(nk * sizeof *w2), *w0 = malloc(nk * sizeof *w0);
    CU_ASSERT_FATAL(w && w2 && w0);
    mtn_nmf m = {0}, m2 = {0};
    for (int i = 0; i < 4; i++) {
        mtn_nmf_free(&m);
        CU_ASSERT_EQUAL_FATAL(mtn_nmf_fit(c->x, n, d, k, iters[i], NMF_SEED, &m, i == 0 ? w0 : w), MTN_OK);
        loss[i] = m.final_loss;
        if (i > 0) CU_ASSERT(loss[i] <= loss[i - 1]);
    }
    /* m, w: the 200-iteration fit. */
    CU_ASSERT(loss[3] < loss[0]);
    CU_ASSERT_EQUAL(m.d, d);
    CU_ASSERT_EQUAL(m.k, k);
    CU_ASSERT(all_non_negative(w, nk));
    CU_ASSERT(all_non_negative(m.h, kd));
    double direct = loss_of(c->x, w, m.h, n, d, k);
    CU_ASSERT(fabs(direct - m.final_loss) <= 1e-5 * direct);

    /* Same bits twice; another seed, other bits. W may also be left to the library. */
    CU_ASSERT_EQUAL_FATAL(mtn_nmf_fit(c->x, n, d, k, NMF_ITERS, NMF_SEED, &m2, w2), MTN_OK);
    CU_ASSERT(memcmp(m.h, m2.h, kd * sizeof(float)) == 0);
    CU_ASSERT(memcmp(w, w2, nk * sizeof(float)) == 0);
    CU_ASSERT(m.final_loss == m2.final_loss);
    mtn_nmf_free(&m2);
    CU_ASSERT_EQUAL_FATAL(mtn_nmf_fit(c->x, n, d, k, NMF_ITERS, NMF_SEED, &m2, NULL), MTN_OK);
    CU_ASSERT(memcmp(m.h, m2.h, kd * sizeof(float)) == 0);
    mtn_nmf_free(&m2);
    CU_ASSERT_EQUAL_FATAL(mtn_nmf_fit(c->x, n, d, k, NMF_ITERS, NMF_SEED + 1, &m2, NULL), MTN_OK);
    CU_ASSERT(memcmp(m.h, m2.h, kd * sizeof(float)) != 0);
    mtn_nmf_free(&m2);

    /* Transform: with 0 updates W is the fit's initial W (rows keyed by index); with
     * H fixed, the updates reach about the fit's loss. */
    CU_ASSERT_EQUAL(mtn_nmf_transform(&m, c->x, n, 0, NMF_SEED, w2), MTN_OK);
    CU_ASSERT(memcmp(w0, w2, nk * sizeof(float)) == 0);
    CU_ASSERT_EQUAL(mtn_nmf_transform(&m, c->x, n, NMF_ITERS, NMF_SEED, w2), MTN_OK);
    CU_ASSERT(all_non_negative(w2, nk));
    double transform_loss = loss_of(c->x, w2, m.h, n, d, k);
    CU_ASSERT(transform_loss <= 1.05 * m.final_loss);

    /* sklearn's mu solver from our initial W and H: the same updates, in float64, so
     * nearly the same loss. From its own init='random' (|N(0, 1)| * sqrt(mean / k),
     * ours is U[0, 1) * the same) the 200 iterations end elsewhere: ours may be lower,
     * but not more than 10% higher. */
    double rel_same = fabs(m.final_loss - sk_same_init) / sk_same_init;
    double rel_random = (m.final_loss - sk_random) / sk_random;
    printf("\n    n=%d d=%d k=%d: loss %.6g (0 it) %.6g (10) %.6g (50) %.6g (200); sklearn mu from our init %.6g "
           "(rel diff %.2e), from init='random' %.6g (ours %+.1f%%); transform with H fixed %.6g\n",
           n, d, k, loss[0], loss[1], loss[2], loss[3], sk_same_init, rel_same, sk_random, 100 * rel_random,
           transform_loss);
    CU_ASSERT(rel_same <= 1e-4);
    CU_ASSERT(rel_random <= 0.10);
    mtn_nmf_free(&m);
    mtn_nmf_free(&m);
    mtn_nmf_free(NULL);
    free(w);
    free(w2);
    free(w0);
}

static void test_nmf_small(void) { check_nmf_case(CASE_SCATTER); }
static void test_nmf_wide(void) { check_nmf_case(CASE_GRAM); }

static void test_nmf_bad_input(void) {
    float x[6 * 8], w[6 * 3];
    for (int i = 0; i < 6 * 8; i++) x[i] = (float)(i % 5);
    mtn_nmf m;
    x[3 * 8 + 5] = -0.5f;
    CU_ASSERT_EQUAL(mtn_nmf_fit(x, 6, 8, 3, 10, 1, &m, w), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "row 3 column 5"));
    CU_ASSERT_PTR_NULL(m.h);
    x[3 * 8 + 5] = INFINITY;
    CU_ASSERT_EQUAL(mtn_nmf_fit(x, 6, 8, 3, 10, 1, &m, w), MTN_EDATA);
    x[3 * 8 + 5] = 1;
    CU_ASSERT_EQUAL(mtn_nmf_fit(x, 0, 8, 3, 10, 1, &m, w), MTN_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "0 samples"));
    CU_ASSERT_EQUAL(mtn_nmf_fit(x, 6, 0, 3, 10, 1, &m, w), MTN_EUSAGE);
    CU_ASSERT_EQUAL(mtn_nmf_fit(x, 6, 8, 0, 10, 1, &m, w), MTN_EUSAGE);
    CU_ASSERT_EQUAL(mtn_nmf_fit(x, 6, 8, 3, -1, 1, &m, w), MTN_EUSAGE);
    /* A good fit, then a transform given a negative value. */
    CU_ASSERT_EQUAL_FATAL(mtn_nmf_fit(x, 6, 8, 3, 10, 1, &m, w), MTN_OK);
    x[1 * 8 + 2] = -1;
    CU_ASSERT_EQUAL(mtn_nmf_transform(&m, x, 6, 10, 1, w), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "row 1 column 2"));
    CU_ASSERT_EQUAL(mtn_nmf_transform(&m, x, 0, 10, 1, w), MTN_OK);
    CU_ASSERT_EQUAL(mtn_nmf_transform(&m, x, -2, 10, 1, w), MTN_EUSAGE);
    mtn_nmf_free(&m);
    /* All zeros: zero factors, zero loss, no NaN. */
    memset(x, 0, sizeof x);
    CU_ASSERT_EQUAL_FATAL(mtn_nmf_fit(x, 6, 8, 3, 10, 1, &m, w), MTN_OK);
    CU_ASSERT_EQUAL(m.final_loss, 0.0);
    for (int i = 0; i < 6 * 3; i++) CU_ASSERT_EQUAL(w[i], 0.0f);
    mtn_nmf_free(&m);
}

static const mtn_test_case pca_tests[] = {
    {"covariance path (n >= d) matches sklearn", test_pca_scatter_path},
    {"Gram path (n < d) matches sklearn", test_pca_gram_path},
    {"rank-deficient k = n is completed orthonormally", test_pca_rank_deficient},
    {"bad input", test_pca_bad_input},
    {NULL, NULL},
};

static const mtn_test_case nmf_tests[] = {
    {"n > d: loss decreases, reproducible, near sklearn mu", test_nmf_small},
    {"n < d: loss decreases, reproducible, near sklearn mu", test_nmf_wide},
    {"bad input", test_nmf_bad_input},
    {NULL, NULL},
};

const mtn_test_suite mtn_test_suites[] = {
    {"pca", pca_tests},
    {"nmf", nmf_tests},
    {NULL, NULL},
};
