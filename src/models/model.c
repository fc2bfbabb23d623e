/* model.c — the public face of a model: creation for an architecture, the tensor
 * table, initialisation in PyTorch's law, and small accessors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

const char *mtn_arch_name(const mtn_model_spec *spec) {
    switch (spec->arch) {
    case MTN_ARCH_RESNET18: return "resnet18";
    case MTN_ARCH_UNET: return spec->dims == 3 ? "unet3d" : "unet2d";
    case MTN_ARCH_MLP: return "mlp";
    }
    return "?";
}

static int check_spec(const mtn_model_spec *s) {
    if (s->batch < 1 || s->micro < 1 || s->batch % s->micro != 0)
        return mtn_error_set(MTN_EUSAGE, "model: batch %d must be a positive multiple of micro-batch %d", s->batch,
                             s->micro);
    if (s->arch == MTN_ARCH_MLP) {
        if (s->mlp_in < 1 || s->mlp_hidden < 1 || s->mlp_out < 1)
            return mtn_error_set(MTN_EUSAGE, "model: MLP sizes must be positive");
        return MTN_OK;
    }
    if (s->in_channels < 1 || s->height < 1 || s->width < 1 || (s->arch == MTN_ARCH_UNET && s->dims == 3 && s->depth < 1))
        return mtn_error_set(MTN_EUSAGE, "model: input sizes must be positive");
    if ((s->head || s->arch == MTN_ARCH_UNET) && s->classes < 1)
        return mtn_error_set(MTN_EUSAGE, "model: classes must be positive");
    if (s->arch == MTN_ARCH_RESNET18 && (s->height % 8 || s->width % 8))
        return mtn_error_set(MTN_EUSAGE, "model: ResNet-18 needs height and width divisible by 8, found %dx%d",
                             s->height, s->width);
    if (s->arch == MTN_ARCH_UNET) {
        int pool = 1 << (s->n_blocks - 1);
        if (s->n_blocks < 1 || s->n_blocks > 6 || s->start_filters < 1)
            return mtn_error_set(MTN_EUSAGE, "model: U-Net needs 1-6 levels and positive filters");
        if (s->height % pool || s->width % pool || (s->dims == 3 && s->depth % pool))
            return mtn_error_set(MTN_EUSAGE, "model: U-Net input must be divisible by %d in every pooled dimension",
                                 pool);
    }
    return MTN_OK;
}

int mtn_model_create(const mtn_model_spec *spec, mtn_exec *ex, mtn_model **out) {
    *out = NULL;
    int rc = check_spec(spec);
    if (rc) return rc;
    mtn_model *m = calloc(1, sizeof *m);
    if (!m) return mtn_error_set(MTN_ENOMEM, "out of memory creating a model");
    m->spec = *spec;
    if (m->spec.arch != MTN_ARCH_UNET) m->spec.dims = 2;
    if (m->spec.arch == MTN_ARCH_UNET) m->spec.head = true;
    m->ex = ex;
    switch (spec->arch) {
    case MTN_ARCH_RESNET18: rc = mtn_build_resnet18(m); break;
    case MTN_ARCH_UNET: rc = mtn_build_unet(m); break;
    case MTN_ARCH_MLP: rc = mtn_build_mlp(m); break;
    }
    if (rc) {
        mtn_model_free(m);
        return rc;
    }
    *out = m;
    return MTN_OK;
}

void mtn_model_free(mtn_model *m) {
    if (!m) return;
    free(m->tensors);
    free(m->slots);
    free(m->ops);
    free(m->params);
    free(m->grads);
    free(m->buffers);
    free(m->counters);
    free(m->arena);
    free(m);
}

const mtn_model_spec *mtn_model_spec_of(const mtn_model *m) { return &m->spec; }
int mtn_model_n_tensors(const mtn_model *m) { return m->n_tensors; }
const mtn_tensor_info *mtn_model_tensor(const mtn_model *m, int i) { return &m->tensors[i]; }
float *mtn_model_params(mtn_model *m) { return m->params; }
float *mtn_model_grads(mtn_model *m) { return m->grads; }
float *mtn_model_buffers(mtn_model *m) { return m->buffers; }
int64_t *mtn_model_counters(mtn_model *m) { return m->counters; }
int64_t mtn_model_n_params(const mtn_model *m) { return m->n_params; }
int64_t mtn_model_n_buffers(const mtn_model *m) { return m->n_buffers; }
int mtn_model_n_counters(const mtn_model *m) { return m->n_counters; }

int mtn_model_find_tensor(const mtn_model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return i;
    return -1;
}

void mtn_model_zero_grad(mtn_model *m) { memset(m->grads, 0, sizeof(float) * (size_t)m->n_params); }

mtn_dims mtn_model_out_dims(const mtn_model *m) {
    mtn_dims d = m->slots[m->output].dims;
    d.n = m->n;
    return d;
}

int64_t mtn_model_bytes(const mtn_model *m) {
    return m->arena_bytes + (2 * m->n_params + m->n_buffers) * (int64_t)sizeof(float) +
           m->n_counters * (int64_t)sizeof(int64_t);
}

double mtn_model_train_flops(const mtn_model *m) { return 3.0 * m->flops_per_sample; }

/* ---- initialisation ---- */

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* fan_in and fan_out as torch.nn.init computes them: dim 1 and dim 0 times the
 * receptive field */
static void fans(const mtn_tensor_info *t, double *fan_in, double *fan_out) {
    double receptive = 1;
    for (int i = 2; i < t->ndim; i++) receptive *= (double)t->shape[i];
    *fan_in = (t->ndim > 1 ? (double)t->shape[1] : 1) * receptive;
    *fan_out = (double)t->shape[0] * receptive;
}

static void fill_uniform(float *p, int64_t n, double bound, mtn_rng *r) {
    for (int64_t i = 0; i < n; i++) p[i] = (float)((2.0 * mtn_rng_uniform(r) - 1.0) * bound);
}

void mtn_model_init(mtn_model *m, uint64_t seed) {
    const char *arch = mtn_arch_name(&m->spec);
    bool resnet = strcmp(arch, "resnet18") == 0, unet = strncmp(arch, "unet", 4) == 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const mtn_tensor_info *t = &m->tensors[i];
        mtn_rng r;
        mtn_rng_init(&r, seed, MTN_STREAM_INIT, (uint64_t)i << 40);
        if (t->kind == MTN_TENSOR_COUNTER) {
            m->counters[t->offset] = 0;
            continue;
        }
        if (t->kind == MTN_TENSOR_BUFFER) { /* running mean 0, running variance 1 */
            float v = ends_with(t->name, "running_var") ? 1.0f : 0.0f;
            for (int64_t k = 0; k < t->numel; k++) m->buffers[t->offset + k] = v;
            continue;
        }
        float *p = m->params + t->offset;
        /* BatchNorm registers weight, bias, running_mean, running_var in that order */
        bool bn_weight = t->ndim == 1 && ends_with(t->name, ".weight") && i + 2 < m->n_tensors &&
                         ends_with(m->tensors[i + 2].name, "running_mean");
        bool bn_bias = t->ndim == 1 && ends_with(t->name, ".bias") && i + 1 < m->n_tensors &&
                       ends_with(m->tensors[i + 1].name, "running_mean");
        double fan_in, fan_out;
        fans(t, &fan_in, &fan_out);
        if (bn_weight) {
            for (int64_t k = 0; k < t->numel; k++) p[k] = 1.0f;
        } else if (bn_bias) {
            memset(p, 0, sizeof(float) * (size_t)t->numel);
        } else if (unet && ends_with(t->name, ".bias")) { /* conv and transposed-conv biases: zeros */
            memset(p, 0, sizeof(float) * (size_t)t->numel);
        } else if (unet) { /* xavier_uniform_ */
            fill_uniform(p, t->numel, sqrt(6.0 / (fan_in + fan_out)), &r);
        } else if (resnet && t->ndim == 4 && strcmp(t->name, "conv1.weight") != 0) {
            /* torchvision: kaiming_normal_(mode="fan_out", nonlinearity="relu") */
            double std = sqrt(2.0 / fan_out);
            for (int64_t k = 0; k < t->numel; k++) p[k] = (float)(std * mtn_rng_normal(&r));
        } else if (ends_with(t->name, ".bias")) {
            /* nn.Linear / nn.Conv default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) of the weight's fan_in */
            const mtn_tensor_info *w = &m->tensors[i - 1];
            double wi, wo;
            fans(w, &wi, &wo);
            fill_uniform(p, t->numel, 1.0 / sqrt(wi), &r);
        } else {
            /* default kaiming_uniform_(a = sqrt(5)): bound 1/sqrt(fan_in) */
            fill_uniform(p, t->numel, 1.0 / sqrt(fan_in), &r);
        }
    }
    mtn_model_zero_grad(m);
}
