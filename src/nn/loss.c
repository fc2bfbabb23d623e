/* loss.c — the losses and their gradients: softmax cross-entropy against class
 * indices (per image or per pixel/voxel) or against class probabilities (mixup), and
 * BYOL's 2 - 2 cos(p, z). Each is a mean over the call's batch (all its shares). Per-position math is
 * in double (log-sum-exp shifted by the maximum); each item — a micro-batch, or a
 * power-of-two chunk of one micro-batch's positions — is one leaf of the fixed tree
 * for the loss sum, and writes its own positions' gradient, which no other item
 * touches. Gradients are overwritten, not accumulated: a loss starts backward. */
#include <math.h>

#include "items.h"

mtn_needs mtn_loss_needs(void) {
    mtn_needs n = {0, 1, 0, mtn_tree_floats(1, 1 << 16)}; /* one float a leaf: any count of leaves */
    return n;
}

/* Cross-entropy of one position: logits x[j * stride], j < k, against class `hard`
 * or (soft not NULL) probabilities soft[j]. Writes dx[j * stride] =
 * scale (softmax_j sum(t) - t_j) when dx is given; returns sum_j t_j (lse - x_j). */
static double xent_one(float *dx, const float *x, int64_t stride, int k, int hard, const float *soft,
                       double scale) {
    enum { KEPT = 32 }; /* exp(x_j - max) kept for the gradient when k <= KEPT */
    double e[KEPT];
    double mx = x[0];
    for (int j = 1; j < k; j++)
        if (x[j * stride] > mx) mx = x[j * stride];
    double se = 0.0;
    for (int j = 0; j < k; j++) {
        double ej = exp(x[j * stride] - mx);
        if (j < KEPT) e[j] = ej;
        se += ej;
    }
    double lse = mx + log(se), loss = 0.0, tsum = 1.0;
    if (soft) {
        tsum = 0.0;
        for (int j = 0; j < k; j++) {
            loss += soft[j] * (lse - x[j * stride]);
            tsum += soft[j];
        }
    } else {
        MTN_ASSERT(hard >= 0 && hard < k);
        loss = lse - x[hard * stride];
    }
    if (dx)
        for (int j = 0; j < k; j++) {
            double t = soft ? soft[j] : j == hard ? 1.0 : 0.0;
            double pj = k <= KEPT ? e[j] / se : exp(x[j * stride] - lse); /* softmax */
            dx[j * stride] = (float)((pj * tsum - t) * scale);
        }
    return loss;
}

/* 2 - 2 cos(p, z) of one row, with F.normalize's eps; dp = scale d/dp when given. */
static double cosine_one(float *dp, const float *p, const float *z, int d, double scale) {
    const double eps = 1e-12;
    double pn = sqrt(nn_dot(p, p, d)), zn = sqrt(nn_dot(z, z, d)), pz = nn_dot(p, z, d);
    double pd = fmax(pn, eps), zd = fmax(zn, eps), cos = pz / (pd * zd);
    if (dp)
        for (int i = 0; i < d; i++) {
            double dcos = z[i] / (pd * zd) - (pn > eps ? cos * p[i] / (pn * pn) : 0.0);
            dp[i] = (float)(-2.0 * scale * dcos);
        }
    return 2.0 - 2.0 * cos;
}

typedef enum { XENT, XENT_SOFT, COSINE } loss_kind;

typedef struct {
    loss_kind kind;
    float *grad;
    const float *x;        /* logits, or p */
    const int32_t *hard;   /* XENT: (N, spatial) */
    const float *other;    /* XENT_SOFT: targets (N, K); COSINE: z (N, D) */
    int k;                 /* classes, or D */
    int64_t spatial;
    double scale;
    nn_plan pl;
} loss_ctx;

static void loss_leaf(void *p, int item, float *out, int thread) {
    (void)thread;
    const loss_ctx *c = p;
    int s0;
    int64_t c0, nc;
    nn_plan_item(&c->pl, item, &s0, &c0, &nc);
    double sum = 0.0;
    for (int64_t q = c0; q < c0 + nc; q++) {
        int64_t s = s0 + q / c->spatial, pos = q % c->spatial, row = s * c->k;
        if (c->kind == XENT) {
            int64_t at = row * c->spatial + pos;
            sum += xent_one(c->grad ? c->grad + at : NULL, c->x + at, c->spatial, c->k,
                            c->hard[s * c->spatial + pos], NULL, c->scale);
        } else if (c->kind == XENT_SOFT) {
            sum += xent_one(c->grad ? c->grad + row : NULL, c->x + row, 1, c->k, -1, c->other + row, c->scale);
        } else {
            sum += cosine_one(c->grad ? c->grad + row : NULL, c->x + row, c->other + row, c->k, c->scale);
        }
    }
    out[0] = (float)sum;
}

/* The mean over n x spatial positions (of every share of the batch), the sum
 * through the fixed tree. */
static double mean_loss(mtn_exec *ex, loss_ctx *c, int n, int micro) {
    MTN_ASSERT(n >= 1 && c->k >= 1 && c->spatial >= 1);
    double count = (double)n * mtn_exec_shares(ex) * (double)c->spatial;
    c->scale = 1.0 / count;
    c->pl = nn_make_plan(n, micro, c->spatial);
    float sum = 0.0f;
    mtn_exec_reduce(ex, nn_plan_items(&c->pl), 1, loss_leaf, c, &sum);
    mtn_exec_combine(ex, &sum, 1);
    return sum / count;
}

// logits, dlogits (N, K, spatial); target (N, spatial)
double mtn_xent_forward_backward(mtn_exec *ex, float *dlogits, const float *logits, const int32_t *target, int n,
                                 int k, int64_t spatial, int micro) {
    loss_ctx c = {XENT, dlogits, logits, target, NULL, k, spatial, 0.0, {0}};
    return mean_loss(ex, &c, n, micro);
}

// logits, dlogits, target (N, K)
double mtn_xent_soft_forward_backward(mtn_exec *ex, float *dlogits, const float *logits, const float *target, int n,
                                      int k, int micro) {
    loss_ctx c = {XENT_SOFT, dlogits, logits, NULL, target, k, 1, 0.0, {0}};
    return mean_loss(ex, &c, n, micro);
}

// p, dp, z (N, D)
double mtn_cosine_loss_forward_backward(mtn_exec *ex, float *dp, const float *p, const float *z, int n, int d,
                                        int micro) {
    loss_ctx c = {COSINE, dp, p, NULL, z, d, 1, 0.0, {0}};
    return mean_loss(ex, &c, n, micro);
}
