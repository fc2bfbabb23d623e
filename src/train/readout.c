/* readout.c — Task 3 for one seed: the five semantic features of every quadrant of
 * every slice (from the pixel labels at the task's resolution; cells are 3D
 * components within each region's stack of slices, never across regions), the
 * embeddings of the same quadrants by the frozen Task 1 encoder (images brought to
 * the resolution the encoder was trained at, with the stage-time box filter), and
 * the linear readout's R² — in-sample over every slice (the paper's), and held out:
 * fit on the training slices, scored on the test slices.
 *
 * Encoders: a ResNet-18 checkpoint (this job's or another job's weights, or any
 * checkpoint named by the run's encoder.checkpoint, e.g. imported from PyTorch),
 * used without its head (512-d); or PCA / NMF, which have no weights to carry over:
 * as in the original code they are fit on the Task 3 quadrants themselves (all of
 * them for the in-sample R², the training slices' for the held-out one). The group's
 * rank 0 computes everything and shares the result. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mtn/eval.h"
#include "runner_internal.h"

enum { EMBED_BATCH = 64, RESNET_DIM = 512 };

/* One slice of the task: where it is in the dataset and which region stack it joins. */
typedef struct {
    int region, z, split;
    int64_t index; /* sample index within its split */
} slice;

static int by_region_z(const void *a, const void *b) {
    const slice *x = a, *y = b;
    if (x->region != y->region) return x->region < y->region ? -1 : 1;
    return x->z < y->z ? -1 : x->z > y->z;
}

/* Everything one readout holds. */
typedef struct {
    slice *slices;
    int64_t n;            /* slices; samples are 4 n quadrants */
    int H, W, f;          /* task tile, and the factor down to the encoder's resolution */
    int qh, qw;           /* quadrant at the encoder's resolution */
    uint8_t *labels;      /* n x H x W, slices in (region, z) order */
    float *quads;         /* 4 n x qh x qw, in [0, 1] */
    double *features;     /* 4 n x MTN_FEATURES_NCOL */
    bool *train;          /* per sample: a training slice's */
    bool *held_rows;      /* per sample: the held-out readout's rows (training and test slices) */
} readout_data;

static void data_free(readout_data *r) {
    free(r->slices);
    free(r->labels);
    free(r->quads);
    free(r->features);
    free(r->train);
    free(r->held_rows);
}

/* The slices of every split, sorted by region and depth. */
static int list_slices(mtn_dataset *d, readout_data *r) {
    r->n = 0;
    for (int s = 0; s < 4; s++) r->n += mtn_dataset_count(d, (mtn_split)s);
    r->slices = malloc(sizeof(slice) * (size_t)(r->n + 1));
    if (!r->slices) return mtn_error_set(MTN_ENOMEM, "out of memory");
    int64_t at = 0;
    for (int s = 0; s < 4; s++)
        for (int64_t i = 0; i < mtn_dataset_count(d, (mtn_split)s); i++) {
            const mtn_tile_info *t = mtn_dataset_tile(d, mtn_dataset_sample_tile(d, (mtn_split)s, i));
            r->slices[at++] = (slice){t->region, t->z, s, i};
        }
    qsort(r->slices, (size_t)r->n, sizeof(slice), by_region_z);
    return MTN_OK;
}

/* Labels at full task resolution; images brought down by f and cut into quadrants. */
static int read_slices(mtn_dataset *d, readout_data *r) {
    const size_t plane = (size_t)r->H * (size_t)r->W;
    const int h = r->H / r->f, w = r->W / r->f;
    float *x = malloc(sizeof(float) * plane);
    int32_t *y = malloc(sizeof(int32_t) * plane);
    uint8_t *u8 = malloc(plane), *small = malloc((size_t)h * (size_t)w);
    r->labels = malloc(plane * (size_t)r->n + 1);
    r->quads = malloc(sizeof(float) * (size_t)(4 * r->n) * (size_t)r->qh * (size_t)r->qw + 1);
    int rc = !x || !y || !u8 || !small || !r->labels || !r->quads ? mtn_error_set(MTN_ENOMEM, "out of memory")
                                                                    : MTN_OK;
    for (int64_t i = 0; i < r->n && !rc; i++) {
        const slice *s = &r->slices[i];
        int64_t index = s->index;
        rc = mtn_dataset_read(d, (mtn_split)s->split, &index, 1, x, y);
        if (rc) break;
        uint8_t *lab = r->labels + (size_t)i * plane;
        for (size_t p = 0; p < plane; p++) {
            lab[p] = (uint8_t)y[p];
            u8[p] = (uint8_t)lrintf(x[p] * 255.0f); /* the staged bytes, exactly */
        }
        if (r->f > 1) mtn_downsample_mean_u8(u8, h, w, r->f, small);
        else memcpy(small, u8, plane);
        for (int q = 0; q < 4; q++) { /* corners [:h/2, :w/2], [:h/2, w/2:], [h/2:, :w/2], [h/2:, w/2:] */
            float *dst = r->quads + ((size_t)(4 * i + q)) * (size_t)r->qh * (size_t)r->qw;
            int y0 = (q / 2) * (h - r->qh), x0 = (q % 2) * (w - r->qw);
            for (int a = 0; a < r->qh; a++)
                for (int b = 0; b < r->qw; b++)
                    dst[a * r->qw + b] = (float)small[(size_t)(y0 + a) * (size_t)w + (size_t)(x0 + b)] / 255.0f;
        }
    }
    free(x);
    free(y);
    free(u8);
    free(small);
    return rc;
}

/* The features of each region's stack, quadrant rows in the slices' order. */
static int compute_features(readout_data *r) {
    const size_t plane = (size_t)r->H * (size_t)r->W;
    r->features = malloc(sizeof(double) * (size_t)(4 * r->n) * MTN_FEATURES_NCOL + 1);
    if (!r->features) return mtn_error_set(MTN_ENOMEM, "out of memory");
    int rc = MTN_OK;
    for (int64_t a = 0; a < r->n && !rc;) {
        int64_t b = a;
        while (b < r->n && r->slices[b].region == r->slices[a].region) b++;
        rc = mtn_features(r->labels + (size_t)a * plane, b - a, r->H, r->W, true,
                          r->features + (size_t)(4 * a) * MTN_FEATURES_NCOL);
        a = b;
    }
    return rc;
}

/* ResNet-18 embeddings (n, 512) of the quadrants, in eval mode. */
static int embed_resnet(seed_job *j, const readout_data *r, float *e) {
    mtn_model_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.arch = MTN_ARCH_RESNET18;
    spec.in_channels = 1;
    spec.classes = 4;
    spec.head = false;
    spec.batch = EMBED_BATCH;
    spec.micro = EMBED_BATCH;
    spec.depth = 1;
    spec.height = r->qh;
    spec.width = r->qw;
    mtn_exec *ex = NULL;
    mtn_model *m = NULL;
    const size_t q = (size_t)r->qh * (size_t)r->qw;
    float *x = malloc(sizeof(float) * q * EMBED_BATCH);
    int rc = x ? mtn_exec_create(j->threads, &ex) : mtn_error_set(MTN_ENOMEM, "out of memory");
    if (!rc) rc = mtn_model_create(&spec, ex, &m);
    if (!rc) rc = mtn_checkpoint_load(j->encoder_path, m, true);
    const int64_t n = 4 * r->n;
    for (int64_t at = 0; at < n && !rc; at += EMBED_BATCH) {
        int take = (int)(n - at < EMBED_BATCH ? n - at : EMBED_BATCH);
        memcpy(x, r->quads + (size_t)at * q, sizeof(float) * q * (size_t)take);
        for (int i = take; i < EMBED_BATCH; i++) memcpy(x + (size_t)i * q, x, sizeof(float) * q); /* padding */
        if (j->run->net.input_norm == MTN_NORM_IMAGE) standardise_images(x, take, q);
        const float *out = mtn_model_forward(m, x, EMBED_BATCH, false, 0, 0);
        memcpy(e + (size_t)at * RESNET_DIM, out, sizeof(float) * RESNET_DIM * (size_t)take);
    }
    mtn_model_free(m);
    mtn_exec_free(ex);
    free(x);
    return rc;
}

/* PCA or NMF fit on the samples with fit[i], then every sample embedded (n, k). */
static int embed_unsupervised(seed_job *j, const readout_data *r, const bool *fit, float *e) {
    const mtn_run_config *run = j->run;
    const int d = r->qh * r->qw, k = run->net.components;
    const int64_t n = 4 * r->n;
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) m += !fit || fit[i];
    float *xf = malloc(sizeof(float) * (size_t)m * (size_t)d + 1);
    if (!xf) return mtn_error_set(MTN_ENOMEM, "out of memory");
    for (int64_t i = 0, at = 0; i < n; i++)
        if (!fit || fit[i]) memcpy(xf + (size_t)(at++) * (size_t)d, r->quads + (size_t)i * (size_t)d, sizeof(float) * (size_t)d);
    int rc;
    if (run->encoder_method == MTN_METHOD_PCA) {
        mtn_pca p;
        memset(&p, 0, sizeof p);
        rc = mtn_pca_fit(xf, m, d, k, &p);
        if (!rc) rc = mtn_pca_transform(&p, r->quads, n, e);
        mtn_pca_free(&p);
    } else {
        mtn_nmf f;
        memset(&f, 0, sizeof f);
        int it = run->net.nmf_iterations;
        rc = mtn_nmf_fit(xf, m, d, k, it, (uint64_t)j->seed, &f, NULL);
        if (!rc) rc = mtn_nmf_transform(&f, r->quads, n, it, (uint64_t)j->seed, e);
        mtn_nmf_free(&f);
    }
    free(xf);
    return rc;
}

/* R² over the samples with use[i] (all when NULL): in-sample, or held out (fit on the
 * training slices' rows, scored on the others). */
static int score(const float *e, int dim, const readout_data *r, const bool *use, bool held_out, double *r2) {
    const int64_t n = 4 * r->n;
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) m += !use || use[i];
    float *es = malloc(sizeof(float) * (size_t)m * (size_t)dim + 1);
    double *ys = malloc(sizeof(double) * (size_t)m * MTN_FEATURES_NCOL + 1), unused[MTN_FEATURES_NCOL];
    bool *tr = malloc((size_t)m + 1);
    if (!es || !ys || !tr) {
        free(es), free(ys), free(tr);
        return mtn_error_set(MTN_ENOMEM, "out of memory");
    }
    for (int64_t i = 0, at = 0; i < n; i++) {
        if (use && !use[i]) continue;
        memcpy(es + (size_t)at * (size_t)dim, e + (size_t)i * (size_t)dim, sizeof(float) * (size_t)dim);
        memcpy(ys + (size_t)at * MTN_FEATURES_NCOL, r->features + (size_t)i * MTN_FEATURES_NCOL,
               sizeof(double) * MTN_FEATURES_NCOL);
        tr[at++] = r->train[i];
    }
    int rc = held_out ? mtn_readout_r2(es, m, dim, ys, MTN_FEATURES_NCOL, tr, unused, r2)
                      : mtn_readout_r2(es, m, dim, ys, MTN_FEATURES_NCOL, NULL, r2, NULL);
    free(es);
    free(ys);
    free(tr);
    return rc;
}

static int compute(seed_job *j, mtn_seed_result *res) {
    const mtn_run_config *run = j->run;
    readout_data r;
    memset(&r, 0, sizeof r);
    r.H = mtn_dataset_tile_h(j->data);
    r.W = mtn_dataset_tile_w(j->data);
    r.f = run->encoder_downsample / run->task.downsample; /* the config checked that it divides */
    MTN_ASSERT(r.f >= 1 && r.f * run->task.downsample == run->encoder_downsample);
    r.qh = r.H / r.f / 2;
    r.qw = r.W / r.f / 2;
    bool resnet = run->encoder_method != MTN_METHOD_PCA && run->encoder_method != MTN_METHOD_NMF;
    const int dim = resnet ? RESNET_DIM : run->net.components;
    double t0 = mtn_now();
    int rc = list_slices(j->data, &r);
    if (!rc) rc = read_slices(j->data, &r);
    if (!rc) rc = compute_features(&r);
    const int64_t n = 4 * r.n;
    float *e = rc ? NULL : malloc(sizeof(float) * (size_t)n * (size_t)dim + 1);
    r.train = malloc((size_t)n + 1);
    r.held_rows = malloc((size_t)n + 1);
    if (!rc && (!e || !r.train || !r.held_rows)) rc = mtn_error_set(MTN_ENOMEM, "out of memory");
    for (int64_t i = 0; !rc && i < n; i++) {
        r.train[i] = r.slices[i / 4].split == MTN_SPLIT_TRAIN;
        r.held_rows[i] = r.train[i] || r.slices[i / 4].split == MTN_SPLIT_TEST;
    }
    double t1 = mtn_now();
    if (!rc) rc = resnet ? embed_resnet(j, &r, e) : embed_unsupervised(j, &r, NULL, e);
    if (!rc) rc = score(e, dim, &r, NULL, false, res->r2);
    if (!rc && !resnet) rc = embed_unsupervised(j, &r, r.train, e); /* refit on the training slices */
    if (!rc) rc = score(e, dim, &r, r.held_rows, true, res->r2_heldout);
    if (rc && rc != MTN_ENOMEM) rc = mtn_error_set(rc, "run %s: %s", run->name, mtn_error_message());
    res->n_features = MTN_FEATURES_NCOL;
    res->train_seconds = mtn_now() - t0;
    res->step_io_s = t1 - t0; /* reading and features */
    free(e);
    data_free(&r);
    return rc;
}

int train_readout(seed_job *j, mtn_seed_result *res) {
    int rc = compute_on_group_root(j, res, compute);
    res->accuracy = NAN;
    res->quadrant_accuracy = NAN;
    return rc;
}
