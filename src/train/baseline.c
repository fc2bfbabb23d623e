/* baseline.c — the PCA and NMF rows of Table 1: components fit on the training
 * images (flattened pixels in [0, 1]), each image embedded by them, the
 * embeddings standardised with the training set's mean and std (so one learning
 * rate suits every component), and a linear classifier (nn.Linear + cross-entropy)
 * trained on top with the run's optimizer, learning rate, batch and epochs. The
 * group's rank 0 computes it all (single-threaded BLAS, so the bits are fixed) and
 * shares the result. Quadrants do not apply: the components are fit on whole
 * images, so quadrant accuracy is NaN. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mtn/eval.h"
#include "runner_internal.h"

typedef struct {
    float *xtr, *xte, *etr, *ete; /* images and embeddings of train and test */
    int32_t *ytr, *yte;
} baseline_data;

static void data_free(baseline_data *b) {
    free(b->xtr);
    free(b->xte);
    free(b->etr);
    free(b->ete);
    free(b->ytr);
    free(b->yte);
}

/* Every sample of a split, in order. */
static int read_split(mtn_dataset *d, mtn_split split, int64_t n, size_t sample, float **x, int32_t **y) {
    *x = malloc(sizeof(float) * (size_t)n * sample + 1);
    *y = malloc(sizeof(int32_t) * (size_t)n + 1);
    int64_t *all = malloc(sizeof(int64_t) * (size_t)n + 1);
    int rc = !*x || !*y || !all ? mtn_error_set(MTN_ENOMEM, "out of memory reading the images") : MTN_OK;
    for (int64_t i = 0; !rc && i < n; i++) all[i] = i;
    if (!rc) rc = mtn_dataset_read(d, split, all, (int)n, *x, *y);
    free(all);
    return rc;
}

/* Standardise columns of e (n, k) with the mean and std of the first n_fit rows. */
static void standardise(float *etr, int64_t ntr, float *ete, int64_t nte, int k) {
    for (int c = 0; c < k; c++) {
        double s = 0, ss = 0;
        for (int64_t i = 0; i < ntr; i++) s += etr[i * k + c];
        double mean = s / (double)ntr;
        for (int64_t i = 0; i < ntr; i++) ss += (etr[i * k + c] - mean) * (etr[i * k + c] - mean);
        double sd = sqrt(ss / (double)ntr);
        float inv = (float)(sd > 1e-12 ? 1.0 / sd : 1.0), m = (float)mean;
        for (int64_t i = 0; i < ntr; i++) etr[i * k + c] = (etr[i * k + c] - m) * inv;
        for (int64_t i = 0; i < nte; i++) ete[i * k + c] = (ete[i * k + c] - m) * inv;
    }
}

/* The linear classifier: trained on (etr, ytr), confusion on (ete, yte). */
static int linear_probe(const mtn_run_config *run, int seed, const float *etr, const int32_t *ytr, int64_t ntr,
                        const float *ete, const int32_t *yte, int64_t nte, int k, int classes, mtn_seed_result *res) {
    const mtn_network_config *net = &run->net;
    int B = net->batch_size < ntr ? net->batch_size : (int)ntr;
    mtn_linear lin = {k, classes};
    mtn_exec *ex = NULL;
    int rc = mtn_exec_create(1, &ex);
    if (!rc) rc = mtn_exec_reserve(ex, mtn_needs_max(mtn_linear_needs(&lin, B, B), mtn_loss_needs()));
    size_t nw = (size_t)k * (size_t)classes, np = nw + (size_t)classes;
    float *p = calloc(np, sizeof(float)), *g = calloc(np, sizeof(float)), *m1 = calloc(np, sizeof(float)),
          *m2 = calloc(np, sizeof(float)), *xb = malloc(sizeof(float) * (size_t)B * (size_t)k),
          *out = malloc(sizeof(float) * (size_t)(B > nte ? B : nte) * (size_t)classes + 1),
          *dout = malloc(sizeof(float) * (size_t)B * (size_t)classes);
    int32_t *yb = malloc(sizeof(int32_t) * (size_t)B);
    uint32_t *order = malloc(sizeof(uint32_t) * (size_t)ntr);
    if (!rc && (!p || !g || !m1 || !m2 || !xb || !out || !dout || !yb || !order))
        rc = mtn_error_set(MTN_ENOMEM, "run %s: out of memory for the linear classifier", run->name);
    if (!rc) {
        /* nn.Linear's default init: U(-1/sqrt(k), 1/sqrt(k)) for weight and bias */
        mtn_rng r;
        mtn_rng_init(&r, (uint64_t)seed, MTN_STREAM_INIT, 0);
        float bound = (float)(1.0 / sqrt((double)k));
        for (size_t i = 0; i < np; i++) p[i] = (2.0f * mtn_rng_uniformf(&r) - 1.0f) * bound;
        int64_t per_epoch = ntr / B, step = 0;
        double loss_sum = 0;
        for (int e = 0; e < net->epochs; e++) {
            epoch_order((uint64_t)seed, e, (uint32_t)ntr, order);
            loss_sum = 0;
            for (int64_t s = 0; s < per_epoch; s++, step++) {
                for (int i = 0; i < B; i++) {
                    uint32_t id = order[s * B + i];
                    memcpy(xb + (size_t)i * (size_t)k, etr + (size_t)id * (size_t)k, sizeof(float) * (size_t)k);
                    yb[i] = ytr[id];
                }
                mtn_linear_forward(ex, out, xb, p, p + nw, &lin, B, B);
                loss_sum += mtn_xent_forward_backward(ex, dout, out, yb, B, classes, 1, B);
                memset(g, 0, sizeof(float) * np);
                mtn_linear_backward(ex, NULL, g, g + nw, dout, xb, p, &lin, B, B);
                if (net->optimizer == MTN_OPT_ADAM) {
                    mtn_adam adam = {net->learning_rate, net->beta1, net->beta2, 1e-8, 0.0};
                    mtn_adam_step(ex, p, m1, m2, g, (int64_t)np, &adam, step + 1);
                } else {
                    mtn_sgd sgd = {net->learning_rate, net->momentum, 0.0};
                    mtn_sgd_step(ex, p, m1, g, (int64_t)np, &sgd, step == 0);
                }
            }
            if (e < MTN_MAX_EPOCHS) res->train_loss[e] = loss_sum / (double)(per_epoch ? per_epoch : 1);
        }
        res->epochs = net->epochs < MTN_MAX_EPOCHS ? net->epochs : MTN_MAX_EPOCHS;
        res->steps = step;
        /* test: one sample at a time, so each prediction's bits are its own */
        for (int64_t i = 0; i < nte; i++) {
            mtn_linear_forward(ex, out, ete + (size_t)i * (size_t)k, p, p + nw, &lin, 1, 1);
            int best = 0;
            for (int c = 1; c < classes; c++)
                if (out[c] > out[best]) best = c;
            res->confusion[yte[i]][best]++;
        }
        int64_t right = 0;
        for (int c = 0; c < classes; c++) right += res->confusion[c][c];
        res->accuracy = nte ? (double)right / (double)nte : 0.0;
        res->weights_crc = 0;
    }
    float *bufs[] = {p, g, m1, m2, xb, out, dout};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    free(yb);
    free(order);
    mtn_exec_free(ex);
    return rc;
}

static int compute(seed_job *j, mtn_seed_result *res) {
    const mtn_run_config *run = j->run;
    const int classes = 4, k = run->net.components;
    size_t sample = (size_t)mtn_dataset_tile_h(j->data) * (size_t)mtn_dataset_tile_w(j->data);
    int64_t ntr = mtn_dataset_count(j->data, MTN_SPLIT_TRAIN), nte = mtn_dataset_count(j->data, MTN_SPLIT_TEST);
    baseline_data b;
    memset(&b, 0, sizeof b);
    double t0 = mtn_now();
    int rc = read_split(j->data, MTN_SPLIT_TRAIN, ntr, sample, &b.xtr, &b.ytr);
    if (!rc) rc = read_split(j->data, MTN_SPLIT_TEST, nte, sample, &b.xte, &b.yte);
    if (!rc) {
        b.etr = malloc(sizeof(float) * (size_t)ntr * (size_t)k + 1);
        b.ete = malloc(sizeof(float) * (size_t)nte * (size_t)k + 1);
        if (!b.etr || !b.ete) rc = mtn_error_set(MTN_ENOMEM, "run %s: out of memory for embeddings", run->name);
    }
    if (!rc && run->method == MTN_METHOD_PCA) {
        mtn_pca pca;
        memset(&pca, 0, sizeof pca);
        rc = mtn_pca_fit(b.xtr, ntr, (int)sample, k, &pca);
        if (!rc) rc = mtn_pca_transform(&pca, b.xtr, ntr, b.etr);
        if (!rc) rc = mtn_pca_transform(&pca, b.xte, nte, b.ete);
        mtn_pca_free(&pca);
    } else if (!rc) {
        mtn_nmf nmf;
        memset(&nmf, 0, sizeof nmf);
        int it = run->net.nmf_iterations;
        rc = mtn_nmf_fit(b.xtr, ntr, (int)sample, k, it, (uint64_t)j->seed, &nmf, b.etr);
        if (!rc) rc = mtn_nmf_transform(&nmf, b.xte, nte, it, (uint64_t)j->seed, b.ete);
        mtn_nmf_free(&nmf);
    }
    if (rc && rc != MTN_ENOMEM) rc = mtn_error_set(rc, "run %s: %s", run->name, mtn_error_message());
    double t1 = mtn_now();
    if (!rc) {
        standardise(b.etr, ntr, b.ete, nte, k);
        rc = linear_probe(run, j->seed, b.etr, b.ytr, ntr, b.ete, b.yte, nte, k, classes, res);
    }
    res->train_seconds = mtn_now() - t0;
    res->eval_seconds = 0;
    res->step_compute_s = t1 - t0; /* the fit */
    data_free(&b);
    return rc;
}

int train_baseline(seed_job *j, mtn_seed_result *res) {
    int rc = compute_on_group_root(j, res, compute);
    res->classes = 4;
    res->quadrant_accuracy = NAN;
    return rc;
}
