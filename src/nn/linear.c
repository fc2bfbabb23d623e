/* linear.c — the fully connected layer (PyTorch nn.Linear), one single-threaded
 * cblas_sgemm per micro-batch. Items are micro-batches in forward too, so each
 * sample's output bits depend on the micro-batch size only (not on how many
 * micro-batches a rank holds). Backward: each micro-batch is one leaf of the fixed
 * tree for the weight and bias gradients, and the same leaf adds its own rows of the
 * input gradient, dout W. */
#include <cblas.h>
#include <limits.h>
#include <string.h>

#include "items.h"

mtn_needs mtn_linear_needs(const mtn_linear *l, int n, int micro) {
    size_t params = (size_t)l->out_f * (size_t)l->in_f + (size_t)l->out_f;
    mtn_needs needs = {0, params, params, mtn_tree_floats(params, n / nn_micro(n, micro))};
    return needs;
}

typedef struct {
    float *out, *din;
    const float *in, *dout, *w, *bias;
    int in_f, out_f, micro;
    bool grad_bias; /* backward: the leaves also sum the bias gradient */
} lin_ctx;

static void forward_item(void *p, int m, int thread) {
    (void)thread;
    const lin_ctx *c = p;
    int64_t r0 = (int64_t)m * c->micro;
    float *y = c->out + r0 * c->out_f;
    if (c->bias)
        for (int r = 0; r < c->micro; r++) memcpy(y + (int64_t)r * c->out_f, c->bias, sizeof(float) * (size_t)c->out_f);
    // y (micro, out_f) = x W^T (+ bias)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->micro, c->out_f, c->in_f, 1.0f, c->in + r0 * c->in_f,
                c->in_f, c->w, c->in_f, c->bias ? 1.0f : 0.0f, y, c->out_f);
}

// out (N, out_f) from in (N, in_f); w (out_f, in_f)
void mtn_linear_forward(mtn_exec *ex, float *out, const float *in, const float *w, const float *bias,
                        const mtn_linear *l, int n, int micro) {
    MTN_ASSERT((int64_t)l->in_f * l->out_f <= INT_MAX);
    lin_ctx c = {out, NULL, in, NULL, w, bias, l->in_f, l->out_f, nn_micro(n, micro), false};
    mtn_exec_for(ex, n / c.micro, forward_item, &c);
}

/* Leaf m: acc = [dout_m^T x_m (out_f, in_f) | column sums of dout_m (out_f) when
 * there is a bias]; and din_m += dout_m W. */
static void backward_leaf(void *p, int m, float *acc, int thread) {
    (void)thread;
    const lin_ctx *c = p;
    int64_t r0 = (int64_t)m * c->micro;
    const float *dy = c->dout + r0 * c->out_f, *x = c->in + r0 * c->in_f;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c->out_f, c->in_f, c->micro, 1.0f, dy, c->out_f, x, c->in_f,
                0.0f, acc, c->in_f);
    if (c->grad_bias)
        for (int j = 0; j < c->out_f; j++) {
            double sum = 0.0;
            for (int r = 0; r < c->micro; r++) sum += dy[(int64_t)r * c->out_f + j];
            acc[(int64_t)c->out_f * c->in_f + j] = (float)sum;
        }
    if (c->din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->micro, c->in_f, c->out_f, 1.0f, dy, c->out_f, c->w,
                    c->in_f, 1.0f, c->din + r0 * c->in_f, c->in_f);
}

void mtn_linear_backward(mtn_exec *ex, float *din, float *dw, float *dbias, const float *dout, const float *in,
                         const float *w, const mtn_linear *l, int n, int micro) {
    MTN_ASSERT(dw && (int64_t)l->in_f * l->out_f <= INT_MAX);
    lin_ctx c = {NULL, din, in, dout, w, NULL, l->in_f, l->out_f, nn_micro(n, micro), dbias != NULL};
    nn_reduce_params(ex, n / c.micro, backward_leaf, &c, dw, (size_t)l->out_f * (size_t)l->in_f, dbias,
                     (size_t)l->out_f);
}
