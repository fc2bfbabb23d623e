/* graph.c — the op list behind every model (see graph.h): builders that register
 * state_dict tensors and activation slots, the memory plan, and the forward and
 * backward walks over the ops. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

/* ---- tables ---- */

static bool grow(void **p, int *cap, int need, size_t elem) {
    if (need <= *cap) return true;
    int nc = *cap ? *cap * 2 : 32;
    while (nc < need) nc *= 2;
    void *np = realloc(*p, (size_t)nc * elem);
    if (!np) return false;
    *p = np;
    *cap = nc;
    return true;
}

static int fail(mtn_model *m, int rc) {
    if (!m->status) m->status = rc;
    return -1;
}

static int add_tensor(mtn_model *m, const char *prefix, const char *leaf, mtn_tensor_kind kind, int ndim,
                      const int64_t *shape) {
    if (!grow((void **)&m->tensors, &m->cap_tensors, m->n_tensors + 1, sizeof *m->tensors))
        return fail(m, mtn_error_set(MTN_ENOMEM, "out of memory building the model"));
    mtn_tensor_info *t = &m->tensors[m->n_tensors];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s.%s", prefix, leaf);
    t->kind = kind;
    t->ndim = ndim;
    t->numel = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->numel *= shape[i];
    }
    if (kind == MTN_TENSOR_PARAM) {
        t->offset = m->n_params;
        m->n_params += t->numel;
    } else if (kind == MTN_TENSOR_BUFFER) {
        t->offset = m->n_buffers;
        m->n_buffers += t->numel;
    } else {
        t->offset = m->n_counters;
        m->n_counters += (int)t->numel;
    }
    return m->n_tensors++;
}

static int add_slot(mtn_model *m, mtn_dims dims, int producer) {
    if (!grow((void **)&m->slots, &m->cap_slots, m->n_slots + 1, sizeof *m->slots))
        return fail(m, mtn_error_set(MTN_ENOMEM, "out of memory building the model"));
    slot *s = &m->slots[m->n_slots];
    memset(s, 0, sizeof *s);
    s->dims = dims;
    s->producer = producer;
    s->last_use = -1;
    return m->n_slots++;
}

/* A new op reading `in` (and `in2`); its output slot is made by the caller. */
static op *add_op(mtn_model *m, op_kind kind, int in, int in2) {
    if (m->status || in < 0 || (in2 < -1)) return NULL;
    if (!grow((void **)&m->ops, &m->cap_ops, m->n_ops + 1, sizeof *m->ops)) {
        fail(m, mtn_error_set(MTN_ENOMEM, "out of memory building the model"));
        return NULL;
    }
    op *o = &m->ops[m->n_ops];
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->in = in;
    o->in2 = in2;
    o->w = o->b = o->rm = o->rv = o->nbt = -1;
    m->slots[in].last_use = m->n_ops;
    if (in2 >= 0) m->slots[in2].last_use = m->n_ops;
    return o;
}

/* finishes the op just added with a fresh output slot */
static int output_of(mtn_model *m, op *o, mtn_dims dims) {
    int s = add_slot(m, dims, m->n_ops);
    if (s < 0) return -1;
    o->out = s;
    m->n_ops++;
    return s;
}

int g_input(mtn_model *m, mtn_dims dims) { return add_slot(m, dims, -1); }

static bool is3d(const mtn_model *m) { return m->spec.arch == MTN_ARCH_UNET && m->spec.dims == 3; }

int g_conv(mtn_model *m, const char *prefix, int in, int cout, int k, int stride, int pad, bool bias) {
    op *o = add_op(m, OP_CONV, in, -1);
    if (!o) return -1;
    mtn_dims d = m->slots[in].dims;
    int kd = is3d(m) ? k : 1;
    o->conv = (mtn_conv){d.c, cout, {kd, k, k}, {is3d(m) ? stride : 1, stride, stride}, {is3d(m) ? pad : 0, pad, pad}};
    int64_t shape[5] = {cout, d.c, kd, k, k};
    if (!is3d(m)) shape[2] = k; /* (Cout, Cin, kh, kw) */
    o->w = add_tensor(m, prefix, "weight", MTN_TENSOR_PARAM, is3d(m) ? 5 : 4, shape);
    if (bias) {
        int64_t bs[1] = {cout};
        o->b = add_tensor(m, prefix, "bias", MTN_TENSOR_PARAM, 1, bs);
    }
    mtn_dims out = mtn_conv_out_dims(&o->conv, d);
    m->flops_per_sample += 2.0 * (double)mtn_dims_spatial(out) * cout * d.c * kd * k * k;
    return output_of(m, o, out);
}

int g_convt(mtn_model *m, const char *prefix, int in, int cout, int k) {
    op *o = add_op(m, OP_CONVT, in, -1);
    if (!o) return -1;
    mtn_dims d = m->slots[in].dims;
    int kd = is3d(m) ? k : 1;
    o->convt = (mtn_convt){d.c, cout, {kd, k, k}};
    int64_t shape[5] = {d.c, cout, kd, k, k};
    if (!is3d(m)) shape[2] = k; /* (Cin, Cout, kh, kw) */
    o->w = add_tensor(m, prefix, "weight", MTN_TENSOR_PARAM, is3d(m) ? 5 : 4, shape);
    int64_t bs[1] = {cout};
    o->b = add_tensor(m, prefix, "bias", MTN_TENSOR_PARAM, 1, bs);
    m->flops_per_sample += 2.0 * (double)mtn_dims_spatial(d) * d.c * cout * kd * k * k;
    return output_of(m, o, mtn_convt_out_dims(&o->convt, d));
}

int g_bn(mtn_model *m, const char *prefix, int in, bn_relu relu) {
    op *o = add_op(m, OP_BN, in, -1);
    if (!o) return -1;
    mtn_dims d = m->slots[in].dims;
    o->bn = (mtn_bn){.c = d.c, .eps = 1e-5f, .momentum = 0.1f, .relu_in = relu == BN_RELU_IN,
                     .relu_out = relu == BN_RELU_OUT};
    int64_t c[1] = {d.c};
    o->w = add_tensor(m, prefix, "weight", MTN_TENSOR_PARAM, 1, c);
    o->b = add_tensor(m, prefix, "bias", MTN_TENSOR_PARAM, 1, c);
    if (o->w >= 0 && o->b >= 0) m->tensors[o->w].grad_whole = m->tensors[o->b].grad_whole = true; /* from global sums */
    o->rm = add_tensor(m, prefix, "running_mean", MTN_TENSOR_BUFFER, 1, c);
    o->rv = add_tensor(m, prefix, "running_var", MTN_TENSOR_BUFFER, 1, c);
    o->nbt = add_tensor(m, prefix, "num_batches_tracked", MTN_TENSOR_COUNTER, 0, c);
    return output_of(m, o, d);
}

int g_relu(mtn_model *m, int in, bool in_place) {
    op *o = add_op(m, OP_RELU, in, -1);
    if (!o) return -1;
    if (in_place) {
        /* only for a value nothing else reads: the op before it made it for this ReLU */
        o->out = in;
        m->n_ops++;
        return in;
    }
    return output_of(m, o, m->slots[in].dims);
}

int g_add(mtn_model *m, int a, int b, bool in_place) {
    op *o = add_op(m, OP_ADD, a, b);
    if (!o) return -1;
    if (in_place) { /* a is read by nothing else: the sum overwrites it (its gradient is the sum's) */
        o->out = a;
        m->n_ops++;
        return a;
    }
    return output_of(m, o, m->slots[a].dims);
}

int g_maxpool(mtn_model *m, int in, int k) {
    op *o = add_op(m, OP_MAXPOOL, in, -1);
    if (!o) return -1;
    o->pool = (mtn_maxpool){{is3d(m) ? k : 1, k, k}};
    return output_of(m, o, mtn_maxpool_out_dims(&o->pool, m->slots[in].dims));
}

int g_avgpool(mtn_model *m, int in) {
    op *o = add_op(m, OP_AVGPOOL, in, -1);
    if (!o) return -1;
    mtn_dims d = m->slots[in].dims;
    mtn_dims out = {d.n, d.c, 1, 1, 1};
    return output_of(m, o, out);
}

int g_linear(mtn_model *m, const char *prefix, int in, int out_f, bool bias) {
    op *o = add_op(m, OP_LINEAR, in, -1);
    if (!o) return -1;
    mtn_dims d = m->slots[in].dims;
    int in_f = (int)(d.c * mtn_dims_spatial(d));
    o->lin = (mtn_linear){in_f, out_f};
    int64_t ws[2] = {out_f, in_f}, bs[1] = {out_f};
    o->w = add_tensor(m, prefix, "weight", MTN_TENSOR_PARAM, 2, ws);
    if (bias) o->b = add_tensor(m, prefix, "bias", MTN_TENSOR_PARAM, 1, bs);
    m->flops_per_sample += 2.0 * in_f * out_f;
    mtn_dims out = {d.n, out_f, 1, 1, 1};
    return output_of(m, o, out);
}

void g_unused_conv(mtn_model *m, const char *prefix, int cin, int cout) {
    int64_t ws[5] = {cout, cin, 1, 1, 1}, bs[1] = {cout};
    add_tensor(m, prefix, "weight", MTN_TENSOR_PARAM, is3d(m) ? 5 : 4, ws);
    add_tensor(m, prefix, "bias", MTN_TENSOR_PARAM, 1, bs);
}

int g_dropout(mtn_model *m, int in, float p) {
    op *o = add_op(m, OP_DROPOUT, in, -1);
    if (!o) return -1;
    o->p = p;
    return output_of(m, o, m->slots[in].dims);
}

int g_concat(mtn_model *m, int a, int b) {
    op *o = add_op(m, OP_CONCAT, a, b);
    if (!o) return -1;
    mtn_dims d = m->slots[a].dims;
    d.c += m->slots[b].dims.c;
    return output_of(m, o, d);
}

/* ---- the memory plan ---- */

static int64_t numel(const slot *s) { return mtn_dims_numel(s->dims); }

/* scratch of one op, for the executor's reservation */
static mtn_needs op_needs(const mtn_model *m, const op *o) {
    mtn_dims d = m->slots[o->in].dims;
    int micro = m->spec.micro;
    mtn_needs none = {0, 0, 0, 0};
    switch (o->kind) {
    case OP_CONV: return mtn_conv_needs(&o->conv, d, micro);
    case OP_CONVT: return mtn_convt_needs(&o->convt, d, micro);
    case OP_BN: return mtn_bn_needs(&o->bn, d, micro);
    case OP_LINEAR: return mtn_linear_needs(&o->lin, d.n, micro);
    default: return none;
    }
}

int g_finish(mtn_model *m, int output) {
    if (m->status) return m->status;
    m->output = output;
    /* gradient buffers: a slot's gradient lives, in backward order, from its last
     * reader down to its producer; slots whose lives do not overlap share a buffer */
    typedef struct {
        int64_t size;
        int free_after; /* op index (backward walks down): free once ops >= this are done... */
        bool busy;
    } gbuf;
    gbuf *bufs = calloc((size_t)m->n_slots, sizeof *bufs);
    int *owner = malloc(sizeof(int) * (size_t)m->n_slots);
    if (!bufs || !owner) {
        free(bufs);
        free(owner);
        return mtn_error_set(MTN_ENOMEM, "out of memory planning the model");
    }
    int n_bufs = 0;
    for (int s = 0; s < m->n_slots; s++) owner[s] = -1;
    /* walk ops from last to first; a slot's gradient is born at its last reader (or at
     * the end for the output) and dies after its producer has read it */
    for (int i = m->n_ops; i >= 0; i--) {
        for (int s = 0; s < m->n_slots; s++) {
            const slot *sl = &m->slots[s];
            if (sl->producer < 0 || owner[s] >= 0) continue;
            int born = s == output ? m->n_ops : sl->last_use;
            if (born != i) continue;
            int best = -1;
            for (int b = 0; b < n_bufs; b++)
                if (!bufs[b].busy && bufs[b].size >= numel(sl) && (best < 0 || bufs[b].size < bufs[best].size)) best = b;
            if (best < 0) {
                for (int b = 0; b < n_bufs; b++) /* grow the largest free one instead of adding */
                    if (!bufs[b].busy && (best < 0 || bufs[b].size > bufs[best].size)) best = b;
                if (best < 0) best = n_bufs++;
                if (bufs[best].size < numel(sl)) bufs[best].size = numel(sl);
            }
            bufs[best].busy = true;
            owner[s] = best;
        }
        if (i < m->n_ops) { /* op i has now read its output's gradient: free it */
            int out = m->ops[i].out;
            bool in_place = m->ops[i].out == m->ops[i].in;
            if (!in_place && owner[out] >= 0) bufs[owner[out]].busy = false;
        }
    }
    /* one arena: activations, gradients, aux */
    int64_t total = 0;
    for (int s = 0; s < m->n_slots; s++) total += numel(&m->slots[s]) * (int64_t)sizeof(float);
    int64_t grad_base = total;
    int64_t *grad_off = malloc(sizeof(int64_t) * (size_t)(n_bufs ? n_bufs : 1));
    for (int b = 0; b < n_bufs; b++) {
        grad_off[b] = total;
        total += bufs[b].size * (int64_t)sizeof(float);
    }
    int64_t aux_base = total;
    for (int i = 0; i < m->n_ops; i++) {
        const op *o = &m->ops[i];
        const slot *out = &m->slots[o->out];
        if (o->kind == OP_BN) total += 4 * o->bn.c * (int64_t)sizeof(float);
        if (o->kind == OP_MAXPOOL) total += numel(out) * (int64_t)sizeof(int32_t);
        if (o->kind == OP_DROPOUT) total += numel(out);
        total = (total + 63) / 64 * 64;
    }
    (void)grad_base;
    (void)aux_base;
    m->arena = aligned_alloc(64, (size_t)((total + 63) / 64 * 64));
    m->params = calloc((size_t)(m->n_params ? m->n_params : 1), sizeof(float));
    m->grads = calloc((size_t)(m->n_params ? m->n_params : 1), sizeof(float));
    m->buffers = calloc((size_t)(m->n_buffers ? m->n_buffers : 1), sizeof(float));
    m->counters = calloc((size_t)(m->n_counters ? m->n_counters : 1), sizeof(int64_t));
    if (!m->arena || !m->params || !m->grads || !m->buffers || !m->counters || !grad_off) {
        free(bufs);
        free(owner);
        free(grad_off);
        return mtn_error_set(MTN_ENOMEM, "out of memory for the model (%lld MB of activations)",
                             (long long)(total >> 20));
    }
    memset(m->arena, 0, (size_t)total); /* touch every page now, not in the first step */
    m->arena_bytes = total;
    char *base = m->arena;
    int64_t at = 0;
    for (int s = 0; s < m->n_slots; s++) {
        m->slots[s].data = (float *)(void *)(base + at);
        at += numel(&m->slots[s]) * (int64_t)sizeof(float);
        m->slots[s].grad = owner[s] >= 0 ? (float *)(void *)(base + grad_off[owner[s]]) : NULL;
    }
    at = aux_base;
    mtn_needs needs = {0, 0, 0, 0};
    for (int i = 0; i < m->n_ops; i++) {
        op *o = &m->ops[i];
        const slot *out = &m->slots[o->out];
        if (o->kind == OP_BN) {
            o->save = (float *)(void *)(base + at);
            at += 4 * o->bn.c * (int64_t)sizeof(float);
        }
        if (o->kind == OP_MAXPOOL) {
            o->argmax = (int32_t *)(void *)(base + at);
            at += numel(out) * (int64_t)sizeof(int32_t);
        }
        if (o->kind == OP_DROPOUT) {
            o->mask = (uint8_t *)(base + at);
            at += numel(out);
        }
        at = (at + 63) / 64 * 64;
        needs = mtn_needs_max(needs, op_needs(m, o));
    }
    free(bufs);
    free(owner);
    free(grad_off);
    return mtn_exec_reserve(m->ex, needs);
}

/* ---- forward and backward ---- */

static float *P(mtn_model *m, int t) { return t < 0 ? NULL : m->params + m->tensors[t].offset; }
static float *G(mtn_model *m, int t) { return t < 0 ? NULL : m->grads + m->tensors[t].offset; }
static float *B(mtn_model *m, int t) { return m->buffers + m->tensors[t].offset; }

static mtn_dims at_batch(mtn_dims d, int n) {
    d.n = n;
    return d;
}

const float *mtn_model_forward(mtn_model *m, const float *x, int n, bool train, uint64_t dropout_seed,
                               uint64_t step) {
    MTN_ASSERT(n >= 1 && n <= m->spec.batch && n % m->spec.micro == 0);
    m->n = n;
    m->trained_forward = train;
    slot *in0 = &m->slots[m->input];
    memcpy(in0->data, x, sizeof(float) * (size_t)mtn_dims_numel(at_batch(in0->dims, n)));
    mtn_exec *ex = m->ex;
    int micro = m->spec.micro;
    uint64_t dropout_counter = step << 32;
    for (int i = 0; i < m->n_ops; i++) {
        op *o = &m->ops[i];
        slot *a = &m->slots[o->in], *out = &m->slots[o->out];
        mtn_dims d = at_batch(a->dims, n);
        int64_t count = mtn_dims_numel(at_batch(out->dims, n));
        double t0 = m->profile ? mtn_now() : 0;
        switch (o->kind) {
        case OP_CONV: mtn_conv_forward(ex, out->data, a->data, P(m, o->w), P(m, o->b), &o->conv, d, micro); break;
        case OP_CONVT: mtn_convt_forward(ex, out->data, a->data, P(m, o->w), P(m, o->b), &o->convt, d, micro); break;
        case OP_BN:
            if (train) {
                mtn_bn_forward_train(ex, out->data, o->save, B(m, o->rm), B(m, o->rv), a->data, P(m, o->w), P(m, o->b),
                                     &o->bn, d, micro);
                m->counters[m->tensors[o->nbt].offset]++;
            } else {
                mtn_bn_forward_eval(ex, out->data, a->data, P(m, o->w), P(m, o->b), B(m, o->rm), B(m, o->rv), &o->bn, d);
            }
            break;
        case OP_RELU: mtn_relu_forward(ex, out->data, a->data, count); break;
        case OP_ADD: mtn_add_forward(ex, out->data, a->data, m->slots[o->in2].data, count); break;
        case OP_MAXPOOL: mtn_maxpool_forward(ex, out->data, o->argmax, a->data, &o->pool, d); break;
        case OP_AVGPOOL: mtn_avgpool_forward(ex, out->data, a->data, d); break;
        case OP_LINEAR: mtn_linear_forward(ex, out->data, a->data, P(m, o->w), P(m, o->b), &o->lin, n, micro); break;
        case OP_DROPOUT:
            if (train && o->p > 0) {
                /* the mask at the global element index: this share starts share x count in */
                uint64_t first = (uint64_t)mtn_exec_share(ex) * (uint64_t)count;
                MTN_ASSERT(first % 4 == 0);
                mtn_dropout_forward(ex, out->data, o->mask, a->data, o->p, dropout_seed, dropout_counter + first / 4,
                                    count);
                dropout_counter += (uint64_t)count * (uint64_t)mtn_exec_shares(ex);
            } else {
                memcpy(out->data, a->data, sizeof(float) * (size_t)count);
            }
            break;
        case OP_CONCAT: {
            const slot *b = &m->slots[o->in2];
            mtn_concat_forward(ex, out->data, a->data, b->data, n, a->dims.c, b->dims.c, mtn_dims_spatial(a->dims));
            break;
        }
        }
        if (m->profile) m->op_seconds[0][o->kind] += mtn_now() - t0;
    }
    return m->slots[m->output].data;
}

void mtn_model_backward(mtn_model *m, const float *dout) {
    MTN_ASSERT(m->trained_forward);
    int n = m->n, micro = m->spec.micro;
    mtn_exec *ex = m->ex;
    slot *outs = &m->slots[m->output];
    memcpy(outs->grad, dout, sizeof(float) * (size_t)mtn_dims_numel(at_batch(outs->dims, n)));
    /* a gradient buffer is zeroed when its slot's first reader (walking down) writes it */
    for (int i = m->n_ops - 1; i >= 0; i--) {
        op *o = &m->ops[i];
        slot *a = &m->slots[o->in], *out = &m->slots[o->out];
        mtn_dims d = at_batch(a->dims, n);
        int64_t count = mtn_dims_numel(at_batch(out->dims, n));
        int ins[2] = {o->in, o->in2};
        for (int k = 0; k < 2; k++) {
            if (ins[k] < 0 || (k == 0 && o->out == o->in)) continue; /* in place: the output's gradient */
            slot *s = &m->slots[ins[k]];
            if (s->grad && s->last_use == i)
                memset(s->grad, 0, sizeof(float) * (size_t)mtn_dims_numel(at_batch(s->dims, n)));
        }
        float *din = a->grad; /* NULL for the model input */
        double t0 = m->profile ? mtn_now() : 0;
        switch (o->kind) {
        case OP_CONV:
            mtn_conv_backward(ex, din, G(m, o->w), G(m, o->b), out->grad, a->data, P(m, o->w), &o->conv, d, micro);
            break;
        case OP_CONVT:
            mtn_convt_backward(ex, din, G(m, o->w), G(m, o->b), out->grad, a->data, P(m, o->w), &o->convt, d, micro);
            break;
        case OP_BN:
            mtn_bn_backward(ex, din, G(m, o->w), G(m, o->b), out->grad, a->data, o->save, P(m, o->w), &o->bn, d, micro);
            break;
        case OP_RELU:
            if (o->out == o->in) mtn_relu_backward_in_place(ex, out->grad, out->data, count);
            else if (din) mtn_relu_backward(ex, din, out->grad, out->data, count);
            break;
        case OP_ADD:
            if (din && o->out != o->in) mtn_add_forward(ex, din, din, out->grad, count);
            if (m->slots[o->in2].grad) mtn_add_forward(ex, m->slots[o->in2].grad, m->slots[o->in2].grad, out->grad, count);
            break;
        case OP_MAXPOOL: if (din) mtn_maxpool_backward(ex, din, out->grad, o->argmax, &o->pool, d); break;
        case OP_AVGPOOL: if (din) mtn_avgpool_backward(ex, din, out->grad, d); break;
        case OP_LINEAR:
            mtn_linear_backward(ex, din, G(m, o->w), G(m, o->b), out->grad, a->data, P(m, o->w), &o->lin, n, micro);
            break;
        case OP_DROPOUT:
            if (!din) break;
            if (o->p > 0) mtn_dropout_backward(ex, din, out->grad, o->mask, o->p, count);
            else mtn_add_forward(ex, din, din, out->grad, count);
            break;
        case OP_CONCAT: {
            slot *b = &m->slots[o->in2];
            mtn_concat_backward(ex, din, b->grad, out->grad, n, a->dims.c, b->dims.c, mtn_dims_spatial(a->dims));
            break;
        }
        }
        if (m->profile) m->op_seconds[1][o->kind] += mtn_now() - t0;
    }
}

void mtn_model_profile(mtn_model *m, bool on) {
    m->profile = on;
    memset(m->op_seconds, 0, sizeof m->op_seconds);
}

void mtn_model_print_profile(const mtn_model *m, FILE *out) {
    static const char *names[] = {"conv", "convT", "batchnorm", "relu", "add", "maxpool", "avgpool", "linear",
                                  "dropout", "concat"};
    double total = 0;
    for (int k = 0; k <= OP_CONCAT; k++) total += m->op_seconds[0][k] + m->op_seconds[1][k];
    for (int k = 0; k <= OP_CONCAT; k++) {
        double f = m->op_seconds[0][k], b = m->op_seconds[1][k];
        if (f + b > 0)
            fprintf(out, "# %-10s forward %8.3f s  backward %8.3f s  (%4.1f%%)\n", names[k], f, b,
                    total > 0 ? 100 * (f + b) / total : 0);
    }
}
