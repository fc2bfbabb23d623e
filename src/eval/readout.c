/* readout.c — Task 3's linear readout (see mtn/eval.h): ordinary least squares with an
 * intercept (mtn_ols_fit, mtn_ols_predict), the coefficient of determination (mtn_r2)
 * and the per-feature readout of embeddings with missing targets and a train/test
 * split (mtn_readout_r2). Every fit centres the data, solves the minimum-norm least
 * squares problem with LAPACK's dgelsd (SVD), and puts the means back into the
 * intercept. Internally matrices are read through a row view (float or double, all
 * rows or a list of them), so a subset of rows is never copied row-major first. */
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtn/eval.h"

/* Rows of a row-major matrix of float or double: all of them (rows == NULL, n rows)
 * or rows[0..n); `stride` values per row. */
typedef struct {
    const float *f32; /* exactly one of f32 and f64 is set */
    const double *f64;
    int64_t stride;
    const int64_t *rows;
    int64_t n;
} row_view;

static inline int64_t view_row(const row_view *v, int64_t i) { return v->rows ? v->rows[i] : i; }

static inline double view_at(const row_view *v, int64_t i, int64_t j) {
    size_t at = (size_t)view_row(v, i) * (size_t)v->stride + (size_t)j;
    return v->f32 ? (double)v->f32[at] : v->f64[at];
}

/* malloc of count * size bytes (at least 1) with the product checked; NULL on
 * overflow or failure. */
static void *alloc_array(size_t count, size_t size) {
    size_t bytes;
    if (!mtn_mul_size(count, size, &bytes)) return NULL;
    return malloc(bytes ? bytes : 1);
}

/* MTN_EDATA naming the first NaN or infinite value among columns 0..cols of the view
 * (by its row in the caller's matrix), else MTN_OK. `what` names the matrix and
 * `column` what its columns are. */
static int check_finite(const row_view *v, int64_t cols, const char *what, const char *column) {
    for (int64_t i = 0; i < v->n; i++)
        for (int64_t j = 0; j < cols; j++) {
            double x = view_at(v, i, j);
            if (!isfinite(x))
                return mtn_error_set(MTN_EDATA, "readout: %s row %lld %s %lld is %g, not a finite number", what,
                                     (long long)view_row(v, i), column, (long long)j, x);
        }
    return MTN_OK;
}

/* The least-squares fit of targets cols[0..g) of Y on X (both views over the same
 * rows, X with d columns): coef (g, d + 1), intercept first. Inputs are finite (the
 * callers check); the view has at least one row. */
static int fit_view(const row_view *X, int d, const row_view *Y, const int *cols, int g, double *coef) {
    const int64_t n = X->n;
    if (n > INT32_MAX)
        return mtn_error_set(MTN_EOVERFLOW, "readout: %lld rows are more than LAPACK can index (2^31 - 1)",
                             (long long)n);
    const int64_t ldb = n > d ? n : d;
    size_t na, nb;
    if (!mtn_mul_size((size_t)n, (size_t)d, &na) || !mtn_mul_size((size_t)ldb, (size_t)g, &nb))
        return mtn_error_set(MTN_EOVERFLOW, "readout: %lld x %d values do not fit in memory", (long long)n, d);
    int status = MTN_OK;
    double *a = alloc_array(na, sizeof(double));           /* Xc, column-major (n, d) */
    double *b = alloc_array(nb, sizeof(double));           /* Yc in, solutions out, column-major (ldb, g) */
    double *xmean = calloc((size_t)d, sizeof(double));
    double *ymean = calloc((size_t)g, sizeof(double));
    double *sv = alloc_array((size_t)(n < d ? n : d), sizeof(double)); /* singular values */
    if (!a || !b || !xmean || !ymean || !sv) {
        status = mtn_error_set(MTN_ENOMEM, "readout: out of memory for a %lld x %d least-squares problem",
                               (long long)n, d);
        goto done;
    }
    /* Means (rows summed in order), then the centred copies. */
    for (int64_t i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) xmean[j] += view_at(X, i, j);
        for (int k = 0; k < g; k++) ymean[k] += view_at(Y, i, cols[k]);
    }
    for (int j = 0; j < d; j++) xmean[j] /= (double)n;
    for (int k = 0; k < g; k++) ymean[k] /= (double)n;
    for (int64_t i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) a[(size_t)j * (size_t)n + (size_t)i] = view_at(X, i, j) - xmean[j];
        for (int k = 0; k < g; k++) b[(size_t)k * (size_t)ldb + (size_t)i] = view_at(Y, i, cols[k]) - ymean[k];
    }
    for (int k = 0; k < g; k++)
        for (int64_t i = n; i < ldb; i++) b[(size_t)k * (size_t)ldb + (size_t)i] = 0.0;

    const double rcond = (double)ldb * DBL_EPSILON; /* numpy.linalg.lstsq's default */
    lapack_int rank = 0;
    lapack_int info = LAPACKE_dgelsd(LAPACK_COL_MAJOR, (lapack_int)n, (lapack_int)d, (lapack_int)g, a,
                                     (lapack_int)n, b, (lapack_int)ldb, sv, rcond, &rank);
    if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR) {
        status = mtn_error_set(MTN_ENOMEM, "readout: out of memory for dgelsd's workspace (%lld x %d)",
                               (long long)n, d);
        goto done;
    }
    if (info != 0) {
        status = mtn_error_set(MTN_EDATA,
                               "readout: the least-squares solver (dgelsd, %lld x %d, %d targets) failed with "
                               "info %d (expected 0; > 0: the SVD did not converge)",
                               (long long)n, d, g, (int)info);
        goto done;
    }
    for (int k = 0; k < g; k++) {
        const double *w = b + (size_t)k * (size_t)ldb;
        double *ck = coef + (size_t)k * ((size_t)d + 1);
        double b0 = ymean[k];
        for (int j = 0; j < d; j++) {
            ck[1 + j] = w[j];
            b0 -= xmean[j] * w[j];
        }
        ck[0] = b0;
    }
done:
    free(a);
    free(b);
    free(xmean);
    free(ymean);
    free(sv);
    return status;
}

/* pred (X->n, g) = coef (g, d + 1) applied to the rows of X. */
static void predict_view(const double *coef, const row_view *X, int d, int g, double *pred) {
    for (int64_t i = 0; i < X->n; i++)
        for (int k = 0; k < g; k++) {
            const double *ck = coef + (size_t)k * ((size_t)d + 1);
            double y = ck[0];
            for (int j = 0; j < d; j++) y += view_at(X, i, j) * ck[1 + j];
            pred[(size_t)i * (size_t)g + (size_t)k] = y;
        }
}

/* R² of target `col` of Y against pred[i * pred_stride] for the view's rows i, about
 * the mean of Y over those rows; NaN when they do not vary (or number fewer than 2).
 * A constant column is caught by comparing values, not by SS_tot == 0: the mean of
 * equal values can be off by rounding (0.1 three times), leaving SS_tot ~ 1e-34. */
static double r2_one(const row_view *Y, int col, const double *pred, int64_t pred_stride) {
    const int64_t n = Y->n;
    if (n < 1) return NAN;
    double mean = 0.0, ss_res = 0.0, ss_tot = 0.0, first = view_at(Y, 0, col);
    bool varies = false;
    for (int64_t i = 0; i < n; i++) {
        double y = view_at(Y, i, col);
        mean += y;
        varies |= y != first;
    }
    if (!varies) return NAN;
    mean /= (double)n;
    for (int64_t i = 0; i < n; i++) {
        double y = view_at(Y, i, col), e = y - pred[(size_t)i * (size_t)pred_stride];
        ss_res += e * e;
        ss_tot += (y - mean) * (y - mean);
    }
    return ss_tot == 0.0 ? NAN : 1.0 - ss_res / ss_tot;
}

/* cols[k] = k, for views over all of a matrix's targets; NULL when out of memory. */
static int *identity_columns(int t) {
    int *cols = alloc_array((size_t)t, sizeof(int));
    if (cols)
        for (int k = 0; k < t; k++) cols[k] = k;
    return cols;
}

/* MTN_EUSAGE unless there are rows, features and targets. */
static int check_sizes(int64_t n, int d, int t) {
    if (n < 1)
        return mtn_error_set(MTN_EUSAGE, "readout: %lld samples; a least-squares fit needs at least 1", (long long)n);
    if (d < 1) return mtn_error_set(MTN_EUSAGE, "readout: %d features; a least-squares fit needs at least 1", d);
    if (t < 1) return mtn_error_set(MTN_EUSAGE, "readout: %d targets; a least-squares fit needs at least 1", t);
    return MTN_OK;
}

int mtn_ols_fit(const double *X, int64_t n, int d, const double *Y, int t, double *coef) {
    int status = check_sizes(n, d, t);
    if (status != MTN_OK) return status;
    MTN_ASSERT(X != NULL && Y != NULL && coef != NULL);
    const row_view xv = {.f64 = X, .stride = d, .n = n}, yv = {.f64 = Y, .stride = t, .n = n};
    if ((status = check_finite(&xv, d, "X", "column")) != MTN_OK) return status;
    if ((status = check_finite(&yv, t, "Y", "target")) != MTN_OK) return status;
    size_t count;
    if (!mtn_mul_size((size_t)t, (size_t)d + 1, &count))
        return mtn_error_set(MTN_EOVERFLOW, "readout: %d x %d coefficients do not fit in memory", t, d + 1);
    int *cols = identity_columns(t);
    double *out = alloc_array(count, sizeof(double)); /* so that coef is untouched on error */
    if (!cols || !out) {
        status = mtn_error_set(MTN_ENOMEM, "readout: out of memory for %d x %d coefficients", t, d + 1);
    } else {
        status = fit_view(&xv, d, &yv, cols, t, out);
        if (status == MTN_OK) memcpy(coef, out, count * sizeof(double));
    }
    free(cols);
    free(out);
    return status;
}

void mtn_ols_predict(const double *coef, const double *X, int64_t n, int d, int t, double *pred) {
    MTN_ASSERT(n >= 0 && d >= 1 && t >= 1);
    if (n == 0) return;
    MTN_ASSERT(coef != NULL && X != NULL && pred != NULL);
    const row_view xv = {.f64 = X, .stride = d, .n = n};
    predict_view(coef, &xv, d, t, pred);
}

void mtn_r2(const double *Y, const double *pred, int64_t n, int t, double *r2) {
    MTN_ASSERT(t >= 1 && r2 != NULL);
    for (int k = 0; k < t; k++) r2[k] = NAN;
    if (n < 1) return;
    MTN_ASSERT(Y != NULL && pred != NULL);
    const row_view yv = {.f64 = Y, .stride = t, .n = n};
    for (int k = 0; k < t; k++) r2[k] = r2_one(&yv, k, pred + k, t);
}

/* One side of the readout of a group of targets (cols[0..g), missing in the same
 * rows): fit on fit_rows, score on score_rows (both lists of E's rows, none missing);
 * r2 (g) is NaN when either list has fewer than 2 rows. coef (g, d + 1) and pred
 * (n_score, g) are scratch. */
static int readout_side(const float *E, int d, const double *Y, int t, const int *cols, int g,
                        const int64_t *fit_rows, int64_t n_fit, const int64_t *score_rows, int64_t n_score,
                        double *coef, double *pred, double *r2) {
    for (int k = 0; k < g; k++) r2[k] = NAN;
    if (n_fit < 2 || n_score < 2) return MTN_OK;
    const row_view xf = {.f32 = E, .stride = d, .rows = fit_rows, .n = n_fit};
    const row_view yf = {.f64 = Y, .stride = t, .rows = fit_rows, .n = n_fit};
    int status = fit_view(&xf, d, &yf, cols, g, coef);
    if (status != MTN_OK) return status;
    const row_view xs = {.f32 = E, .stride = d, .rows = score_rows, .n = n_score};
    const row_view ys = {.f64 = Y, .stride = t, .rows = score_rows, .n = n_score};
    predict_view(coef, &xs, d, g, pred);
    for (int k = 0; k < g; k++) r2[k] = r2_one(&ys, cols[k], pred + k, g);
    return MTN_OK;
}

/* Whether targets a and b of Y (n, t) are missing (NaN) in the same rows. */
static bool same_missing_rows(const double *Y, int64_t n, int t, int a, int b) {
    for (int64_t i = 0; i < n; i++) {
        const double *row = Y + (size_t)i * (size_t)t;
        if (isnan(row[a]) != isnan(row[b])) return false;
    }
    return true;
}

int mtn_readout_r2(const float *E, int64_t n, int d, const double *Y, int t, const bool *train, double *r2_in,
                   double *r2_out) {
    if (t >= 1 && r2_in)
        for (int k = 0; k < t; k++) r2_in[k] = NAN;
    if (t >= 1 && r2_out)
        for (int k = 0; k < t; k++) r2_out[k] = NAN;
    int status = check_sizes(n, d, t);
    if (status != MTN_OK) return status;
    MTN_ASSERT(E != NULL && Y != NULL && r2_in != NULL && (train == NULL || r2_out != NULL));
    const row_view ev = {.f32 = E, .stride = d, .n = n};
    if ((status = check_finite(&ev, d, "embedding", "column")) != MTN_OK) return status;
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < t; k++) {
            double y = Y[(size_t)i * (size_t)t + (size_t)k];
            if (isinf(y))
                return mtn_error_set(MTN_EDATA, "readout: target row %lld target %d is %g, not a finite number "
                                     "(NaN marks a missing value)", (long long)i, k, y);
        }
    size_t coef_count, pred_count;
    if (!mtn_mul_size((size_t)t, (size_t)d + 1, &coef_count) || !mtn_mul_size((size_t)n, (size_t)t, &pred_count))
        return mtn_error_set(MTN_EOVERFLOW, "readout: %lld rows x %d targets (%d features) do not fit in memory",
                             (long long)n, t, d);

    /* rows: the group's usable rows, then (held-out) its train rows and test rows. */
    int64_t *rows = alloc_array((size_t)n, sizeof(int64_t));
    int64_t *train_rows = alloc_array((size_t)n, sizeof(int64_t));
    int64_t *test_rows = alloc_array((size_t)n, sizeof(int64_t));
    int *cols = alloc_array((size_t)t, sizeof(int));
    bool *grouped = calloc((size_t)t, sizeof(bool));
    double *coef = alloc_array(coef_count, sizeof(double));
    double *pred = alloc_array(pred_count, sizeof(double));
    double *r2 = alloc_array((size_t)t, sizeof(double));
    if (!rows || !train_rows || !test_rows || !cols || !grouped || !coef || !pred || !r2) {
        status = mtn_error_set(MTN_ENOMEM, "readout: out of memory for %lld rows and %d targets", (long long)n, t);
        goto done;
    }
    for (int first = 0; first < t && status == MTN_OK; first++) {
        if (grouped[first]) continue;
        int g = 0;
        for (int k = first; k < t; k++)
            if (!grouped[k] && same_missing_rows(Y, n, t, first, k)) {
                grouped[k] = true;
                cols[g++] = k;
            }
        int64_t n_rows = 0, n_train = 0, n_test = 0;
        for (int64_t i = 0; i < n; i++) {
            if (isnan(Y[(size_t)i * (size_t)t + (size_t)first])) continue;
            rows[n_rows++] = i;
            if (train && train[i]) train_rows[n_train++] = i;
            else if (train) test_rows[n_test++] = i;
        }
        status = readout_side(E, d, Y, t, cols, g, rows, n_rows, rows, n_rows, coef, pred, r2);
        if (status != MTN_OK) break;
        for (int k = 0; k < g; k++) r2_in[cols[k]] = r2[k];
        if (!train) continue;
        status = readout_side(E, d, Y, t, cols, g, train_rows, n_train, test_rows, n_test, coef, pred, r2);
        if (status != MTN_OK) break;
        for (int k = 0; k < g; k++) r2_out[cols[k]] = r2[k];
    }
    if (status != MTN_OK) {
        for (int k = 0; k < t; k++) r2_in[k] = NAN;
        if (r2_out)
            for (int k = 0; k < t; k++) r2_out[k] = NAN;
    }
done:
    free(rows);
    free(train_rows);
    free(test_rows);
    free(cols);
    free(grouped);
    free(coef);
    free(pred);
    free(r2);
    return status;
}
