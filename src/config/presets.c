/* presets.c — the values a network config gets for keys it does not set.
 *
 * "paper" (the default): the MTNeuro paper and its appendix
 *   (../shared/reference/mtneuro-paper.txt, paper-tables.md):
 *   - Task 1, all models: 100 epochs, SGD, learning rate 0.03, batch 256 (appendix 3.2.4);
 *     supervised: 20% dropout and weight decay 0.3 (main text, Task 1);
 *     SSL views: random crops of half the height and width (appendix 3.1.2).
 *   - Task 2: Adam, 20 epochs, learning rate and batch from Table A4.
 *   - PCA/NMF: 256 components and a linear layer (main text).
 *   Not stated in the paper, chosen by us: SGD momentum 0.9 for supervised training;
 *   mixup lambda ~ Beta(1, 1) (Zhang et al.'s CIFAR setting); SSL momentum, weight
 *   decay, projector sizes, warm-up, EMA and MYOW weights as in MTNeuro's released
 *   SSL configs; NMF iterations 200 (scikit-learn's default).
 * "code": MTNeuro's released code (reference-implementation.md §2, §4, §5): batch 8,
 *   learning rate 0.01, plain SGD (no momentum, no weight decay, no dropout), 1 epoch
 *   supervised, 800 SSL epochs, probe Adam/100 epochs (BYOL) or SGD/10 epochs (MYOW),
 *   U-Net SGD for 5 epochs. */
#include <string.h>

#include "config_internal.h"

typedef struct {
    mtn_network_config *n;
} filler;

static char *field_of(filler *f, const char *key, int *idx) {
    *idx = mtn_schema_find(&mtn_network_schema, key);
    MTN_ASSERT(*idx >= 0);
    if (f->n->origin[*idx] != MTN_ORIGIN_DEFAULT) return NULL; /* the file or an override set it */
    f->n->origin[*idx] = MTN_ORIGIN_PRESET;
    return (char *)f->n + mtn_network_schema.keys[*idx].offset;
}

static void set_i(filler *f, const char *key, int v) {
    int idx;
    char *p = field_of(f, key, &idx);
    if (!p) return;
    MTN_ASSERT(mtn_network_schema.keys[idx].type == MTN_K_INT || mtn_network_schema.keys[idx].type == MTN_K_ENUM);
    *(int *)(void *)p = v;
}

static void set_d(filler *f, const char *key, double v) {
    int idx;
    char *p = field_of(f, key, &idx);
    if (!p) return;
    MTN_ASSERT(mtn_network_schema.keys[idx].type == MTN_K_REAL);
    *(double *)(void *)p = v;
}

/* Table A4: (learning rate, batch) of the 2D and 3D U-Net, 3-class and 4-class. */
static void unet_table_a4(int dim, int classes, double *lr, int *batch) {
    if (dim == 2) { *lr = classes == 3 ? 0.1 : 0.01; *batch = classes == 3 ? 8 : 4; }
    else { *lr = classes == 3 ? 0.005 : 0.01; *batch = 1; }
}

static void ssl_common(filler *f, bool paper) {
    set_d(f, "base_learning_rate", 0.03);
    set_d(f, "base_momentum", 0.996);
    set_d(f, "opt_momentum", 0.9);
    set_d(f, "weight_decay", 5e-4);
    set_i(f, "projector_hidden_size", 4096);
    set_i(f, "projector_output_size", 256);
    set_i(f, "projector_2_hidden_size", 4096);
    set_i(f, "projector_2_output_size", 256);
    set_i(f, "lr_warmup_epochs", 10);
    set_i(f, "lr_decay", MTN_DECAY_COSINE);
    set_i(f, "mm_decay", MTN_DECAY_COSINE);
    set_d(f, "myow_base_weight", 0.1);
    set_i(f, "byol_warmup_epochs", 0);
    set_i(f, "myow_rampup_epochs", 10);
    set_i(f, "knn_nneighs", 1);
    set_d(f, "crop_fraction", 0.5);
    set_i(f, "ssl_epochs", paper ? 100 : 800);
    set_i(f, "batch_size", paper ? 256 : 8);
}

void mtn_network_apply_preset(mtn_network_config *n) {
    filler f = {n};
    bool paper = n->preset == MTN_PRESET_PAPER;
    set_d(&f, "beta1", 0.9);
    set_d(&f, "beta2", 0.999);
    set_i(&f, "micro_batch", 0);
    switch (n->model) {
    case MTN_MODEL_RESNET18:
        set_i(&f, "classes", 4);
        if (n->task_type == MTN_TRAIN_SUPERVISED) {
            set_i(&f, "optimizer", MTN_OPT_SGD);
            set_d(&f, "learning_rate", paper ? 0.03 : 0.01);
            set_d(&f, "opt_momentum", paper ? 0.9 : 0.0);
            set_d(&f, "weight_decay", paper ? 0.3 : 0.0);
            set_d(&f, "dropout", paper ? 0.2 : 0.0);
            set_i(&f, "batch_size", paper ? 256 : 8);
            set_i(&f, "epochs", paper ? 100 : 1);
            set_d(&f, "mixup_prob", 0.0);
            set_d(&f, "mixup_alpha", 1.0);
            set_i(&f, "input_norm", MTN_NORM_NONE);
        } else {
            ssl_common(&f, paper);
            bool byol = n->ssl_method == MTN_SSL_BYOL;
            set_i(&f, "optimizer", paper || !byol ? MTN_OPT_SGD : MTN_OPT_ADAM);
            set_d(&f, "learning_rate", paper ? 0.03 : 0.01);
            set_i(&f, "epochs", paper || byol ? 100 : 10);
        }
        break;
    case MTN_MODEL_UNET: {
        double lr;
        int batch;
        unet_table_a4(n->dim, n->classes, &lr, &batch);
        set_i(&f, "n_blocks", 4);
        set_i(&f, "start_filters", 32);
        set_i(&f, "optimizer", paper ? MTN_OPT_ADAM : MTN_OPT_SGD);
        set_d(&f, "learning_rate", paper ? lr : 0.01);
        set_i(&f, "batch_size", paper ? batch : (n->dim == 2 ? 8 : 1));
        set_i(&f, "epochs", paper ? 20 : 5);
        set_d(&f, "opt_momentum", 0.0);
        set_d(&f, "weight_decay", 0.0);
        break;
    }
    case MTN_MODEL_PCA:
    case MTN_MODEL_NMF:
        set_i(&f, "classes", 4);
        set_i(&f, "components", 256);
        set_i(&f, "nmf_iterations", 200);
        set_i(&f, "optimizer", MTN_OPT_SGD);
        set_d(&f, "learning_rate", paper ? 0.03 : 0.01);
        set_i(&f, "batch_size", paper ? 256 : 8);
        set_i(&f, "epochs", 100);
        break;
    }
}
