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
 *   /runs/<run>/ attributes: method, row, column, status ("ok", or "not built: ..."),
 *     task and network (resolved JSON), classes, n (seeds that finished);
 *     datasets, one entry per seed in seed order:
 *       seeds int32 (S); accuracy, quadrant_accuracy, train_seconds, eval_seconds,
 *       step_compute_s, step_comm_s, step_io_s float64 (S); steps int64 (S);
 *       confusion, quadrant_confusion int64 (S, K, K) [true][predicted];
 *       train_loss, val_accuracy float64 (S, E) per epoch (E = epochs run);
 *       weights_crc uint32 (S) (crc32 of the final parameters, 0 when none);
 *       ok int32 (S) (1: the seed finished and counts in mean, std and n);
 *       epochs int32 (S) (entries of its curves that are used; the rest is NaN)
 *   /runs/<run>/mean/<metric>, /runs/<run>/std/<metric>: float64 scalars for every
 *     scalar metric above (std is the sample std, n - 1; NaN for one seed)
 * Written to "<path>.tmp.<pid>" and renamed, so a reader never sees half a file.
 *
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
} mtn_seed_result;

/* One run of a job (a row of the paper's table): its seeds. */
typedef struct {
    char name[MTN_NAME_MAX];
    char row[MTN_NAME_MAX], column[MTN_NAME_MAX];
    mtn_method method;
    char status[256];         /* "ok" or why there are no numbers ("not built: ...") */
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
 * run's finished seeds; returns n. */
int mtn_run_summary(const mtn_run_result *r, mtn_metric m, double *mean, double *std);

/* Writes the archive atomically (temporary name, then rename). MTN_EIO naming the
 * path on failure; nothing is left behind. Empty mtneuro_version, git_commit, host and
 * created are filled in (this build, gethostname, the time now in UTC). A run without
 * seeds (status "not built: ...") is written with empty arrays (S = 0). */
int mtn_archive_write(const char *path, const mtn_archive *a);
/* Reads an archive back (what report and aggregate use). MTN_EIO / MTN_EDATA naming
 * the file and what was wrong. Every seed gets K = the run's `classes`; curves hold
 * NaN after the seed's epochs. On failure *a is left empty (freeing it is a no-op). */
int mtn_archive_read(const char *path, mtn_archive *a);
void mtn_archive_free(mtn_archive *a);

/* `mtneuro report`: the paper's table layout for the archives' table, our mean ± std
 * beside the paper's value, as Markdown, CSV or JSON. */
typedef enum { MTN_REPORT_MD, MTN_REPORT_CSV, MTN_REPORT_JSON } mtn_report_format;
int mtn_report(FILE *out, const mtn_archive *archives, int n, mtn_report_format format);

#endif
