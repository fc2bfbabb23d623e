/* network_config.c — the network config: which model, how it is trained, and (for
 * SSL, PCA and NMF) how its linear probe is trained. Keys are MTNeuro's plus ours
 * (preset, dropout, mixup_*, micro_batch, crop_fraction, components, ...). Keys the
 * file leaves out come from the preset: the paper's settings unless "preset": "code". */
#include <stddef.h>
#include <string.h>

#include "config_internal.h"

#define NOFF(f) offsetof(mtn_network_config, f)
#define INT_KEY(nm, f, lo, hi, fl) \
    {.name = nm, .type = MTN_K_INT, .offset = NOFF(f), .min = (lo), .max = (hi), .flags = (fl)}
#define REAL_KEY(nm, f, lo, hi, fl) \
    {.name = nm, .type = MTN_K_REAL, .offset = NOFF(f), .min = (lo), .max = (hi), .flags = (fl)}
#define ENUM_KEY(nm, f, ch, fl) {.name = nm, .type = MTN_K_ENUM, .offset = NOFF(f), .choices = (ch), .flags = (fl)}
#define FIXED_KEY(nm, ch, fl) {.name = nm, .type = MTN_K_FIXED, .choices = (ch), .flags = (fl)}
#define IGNORED_KEY(nm, why) {.name = nm, .type = MTN_K_IGNORED, .note = (why)}

enum { SSL = MTN_KEY_GROUP_SSL, UNET = MTN_KEY_GROUP_UNET, DECOMP = MTN_KEY_GROUP_DECOMP,
       CLS = MTN_KEY_GROUP_CLASSIFIER, EXCL = MTN_KEY_MIN_EXCLUSIVE };
/* 2^20 bounds every width, batch and epoch count, so products of sizes (a batch of
 * tiles, a projector's weight matrix) always fit in 64 bits: the range checks are what
 * keeps size arithmetic from overflowing. */
#define BIG 1048576

static const char *const preset_choices[] = {"paper", "code|mtneuro-code", NULL};
static const char *const train_type_choices[] = {"supervised|sup", "SSL|self-supervised", NULL};
static const char *const model_choices[] = {"ResNet-18|resnet18|ResNet18", "UNet|U-Net|unet2d|unet3d",
                                            "PCA", "NMF", NULL};
static const char *const optimizer_choices[] = {"SGD", "Adam", NULL};
static const char *const ssl_method_choices[] = {"byol", "myow", "myowmerged|myow-m|myow_m", NULL};
static const char *const norm_choices[] = {"none", "image", NULL};
static const char *const decay_choices[] = {"cosine", "none|constant", NULL};
static const char *const transform_choices[] = {"random_crop", NULL};
static const char *const relu[] = {"relu", NULL}, *const batch[] = {"batch", NULL};
static const char *const same[] = {"same", NULL}, *const cascaded[] = {"cascaded", NULL};
static const char *const knn[] = {"knn", NULL}, *const target[] = {"target", NULL};
static const char *const cosine[] = {"cosine", NULL}, *const random_[] = {"random", NULL};
static const char *const sgd[] = {"sgd", NULL};

static const mtn_key network_keys[] = {
    {.name = "base", .type = MTN_K_CUSTOM, .read = mtn_schema_read_base,
     .note = "path of a config this one extends (relative to this file)"},
    {.name = "description", .type = MTN_K_STRING, .offset = NOFF(description), .size = 256},
    ENUM_KEY("preset", preset, preset_choices, 0),
    ENUM_KEY("task_type", task_type, train_type_choices, 0),
    ENUM_KEY("model", model, model_choices, MTN_KEY_REQUIRED),
    INT_KEY("dim", dim, 2, 3, 0),
    {.name = "in_channels", .type = MTN_K_INT, .offset = NOFF(in_channels), .min = 1, .max = 1,
     .note = "the X-ray images have one channel"},
    INT_KEY("classes", classes, 2, 64, 0),
    INT_KEY("n_blocks", n_blocks, 1, 6, UNET),
    INT_KEY("start_filters", start_filters, 1, 4096, UNET),
    FIXED_KEY("activation", relu, UNET),
    FIXED_KEY("normalization", batch, UNET),
    FIXED_KEY("conv_mode", same, UNET),
    ENUM_KEY("optimizer", optimizer, optimizer_choices, 0),
    REAL_KEY("learning_rate", learning_rate, 0, 10, EXCL),
    REAL_KEY("beta1", beta1, 0, 0.999999, 0),
    REAL_KEY("beta2", beta2, 0, 0.999999999, 0),
    INT_KEY("epochs", epochs, 1, BIG, 0),
    INT_KEY("batch_size", batch_size, 1, BIG, 0),
    {.name = "micro_batch", .type = MTN_K_INT, .offset = NOFF(micro_batch), .min = 0, .max = BIG,
     .note = "0 = batch_size / 4 (else / 2, / 1): 1, 2 or 4 ranks then hold 2^k micro-batches each"},
    REAL_KEY("opt_momentum", momentum, 0, 0.999999, 0),
    REAL_KEY("weight_decay", weight_decay, 0, 10, 0),
    REAL_KEY("dropout", dropout, 0, 0.99, CLS),
    ENUM_KEY("input_norm", input_norm, norm_choices, CLS),
    REAL_KEY("mixup_prob", mixup_prob, 0, 1, CLS),
    REAL_KEY("mixup_alpha", mixup_alpha, 0, 100, CLS | EXCL),
    ENUM_KEY("method", ssl_method, ssl_method_choices, SSL),
    FIXED_KEY("ssl_optimizer", sgd, SSL),
    INT_KEY("ssl_epochs", ssl_epochs, 1, BIG, SSL),
    REAL_KEY("base_learning_rate", base_learning_rate, 0, 10, SSL | EXCL),
    REAL_KEY("base_momentum", base_momentum, 0, 1, SSL),
    INT_KEY("projector_hidden_size", projector_hidden_size, 1, BIG, SSL),
    INT_KEY("projector_output_size", projector_output_size, 1, BIG, SSL),
    INT_KEY("projector_2_hidden_size", projector_2_hidden_size, 1, BIG, SSL),
    INT_KEY("projector_2_output_size", projector_2_output_size, 1, BIG, SSL),
    INT_KEY("lr_warmup_epochs", lr_warmup_epochs, 0, BIG, SSL),
    ENUM_KEY("lr_decay", lr_decay, decay_choices, SSL),
    ENUM_KEY("mm_decay", mm_decay, decay_choices, SSL),
    REAL_KEY("myow_base_weight", myow_base_weight, 0, 100, SSL),
    INT_KEY("byol_warmup_epochs", byol_warmup_epochs, 0, BIG, SSL),
    INT_KEY("myow_rampup_epochs", myow_rampup_epochs, 0, BIG, SSL),
    FIXED_KEY("myow_layout", cascaded, SSL),
    FIXED_KEY("miner", knn, SSL),
    FIXED_KEY("miner_candidate_repr", target, SSL),
    FIXED_KEY("miner_distance", cosine, SSL),
    FIXED_KEY("knn_select", random_, SSL),
    INT_KEY("knn_nneighs", knn_nneighs, 1, 64, SSL),
    {.name = "transform", .type = MTN_K_ENUM_LIST, .offset = NOFF(transforms), .size = 4,
     .choices = transform_choices, .flags = SSL | MTN_KEY_UNIQUE},
    REAL_KEY("crop_fraction", crop_fraction, 0, 1, SSL | EXCL),
    INT_KEY("components", components, 1, 65536, DECOMP),
    INT_KEY("nmf_iterations", nmf_iterations, 1, BIG, DECOMP),
    IGNORED_KEY("seed", "seeds come from the job (default: the paper's 1, 100, 350, 631, 872)"),
    IGNORED_KEY("augmentations", "MTNeuro's augmentations=1 flipped image and mask independently; each "
                                 "method here applies only its own augmentation"),
    IGNORED_KEY("encoder_name", "a segmentation_models.pytorch setting; mtneuro builds the reference U-Net"),
    IGNORED_KEY("encoder_weights", "a segmentation_models.pytorch setting; mtneuro builds the reference U-Net"),
    IGNORED_KEY("outputdir", "results go to the directory given with -o"),
    IGNORED_KEY("outweightfilename", "checkpoints are named after the run and seed"),
    IGNORED_KEY("eval_threshold", "MTNeuro never read it either"),
    IGNORED_KEY("eval_reduction", "mtneuro reports both pooled and per-image metrics"),
    IGNORED_KEY("lr_poly_decay_n", "only MTNeuro's poly schedule used it; lr_decay is cosine or none"),
    IGNORED_KEY("lr_gamma", "only MTNeuro's step schedule used it; lr_decay is cosine or none"),
    IGNORED_KEY("lr_milestone", "only MTNeuro's step schedule used it; lr_decay is cosine or none"),
    IGNORED_KEY("trans_prob", "it had no effect on random_crop in MTNeuro either"),
};
const mtn_schema mtn_network_schema = {network_keys, (int)(sizeof network_keys / sizeof network_keys[0]),
                                       "network config"};

const char *mtn_model_name(mtn_model_kind m) {
    static const char *names[] = {"ResNet-18", "UNet", "PCA", "NMF"};
    return names[m];
}
const char *mtn_optimizer_name(mtn_optimizer o) { return o == MTN_OPT_ADAM ? "Adam" : "SGD"; }
const char *mtn_ssl_method_name(mtn_ssl_method m) {
    static const char *names[] = {"byol", "myow", "myowmerged"};
    return names[m];
}
const char *mtn_preset_name(mtn_preset p) { return p == MTN_PRESET_CODE ? "code" : "paper"; }

void mtn_network_defaults(mtn_network_config *n) {
    memset(n, 0, sizeof *n);
    n->dim = 2;
    n->in_channels = 1;
    n->transforms = 1u; /* random_crop */
}

int mtn_network_read(mtn_network_config *n, const cJSON *obj, const mtn_schema_ctx *ctx, const char *path) {
    return mtn_schema_read(&mtn_network_schema, obj, n, n->origin, ctx, path);
}

int mtn_default_micro_batch(int batch_size) {
    for (int m = batch_size < 8 ? batch_size : 8; m > 1; m--)
        if (batch_size % m == 0) return m;
    return 1;
}

static bool given(const mtn_network_config *n, const char *key) {
    int i = mtn_schema_find(&mtn_network_schema, key);
    MTN_ASSERT(i >= 0);
    return n->origin[i] != MTN_ORIGIN_DEFAULT;
}


int mtn_network_finish(mtn_network_config *n, const mtn_schema_ctx *ctx) {
    int rc = mtn_schema_check_required_origins(&mtn_network_schema, n->origin, ctx);
    if (rc) return rc;
    if (n->task_type == MTN_TRAIN_SSL && !given(n, "method"))
        return mtn_schema_verror(ctx, "method", "expected \"byol\", \"myow\" or \"myowmerged\" for task_type \"SSL\", found no key");
    if (n->task_type == MTN_TRAIN_SSL && n->model != MTN_MODEL_RESNET18)
        return mtn_schema_verror(ctx, "model", "expected \"ResNet-18\" for task_type \"SSL\", found \"%s\"", mtn_model_name(n->model));
    if (n->model == MTN_MODEL_RESNET18 && n->dim != 2)
        return mtn_schema_verror(ctx, "dim", "expected 2 for ResNet-18 (mtneuro's Task 1 encoder is 2D), found %d", n->dim);
    if (n->model == MTN_MODEL_UNET && !given(n, "classes"))
        return mtn_schema_verror(ctx, "classes", "expected the number of segmentation classes (3 or 4) for a UNet, found no key");
    mtn_network_apply_preset(n);
    if (n->micro_batch == 0) {
        n->micro_batch = mtn_default_micro_batch(n->batch_size);
    } else if (n->batch_size % n->micro_batch != 0) {
        return mtn_schema_verror(ctx, "micro_batch", "expected a divisor of batch_size = %d, found %d", n->batch_size,
                    n->micro_batch);
    }
    if (n->mixup_prob > 0 && (n->model != MTN_MODEL_RESNET18 || n->task_type != MTN_TRAIN_SUPERVISED))
        return mtn_schema_verror(ctx, "mixup_prob", "expected 0 unless the model is a supervised ResNet-18, found %g",
                    n->mixup_prob);
    return MTN_OK;
}

cJSON *mtn_network_to_json(const mtn_network_config *n) {
    cJSON *o = mtn_schema_write(&mtn_network_schema, n);
    unsigned drop = 0;
    if (n->task_type != MTN_TRAIN_SSL) drop |= MTN_KEY_GROUP_SSL;
    if (n->model != MTN_MODEL_UNET) drop |= MTN_KEY_GROUP_UNET;
    if (n->model != MTN_MODEL_PCA && n->model != MTN_MODEL_NMF) drop |= MTN_KEY_GROUP_DECOMP;
    if (n->model != MTN_MODEL_RESNET18 || n->task_type != MTN_TRAIN_SUPERVISED) drop |= MTN_KEY_GROUP_CLASSIFIER;
    for (int i = 0; i < mtn_network_schema.n; i++)
        if (network_keys[i].flags & drop) cJSON_DeleteItemFromObjectCaseSensitive(o, network_keys[i].name);
    return o;
}
