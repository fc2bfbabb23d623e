/* dropout.c — dropout in training mode, its mask drawn from the counter-based
 * generator so that it is a pure function of (seed, counter, element index): element
 * i keeps its value when word i % 4 of Philox block counter + i / 4, stream
 * MTN_STREAM_DROPOUT, read as a uniform float in [0, 1), is >= p. Chunks start on
 * block boundaries (NN_CHUNK is a multiple of 4), so threads and ranks draw the same
 * mask. Kept values are scaled by 1 / (1 - p), as PyTorch does. */
#include "items.h"

typedef struct {
    float *out;
    uint8_t *mask;
    const float *in;
    float p, scale;
    uint64_t seed, counter;
} drop_ctx;

static float keep_scale(float p) {
    MTN_ASSERT(p >= 0.0f && p <= 1.0f);
    return p < 1.0f ? 1.0f / (1.0f - p) : 0.0f; /* p = 1 drops everything */
}

static void forward_range(void *p, int64_t lo, int64_t hi, int thread) {
    (void)thread;
    const drop_ctx *c = p;
    mtn_rng r;
    mtn_rng_init(&r, c->seed, MTN_STREAM_DROPOUT, c->counter + (uint64_t)lo / 4);
    for (int64_t i = lo; i < hi; i++) {
        bool keep = mtn_rng_uniformf(&r) >= c->p;
        c->mask[i] = keep;
        c->out[i] = c->in[i] * (keep ? c->scale : 0.0f);
    }
}

void mtn_dropout_forward(mtn_exec *ex, float *out, uint8_t *mask, const float *in, float p, uint64_t seed,
                         uint64_t counter, int64_t n) {
    drop_ctx c = {out, mask, in, p, keep_scale(p), seed, counter};
    nn_for_chunks(ex, n, forward_range, &c);
}

typedef struct {
    float *din;
    const float *dout;
    const uint8_t *mask;
    float scale;
} drop_back_ctx;

static void backward_range(void *p, int64_t lo, int64_t hi, int thread) {
    (void)thread;
    const drop_back_ctx *c = p;
    for (int64_t i = lo; i < hi; i++)
        if (c->mask[i]) c->din[i] += c->dout[i] * c->scale;
}

void mtn_dropout_backward(mtn_exec *ex, float *din, const float *dout, const uint8_t *mask, float p, int64_t n) {
    MTN_ASSERT(din != dout);
    drop_back_ctx c = {din, dout, mask, keep_scale(p)};
    nn_for_chunks(ex, n, backward_range, &c);
}
