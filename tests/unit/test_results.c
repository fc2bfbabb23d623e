/* test_results.c — result archives and `mtneuro report`:
 *  - an archive of 2 runs x 3 seeds (one seed unfinished) and a run not built (no
 *    seeds), with a job JSON over 64 KiB, is written and read back field for field;
 *  - mean and sample std against values worked out by hand;
 *  - h5py reads it (tests/results/read_archive.py under /usr/bin/python3): the layout
 *    is complete and numpy's mean and std (ddof=1) agree with ours to 1e-12;
 *  - broken inputs: a missing file, a non-HDF5 file, an HDF5 file without the format
 *    attribute, a missing dataset, a wrong shape — each its error code, naming the file;
 *  - failed writes (no such directory, a bad run name, a directory in the way) leave
 *    nothing behind;
 *  - report in Markdown, CSV and JSON holds the expected cells; `mtneuro report` exit
 *    codes.
 * With MTN_RESULTS_SAMPLE=FILE the sample archive is also written to FILE. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "mtn/h5.h"
#include "mtn/results.h"

#define HAND_TOL 1e-12

/* entries of dir whose name contains `part` */
static int count_entries(const char *dir, const char *part) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strstr(e->d_name, part) != NULL;
    if (d) closedir(d);
    return n;
}

/* the whole text of a file (malloc'd; "" when unreadable) */
static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)(n > 0 ? n : 0) + 1);
    size_t got = n > 0 ? fread(buf, 1, (size_t)n, f) : 0;
    buf[got] = '\0';
    fclose(f);
    return buf;
}

/* ---- the sample archive: numbers chosen so means and stds work out by hand ---- */

static const double sup_acc[3] = {0.86, 0.88, 0.93};  /* mean 0.89, std sqrt(0.0026 / 2) */
static const double sup_quad[3] = {0.80, 0.85, 0.90}; /* mean 0.85, std 0.05 */
static const double mix_acc[3] = {0.90, 0.94, 0.10};  /* the third seed did not finish: mean 0.92, std sqrt(0.0008) */
static const int seeds[3] = {1, 100, 350};
static const int epochs[3] = {3, 5, 4};

static void fill_seed(mtn_seed_result *s, int i, double acc, double quad, int ok) {
    memset(s, 0, sizeof *s);
    s->seed = seeds[i];
    s->classes = 4;
    s->epochs = epochs[i];
    s->ok = ok;
    s->accuracy = acc;
    s->quadrant_accuracy = quad;
    for (int t = 0; t < 4; t++)
        for (int p = 0; p < 4; p++) {
            s->confusion[t][p] = t == p ? 40 + i : i + t + 2 * p;
            s->quadrant_confusion[t][p] = 4 * s->confusion[t][p] + 1;
        }
    for (int e = 0; e < s->epochs; e++) {
        s->train_loss[e] = 1.0 / (e + 1) + i;
        s->val_accuracy[e] = 0.5 + 0.1 * e;
    }
    s->steps = 1000 + i;
    s->train_seconds = 10.5 + i;
    s->eval_seconds = 1.25;
    s->step_compute_s = 0.1;
    s->step_comm_s = 0.01 * (i + 1);
    s->step_io_s = 0.002;
    s->weights_crc = 0xDEADBEEFu + (uint32_t)i;
}

static char *big_job_json(void) {
    size_t n = 70000; /* over HDF5's 64 KiB for compact attributes */
    char *s = malloc(n + 64);
    int k = snprintf(s, 64, "{\"name\": \"table1-roi-c1\", \"pad\": \"");
    memset(s + k, 'x', n);
    strcpy(s + k + n, "\"}");
    return s;
}

/* 2 runs x 3 seeds and a run not built; the caller frees with free_sample */
static void make_sample(mtn_archive *a, mtn_table table, const char *column) {
    memset(a, 0, sizeof *a);
    snprintf(a->job_name, sizeof a->job_name, "table1-roi-c1");
    snprintf(a->job_file, sizeof a->job_file, "jobs/table1-roi-c1.json");
    a->table = table;
    snprintf(a->column, sizeof a->column, "%s", column);
    snprintf(a->source, sizeof a->source, "phantom");
    a->job_json = big_job_json();
    snprintf(a->layout, sizeof a->layout, "2 seed groups x 2 ranks");
    snprintf(a->host, sizeof a->host, "testhost");
    snprintf(a->created, sizeof a->created, "2026-01-02T03:04:05Z");
    a->world_size = 4;
    a->ranks_per_seed = 2;
    a->seed_groups = 2;
    a->threads = 2;
    a->n_runs = 3;
    a->runs = calloc(3, sizeof *a->runs);
    const struct {
        const char *name;
        mtn_method method;
        const char *status;
        int n_seeds;
    } spec[3] = {{"supervised", MTN_METHOD_SUPERVISED, "ok", 3},
                 {"mixup", MTN_METHOD_MIXUP, "ok", 3},
                 {"pca", MTN_METHOD_PCA, "not built: PCA baseline belongs to issue #6", 0}};
    for (int r = 0; r < 3; r++) {
        mtn_run_result *x = &a->runs[r];
        snprintf(x->name, sizeof x->name, "%s", spec[r].name);
        snprintf(x->row, sizeof x->row, "%s", mtn_method_row_label(spec[r].method));
        snprintf(x->column, sizeof x->column, "%s", column);
        x->method = spec[r].method;
        snprintf(x->status, sizeof x->status, "%s", spec[r].status);
        x->task_json = strdup("{\"task\": 1, \"name\": \"ROI-C1\"}");
        x->network_json = strdup("{\"model\": \"resnet18\"}");
        x->n_seeds = spec[r].n_seeds;
        x->seeds = x->n_seeds ? calloc((size_t)x->n_seeds, sizeof *x->seeds) : NULL;
        for (int i = 0; i < x->n_seeds; i++) {
            if (r == 0) fill_seed(&x->seeds[i], i, sup_acc[i], sup_quad[i], 1);
            else fill_seed(&x->seeds[i], i, mix_acc[i], 0.5, i < 2);
        }
    }
}

static void free_sample(mtn_archive *a) { mtn_archive_free(a); }

static void expect_same_seed(const mtn_seed_result *w, const mtn_seed_result *g) {
    CU_ASSERT_EQUAL(g->seed, w->seed);
    CU_ASSERT_EQUAL(g->classes, w->classes);
    CU_ASSERT_EQUAL(g->epochs, w->epochs);
    CU_ASSERT_EQUAL(g->ok, w->ok);
    for (int m = 0; m < MTN_N_METRICS; m++)
        CU_ASSERT_EQUAL(mtn_seed_metric(g, (mtn_metric)m), mtn_seed_metric(w, (mtn_metric)m));
    CU_ASSERT_EQUAL(memcmp(g->confusion, w->confusion, sizeof g->confusion), 0);
    CU_ASSERT_EQUAL(memcmp(g->quadrant_confusion, w->quadrant_confusion, sizeof g->quadrant_confusion), 0);
    for (int e = 0; e < w->epochs; e++) {
        CU_ASSERT_EQUAL(g->train_loss[e], w->train_loss[e]);
        CU_ASSERT_EQUAL(g->val_accuracy[e], w->val_accuracy[e]);
    }
    for (int e = w->epochs; e < 5; e++) /* padding up to the run's longest seed */
        CU_ASSERT(isnan(g->train_loss[e]) && isnan(g->val_accuracy[e]));
    CU_ASSERT_EQUAL(g->steps, w->steps);
    CU_ASSERT_EQUAL(g->weights_crc, w->weights_crc);
}

static void test_round_trip(void) {
    mtn_archive w, g;
    make_sample(&w, MTN_TABLE_1, "ROI-C1");
    const char *path = mtn_test_path("sample.h5");
    CU_ASSERT_EQUAL_FATAL(mtn_archive_write(path, &w), 0);
    CU_ASSERT_EQUAL(count_entries(mtn_test_tmpdir(), ".tmp."), 0);
    const char *keep = getenv("MTN_RESULTS_SAMPLE"); /* a copy to look at: h5dump, h5py, mtneuro report */
    if (keep && *keep) CU_ASSERT_EQUAL(mtn_archive_write(keep, &w), 0);
    int rc = mtn_archive_read(path, &g);
    if (rc) fprintf(stderr, "\n%s\n", mtn_error_message());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(g.job_name, w.job_name);
    CU_ASSERT_STRING_EQUAL(g.job_file, w.job_file);
    CU_ASSERT_EQUAL(g.table, MTN_TABLE_1);
    CU_ASSERT_STRING_EQUAL(g.column, "ROI-C1");
    CU_ASSERT_STRING_EQUAL(g.source, "phantom");
    CU_ASSERT_STRING_EQUAL(g.job_json, w.job_json);
    CU_ASSERT_STRING_EQUAL(g.mtneuro_version, mtn_version()); /* filled in: w left them empty */
    CU_ASSERT_STRING_EQUAL(g.git_commit, mtn_git_commit());
    CU_ASSERT_STRING_EQUAL(g.host, "testhost");
    CU_ASSERT_STRING_EQUAL(g.created, "2026-01-02T03:04:05Z");
    CU_ASSERT_STRING_EQUAL(g.layout, w.layout);
    CU_ASSERT(g.world_size == 4 && g.ranks_per_seed == 2 && g.seed_groups == 2 && g.threads == 2);
    CU_ASSERT_EQUAL_FATAL(g.n_runs, 3);
    for (int r = 0; r < 3; r++) {
        const mtn_run_result *wr = &w.runs[r], *gr = &g.runs[r]; /* in the job's order */
        CU_ASSERT_STRING_EQUAL(gr->name, wr->name);
        CU_ASSERT_STRING_EQUAL(gr->row, wr->row);
        CU_ASSERT_STRING_EQUAL(gr->column, wr->column);
        CU_ASSERT_EQUAL(gr->method, wr->method);
        CU_ASSERT_STRING_EQUAL(gr->status, wr->status);
        CU_ASSERT_STRING_EQUAL(gr->task_json, wr->task_json);
        CU_ASSERT_STRING_EQUAL(gr->network_json, wr->network_json);
        CU_ASSERT_EQUAL_FATAL(gr->n_seeds, wr->n_seeds);
        for (int i = 0; i < wr->n_seeds; i++) expect_same_seed(&wr->seeds[i], &gr->seeds[i]);
    }
    /* the stored summaries: n attribute and the mean/std scalars */
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t run = H5Gopen2(f, "runs/mixup", H5P_DEFAULT);
    int64_t n = -1;
    CU_ASSERT_EQUAL(mtn_h5_read_i64(run, "n", &n), 0);
    CU_ASSERT_EQUAL(n, 2);
    int rank = -1;
    int64_t dims[MTN_H5_MAX_RANK];
    void *p = NULL;
    CU_ASSERT_EQUAL(mtn_h5_read_array(run, "mean/accuracy", H5T_NATIVE_DOUBLE, "float64", &rank, dims, &p), 0);
    CU_ASSERT(rank == 0 && p && fabs(*(double *)p - 0.92) < HAND_TOL);
    free(p);
    CU_ASSERT_EQUAL(mtn_h5_read_array(run, "std/accuracy", H5T_NATIVE_DOUBLE, "float64", &rank, dims, &p), 0);
    CU_ASSERT(rank == 0 && p && fabs(*(double *)p - sqrt(0.0008)) < HAND_TOL);
    free(p);
    H5Gclose(run);
    run = H5Gopen2(f, "runs/pca", H5P_DEFAULT);
    CU_ASSERT_EQUAL(mtn_h5_read_array(run, "mean/accuracy", H5T_NATIVE_DOUBLE, "float64", &rank, dims, &p), 0);
    CU_ASSERT(p && isnan(*(double *)p));
    free(p);
    H5Gclose(run);
    H5Fclose(f);
    mtn_archive_free(&g);
    mtn_archive_free(&g); /* a second free is a no-op */
    free_sample(&w);
}

static void test_summary_by_hand(void) {
    mtn_archive a;
    make_sample(&a, MTN_TABLE_1, "ROI-C1");
    double mean, std;
    CU_ASSERT_EQUAL(mtn_run_summary(&a.runs[0], MTN_METRIC_ACCURACY, &mean, &std), 3);
    CU_ASSERT_DOUBLE_EQUAL(mean, 0.89, HAND_TOL);
    CU_ASSERT_DOUBLE_EQUAL(std, sqrt(0.0026 / 2), HAND_TOL); /* deviations -0.03, -0.01, 0.04 */
    CU_ASSERT_EQUAL(mtn_run_summary(&a.runs[0], MTN_METRIC_QUADRANT_ACCURACY, &mean, &std), 3);
    CU_ASSERT_DOUBLE_EQUAL(mean, 0.85, HAND_TOL);
    CU_ASSERT_DOUBLE_EQUAL(std, 0.05, HAND_TOL);
    CU_ASSERT_EQUAL(mtn_run_summary(&a.runs[0], MTN_METRIC_STEP_COMM_S, &mean, &std), 3);
    CU_ASSERT_DOUBLE_EQUAL(mean, 0.02, HAND_TOL);
    CU_ASSERT_DOUBLE_EQUAL(std, 0.01, HAND_TOL);
    /* the unfinished seed (accuracy 0.10) does not count */
    CU_ASSERT_EQUAL(mtn_run_summary(&a.runs[1], MTN_METRIC_ACCURACY, &mean, &std), 2);
    CU_ASSERT_DOUBLE_EQUAL(mean, 0.92, HAND_TOL);
    CU_ASSERT_DOUBLE_EQUAL(std, sqrt(0.0008), HAND_TOL);
    /* one seed: std NaN; none: both NaN */
    a.runs[1].seeds[1].ok = 0;
    CU_ASSERT_EQUAL(mtn_run_summary(&a.runs[1], MTN_METRIC_ACCURACY, &mean, &std), 1);
    CU_ASSERT(mean == 0.90 && isnan(std));
    CU_ASSERT_EQUAL(mtn_run_summary(&a.runs[2], MTN_METRIC_ACCURACY, &mean, &std), 0);
    CU_ASSERT(isnan(mean) && isnan(std));
    CU_ASSERT_STRING_EQUAL(mtn_metric_name(MTN_METRIC_QUADRANT_ACCURACY), "quadrant_accuracy");
    CU_ASSERT_STRING_EQUAL(mtn_metric_name(MTN_METRIC_STEP_IO_S), "step_io_s");
    free_sample(&a);
}

/* h5py's view of the archive: read_archive.py checks the layout and numpy's numbers */
static void test_h5py_reads_it(void) {
    if (system("/usr/bin/python3 -c 'import h5py, numpy' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "\nskipped: /usr/bin/python3 lacks h5py or numpy\n");
        CU_PASS("skipped: /usr/bin/python3 lacks h5py");
        return;
    }
    mtn_archive w;
    make_sample(&w, MTN_TABLE_1, "ROI-C1");
    const char *path = mtn_test_path("py.h5"), *out = mtn_test_path("py.json");
    CU_ASSERT_EQUAL_FATAL(mtn_archive_write(path, &w), 0);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/results/read_archive.py '%s' > '%s'", MTN_SOURCE_DIR, path,
             out);
    int st = system(cmd);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char *text = read_text(out);
    cJSON *root = cJSON_Parse(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(root, "format")->valuestring, "mtneuro-results/1");
    const cJSON *runs = cJSON_GetObjectItem(root, "runs");
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(runs), 3);
    for (int r = 0; r < 3; r++) {
        const mtn_run_result *x = &w.runs[r];
        const cJSON *o = NULL, *it;
        cJSON_ArrayForEach(it, runs) if (strcmp(cJSON_GetObjectItem(it, "run")->valuestring, x->name) == 0) o = it;
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        const cJSON *s = cJSON_GetObjectItem(o, "seeds");
        CU_ASSERT_EQUAL(cJSON_GetArraySize(s), x->n_seeds);
        for (int i = 0; i < x->n_seeds; i++) CU_ASSERT_EQUAL(cJSON_GetArrayItem(s, i)->valueint, x->seeds[i].seed);
        double mean, std;
        int n = mtn_run_summary(x, MTN_METRIC_ACCURACY, &mean, &std);
        CU_ASSERT_EQUAL(cJSON_GetObjectItem(o, "n")->valueint, n);
        const char *keys[4] = {"accuracy_mean", "accuracy_std", "stored_mean", "stored_std"};
        for (int k = 0; k < 4; k++) {
            const cJSON *v = cJSON_GetObjectItem(o, keys[k]);
            double want = k % 2 ? std : mean;
            CU_ASSERT(isnan(want) ? cJSON_IsNull(v) : cJSON_IsNumber(v) && fabs(v->valuedouble - want) <= 1e-12);
        }
    }
    cJSON_Delete(root);
    free(text);
    free_sample(&w);
}

/* ---- broken archives ---- */

static void expect_read_error(const char *path, int code, const char *text) {
    mtn_archive a;
    int rc = mtn_archive_read(path, &a);
    const char *msg = mtn_error_message();
    bool good = rc == code && strstr(msg, path) && strstr(msg, text);
    if (!good) fprintf(stderr, "\nexpected %d \"%s\" naming %s, got %d \"%s\"", code, text, path, rc, msg);
    CU_ASSERT(good);
    CU_ASSERT(a.runs == NULL && a.n_runs == 0 && a.job_json == NULL);
    mtn_archive_free(&a);
}

static void copy_file(const char *src, const char *dst) {
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    char buf[65536];
    for (size_t n; in && out && (n = fread(buf, 1, sizeof buf, in)) > 0;) fwrite(buf, 1, n, out);
    if (in) fclose(in);
    if (out) fclose(out);
}

static void test_broken_archives(void) {
    mtn_archive w;
    make_sample(&w, MTN_TABLE_1, "ROI-C1");
    char good[512]; /* path_in_tmp's buffers are reused */
    snprintf(good, sizeof good, "%s", mtn_test_path("good.h5"));
    CU_ASSERT_EQUAL_FATAL(mtn_archive_write(good, &w), 0);
    free_sample(&w);

    expect_read_error(mtn_test_path("missing.h5"), MTN_EIO, "No such file");
    expect_read_error(mtn_test_write_file("text.h5", "not an HDF5 file\n"), MTN_EDATA, "not an HDF5 file");

    const char *plain = mtn_test_path("plain.h5");
    hid_t f = H5Fcreate(plain, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(H5Gcreate2(f, "runs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Fclose(f);
    expect_read_error(plain, MTN_EDATA, "no root attribute \"format\"");

    const char *other = mtn_test_path("other.h5");
    copy_file(good, other);
    f = H5Fopen(other, H5F_ACC_RDWR, H5P_DEFAULT);
    mtn_h5_write_str(f, "format", "mtneuro-results/99");
    H5Fclose(f);
    expect_read_error(other, MTN_EDATA, "\"mtneuro-results/99\", expected \"mtneuro-results/1\"");

    const char *no_acc = mtn_test_path("no_accuracy.h5");
    copy_file(good, no_acc);
    f = H5Fopen(no_acc, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "runs/mixup/accuracy", H5P_DEFAULT);
    H5Fclose(f);
    expect_read_error(no_acc, MTN_EDATA, "/runs/mixup: no dataset accuracy");

    const char *no_std = mtn_test_path("no_std.h5");
    copy_file(good, no_std);
    f = H5Fopen(no_std, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "runs/supervised/std/step_io_s", H5P_DEFAULT);
    H5Fclose(f);
    expect_read_error(no_std, MTN_EDATA, "/runs/supervised: no dataset std/step_io_s");

    const char *shape = mtn_test_path("shape.h5");
    copy_file(good, shape);
    f = H5Fopen(shape, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "runs/supervised/confusion", H5P_DEFAULT);
    int64_t dims[3] = {3, 4, 3};
    int64_t zeros[36] = {0};
    mtn_h5_write_array(f, "runs/supervised/confusion", H5T_STD_I64LE, H5T_NATIVE_INT64, 3, dims, zeros);
    H5Fclose(f);
    expect_read_error(shape, MTN_EDATA, "/runs/supervised/confusion: expected shape (3, 4, 4), found (3, 4, 3)");

    const char *no_attr = mtn_test_path("no_method.h5");
    copy_file(good, no_attr);
    f = H5Fopen(no_attr, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t g = H5Gopen2(f, "runs/pca", H5P_DEFAULT);
    H5Adelete(g, "method");
    H5Gclose(g);
    H5Fclose(f);
    expect_read_error(no_attr, MTN_EDATA, "/runs/pca: missing attribute \"method\"");

    const char *bad_n = mtn_test_path("bad_n.h5");
    copy_file(good, bad_n);
    f = H5Fopen(bad_n, H5F_ACC_RDWR, H5P_DEFAULT);
    g = H5Gopen2(f, "runs/mixup", H5P_DEFAULT);
    mtn_h5_write_i64(g, "n", 3);
    H5Gclose(g);
    H5Fclose(f);
    expect_read_error(bad_n, MTN_EDATA, "/runs/mixup: attribute n = 3, but 2 seeds finished");
}

static void test_failed_writes_leave_nothing(void) {
    mtn_archive w;
    make_sample(&w, MTN_TABLE_1, "ROI-C1");
    const char *dir = mtn_test_path("out");
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);

    /* a directory that does not exist */
    char path[600];
    snprintf(path, sizeof path, "%s/no/such/dir/a.h5", dir);
    CU_ASSERT_EQUAL(mtn_archive_write(path, &w), MTN_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), path));

    /* a failure half-way through (a run name HDF5 cannot take) */
    snprintf(path, sizeof path, "%s/half.h5", dir);
    snprintf(w.runs[1].name, sizeof w.runs[1].name, "bad/name");
    CU_ASSERT_EQUAL(mtn_archive_write(path, &w), MTN_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), path));
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "bad/name"));
    /* two runs of one name */
    snprintf(w.runs[1].name, sizeof w.runs[1].name, "supervised");
    CU_ASSERT_EQUAL(mtn_archive_write(path, &w), MTN_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "/runs/supervised"));
    snprintf(w.runs[1].name, sizeof w.runs[1].name, "mixup");

    /* the final name taken by a directory: the rename fails */
    snprintf(path, sizeof path, "%s/taken.h5", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0755), 0);
    CU_ASSERT_EQUAL(mtn_archive_write(path, &w), MTN_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), path));

    CU_ASSERT_EQUAL(count_entries(dir, ".tmp."), 0);
    CU_ASSERT_EQUAL(count_entries(dir, "half.h5"), 0);
    CU_ASSERT_EQUAL(count_entries(dir, ".h5"), 1); /* the directory taken.h5 only */

    /* and a good write over an old archive replaces it */
    snprintf(path, sizeof path, "%s/ok.h5", dir);
    CU_ASSERT_EQUAL(mtn_archive_write(path, &w), 0);
    w.world_size = 8;
    CU_ASSERT_EQUAL(mtn_archive_write(path, &w), 0);
    mtn_archive g;
    CU_ASSERT_EQUAL(mtn_archive_read(path, &g), 0);
    CU_ASSERT_EQUAL(g.world_size, 8);
    mtn_archive_free(&g);
    CU_ASSERT_EQUAL(count_entries(dir, ".tmp."), 0);
    free_sample(&w);
}

/* ---- report ---- */

static char *report_text(const mtn_archive *a, int n, mtn_report_format format) {
    FILE *f = mtn_test_capture_open();
    int rc = mtn_report(f, a, n, format);
    CU_ASSERT_EQUAL(rc, 0);
    char *text = mtn_test_capture_text(f);
    fclose(f);
    return text;
}

static void expect_contains(const char *text, const char *part) {
    if (!strstr(text, part)) fprintf(stderr, "\nexpected \"%s\" in:\n%s\n", part, text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, part));
}

/* reads the archive back first, as `mtneuro report` does */
static void written_and_read(mtn_archive *a, const char *name, mtn_table table, const char *column) {
    mtn_archive w;
    make_sample(&w, table, column);
    const char *path = mtn_test_path(name);
    CU_ASSERT_EQUAL_FATAL(mtn_archive_write(path, &w), 0);
    free_sample(&w);
    CU_ASSERT_EQUAL_FATAL(mtn_archive_read(path, a), 0);
}

static void test_report_markdown(void) {
    mtn_archive a[2];
    written_and_read(&a[0], "c1.h5", MTN_TABLE_1, "ROI-C1");
    char *md = report_text(a, 1, MTN_REPORT_MD);
    expect_contains(md, "## Table 1");
    expect_contains(md, "| method | ROI-C1 (ours) | ROI-C1 (paper) |\n");
    expect_contains(md, "| Supervised | 0.89 ± 0.04 (n=3) | 0.88 ± 0.03 |\n");
    expect_contains(md, "| Sup w/ Mixup | 0.92 ± 0.03 (n=2) | 0.90 ± 0.04 |\n");
    expect_contains(md, "| BYOL | — (no run) | 0.88 ± 0.02 |\n");
    expect_contains(md, "| MYOW-m | — (no run) | 0.94 ± 0.02 |\n");
    expect_contains(md, "| PCA | — (not built: PCA baseline belongs to issue #6) | 0.59 |\n");
    expect_contains(md, "| NMF | — (no run) | 0.62 |\n");
    CU_ASSERT_PTR_NULL(strstr(md, "ROI-C2")); /* only the columns the archives have */
    /* rows in the paper's order */
    CU_ASSERT(strstr(md, "| Supervised |") < strstr(md, "| Sup w/ Mixup |") &&
              strstr(md, "| Sup w/ Mixup |") < strstr(md, "| BYOL |") && strstr(md, "| MYOW |") < strstr(md, "| MYOW-m |") &&
              strstr(md, "| MYOW-m |") < strstr(md, "| PCA |") && strstr(md, "| PCA |") < strstr(md, "| NMF |"));
    expect_contains(md, "### supervised — Supervised, ROI-C1 (supervised, job table1-roi-c1)");
    expect_contains(md, "- status: ok; 3 seeds, 3 finished: 1, 100, 350\n");
    expect_contains(md, "- accuracy: 0.8900 ± 0.0361; per seed: 1: 0.8600, 100: 0.8800, 350: 0.9300\n");
    expect_contains(md, "- quadrant accuracy: 0.8500 ± 0.0500\n");
    expect_contains(md, "- mean step time: compute 0.1 s, comm 0.02 s, io 0.002 s; per seed: train 11.5 s, eval 1.25 s");
    expect_contains(md, "350: did not finish");
    expect_contains(md, "- status: not built: PCA baseline belongs to issue #6; 0 seeds, 0 finished\n");
    free(md);

    /* a second archive fills another column of the same table */
    written_and_read(&a[1], "c3.h5", MTN_TABLE_1, "ROI-C3");
    md = report_text(a, 2, MTN_REPORT_MD);
    expect_contains(md, "| method | ROI-C1 (ours) | ROI-C1 (paper) | ROI-C3 (ours) | ROI-C3 (paper) |\n");
    expect_contains(md, "| Supervised | 0.89 ± 0.04 (n=3) | 0.88 ± 0.03 | 0.89 ± 0.04 (n=3) | 0.88 ± 0.02 |\n");
    expect_contains(md, "| MYOW | — (no run) | 0.90 ± 0.02 | — (no run) | 0.98 ± 0.01 |\n");
    free(md);
    mtn_archive_free(&a[1]);

    /* Table A3 columns and values; a table without a fixed layout: a row per run */
    written_and_read(&a[1], "a3.h5", MTN_TABLE_A3, "Downsampling=4");
    md = report_text(&a[1], 1, MTN_REPORT_MD);
    expect_contains(md, "## Table A3");
    expect_contains(md, "| Supervised | 0.89 ± 0.04 (n=3) | 0.83 |\n");
    expect_contains(md, "| NMF | — (no run) | 0.55 |\n");
    free(md);
    mtn_archive_free(&a[1]);
    written_and_read(&a[1], "t2.h5", MTN_TABLE_2, "3-class");
    md = report_text(&a[1], 1, MTN_REPORT_MD);
    expect_contains(md, "| run | row | column | accuracy (ours) | n | status |\n");
    expect_contains(md, "| supervised | Supervised | 3-class | 0.89 ± 0.04 | 3 | ok |\n");
    expect_contains(md, "| pca | PCA | 3-class | — | 0 | not built: PCA baseline belongs to issue #6 |\n");
    free(md);
    mtn_archive_free(&a[1]);
    mtn_archive_free(&a[0]);
}

/* the CSV line of (row, column): its numbers */
static bool csv_line(const char *text, const char *row, const char *column, double v[5], int *n) {
    char head[200];
    snprintf(head, sizeof head, "\ntable1,%s,%s,accuracy,", row, column);
    const char *p = strstr(text, head);
    if (!p) return false;
    p += strlen(head);
    /* ours_mean,ours_std,n,paper_mean,paper_std; empty fields read as NaN */
    for (int k = 0; k < 5; k++) {
        char *end;
        double x = strtod(p, &end);
        if (end == p) x = NAN;
        if (k == 2) *n = (int)x;
        else v[k < 2 ? k : k - 1] = x;
        p = end;
        if (k < 4 && *p++ != ',') return false;
    }
    return *p == '\n';
}

static void test_report_csv_json(void) {
    mtn_archive a;
    written_and_read(&a, "csv.h5", MTN_TABLE_1, "ROI-C1");
    char *csv = report_text(&a, 1, MTN_REPORT_CSV);
    CU_ASSERT_EQUAL(strncmp(csv, "table,row,column,metric,ours_mean,ours_std,n,paper_mean,paper_std\n", 66), 0);
    double v[5];
    int n = -1;
    CU_ASSERT_FATAL(csv_line(csv, "Supervised", "ROI-C1", v, &n));
    CU_ASSERT(n == 3 && fabs(v[0] - 0.89) < HAND_TOL && fabs(v[1] - sqrt(0.0013)) < HAND_TOL);
    CU_ASSERT(v[2] == 0.88 && v[3] == 0.03);
    CU_ASSERT_FATAL(csv_line(csv, "Sup w/ Mixup", "ROI-C1", v, &n));
    CU_ASSERT(n == 2 && fabs(v[0] - 0.92) < HAND_TOL && fabs(v[1] - sqrt(0.0008)) < HAND_TOL);
    CU_ASSERT_FATAL(csv_line(csv, "PCA", "ROI-C1", v, &n));
    CU_ASSERT(n == 0 && isnan(v[0]) && isnan(v[1]) && v[2] == 0.59 && isnan(v[3]));
    expect_contains(csv, "\ntable1,BYOL,ROI-C1,accuracy,,,0,0.88,0.02\n");
    int lines = 0;
    for (const char *p = csv; *p; p++) lines += *p == '\n';
    CU_ASSERT_EQUAL(lines, 1 + 7); /* the header and the paper's 7 rows x 1 column */
    free(csv);

    char *json = report_text(&a, 1, MTN_REPORT_JSON);
    cJSON *root = cJSON_Parse(json);
    CU_ASSERT_FATAL(cJSON_IsArray(root));
    CU_ASSERT_EQUAL(cJSON_GetArraySize(root), 7);
    int seen = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, root) {
        const char *row = cJSON_GetObjectItem(o, "row")->valuestring;
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(o, "table")->valuestring, "table1");
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(o, "column")->valuestring, "ROI-C1");
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(o, "metric")->valuestring, "accuracy");
        if (strcmp(row, "Supervised") == 0) {
            seen++;
            CU_ASSERT(fabs(cJSON_GetObjectItem(o, "ours_mean")->valuedouble - 0.89) < HAND_TOL);
            CU_ASSERT(fabs(cJSON_GetObjectItem(o, "ours_std")->valuedouble - sqrt(0.0013)) < HAND_TOL);
            CU_ASSERT_EQUAL(cJSON_GetObjectItem(o, "n")->valueint, 3);
            CU_ASSERT_EQUAL(cJSON_GetObjectItem(o, "paper_mean")->valuedouble, 0.88);
            CU_ASSERT_EQUAL(cJSON_GetObjectItem(o, "paper_std")->valuedouble, 0.03);
            CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(o, "status")->valuestring, "ok");
            CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(o, "run")->valuestring, "supervised");
        } else if (strcmp(row, "PCA") == 0) {
            seen++;
            CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(o, "ours_mean")));
            CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(o, "paper_std")));
            CU_ASSERT_EQUAL(cJSON_GetObjectItem(o, "paper_mean")->valuedouble, 0.59);
            CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(o, "status")->valuestring,
                                   "not built: PCA baseline belongs to issue #6");
        } else if (strcmp(row, "MYOW") == 0) {
            seen++;
            CU_ASSERT_EQUAL(cJSON_GetObjectItem(o, "n")->valueint, 0);
            CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(o, "status")->valuestring, "no run");
            CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(o, "run")));
        }
    }
    CU_ASSERT_EQUAL(seen, 3);
    cJSON_Delete(root);
    free(json);
    CU_ASSERT_EQUAL(mtn_report(stdout, &a, 0, MTN_REPORT_MD), MTN_EUSAGE);
    mtn_archive_free(&a);
}

/* ---- the command ---- */

static int run_cli(const char *args, const char *out) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' report %s > '%s' 2>&1", MTN_BINARY, args, out);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_report_command(void) {
    mtn_archive w;
    make_sample(&w, MTN_TABLE_1, "ROI-C1");
    const char *good = mtn_test_path("cli.h5"), *out = mtn_test_path("cli.out");
    CU_ASSERT_EQUAL_FATAL(mtn_archive_write(good, &w), 0);
    free_sample(&w);
    char args[1200];
    struct {
        const char *fmt;
        int code;
        const char *text;
    } cases[] = {
        {"'%s'", 0, "| Supervised | 0.89 ± 0.04 (n=3) | 0.88 ± 0.03 |"},
        {"'%s' --format csv", 0, "table1,BYOL,ROI-C1,accuracy,,,0,0.88,0.02"},
        {"--format json '%s'", 0, "\"paper_mean\":"},
        {"", 2, "report: expected one or more result archives"},
        {"--format xml '%s'", 2, "--format: expected md, csv or json, found \"xml\""},
        {"--bogus '%s'", 2, "unknown or incomplete option"},
        {"'%s' '%s.missing'", 4, ".missing: cannot read the result archive"},
        {"'" MTN_SOURCE_DIR "/README.md'", 3, "README.md: not an HDF5 file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(args, sizeof args, cases[i].fmt, good, good);
        int code = run_cli(args, out);
        char *text = read_text(out);
        if (code != cases[i].code || !strstr(text, cases[i].text))
            fprintf(stderr, "\nreport %s: expected exit %d and \"%s\", got %d:\n%s\n", args, cases[i].code,
                    cases[i].text, code, text);
        CU_ASSERT(code == cases[i].code && strstr(text, cases[i].text) != NULL);
        free(text);
    }
}

static const mtn_test_case tests[] = {
    {"an archive of 2 runs x 3 seeds and a run not built reads back field for field", test_round_trip},
    {"mean and sample std (n - 1) over finished seeds, by hand", test_summary_by_hand},
    {"h5py reads the layout; numpy's mean and std agree to 1e-12", test_h5py_reads_it},
    {"broken archives: missing, not HDF5, no format, missing dataset or attribute, wrong shape", test_broken_archives},
    {"failed writes leave nothing behind; a good write replaces the old file", test_failed_writes_leave_nothing},
    {"report: Markdown tables in the paper's layout, several archives, Table A3, generic", test_report_markdown},
    {"report: CSV and JSON cells", test_report_csv_json},
    {"mtneuro report: formats and exit codes", test_report_command},
    {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {{"result archives and report", tests}, {NULL, NULL}};
