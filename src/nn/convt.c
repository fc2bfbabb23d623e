/* convt.c — transposed convolution (PyTorch ConvTranspose2d / ConvTranspose3d) with
 * kernel = stride and no padding, by single-threaded cblas_sgemm per fixed item.
 *
 * With kernel = stride every input voxel owns its own kd x kh x kw block of output
 * voxels, so the layer is a GEMM over input columns followed by a scatter in which no
 * two taps meet: cols[(Cout kvol) x nc] = W^T in[Cin x nc], and row (co, tap) of cols
 * goes to that tap of each column's output block. Items are micro-batches cut into
 * power-of-two chunks of input columns (nn_make_plan).
 *
 * Backward gathers dout into the same column form, dcols[(Cout kvol) x nc]. Each item
 * is one leaf of the fixed tree for the weight gradient, in dcols^T (plus the bias
 * sums), and the same leaf writes its own columns' input gradient W dcols, which no
 * other item touches — so dout is gathered once. */
#include <cblas.h>
#include <limits.h>

#include "items.h"

mtn_dims mtn_convt_out_dims(const mtn_convt *ct, mtn_dims in) {
    mtn_dims o = in;
    o.c = ct->cout;
    o.d = in.d * ct->k[0];
    o.h = in.h * ct->k[1];
    o.w = in.w * ct->k[2];
    return o;
}

/* One transposed convolution applied to one input shape. */
typedef struct {
    int cin, cout, k[3], kvol;
    int d, h, w;   /* input spatial */
    int64_t P;     /* input positions per sample */
    int64_t M;     /* GEMM rows: cout * kvol */
} geom;

static geom make_geom(const mtn_convt *ct, mtn_dims in) {
    MTN_ASSERT(in.c == ct->cin && ct->k[0] >= 1 && ct->k[1] >= 1 && ct->k[2] >= 1);
    geom g = {ct->cin, ct->cout, {ct->k[0], ct->k[1], ct->k[2]}, ct->k[0] * ct->k[1] * ct->k[2],
              in.d, in.h, in.w, mtn_dims_spatial(in), 0};
    g.M = (int64_t)g.cout * g.kvol;
    MTN_ASSERT(g.M * g.cin <= INT_MAX);
    return g;
}

/* Between the tap rows cols[co * kvol + tap][nc] of input columns [c0, c0 + nc) of
 * sample s0 and the output volume (N, Cout, kd d, kh h, kw w): writes cols + bias into
 * `out`, or (out NULL) gathers cols from `dout`. Runs follow the input's x axis. */
static void move_taps(float *cols, float *out, const float *dout, const geom *g, int s0, int64_t c0, int64_t nc,
                      const float *bias) {
    int64_t oh = (int64_t)g->h * g->k[1], ow = (int64_t)g->w * g->k[2], od = (int64_t)g->d * g->k[0];
    int64_t row = 0;
    for (int co = 0; co < g->cout; co++)
        for (int kz = 0; kz < g->k[0]; kz++)
            for (int ky = 0; ky < g->k[1]; ky++)
                for (int kx = 0; kx < g->k[2]; kx++, row++) {
                    float *c = cols + row * nc;
                    float b = bias ? bias[co] : 0.0f;
                    int64_t s = s0 + c0 / g->P, rem = c0 % g->P;
                    int64_t z = rem / ((int64_t)g->h * g->w), y = rem / g->w % g->h, x = rem % g->w;
                    for (int64_t j = 0; j < nc;) {
                        int64_t run = nn_min64(g->w - x, nc - j);
                        int64_t at = (((s * g->cout + co) * od + z * g->k[0] + kz) * oh + y * g->k[1] + ky) * ow +
                                     x * g->k[2] + kx;
                        if (out)
                            for (int64_t t = 0; t < run; t++) out[at + t * g->k[2]] = c[j + t] + b;
                        else
                            for (int64_t t = 0; t < run; t++) c[j + t] = dout[at + t * g->k[2]];
                        j += run;
                        x = 0;
                        if (++y == g->h) {
                            y = 0;
                            if (++z == g->d) {
                                z = 0;
                                s++;
                            }
                        }
                    }
                }
}

mtn_needs mtn_convt_needs(const mtn_convt *ct, mtn_dims in, int micro) {
    geom g = make_geom(ct, in);
    nn_plan pl = nn_make_plan(in.n, micro, g.P);
    size_t params = (size_t)(g.cin * g.M + g.cout);
    mtn_needs n = {(size_t)(g.cin + g.M) * (size_t)pl.width, params, params,
                   mtn_tree_floats(params, nn_plan_items(&pl))};
    return n;
}

/* ---- forward ---- */

typedef struct {
    float *out;
    const float *in, *w, *bias;
    geom g;
    nn_plan pl;
    mtn_exec *ex;
} fwd_ctx;

static void forward_item(void *p, int item, int thread) {
    fwd_ctx *c = p;
    int s0;
    int64_t c0, nc;
    nn_plan_item(&c->pl, item, &s0, &c0, &nc);
    float *x = mtn_exec_scratch(c->ex, thread), *y = x + c->g.cin * nc; /* x[cin][nc], y[M][nc] */
    nn_cols_gather(x, c->in, c->g.cin, c->g.P, s0, c0, nc);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)c->g.M, (int)nc, c->g.cin, 1.0f, c->w, (int)c->g.M, x,
                (int)nc, 0.0f, y, (int)nc);
    move_taps(y, c->out, NULL, &c->g, s0, c0, nc, c->bias);
}

// out (N, Cout, kd D, kh H, kw W) from in (N, Cin, D, H, W); w (Cin, Cout, kd, kh, kw)
void mtn_convt_forward(mtn_exec *ex, float *out, const float *in, const float *w, const float *bias,
                       const mtn_convt *ct, mtn_dims in_dims, int micro) {
    geom g = make_geom(ct, in_dims);
    fwd_ctx c = {out, in, w, bias, g, nn_make_plan(in_dims.n, micro, g.P), ex};
    mtn_exec_for(ex, nn_plan_items(&c.pl), forward_item, &c);
}

/* ---- backward: one leaf per item ---- */

typedef struct {
    float *din;
    const float *dout, *in, *w;
    geom g;
    nn_plan pl;
    mtn_exec *ex;
    bool bias;
} bwd_ctx;

static void backward_leaf(void *p, int item, float *acc, int thread) {
    bwd_ctx *c = p;
    const geom *g = &c->g;
    int s0;
    int64_t c0, nc;
    nn_plan_item(&c->pl, item, &s0, &c0, &nc);
    float *x = mtn_exec_scratch(c->ex, thread), *dy = x + g->cin * nc; /* x[cin][nc], dy[M][nc] */
    nn_cols_gather(x, c->in, g->cin, g->P, s0, c0, nc);
    move_taps(dy, NULL, c->dout, g, s0, c0, nc, NULL);
    // acc (Cin, M) = x dy^T
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->cin, (int)g->M, (int)nc, 1.0f, x, (int)nc, dy, (int)nc,
                0.0f, acc, (int)g->M);
    if (c->bias)
        for (int co = 0; co < g->cout; co++) {
            double sum = 0.0;
            for (int t = 0; t < g->kvol; t++) sum += nn_sum(dy + ((int64_t)co * g->kvol + t) * nc, nc);
            acc[g->cin * g->M + co] = (float)sum;
        }
    if (c->din) { // x (Cin, nc) = W dy, then added into din's columns
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->cin, (int)nc, (int)g->M, 1.0f, c->w, (int)g->M, dy,
                    (int)nc, 0.0f, x, (int)nc);
        nn_cols_scatter_add(c->din, x, g->cin, g->P, s0, c0, nc);
    }
}

void mtn_convt_backward(mtn_exec *ex, float *din, float *dw, float *dbias, const float *dout, const float *in,
                        const float *w, const mtn_convt *ct, mtn_dims in_dims, int micro) {
    MTN_ASSERT(dw);
    geom g = make_geom(ct, in_dims);
    bwd_ctx c = {din, dout, in, w, g, nn_make_plan(in_dims.n, micro, g.P), ex, dbias != NULL};
    nn_reduce_params(ex, nn_plan_items(&c.pl), backward_leaf, &c, dw, (size_t)(g.cin * g.M), dbias,
                     (size_t)g.cout);
}
