/* items.c — the item layouts and helpers the layers share (see items.h). */
#include "items.h"

#include <limits.h>
#include <string.h>

int nn_micro(int n, int micro) {
    MTN_ASSERT(n >= 1);
    int m = micro < 1 || micro > n ? n : micro;
    MTN_ASSERT(n % m == 0);
    return m;
}

int nn_pow2_chunks(int64_t columns) {
    int c = mtn_column_chunks(columns), p = 1;
    while (2 * p <= c) p *= 2;
    return p;
}

nn_plan nn_make_plan(int n, int micro, int64_t per_sample) {
    nn_plan pl;
    pl.n = n;
    pl.micro = nn_micro(n, micro);
    pl.n_micro = n / pl.micro;
    pl.per_sample = per_sample;
    pl.cols = (int64_t)pl.micro * per_sample;
    pl.chunks = nn_pow2_chunks(pl.cols);
    pl.width = (pl.cols + pl.chunks - 1) / pl.chunks;
    MTN_ASSERT(pl.width <= INT_MAX && (int64_t)pl.n_micro * pl.chunks <= INT_MAX);
    return pl;
}

void nn_plan_item(const nn_plan *pl, int item, int *s0, int64_t *c0, int64_t *nc) {
    int m = item / pl->chunks, c = item % pl->chunks;
    *s0 = m * pl->micro;
    *c0 = (int64_t)c * pl->width;
    *nc = nn_min64(*c0 + pl->width, pl->cols) - *c0;
}

typedef struct {
    nn_range_fn fn;
    void *ctx;
    int64_t n;
} chunk_ctx;

static void chunk_item(void *p, int item, int thread) {
    chunk_ctx *c = p;
    int64_t lo = (int64_t)item * NN_CHUNK;
    c->fn(c->ctx, lo, nn_min64(lo + NN_CHUNK, c->n), thread);
}

void nn_for_chunks(mtn_exec *ex, int64_t n, nn_range_fn fn, void *ctx) {
    int64_t items = (n + NN_CHUNK - 1) / NN_CHUNK;
    MTN_ASSERT(n >= 0 && items <= INT_MAX);
    chunk_ctx c = {fn, ctx, n};
    mtn_exec_for(ex, (int)items, chunk_item, &c);
}

int nn_plane_items(int64_t planes, int64_t plane, int64_t *per_item) {
    *per_item = plane >= NN_CHUNK || plane < 1 ? 1 : NN_CHUNK / plane;
    int64_t items = (planes + *per_item - 1) / *per_item;
    MTN_ASSERT(items <= INT_MAX);
    return (int)items;
}

double nn_sum(const float *x, int64_t n) {
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a0 += x[i];
        a1 += x[i + 1];
        a2 += x[i + 2];
        a3 += x[i + 3];
    }
    for (; i < n; i++) a0 += x[i];
    return (a0 + a1) + (a2 + a3);
}

double nn_dot(const float *a, const float *b, int64_t n) {
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a0 += (double)a[i] * b[i];
        a1 += (double)a[i + 1] * b[i + 1];
        a2 += (double)a[i + 2] * b[i + 2];
        a3 += (double)a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) a0 += (double)a[i] * b[i];
    return (a0 + a1) + (a2 + a3);
}

/* Between a block of columns, cols[ch][nc], and columns [c0, c0 + nc) of sample s0
 * of a (N, C, P) tensor, walked in runs that stay inside one (sample, channel) plane:
 * gathers x_in into cols_out, or adds cols_in into x_out. */
static void move_cols(float *cols_out, const float *x_in, const float *cols_in, float *x_out, int c, int64_t P,
                      int s0, int64_t c0, int64_t nc) {
    for (int ch = 0; ch < c; ch++) {
        int64_t s = s0 + c0 / P, p = c0 % P, row = (int64_t)ch * nc;
        for (int64_t j = 0; j < nc;) {
            int64_t run = nn_min64(P - p, nc - j), at = (s * c + ch) * P + p;
            if (cols_out)
                memcpy(cols_out + row + j, x_in + at, sizeof(float) * (size_t)run);
            else
                for (int64_t t = 0; t < run; t++) x_out[at + t] += cols_in[row + j + t];
            j += run;
            p = 0;
            s++;
        }
    }
}

void nn_cols_gather(float *cols, const float *x, int c, int64_t P, int s0, int64_t c0, int64_t nc) {
    move_cols(cols, x, NULL, NULL, c, P, s0, c0, nc);
}

void nn_cols_scatter_add(float *x, const float *cols, int c, int64_t P, int s0, int64_t c0, int64_t nc) {
    move_cols(NULL, NULL, cols, x, c, P, s0, c0, nc);
}

/* one of leaf (per thread) or together (all threads on each leaf); with a bias the
 * sum goes through the start of the shared scratch */
static void reduce_params(mtn_exec *ex, int leaves, mtn_leaf_fn leaf, mtn_coop_leaf_fn together, void *ctx,
                          float *dw, size_t nw, float *dbias, size_t nb) {
    size_t count = dbias ? nw + nb : nw;
    float *acc = dw;
    if (dbias) {
        acc = mtn_exec_shared(ex, count);
        memset(acc, 0, sizeof(float) * count);
    }
    if (together)
        mtn_exec_reduce_together(ex, leaves, count, together, ctx, acc);
    else
        mtn_exec_reduce(ex, leaves, count, leaf, ctx, acc);
    if (!dbias) return;
    for (size_t i = 0; i < nw; i++) dw[i] += acc[i];
    for (size_t i = 0; i < nb; i++) dbias[i] += acc[nw + i];
}

void nn_reduce_params(mtn_exec *ex, int leaves, mtn_leaf_fn leaf, void *ctx, float *dw, size_t nw, float *dbias,
                      size_t nb) {
    reduce_params(ex, leaves, leaf, NULL, ctx, dw, nw, dbias, nb);
}

void nn_reduce_params_together(mtn_exec *ex, int leaves, mtn_coop_leaf_fn leaf, void *ctx, float *dw, size_t nw,
                               float *dbias, size_t nb) {
    reduce_params(ex, leaves, NULL, leaf, ctx, dw, nw, dbias, nb);
}

float *nn_reduce_together_scratch(mtn_exec *ex, size_t nw, size_t nb, size_t floats) {
    return mtn_exec_shared(ex, nw + nb + floats) + nw + nb;
}
