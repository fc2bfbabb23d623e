/* tiny_models.c — small instances of every model and one training step of them
 * (see tiny_models.h). */
#include "tiny_models.h"

#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

const char *const tiny_names[TINY_COUNT] = {"resnet18", "resnet18 encoder", "unet2d", "unet3d", "mlp"};

mtn_model_spec tiny_spec(int which, int batch) {
    mtn_model_spec s;
    memset(&s, 0, sizeof s);
    s.in_channels = 1;
    s.classes = 3;
    s.batch = s.micro = batch;
    s.depth = 1;
    s.height = s.width = 16;
    s.n_blocks = 4;
    switch (which) {
    case TINY_RESNET:
    case TINY_ENCODER:
        s.arch = MTN_ARCH_RESNET18;
        s.head = which == TINY_RESNET;
        s.dropout = 0.25f;
        break;
    case TINY_UNET2D:
        s.arch = MTN_ARCH_UNET;
        s.dims = 2;
        s.start_filters = 4;
        s.height = 16;
        s.width = 24;
        break;
    case TINY_UNET3D:
        s.arch = MTN_ARCH_UNET;
        s.dims = 3;
        s.start_filters = 2;
        s.depth = 8;
        s.height = s.width = 16;
        break;
    default:
        s.arch = MTN_ARCH_MLP;
        s.mlp_in = 32;
        s.mlp_hidden = 64;
        s.mlp_out = 16;
        break;
    }
    return s;
}

bool tiny_open(tiny_run *r, int which, int batch, int threads) {
    memset(r, 0, sizeof *r);
    mtn_model_spec s = tiny_spec(which, batch);
    r->n = batch;
    bool ok = mtn_exec_create(threads, &r->ex) == 0 && mtn_model_create(&s, r->ex, &r->m) == 0 &&
              mtn_exec_reserve(r->ex, mtn_loss_needs()) == 0;
    CU_ASSERT(ok);
    if (!ok) {
        fprintf(stderr, "\n%s: %s\n", tiny_names[which], mtn_error_message());
        return false;
    }
    mtn_model_init(r->m, 1);
    r->in_numel = s.arch == MTN_ARCH_MLP ? (int64_t)batch * s.mlp_in
                                         : (int64_t)batch * s.in_channels * s.depth * s.height * s.width;
    r->spatial = s.arch == MTN_ARCH_UNET ? (int64_t)s.depth * s.height * s.width : 1;
    /* room for any output: logits, a 512-d embedding or the MLP's */
    int64_t np = mtn_model_n_params(r->m), outs = (int64_t)batch * (s.classes * r->spatial + 512 + s.mlp_out);
    r->x = malloc(sizeof(float) * (size_t)r->in_numel);
    r->dout = malloc(sizeof(float) * (size_t)outs);
    r->z = malloc(sizeof(float) * (size_t)outs);
    r->target = malloc(sizeof(int32_t) * (size_t)(batch * r->spatial));
    r->st1 = calloc((size_t)np, sizeof(float));
    r->st2 = calloc((size_t)np, sizeof(float));
    mtn_rng g;
    mtn_rng_init(&g, 2, MTN_STREAM_AUGMENT, 0);
    for (int64_t i = 0; i < r->in_numel; i++) r->x[i] = mtn_rng_uniformf(&g);
    for (int64_t i = 0; i < batch * r->spatial; i++) r->target[i] = (int32_t)mtn_rng_below(&g, (uint32_t)s.classes);
    for (int64_t i = 0; i < outs; i++) r->z[i] = mtn_rng_uniformf(&g) - 0.5f;
    return true;
}

double tiny_step(tiny_run *r, int step) {
    const mtn_model_spec *s = mtn_model_spec_of(r->m);
    const float *out = mtn_model_forward(r->m, r->x, r->n, true, 7, (uint64_t)step);
    mtn_dims od = mtn_model_out_dims(r->m);
    double loss;
    if (s->arch == MTN_ARCH_MLP || (s->arch == MTN_ARCH_RESNET18 && !s->head)) {
        loss = mtn_cosine_loss_forward_backward(r->ex, r->dout, out, r->z, r->n, od.c, s->micro);
    } else {
        loss = mtn_xent_forward_backward(r->ex, r->dout, out, r->target, r->n, s->classes, r->spatial, s->micro);
    }
    mtn_model_zero_grad(r->m);
    mtn_model_backward(r->m, r->dout);
    int64_t np = mtn_model_n_params(r->m);
    if (step % 2 == 0) {
        mtn_sgd o = {0.01, 0.9, 5e-4};
        mtn_sgd_step(r->ex, mtn_model_params(r->m), r->st1, mtn_model_grads(r->m), np, &o, step == 0);
    } else {
        mtn_adam o = {1e-3, 0.9, 0.999, 1e-8, 0.0};
        mtn_adam_step(r->ex, mtn_model_params(r->m), r->st1, r->st2, mtn_model_grads(r->m), np, &o, step / 2 + 1);
    }
    return loss;
}

void tiny_close(tiny_run *r) {
    free(r->x);
    free(r->dout);
    free(r->z);
    free(r->target);
    free(r->st1);
    free(r->st2);
    mtn_model_free(r->m);
    mtn_exec_free(r->ex);
    memset(r, 0, sizeof *r);
}
