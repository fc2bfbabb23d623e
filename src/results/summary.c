/* summary.c — the scalar metrics of a seed by name, and their mean and sample
 * standard deviation over a run's finished seeds (see mtn/results.h). */
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

/* two passes: the mean, then the squared deviations from it (no cancellation) */
int mtn_run_summary(const mtn_run_result *r, mtn_metric m, double *mean, double *std) {
    int n = 0;
    double sum = 0;
    for (int i = 0; i < r->n_seeds; i++)
        if (r->seeds[i].ok == 1) {
            sum += mtn_seed_metric(&r->seeds[i], m);
            n++;
        }
    *mean = n ? sum / n : NAN;
    *std = NAN;
    if (n >= 2) {
        double ss = 0;
        for (int i = 0; i < r->n_seeds; i++)
            if (r->seeds[i].ok == 1) {
                double d = mtn_seed_metric(&r->seeds[i], m) - *mean;
                ss += d * d;
            }
        *std = sqrt(ss / (n - 1));
    }
    return n;
}
