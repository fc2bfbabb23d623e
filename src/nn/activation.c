/* activation.c — ReLU forward and backward (also for a ReLU computed in place),
 * and the element-wise sum of residual connections (in place allowed), over fixed
 * element chunks (element-wise, so any split gives the same bits). */
#include "items.h"

typedef struct {
    float *out;
    const float *a, *b;
} ew_ctx;

/* out = max(in, 0); NaN stays NaN, as in PyTorch */
static void relu_range(void *p, int64_t lo, int64_t hi, int thread) {
    (void)thread;
    const ew_ctx *c = p;
    for (int64_t i = lo; i < hi; i++) c->out[i] = c->a[i] < 0.0f ? 0.0f : c->a[i];
}

void mtn_relu_forward(mtn_exec *ex, float *out, const float *in, int64_t n) {
    ew_ctx c = {out, in, NULL};
    nn_for_chunks(ex, n, relu_range, &c);
}

/* din += dout where out > 0 */
static void relu_backward_range(void *p, int64_t lo, int64_t hi, int thread) {
    (void)thread;
    const ew_ctx *c = p;
    for (int64_t i = lo; i < hi; i++)
        if (c->b[i] > 0.0f) c->out[i] += c->a[i];
}

void mtn_relu_backward(mtn_exec *ex, float *din, const float *dout, const float *out, int64_t n) {
    MTN_ASSERT(din != dout);
    ew_ctx c = {din, dout, out};
    nn_for_chunks(ex, n, relu_backward_range, &c);
}

/* g = 0 where out <= 0: the in-place ReLU's gradient, turned around in its buffer */
static void relu_in_place_range(void *p, int64_t lo, int64_t hi, int thread) {
    (void)thread;
    const ew_ctx *c = p;
    for (int64_t i = lo; i < hi; i++) c->out[i] = c->b[i] > 0.0f ? c->out[i] : 0.0f; /* a select: vectorizes */
}

void mtn_relu_backward_in_place(mtn_exec *ex, float *grad, const float *out, int64_t n) {
    ew_ctx c = {grad, NULL, out};
    nn_for_chunks(ex, n, relu_in_place_range, &c);
}

static void add_range(void *p, int64_t lo, int64_t hi, int thread) {
    (void)thread;
    const ew_ctx *c = p;
    for (int64_t i = lo; i < hi; i++) c->out[i] = c->a[i] + c->b[i];
}

void mtn_add_forward(mtn_exec *ex, float *out, const float *a, const float *b, int64_t n) {
    ew_ctx c = {out, a, b};
    nn_for_chunks(ex, n, add_range, &c);
}
