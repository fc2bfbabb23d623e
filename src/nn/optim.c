/* optim.c — SGD with momentum and weight decay and Adam, exactly as torch.optim
 * computes them in float32, the learning-rate schedules, and the EMA update of
 * target networks. Element-wise, split over fixed chunks: any thread count gives
 * the same bits. */
#include <math.h>

#include "mtn/nn.h"

enum { CHUNK = 1 << 15 };

/* Hyper-parameters are doubles (torch's Python floats); each is rounded to float
 * once, as ATen rounds a scalar for a float32 kernel. */
typedef struct {
    float *p, *a, *b;
    const float *g;
    int64_t n;
    float k[6]; /* per-call float constants */
    bool first;
    float eps, wd;
} step_ctx;

static void chunk_range(int item, int64_t n, int64_t *lo, int64_t *hi) {
    *lo = (int64_t)item * CHUNK;
    *hi = *lo + CHUNK < n ? *lo + CHUNK : n;
}

static int chunks(int64_t n) { return (int)((n + CHUNK - 1) / CHUNK); }

static void sgd_item(void *p, int item, int thread) {
    (void)thread;
    step_ctx *c = p;
    float lr = c->k[0], momentum = c->k[1], wd = c->k[2];
    int64_t lo, hi;
    chunk_range(item, c->n, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
        float d = c->g[i];
        if (wd != 0.0f) d += wd * c->p[i];
        if (momentum != 0.0f) {
            c->a[i] = c->first ? d : c->a[i] * momentum + d;
            d = c->a[i];
        }
        c->p[i] += -lr * d;
    }
}

void mtn_sgd_step(mtn_exec *ex, float *params, float *momentum_buf, const float *grads, int64_t n, const mtn_sgd *o,
                  bool first_step) {
    step_ctx c = {.p = params, .a = momentum_buf, .g = grads, .n = n, .first = first_step,
                  .k = {(float)o->lr, (float)o->momentum, (float)o->weight_decay}};
    mtn_exec_for(ex, chunks(n), sgd_item, &c);
}

static void adam_item(void *p, int item, int thread) {
    (void)thread;
    step_ctx *c = p;
    /* k: beta1, 1 - beta1, beta2, 1 - beta2, -(lr / bias_correction1), sqrt(bias_correction2);
     * eps and weight decay follow */
    float beta1 = c->k[0], one_m_b1 = c->k[1], beta2 = c->k[2], one_m_b2 = c->k[3], step = c->k[4], bc2 = c->k[5];
    int64_t lo, hi;
    chunk_range(item, c->n, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
        float g = c->g[i];
        if (c->wd != 0.0f) g += c->wd * c->p[i];
        c->a[i] = c->a[i] * beta1 + g * one_m_b1;
        c->b[i] = c->b[i] * beta2 + one_m_b2 * g * g;
        float denom = sqrtf(c->b[i]) / bc2 + c->eps;
        c->p[i] += step * (c->a[i] / denom);
    }
}

void mtn_adam_step(mtn_exec *ex, float *params, float *exp_avg, float *exp_avg_sq, const float *grads, int64_t n,
                   const mtn_adam *o, int64_t step) {
    MTN_ASSERT(step >= 1);
    double bc1 = 1.0 - pow(o->beta1, (double)step), bc2 = 1.0 - pow(o->beta2, (double)step);
    step_ctx c = {.p = params, .a = exp_avg, .b = exp_avg_sq, .g = grads, .n = n, .eps = (float)o->eps,
                  .wd = (float)o->weight_decay,
                  .k = {(float)o->beta1, (float)(1.0 - o->beta1), (float)o->beta2, (float)(1.0 - o->beta2),
                        (float)(-(o->lr / bc1)), (float)sqrt(bc2)}};
    mtn_exec_for(ex, chunks(n), adam_item, &c);
}

double mtn_lr_warmup_cosine(double base_lr, int64_t step, int64_t warmup, int64_t total) {
    if (step < warmup) return base_lr * (double)step / (double)warmup;
    if (total <= warmup) return base_lr;
    double t = (double)(step - warmup) / (double)(total - warmup);
    if (t > 1.0) t = 1.0;
    return base_lr * 0.5 * (1.0 + cos(M_PI * t));
}

double mtn_ema_momentum(double base, int64_t step, int64_t total) {
    double t = total > 0 ? (double)step / (double)total : 1.0;
    if (t > 1.0) t = 1.0;
    return 1.0 - (1.0 - base) * (cos(M_PI * t) + 1.0) / 2.0;
}

static void ema_item(void *p, int item, int thread) {
    (void)thread;
    step_ctx *c = p;
    int64_t lo, hi;
    chunk_range(item, c->n, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) c->p[i] = c->k[0] * c->p[i] + c->k[1] * c->g[i];
}

void mtn_ema_update(mtn_exec *ex, float *target, const float *online, int64_t n, double tau) {
    step_ctx c = {.p = target, .g = online, .n = n, .k = {(float)tau, (float)(1.0 - tau)}};
    mtn_exec_for(ex, chunks(n), ema_item, &c);
}
