/* tiny_models.h — small instances of every model (ResNet-18 at 16 x 16, the U-Nets
 * with few filters, the MLP head) and one training step of them, for the tests that
 * need real models but not real sizes. */
#ifndef MTN_TEST_TINY_MODELS_H
#define MTN_TEST_TINY_MODELS_H

#include "mtn/models.h"

enum { TINY_RESNET, TINY_ENCODER, TINY_UNET2D, TINY_UNET3D, TINY_MLP, TINY_COUNT };
extern const char *const tiny_names[TINY_COUNT];

/* The spec of tiny model `which` for batches of `batch` samples. */
mtn_model_spec tiny_spec(int which, int batch);

/* A model with its data, targets and optimiser state: what one training step needs. */
typedef struct {
    mtn_model *m;
    mtn_exec *ex;
    float *x, *dout, *z, *st1, *st2; /* z: the cosine loss's fixed target */
    int32_t *target;
    int n;
    int64_t in_numel, spatial;
} tiny_run;

/* Builds tiny model `which` (weights from seed 1, inputs from seed 2); false with a
 * CUnit failure when it cannot. */
bool tiny_open(tiny_run *r, int which, int batch, int threads);
/* One training step: forward, loss (cross-entropy; 2 - 2 cos for the encoder and
 * MLP against a fixed target), backward, then SGD (even steps) or Adam (odd ones). */
double tiny_step(tiny_run *r, int step);
void tiny_close(tiny_run *r);

#endif
