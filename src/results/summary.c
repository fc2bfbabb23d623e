/* summary.c — the metrics of a seed by name (scalars, and the per-class and
 * per-feature vectors of Tasks 2 and 3), and their mean and sample standard deviation
 * over a run's finished seeds (see mtn/results.h). */
#include <math.h>

#include "mtn/results.h"

const char *mtn_metric_name(mtn_metric m) {
    static const char *names[MTN_N_METRICS] = {"accuracy",      "quadrant_accuracy", "train_seconds", "eval_seconds",
                                               "step_compute_s", "step_comm_s",       "step_io_s"};
    MTN_ASSERT(m >= 0 && m < MTN_N_METRICS);
    return names[m];
}

double mtn_seed_metric(const mtn_seed_result *s, mtn_metric m) {
    switch (m) {
    case MTN_METRIC_ACCURACY: return s->accuracy;
    case MTN_METRIC_QUADRANT_ACCURACY: return s->quadrant_accuracy;
    case MTN_METRIC_TRAIN_SECONDS: return s->train_seconds;
    case MTN_METRIC_EVAL_SECONDS: return s->eval_seconds;
    case MTN_METRIC_STEP_COMPUTE_S: return s->step_compute_s;
    case MTN_METRIC_STEP_COMM_S: return s->step_comm_s;
    case MTN_METRIC_STEP_IO_S: return s->step_io_s;
    case MTN_N_METRICS: break;
    }
    MTN_ASSERT(!"a metric");
    return NAN;
}

/* ------------------------------------------------------------------ vectors --- */

const char *mtn_vector_name(mtn_vector v) {
    static const char *names[MTN_N_VECTORS] = {"f1", "iou", "f1_image", "iou_image", "r2", "r2_heldout"};
    MTN_ASSERT(v >= 0 && v < MTN_N_VECTORS);
    return names[v];
}

const char *mtn_vector_mean_name(mtn_vector v) {
    static const char *names[MTN_N_VECTORS] = {"mean_f1", "mean_iou", "mean_f1_image", "mean_iou_image", NULL, NULL};
    MTN_ASSERT(v >= 0 && v < MTN_N_VECTORS);
    return names[v];
}

bool mtn_vector_per_class(mtn_vector v) {
    MTN_ASSERT(v >= 0 && v < MTN_N_VECTORS);
    return v != MTN_VECTOR_R2 && v != MTN_VECTOR_R2_HELDOUT;
}

mtn_method mtn_vector_method(mtn_vector v) { return mtn_vector_per_class(v) ? MTN_METHOD_SEGMENT : MTN_METHOD_READOUT; }

const double *mtn_seed_vector(const mtn_seed_result *s, mtn_vector v) {
    switch (v) {
    case MTN_VECTOR_F1: return s->f1;
    case MTN_VECTOR_IOU: return s->iou;
    case MTN_VECTOR_F1_IMAGE: return s->f1_image;
    case MTN_VECTOR_IOU_IMAGE: return s->iou_image;
    case MTN_VECTOR_R2: return s->r2;
    case MTN_VECTOR_R2_HELDOUT: return s->r2_heldout;
    case MTN_N_VECTORS: break;
    }
    MTN_ASSERT(!"a vector");
    return NULL;
}

/* the entries in use, within the storage whatever the seed claims */
int mtn_seed_vector_length(const mtn_seed_result *s, mtn_vector v) {
    int n = mtn_vector_per_class(v) ? s->classes : s->n_features;
    int most = mtn_vector_per_class(v) ? MTN_MAX_CLASSES : MTN_MAX_FEATURES;
    return n < 0 ? 0 : n > most ? most : n;
}

double mtn_seed_vector_value(const mtn_seed_result *s, mtn_vector v, int index) {
    const double *x = mtn_seed_vector(s, v);
    int n = mtn_seed_vector_length(s, v);
    if (index != MTN_VECTOR_MEAN) return index >= 0 && index < n ? x[index] : NAN;
    if (n == 0) return NAN;
    double sum = 0;
    for (int k = 0; k < n; k++) sum += x[k];
    return sum / n;
}

/* ------------------------------------------------------------------ summary --- */

/* One per-seed value: a scalar metric (index unused), or entry `index` of a vector,
 * or (MTN_VECTOR_MEAN) the vector's mean over its entries. */
typedef double (*seed_value)(const mtn_seed_result *s, int which, int index);

static double scalar_value(const mtn_seed_result *s, int which, int index) {
    (void)index;
    return mtn_seed_metric(s, (mtn_metric)which);
}

static double vector_value(const mtn_seed_result *s, int which, int index) {
    return mtn_seed_vector_value(s, (mtn_vector)which, index);
}

/* two passes over the finished seeds: the mean, then the squared deviations from it
 * (no cancellation); returns n */
static int summarise(const mtn_run_result *r, seed_value value, int which, int index, double *mean, double *std) {
    int n = 0;
    double sum = 0;
    for (int i = 0; i < r->n_seeds; i++)
        if (r->seeds[i].ok == 1) {
            sum += value(&r->seeds[i], which, index);
            n++;
        }
    *mean = n ? sum / n : NAN;
    *std = NAN;
    if (n >= 2) {
        double ss = 0;
        for (int i = 0; i < r->n_seeds; i++)
            if (r->seeds[i].ok == 1) {
                double d = value(&r->seeds[i], which, index) - *mean;
                ss += d * d;
            }
        *std = sqrt(ss / (n - 1));
    }
    return n;
}

int mtn_run_summary(const mtn_run_result *r, mtn_metric m, double *mean, double *std) {
    MTN_ASSERT(m >= 0 && m < MTN_N_METRICS);
    return summarise(r, scalar_value, (int)m, 0, mean, std);
}

int mtn_run_vector_summary(const mtn_run_result *r, mtn_vector v, int index, double *mean, double *std) {
    MTN_ASSERT(v >= 0 && v < MTN_N_VECTORS);
    if (r->method != mtn_vector_method(v)) {
        *mean = *std = NAN;
        return 0;
    }
    return summarise(r, vector_value, (int)v, index, mean, std);
}
