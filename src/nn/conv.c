/* conv.c — convolution forward and backward (PyTorch Conv2d / Conv3d) by
 * im2col/vol2col and single-threaded cblas_sgemm per fixed work item.
 *
 * Items: each micro-batch's output columns (samples x positions) are cut into
 * mtn_column_chunks pieces; an item gathers its columns (im2col), runs one GEMM and
 * scatters the result to NCHW. Weight gradients are one leaf per item, combined by
 * mtn_exec_reduce's fixed tree. Input gradients: for stride 1 the gradient is itself
 * a convolution of dout with the flipped, transposed kernel (so it takes the same
 * efficient GEMM shape and needs no scatter-add); for other strides, dcol = W^T dout
 * per whole sample followed by col2im, items being samples (no two touch the same
 * input voxel). 3x3 stride-1 convolutions go by Winograd instead (winograd.c):
 * forward and both gradients. */
#include <cblas.h>
#include <string.h>

#include "mtn/nn.h"
#include "conv_shift.h"
#include "items.h"
#include "winograd.h"

mtn_dims mtn_conv_out_dims(const mtn_conv *cv, mtn_dims in) {
    mtn_dims o = in;
    o.c = cv->cout;
    o.d = (in.d + 2 * cv->pad[0] - cv->k[0]) / cv->stride[0] + 1;
    o.h = (in.h + 2 * cv->pad[1] - cv->k[1]) / cv->stride[1] + 1;
    o.w = (in.w + 2 * cv->pad[2] - cv->k[2]) / cv->stride[2] + 1;
    return o;
}

/* Everything the loops need about one convolution applied to one input shape. */
typedef struct {
    int cin, cout, k[3], s[3], p[3];
    int d, h, w;        /* input spatial */
    int od, oh, ow;     /* output spatial */
    int64_t kk;         /* K = cin * kd * kh * kw */
    int64_t P;          /* output positions per sample */
    int64_t in_plane;   /* d * h * w */
} geom;

static geom make_geom(const mtn_conv *cv, mtn_dims in) {
    mtn_dims o = mtn_conv_out_dims(cv, in);
    geom g;
    g.cin = cv->cin;
    g.cout = cv->cout;
    for (int i = 0; i < 3; i++) {
        g.k[i] = cv->k[i];
        g.s[i] = cv->stride[i];
        g.p[i] = cv->pad[i];
    }
    g.d = in.d;
    g.h = in.h;
    g.w = in.w;
    g.od = o.d;
    g.oh = o.h;
    g.ow = o.w;
    g.kk = (int64_t)cv->cin * cv->k[0] * cv->k[1] * cv->k[2];
    g.P = (int64_t)o.d * o.h * o.w;
    g.in_plane = (int64_t)in.d * in.h * in.w;
    return g;
}

/* Rows [r0, r1) of columns [c0, c0 + nc) of the column space starting at sample s0:
 * col[K][nc] (only the given rows are written). Row r is input channel r / kvol at
 * kernel offset r % kvol. */
static void im2col_rows(float *col, const float *in, const geom *g, int s0, int64_t c0, int64_t nc, int64_t r0,
                        int64_t r1) {
    int kvol = g->k[0] * g->k[1] * g->k[2];
    for (int64_t r = r0; r < r1; r++) {
        int ci = (int)(r / kvol), off = (int)(r % kvol);
        int kz = off / (g->k[1] * g->k[2]), ky = off / g->k[2] % g->k[1], kx = off % g->k[2];
        float *dst = col + r * nc;
        int64_t s = s0 + c0 / g->P, rem = c0 % g->P;
        int oz = (int)(rem / ((int64_t)g->oh * g->ow)), oy = (int)(rem / g->ow % g->oh), ox = (int)(rem % g->ow);
        for (int64_t j = 0; j < nc;) {
            int64_t run = g->ow - ox < nc - j ? g->ow - ox : nc - j;
            int iz = oz * g->s[0] - g->p[0] + kz, iy = oy * g->s[1] - g->p[1] + ky;
            float *out = dst + j;
            if (iz < 0 || iz >= g->d || iy < 0 || iy >= g->h) {
                memset(out, 0, sizeof(float) * (size_t)run);
            } else {
                const float *src = in + ((s * g->cin + ci) * g->in_plane) + ((int64_t)iz * g->h + iy) * g->w;
                int x0 = ox * g->s[2] - g->p[2] + kx;
                if (g->s[2] == 1) { /* zeros at the edges, one copy between */
                    int64_t t = 0;
                    for (; t < run && x0 + t < 0; t++) out[t] = 0.0f;
                    int64_t t1 = run;
                    while (t1 > t && x0 + t1 - 1 >= g->w) out[--t1] = 0.0f;
                    if (t1 > t) memcpy(out + t, src + x0 + t, sizeof(float) * (size_t)(t1 - t));
                } else {
                    for (int64_t t = 0; t < run; t++) {
                        int64_t ix = x0 + t * g->s[2];
                        out[t] = ix >= 0 && ix < g->w ? src[ix] : 0.0f;
                    }
                }
            }
            j += run;
            ox += (int)run;
            if (ox == g->ow) {
                ox = 0;
                if (++oy == g->oh) {
                    oy = 0;
                    if (++oz == g->od) {
                        oz = 0;
                        s++;
                    }
                }
            }
        }
    }
}

/* All K rows. */
static void im2col(float *col, const float *in, const geom *g, int s0, int64_t c0, int64_t nc) {
    im2col_rows(col, in, g, s0, c0, nc, 0, g->kk);
}

/* din[s] += col2im(dcol) for one whole sample: dcol[K][P], rows ld apart. */
static void col2im_add(float *din, const float *dcol, int64_t ld, const geom *g) {
    int64_t r = 0;
    for (int ci = 0; ci < g->cin; ci++)
        for (int kz = 0; kz < g->k[0]; kz++)
            for (int ky = 0; ky < g->k[1]; ky++)
                for (int kx = 0; kx < g->k[2]; kx++, r++) {
                    const float *src = dcol + r * ld;
                    float *plane = din + (int64_t)ci * g->in_plane;
                    for (int oz = 0; oz < g->od; oz++) {
                        int iz = oz * g->s[0] - g->p[0] + kz;
                        if (iz < 0 || iz >= g->d) { src += (int64_t)g->oh * g->ow; continue; }
                        for (int oy = 0; oy < g->oh; oy++, src += g->ow) {
                            int iy = oy * g->s[1] - g->p[1] + ky;
                            if (iy < 0 || iy >= g->h) continue;
                            float *row = plane + ((int64_t)iz * g->h + iy) * g->w;
                            for (int ox = 0; ox < g->ow; ox++) {
                                int ix = ox * g->s[2] - g->p[2] + kx;
                                if (ix >= 0 && ix < g->w) row[ix] += src[ox];
                            }
                        }
                    }
                }
}

/* The item layout of one call. A sample with many output positions is cut into a
 * power-of-two number of column chunks, and an item's GEMM reads and writes the NCHW
 * tensors in place (leading dimension P). Samples with few positions are grouped, a
 * power-of-two number of them dividing the micro-batch, and their columns gathered
 * and scattered. Either way the items of one micro-batch are contiguous, their count
 * depends only on shapes, and no item straddles a micro-batch. */
typedef struct {
    int n, micro;
    int group;         /* samples per item (1 when samples are chunked) */
    int chunks;        /* items per sample (1 when samples are grouped) */
    int64_t P, width;  /* columns per item (the last chunk of a sample may be shorter) */
    int n_items;
} plan;

static plan make_plan(int n, int micro, int64_t P, int64_t target) {
    plan pl;
    pl.n = n;
    pl.micro = micro < 1 || micro > n ? n : micro;
    MTN_ASSERT(n % pl.micro == 0);
    pl.P = P;
    pl.group = 1;
    pl.chunks = 1;
    if (P >= target) {
        while ((int64_t)pl.chunks * 2 * target <= P && pl.chunks < 256) pl.chunks *= 2;
        pl.width = (P + pl.chunks - 1) / pl.chunks;
        pl.n_items = n * pl.chunks;
    } else {
        /* at most half a micro-batch per item, so every micro-batch gives two items or more */
        while (pl.group * 2 <= pl.micro / 2 && pl.micro % (pl.group * 2) == 0 && (int64_t)pl.group * 2 * P <= target)
            pl.group *= 2;
        pl.width = (int64_t)pl.group * P;
        pl.n_items = n / pl.group;
    }
    return pl;
}

/* Item i: first sample, first column within it, column count; in_place when the
 * item's columns lie inside one sample (then NCHW is addressed directly). */
static void item_range(const plan *pl, int item, int *s0, int64_t *c0, int64_t *nc, bool *in_place) {
    if (pl->chunks > 1 || pl->group == 1) {
        *s0 = item / pl->chunks;
        *c0 = (int64_t)(item % pl->chunks) * pl->width;
        *nc = *c0 + pl->width < pl->P ? pl->width : pl->P - *c0;
        *in_place = true;
    } else {
        *s0 = item * pl->group;
        *c0 = 0;
        *nc = pl->width;
        *in_place = false;
    }
}

/* column targets: the forward (and stride-1 input-gradient) GEMM, and the
 * weight-gradient GEMM, whose inner dimension is the column count */
enum { FORWARD_COLUMNS = 2048, WEIGHT_COLUMNS = 4096 };

/* out columns tmp[cout][nc] -> NCHW, starting at column c0 of sample s0 */
static void scatter(float *out, const float *tmp, int cout, int64_t P, int s0, int64_t c0, int64_t nc,
                    const float *bias, bool accumulate) {
    for (int co = 0; co < cout; co++) {
        const float *src = tmp + (int64_t)co * nc;
        float b = bias ? bias[co] : 0.0f;
        int64_t s = s0 + c0 / P, p = c0 % P;
        for (int64_t j = 0; j < nc;) {
            int64_t run = P - p < nc - j ? P - p : nc - j;
            float *dst = out + (s * cout + co) * P + p;
            if (accumulate)
                for (int64_t t = 0; t < run; t++) dst[t] += src[j + t] + b;
            else
                for (int64_t t = 0; t < run; t++) dst[t] = src[j + t] + b;
            j += run;
            p = 0;
            s++;
        }
    }
}

/* NCHW -> tmp[cout][nc] for columns [c0, c0 + nc) of sample s0 */
static void gather(float *tmp, const float *dout, int cout, int64_t P, int s0, int64_t c0, int64_t nc) {
    for (int co = 0; co < cout; co++) {
        float *dst = tmp + (int64_t)co * nc;
        int64_t s = s0 + c0 / P, p = c0 % P;
        for (int64_t j = 0; j < nc;) {
            int64_t run = P - p < nc - j ? P - p : nc - j;
            memcpy(dst + j, dout + (s * cout + co) * P + p, sizeof(float) * (size_t)run);
            j += run;
            p = 0;
            s++;
        }
    }
}

/* floats one item needs: columns (kk x width) and, for grouped samples, the output
 * or gradient block (cout x width) */
static size_t item_floats(const geom *g, const plan *pl) { return (size_t)(g->kk + g->cout) * (size_t)pl->width; }

static bool unit_stride(const geom *g) { return g->s[0] == 1 && g->s[1] == 1 && g->s[2] == 1; }

/* The stride-1 input gradient as a convolution: dout through W' (cin outputs). */
static mtn_conv flipped_conv(const mtn_conv *cv) {
    mtn_conv f = {cv->cout, cv->cin, {cv->k[0], cv->k[1], cv->k[2]}, {1, 1, 1},
                  {cv->k[0] - 1 - cv->pad[0], cv->k[1] - 1 - cv->pad[1], cv->k[2] - 1 - cv->pad[2]}};
    return f;
}

static geom flipped_geom(const geom *g, int n) {
    mtn_conv f = {g->cout, g->cin, {g->k[0], g->k[1], g->k[2]}, {1, 1, 1},
                  {g->k[0] - 1 - g->p[0], g->k[1] - 1 - g->p[1], g->k[2] - 1 - g->p[2]}};
    mtn_dims od = {n, g->cout, g->od, g->oh, g->ow};
    return make_geom(&f, od);
}

/* Layers whose weights outnumber a micro-batch's columns (ResNet's deep layers)
 * take the other road backward: their weight gradient is one leaf per micro-batch
 * that all threads compute together (no per-item weight-sized buffers to add up),
 * and their input gradient goes through W^T dout and col2im per group of whole
 * samples (no flipped copy of the weights). A function of shapes only. */
static bool weights_dominate(const geom *g, int n, int micro, int factor) {
    int mi = micro < 1 || micro > n ? n : micro;
    return (int64_t)mi * g->P * factor < g->kk;
}
/* the weight-gradient road: columns fewer than kernel rows */
static bool coop_weights(const geom *g, int n, int micro) { return weights_dominate(g, n, micro, 1); }
/* the input-gradient road: columns far fewer (the flipped weights cost more than col2im) */
static bool col2im_input(const geom *g, int n, int micro) {
    return !unit_stride(g) || weights_dominate(g, n, micro, 4);
}

/* Samples per item of the col2im input gradient: a power of two dividing the
 * micro-batch, at most half of it, about FORWARD_COLUMNS columns. */
static int col2im_group(const geom *g, int n, int micro) {
    plan pl = make_plan(n, micro, g->P, FORWARD_COLUMNS);
    return pl.chunks > 1 ? 1 : pl.group;
}

mtn_needs mtn_conv_needs(const mtn_conv *cv, mtn_dims in, int micro) {
    geom g = make_geom(cv, in);
    plan pf = make_plan(in.n, micro, g.P, FORWARD_COLUMNS), pw = make_plan(in.n, micro, g.P, WEIGHT_COLUMNS);
    size_t a = item_floats(&g, &pf), b = item_floats(&g, &pw);
    size_t nw = (size_t)(g.cout * g.kk + g.cout);
    int mi = micro < 1 || micro > in.n ? in.n : micro;
    /* the weight gradient's leaves: im2col items, or micro-batches (cooperative) */
    int64_t leaves = pw.n_items > in.n / mi ? pw.n_items : in.n / mi;
    mtn_needs n = {a > b ? a : b, nw, nw, mtn_tree_floats(nw, leaves)};
    /* the weight gradient's road: Winograd, cooperative im2col, shifted GEMMs or im2col */
    if (nn_winograd_weight_fits(cv, in)) {
        n = mtn_needs_max(n, nn_winograd_weight_needs(cv, in, micro));
    } else if (coop_weights(&g, in.n, micro)) {
        size_t cols = (size_t)mi * (size_t)g.P, shared = (size_t)(g.kk + g.cout) * cols + nw;
        if (shared > n.shared) n.shared = shared;
    } else if (nn_shift_weight_fits(cv, in)) {
        n = mtn_needs_max(n, nn_shift_weight_needs(cv, in, micro));
    }
    mtn_conv flipped = flipped_conv(cv);
    mtn_dims od = mtn_conv_out_dims(cv, in);
    if (nn_winograd_fits(cv, in)) n = mtn_needs_max(n, nn_winograd_needs(cv, in, micro));
    if (unit_stride(&g) && nn_winograd_fits(&flipped, od)) {
        n = mtn_needs_max(n, nn_winograd_needs(&flipped, od, micro));
    } else if (!col2im_input(&g, in.n, micro)) {
        geom gf = flipped_geom(&g, in.n);
        plan pl = make_plan(in.n, micro, gf.P, FORWARD_COLUMNS);
        size_t f = item_floats(&gf, &pl);
        if (f > n.per_thread) n.per_thread = f;
    } else {
        size_t f = (size_t)(g.kk + g.cout) * (size_t)g.P * (size_t)col2im_group(&g, in.n, micro);
        if (f > n.per_thread) n.per_thread = f;
    }
    return n;
}

/* ---- forward ---- */

typedef struct {
    float *out;
    const float *in, *w, *bias;
    geom g;
    plan pl;
    mtn_exec *ex;
    bool accumulate;
} fwd_ctx;

static void forward_item(void *p, int item, int thread) {
    fwd_ctx *c = p;
    const geom *g = &c->g;
    int s0;
    int64_t c0, nc;
    bool in_place;
    item_range(&c->pl, item, &s0, &c0, &nc, &in_place);
    float *col = mtn_exec_scratch(c->ex, thread);
    im2col(col, c->in, g, s0, c0, nc);
    if (in_place) { /* write (or add) straight into the sample's NCHW rows */
        float *dst = c->out + (int64_t)s0 * g->cout * g->P + c0;
        if (c->bias && !c->accumulate)
            for (int co = 0; co < g->cout; co++)
                for (int64_t j = 0; j < nc; j++) dst[(int64_t)co * g->P + j] = c->bias[co];
        float beta = c->accumulate || c->bias ? 1.0f : 0.0f;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->cout, (int)nc, (int)g->kk, 1.0f, c->w, (int)g->kk,
                    col, (int)nc, beta, dst, (int)g->P);
        if (c->bias && c->accumulate)
            for (int co = 0; co < g->cout; co++)
                for (int64_t j = 0; j < nc; j++) dst[(int64_t)co * g->P + j] += c->bias[co];
        return;
    }
    float *tmp = col + g->kk * nc;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->cout, (int)nc, (int)g->kk, 1.0f, c->w, (int)g->kk, col,
                (int)nc, 0.0f, tmp, (int)nc);
    scatter(c->out, tmp, g->cout, g->P, s0, c0, nc, c->bias, c->accumulate);
}

static void forward(mtn_exec *ex, float *out, const float *in, const float *w, const float *bias, const geom *g,
                    int n, int micro, bool accumulate) {
    fwd_ctx c = {out, in, w, bias, *g, make_plan(n, micro, g->P, FORWARD_COLUMNS), ex, accumulate};
    mtn_exec_for(ex, c.pl.n_items, forward_item, &c);
}

void mtn_conv_forward(mtn_exec *ex, float *out, const float *in, const float *w, const float *bias,
                      const mtn_conv *cv, mtn_dims in_dims, int micro) {
    if (nn_winograd_fits(cv, in_dims)) {
        nn_winograd_forward(ex, out, in, w, bias, cv, in_dims, micro, false, false);
        return;
    }
    geom g = make_geom(cv, in_dims);
    forward(ex, out, in, w, bias, &g, in_dims.n, micro, false);
}

/* ---- weight and bias gradients, road 1: one leaf per item ---- */

typedef struct {
    const float *dout, *in;
    geom g;
    plan pl;
    mtn_exec *ex;
    bool bias;
} dw_ctx;

/* out = [dW^T (kk x cout) | dbias (cout)] of one item; the transposed orientation
 * (kk rows) runs faster than cout rows for the narrow layers */
static void weight_leaf(void *p, int item, float *out, int thread) {
    dw_ctx *c = p;
    const geom *g = &c->g;
    int s0;
    int64_t c0, nc;
    bool in_place;
    item_range(&c->pl, item, &s0, &c0, &nc, &in_place);
    float *col = mtn_exec_scratch(c->ex, thread);
    im2col(col, c->in, g, s0, c0, nc);
    const float *dy;
    int64_t ld;
    if (in_place) {
        dy = c->dout + (int64_t)s0 * g->cout * g->P + c0;
        ld = g->P;
    } else {
        float *tmp = col + g->kk * nc;
        gather(tmp, c->dout, g->cout, g->P, s0, c0, nc);
        dy = tmp;
        ld = nc;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g->kk, g->cout, (int)nc, 1.0f, col, (int)nc, dy, (int)ld,
                0.0f, out, g->cout);
    if (c->bias) {
        float *db = out + (int64_t)g->cout * g->kk;
        for (int co = 0; co < g->cout; co++) {
            const float *row = dy + (int64_t)co * ld;
            float acc = 0.0f;
            for (int64_t j = 0; j < nc; j++) acc += row[j];
            db[co] = acc;
        }
    }
}

/* ---- weight and bias gradients, road 2: one leaf per micro-batch, all threads ---- */

enum { COOP_BLOCKS = 16 };

typedef struct {
    const float *dout, *in;
    geom g;
    mtn_exec *ex;
    int micro, s0;
    int64_t nc;        /* micro * P */
    float *col, *dy;   /* shared: (kk x nc) and (cout x nc) */
    float *out;        /* the leaf: [dW (cout x kk) | dbias] */
    bool bias;
} coop_ctx;

static void block_range(int64_t total, int item, int64_t *lo, int64_t *hi) {
    *lo = total * item / COOP_BLOCKS;
    *hi = total * (item + 1) / COOP_BLOCKS;
}

static void coop_columns(void *p, int item, int thread) {
    (void)thread;
    coop_ctx *c = p;
    int64_t r0, r1;
    block_range(c->g.kk, item, &r0, &r1);
    im2col_rows(c->col, c->in, &c->g, c->s0, 0, c->nc, r0, r1);
    int64_t o0, o1;
    block_range(c->g.cout, item, &o0, &o1);
    for (int64_t co = o0; co < o1; co++) /* the same item gathers a slice of dout */
        for (int s = 0; s < c->micro; s++)
            memcpy(c->dy + co * c->nc + (int64_t)s * c->g.P,
                   c->dout + ((int64_t)(c->s0 + s) * c->g.cout + co) * c->g.P, sizeof(float) * (size_t)c->g.P);
}

#ifndef COOP_KK_BLOCKS
#define COOP_KK_BLOCKS 4
#endif
/* GEMM blocks over kernel rows (dW's columns): each block packs only its share of
 * the columns, and the smaller dout is what every block packs again (ResNet-18's
 * 512 channels at 8 x 8: OpenBLAS's packing 22.8% -> 4.6% of this road's samples
 * against blocks of 64 output channels, which each packed all the columns) */
static int coop_gemm_blocks(const geom *g) { return g->kk >= 256 * COOP_KK_BLOCKS ? COOP_KK_BLOCKS : 1; }

static void coop_gemm(void *p, int item, int thread) {
    (void)thread;
    coop_ctx *c = p;
    int blocks = coop_gemm_blocks(&c->g);
    int64_t r0 = c->g.kk * item / blocks, r1 = c->g.kk * (item + 1) / blocks;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->g.cout, (int)(r1 - r0), (int)c->nc, 1.0f, c->dy,
                (int)c->nc, c->col + r0 * c->nc, (int)c->nc, 0.0f, c->out + r0, (int)c->g.kk);
    if (c->bias && item == 0)
        for (int64_t co = 0; co < c->g.cout; co++) {
            const float *row = c->dy + co * c->nc;
            float acc = 0.0f;
            for (int64_t j = 0; j < c->nc; j++) acc += row[j];
            c->out[(int64_t)c->g.cout * c->g.kk + co] = acc;
        }
}

static void coop_leaf(void *p, int leaf, float *out) {
    coop_ctx *c = p;
    c->s0 = leaf * c->micro;
    c->out = out;
    mtn_exec_for(c->ex, COOP_BLOCKS, coop_columns, c);
    mtn_exec_for(c->ex, coop_gemm_blocks(&c->g), coop_gemm, c);
}

/* ---- input gradient for large weights and strides > 1: W^T dout, then col2im
 * per group of whole samples (groups never share an input voxel) ---- */

typedef struct {
    float *din;
    const float *dout, *w;
    geom g;
    int group;
    mtn_exec *ex;
} dx_ctx;

static void input_item(void *p, int item, int thread) {
    dx_ctx *c = p;
    const geom *g = &c->g;
    int64_t nc = (int64_t)c->group * g->P;
    int s0 = item * c->group;
    float *dcol = mtn_exec_scratch(c->ex, thread), *dy = dcol + g->kk * nc;
    gather(dy, c->dout, g->cout, g->P, s0, 0, nc);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g->kk, (int)nc, g->cout, 1.0f, c->w, (int)g->kk, dy,
                (int)nc, 0.0f, dcol, (int)nc);
    for (int s = 0; s < c->group; s++)
        col2im_add(c->din + (int64_t)(s0 + s) * g->cin * g->in_plane, dcol + (int64_t)s * g->P, nc, g);
}

/* ---- the driver ---- */

typedef struct {
    float *dst;
    const float *src;
    int rows;
    int64_t cols;
} transpose_ctx;

enum { TRANSPOSE_BLOCK = 32 };

static void transpose_item(void *p, int item, int thread) {
    (void)thread;
    transpose_ctx *t = p;
    int r0 = item * TRANSPOSE_BLOCK, r1 = r0 + TRANSPOSE_BLOCK < t->rows ? r0 + TRANSPOSE_BLOCK : t->rows;
    for (int64_t k0 = 0; k0 < t->cols; k0 += TRANSPOSE_BLOCK) {
        int64_t k1 = k0 + TRANSPOSE_BLOCK < t->cols ? k0 + TRANSPOSE_BLOCK : t->cols;
        for (int r = r0; r < r1; r++)
            for (int64_t k = k0; k < k1; k++) t->dst[(int64_t)r * t->cols + k] += t->src[k * t->rows + r];
    }
}

/* dst (rows x cols) += src^T, src being (cols x rows); element-wise, any split is exact */
static void add_transposed(mtn_exec *ex, float *dst, const float *src, int rows, int64_t cols) {
    transpose_ctx t = {dst, src, rows, cols};
    mtn_exec_for(ex, (rows + TRANSPOSE_BLOCK - 1) / TRANSPOSE_BLOCK, transpose_item, &t);
}

void mtn_conv_backward(mtn_exec *ex, float *din, float *dw, float *dbias, const float *dout, const float *in,
                       const float *w, const mtn_conv *cv, mtn_dims in_dims, int micro) {
    geom g = make_geom(cv, in_dims);
    int n = in_dims.n, mi = micro < 1 || micro > n ? n : micro;
    size_t nw = (size_t)(g.cout * g.kk), nb = dbias ? (size_t)g.cout : 0;
    float *shared = mtn_exec_shared(ex, nw + nb);
    if (nn_winograd_weight_fits(cv, in_dims)) {
        nn_winograd_weight_grad(ex, dw, dbias, dout, in, cv, in_dims, micro);
    } else if (coop_weights(&g, n, micro)) {
        int64_t nc = (int64_t)mi * g.P;
        float *col = nn_reduce_together_scratch(ex, nw, nb, (size_t)(g.kk + g.cout) * (size_t)nc);
        coop_ctx c = {dout, in, g, ex, mi, 0, nc, col, col + g.kk * nc, NULL, dbias != NULL};
        nn_reduce_params_together(ex, n / mi, coop_leaf, &c, dw, nw, dbias, nb);
    } else if (nn_shift_weight_fits(cv, in_dims)) {
        nn_shift_weight_grad(ex, dw, dbias, dout, in, cv, in_dims, micro);
    } else {
        dw_ctx c = {dout, in, g, make_plan(n, micro, g.P, WEIGHT_COLUMNS), ex, dbias != NULL};
        memset(shared, 0, sizeof(float) * (nw + nb));
        mtn_exec_reduce(ex, c.pl.n_items, nw + nb, weight_leaf, &c, shared);
        add_transposed(ex, dw, shared, g.cout, g.kk); /* the leaves hold dW^T */
        if (dbias)
            for (int co = 0; co < g.cout; co++) dbias[co] += shared[nw + (size_t)co];
    }
    if (!din) return;
    mtn_conv f = flipped_conv(cv);
    mtn_dims od = mtn_conv_out_dims(cv, in_dims);
    if (unit_stride(&g) && nn_winograd_fits(&f, od)) {
        nn_winograd_forward(ex, din, dout, w, NULL, &f, od, micro, true, true);
    } else if (!col2im_input(&g, n, micro)) {
        /* din += conv(dout, W'), W'[ci][co][flipped kernel], padding k - 1 - p */
        int kvol = g.k[0] * g.k[1] * g.k[2];
        float *wt = shared;
        for (int co = 0; co < g.cout; co++)
            for (int ci = 0; ci < g.cin; ci++)
                for (int t = 0; t < kvol; t++)
                    wt[((int64_t)ci * g.cout + co) * kvol + (kvol - 1 - t)] = w[((int64_t)co * g.cin + ci) * kvol + t];
        geom gf = flipped_geom(&g, n);
        forward(ex, din, dout, wt, NULL, &gf, n, micro, true);
    } else {
        dx_ctx d = {din, dout, w, g, col2im_group(&g, n, micro), ex};
        mtn_exec_for(ex, n / d.group, input_item, &d);
    }
}
