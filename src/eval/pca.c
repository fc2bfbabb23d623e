/* pca.c — principal component analysis for Task 1's PCA baseline (mtn_pca_*, see
 * mtn/eval.h): the mean, then the top-k eigenvectors of the covariance of the centred
 * data, solved in double. With fewer samples than features the eigen-problem is the
 * n x n Gram matrix Xc Xc^T (components = Xc^T u / sqrt(eigenvalue)), so no d x d
 * matrix is ever formed; otherwise the d x d scatter matrix Xc^T Xc. The centred data
 * is never held whole in double: it is rebuilt block by block for each product. */
#include <cblas.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mtn/eval.h"

/* Columns (Gram path) or rows (scatter path, transform) of centred data per block. */
enum { PCA_BLOCK = 256 };
/* Eigenvalues at or below this fraction of the largest are rank deficiency (rounding
 * noise of a zero eigenvalue is ~1e-16 of the largest); their components are an
 * orthonormal completion instead of Xc^T u / sqrt(eigenvalue). */
static const double PCA_RANK_TOL = 1e-12;

/* malloc/calloc of count * size bytes with the product checked; NULL on overflow or
 * failure (the caller reports MTN_ENOMEM or MTN_EOVERFLOW via the flag). */
static void *alloc_array(size_t count, size_t size, bool zero, bool *overflow) {
    size_t bytes;
    if (!mtn_mul_size(count, size, &bytes)) {
        *overflow = true;
        return NULL;
    }
    if (bytes == 0) bytes = 1;
    return zero ? calloc(1, bytes) : malloc(bytes);
}

static int alloc_failed(bool overflow, const char *what) {
    if (overflow) return mtn_error_set(MTN_EOVERFLOW, "pca: the size of %s does not fit in memory", what);
    return mtn_error_set(MTN_ENOMEM, "pca: out of memory for %s", what);
}

/* MTN_EDATA naming the first NaN or infinite value, else MTN_OK. */
static int check_finite(const float *x, int64_t n, int d) {
    for (int64_t i = 0; i < n; i++) {
        const float *row = x + (size_t)i * (size_t)d;
        for (int j = 0; j < d; j++)
            if (!isfinite(row[j]))
                return mtn_error_set(MTN_EDATA, "pca: input row %lld column %d is %g, not a finite number",
                                     (long long)i, j, (double)row[j]);
    }
    return MTN_OK;
}

/* blk (rows, cols) = x[i0.., j0..] - mean[j0..], in double; row stride of x is d. */
static void centred_block(const float *x, int d, const double *mean, int64_t i0, int rows, int j0, int cols,
                          double *blk) {
    for (int i = 0; i < rows; i++) {
        const float *src = x + (size_t)(i0 + i) * (size_t)d + (size_t)j0;
        double *dst = blk + (size_t)i * (size_t)cols;
        for (int j = 0; j < cols; j++) dst[j] = (double)src[j] - mean[j0 + j];
    }
}

/* v = e_j minus its projection on rows 0..t-1 of c (orthonormal), by Gram-Schmidt in
 * two passes; returns ||v||^2. */
static double basis_residual(const double *c, int d, int t, int j, double *v) {
    memset(v, 0, (size_t)d * sizeof *v);
    v[j] = 1.0;
    for (int pass = 0; pass < 2; pass++)
        for (int s = 0; s < t; s++) {
            const double *cs = c + (size_t)s * (size_t)d;
            cblas_daxpy(d, -cblas_ddot(d, v, 1, cs, 1), cs, 1, v, 1);
        }
    return cblas_ddot(d, v, 1, v, 1);
}

/* Row t of c (k, d) becomes a unit vector orthogonal to rows 0..t-1 (themselves
 * orthonormal): the first basis vector e_j whose part outside their span has squared
 * norm above 1/2 (at most 2t basis vectors fail that, as the squared parts inside the
 * span add up to t), else the e_j with the largest such part (positive, as t < d).
 * `v` is scratch of d doubles. */
static void complete_row(double *c, int d, int t, double *v) {
    double best = -1.0, norm2 = 0.0;
    int best_j = 0;
    for (int j = 0; j < d; j++) {
        norm2 = basis_residual(c, d, t, j, v);
        if (norm2 > 0.5) break;
        if (norm2 > best) {
            best = norm2;
            best_j = j;
        }
    }
    if (!(norm2 > 0.5)) norm2 = basis_residual(c, d, t, best_j, v);
    double inv = 1.0 / sqrt(norm2), *ct = c + (size_t)t * (size_t)d;
    for (int i = 0; i < d; i++) ct[i] = v[i] * inv;
}

/* Scales each row of c (k, d) to unit norm, except rows at or beyond `rank`, which
 * are completed to an orthonormal set; then flips each row so that its entry of
 * largest magnitude (the first, on ties) is positive. */
static void finish_components(double *c, int k, int d, int rank, double *scratch) {
    for (int t = 0; t < k; t++) {
        double *ct = c + (size_t)t * (size_t)d;
        if (t < rank) {
            double norm = cblas_dnrm2(d, ct, 1);
            for (int j = 0; j < d; j++) ct[j] /= norm;
        } else {
            complete_row(c, d, t, scratch);
        }
        int arg = 0;
        for (int j = 1; j < d; j++)
            if (fabs(ct[j]) > fabs(ct[arg])) arg = j;
        if (ct[arg] < 0)
            for (int j = 0; j < d; j++) ct[j] = -ct[j];
    }
}

/* Number of leading eigenvalues (of `k`, decreasing) that are not rank deficiency. */
static int numerical_rank(const double *lambda, int k) {
    double top = lambda[0];
    int rank = 0;
    while (rank < k && top > 0 && lambda[rank] > top * PCA_RANK_TOL) rank++;
    return rank;
}

/* Gram path (n < d): fills lambda (k, decreasing) and c (k, d) unnormalised. */
static int fit_gram(const float *x, int n, int d, int k, const double *mean, double *lambda, double *c) {
    bool overflow = false;
    int status = MTN_OK;
    double *g = alloc_array((size_t)n * (size_t)n, sizeof(double), true, &overflow);
    double *blk = alloc_array((size_t)n * PCA_BLOCK, sizeof(double), false, &overflow);
    double *w = alloc_array((size_t)n, sizeof(double), false, &overflow);
    double *uk = alloc_array((size_t)k * (size_t)n, sizeof(double), false, &overflow);
    if (!g || !blk || !w || !uk) {
        status = alloc_failed(overflow, "the Gram matrix");
        goto done;
    }
    /* G = Xc Xc^T, upper triangle in row-major = lower triangle in column-major. */
    for (int j0 = 0; j0 < d; j0 += PCA_BLOCK) {
        int cols = d - j0 < PCA_BLOCK ? d - j0 : PCA_BLOCK;
        centred_block(x, d, mean, 0, n, j0, cols, blk);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, cols, 1.0, blk, cols, 1.0, g, n);
    }
    lapack_int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', (lapack_int)n, g, (lapack_int)n, w);
    if (info != 0) {
        status = mtn_error_set(MTN_EINTERNAL, "pca: the eigen-solver (dsyevd, n = %d) failed with info %d", n,
                               (int)info);
        goto done;
    }
    /* Eigenvalues come increasing; eigenvector m is column m, contiguous. */
    for (int t = 0; t < k; t++) {
        lambda[t] = w[n - 1 - t];
        memcpy(uk + (size_t)t * (size_t)n, g + (size_t)(n - 1 - t) * (size_t)n, (size_t)n * sizeof *uk);
    }
    free(g);
    g = NULL;
    /* C = Uk^T-rows times Xc, i.e. row t = (Xc^T u_t)^T; normalised by the caller. */
    for (int j0 = 0; j0 < d; j0 += PCA_BLOCK) {
        int cols = d - j0 < PCA_BLOCK ? d - j0 : PCA_BLOCK;
        centred_block(x, d, mean, 0, n, j0, cols, blk);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, k, cols, n, 1.0, uk, n, blk, cols, 0.0, c + j0, d);
    }
done:
    free(g);
    free(blk);
    free(w);
    free(uk);
    return status;
}

/* Scatter path (n >= d): fills lambda (k, decreasing) and c (k, d) orthonormal. */
static int fit_scatter(const float *x, int64_t n, int d, int k, const double *mean, double *lambda, double *c) {
    bool overflow = false;
    int status = MTN_OK;
    double *s = alloc_array((size_t)d * (size_t)d, sizeof(double), true, &overflow);
    double *blk = alloc_array((size_t)d * PCA_BLOCK, sizeof(double), false, &overflow);
    double *w = alloc_array((size_t)d, sizeof(double), false, &overflow);
    if (!s || !blk || !w) {
        status = alloc_failed(overflow, "the covariance matrix");
        goto done;
    }
    for (int64_t i0 = 0; i0 < n; i0 += PCA_BLOCK) {
        int rows = n - i0 < PCA_BLOCK ? (int)(n - i0) : PCA_BLOCK;
        centred_block(x, d, mean, i0, rows, 0, d, blk);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, rows, 1.0, blk, d, 1.0, s, d);
    }
    lapack_int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', (lapack_int)d, s, (lapack_int)d, w);
    if (info != 0) {
        status = mtn_error_set(MTN_EINTERNAL, "pca: the eigen-solver (dsyevd, d = %d) failed with info %d", d,
                               (int)info);
        goto done;
    }
    for (int t = 0; t < k; t++) {
        lambda[t] = w[d - 1 - t];
        memcpy(c + (size_t)t * (size_t)d, s + (size_t)(d - 1 - t) * (size_t)d, (size_t)d * sizeof *c);
    }
done:
    free(s);
    free(blk);
    free(w);
    return status;
}

int mtn_pca_fit(const float *x, int64_t n, int d, int k, mtn_pca *out) {
    MTN_ASSERT(out != NULL);
    memset(out, 0, sizeof *out);
    if (n < 2) return mtn_error_set(MTN_EUSAGE, "pca: %lld samples; PCA needs at least 2", (long long)n);
    if (d < 1) return mtn_error_set(MTN_EUSAGE, "pca: %d features; PCA needs at least 1", d);
    if (n > INT_MAX) return mtn_error_set(MTN_EOVERFLOW, "pca: %lld samples are more than BLAS can index", (long long)n);
    int64_t most = n < d ? n : d;
    if (k < 1 || k > most)
        return mtn_error_set(MTN_EUSAGE,
                             "pca: %d components asked for, but 1 to min(samples, features) = min(%lld, %d) = %lld "
                             "are possible",
                             k, (long long)n, d, (long long)most);
    MTN_ASSERT(x != NULL);
    size_t nd;
    if (!mtn_mul_size((size_t)n, (size_t)d, &nd))
        return mtn_error_set(MTN_EOVERFLOW, "pca: %lld x %d values do not fit in memory", (long long)n, d);
    int status = check_finite(x, n, d);
    if (status != MTN_OK) return status;

    bool overflow = false;
    double *mean = alloc_array((size_t)d, sizeof(double), true, &overflow);
    double *lambda = alloc_array((size_t)k, sizeof(double), false, &overflow);
    double *c = alloc_array((size_t)k * (size_t)d, sizeof(double), false, &overflow);
    double *scratch = alloc_array((size_t)d, sizeof(double), false, &overflow);
    out->mean = alloc_array((size_t)d, sizeof(float), false, &overflow);
    out->components = alloc_array((size_t)k * (size_t)d, sizeof(float), false, &overflow);
    out->explained_variance = alloc_array((size_t)k, sizeof(double), false, &overflow);
    if (!mean || !lambda || !c || !scratch || !out->mean || !out->components || !out->explained_variance) {
        status = alloc_failed(overflow, "the components");
        goto done;
    }
    /* Mean in double, rows summed in order. */
    for (int64_t i = 0; i < n; i++) {
        const float *row = x + (size_t)i * (size_t)d;
        for (int j = 0; j < d; j++) mean[j] += (double)row[j];
    }
    for (int j = 0; j < d; j++) mean[j] /= (double)n;

    status = n < d ? fit_gram(x, (int)n, d, k, mean, lambda, c) : fit_scatter(x, n, d, k, mean, lambda, c);
    if (status != MTN_OK) goto done;
    finish_components(c, k, d, numerical_rank(lambda, k), scratch);

    out->d = d;
    out->k = k;
    for (int j = 0; j < d; j++) out->mean[j] = (float)mean[j];
    for (size_t i = 0; i < (size_t)k * (size_t)d; i++) out->components[i] = (float)c[i];
    for (int t = 0; t < k; t++) out->explained_variance[t] = (lambda[t] > 0 ? lambda[t] : 0.0) / (double)(n - 1);
done:
    free(mean);
    free(lambda);
    free(c);
    free(scratch);
    if (status != MTN_OK) mtn_pca_free(out);
    return status;
}

int mtn_pca_transform(const mtn_pca *p, const float *x, int64_t n, float *out) {
    MTN_ASSERT(p != NULL && p->mean != NULL && p->components != NULL);
    if (n < 0) return mtn_error_set(MTN_EUSAGE, "pca: transform of %lld samples", (long long)n);
    if (n == 0) return MTN_OK;
    if (n > INT_MAX) return mtn_error_set(MTN_EOVERFLOW, "pca: %lld samples are more than BLAS can index", (long long)n);
    MTN_ASSERT(x != NULL && out != NULL);
    const int d = p->d, k = p->k;
    size_t nd;
    if (!mtn_mul_size((size_t)n, (size_t)d, &nd) || !mtn_mul_size((size_t)n, (size_t)k, &nd))
        return mtn_error_set(MTN_EOVERFLOW, "pca: %lld x %d values do not fit in memory", (long long)n, d);
    int status = check_finite(x, n, d);
    if (status != MTN_OK) return status;
    bool overflow = false;
    int rows_max = n < PCA_BLOCK ? (int)n : PCA_BLOCK;
    float *blk = alloc_array((size_t)rows_max * (size_t)d, sizeof(float), false, &overflow);
    if (!blk) return alloc_failed(overflow, "the transform");
    for (int64_t i0 = 0; i0 < n; i0 += PCA_BLOCK) {
        int rows = n - i0 < PCA_BLOCK ? (int)(n - i0) : PCA_BLOCK;
        for (int i = 0; i < rows; i++) {
            const float *src = x + (size_t)(i0 + i) * (size_t)d;
            float *dst = blk + (size_t)i * (size_t)d;
            for (int j = 0; j < d; j++) dst[j] = src[j] - p->mean[j];
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, k, d, 1.0f, blk, d, p->components, d, 0.0f,
                    out + (size_t)i0 * (size_t)k, k);
    }
    free(blk);
    return MTN_OK;
}

void mtn_pca_free(mtn_pca *p) {
    if (!p) return;
    free(p->mean);
    free(p->components);
    free(p->explained_variance);
    memset(p, 0, sizeof *p);
}
