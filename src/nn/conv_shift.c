/* conv_shift.c — the weight gradient of a 2D stride-1 convolution by shifted GEMMs.
 *
 * dW[co][ci][ky][kx] = sum over output positions p of dy[co][p] x[ci][p + (ky, kx)].
 * Lay the input out zero-padded, rows of Wp = w + 2 pw floats, and dy on the same
 * rows (its last kw - 1 columns zero): then the input seen from kernel offset
 * (ky, kx) is the padded buffer itself read from ky Wp + kx on, and each offset is
 * one GEMM dy (cout x L) . xpad^T (L x cin) with no im2col at all. The copies are one
 * input and one dout per item instead of kh kw input copies (measured on 2 cores, one
 * thread per GEMM, 3x3 at 64 channels 64 x 64: 62 against 43 GFLOP/s; 128 channels
 * 32 x 32: 70 against 60; equal at 16 x 16, hence the minimum row length).
 *
 * Items: one sample's band of output rows, 2^j bands per sample, so a micro-batch's
 * items are contiguous leaves; the layout depends on shapes only. A leaf holds the
 * kernel offsets' blocks [k][cout][cin] and the bias sums; the tree sum is then put
 * back in PyTorch's order [cout][cin][k]. */
#include "conv_shift.h"

#include <cblas.h>
#include <string.h>

#include "items.h"

/* inner GEMM dimension an item should reach (one item's rows x Wp) */
enum { SHIFT_MIN_COLUMNS = 1024, SHIFT_TARGET_COLUMNS = 4096, SHIFT_MIN_CIN = 8 };

typedef struct {
    int cin, cout, kh, kw, ph, pw;
    int h, w, oh, ow, wp; /* input, output, padded row */
    int bands, rows;      /* bands per sample, output rows per band */
    int64_t band_cols;    /* rows x wp: the GEMMs' inner dimension */
    int64_t in_floats;    /* one padded input channel of a band, with kw - 1 floats of slack */
} sgeom;

static sgeom make_sgeom(const mtn_conv *cv, mtn_dims in) {
    mtn_dims o = mtn_conv_out_dims(cv, in);
    sgeom g;
    g.cin = cv->cin;
    g.cout = cv->cout;
    g.kh = cv->k[1];
    g.kw = cv->k[2];
    g.ph = cv->pad[1];
    g.pw = cv->pad[2];
    g.h = in.h;
    g.w = in.w;
    g.oh = o.h;
    g.ow = o.w;
    g.wp = in.w + 2 * cv->pad[2];
    g.bands = 1;
    while (g.oh % (2 * g.bands) == 0 && (int64_t)(g.oh / (2 * g.bands)) * g.wp >= SHIFT_TARGET_COLUMNS && g.bands < 256)
        g.bands *= 2;
    g.rows = g.oh / g.bands;
    g.band_cols = (int64_t)g.rows * g.wp;
    g.in_floats = (int64_t)(g.rows + g.kh - 1) * g.wp + g.kw - 1;
    return g;
}

bool nn_shift_weight_fits(const mtn_conv *cv, mtn_dims in) {
    if (in.d != 1 || cv->k[0] != 1 || cv->pad[0] != 0) return false;
    if (cv->stride[0] != 1 || cv->stride[1] != 1 || cv->stride[2] != 1) return false;
    if (cv->cin < SHIFT_MIN_CIN) return false;
    sgeom g = make_sgeom(cv, in);
    return g.band_cols >= SHIFT_MIN_COLUMNS;
}

static size_t leaf_floats(const sgeom *g) {
    return (size_t)g->kh * g->kw * (size_t)g->cout * (size_t)g->cin + (size_t)g->cout;
}

static size_t item_scratch(const sgeom *g) {
    return (size_t)g->cin * (size_t)g->in_floats + (size_t)g->cout * (size_t)g->band_cols;
}

mtn_needs nn_shift_weight_needs(const mtn_conv *cv, mtn_dims in, int micro) {
    (void)micro;
    sgeom g = make_sgeom(cv, in);
    size_t leaf = leaf_floats(&g);
    mtn_needs n = {item_scratch(&g), leaf, leaf, mtn_tree_floats(leaf, (int64_t)in.n * g.bands)};
    return n;
}

typedef struct {
    const float *dout, *in;
    sgeom g;
    mtn_exec *ex;
} shift_ctx;

/* The padded input band of one sample (all channels) and its dy rows. */
static void fill_band(float *xp, float *dyp, const shift_ctx *c, int s, int y0) {
    const sgeom *g = &c->g;
    memset(xp, 0, sizeof(float) * (size_t)g->cin * (size_t)g->in_floats);
    for (int ci = 0; ci < g->cin; ci++) {
        const float *plane = c->in + ((int64_t)s * g->cin + ci) * g->h * g->w;
        float *dst = xp + (int64_t)ci * g->in_floats;
        for (int r = 0; r < g->rows + g->kh - 1; r++) {
            int iy = y0 - g->ph + r;
            if (iy < 0 || iy >= g->h) continue;
            memcpy(dst + (int64_t)r * g->wp + g->pw, plane + (int64_t)iy * g->w, sizeof(float) * (size_t)g->w);
        }
    }
    for (int co = 0; co < g->cout; co++) {
        const float *plane = c->dout + ((int64_t)s * g->cout + co) * g->oh * g->ow;
        float *dst = dyp + (int64_t)co * g->band_cols;
        for (int r = 0; r < g->rows; r++) {
            memcpy(dst + (int64_t)r * g->wp, plane + (int64_t)(y0 + r) * g->ow, sizeof(float) * (size_t)g->ow);
            memset(dst + (int64_t)r * g->wp + g->ow, 0, sizeof(float) * (size_t)(g->wp - g->ow));
        }
    }
}

static void shift_leaf(void *p, int item, float *out, int thread) {
    shift_ctx *c = p;
    const sgeom *g = &c->g;
    int s = item / g->bands, y0 = (item % g->bands) * g->rows;
    float *xp = mtn_exec_scratch(c->ex, thread), *dyp = xp + (int64_t)g->cin * g->in_floats;
    fill_band(xp, dyp, c, s, y0);
    int K = (int)g->band_cols;
    for (int ky = 0; ky < g->kh; ky++)
        for (int kx = 0; kx < g->kw; kx++) {
            float *blk = out + ((int64_t)ky * g->kw + kx) * g->cout * g->cin;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->cout, g->cin, K, 1.0f, dyp, K,
                        xp + (int64_t)ky * g->wp + kx, (int)g->in_floats, 0.0f, blk, g->cin);
        }
    float *db = out + (int64_t)g->kh * g->kw * g->cout * g->cin;
    for (int co = 0; co < g->cout; co++) db[co] = (float)nn_sum(dyp + (int64_t)co * g->band_cols, g->band_cols);
}

typedef struct {
    float *dw;
    const float *acc;
    int cout, cin, kvol;
} permute_ctx;

/* dw[co][ci][k] += acc[k][co][ci] for output channels [lo, hi); element-wise, exact */
static void permute_item(void *p, int item, int thread) {
    (void)thread;
    permute_ctx *t = p;
    int co = item;
    for (int ci = 0; ci < t->cin; ci++)
        for (int k = 0; k < t->kvol; k++)
            t->dw[((int64_t)co * t->cin + ci) * t->kvol + k] += t->acc[((int64_t)k * t->cout + co) * t->cin + ci];
}

void nn_shift_weight_grad(mtn_exec *ex, float *dw, float *dbias, const float *dout, const float *in,
                          const mtn_conv *cv, mtn_dims in_dims, int micro) {
    (void)micro;
    shift_ctx c = {dout, in, make_sgeom(cv, in_dims), ex};
    const sgeom *g = &c.g;
    size_t count = leaf_floats(g), nw = count - (size_t)g->cout;
    float *acc = mtn_exec_shared(ex, count);
    memset(acc, 0, sizeof(float) * count);
    mtn_exec_reduce(ex, in_dims.n * g->bands, count, shift_leaf, &c, acc);
    permute_ctx t = {dw, acc, g->cout, g->cin, g->kh * g->kw};
    mtn_exec_for(ex, g->cout, permute_item, &t);
    if (dbias)
        for (int co = 0; co < g->cout; co++) dbias[co] += acc[nw + (size_t)co];
}
