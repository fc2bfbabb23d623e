/* batchnorm.c — BatchNorm1d/2d/3d over (N, C, spatial) with PyTorch numerics, its
 * batch statistics taken over the whole batch in a fixed order.
 *
 * Per-channel sums are leaves of mtn_exec_reduce: one leaf per (micro-batch, channel
 * group), computed in double inside the leaf and written as float; a leaf writes
 * zeros for the channels outside its group, and adding those zeros is exact, so each
 * channel's result is the fixed tree over micro-batches alone (the grouping only
 * spreads the work over threads). Training takes two passes: the mean through the
 * tree, then the sum of squared deviations from it through the tree (no cancellation).
 * Backward's two sums per channel (dy and dy (x - mean)) go the same way. The
 * element-wise passes (normalise, input gradient) run over fixed chunks. */
#include <math.h>
#include <string.h>

#include "items.h"

/* Elements per leaf before the channels are split into groups (a leaf is then
 * ~100 us of work, well above the cost of one wave of mtn_exec_reduce); groups at
 * most. */
enum { LEAF_ELEMS = 1 << 18, MAX_GROUPS = 64 };

static int channel_groups(int c, int micro, int64_t spatial);

mtn_needs mtn_bn_needs(const mtn_bn *bn, mtn_dims in, int micro) {
    int mi = nn_micro(in.n, micro);
    int64_t leaves = (int64_t)(in.n / mi) * channel_groups(bn->c, mi, mtn_dims_spatial(in));
    mtn_needs n = {0, 2 * (size_t)bn->c, 5 * (size_t)bn->c, mtn_tree_floats(2 * (size_t)bn->c, leaves)};
    return n;
}

/* A power of two of channel groups, a function of the shape only. */
static int channel_groups(int c, int micro, int64_t spatial) {
    int64_t work = (int64_t)micro * c * spatial / LEAF_ELEMS;
    int g = 1;
    while (2 * g <= c && 2 * g <= work && 2 * g <= MAX_GROUPS) g *= 2;
    return g;
}

/* The fused ReLUs: the value BatchNorm sees, and its output before the output ReLU.
 * `x < 0 ? 0 : x` keeps NaN, as torch.relu does; the same inline code in forward and
 * backward, so the recomputed mask has exactly the forward's bits. */
static inline float input_of(bool relu_in, float x) { return relu_in && x < 0.0f ? 0.0f : x; }
static inline float normalised(float x, float mean, float scale, float shift) { return (x - mean) * scale + shift; }

/* Per-channel sums run in blocks of SUM_BLOCK elements, each summed in float over
 * 4 interleaved lanes (element i goes to lane i % 4; the lanes are one SSE vector, so
 * the adds run 4 wide without any reordering) and then added in double, lanes in
 * order, blocks in order. The fused ReLUs are branch-free selects that keep NaN, as
 * torch.relu does. */
enum { LANES = 4, SUM_BLOCK = 1024 };
typedef float v8f __attribute__((vector_size(16))); /* 4 lanes: SSE2, what every x86-64 has */
typedef int32_t v8i __attribute__((vector_size(16)));

static inline v8f load8(const float *p) {
    v8f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store8(float *p, v8f v) { memcpy(p, &v, sizeof v); }

/* v where !(v < 0), else 0: relu keeping NaN */
static inline v8f relu8(v8f v) {
    v8f zero = {0};
    v8i below = v < zero;
    return (v8f)((v8i)v & ~below);
}

static inline v8f keep_if(v8f v, v8i mask) { return (v8f)((v8i)v & mask); }

static double lanes_total(v8f acc, float tail) {
    float lane[LANES];
    memcpy(lane, &acc, sizeof lane);
    double t = tail;
    for (int l = 0; l < LANES; l++) t += lane[l];
    return t;
}

/* The gradient reaching the normalisation: dy, or 0 where the fused output ReLU was off. */
typedef struct {
    bool relu_in, relu_out;
    float mean, scale, shift;
} channel_view;

static inline float dy_of(const channel_view *v, float dy, float x) {
    if (!v->relu_out) return dy;
    return normalised(input_of(v->relu_in, x), v->mean, v->scale, v->shift) > 0.0f ? dy : 0.0f;
}

/* the same for 8 elements */
static inline v8f input8(bool relu_in, v8f x) { return relu_in ? relu8(x) : x; }
static inline v8f dy8(const channel_view *v, v8f dy, v8f x) {
    if (!v->relu_out) return dy;
    v8f y = (input8(v->relu_in, x) - v->mean) * v->scale + v->shift, zero = {0};
    return keep_if(dy, y > zero);
}

/* sum of x' = relu_in(x) */
static double sum_in(const float *x, int64_t n, bool relu_in) {
    double total = 0.0;
    for (int64_t b = 0; b < n; b += SUM_BLOCK) {
        int64_t e = nn_min64(n, b + SUM_BLOCK), i = b;
        v8f acc = {0};
        float tail = 0.0f;
        for (; i + LANES <= e; i += LANES) acc += input8(relu_in, load8(x + i));
        for (; i < e; i++) tail += input_of(relu_in, x[i]);
        total += lanes_total(acc, tail);
    }
    return total;
}

/* sum of (x' - mean)^2 */
static double sum_sqdev(const float *x, int64_t n, float mean, bool relu_in) {
    double total = 0.0;
    for (int64_t b = 0; b < n; b += SUM_BLOCK) {
        int64_t e = nn_min64(n, b + SUM_BLOCK), i = b;
        v8f acc = {0};
        float tail = 0.0f;
        for (; i + LANES <= e; i += LANES) {
            v8f d = input8(relu_in, load8(x + i)) - mean;
            acc += d * d;
        }
        for (; i < e; i++) {
            float d = input_of(relu_in, x[i]) - mean;
            tail += d * d;
        }
        total += lanes_total(acc, tail);
    }
    return total;
}

/* sums of dy' and of dy' (x' - mean), dy' and x' as BatchNorm itself saw them */
static void dy_sums(const float *dy, const float *x, int64_t n, const channel_view *v, double *sum_dy,
                    double *sum_dyx) {
    for (int64_t b = 0; b < n; b += SUM_BLOCK) {
        int64_t e = nn_min64(n, b + SUM_BLOCK), i = b;
        v8f a = {0}, c = {0};
        float ta = 0.0f, tc = 0.0f;
        for (; i + LANES <= e; i += LANES) {
            v8f xv = load8(x + i), g = dy8(v, load8(dy + i), xv);
            a += g;
            c += g * (input8(v->relu_in, xv) - v->mean);
        }
        for (; i < e; i++) {
            float g = dy_of(v, dy[i], x[i]);
            ta += g;
            tc += g * (input_of(v->relu_in, x[i]) - v->mean);
        }
        *sum_dy += lanes_total(a, ta);
        *sum_dyx += lanes_total(c, tc);
    }
}

typedef enum { PASS_SUM, PASS_SQDEV, PASS_GRAD } pass;

typedef struct {
    const float *x, *dy, *mean; /* mean: for PASS_SQDEV and PASS_GRAD */
    const float *scale, *shift; /* PASS_GRAD with relu_out */
    int c, micro, groups;
    int64_t spatial;
    pass which;
    bool relu_in, relu_out;
} stats_ctx;

static channel_view view_of(const stats_ctx *c, int ch) {
    channel_view v = {c->relu_in, c->relu_out, c->mean ? c->mean[ch] : 0.0f, c->relu_out ? c->scale[ch] : 0.0f,
                      c->relu_out ? c->shift[ch] : 0.0f};
    return v;
}

/* Leaf m * groups + g: its channels' sums over micro-batch m; PASS_SUM and PASS_SQDEV
 * write C floats, PASS_GRAD 2 C (sums of dy, then of dy (x - mean)). */
static void stats_leaf(void *p, int leaf, float *out, int thread) {
    (void)thread;
    const stats_ctx *c = p;
    int m = leaf / c->groups, g = leaf % c->groups;
    int c0 = (int)((int64_t)g * c->c / c->groups), c1 = (int)((int64_t)(g + 1) * c->c / c->groups);
    memset(out, 0, sizeof(float) * (size_t)c->c * (c->which == PASS_GRAD ? 2 : 1));
    for (int ch = c0; ch < c1; ch++) {
        double a = 0.0, b = 0.0;
        channel_view v = view_of(c, ch);
        for (int s = m * c->micro; s < (m + 1) * c->micro; s++) {
            int64_t at = ((int64_t)s * c->c + ch) * c->spatial;
            if (c->which == PASS_SUM) a += sum_in(c->x + at, c->spatial, c->relu_in);
            else if (c->which == PASS_SQDEV) a += sum_sqdev(c->x + at, c->spatial, c->mean[ch], c->relu_in);
            else dy_sums(c->dy + at, c->x + at, c->spatial, &v, &a, &b);
        }
        out[ch] = (float)a;
        if (c->which == PASS_GRAD) out[c->c + ch] = (float)b;
    }
}

/* acc[0..count) = the per-channel sums of one pass over the whole batch (all
 * shares of it) */
static void channel_sums(mtn_exec *ex, float *acc, stats_ctx *sc, int n) {
    size_t count = (size_t)sc->c * (sc->which == PASS_GRAD ? 2 : 1);
    memset(acc, 0, sizeof(float) * count);
    mtn_exec_reduce(ex, n / sc->micro * sc->groups, count, stats_leaf, sc, acc);
    mtn_exec_combine(ex, acc, count);
}

/* ---- element-wise passes ---- */

/* out = (x - mean) * scale + shift, or (din given) din += k1 (dy - mdy - (x - mean) k2),
 * with per-channel constants; runs stay inside one (sample, channel) plane. */
typedef struct {
    float *out, *din;
    const float *x, *dy;
    const float *mean, *scale, *shift; /* forward; backward too with relu_out */
    const float *k1, *mdy, *k2;        /* input gradient */
    int c;
    int64_t spatial;
    bool relu_in, relu_out;
} apply_ctx;

static void apply_range(void *p, int64_t lo, int64_t hi, int thread) {
    (void)thread;
    const apply_ctx *a = p;
    for (int64_t i = lo; i < hi;) {
        int64_t plane = i / a->spatial, end = nn_min64((plane + 1) * a->spatial, hi);
        int ch = (int)(plane % a->c);
        float m = a->mean[ch];
        if (a->din) {
            float k1 = a->k1[ch], mdy = a->mdy[ch], k2 = a->k2[ch];
            if (!a->relu_in && !a->relu_out) {
                for (; i < end; i++) a->din[i] += k1 * (a->dy[i] - mdy - (a->x[i] - m) * k2);
                continue;
            }
            channel_view v = {a->relu_in, a->relu_out, m, a->relu_out ? a->scale[ch] : 0.0f,
                              a->relu_out ? a->shift[ch] : 0.0f};
            v8f zero = {0};
            for (; i + LANES <= end; i += LANES) {
                v8f xv = load8(a->x + i);
                v8f g = k1 * (dy8(&v, load8(a->dy + i), xv) - mdy - (input8(a->relu_in, xv) - m) * k2);
                if (a->relu_in) g = keep_if(g, xv > zero); /* the input ReLU's mask */
                store8(a->din + i, load8(a->din + i) + g);
            }
            for (; i < end; i++) {
                float g = k1 * (dy_of(&v, a->dy[i], a->x[i]) - mdy - (input_of(a->relu_in, a->x[i]) - m) * k2);
                a->din[i] += a->relu_in && !(a->x[i] > 0.0f) ? 0.0f : g;
            }
        } else {
            float scale = a->scale[ch], shift = a->shift[ch];
            if (!a->relu_in && !a->relu_out) {
                for (; i < end; i++) a->out[i] = normalised(a->x[i], m, scale, shift);
                continue;
            }
            for (; i + LANES <= end; i += LANES) {
                v8f y = (input8(a->relu_in, load8(a->x + i)) - m) * scale + shift;
                store8(a->out + i, a->relu_out ? relu8(y) : y);
            }
            for (; i < end; i++) {
                float y = normalised(input_of(a->relu_in, a->x[i]), m, scale, shift);
                a->out[i] = a->relu_out && y < 0.0f ? 0.0f : y;
            }
        }
    }
}

// out, in (N, C, spatial); save (2, C): mean, invstd; running stats, gamma, beta (C)
void mtn_bn_forward_train(mtn_exec *ex, float *out, float *save, float *running_mean, float *running_var,
                          const float *in, const float *gamma, const float *beta, const mtn_bn *bn, mtn_dims in_dims,
                          int micro) {
    int C = bn->c;
    MTN_ASSERT(in_dims.c == C);
    int64_t spatial = mtn_dims_spatial(in_dims), count = (int64_t)in_dims.n * mtn_exec_shares(ex) * spatial;
    MTN_ASSERT(count > 1); /* PyTorch: "expected more than 1 value per channel" */
    int mi = nn_micro(in_dims.n, micro);
    float *sums = mtn_exec_shared(ex, 5 * (size_t)C), *scale = sums + C;
    float *mean = save, *invstd = save + C;

    stats_ctx sc = {in, NULL, NULL, NULL, NULL, C, mi, channel_groups(C, mi, spatial), spatial, PASS_SUM,
                    bn->relu_in, false};
    channel_sums(ex, sums, &sc, in_dims.n);
    for (int ch = 0; ch < C; ch++) mean[ch] = (float)(sums[ch] / (double)count);
    sc.which = PASS_SQDEV;
    sc.mean = mean;
    channel_sums(ex, sums, &sc, in_dims.n);
    double mom = bn->momentum;
    for (int ch = 0; ch < C; ch++) {
        double var = sums[ch] / (double)count; /* biased, to normalise */
        invstd[ch] = (float)(1.0 / sqrt(var + bn->eps));
        running_mean[ch] = (float)((1.0 - mom) * running_mean[ch] + mom * mean[ch]);
        running_var[ch] = (float)((1.0 - mom) * running_var[ch] + mom * var * (double)count / (double)(count - 1));
        scale[ch] = (float)((double)invstd[ch] * gamma[ch]);
        if (bn->relu_out) { /* what backward needs to recompute the output ReLU's mask */
            save[2 * C + ch] = scale[ch];
            save[3 * C + ch] = beta[ch];
        }
    }
    apply_ctx a = {out, NULL, in, NULL, mean, scale, beta, NULL, NULL, NULL, C, spatial, bn->relu_in, bn->relu_out};
    nn_for_chunks(ex, mtn_dims_numel(in_dims), apply_range, &a);
}

/* Eval mode needs no scratch: each run works out its channel's scale itself. */
typedef struct {
    float *out;
    const float *x, *gamma, *beta, *mean, *var;
    double eps;
    int c;
    int64_t spatial;
    bool relu_in, relu_out;
} eval_ctx;

static void eval_range(void *p, int64_t lo, int64_t hi, int thread) {
    (void)thread;
    const eval_ctx *e = p;
    for (int64_t i = lo; i < hi;) {
        int64_t plane = i / e->spatial, end = nn_min64((plane + 1) * e->spatial, hi);
        int ch = (int)(plane % e->c);
        float m = e->mean[ch], scale = (float)(e->gamma[ch] / sqrt((double)e->var[ch] + e->eps)), shift = e->beta[ch];
        for (; i < end; i++) {
            float y = normalised(input_of(e->relu_in, e->x[i]), m, scale, shift);
            e->out[i] = e->relu_out && y < 0.0f ? 0.0f : y;
        }
    }
}

void mtn_bn_forward_eval(mtn_exec *ex, float *out, const float *in, const float *gamma, const float *beta,
                         const float *running_mean, const float *running_var, const mtn_bn *bn, mtn_dims in_dims) {
    MTN_ASSERT(in_dims.c == bn->c);
    eval_ctx e = {out, in, gamma, beta, running_mean, running_var, bn->eps, bn->c, mtn_dims_spatial(in_dims),
                  bn->relu_in, bn->relu_out};
    nn_for_chunks(ex, mtn_dims_numel(in_dims), eval_range, &e);
}

/* PyTorch's formula, with M = N x spatial and xhat = (x - mean) invstd:
 * dbeta = sum dy, dgamma = sum dy xhat,
 * din = gamma invstd (dy - sum dy / M - xhat sum(dy xhat) / M). */
void mtn_bn_backward(mtn_exec *ex, float *din, float *dgamma, float *dbeta, const float *dout, const float *in,
                     const float *save, const float *gamma, const mtn_bn *bn, mtn_dims in_dims, int micro) {
    int C = bn->c;
    MTN_ASSERT(in_dims.c == C);
    int64_t spatial = mtn_dims_spatial(in_dims), count = (int64_t)in_dims.n * mtn_exec_shares(ex) * spatial;
    int mi = nn_micro(in_dims.n, micro);
    const float *mean = save, *invstd = save + C;
    float *sums = mtn_exec_shared(ex, 5 * (size_t)C), *k1 = sums + 2 * C, *mdy = k1 + C, *k2 = mdy + C;

    const float *scale = bn->relu_out ? save + 2 * C : NULL, *shift = bn->relu_out ? save + 3 * C : NULL;
    stats_ctx sc = {in, dout, mean, scale, shift, C, mi, channel_groups(C, mi, spatial), spatial, PASS_GRAD,
                    bn->relu_in, bn->relu_out};
    channel_sums(ex, sums, &sc, in_dims.n);
    const float *sum_dy = sums, *sum_dyx = sums + C; /* sum dy (x - mean) */
    for (int ch = 0; ch < C; ch++) {
        if (dbeta) dbeta[ch] += sum_dy[ch];
        if (dgamma) dgamma[ch] += (float)((double)sum_dyx[ch] * invstd[ch]);
        double is = invstd[ch];
        k1[ch] = (float)(gamma[ch] * is);
        mdy[ch] = (float)(sum_dy[ch] / (double)count);
        k2[ch] = (float)(is * is * sum_dyx[ch] / (double)count);
    }
    if (!din) return;
    apply_ctx a = {NULL, din, in, dout, mean, scale, shift, k1, mdy, k2, C, spatial, bn->relu_in, bn->relu_out};
    nn_for_chunks(ex, mtn_dims_numel(in_dims), apply_range, &a);
}
