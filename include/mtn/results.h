/* mtn/results.h — what a run produced, and the result archive that keeps it
 * (design §5): per seed, the metrics, confusion matrices, learning curves and
 * timings; per run, mean and sample std (n - 1) over the seeds; the resolved job,
 * task and network configs, and the environment. `mtneuro report` prints the
 * paper's table layout from archives, the paper's values beside ours.
 *
 * Archive layout (format "mtneuro-results/1"), all readable with h5py:
 *   / attributes: format, job_name, job_file, table ("table1", ...), column, job (the
 *     resolved job JSON), source, mtneuro_version, git_commit, world_size,
 *     ranks_per_seed, seed_groups, layout (text), threads, host, created (UTC ISO
 *     8601)
 *   /runs/<run>/ attributes: method, row (the paper's row; "" for the units of a
 *     search: "<run>@mixup_prob=...", "<run>@lr=...,batch=..."), column, status ("ok",
 *     or "not built: ..."),
 *     task and network (resolved JSON), classes, n (seeds that finished), chosen (a
 *     search's chosen values, "" when none; read as "" when absent);
 *     datasets, one entry per seed in seed order:
 *       seeds int32 (S); accuracy, quadrant_accuracy, train_seconds, eval_seconds,
 *       step_compute_s, step_comm_s, step_io_s float64 (S); steps int64 (S);
 *       confusion, quadrant_confusion int64 (S, K, K) [true][predicted];
 *       train_loss, val_accuracy float64 (S, E) per epoch (E = epochs run);
 *       weights_crc uint32 (S) (crc32 of the final parameters, 0 when none);
 *       ok int32 (S) (1: the seed finished and counts in mean, std and n);
 *       epochs int32 (S) (entries of its curves that are used; the rest is NaN)
 *     and, only in runs of the method that has them (every such run, S = 0 and K or
 *     F = 0 included; required there when reading, ignored elsewhere):
 *       method segment (Task 2): f1, iou, f1_image, iou_image float64 (S, K);
 *       method readout (Task 3): r2, r2_heldout float64 (S, F), F = the most
 *         features of a seed, and the run attribute features = the names of the F
 *         columns, comma-separated (the first F of MTN_FEATURES_COLUMNS in
 *         mtn/eval.h: vessel_pct,axon_pct,cell_count,cell_size_px,nn_dist_px);
 *       a seed with fewer classes or features than K or F is padded with NaN.
 *   /runs/<run>/mean/<metric>, /runs/<run>/std/<metric>: float64 over the seeds that
 *     finished (std is the sample std, n - 1; NaN for one seed, both NaN for none; a
 *     NaN in a seed's value makes its mean NaN):
 *       a scalar for every scalar metric above;
 *       an array (K) or (F) for each of f1, iou, f1_image, iou_image or r2,
 *         r2_heldout the run has (entry by entry);
 *       in segment runs, scalars mean_f1, mean_iou, mean_f1_image, mean_iou_image:
 *         per seed the unweighted mean over its classes, background included (as
 *         the paper's "Avg"), then mean and std of that over the seeds.
 * Ownership: the caller owns every struct; mtn_archive_read fills a caller-owned
 * mtn_archive freed with mtn_archive_free (NULL ok). */
#ifndef MTN_RESULTS_H
#define MTN_RESULTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mtn/config.h"

#define MTN_MAX_CLASSES 8
#define MTN_MAX_EPOCHS 1024
#define MTN_MAX_FEATURES 8

/* One seed of one run: plain data, copied by value and sent between ranks as bytes. */
typedef struct {
    int32_t seed;
    int32_t classes;          /* K of the confusion matrices */
    int32_t epochs;           /* entries used in the curves */
    int32_t ok;               /* 1 once filled */
    double accuracy;          /* whole images */
    double quadrant_accuracy; /* each 2x2 quadrant against its image's class */
    int64_t confusion[MTN_MAX_CLASSES][MTN_MAX_CLASSES];          /* [true][predicted] */
    int64_t quadrant_confusion[MTN_MAX_CLASSES][MTN_MAX_CLASSES];
    double train_loss[MTN_MAX_EPOCHS];   /* mean training loss of each epoch */
    double val_accuracy[MTN_MAX_EPOCHS]; /* validation accuracy after each epoch */
    int64_t steps;
    double train_seconds, eval_seconds;
    double step_compute_s, step_comm_s, step_io_s; /* mean per training step */
    uint32_t weights_crc;
    /* Task 2 (method segment), classes entries: per-class F1 and IoU on the test
     * split, pooled over all test pixels (the headline; confusion then holds pixel
     * counts and accuracy is pixel accuracy), and averaged over test images (smp's
     * per-image scores, where a class absent from both truth and prediction scores
     * 1, as the original code printed them). val_accuracy then holds the pooled mean
     * F1 over classes on the validation split (what model selection uses). */
    double f1[MTN_MAX_CLASSES], iou[MTN_MAX_CLASSES];
    double f1_image[MTN_MAX_CLASSES], iou_image[MTN_MAX_CLASSES];
    /* Task 3 (method readout): R^2 of the linear readout of each feature (in the
     * order of MTN_FEATURES_COLUMNS), in-sample over all samples (the paper's) and on
     * held-out test slices (fit on the training slices). */
    int32_t n_features;
    double r2[MTN_MAX_FEATURES], r2_heldout[MTN_MAX_FEATURES];
} mtn_seed_result;

/* One run of a job (a row of the paper's table): its seeds. */
typedef struct {
    char name[MTN_NAME_MAX];
    char row[MTN_NAME_MAX], column[MTN_NAME_MAX];
    mtn_method method;
    char status[256];         /* "ok" or why there are no numbers ("not built: ...") */
    char chosen[128];         /* a search's chosen values ("learning_rate=0.1,batch_size=8"), or "" */
    char *task_json, *network_json; /* owned (malloc) */
    int n_seeds;
    mtn_seed_result *seeds;   /* owned (malloc), n_seeds */
} mtn_run_result;

/* Environment and layout of the job that produced an archive. */
typedef struct {
    char job_name[MTN_NAME_MAX];
    char job_file[MTN_PATH_MAX];
    mtn_table table;
    char column[MTN_NAME_MAX];
    char source[MTN_URI_MAX];
    char *job_json;           /* owned (malloc) */
    char mtneuro_version[32], git_commit[64], host[128], created[32];
    char layout[256];
    int world_size, ranks_per_seed, seed_groups, threads;
    int n_runs;
    mtn_run_result *runs;     /* owned (malloc), n_runs */
} mtn_archive;

/* Scalar metrics summarised per run (names as in the archive). */
typedef enum {
    MTN_METRIC_ACCURACY, MTN_METRIC_QUADRANT_ACCURACY, MTN_METRIC_TRAIN_SECONDS, MTN_METRIC_EVAL_SECONDS,
    MTN_METRIC_STEP_COMPUTE_S, MTN_METRIC_STEP_COMM_S, MTN_METRIC_STEP_IO_S, MTN_N_METRICS
} mtn_metric;
const char *mtn_metric_name(mtn_metric m);
double mtn_seed_metric(const mtn_seed_result *s, mtn_metric m);

/* Mean and sample standard deviation (n - 1; NaN when n < 2) of a metric over the
 * run's finished seeds (ok == 1); returns n. */
int mtn_run_summary(const mtn_run_result *r, mtn_metric m, double *mean, double *std);

/* Per-class (Task 2: a seed's `classes` entries) and per-feature (Task 3: its
 * `n_features` entries) metrics, names as in the archive. */
typedef enum {
    MTN_VECTOR_F1, MTN_VECTOR_IOU, MTN_VECTOR_F1_IMAGE, MTN_VECTOR_IOU_IMAGE, MTN_VECTOR_R2, MTN_VECTOR_R2_HELDOUT,
    MTN_N_VECTORS
} mtn_vector;
const char *mtn_vector_name(mtn_vector v);       /* "f1", ..., "r2_heldout" */
const char *mtn_vector_mean_name(mtn_vector v);  /* "mean_f1", ... for per-class vectors; NULL for R^2 */
mtn_method mtn_vector_method(mtn_vector v);      /* the method whose runs have it: segment or readout */
bool mtn_vector_per_class(mtn_vector v);         /* true: `classes` entries; false: `n_features` */
/* the seed's entries (MTN_MAX_CLASSES or MTN_MAX_FEATURES of storage) and how many are used */
const double *mtn_seed_vector(const mtn_seed_result *s, mtn_vector v);
int mtn_seed_vector_length(const mtn_seed_result *s, mtn_vector v);
/* Entry `index` of the seed's v (NaN past its length), or with index MTN_VECTOR_MEAN
 * its unweighted mean over its entries (mean_f1: over the classes, background
 * included; NaN with none). */
#define MTN_VECTOR_MEAN (-1)
double mtn_seed_vector_value(const mtn_seed_result *s, mtn_vector v, int index);
/* Like mtn_run_summary, of mtn_seed_vector_value(seed, v, index). A run of another
 * method than mtn_vector_method(v) has none: 0, both NaN. */
int mtn_run_vector_summary(const mtn_run_result *r, mtn_vector v, int index, double *mean, double *std);

/* Writes the archive atomically (temporary name, then rename). MTN_EIO naming the
 * path on failure (also for a readout seed with more than 5 features); nothing is
 * left behind. Empty mtneuro_version, git_commit, host and
 * created are filled in (this build, gethostname, the time now in UTC). A run without
 * seeds (status "not built: ...") is written with empty arrays (S = 0). */
int mtn_archive_write(const char *path, const mtn_archive *a);
/* Reads an archive back (what report and aggregate use). MTN_EIO / MTN_EDATA naming
 * the file and what was wrong (a missing entry, a wrong shape or type, features not
 * named as MTN_FEATURES_COLUMNS). Every seed gets K = the run's `classes` and, in a
 * readout run, n_features = F; curves hold NaN after the seed's epochs. On failure
 * *a is left empty (freeing it is a no-op). */
int mtn_archive_read(const char *path, mtn_archive *a);
void mtn_archive_free(mtn_archive *a);

/* `mtneuro aggregate` (src/results/aggregate.c): merges the n >= 1 archives in[] of
 * one job (e.g. one per seed from Slurm array tasks, or one per `run --runs` subset)
 * into *out, as one run of the whole job would have written it; names[i] is in[i]'s
 * file name, used in messages. The rules:
 *  1. Archives must agree in job_json, source, mtneuro_version, git_commit, table and
 *     column; a run found in several must agree in method, row, column, task_json,
 *     network_json and chosen (a search's choice depends on the seeds it was made
 *     with: archives searched separately are not merged silently). job_json is
 *     compared as JSON with its runs matched by name, so an archive of `run --runs`
 *     (whose job lists only its runs) agrees with the job; the merged job lists the
 *     first archive's runs, then those only later archives have. A disagreement is
 *     MTN_ECONFIG, the message naming both files, the field, both values (long ones
 *     cut around the first differing offset) and "--force merges anyway"; with
 *     `force` the first archive's value is kept and a warning logged (MTN_WARN).
 *  2. Runs: the union, in order of first appearance.
 *  3. Seeds of a run: the union. A seed in several archives: a finished one (ok == 1)
 *     replaces an unfinished one; two finished ones whose every non-timing field
 *     (all of mtn_seed_result but train_seconds, eval_seconds and step_*_s; curves,
 *     matrices and vectors over their used entries) is bit-identical are one;
 *     otherwise MTN_ECONFIG naming run, seed, both files and the first differing
 *     field (with force: the first is kept, a warning logged).
 *  4. Seed order: as the merged job lists them (the run's "seeds", else the job's;
 *     search units "<run>@..." follow their run's), then the others ascending.
 *  5. A run's status: from the first archive where it has a finished seed (else
 *     the first). The environment: the first archive's (world_size, ranks_per_seed,
 *     seed_groups, threads included); layout "merged by mtneuro aggregate from N
 *     archives: " and each one's, separated by " | " (cut to fit); host and created
 *     empty, so mtn_archive_write fills them in.
 * *out is the caller's, freed with mtn_archive_free; left empty on failure. Means and
 * stds are not merged: mtn_archive_write computes them from the merged seeds. */
int mtn_archive_merge(const mtn_archive *in, const char *const *names, int n, bool force, mtn_archive *out);

/* `mtneuro report`: the paper's table layout for the archives' tables, our mean ± std
 * beside the paper's value, as Markdown, CSV or JSON. A run goes to the table of its
 * method (segment: Table 2; readout: Table 3; the others: the archive's Table 1 or A3),
 * so a mixed job (the quickstart) prints several; search units are no rows. Tables 1 and A3 accuracy by
 * method and column; Table 2 per column ("3-class", "4-class ...") F1 / IoU per
 * class and their Avg by model, then per-image averaged; Table 3 per column
 * ("ROI-C1", "ROI-C3") in-sample R² per feature by method, then held-out R². CSV and
 * JSON give one record per number: table, row, column, metric ("accuracy",
 * "f1:Vessels", "mean_f1", "r2:Dist (k=1)", ...), ours, n, the paper's (JSON adds
 * status, run, job, chosen). */
typedef enum { MTN_REPORT_MD, MTN_REPORT_CSV, MTN_REPORT_JSON } mtn_report_format;
int mtn_report(FILE *out, const mtn_archive *archives, int n, mtn_report_format format);

#endif
