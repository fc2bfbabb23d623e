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
 *    codes;
 *  - Tasks 2 and 3: segment and readout runs (4 seeds, one unfinished and NaN, a
 *    search's chosen values, a run not built) read back with their per-class and
 *    per-feature arrays; their means and stds (per entry, and the mean over classes)
 *    against hand-worked numbers and numpy's; broken ones (a wrong shape, a missing
 *    dataset or summary, misnamed features) name the object; the Table 2 and Table 3
 *    layouts in Markdown, CSV and JSON;
 *  - a mixed archive (Task 1, segment and readout runs, as jobs/quickstart.json):
 *    three tables, each with only its runs and columns, in md, csv and json; a
 *    search's units (row "") are no table rows but keep their detail blocks;
 *    Table 1's title gives the runs' downsampling beside the paper's.
 * With MTN_RESULTS_SAMPLE=FILE the sample archive is also written to FILE, and the
 * Task 2 and 3 samples to FILE.table2.h5 and FILE.table3.h5, the mixed one to
 * FILE.mixed.h5. */
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

/* Whether /usr/bin/python3 lacks h5py or numpy: then the h5py checks fail, saying how
 * to install them (.ci/packages does), rather than pass unchecked. */
static bool h5py_missing(void) {
    if (system("/usr/bin/python3 -c 'import h5py, numpy' >/dev/null 2>&1") == 0) return false;
    fprintf(stderr, "\n/usr/bin/python3 lacks h5py or numpy, which this test needs: "
                    "apt-get install python3-h5py python3-numpy (see .ci/packages)\n");
    CU_FAIL("/usr/bin/python3 lacks h5py or numpy: apt-get install python3-h5py python3-numpy");
    return true;
}

/* h5py's view of the archive: read_archive.py checks the layout and numpy's numbers */
static void test_h5py_reads_it(void) {
    if (h5py_missing()) return;
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
    written_and_read(&a[1], "none.h5", MTN_TABLE_NONE, "ROI-C1");
    md = report_text(&a[1], 1, MTN_REPORT_MD);
    expect_contains(md, "| run | row | column | accuracy (ours) | n | status |\n");
    expect_contains(md, "| supervised | Supervised | ROI-C1 | 0.89 ± 0.04 | 3 | ok |\n");
    expect_contains(md, "| pca | PCA | ROI-C1 | — | 0 | not built: PCA baseline belongs to issue #6 |\n");
    free(md);
    mtn_archive_free(&a[1]);
    mtn_archive_free(&a[0]);
}

/* the CSV line of (table, row, column, metric): its numbers */
static bool csv_metric_line(const char *text, const char *table, const char *row, const char *column,
                            const char *metric, double v[4], int *n) {
    char head[200];
    snprintf(head, sizeof head, "\n%s,%s,%s,%s,", table, row, column, metric);
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

static bool csv_line(const char *text, const char *row, const char *column, double v[4], int *n) {
    return csv_metric_line(text, "table1", row, column, "accuracy", v, n);
}

static void test_report_csv_json(void) {
    mtn_archive a;
    written_and_read(&a, "csv.h5", MTN_TABLE_1, "ROI-C1");
    char *csv = report_text(&a, 1, MTN_REPORT_CSV);
    CU_ASSERT_EQUAL(strncmp(csv, "table,row,column,metric,ours_mean,ours_std,n,paper_mean,paper_std\n", 66), 0);
    double v[4];
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

/* ---- Tasks 2 and 3: segment and readout runs ---- */

static const int task_seeds[4] = {1, 100, 350, 631};
/* 3 finished seeds and an unfinished one (all NaN); means and stds by hand below */
static const double seg_f1[3][4] = {{0.99, 0.76, 0.85, 0.95}, {0.98, 0.74, 0.86, 0.94}, {0.97, 0.78, 0.84, 0.96}};
static const double seg_iou[3][4] = {{0.98, 0.64, 0.75, 0.63}, {0.96, 0.60, 0.77, 0.62}, {0.97, 0.62, 0.73, 0.61}};
static const double readout_r2[3][5] = {
    {0.77, 0.94, 0.67, 0.61, 0.48}, {0.79, 0.95, 0.69, 0.63, 0.50}, {0.78, 0.93, 0.68, 0.62, 0.49}};
#define CHOSEN "learning_rate=0.1,batch_size=8"

static void add_task_run(mtn_archive *a, const char *name, const char *row, mtn_method method, const char *status,
                         int n_seeds, int classes) {
    mtn_run_result *x = &a->runs[a->n_runs++];
    snprintf(x->name, sizeof x->name, "%s", name);
    snprintf(x->row, sizeof x->row, "%s", row);
    snprintf(x->column, sizeof x->column, "%s", a->column);
    x->method = method;
    snprintf(x->status, sizeof x->status, "%s", status);
    x->task_json = strdup("{\"task\": 2}");
    x->network_json = strdup("{\"model\": \"unet\"}");
    x->n_seeds = n_seeds;
    x->seeds = n_seeds ? calloc((size_t)n_seeds, sizeof *x->seeds) : NULL;
    for (int i = 0; i < n_seeds; i++) {
        mtn_seed_result *s = &x->seeds[i];
        s->seed = task_seeds[i];
        s->ok = i < 3;
        s->epochs = 2;
        s->train_loss[0] = 1.0;
        s->train_loss[1] = 0.5;
        s->val_accuracy[0] = s->val_accuracy[1] = 0.8;
        s->accuracy = 0.95 + 0.01 * i;
        s->quadrant_accuracy = NAN;
        s->classes = method == MTN_METHOD_SEGMENT ? classes : 0;
        for (int k = 0; k < s->classes; k++) {
            s->f1[k] = s->ok ? seg_f1[i][k] : NAN;
            s->iou[k] = s->ok ? seg_iou[i][k] : NAN;
            s->f1_image[k] = s->f1[k] - 0.01;
            s->iou_image[k] = s->iou[k] - 0.02;
            s->confusion[k][k] = 1000 * (k + 1);
        }
        if (method == MTN_METHOD_READOUT) {
            s->n_features = 5;
            for (int k = 0; k < 5; k++) {
                s->r2[k] = s->ok ? readout_r2[i][k] : NAN;
                s->r2_heldout[k] = s->r2[k] - 0.1;
            }
        }
    }
}

/* Table 2 (segment runs: 2D U-Net with 4 seeds and a search's choice, 3D U-Net not
 * built) or Table 3 (readout runs: Supervised with 4 seeds, PCA not built) */
static void make_task_sample(mtn_archive *a, mtn_table table, const char *column, int classes) {
    memset(a, 0, sizeof *a);
    snprintf(a->job_name, sizeof a->job_name, "%s", table == MTN_TABLE_2 ? "table2-2d" : "table3-roi-c1");
    a->table = table;
    snprintf(a->column, sizeof a->column, "%s", column);
    snprintf(a->source, sizeof a->source, "phantom");
    a->job_json = strdup("{}");
    a->world_size = a->ranks_per_seed = a->seed_groups = a->threads = 1;
    a->runs = calloc(2, sizeof *a->runs);
    if (table == MTN_TABLE_2) {
        add_task_run(a, "unet2d", "2D U-Net", MTN_METHOD_SEGMENT, "ok", 4, classes);
        snprintf(a->runs[0].chosen, sizeof a->runs[0].chosen, CHOSEN);
        add_task_run(a, "unet3d", "3D U-Net", MTN_METHOD_SEGMENT, "not built: 3D U-Net belongs to issue #9", 0, 0);
    } else {
        add_task_run(a, "supervised", "Supervised", MTN_METHOD_READOUT, "ok", 4, 0);
        add_task_run(a, "pca", "PCA", MTN_METHOD_READOUT, "not built: PCA readout belongs to issue #6", 0, 0);
    }
}

/* a dataset's shape and values (malloc'd) */
static double *read_f64(hid_t f, const char *name, int *rank, int64_t dims[MTN_H5_MAX_RANK]) {
    void *p = NULL;
    if (mtn_h5_read_array(f, name, H5T_NATIVE_DOUBLE, "float64", rank, dims, &p) != 0) {
        fprintf(stderr, "\n%s\n", mtn_error_message());
        free(p);
        return NULL;
    }
    return p;
}

static bool same_or_both_nan(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

static void test_task_round_trip(void) {
    for (int which = 0; which < 2; which++) {
        mtn_table table = which ? MTN_TABLE_3 : MTN_TABLE_2;
        mtn_archive w, g;
        make_task_sample(&w, table, which ? "ROI-C1" : "3-class", 3);
        const char *path = mtn_test_path(which ? "t3.h5" : "t2.h5");
        int rc = mtn_archive_write(path, &w);
        if (rc) fprintf(stderr, "\n%s\n", mtn_error_message());
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        const char *keep = getenv("MTN_RESULTS_SAMPLE"); /* copies to look at */
        if (keep && *keep) {
            char copy[1024];
            snprintf(copy, sizeof copy, "%s.table%d.h5", keep, which ? 3 : 2);
            CU_ASSERT_EQUAL(mtn_archive_write(copy, &w), 0);
        }
        rc = mtn_archive_read(path, &g);
        if (rc) fprintf(stderr, "\n%s\n", mtn_error_message());
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        CU_ASSERT_EQUAL(g.table, table);
        CU_ASSERT_EQUAL_FATAL(g.n_runs, 2);
        for (int r = 0; r < 2; r++) {
            const mtn_run_result *wr = &w.runs[r], *gr = &g.runs[r];
            CU_ASSERT_STRING_EQUAL(gr->name, wr->name);
            CU_ASSERT_EQUAL(gr->method, wr->method);
            CU_ASSERT_STRING_EQUAL(gr->status, wr->status);
            CU_ASSERT_STRING_EQUAL(gr->chosen, wr->chosen);
            CU_ASSERT_EQUAL_FATAL(gr->n_seeds, wr->n_seeds);
            for (int i = 0; i < wr->n_seeds; i++) {
                const mtn_seed_result *ws = &wr->seeds[i], *gs = &gr->seeds[i];
                CU_ASSERT_EQUAL(gs->ok, ws->ok);
                CU_ASSERT_EQUAL(gs->classes, ws->classes);
                CU_ASSERT_EQUAL(gs->n_features, ws->n_features);
                for (int v = 0; v < MTN_N_VECTORS; v++) {
                    int len = mtn_seed_vector_length(ws, (mtn_vector)v);
                    CU_ASSERT_EQUAL(mtn_seed_vector_length(gs, (mtn_vector)v), len);
                    const double *x = mtn_seed_vector(ws, (mtn_vector)v), *y = mtn_seed_vector(gs, (mtn_vector)v);
                    for (int k = 0; k < len; k++) CU_ASSERT(same_or_both_nan(x[k], y[k])); /* NaN too */
                }
                CU_ASSERT(isnan(gs->quadrant_accuracy));
                CU_ASSERT_EQUAL(gs->accuracy, ws->accuracy);
            }
        }
        CU_ASSERT_STRING_EQUAL(g.runs[0].chosen, which ? "" : CHOSEN);
        /* the datasets themselves: shapes, stored summaries, features */
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        int rank;
        int64_t dims[MTN_H5_MAX_RANK];
        const char *run = which ? "runs/supervised/" : "runs/unet2d/", *none = which ? "runs/pca/" : "runs/unet3d/";
        const char *names[2][2] = {{"f1", "iou_image"}, {"r2", "r2_heldout"}};
        for (int k = 0; k < 2; k++) {
            char name[64];
            snprintf(name, sizeof name, "%s%s", run, names[which][k]);
            double *p = read_f64(f, name, &rank, dims);
            CU_ASSERT(p && rank == 2 && dims[0] == 4 && dims[1] == (which ? 5 : 3));
            CU_ASSERT(p && isnan(p[3 * dims[1]])); /* the unfinished seed */
            free(p);
            snprintf(name, sizeof name, "%s%s", none, names[which][k]); /* not built: S = 0 and K = F = 0 */
            p = read_f64(f, name, &rank, dims);
            CU_ASSERT(p && rank == 2 && dims[0] == 0 && dims[1] == 0);
            free(p);
            snprintf(name, sizeof name, "%smean/%s", run, names[which][k]);
            p = read_f64(f, name, &rank, dims);
            CU_ASSERT(p && rank == 1 && dims[0] == (which ? 5 : 3));
            if (p && which == 0 && k == 0) CU_ASSERT(fabs(p[1] - 0.76) < HAND_TOL); /* mean F1 of Vessels */
            if (p && which == 1 && k == 1) CU_ASSERT(fabs(p[4] - 0.39) < HAND_TOL); /* held-out R2 of NN dist */
            free(p);
        }
        /* the other task's vectors and the Task 1 metrics' mean over classes: not there */
        char name[64];
        snprintf(name, sizeof name, "%s%s", run, which ? "f1" : "r2");
        CU_ASSERT(H5Lexists(f, name, H5P_DEFAULT) == 0);
        snprintf(name, sizeof name, "%sstd/mean_f1", run);
        CU_ASSERT((H5Lexists(f, name, H5P_DEFAULT) > 0) == (which == 0));
        if (which == 0) {
            double *p = read_f64(f, name, &rank, dims);
            CU_ASSERT(p && rank == 0 && fabs(*p - 0.01 / 3) < HAND_TOL);
            free(p);
        }
        hid_t grp = H5Gopen2(f, run, H5P_DEFAULT);
        char *text = NULL;
        if (which) {
            CU_ASSERT_EQUAL(mtn_h5_read_str(grp, "features", &text), 0);
            CU_ASSERT(text && strcmp(text, "vessel_pct,axon_pct,cell_count,cell_size_px,nn_dist_px") == 0);
            free(text);
        } else {
            CU_ASSERT_FALSE(mtn_h5_has_attr(grp, "features"));
        }
        H5Gclose(grp);
        H5Fclose(f);
        mtn_archive_free(&g);
        mtn_archive_free(&w);
    }
    /* a Task 1 run has none of them, and the summaries say so */
    mtn_archive t1;
    make_sample(&t1, MTN_TABLE_1, "ROI-C1");
    const char *path = mtn_test_path("t1.h5");
    CU_ASSERT_EQUAL_FATAL(mtn_archive_write(path, &t1), 0);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT(H5Lexists(f, "runs/supervised/f1", H5P_DEFAULT) == 0 && H5Lexists(f, "runs/supervised/r2", H5P_DEFAULT) == 0);
    H5Fclose(f);
    double mean, std;
    CU_ASSERT_EQUAL(mtn_run_vector_summary(&t1.runs[0], MTN_VECTOR_F1, 0, &mean, &std), 0);
    CU_ASSERT(isnan(mean) && isnan(std));
    free_sample(&t1);
}

static void test_task_summary_by_hand(void) {
    mtn_archive a;
    make_task_sample(&a, MTN_TABLE_2, "4-class", 4);
    const mtn_run_result *r = &a.runs[0];
    double mean, std;
    /* per class: the unfinished seed's NaN does not count */
    const double f1_mean[4] = {0.98, 0.76, 0.85, 0.95}, f1_std[4] = {0.01, 0.02, 0.01, 0.01};
    const double iou_mean[4] = {0.97, 0.62, 0.75, 0.62}, iou_std[4] = {0.01, 0.02, 0.02, 0.01};
    for (int k = 0; k < 4; k++) {
        CU_ASSERT_EQUAL(mtn_run_vector_summary(r, MTN_VECTOR_F1, k, &mean, &std), 3);
        CU_ASSERT(fabs(mean - f1_mean[k]) < HAND_TOL && fabs(std - f1_std[k]) < HAND_TOL);
        mtn_run_vector_summary(r, MTN_VECTOR_IOU, k, &mean, &std);
        CU_ASSERT(fabs(mean - iou_mean[k]) < HAND_TOL && fabs(std - iou_std[k]) < HAND_TOL);
        mtn_run_vector_summary(r, MTN_VECTOR_F1_IMAGE, k, &mean, &std);
        CU_ASSERT(fabs(mean - (f1_mean[k] - 0.01)) < HAND_TOL && fabs(std - f1_std[k]) < HAND_TOL);
    }
    /* mean over the 4 classes, background included: per seed 3.55/4, 3.52/4, 3.55/4,
     * mean 10.62/12, sums' deviations 0.01, -0.02, 0.01 (ss 0.0006, over 16, n - 1 = 2) */
    CU_ASSERT_EQUAL(mtn_run_vector_summary(r, MTN_VECTOR_F1, MTN_VECTOR_MEAN, &mean, &std), 3);
    CU_ASSERT_DOUBLE_EQUAL(mean, 10.62 / 12, HAND_TOL);
    CU_ASSERT_DOUBLE_EQUAL(std, sqrt(0.0006 / 32), HAND_TOL);
    /* IoU per seed 3.00/4, 2.95/4, 2.93/4: mean 0.74, sums' deviations 0.04, -0.01, -0.03 */
    mtn_run_vector_summary(r, MTN_VECTOR_IOU, MTN_VECTOR_MEAN, &mean, &std);
    CU_ASSERT_DOUBLE_EQUAL(mean, 0.74, HAND_TOL);
    CU_ASSERT_DOUBLE_EQUAL(std, sqrt(0.0026 / 32), HAND_TOL);
    CU_ASSERT_DOUBLE_EQUAL(mtn_seed_vector_value(&r->seeds[1], MTN_VECTOR_F1, MTN_VECTOR_MEAN), 3.52 / 4, HAND_TOL);
    CU_ASSERT(isnan(mtn_seed_vector_value(&r->seeds[1], MTN_VECTOR_F1, 4))); /* past the classes */
    /* a NaN in a finished seed makes the mean NaN (as numpy's mean) */
    a.runs[0].seeds[1].f1[2] = NAN;
    mtn_run_vector_summary(r, MTN_VECTOR_F1, 2, &mean, &std);
    CU_ASSERT(isnan(mean) && isnan(std));
    mtn_run_vector_summary(r, MTN_VECTOR_F1, MTN_VECTOR_MEAN, &mean, &std);
    CU_ASSERT(isnan(mean));
    /* the run not built, and a vector of the other task */
    CU_ASSERT_EQUAL(mtn_run_vector_summary(&a.runs[1], MTN_VECTOR_F1, 0, &mean, &std), 0);
    CU_ASSERT(isnan(mean) && isnan(std));
    CU_ASSERT_EQUAL(mtn_run_vector_summary(r, MTN_VECTOR_R2, 0, &mean, &std), 0);
    CU_ASSERT_STRING_EQUAL(mtn_vector_mean_name(MTN_VECTOR_IOU_IMAGE), "mean_iou_image");
    CU_ASSERT_PTR_NULL(mtn_vector_mean_name(MTN_VECTOR_R2));
    mtn_archive_free(&a);

    make_task_sample(&a, MTN_TABLE_3, "ROI-C1", 0);
    const double r2_mean[5] = {0.78, 0.94, 0.68, 0.62, 0.49};
    for (int k = 0; k < 5; k++) {
        CU_ASSERT_EQUAL(mtn_run_vector_summary(&a.runs[0], MTN_VECTOR_R2, k, &mean, &std), 3);
        CU_ASSERT(fabs(mean - r2_mean[k]) < HAND_TOL && fabs(std - 0.01) < HAND_TOL);
        mtn_run_vector_summary(&a.runs[0], MTN_VECTOR_R2_HELDOUT, k, &mean, &std);
        CU_ASSERT(fabs(mean - (r2_mean[k] - 0.1)) < HAND_TOL && fabs(std - 0.01) < HAND_TOL);
    }
    mtn_archive_free(&a);
}

/* h5py's view: the vectors, their stored means and stds against numpy's */
static void test_task_h5py(void) {
    if (h5py_missing()) return;
    for (int which = 0; which < 2; which++) {
        mtn_archive w;
        make_task_sample(&w, which ? MTN_TABLE_3 : MTN_TABLE_2, which ? "ROI-C3" : "4-class without ZI", 4);
        const char *path = mtn_test_path("pyt.h5"), *out = mtn_test_path("pyt.json");
        CU_ASSERT_EQUAL_FATAL(mtn_archive_write(path, &w), 0);
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/results/read_archive.py '%s' > '%s'", MTN_SOURCE_DIR,
                 path, out);
        int st = system(cmd);
        CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        char *text = read_text(out);
        cJSON *root = cJSON_Parse(text);
        CU_ASSERT_PTR_NOT_NULL_FATAL(root);
        const cJSON *runs = cJSON_GetObjectItem(root, "runs");
        CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(runs), 2);
        for (int r = 0; r < 2; r++) {
            const mtn_run_result *x = &w.runs[r];
            const cJSON *o = cJSON_GetArrayItem(runs, r);
            CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(o, "run")->valuestring, x->name);
            CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(o, "chosen")->valuestring, x->chosen);
            const cJSON *vectors = cJSON_GetObjectItem(o, "vectors");
            CU_ASSERT_PTR_NOT_NULL_FATAL(vectors);
            int checked = 0;
            for (int v = 0; v < MTN_N_VECTORS; v++) {
                if (mtn_vector_method((mtn_vector)v) != x->method) continue;
                const cJSON *e = cJSON_GetObjectItem(vectors, mtn_vector_name((mtn_vector)v));
                CU_ASSERT_PTR_NOT_NULL_FATAL(e);
                int L = cJSON_GetArraySize(cJSON_GetObjectItem(e, "mean"));
                CU_ASSERT_EQUAL(L, r == 0 ? (which ? 5 : 4) : 0);
                for (int k = 0; k < L; k++) {
                    double mean, std;
                    mtn_run_vector_summary(x, (mtn_vector)v, k, &mean, &std);
                    const cJSON *pm = cJSON_GetArrayItem(cJSON_GetObjectItem(e, "mean"), k);
                    const cJSON *ps = cJSON_GetArrayItem(cJSON_GetObjectItem(e, "std"), k);
                    CU_ASSERT(fabs(pm->valuedouble - mean) <= 1e-12 && fabs(ps->valuedouble - std) <= 1e-12);
                    checked++;
                }
                const char *mean_name = mtn_vector_mean_name((mtn_vector)v);
                if (mean_name && r == 0) {
                    double mean, std;
                    mtn_run_vector_summary(x, (mtn_vector)v, MTN_VECTOR_MEAN, &mean, &std);
                    const cJSON *pair = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "class_means"), mean_name);
                    CU_ASSERT(pair && fabs(cJSON_GetArrayItem(pair, 0)->valuedouble - mean) <= 1e-12 &&
                              fabs(cJSON_GetArrayItem(pair, 1)->valuedouble - std) <= 1e-12);
                }
            }
            CU_ASSERT_EQUAL(checked, r == 0 ? (which ? 10 : 16) : 0);
            if (which) CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(o, "features")), r == 0 ? 5 : 0);
        }
        cJSON_Delete(root);
        free(text);
        mtn_archive_free(&w);
    }
}

/* a copy of `good` with `edit` applied to the open file */
static const char *broken_copy(const char *good, const char *name, void (*edit)(hid_t f)) {
    const char *path = mtn_test_path(name);
    copy_file(good, path);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    edit(f);
    H5Fclose(f);
    return path;
}

static void replace_f64(hid_t f, const char *name, int rank, int64_t d0, int64_t d1) {
    H5Ldelete(f, name, H5P_DEFAULT);
    int64_t dims[2] = {d0, d1};
    double zeros[64] = {0};
    mtn_h5_write_array(f, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, rank, dims, zeros);
}

static void f1_narrow(hid_t f) { replace_f64(f, "runs/unet2d/f1", 2, 4, 2); }
static void f1_flat(hid_t f) { replace_f64(f, "runs/unet2d/f1", 1, 4, 0); }
static void no_iou_image(hid_t f) { H5Ldelete(f, "runs/unet2d/iou_image", H5P_DEFAULT); }
static void mean_f1_narrow(hid_t f) { replace_f64(f, "runs/unet2d/mean/f1", 1, 2, 0); }
static void no_std_mean_iou(hid_t f) { H5Ldelete(f, "runs/unet2d/std/mean_iou", H5P_DEFAULT); }
static void heldout_narrow(hid_t f) { replace_f64(f, "runs/supervised/r2_heldout", 2, 4, 4); }
static void r2_wide(hid_t f) { replace_f64(f, "runs/supervised/r2", 2, 4, 6); }
static void features_misnamed(hid_t f) {
    hid_t g = H5Gopen2(f, "runs/supervised", H5P_DEFAULT);
    mtn_h5_write_str(g, "features", "vessel_pct,cell_count,axon_pct,cell_size_px,nn_dist_px");
    H5Gclose(g);
}
static void no_features(hid_t f) {
    hid_t g = H5Gopen2(f, "runs/supervised", H5P_DEFAULT);
    H5Adelete(g, "features");
    H5Gclose(g);
}
static void no_chosen(hid_t f) {
    hid_t g = H5Gopen2(f, "runs/unet2d", H5P_DEFAULT);
    H5Adelete(g, "chosen");
    H5Gclose(g);
}

static void test_task_broken_archives(void) {
    mtn_archive w;
    char good2[512], good3[512];
    make_task_sample(&w, MTN_TABLE_2, "3-class", 3);
    snprintf(good2, sizeof good2, "%s", mtn_test_path("good2.h5"));
    CU_ASSERT_EQUAL_FATAL(mtn_archive_write(good2, &w), 0);
    mtn_archive_free(&w);
    make_task_sample(&w, MTN_TABLE_3, "ROI-C1", 0);
    snprintf(good3, sizeof good3, "%s", mtn_test_path("good3.h5"));
    CU_ASSERT_EQUAL_FATAL(mtn_archive_write(good3, &w), 0);

    expect_read_error(broken_copy(good2, "f1_narrow.h5", f1_narrow), MTN_EDATA,
                      "/runs/unet2d/f1: expected shape (4, 3), found (4, 2)");
    expect_read_error(broken_copy(good2, "f1_flat.h5", f1_flat), MTN_EDATA,
                      "/runs/unet2d/f1: expected shape (4, 3), found (4)");
    expect_read_error(broken_copy(good2, "no_iou_image.h5", no_iou_image), MTN_EDATA,
                      "/runs/unet2d: no dataset iou_image (a segment run has it)");
    expect_read_error(broken_copy(good2, "mean_f1.h5", mean_f1_narrow), MTN_EDATA,
                      "/runs/unet2d/mean/f1: expected shape (3), found (2)");
    expect_read_error(broken_copy(good2, "std_mean_iou.h5", no_std_mean_iou), MTN_EDATA,
                      "/runs/unet2d: no dataset std/mean_iou");
    expect_read_error(broken_copy(good3, "heldout.h5", heldout_narrow), MTN_EDATA,
                      "/runs/supervised/r2_heldout: expected shape (4, 5), found (4, 4)");
    expect_read_error(broken_copy(good3, "r2_wide.h5", r2_wide), MTN_EDATA, "/runs/supervised/r2: 6 features, at most 5");
    expect_read_error(broken_copy(good3, "features.h5", features_misnamed), MTN_EDATA,
                      "/runs/supervised: attribute features = \"vessel_pct,cell_count,axon_pct,cell_size_px,nn_dist_px\", "
                      "expected \"vessel_pct,axon_pct,cell_count,cell_size_px,nn_dist_px\"");
    expect_read_error(broken_copy(good3, "no_features.h5", no_features), MTN_EDATA,
                      "/runs/supervised: missing attribute \"features\"");
    /* an archive from before `chosen`: reads, with none */
    mtn_archive g;
    CU_ASSERT_EQUAL(mtn_archive_read(broken_copy(good2, "no_chosen.h5", no_chosen), &g), 0);
    CU_ASSERT(g.n_runs == 2 && g.runs[0].chosen[0] == '\0');
    mtn_archive_free(&g);

    /* a readout seed with more features than have names: not written */
    w.runs[0].seeds[2].n_features = 6;
    const char *path = mtn_test_path("six.h5");
    CU_ASSERT_EQUAL(mtn_archive_write(path, &w), MTN_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "run supervised, seed 350: 6 features (at most 5"));
    CU_ASSERT_EQUAL(count_entries(mtn_test_tmpdir(), "six.h5"), 0);
    mtn_archive_free(&w);
}

static void test_report_table2(void) {
    mtn_archive w, a[2];
    make_task_sample(&w, MTN_TABLE_2, "3-class", 3);
    CU_ASSERT_EQUAL_FATAL(mtn_archive_write(mtn_test_path("r2a.h5"), &w), 0);
    CU_ASSERT_EQUAL_FATAL(mtn_archive_read(mtn_test_path("r2a.h5"), &a[0]), 0);
    mtn_archive_free(&w);
    make_task_sample(&w, MTN_TABLE_2, "4-class without ZI", 4);
    CU_ASSERT_EQUAL_FATAL(mtn_archive_write(mtn_test_path("r2b.h5"), &w), 0);
    CU_ASSERT_EQUAL_FATAL(mtn_archive_read(mtn_test_path("r2b.h5"), &a[1]), 0);
    mtn_archive_free(&w);

    char *md = report_text(a, 2, MTN_REPORT_MD);
    expect_contains(md, "## Table 2");
    expect_contains(md, "**3-class** (Bg+Axons, Vessels, Cells): F1 / IoU on the test split, pooled over all test "
                        "pixels\n\n| model | Bg+Axons (ours) | Bg+Axons (paper) | Vessels (ours) | Vessels (paper) | "
                        "Cells (ours) | Cells (paper) | Avg (ours) | Avg (paper) |\n|---|---|---|---|---|---|---|---|---|\n");
    /* per seed Avg F1 2.60/3, 2.58/3, 2.59/3; Avg IoU 2.37/3, 2.33/3, 2.32/3 */
    expect_contains(md, "| 2D U-Net | 0.980 ± 0.010 / 0.970 ± 0.010 (n=3) | 0.99 / 0.98 | 0.760 ± 0.020 / 0.620 ± "
                        "0.020 (n=3) | 0.76 / 0.64 | 0.850 ± 0.010 / 0.750 ± 0.020 (n=3) | 0.85 / 0.75 | 0.863 ± "
                        "0.003 / 0.780 ± 0.009 (n=3) | 0.87 ± 0.012 / 0.79 ± 0.014 |\n");
    expect_contains(md, "| 3D U-Net | — (not built: 3D U-Net belongs to issue #9) | 0.99 / 0.98 |");
    expect_contains(md, "| — (not built: 3D U-Net belongs to issue #9) | 0.88 ± 0.006 / 0.80 ± 0.007 |\n");
    /* per image: ours only */
    expect_contains(md, "**3-class**, per image:");
    expect_contains(md, "| model | Bg+Axons | Vessels | Cells | Avg |\n|---|---|---|---|---|\n"
                        "| 2D U-Net | 0.970 ± 0.010 / 0.950 ± 0.010 (n=3) | 0.750 ± 0.020 / 0.600 ± 0.020 (n=3) | "
                        "0.840 ± 0.010 / 0.730 ± 0.020 (n=3) | 0.853 ± 0.003 / 0.760 ± 0.009 (n=3) |\n");
    /* 4-class: the paper's 4-class values beside ours */
    expect_contains(md, "**4-class without ZI** (Bg, Vessels, Cells, Axons)");
    expect_contains(md, "| model | Bg (ours) | Bg (paper) | Vessels (ours) | Vessels (paper) | Cells (ours) | Cells "
                        "(paper) | Axons (ours) | Axons (paper) | Avg (ours) | Avg (paper) |\n");
    expect_contains(md, "| 0.950 ± 0.010 / 0.620 ± 0.010 (n=3) | 0.94 / 0.60 | 0.885 ± 0.004 / 0.740 ± 0.009 (n=3) | "
                        "0.90 ± 0.003 / 0.74 ± 0.008 |\n");
    expect_contains(md, "| 3D U-Net | — (not built: 3D U-Net belongs to issue #9) | 0.93 / 0.81 |");
    CU_ASSERT(strstr(md, "**3-class** (") < strstr(md, "**3-class**, per image") &&
              strstr(md, "**3-class**, per image") < strstr(md, "**4-class without ZI** ("));
    /* the run's details: the search's choice, the mean F1 per seed */
    expect_contains(md, "### unet2d — 2D U-Net, 3-class (segment, job table2-2d)\n\n- status: ok; 4 seeds, 3 "
                        "finished: 1, 100, 350, 631\n- chosen by the search: " CHOSEN "\n");
    expect_contains(md, "- mean F1 (pooled): 0.8633 ± 0.0033; per seed: 1: 0.8667, 100: 0.8600, 350: 0.8633, 631: did "
                        "not finish\n");
    free(md);

    char *csv = report_text(a, 2, MTN_REPORT_CSV);
    double v[4];
    int n = -1;
    CU_ASSERT_FATAL(csv_metric_line(csv, "table2", "2D U-Net", "3-class", "f1:Vessels", v, &n));
    CU_ASSERT(n == 3 && fabs(v[0] - 0.76) < HAND_TOL && fabs(v[1] - 0.02) < HAND_TOL && v[2] == 0.76 && isnan(v[3]));
    CU_ASSERT_FATAL(csv_metric_line(csv, "table2", "2D U-Net", "3-class", "mean_iou", v, &n));
    CU_ASSERT(n == 3 && fabs(v[0] - 0.78) < HAND_TOL && fabs(v[1] - sqrt(0.0014 / 18)) < HAND_TOL && v[2] == 0.79 &&
              v[3] == 0.014);
    CU_ASSERT_FATAL(csv_metric_line(csv, "table2", "2D U-Net", "4-class without ZI", "iou_image:Axons", v, &n));
    CU_ASSERT(n == 3 && fabs(v[0] - 0.60) < HAND_TOL && isnan(v[2]));
    expect_contains(csv, "\ntable2,3D U-Net,4-class without ZI,f1:Bg,,,0,0.93,\n");
    expect_contains(csv, "\ntable2,3D U-Net,3-class,mean_f1_image,,,0,,\n");
    int lines = 0;
    for (const char *p = csv; *p; p++) lines += *p == '\n';
    CU_ASSERT_EQUAL(lines, 1 + 2 * 2 * (4 * 2 + 5 * 2)); /* header; 2 rows x (pooled + per image) x 2 columns */
    free(csv);

    char *json = report_text(a, 2, MTN_REPORT_JSON);
    cJSON *root = cJSON_Parse(json);
    CU_ASSERT_FATAL(cJSON_IsArray(root));
    int seen = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, root) {
        const char *metric = cJSON_GetObjectItem(o, "metric")->valuestring;
        const char *row = cJSON_GetObjectItem(o, "row")->valuestring;
        const char *column = cJSON_GetObjectItem(o, "column")->valuestring;
        if (strcmp(row, "2D U-Net") == 0 && strcmp(column, "3-class") == 0 && strcmp(metric, "mean_f1") == 0) {
            seen++;
            CU_ASSERT(fabs(cJSON_GetObjectItem(o, "ours_mean")->valuedouble - 7.77 / 9) < HAND_TOL);
            CU_ASSERT(fabs(cJSON_GetObjectItem(o, "ours_std")->valuedouble - 0.01 / 3) < HAND_TOL);
            CU_ASSERT_EQUAL(cJSON_GetObjectItem(o, "paper_mean")->valuedouble, 0.87);
            CU_ASSERT_EQUAL(cJSON_GetObjectItem(o, "paper_std")->valuedouble, 0.012);
            CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(o, "chosen")->valuestring, CHOSEN);
            CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(o, "run")->valuestring, "unet2d");
        } else if (strcmp(row, "3D U-Net") == 0 && strcmp(metric, "iou:Cells") == 0 && column[0] == '4') {
            seen++;
            CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(o, "ours_mean")));
            CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(o, "chosen")));
            CU_ASSERT_EQUAL(cJSON_GetObjectItem(o, "paper_mean")->valuedouble, 0.67);
            CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(o, "status")->valuestring,
                                   "not built: 3D U-Net belongs to issue #9");
        }
    }
    CU_ASSERT_EQUAL(seen, 2);
    cJSON_Delete(root);
    free(json);
    mtn_archive_free(&a[0]);
    mtn_archive_free(&a[1]);
}

static void test_report_table3(void) {
    mtn_archive w, a;
    make_task_sample(&w, MTN_TABLE_3, "ROI-C1", 0);
    CU_ASSERT_EQUAL_FATAL(mtn_archive_write(mtn_test_path("r3.h5"), &w), 0);
    CU_ASSERT_EQUAL_FATAL(mtn_archive_read(mtn_test_path("r3.h5"), &a), 0);
    mtn_archive_free(&w);

    char *md = report_text(&a, 1, MTN_REPORT_MD);
    expect_contains(md, "## Table 3");
    expect_contains(md, "**ROI-C1**: R² in sample (fit and scored on all samples)\n\n| method | Vessels (ours) | "
                        "Vessels (paper) | Axons (ours) | Axons (paper) | Count (ours) | Count (paper) | Size (ours) | "
                        "Size (paper) | Dist (k=1) (ours) | Dist (k=1) (paper) |\n");
    expect_contains(md, "| Supervised | 0.78 ± 0.01 (n=3) | 0.77 ± 0.06 | 0.94 ± 0.01 (n=3) | 0.94 ± 0.01 | 0.68 ± "
                        "0.01 (n=3) | 0.67 ± 0.06 | 0.62 ± 0.01 (n=3) | 0.61 ± 0.05 | 0.49 ± 0.01 (n=3) | 0.48 ± 0.05 "
                        "|\n");
    expect_contains(md, "| BYOL | — (no run) | 0.85 ± 0.01 | — (no run) | 0.94 ± 0.01 |");
    expect_contains(md, "| PCA | — (not built: PCA readout belongs to issue #6) | 0.75 | — (not built: PCA readout "
                        "belongs to issue #6) | 0.82 |");
    expect_contains(md, "| NMF | — (no run) | 0.81 |");
    CU_ASSERT(strstr(md, "| Supervised |") < strstr(md, "| Sup w/ Mixup |") && strstr(md, "| MYOW-m |") < strstr(md, "| PCA |"));
    expect_contains(md, "**ROI-C1**: R² held out (fit on the training slices, scored on the test slices)\n\n| method | "
                        "Vessels | Axons | Count | Size | Dist (k=1) |\n|---|---|---|---|---|---|\n| Supervised | 0.68 ± "
                        "0.01 (n=3) | 0.84 ± 0.01 (n=3) | 0.58 ± 0.01 (n=3) | 0.52 ± 0.01 (n=3) | 0.39 ± 0.01 (n=3) "
                        "|\n");
    CU_ASSERT_PTR_NULL(strstr(md, "**ROI-C3**")); /* only the columns the archives have */
    expect_contains(md, "- R² in sample: Vessels 0.7800 ± 0.0100, Axons 0.9400 ± 0.0100,");
    free(md);

    /* the ROI-C3 column: the paper's values without a std */
    snprintf(a.column, sizeof a.column, "ROI-C3");
    for (int i = 0; i < a.n_runs; i++) snprintf(a.runs[i].column, sizeof a.runs[i].column, "ROI-C3");
    md = report_text(&a, 1, MTN_REPORT_MD);
    expect_contains(md, "| Supervised | 0.78 ± 0.01 (n=3) | 0.79 | 0.94 ± 0.01 (n=3) | 0.94 |");
    expect_contains(md, "| Sup w/ Mixup | — (no run) | 0.75 |");
    free(md);

    char *csv = report_text(&a, 1, MTN_REPORT_CSV);
    double v[4];
    int n = -1;
    CU_ASSERT_FATAL(csv_metric_line(csv, "table3", "Supervised", "ROI-C3", "r2:Dist (k=1)", v, &n));
    CU_ASSERT(n == 3 && fabs(v[0] - 0.49) < HAND_TOL && fabs(v[1] - 0.01) < HAND_TOL && v[2] == 0.49 && isnan(v[3]));
    CU_ASSERT_FATAL(csv_metric_line(csv, "table3", "Supervised", "ROI-C3", "r2_heldout:Count", v, &n));
    CU_ASSERT(n == 3 && fabs(v[0] - 0.58) < HAND_TOL && isnan(v[2]));
    expect_contains(csv, "\ntable3,MYOW-m,ROI-C3,r2:Size,,,0,0.72,\n");
    int lines = 0;
    for (const char *p = csv; *p; p++) lines += *p == '\n';
    CU_ASSERT_EQUAL(lines, 1 + 7 * 5 * 2); /* header; 7 methods x 5 features, in sample and held out */
    free(csv);
    mtn_archive_free(&a);
}

/* ---- mixed archives: a table per method, search units, downsampling ---- */

/* the Markdown from `heading` to the next table's heading (malloc'd; "" when absent) */
static char *md_section(const char *md, const char *heading) {
    const char *p = strstr(md, heading);
    if (!p) return strdup("");
    const char *end = strstr(p + 1, "\n## ");
    return strndup(p, end ? (size_t)(end - p + 1) : strlen(p));
}

static void expect_absent(const char *text, const char *part) {
    if (strstr(text, part)) fprintf(stderr, "\nexpected no \"%s\" in:\n%s\n", part, text);
    CU_ASSERT_PTR_NULL(strstr(text, part));
}

static void set_task(mtn_run_result *r, const char *task_json) {
    free(r->task_json);
    r->task_json = strdup(task_json);
}

/* a job like jobs/quickstart.json (table1, ROI-C1): the sample's Task 1 runs at 4x
 * and a mixup search's unit; a 2D U-Net (3-class) and a unit of its grid; readouts
 * of Supervised (4 seeds) and PCA (not built), ROI-C1 */
static void make_mixed_sample(mtn_archive *a) {
    make_sample(a, MTN_TABLE_1, "ROI-C1");
    snprintf(a->job_name, sizeof a->job_name, "quickstart");
    a->runs = realloc(a->runs, 8 * sizeof *a->runs);
    memset(a->runs + a->n_runs, 0, (size_t)(8 - a->n_runs) * sizeof *a->runs);
    add_task_run(a, "mixup@mixup_prob=0.1", "", MTN_METHOD_MIXUP, "ok", 4, 0);
    snprintf(a->column, sizeof a->column, "3-class");
    add_task_run(a, "unet2d", "2D U-Net", MTN_METHOD_SEGMENT, "ok", 4, 3);
    add_task_run(a, "unet2d@lr=0.01,batch=2", "", MTN_METHOD_SEGMENT, "ok", 4, 3);
    snprintf(a->column, sizeof a->column, "ROI-C1");
    add_task_run(a, "readout-supervised", "Supervised", MTN_METHOD_READOUT, "ok", 4, 0);
    add_task_run(a, "readout-pca", "PCA", MTN_METHOD_READOUT, "not built: PCA readout belongs to issue #6", 0, 0);
    for (int i = 0; i < 4; i++) set_task(&a->runs[i], "{\"task\": 1, \"name\": \"ROI-C1\", \"downsample\": 4}");
    for (int i = 4; i < 6; i++) set_task(&a->runs[i], "{\"task\": 2, \"downsample\": 4}");
    for (int i = 6; i < 8; i++) set_task(&a->runs[i], "{\"task\": 3, \"downsample\": 1}");
}

static void test_report_mixed(void) {
    mtn_archive w, a;
    make_mixed_sample(&w);
    CU_ASSERT_EQUAL_FATAL(mtn_archive_write(mtn_test_path("mixed.h5"), &w), 0);
    const char *keep = getenv("MTN_RESULTS_SAMPLE");
    if (keep && *keep) {
        char copy[1024];
        snprintf(copy, sizeof copy, "%s.mixed.h5", keep);
        CU_ASSERT_EQUAL(mtn_archive_write(copy, &w), 0);
    }
    mtn_archive_free(&w);
    CU_ASSERT_EQUAL_FATAL(mtn_archive_read(mtn_test_path("mixed.h5"), &a), 0);

    char *md = report_text(&a, 1, MTN_REPORT_MD);
    char *t1 = md_section(md, "## Table 1"), *t2 = md_section(md, "## Table 2"), *t3 = md_section(md, "## Table 3");
    CU_ASSERT(strstr(md, "## Table 1") && strstr(md, "## Table 1") < strstr(md, "## Table 2") &&
              strstr(md, "## Table 2") < strstr(md, "## Table 3"));
    CU_ASSERT_PTR_NULL(strstr(md, "## Runs")); /* no other table */
    /* Table 1: the Task 1 runs only, its own column; the mixup unit fills no row */
    expect_contains(t1, "## Table 1 — Task 1 (brain region) accuracy, ours at 4× downsampling; the paper's at 2×\n\n");
    expect_contains(t1, "- job quickstart (jobs/table1-roi-c1.json)");
    expect_contains(t1, "| method | ROI-C1 (ours) | ROI-C1 (paper) |\n|---|---|---|\n");
    expect_contains(t1, "| Supervised | 0.89 ± 0.04 (n=3) | 0.88 ± 0.03 |\n");
    expect_contains(t1, "| Sup w/ Mixup | 0.92 ± 0.03 (n=2) | 0.90 ± 0.04 |\n");
    expect_contains(t1, "| PCA | — (not built: PCA baseline belongs to issue #6) | 0.59 |\n");
    expect_contains(t1, "| NMF | — (no run) | 0.62 |\n");
    const char *const not_in_t1[] = {"3-class", "U-Net", "| search unit", "| Readout", "| |", "unet2d", "readout-"};
    for (size_t i = 0; i < sizeof not_in_t1 / sizeof *not_in_t1; i++) expect_absent(t1, not_in_t1[i]);
    expect_contains(t1, "### mixup@mixup_prob=0.1 — search unit, ROI-C1 (mixup, job quickstart)\n\n- status: ok; 4 "
                        "seeds, 3 finished: 1, 100, 350, 631\n- accuracy: 0.9600 ± 0.0100;");
    /* Table 2: the 2D U-Net alone, its column "3-class"; the grid point fills no row */
    expect_contains(t2, "**3-class** (Bg+Axons, Vessels, Cells): F1 / IoU on the test split, pooled over all test "
                        "pixels\n\n| model | Bg+Axons (ours) |");
    expect_contains(t2, "|---|---|---|---|---|---|---|---|---|\n| 2D U-Net | 0.980 ± 0.010 / 0.970 ± 0.010 (n=3) | 0.99 "
                        "/ 0.98 |");
    expect_contains(t2, "| Avg |\n|---|---|---|---|---|\n| 2D U-Net | 0.970 ± 0.010 / 0.950 ± 0.010 (n=3) |");
    expect_contains(t2, "### unet2d@lr=0.01,batch=2 — search unit, 3-class (segment, job quickstart)\n");
    expect_contains(t2, "### unet2d — 2D U-Net, 3-class (segment, job quickstart)\n");
    const char *const not_in_t2[] = {"ROI-C1", "3D U-Net", "| U-Net", "| search unit", "| Supervised", "4-class",
                                     "mixup", "readout-", "### supervised", "downsampling"};
    for (size_t i = 0; i < sizeof not_in_t2 / sizeof *not_in_t2; i++) expect_absent(t2, not_in_t2[i]);
    /* Table 3: the readouts, labelled by their rows; the Task 1 Supervised is not one */
    expect_contains(t3, "**ROI-C1**: R² in sample (fit and scored on all samples)\n\n| method | Vessels (ours) |");
    expect_contains(t3, "| Supervised | 0.78 ± 0.01 (n=3) | 0.77 ± 0.06 | 0.94 ± 0.01 (n=3) | 0.94 ± 0.01 |");
    expect_contains(t3, "| PCA | — (not built: PCA readout belongs to issue #6) | 0.75 |");
    expect_contains(t3, "| BYOL | — (no run) | 0.85 ± 0.01 |");
    expect_contains(t3, "### readout-supervised — Supervised, ROI-C1 (readout, job quickstart)\n");
    const char *const not_in_t3[] = {"3-class", "U-Net", "| search unit", "a supervised run", "a pca run", "mixup@",
                                     "### supervised", "### unet2d", "PCA baseline"};
    for (size_t i = 0; i < sizeof not_in_t3 / sizeof *not_in_t3; i++) expect_absent(t3, not_in_t3[i]);
    free(t1);
    free(t2);
    free(t3);
    free(md);

    /* CSV: each table's own rows and columns */
    char *csv = report_text(&a, 1, MTN_REPORT_CSV);
    double v[4];
    int n = -1;
    CU_ASSERT_FATAL(csv_line(csv, "Supervised", "ROI-C1", v, &n));
    CU_ASSERT(n == 3 && fabs(v[0] - 0.89) < HAND_TOL && v[2] == 0.88);
    CU_ASSERT_FATAL(csv_line(csv, "Sup w/ Mixup", "ROI-C1", v, &n));
    CU_ASSERT(n == 2 && fabs(v[0] - 0.92) < HAND_TOL); /* the chosen run, not the unit (0.96) */
    CU_ASSERT_FATAL(csv_metric_line(csv, "table2", "2D U-Net", "3-class", "f1:Vessels", v, &n));
    CU_ASSERT(n == 3 && fabs(v[0] - 0.76) < HAND_TOL && v[2] == 0.76);
    CU_ASSERT_FATAL(csv_metric_line(csv, "table3", "Supervised", "ROI-C1", "r2:Vessels", v, &n));
    CU_ASSERT(n == 3 && fabs(v[0] - 0.78) < HAND_TOL && v[2] == 0.77 && v[3] == 0.06);
    expect_contains(csv, "\ntable3,PCA,ROI-C1,r2:Count,,,0,0.55,\n");
    int lines = 0, t1_lines = 0, t2_lines = 0, t3_lines = 0;
    for (const char *p = strchr(csv, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
        lines++;
        const char *line = p + 1, *end = strchr(line, '\n');
        char text[256];
        snprintf(text, sizeof text, "%.*s", (int)(end ? end - line : (long)strlen(line)), line);
        bool in_t1 = strncmp(text, "table1,", 7) == 0, in_t2 = strncmp(text, "table2,", 7) == 0;
        bool in_t3 = strncmp(text, "table3,", 7) == 0;
        t1_lines += in_t1 && strstr(text, ",ROI-C1,accuracy,") != NULL;
        t2_lines += in_t2 && strncmp(text, "table2,2D U-Net,3-class,", 24) == 0;
        t3_lines += in_t3 && strstr(text, ",ROI-C1,r2") != NULL;
        if (!in_t1 && !in_t2 && !in_t3) fprintf(stderr, "\nunexpected CSV line: %s\n", text);
        CU_ASSERT(in_t1 || in_t2 || in_t3);
        CU_ASSERT(strstr(text, ",,") != text + 6); /* no row "" */
    }
    CU_ASSERT_EQUAL(t1_lines, 7);            /* the paper's 7 rows x ROI-C1 */
    CU_ASSERT_EQUAL(t2_lines, 2 * 2 * 4);    /* 2D U-Net: F1 and IoU x 3 classes + Avg, pooled and per image */
    CU_ASSERT_EQUAL(t3_lines, 7 * 5 * 2);    /* 7 methods x 5 features, in sample and held out */
    CU_ASSERT_EQUAL(lines, t1_lines + t2_lines + t3_lines);
    free(csv);

    /* JSON: valid, the same cells */
    char *json = report_text(&a, 1, MTN_REPORT_JSON);
    cJSON *root = cJSON_Parse(json);
    CU_ASSERT_FATAL(cJSON_IsArray(root));
    CU_ASSERT_EQUAL(cJSON_GetArraySize(root), 7 + 16 + 70);
    int seen = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, root) {
        const char *table = cJSON_GetObjectItem(o, "table")->valuestring;
        const char *row = cJSON_GetObjectItem(o, "row")->valuestring;
        const char *column = cJSON_GetObjectItem(o, "column")->valuestring;
        const cJSON *run = cJSON_GetObjectItem(o, "run");
        CU_ASSERT_STRING_EQUAL(column, strcmp(table, "table2") == 0 ? "3-class" : "ROI-C1");
        CU_ASSERT(row[0] && strcmp(row, "U-Net") != 0 && strcmp(row, "search unit") != 0);
        CU_ASSERT(!cJSON_IsString(run) || !strchr(run->valuestring, '@'));
        if (strcmp(table, "table1") == 0 && strcmp(row, "Supervised") == 0) {
            seen++;
            CU_ASSERT_STRING_EQUAL(run->valuestring, "supervised");
        } else if (strcmp(table, "table3") == 0 && strcmp(row, "Supervised") == 0 &&
                   strcmp(cJSON_GetObjectItem(o, "metric")->valuestring, "r2_heldout:Axons") == 0) {
            seen++;
            CU_ASSERT_STRING_EQUAL(run->valuestring, "readout-supervised");
            CU_ASSERT(fabs(cJSON_GetObjectItem(o, "ours_mean")->valuedouble - 0.84) < HAND_TOL);
        } else if (strcmp(table, "table2") == 0 && strcmp(cJSON_GetObjectItem(o, "metric")->valuestring, "mean_f1") == 0) {
            seen++;
            CU_ASSERT_STRING_EQUAL(run->valuestring, "unet2d");
            CU_ASSERT_EQUAL(cJSON_GetObjectItem(o, "paper_mean")->valuedouble, 0.87);
        }
    }
    CU_ASSERT_EQUAL(seen, 3);
    cJSON_Delete(root);
    free(json);
    mtn_archive_free(&a);
}

/* a search's units (row "") are no rows in Tables 1, A3, 2 and the plain list */
static void test_report_search_units(void) {
    const mtn_table tables[] = {MTN_TABLE_1, MTN_TABLE_A3, MTN_TABLE_NONE};
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++) {
        mtn_archive a;
        make_sample(&a, tables[t], tables[t] == MTN_TABLE_A3 ? "Downsampling=4" : "ROI-C1");
        snprintf(a.runs[2].row, sizeof a.runs[2].row, "%s", ""); /* pca: now a unit (no run in its row) */
        snprintf(a.runs[2].name, sizeof a.runs[2].name, "pca@components=8");
        char *md = report_text(&a, 1, MTN_REPORT_MD);
        expect_absent(md, "| PCA | — (not built");
        expect_absent(md, "| pca@components=8 |");
        expect_absent(md, "| search unit");
        if (tables[t] != MTN_TABLE_NONE) expect_contains(md, "| PCA | — (no run) |");
        expect_contains(md, "### pca@components=8 — search unit, ");
        free(md);
        char *csv = report_text(&a, 1, MTN_REPORT_CSV);
        expect_absent(csv, "search unit");
        expect_absent(csv, "not built");
        free(csv);
        mtn_archive_free(&a);
    }
    mtn_archive a;
    make_task_sample(&a, MTN_TABLE_2, "3-class", 3);
    a.runs = realloc(a.runs, 3 * sizeof *a.runs);
    memset(&a.runs[2], 0, sizeof a.runs[2]);
    add_task_run(&a, "unet2d@lr=0.01,batch=2", "", MTN_METHOD_SEGMENT, "ok", 4, 3);
    char *md = report_text(&a, 1, MTN_REPORT_MD);
    expect_absent(md, "| U-Net");
    expect_absent(md, "| search unit");
    expect_contains(md, "### unet2d@lr=0.01,batch=2 — search unit, 3-class (segment, job table2-2d)\n");
    expect_contains(md, "## Table 2 — Task 2 (microstructure segmentation), F1 / IoU per class\n"); /* alone */
    CU_ASSERT_PTR_NULL(strstr(md, "## Table 1"));
    free(md);
    mtn_archive_free(&a);
}

/* Table 1's title: the downsampling of its runs' tasks beside the paper's 2x */
static void test_report_downsampling_title(void) {
    mtn_archive a[2];
    const struct {
        const char *task[2]; /* of the runs of each archive; NULL: no second archive */
        const char *title;
    } cases[] = {
        {{"{\"task\": 1, \"downsample\": 4}", NULL}, "accuracy, ours at 4× downsampling; the paper's at 2×\n"},
        {{"{\"task\": 1, \"downsample\": 2}", NULL}, "accuracy, 2× downsampling\n"},
        {{"{\"task\": 1, \"downsample\": 1}", NULL}, "accuracy, ours at full resolution; the paper's at 2×\n"},
        {{"{\"task\": 1}", NULL}, "accuracy; the paper's at 2× downsampling\n"},
        {{"{\"task\": 1, \"downsample\": 4}", "{\"task\": 1, \"downsample\": 2}"},
         "accuracy, ours at 4× downsampling (ROI-C1), 2× (ROI-C3); the paper's at 2×\n"},
        {{"{\"task\": 1, \"downsample\": 2}", "{\"task\": 1, \"downsample\": 2}"}, "accuracy, 2× downsampling\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int n = cases[i].task[1] ? 2 : 1;
        for (int k = 0; k < n; k++) {
            make_sample(&a[k], MTN_TABLE_1, k ? "ROI-C3" : "ROI-C1");
            for (int r = 0; r < a[k].n_runs; r++) set_task(&a[k].runs[r], cases[i].task[k]);
        }
        char *md = report_text(a, n, MTN_REPORT_MD), title[256];
        snprintf(title, sizeof title, "## Table 1 — Task 1 (brain region) %s", cases[i].title);
        CU_ASSERT_EQUAL(strncmp(md, title, strlen(title)), 0);
        if (strncmp(md, title, strlen(title)) != 0) fprintf(stderr, "\nexpected \"%s\", got:\n%.200s\n", title, md);
        free(md);
        for (int k = 0; k < n; k++) mtn_archive_free(&a[k]);
    }
    /* Table A3 names the downsampling in its columns: its title and columns as they were */
    make_sample(&a[0], MTN_TABLE_A3, "Downsampling=4");
    for (int r = 0; r < a[0].n_runs; r++) set_task(&a[0].runs[r], "{\"task\": 1, \"downsample\": 4}");
    char *md = report_text(a, 1, MTN_REPORT_MD);
    expect_contains(md, "## Table A3 — Task 1 accuracy on ROI-C1 by downsampling\n\n");
    expect_contains(md, "| method | Downsampling=4 (ours) | Downsampling=4 (paper) |\n");
    expect_contains(md, "| Supervised | 0.89 ± 0.04 (n=3) | 0.83 |\n");
    CU_ASSERT_PTR_NULL(strstr(md, "## Table 1"));
    free(md);
    mtn_archive_free(&a[0]);
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
    {"segment and readout runs read back: per-class and per-feature arrays, NaN, chosen, shapes", test_task_round_trip},
    {"Task 2 and 3 means and stds per entry and over classes, by hand", test_task_summary_by_hand},
    {"h5py reads the Task 2 and 3 arrays; numpy's means and stds agree", test_task_h5py},
    {"broken Task 2 and 3 archives: wrong shapes, missing datasets and summaries, misnamed features", test_task_broken_archives},
    {"report: Table 2 layout (F1 / IoU per class, Avg, per image, two columns) in md, csv, json", test_report_table2},
    {"report: Table 3 layout (R² per feature, in sample and held out) in md and csv", test_report_table3},
    {"report: a mixed archive (Task 1, segment, readout) gives three tables, each its own rows and columns",
     test_report_mixed},
    {"report: a search's units (row \"\") are no table rows, but keep their detail blocks", test_report_search_units},
    {"report: Table 1's title gives the runs' downsampling (4x, 2x, full, unknown, mixed); Table A3 unchanged",
     test_report_downsampling_title},
    {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {{"result archives and report", tests}, {NULL, NULL}};
