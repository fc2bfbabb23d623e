/* mtn/eval.h — evaluation helpers over label volumes: connected components (what
 * Task 3's cell counts, sizes and distances, and the phantom's calibration, are built
 * on); Task 3's semantic features and its linear readout (least squares, R²); and
 * Task 1's unsupervised baselines, PCA and NMF.
 * Arrays are C order (z, y, x), x fastest; the caller owns every buffer it passes in. */
#ifndef MTN_EVAL_H
#define MTN_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "mtn/core.h"

/* Labels the connected components of the non-zero voxels of `mask` (nz x ny x nx)
 * with 6-connectivity (faces; with nz = 1 that is 4-connectivity in the plane):
 * labels[i] = 0 for zero voxels, else 1..n numbered in raster order of each
 * component's first voxel (as scipy.ndimage.label numbers them). *n_components = n.
 * `labels` holds nz*ny*nx values. Returns MTN_OK, MTN_EOVERFLOW when the volume has
 * INT32_MAX voxels or more (or a dimension is negative), MTN_ENOMEM. */
int mtn_components_label(const uint8_t *mask, int64_t nz, int64_t ny, int64_t nx, int32_t *labels,
                         int64_t *n_components);

/* ------------------------------------------------- Task 3 semantic features --- */

/* Task 3's five semantic features of a pixel-label volume `labels` (z, h, w) holding
 * MTNeuro's values (0 background, 1 vessel, 2 cell, 3 axon), one row per image, or
 * with `quadrants` one row per quadrant: row 4*slice + corner, corners [:h/2, :w/2],
 * [:h/2, w/2:], [h/2:, :w/2], [h/2:, w/2:] (h/2 rounded down, as numpy's slices).
 * Columns (MTN_FEATURES_COLUMNS): vessel_pct, axon_pct = 100 x pixels of label 1 / 3
 * over the image's pixels (0 when none); cells are the 3D 6-connected components of
 * label 2 over the whole stack; cell_count = the components present in the image
 * (one however its footprint there splits); cell_size_px = mean footprint (pixels in
 * the image) over them, NaN with none; nn_dist_px = mean over them of the Euclidean
 * distance from a cell's footprint centroid (row, col) to the nearest other cell's,
 * NaN with fewer than 2 (MTNeuro's code averaged in the self-distance 0, halving it).
 * `out` holds rows x 5 doubles, rows = z or 4 z. Errors: a value other than 0..3 ->
 * MTN_EDATA naming it and its (z, y, x); a dimension < 1 (< 2 for h and w with
 * quadrants) -> MTN_EDATA; MTN_EOVERFLOW (2^31 voxels or more); MTN_ENOMEM. */
#define MTN_FEATURES_COLUMNS "vessel_pct,axon_pct,cell_count,cell_size_px,nn_dist_px"
enum { MTN_FEATURES_NCOL = 5 };
int mtn_features(const uint8_t *labels, int64_t z, int64_t h, int64_t w, bool quadrants, double *out);

/* --------------------------------------------- Task 2 segmentation scores --- */

/* pred[p] = the class of the largest of an image's logits (k, pixels) at pixel p
 * (the first on ties, as torch.argmax). */
void mtn_seg_argmax(const float *logits, int k, int64_t pixels, int32_t *pred);
/* One image: confusion (k x k, [true][predicted], may be NULL) += its pixel counts,
 * and counts (k x 3, may be NULL) = its per-class true positives, false positives
 * and false negatives. Labels must lie in [0, k). */
void mtn_seg_count(const int32_t *truth, const int32_t *pred, int64_t pixels, int k, int64_t *confusion,
                   int64_t *counts);
/* counts (k x 3) of a confusion matrix: the pooled counts of every pixel in it. */
void mtn_seg_counts_of_confusion(const int64_t *confusion, int k, int64_t *counts);
/* Per class F1 = 2tp / (2tp + fp + fn) and IoU = tp / (tp + fp + fn) from counts
 * (k x 3); a class absent from both truth and prediction scores 1 (smp's
 * zero_division default, which the original code's per-image scores used). */
void mtn_seg_scores(const int64_t *counts, int k, double *f1, double *iou);

/* ----------------------------------------------------------- Task 3 readout --- */

/* Ordinary least squares with an intercept, y ~ b0 + X b, for t targets at once, in
 * double: X (n, d) and Y (n, t) row-major; coef (t, d + 1), row k = target k's
 * intercept first, then its d weights. Solved on centred data (Xc = X - column means,
 * Yc likewise) by LAPACK's dgelsd (SVD), b0 = mean(y) - mean(X) b, so the intercept is
 * exact and never shrunk: b is the minimum-norm least-squares solution of Xc b = yc,
 * which is what sklearn.linear_model.LinearRegression returns. Rank deficiency (a
 * dead ReLU unit, a duplicated column, d >= n) is fine: singular values at or below
 * rcond = max(n, d) * DBL_EPSILON times the largest count as zero (numpy.linalg.
 * lstsq's default). Errors: n < 1, d < 1, t < 1 -> MTN_EUSAGE; a NaN or infinite
 * value in X (or Y) -> MTN_EDATA naming its row and column (target); dgelsd's info
 * != 0 (the SVD did not converge) -> MTN_EDATA with the info; n >= 2^31 ->
 * MTN_EOVERFLOW (LAPACK's 32-bit indices); MTN_ENOMEM. coef is untouched on error. */
int mtn_ols_fit(const double *X, int64_t n, int d, const double *Y, int t, double *coef);
/* pred (n, t) row-major: pred[i][k] = coef[k][0] + sum_j X[i][j] coef[k][1 + j]. */
void mtn_ols_predict(const double *coef, const double *X, int64_t n, int d, int t, double *pred);
/* r2 (t): target k's coefficient of determination 1 - SS_res / SS_tot, SS_res the sum
 * of (Y - pred)^2 and SS_tot of (Y - mean)^2 about the mean of that column of Y over
 * these n rows (the evaluated set's own mean, as sklearn.metrics.r2_score); negative
 * when worse than that mean. NaN when the column is constant over these rows (SS_tot
 * is 0; found by comparing values, so a mean off by rounding cannot make it finite)
 * or n < 2, where r2_score's default force_finite=True would say 1 or 0. NaN in, NaN
 * out. */
void mtn_r2(const double *Y, const double *pred, int64_t n, int t, double *r2);
/* Task 3's readout of t targets (semantic features) from embeddings E (n, d) row-major:
 * for each target, the rows whose Y is NaN (a missing feature) are left out of its
 * fit and its score. In-sample (the paper's R²): fit on all its rows, scored on the
 * same rows -> r2_in (t). Held-out: fit on its rows with train[i] true, scored on its
 * rows with train[i] false -> r2_out (t); with train NULL there is no held-out split
 * and r2_out (which may then be NULL) is all NaN. A target with fewer than 2 rows on
 * a side (fit or score) gets NaN there, as does a target constant on its scored rows.
 * Targets with the same missing rows share one fit (results as if fitted alone, to
 * rounding). Errors: n < 1, d < 1, t < 1 -> MTN_EUSAGE; a NaN or infinite value in E
 * (any row, used or not) -> MTN_EDATA naming its row and column; an infinite Y ->
 * MTN_EDATA naming its row and target; LAPACK failures, MTN_EOVERFLOW and MTN_ENOMEM
 * as mtn_ols_fit. On error r2_in and r2_out are all NaN. */
int mtn_readout_r2(const float *E, int64_t n, int d, const double *Y, int t, const bool *train, double *r2_in,
                   double *r2_out);

/* ------------------------------------------------ Task 1 baselines: PCA, NMF --- */

/* PCA (as sklearn.decomposition.PCA, no whitening): mean (d) and k components
 * (k, d), orthonormal rows, by decreasing explained variance; sign fixed so that the
 * entry of largest magnitude in each component is positive (deterministic).
 * explained_variance[i] = eigenvalue / (n - 1), as sklearn's explained_variance_.
 * Fits through the n x n Gram matrix when n < d (no d x d matrix), else the d x d
 * covariance; the eigen-problem is solved in double. Components beyond the rank of
 * the centred data (variance ~ 0) are a deterministic orthonormal completion.
 * Errors: n < 2, d < 1, k < 1 or k > min(n, d) -> MTN_EUSAGE; a NaN or infinite
 * input -> MTN_EDATA (naming row and column); MTN_EOVERFLOW; MTN_ENOMEM. The fit
 * owns its arrays (mtn_pca_free, which accepts NULL and zeroed structs). */
typedef struct { int d, k; float *mean; float *components; double *explained_variance; } mtn_pca;
int mtn_pca_fit(const float *x, int64_t n, int d, int k, mtn_pca *out);   /* x (n, d) row-major */
int mtn_pca_transform(const mtn_pca *p, const float *x, int64_t n, float *out); /* out (n, k) = (x - mean) C^T */
void mtn_pca_free(mtn_pca *p);
/* NMF (Lee & Seung multiplicative updates, Frobenius loss; X ~= W H with X (n, d) >= 0,
 * W (n, k), H (k, d)); init: uniform [0, 1) * sqrt(mean(X) / k) from the Philox RNG of
 * core.h keyed (seed, MTN_STREAM_NMF); `iterations` updates of H and W each; epsilon
 * 1e-10 in denominators. transform: W for new rows with H fixed (same updates on W only).
 * Details: H's draws are the stream from counter 0, row-major; row i of W draws from
 * counter 2^62 + i * ceil(k / 4), so a row's start depends only on (seed, i). Each
 * iteration updates W, then H (sklearn's order): W *= X H^T / (W H H^T + eps),
 * H *= W^T X / (W^T W H + eps). final_loss = ||X - W H||_F after the last update.
 * Same inputs and seed give the same bits (fixed GEMM shapes; single-threaded BLAS
 * for bits that do not depend on the machine's thread count). Errors: n < 1, d < 1,
 * k < 1, iterations < 0 -> MTN_EUSAGE; a negative or non-finite input -> MTN_EDATA
 * naming the row and column; MTN_EOVERFLOW; MTN_ENOMEM. x for transform is (n, m->d). */
typedef struct { int d, k; float *h; double final_loss; } mtn_nmf;
int mtn_nmf_fit(const float *x, int64_t n, int d, int k, int iterations, uint64_t seed, mtn_nmf *out, float *w /* (n,k) or NULL */);
int mtn_nmf_transform(const mtn_nmf *m, const float *x, int64_t n, int iterations, uint64_t seed, float *w);
void mtn_nmf_free(mtn_nmf *m);

#endif
