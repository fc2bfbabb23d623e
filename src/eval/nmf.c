/* nmf.c — non-negative matrix factorisation for Task 1's NMF baseline (mtn_nmf_*, see
 * mtn/eval.h): Lee & Seung's multiplicative updates for the Frobenius loss, as
 * sklearn's solver='mu'. Every product is one single-precision GEMM whose shape
 * depends only on (n, d, k), and every other sum runs in a fixed order, so the same
 * inputs and seed give the same bits. The initial factors come from the counter-based
 * Philox stream (seed, MTN_STREAM_NMF). */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mtn/eval.h"

#define NMF_EPS 1e-10f
/* Row i of W draws from counter NMF_W_COUNTER + i * ceil(k / 4); H from counter 0. */
#define NMF_W_COUNTER (UINT64_C(1) << 62)
/* Rows of W H formed at a time when measuring the loss. */
enum { NMF_LOSS_ROWS = 256 };

/* Buffers of one fit or transform, each (rows, cols) floats. */
typedef struct {
    float *xht, *wden;       /* (n, k): X H^T and W H H^T */
    float *hnum, *hden;      /* (k, d): W^T X and W^T W H (fit only) */
    float *hht, *wtw;        /* (k, k) */
    float *wh;               /* (min(n, NMF_LOSS_ROWS), d): loss scratch */
    float *w_own;            /* W when the caller passes none */
} nmf_work;

static void work_free(nmf_work *b) {
    free(b->xht);
    free(b->wden);
    free(b->hnum);
    free(b->hden);
    free(b->hht);
    free(b->wtw);
    free(b->wh);
    free(b->w_own);
    memset(b, 0, sizeof *b);
}

/* malloc of rows * cols floats, NULL on failure (sizes were checked by the caller). */
static float *alloc_floats(int64_t rows, int64_t cols) {
    size_t count = (size_t)rows * (size_t)cols;
    return malloc((count ? count : 1) * sizeof(float));
}

/* Checks shapes and that n*d, n*k and k*d floats fit in size_t. */
static int check_shape(int64_t n, int d, int k) {
    if (n > INT_MAX) return mtn_error_set(MTN_EOVERFLOW, "nmf: %lld samples are more than BLAS can index", (long long)n);
    size_t bytes;
    if (!mtn_mul_size((size_t)n, (size_t)d, &bytes) || !mtn_mul_size(bytes, sizeof(float), &bytes) ||
        !mtn_mul_size((size_t)n, (size_t)k, &bytes) || !mtn_mul_size(bytes, sizeof(float), &bytes) ||
        !mtn_mul_size((size_t)k, (size_t)d, &bytes) || !mtn_mul_size(bytes, sizeof(float), &bytes))
        return mtn_error_set(MTN_EOVERFLOW, "nmf: %lld x %d data with %d components does not fit in memory",
                             (long long)n, d, k);
    return MTN_OK;
}

/* MTN_EDATA naming the first negative or non-finite value; else *mean = mean(X),
 * summed in double, row by row. */
static int check_values(const float *x, int64_t n, int d, double *mean) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *row = x + (size_t)i * (size_t)d;
        for (int j = 0; j < d; j++) {
            if (!isfinite(row[j]) || row[j] < 0)
                return mtn_error_set(MTN_EDATA,
                                     "nmf: input row %lld column %d is %g; NMF needs finite non-negative values",
                                     (long long)i, j, (double)row[j]);
            sum += (double)row[j];
        }
    }
    *mean = sum / ((double)n * (double)d);
    return MTN_OK;
}

static float init_scale(double mean, int k) { return (float)sqrt(mean / (double)k); }

static void init_h(float *h, int k, int d, float scale, uint64_t seed) {
    mtn_rng r;
    mtn_rng_init(&r, seed, MTN_STREAM_NMF, 0);
    size_t count = (size_t)k * (size_t)d;
    for (size_t i = 0; i < count; i++) h[i] = mtn_rng_uniformf(&r) * scale;
}

static void init_w(float *w, int64_t n, int k, float scale, uint64_t seed) {
    const uint64_t blocks_per_row = ((uint64_t)k + 3) / 4;
    for (int64_t i = 0; i < n; i++) {
        mtn_rng r;
        mtn_rng_init(&r, seed, MTN_STREAM_NMF, NMF_W_COUNTER + (uint64_t)i * blocks_per_row);
        float *row = w + (size_t)i * (size_t)k;
        for (int c = 0; c < k; c++) row[c] = mtn_rng_uniformf(&r) * scale;
    }
}

/* a[i] *= num[i] / (den[i] + eps) */
static void multiply_update(float *a, const float *num, const float *den, size_t count) {
    for (size_t i = 0; i < count; i++) a[i] *= num[i] / (den[i] + NMF_EPS);
}

/* hht = H H^T (k, k). */
static void gram_h(const float *h, int k, int d, float *hht) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, k, k, d, 1.0f, h, d, h, d, 0.0f, hht, k);
}

/* xht = X H^T (n, k). */
static void x_ht(const float *x, int n, int d, int k, const float *h, float *xht) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, k, d, 1.0f, x, d, h, d, 0.0f, xht, k);
}

/* W *= X H^T / (W H H^T + eps), with xht and hht already formed. */
static void update_w(float *w, int n, int k, const float *xht, const float *hht, float *wden) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, k, k, 1.0f, w, k, hht, k, 0.0f, wden, k);
    multiply_update(w, xht, wden, (size_t)n * (size_t)k);
}

/* H *= W^T X / (W^T W H + eps). */
static void update_h(float *h, const float *x, const float *w, int n, int d, int k, nmf_work *b) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, d, n, 1.0f, w, k, x, d, 0.0f, b->hnum, d);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, k, n, 1.0f, w, k, w, k, 0.0f, b->wtw, k);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, k, d, k, 1.0f, b->wtw, k, h, d, 0.0f, b->hden, d);
    multiply_update(h, b->hnum, b->hden, (size_t)k * (size_t)d);
}

/* ||X - W H||_F, W H formed NMF_LOSS_ROWS rows at a time, squares summed in double in
 * row order. */
static double frobenius_loss(const float *x, const float *w, const float *h, int n, int d, int k, float *wh) {
    double sum = 0;
    for (int i0 = 0; i0 < n; i0 += NMF_LOSS_ROWS) {
        int rows = n - i0 < NMF_LOSS_ROWS ? n - i0 : NMF_LOSS_ROWS;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, d, k, 1.0f, w + (size_t)i0 * (size_t)k, k, h,
                    d, 0.0f, wh, d);
        const float *xr = x + (size_t)i0 * (size_t)d;
        size_t count = (size_t)rows * (size_t)d;
        for (size_t i = 0; i < count; i++) {
            double r = (double)xr[i] - (double)wh[i];
            sum += r * r;
        }
    }
    return sqrt(sum);
}

/* The shape and the values (non-negative, finite) of an input; its mean for the init. */
static int check_input(const float *x, int64_t n, int d, int k, double *mean) {
    int status = check_shape(n, d, k);
    return status != MTN_OK ? status : check_values(x, n, d, mean);
}

int mtn_nmf_fit(const float *x, int64_t n, int d, int k, int iterations, uint64_t seed, mtn_nmf *out, float *w) {
    MTN_ASSERT(out != NULL);
    memset(out, 0, sizeof *out);
    if (n < 1) return mtn_error_set(MTN_EUSAGE, "nmf: %lld samples; NMF needs at least 1", (long long)n);
    if (d < 1) return mtn_error_set(MTN_EUSAGE, "nmf: %d features; NMF needs at least 1", d);
    if (k < 1) return mtn_error_set(MTN_EUSAGE, "nmf: %d components; NMF needs at least 1", k);
    if (iterations < 0) return mtn_error_set(MTN_EUSAGE, "nmf: %d iterations", iterations);
    MTN_ASSERT(x != NULL);
    double mean = 0.0;
    int status = check_input(x, n, d, k, &mean);
    if (status != MTN_OK) return status;

    const int rows = (int)n;
    nmf_work b = {0};
    b.xht = alloc_floats(n, k);
    b.wden = alloc_floats(n, k);
    b.hnum = alloc_floats(k, d);
    b.hden = alloc_floats(k, d);
    b.hht = alloc_floats(k, k);
    b.wtw = alloc_floats(k, k);
    b.wh = alloc_floats(rows < NMF_LOSS_ROWS ? rows : NMF_LOSS_ROWS, d);
    if (!w) w = b.w_own = alloc_floats(n, k);
    out->h = alloc_floats(k, d);
    if (!b.xht || !b.wden || !b.hnum || !b.hden || !b.hht || !b.wtw || !b.wh || !w || !out->h) {
        work_free(&b);
        mtn_nmf_free(out);
        return mtn_error_set(MTN_ENOMEM, "nmf: out of memory for %lld x %d data with %d components", (long long)n,
                             d, k);
    }
    float scale = init_scale(mean, k);
    init_h(out->h, k, d, scale, seed);
    init_w(w, n, k, scale, seed);
    for (int it = 0; it < iterations; it++) {
        x_ht(x, rows, d, k, out->h, b.xht);
        gram_h(out->h, k, d, b.hht);
        update_w(w, rows, k, b.xht, b.hht, b.wden);
        update_h(out->h, x, w, rows, d, k, &b);
    }
    out->d = d;
    out->k = k;
    out->final_loss = frobenius_loss(x, w, out->h, rows, d, k, b.wh);
    work_free(&b);
    return MTN_OK;
}

int mtn_nmf_transform(const mtn_nmf *m, const float *x, int64_t n, int iterations, uint64_t seed, float *w) {
    MTN_ASSERT(m != NULL && m->h != NULL);
    const int d = m->d, k = m->k;
    if (n < 0) return mtn_error_set(MTN_EUSAGE, "nmf: transform of %lld samples", (long long)n);
    if (iterations < 0) return mtn_error_set(MTN_EUSAGE, "nmf: %d iterations", iterations);
    if (n == 0) return MTN_OK;
    MTN_ASSERT(x != NULL && w != NULL);
    double mean = 0.0;
    int status = check_input(x, n, d, k, &mean);
    if (status != MTN_OK) return status;

    const int rows = (int)n;
    nmf_work b = {0};
    b.xht = alloc_floats(n, k);
    b.wden = alloc_floats(n, k);
    b.hht = alloc_floats(k, k);
    if (!b.xht || !b.wden || !b.hht) {
        work_free(&b);
        return mtn_error_set(MTN_ENOMEM, "nmf: out of memory for transforming %lld x %d data", (long long)n, d);
    }
    init_w(w, n, k, init_scale(mean, k), seed);
    /* H is fixed, so X H^T and H H^T are formed once. */
    x_ht(x, rows, d, k, m->h, b.xht);
    gram_h(m->h, k, d, b.hht);
    for (int it = 0; it < iterations; it++) update_w(w, rows, k, b.xht, b.hht, b.wden);
    work_free(&b);
    return MTN_OK;
}

void mtn_nmf_free(mtn_nmf *m) {
    if (!m) return;
    free(m->h);
    memset(m, 0, sizeof *m);
}
