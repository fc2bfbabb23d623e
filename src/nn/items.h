/* items.h — internal to nn: the fixed item layouts the layers share (micro-batches
 * cut into power-of-two column chunks, fixed element chunks) and the small helpers
 * they have in common (sums in double, moving columns between NCHW and channel-major
 * blocks, weight + bias reductions through the fixed tree). Every layout here is a
 * function of tensor shapes and micro-batch only, never of the thread count. */
#ifndef MTN_NN_ITEMS_H
#define MTN_NN_ITEMS_H

#include "mtn/nn.h"

/* Elements per item of element-wise loops. A multiple of 4, so each item of the
 * dropout starts on a Philox block boundary. */
enum { NN_CHUNK = 1 << 16 };

/* The micro-batch size a call uses: micro < 1 or micro > n means one micro-batch of
 * n; n must be a multiple of it. */
int nn_micro(int n, int micro);

/* mtn_column_chunks(columns) rounded down to a power of two. With a power of two of
 * leaves per micro-batch, a rank's block of (a power of two of) micro-batches is a
 * subtree of mtn_exec_reduce's tree, so sums split over ranks keep their bits. */
int nn_pow2_chunks(int64_t columns);

/* Items of a call: each micro-batch's columns (micro x per_sample, sample-major) cut
 * into `chunks` pieces of `width` columns (the last may be shorter). Item i belongs
 * to micro-batch i / chunks, so a micro-batch's items are contiguous leaves. */
typedef struct {
    int n, micro, n_micro, chunks;
    int64_t per_sample; /* columns per sample */
    int64_t cols;       /* columns per micro-batch */
    int64_t width;      /* columns per chunk */
} nn_plan;

nn_plan nn_make_plan(int n, int micro, int64_t per_sample);
static inline int nn_plan_items(const nn_plan *pl) { return pl->n_micro * pl->chunks; }
/* Item `item` covers columns [c0, c0 + nc) counted from the first column of sample s0. */
void nn_plan_item(const nn_plan *pl, int item, int *s0, int64_t *c0, int64_t *nc);

/* fn(ctx, lo, hi, thread) over [0, n) in items of NN_CHUNK elements. */
typedef void (*nn_range_fn)(void *ctx, int64_t lo, int64_t hi, int thread);
void nn_for_chunks(mtn_exec *ex, int64_t n, nn_range_fn fn, void *ctx);

/* Items that each take whole planes of `plane` elements (about NN_CHUNK elements per
 * item, at least one plane): *per_item planes per item; returns the item count. */
int nn_plane_items(int64_t planes, int64_t plane, int64_t *per_item);

/* Sums in double, in one fixed order (four interleaved partial sums, then paired). */
double nn_sum(const float *x, int64_t n);
double nn_dot(const float *a, const float *b, int64_t n);

/* cols[ch][nc] = x (N, C, P) at columns [c0, c0 + nc) of sample s0 (column = sample x P + position). */
void nn_cols_gather(float *cols, const float *x, int c, int64_t P, int s0, int64_t c0, int64_t nc);
/* x (N, C, P) += cols[ch][nc] at the same columns. */
void nn_cols_scatter_add(float *x, const float *cols, int c, int64_t P, int s0, int64_t c0, int64_t nc);

/* dw[0..nw) += the tree sum of the leaves' first nw floats and, when dbias is not
 * NULL, dbias[0..nb) += that of their next nb floats (the leaves then write nw + nb
 * floats; the sum goes through mtn_exec_shared, nw + nb floats). */
void nn_reduce_params(mtn_exec *ex, int leaves, mtn_leaf_fn leaf, void *ctx, float *dw, size_t nw, float *dbias,
                      size_t nb);
/* The same for leaves that all threads compute together (mtn_exec_reduce_together).
 * Their own shared scratch, `floats` floats after the sum's room (nw + nb floats),
 * is what nn_reduce_together_scratch returns: reserve nw + nb + floats shared. */
void nn_reduce_params_together(mtn_exec *ex, int leaves, mtn_coop_leaf_fn leaf, void *ctx, float *dw, size_t nw,
                               float *dbias, size_t nb);
float *nn_reduce_together_scratch(mtn_exec *ex, size_t nw, size_t nb, size_t floats);

static inline int64_t nn_min64(int64_t a, int64_t b) { return a < b ? a : b; }

#endif
