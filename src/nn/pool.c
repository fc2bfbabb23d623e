/* pool.c — max pooling with kernel = stride (2D and 3D in one implementation, depth
 * 1 for 2D), keeping the argmax for backward, and adaptive average pooling to 1.
 * Items are whole (sample, channel) planes, grouped to about NN_CHUNK input elements
 * per item; no two items touch the same plane, so backward needs no reduction. */
#include <math.h>

#include "items.h"

mtn_dims mtn_maxpool_out_dims(const mtn_maxpool *mp, mtn_dims in) {
    mtn_dims o = in;
    o.d = in.d / mp->k[0]; /* floor, as PyTorch (ceil_mode = False) */
    o.h = in.h / mp->k[1];
    o.w = in.w / mp->k[2];
    return o;
}

/* One call of any of the four: pointers it does not use stay NULL. */
typedef struct {
    float *y, *dx;
    int32_t *argmax;
    const float *x, *dy;
    const int32_t *argmax_in;
    mtn_dims in, out;
    int k[3];
    int64_t in_plane, out_plane, planes, per_item;
} pool_ctx;

static pool_ctx make_ctx(mtn_dims in, mtn_dims out, const int k[3]) {
    pool_ctx c = {.in = in, .out = out, .k = {k[0], k[1], k[2]}};
    c.in_plane = mtn_dims_spatial(in);
    c.out_plane = mtn_dims_spatial(out);
    c.planes = (int64_t)in.n * in.c;
    return c;
}

static int items(pool_ctx *c) { return nn_plane_items(c->planes, c->in_plane, &c->per_item); }

/* planes [*p0, *p1) of item `item` */
static void item_planes(const pool_ctx *c, int item, int64_t *p0, int64_t *p1) {
    *p0 = (int64_t)item * c->per_item;
    *p1 = nn_min64(*p0 + c->per_item, c->planes);
}

/* ---- max pooling ---- */

/* The first maximum in scan order wins, and NaN propagates (PyTorch's rule). */
static void max_forward_item(void *p, int item, int thread) {
    (void)thread;
    const pool_ctx *c = p;
    int64_t p0, p1;
    item_planes(c, item, &p0, &p1);
    for (int64_t pl = p0; pl < p1; pl++) {
        const float *x = c->x + pl * c->in_plane;
        float *y = c->y + pl * c->out_plane;
        int32_t *arg = c->argmax + pl * c->out_plane;
        for (int oz = 0; oz < c->out.d; oz++)
            for (int oy = 0; oy < c->out.h; oy++)
                for (int ox = 0; ox < c->out.w; ox++, y++, arg++) {
                    int32_t best = -1;
                    for (int kz = 0; kz < c->k[0]; kz++)
                        for (int ky = 0; ky < c->k[1]; ky++) {
                            int32_t row = ((oz * c->k[0] + kz) * c->in.h + oy * c->k[1] + ky) * c->in.w;
                            for (int kx = 0; kx < c->k[2]; kx++) {
                                int32_t at = row + ox * c->k[2] + kx;
                                if (best < 0 || x[at] > x[best] || isnan(x[at])) best = at;
                            }
                        }
                    *y = x[best];
                    *arg = best;
                }
    }
}

// out, argmax (N, C, D / kd, H / kh, W / kw) from in (N, C, D, H, W)
void mtn_maxpool_forward(mtn_exec *ex, float *out, int32_t *argmax, const float *in, const mtn_maxpool *mp,
                         mtn_dims in_dims) {
    MTN_ASSERT(mtn_dims_spatial(in_dims) <= INT32_MAX);
    pool_ctx c = make_ctx(in_dims, mtn_maxpool_out_dims(mp, in_dims), mp->k);
    c.y = out;
    c.argmax = argmax;
    c.x = in;
    mtn_exec_for(ex, items(&c), max_forward_item, &c);
}

static void max_backward_item(void *p, int item, int thread) {
    (void)thread;
    const pool_ctx *c = p;
    int64_t p0, p1;
    item_planes(c, item, &p0, &p1);
    for (int64_t pl = p0; pl < p1; pl++) {
        float *dx = c->dx + pl * c->in_plane;
        const float *dy = c->dy + pl * c->out_plane;
        const int32_t *arg = c->argmax_in + pl * c->out_plane;
        for (int64_t o = 0; o < c->out_plane; o++) dx[arg[o]] += dy[o];
    }
}

void mtn_maxpool_backward(mtn_exec *ex, float *din, const float *dout, const int32_t *argmax, const mtn_maxpool *mp,
                          mtn_dims in_dims) {
    pool_ctx c = make_ctx(in_dims, mtn_maxpool_out_dims(mp, in_dims), mp->k);
    c.dx = din;
    c.dy = dout;
    c.argmax_in = argmax;
    mtn_exec_for(ex, items(&c), max_backward_item, &c);
}

/* ---- adaptive average pooling to 1 ---- */

static void avg_forward_item(void *p, int item, int thread) {
    (void)thread;
    const pool_ctx *c = p;
    int64_t p0, p1;
    item_planes(c, item, &p0, &p1);
    for (int64_t pl = p0; pl < p1; pl++)
        c->y[pl] = (float)(nn_sum(c->x + pl * c->in_plane, c->in_plane) / (double)c->in_plane);
}

// out (N, C) from in (N, C, D, H, W)
void mtn_avgpool_forward(mtn_exec *ex, float *out, const float *in, mtn_dims in_dims) {
    static const int ones[3] = {1, 1, 1};
    mtn_dims o = in_dims;
    o.d = o.h = o.w = 1;
    pool_ctx c = make_ctx(in_dims, o, ones);
    c.y = out;
    c.x = in;
    mtn_exec_for(ex, items(&c), avg_forward_item, &c);
}

static void avg_backward_item(void *p, int item, int thread) {
    (void)thread;
    const pool_ctx *c = p;
    int64_t p0, p1;
    item_planes(c, item, &p0, &p1);
    for (int64_t pl = p0; pl < p1; pl++) {
        float g = c->dy[pl] / (float)c->in_plane;
        float *dx = c->dx + pl * c->in_plane;
        for (int64_t i = 0; i < c->in_plane; i++) dx[i] += g;
    }
}

void mtn_avgpool_backward(mtn_exec *ex, float *din, const float *dout, mtn_dims in_dims) {
    static const int ones[3] = {1, 1, 1};
    mtn_dims o = in_dims;
    o.d = o.h = o.w = 1;
    pool_ctx c = make_ctx(in_dims, o, ones);
    c.dx = din;
    c.dy = dout;
    mtn_exec_for(ex, items(&c), avg_backward_item, &c);
}
