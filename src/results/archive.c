/* archive.c — the result archive (design §5; layout in mtn/results.h): written to a
 * temporary name and renamed, so a reader never sees half a file; read back with every
 * entry checked, errors naming the file and the object at fault. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mtn/eval.h" /* MTN_FEATURES_COLUMNS: the names of Task 3's features */
#include "mtn/h5.h"
#include "mtn/results.h"

#define FORMAT "mtneuro-results/1"
#define MAX_SEEDS_READ (1 << 20) /* a sanity bound on S when reading */

/* where each scalar metric lives in a seed (the order of mtn_metric) */
static const size_t metric_offset[MTN_N_METRICS] = {
    offsetof(mtn_seed_result, accuracy),       offsetof(mtn_seed_result, quadrant_accuracy),
    offsetof(mtn_seed_result, train_seconds),  offsetof(mtn_seed_result, eval_seconds),
    offsetof(mtn_seed_result, step_compute_s), offsetof(mtn_seed_result, step_comm_s),
    offsetof(mtn_seed_result, step_io_s)};

static double *metric_field(mtn_seed_result *s, mtn_metric m) {
    return (double *)(void *)((char *)s + metric_offset[m]);
}

/* ------------------------------------------------------------------ writing --- */

/* a group whose links remember their creation order (runs come back in job order) */
static hid_t create_ordered_group(hid_t parent, const char *name) {
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (gcpl < 0) return -1;
    H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    hid_t g = H5Gcreate2(parent, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    return g;
}

static int write_f64_scalar(hid_t g, const char *name, double v) {
    return mtn_h5_write_array(g, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL, &v);
}

/* the shape of a run's arrays: S seeds, K classes, E epochs, F features (maxima
 * over the seeds; F counts in readout runs only) */
static int run_shape(const mtn_run_result *r, int64_t *S, int64_t *K, int64_t *E, int64_t *F) {
    *S = r->n_seeds;
    *K = 0;
    *E = 0;
    *F = 0;
    if (r->n_seeds < 0 || (r->n_seeds > 0 && !r->seeds))
        return mtn_error_set(MTN_EIO, "run %s: %d seeds without their results", r->name, r->n_seeds);
    for (int i = 0; i < r->n_seeds; i++) {
        const mtn_seed_result *s = &r->seeds[i];
        if (s->classes < 0 || s->classes > MTN_MAX_CLASSES)
            return mtn_error_set(MTN_EIO, "run %s, seed %d: %d classes (at most %d)", r->name, s->seed, s->classes,
                                 MTN_MAX_CLASSES);
        if (s->epochs < 0 || s->epochs > MTN_MAX_EPOCHS)
            return mtn_error_set(MTN_EIO, "run %s, seed %d: %d epochs (at most %d)", r->name, s->seed, s->epochs,
                                 MTN_MAX_EPOCHS);
        if (r->method == MTN_METHOD_READOUT && (s->n_features < 0 || s->n_features > MTN_FEATURES_NCOL))
            return mtn_error_set(MTN_EIO, "run %s, seed %d: %d features (at most %d: %s)", r->name, s->seed,
                                 s->n_features, MTN_FEATURES_NCOL, MTN_FEATURES_COLUMNS);
        if (s->classes > *K) *K = s->classes;
        if (s->epochs > *E) *E = s->epochs;
        if (r->method == MTN_METHOD_READOUT && s->n_features > *F) *F = s->n_features;
    }
    return MTN_OK;
}

/* the run has vector v (its method's), of length L = K or F */
static bool run_has_vector(const mtn_run_result *r, mtn_vector v, int64_t K, int64_t F, int64_t *L) {
    *L = mtn_vector_per_class(v) ? K : F;
    return r->method == mtn_vector_method(v);
}

/* the first F names of MTN_FEATURES_COLUMNS, comma-separated */
static void feature_names(char *buf, size_t size, int64_t F) {
    snprintf(buf, size, "%s", F > 0 ? MTN_FEATURES_COLUMNS : "");
    char *p = buf;
    for (int64_t k = 0; k < F && p; k++) p = strchr(p + (k ? 1 : 0), ',');
    if (p && F > 0) *p = '\0';
}

static int write_run_arrays(hid_t g, const mtn_run_result *r, int64_t S, int64_t K, int64_t E) {
    size_t n_dbl = (size_t)(S * (E > 1 ? E : 1)), n_i64 = (size_t)(S * (K * K > 1 ? K * K : 1));
    double *d = malloc(sizeof(double) * (n_dbl ? n_dbl : 1));
    int64_t *q = malloc(sizeof(int64_t) * (n_i64 ? n_i64 : 1));
    int32_t *i32 = malloc(sizeof(int32_t) * (size_t)(S ? S : 1));
    uint32_t *u32 = malloc(sizeof(uint32_t) * (size_t)(S ? S : 1));
    if (!d || !q || !i32 || !u32) {
        free(d);
        free(q);
        free(i32);
        free(u32);
        return mtn_error_set(MTN_ENOMEM, "run %s: out of memory", r->name);
    }
    int rc = MTN_OK;
    const mtn_seed_result *s = r->seeds;
    int64_t one[1] = {S}, cube[3] = {S, K, K}, curve[2] = {S, E};

    for (int i = 0; i < S; i++) i32[i] = s[i].seed;
    if (!rc) rc = mtn_h5_write_array(g, "seeds", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, one, i32);
    for (int i = 0; i < S; i++) i32[i] = s[i].ok;
    if (!rc) rc = mtn_h5_write_array(g, "ok", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, one, i32);
    for (int i = 0; i < S; i++) i32[i] = s[i].epochs;
    if (!rc) rc = mtn_h5_write_array(g, "epochs", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, one, i32);
    for (int m = 0; m < MTN_N_METRICS && !rc; m++) {
        for (int i = 0; i < S; i++) d[i] = mtn_seed_metric(&s[i], (mtn_metric)m);
        rc = mtn_h5_write_array(g, mtn_metric_name((mtn_metric)m), H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, one, d);
    }
    for (int i = 0; i < S; i++) q[i] = s[i].steps;
    if (!rc) rc = mtn_h5_write_array(g, "steps", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, one, q);
    for (int i = 0; i < S; i++) u32[i] = s[i].weights_crc;
    if (!rc) rc = mtn_h5_write_array(g, "weights_crc", H5T_STD_U32LE, H5T_NATIVE_UINT32, 1, one, u32);
    for (int which = 0; which < 2 && !rc; which++) { /* confusion, quadrant_confusion */
        for (int i = 0; i < S; i++)
            for (int t = 0; t < K; t++)
                for (int p = 0; p < K; p++) {
                    bool in = t < s[i].classes && p < s[i].classes;
                    q[(i * K + t) * K + p] = !in ? 0 : which ? s[i].quadrant_confusion[t][p] : s[i].confusion[t][p];
                }
        rc = mtn_h5_write_array(g, which ? "quadrant_confusion" : "confusion", H5T_STD_I64LE, H5T_NATIVE_INT64, 3,
                                cube, q);
    }
    for (int which = 0; which < 2 && !rc; which++) { /* train_loss, val_accuracy; NaN after the seed's epochs */
        for (int i = 0; i < S; i++)
            for (int e = 0; e < E; e++)
                d[i * E + e] = e >= s[i].epochs ? NAN : which ? s[i].val_accuracy[e] : s[i].train_loss[e];
        rc = mtn_h5_write_array(g, which ? "val_accuracy" : "train_loss", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, curve,
                                d);
    }
    free(d);
    free(q);
    free(i32);
    free(u32);
    return rc;
}

/* the per-class or per-feature vectors of the run's method: (S, L), NaN past a seed's length */
static int write_run_vectors(hid_t g, const mtn_run_result *r, int64_t S, int64_t K, int64_t F) {
    double *d = malloc(sizeof(double) * (size_t)(S ? S : 1) * MTN_MAX_CLASSES);
    if (!d) return mtn_error_set(MTN_ENOMEM, "run %s: out of memory", r->name);
    int rc = MTN_OK;
    for (int v = 0; v < MTN_N_VECTORS && !rc; v++) {
        int64_t L;
        if (!run_has_vector(r, (mtn_vector)v, K, F, &L)) continue;
        for (int64_t i = 0; i < S; i++) {
            const double *x = mtn_seed_vector(&r->seeds[i], (mtn_vector)v);
            int len = mtn_seed_vector_length(&r->seeds[i], (mtn_vector)v);
            for (int64_t k = 0; k < L; k++) d[i * L + k] = k < len ? x[k] : NAN;
        }
        int64_t dims[2] = {S, L};
        rc = mtn_h5_write_array(g, mtn_vector_name((mtn_vector)v), H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, dims, d);
    }
    free(d);
    return rc;
}

static int write_summaries(hid_t g, const mtn_run_result *r, int64_t K, int64_t F) {
    hid_t gm = H5Gcreate2(g, "mean", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t gs = gm >= 0 ? H5Gcreate2(g, "std", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    int rc = gs < 0 ? mtn_error_set(MTN_EIO, "cannot create groups mean and std") : MTN_OK;
    for (int m = 0; m < MTN_N_METRICS && !rc; m++) {
        double mean, std;
        mtn_run_summary(r, (mtn_metric)m, &mean, &std);
        rc = write_f64_scalar(gm, mtn_metric_name((mtn_metric)m), mean);
        if (!rc) rc = write_f64_scalar(gs, mtn_metric_name((mtn_metric)m), std);
    }
    for (int v = 0; v < MTN_N_VECTORS && !rc; v++) { /* entry by entry, and the mean over the classes */
        int64_t L;
        if (!run_has_vector(r, (mtn_vector)v, K, F, &L)) continue;
        double means[MTN_MAX_CLASSES], stds[MTN_MAX_CLASSES];
        for (int k = 0; k < L; k++) mtn_run_vector_summary(r, (mtn_vector)v, k, &means[k], &stds[k]);
        const char *name = mtn_vector_name((mtn_vector)v);
        rc = mtn_h5_write_array(gm, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &L, means);
        if (!rc) rc = mtn_h5_write_array(gs, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &L, stds);
        const char *mean_name = mtn_vector_mean_name((mtn_vector)v);
        if (!mean_name || rc) continue;
        double mean, std;
        mtn_run_vector_summary(r, (mtn_vector)v, MTN_VECTOR_MEAN, &mean, &std);
        rc = write_f64_scalar(gm, mean_name, mean);
        if (!rc) rc = write_f64_scalar(gs, mean_name, std);
    }
    if (gs >= 0) H5Gclose(gs);
    if (gm >= 0) H5Gclose(gm);
    return rc;
}

static int write_run(hid_t runs, const mtn_run_result *r) {
    if (!r->name[0] || strchr(r->name, '/') || strcmp(r->name, ".") == 0)
        return mtn_error_set(MTN_EIO, "run name \"%s\": expected a non-empty name without '/'", r->name);
    if ((int)r->method < 0 || r->method > MTN_METHOD_READOUT)
        return mtn_error_set(MTN_EIO, "run %s: unknown method %d", r->name, (int)r->method);
    int64_t S, K, E, F;
    int rc = run_shape(r, &S, &K, &E, &F);
    if (rc) return rc;
    hid_t g = H5Gcreate2(runs, r->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) return mtn_error_set(MTN_EIO, "cannot create group /runs/%s (two runs of that name?)", r->name);
    double mean, std;
    int n = mtn_run_summary(r, MTN_METRIC_ACCURACY, &mean, &std);
    rc = mtn_h5_write_str(g, "method", mtn_method_name(r->method));
    if (!rc) rc = mtn_h5_write_str(g, "row", r->row);
    if (!rc) rc = mtn_h5_write_str(g, "column", r->column);
    if (!rc) rc = mtn_h5_write_str(g, "status", r->status);
    if (!rc) rc = mtn_h5_write_str(g, "chosen", r->chosen);
    if (!rc) rc = mtn_h5_write_str(g, "task", r->task_json ? r->task_json : "");
    if (!rc) rc = mtn_h5_write_str(g, "network", r->network_json ? r->network_json : "");
    if (!rc) rc = mtn_h5_write_i64(g, "classes", K);
    if (!rc) rc = mtn_h5_write_i64(g, "n", n);
    if (!rc && r->method == MTN_METHOD_READOUT) {
        char names[sizeof MTN_FEATURES_COLUMNS];
        feature_names(names, sizeof names, F);
        rc = mtn_h5_write_str(g, "features", names);
    }
    if (!rc) rc = write_run_arrays(g, r, S, K, E);
    if (!rc) rc = write_run_vectors(g, r, S, K, F);
    if (!rc) rc = write_summaries(g, r, K, F);
    H5Gclose(g);
    if (rc) {
        char where[MTN_NAME_MAX + 8];
        snprintf(where, sizeof where, "/runs/%s", r->name);
        mtn_error_prefix(where);
    }
    return rc;
}

static void utc_now(char *buf, size_t size) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int write_root(hid_t f, const mtn_archive *a) {
    if ((int)a->table < 0 || a->table > MTN_TABLE_3) return mtn_error_set(MTN_EIO, "unknown table %d", (int)a->table);
    char created[32], host[128];
    if (a->created[0]) snprintf(created, sizeof created, "%s", a->created);
    else utc_now(created, sizeof created);
    if (a->host[0]) snprintf(host, sizeof host, "%s", a->host);
    else if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    const struct {
        const char *name, *value;
    } strs[] = {{"format", FORMAT},
                {"job_name", a->job_name},
                {"job_file", a->job_file},
                {"table", mtn_table_name(a->table)},
                {"column", a->column},
                {"job", a->job_json ? a->job_json : ""},
                {"source", a->source},
                {"mtneuro_version", a->mtneuro_version[0] ? a->mtneuro_version : mtn_version()},
                {"git_commit", a->git_commit[0] ? a->git_commit : mtn_git_commit()},
                {"layout", a->layout},
                {"host", host},
                {"created", created}};
    const struct {
        const char *name;
        int value;
    } ints[] = {{"world_size", a->world_size},
                {"ranks_per_seed", a->ranks_per_seed},
                {"seed_groups", a->seed_groups},
                {"threads", a->threads}};
    int rc = MTN_OK;
    for (size_t i = 0; i < sizeof strs / sizeof strs[0] && !rc; i++) rc = mtn_h5_write_str(f, strs[i].name, strs[i].value);
    for (size_t i = 0; i < sizeof ints / sizeof ints[0] && !rc; i++) rc = mtn_h5_write_i64(f, ints[i].name, ints[i].value);
    return rc;
}

int mtn_archive_write(const char *path, const mtn_archive *a) {
    mtn_h5_quiet();
    char tmp[MTN_PATH_MAX + 32];
    if (strlen(path) >= MTN_PATH_MAX)
        return mtn_error_set(MTN_EIO, "%s: cannot write the result archive (a path of over %d characters)", path,
                             MTN_PATH_MAX - 1);
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    if (a->n_runs < 0 || (a->n_runs > 0 && !a->runs))
        return mtn_error_set(MTN_EIO, "%s: cannot write the result archive (%d runs without their results)", path,
                             a->n_runs);
    /* the 1.8 file format at least: attributes over 64 KiB (a resolved job) go to dense storage */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0) H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    hid_t f = fapl >= 0 ? H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : -1;
    if (fapl >= 0) H5Pclose(fapl);
    if (f < 0) {
        unlink(tmp);
        return mtn_error_set(MTN_EIO, "%s: cannot write the result archive (cannot create %s)", path, tmp);
    }
    int rc = write_root(f, a);
    hid_t runs = rc ? -1 : create_ordered_group(f, "runs");
    if (!rc && runs < 0) rc = mtn_error_set(MTN_EIO, "cannot create group /runs");
    for (int i = 0; i < a->n_runs && !rc; i++) rc = write_run(runs, &a->runs[i]);
    if (runs >= 0) H5Gclose(runs);
    if (H5Fclose(f) < 0 && !rc) rc = mtn_error_set(MTN_EIO, "cannot close %s", tmp);
    if (!rc && rename(tmp, path) != 0) rc = mtn_error_set(MTN_EIO, "cannot rename %s to it: %s", tmp, strerror(errno));
    if (rc) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s", mtn_error_message());
        unlink(tmp);
        return mtn_error_set(MTN_EIO, "%s: cannot write the result archive (%s)", path, detail);
    }
    return MTN_OK;
}

/* ------------------------------------------------------------------ reading --- */

/* What is being read, for messages: "FILE: /runs/NAME: ...". */
typedef struct {
    const char *path;
    char where[MTN_NAME_MAX + 8];
} reader;

/* Re-states the last helper message (which names the attribute or dataset) with the
 * file and object in front, as MTN_EDATA unless it was a memory failure. */
static int data_error(const reader *rd, int status) {
    char detail[512];
    snprintf(detail, sizeof detail, "%s", mtn_error_message());
    return mtn_error_set(status == MTN_ENOMEM ? MTN_ENOMEM : MTN_EDATA, "%s: %s: %s", rd->path, rd->where, detail);
}

static int get_str(const reader *rd, hid_t obj, const char *name, char **out) {
    *out = NULL;
    if (!mtn_h5_has_attr(obj, name))
        return mtn_error_set(MTN_EDATA, "%s: %s: missing attribute \"%s\"", rd->path, rd->where, name);
    int rc = mtn_h5_read_str(obj, name, out);
    return rc ? data_error(rd, rc) : MTN_OK;
}

static int get_str_buf(const reader *rd, hid_t obj, const char *name, char *buf, size_t size) {
    char *v = NULL;
    int rc = get_str(rd, obj, name, &v);
    if (!rc && strlen(v) >= size)
        rc = mtn_error_set(MTN_EDATA, "%s: %s: attribute \"%s\" has %zu characters, at most %zu expected", rd->path,
                           rd->where, name, strlen(v), size - 1);
    if (!rc) memcpy(buf, v, strlen(v) + 1);
    free(v);
    return rc;
}

static int get_int(const reader *rd, hid_t obj, const char *name, int64_t lo, int64_t hi, int *out) {
    if (!mtn_h5_has_attr(obj, name))
        return mtn_error_set(MTN_EDATA, "%s: %s: missing attribute \"%s\"", rd->path, rd->where, name);
    int64_t v = 0;
    int rc = mtn_h5_read_i64(obj, name, &v);
    if (rc) return data_error(rd, rc);
    if (v < lo || v > hi)
        return mtn_error_set(MTN_EDATA, "%s: %s: attribute \"%s\" = %lld, expected %lld to %lld", rd->path, rd->where,
                             name, (long long)v, (long long)lo, (long long)hi);
    *out = (int)v;
    return MTN_OK;
}

/* "(3, 4, 4)"; a negative extent (any) reads "*" */
static void shape_text(char *buf, size_t size, int rank, const int64_t *dims) {
    size_t used = (size_t)snprintf(buf, size, "(");
    for (int k = 0; k < rank && used < size; k++) {
        if (dims[k] < 0) used += (size_t)snprintf(buf + used, size - used, "%s*", k ? ", " : "");
        else used += (size_t)snprintf(buf + used, size - used, "%s%lld", k ? ", " : "", (long long)dims[k]);
    }
    if (used < size) snprintf(buf + used, size - used, ")");
}

/* dataset `name` of g as mem_type, of rank `rank` and shape want (-1: any extent; the
 * extents found are returned in want) */
static int get_array(const reader *rd, hid_t g, const char *name, hid_t mem_type, const char *type_name, int rank,
                     int64_t *want, void **out) {
    int got_rank = 0;
    int64_t dims[MTN_H5_MAX_RANK] = {0};
    int rc = mtn_h5_read_array(g, name, mem_type, type_name, &got_rank, dims, out);
    if (rc) return data_error(rd, rc);
    bool same = got_rank == rank;
    for (int k = 0; same && k < rank; k++) same = want[k] < 0 || want[k] == dims[k];
    if (!same) {
        char w[96], f[96];
        shape_text(w, sizeof w, rank, want);
        shape_text(f, sizeof f, got_rank, dims);
        free(*out);
        *out = NULL;
        return mtn_error_set(MTN_EDATA, "%s: %s/%s: expected shape %s, found %s", rd->path, rd->where, name, w, f);
    }
    for (int k = 0; k < rank; k++) want[k] = dims[k];
    return MTN_OK;
}

static int parse_method(const reader *rd, const char *name, mtn_method *out) {
    for (int m = MTN_METHOD_SUPERVISED; m <= MTN_METHOD_READOUT; m++)
        if (strcmp(name, mtn_method_name((mtn_method)m)) == 0) {
            *out = (mtn_method)m;
            return MTN_OK;
        }
    return mtn_error_set(MTN_EDATA, "%s: %s: unknown method \"%s\"", rd->path, rd->where, name);
}

/* the per-seed arrays of run group g into r->seeds (S of them, K classes) */
static int read_seed_arrays(const reader *rd, hid_t g, mtn_run_result *r, int64_t S, int64_t K) {
    mtn_seed_result *s = r->seeds;
    void *p = NULL;
    int rc = MTN_OK;
    for (int m = 0; m < MTN_N_METRICS && !rc; m++) {
        int64_t one[1] = {S};
        rc = get_array(rd, g, mtn_metric_name((mtn_metric)m), H5T_NATIVE_DOUBLE, "float64", 1, one, &p);
        for (int i = 0; !rc && i < S; i++) *metric_field(&s[i], (mtn_metric)m) = ((double *)p)[i];
        free(p);
        p = NULL;
    }
    int64_t one[1] = {S};
    if (!rc && !(rc = get_array(rd, g, "steps", H5T_NATIVE_INT64, "int64", 1, one, &p)))
        for (int i = 0; i < S; i++) s[i].steps = ((int64_t *)p)[i];
    free(p);
    p = NULL;
    if (!rc && !(rc = get_array(rd, g, "weights_crc", H5T_NATIVE_UINT32, "uint32", 1, one, &p)))
        for (int i = 0; i < S; i++) s[i].weights_crc = ((uint32_t *)p)[i];
    free(p);
    p = NULL;
    /* ok and epochs: written by mtneuro; an archive without them counts seeds with an
     * accuracy as finished and reads the curves up to their NaN padding */
    if (!rc && H5Lexists(g, "ok", H5P_DEFAULT) > 0) {
        if (!(rc = get_array(rd, g, "ok", H5T_NATIVE_INT32, "int32", 1, one, &p)))
            for (int i = 0; i < S; i++) s[i].ok = ((int32_t *)p)[i];
    } else {
        for (int i = 0; i < S; i++) s[i].ok = !isnan(s[i].accuracy);
    }
    free(p);
    p = NULL;
    bool have_epochs = false;
    if (!rc && H5Lexists(g, "epochs", H5P_DEFAULT) > 0) {
        have_epochs = true;
        if (!(rc = get_array(rd, g, "epochs", H5T_NATIVE_INT32, "int32", 1, one, &p)))
            for (int i = 0; i < S; i++) s[i].epochs = ((int32_t *)p)[i];
    }
    free(p);
    p = NULL;
    for (int which = 0; which < 2 && !rc; which++) {
        int64_t cube[3] = {S, K, K};
        rc = get_array(rd, g, which ? "quadrant_confusion" : "confusion", H5T_NATIVE_INT64, "int64", 3, cube, &p);
        for (int i = 0; !rc && i < S; i++)
            for (int t = 0; t < K; t++)
                for (int c = 0; c < K; c++) {
                    int64_t v = ((int64_t *)p)[(i * K + t) * K + c];
                    if (which) s[i].quadrant_confusion[t][c] = v;
                    else s[i].confusion[t][c] = v;
                }
        free(p);
        p = NULL;
    }
    for (int which = 0; which < 2 && !rc; which++) {
        const char *name = which ? "val_accuracy" : "train_loss";
        int64_t curve[2] = {S, -1};
        rc = get_array(rd, g, name, H5T_NATIVE_DOUBLE, "float64", 2, curve, &p);
        int64_t E = curve[1];
        if (!rc && E > MTN_MAX_EPOCHS)
            rc = mtn_error_set(MTN_EDATA, "%s: %s/%s: %lld epochs, at most %d", rd->path, rd->where, name, (long long)E,
                               MTN_MAX_EPOCHS);
        for (int i = 0; !rc && i < S; i++) {
            const double *row = (const double *)p + i * E;
            if (!have_epochs) { /* up to the last value of either curve that is not padding */
                int e = (int)E;
                while (e > s[i].epochs && isnan(row[e - 1])) e--;
                s[i].epochs = e;
            } else if (s[i].epochs < 0 || s[i].epochs > E) {
                rc = mtn_error_set(MTN_EDATA, "%s: %s/epochs: seed %d ran %d epochs, but %s has %lld", rd->path,
                                   rd->where, s[i].seed, s[i].epochs, name, (long long)E);
                break;
            }
            for (int e = 0; e < E; e++) (which ? s[i].val_accuracy : s[i].train_loss)[e] = row[e];
        }
        free(p);
        p = NULL;
    }
    return rc;
}

/* the vectors of the run's method into r->seeds (K classes; *F features from r2's
 * shape, named by the run attribute features), each seed given that length */
static int read_seed_vectors(const reader *rd, hid_t g, mtn_run_result *r, int64_t S, int64_t K, int64_t *F_out) {
    int64_t F = -1; /* from the first feature vector */
    int rc = MTN_OK;
    *F_out = 0;
    for (int v = 0; v < MTN_N_VECTORS && !rc; v++) {
        if (r->method != mtn_vector_method((mtn_vector)v)) continue;
        const char *name = mtn_vector_name((mtn_vector)v);
        if (H5Lexists(g, name, H5P_DEFAULT) <= 0)
            return mtn_error_set(MTN_EDATA, "%s: %s: no dataset %s (a %s run has it)", rd->path, rd->where, name,
                                 mtn_method_name(r->method));
        bool per_class = mtn_vector_per_class((mtn_vector)v);
        int64_t dims[2] = {S, per_class ? K : F};
        void *p = NULL;
        rc = get_array(rd, g, name, H5T_NATIVE_DOUBLE, "float64", 2, dims, &p);
        if (!rc && !per_class && F < 0) {
            F = dims[1];
            char want[sizeof MTN_FEATURES_COLUMNS], *got = NULL;
            if (F > MTN_FEATURES_NCOL)
                rc = mtn_error_set(MTN_EDATA, "%s: %s/%s: %lld features, at most %d", rd->path, rd->where, name,
                                   (long long)F, MTN_FEATURES_NCOL);
            if (!rc) rc = get_str(rd, g, "features", &got);
            if (!rc) feature_names(want, sizeof want, F);
            if (!rc && strcmp(got, want) != 0)
                rc = mtn_error_set(MTN_EDATA, "%s: %s: attribute features = \"%s\", expected \"%s\" (%s has %lld columns)",
                                   rd->path, rd->where, got, want, name, (long long)F);
            free(got);
        }
        for (int64_t i = 0; !rc && i < S; i++) {
            mtn_seed_result *s = &r->seeds[i];
            if (!per_class) s->n_features = (int32_t)dims[1];
            /* the seed's own storage: mtn_seed_vector hands it out read-only */
            double *x = (double *)(uintptr_t)mtn_seed_vector(s, (mtn_vector)v);
            for (int64_t k = 0; k < dims[1]; k++) x[k] = ((double *)p)[i * dims[1] + k];
        }
        free(p);
    }
    if (F > 0) *F_out = F;
    return rc;
}

/* the stored mean and std of `name` exist, of rank 0 (a scalar) or 1 (len entries);
 * their values are not read: a reader recomputes them from the seeds */
static int check_summary(const reader *rd, hid_t g, const char *name, int rank, int64_t len) {
    int rc = MTN_OK;
    for (int k = 0; k < 2 && !rc; k++) {
        char obj[64];
        snprintf(obj, sizeof obj, "%s/%s", k ? "std" : "mean", name);
        if (H5Lexists(g, k ? "std" : "mean", H5P_DEFAULT) <= 0 || H5Lexists(g, obj, H5P_DEFAULT) <= 0)
            return mtn_error_set(MTN_EDATA, "%s: %s: no dataset %s", rd->path, rd->where, obj);
        int64_t want[1] = {len};
        void *p = NULL;
        rc = get_array(rd, g, obj, H5T_NATIVE_DOUBLE, "float64", rank, want, &p);
        free(p);
    }
    return rc;
}

static int read_run(const char *path, hid_t runs, const char *name, mtn_run_result *r) {
    reader rd = {path, ""};
    snprintf(rd.where, sizeof rd.where, "/runs/%s", name);
    snprintf(r->name, sizeof r->name, "%s", name);
    hid_t g = H5Gopen2(runs, name, H5P_DEFAULT);
    if (g < 0) return mtn_error_set(MTN_EDATA, "%s: %s: expected a group", path, rd.where);
    char method[MTN_NAME_MAX];
    int K = 0, n = 0;
    int rc = get_str_buf(&rd, g, "method", method, sizeof method);
    if (!rc) rc = parse_method(&rd, method, &r->method);
    if (!rc) rc = get_str_buf(&rd, g, "row", r->row, sizeof r->row);
    if (!rc) rc = get_str_buf(&rd, g, "column", r->column, sizeof r->column);
    if (!rc) rc = get_str_buf(&rd, g, "status", r->status, sizeof r->status);
    if (!rc && mtn_h5_has_attr(g, "chosen")) rc = get_str_buf(&rd, g, "chosen", r->chosen, sizeof r->chosen);
    if (!rc) rc = get_str(&rd, g, "task", &r->task_json);
    if (!rc) rc = get_str(&rd, g, "network", &r->network_json);
    if (!rc) rc = get_int(&rd, g, "classes", 0, MTN_MAX_CLASSES, &K);
    if (!rc) rc = get_int(&rd, g, "n", 0, MAX_SEEDS_READ, &n);
    void *p = NULL;
    int64_t one[1] = {-1};
    if (!rc) rc = get_array(&rd, g, "seeds", H5T_NATIVE_INT32, "int32", 1, one, &p);
    int64_t S = one[0];
    if (!rc && S > MAX_SEEDS_READ)
        rc = mtn_error_set(MTN_EDATA, "%s: %s/seeds: %lld seeds, at most %d", path, rd.where, (long long)S,
                           MAX_SEEDS_READ);
    if (!rc && !(r->seeds = calloc((size_t)(S ? S : 1), sizeof *r->seeds)))
        rc = mtn_error_set(MTN_ENOMEM, "%s: %s: out of memory for %lld seeds", path, rd.where, (long long)S);
    if (!rc) {
        r->n_seeds = (int)S;
        for (int i = 0; i < S; i++) {
            r->seeds[i].seed = ((int32_t *)p)[i];
            r->seeds[i].classes = K;
        }
    }
    free(p);
    if (!rc) rc = read_seed_arrays(&rd, g, r, S, K);
    int64_t F = 0;
    if (!rc) rc = read_seed_vectors(&rd, g, r, S, K, &F);
    int finished = 0;
    for (int i = 0; !rc && i < S; i++) finished += r->seeds[i].ok == 1;
    if (!rc && finished != n)
        rc = mtn_error_set(MTN_EDATA, "%s: %s: attribute n = %d, but %d seeds finished (ok = 1)", path, rd.where, n,
                           finished);
    for (int m = 0; m < MTN_N_METRICS && !rc; m++) rc = check_summary(&rd, g, mtn_metric_name((mtn_metric)m), 0, 0);
    for (int v = 0; v < MTN_N_VECTORS && !rc; v++) {
        if (r->method != mtn_vector_method((mtn_vector)v)) continue;
        int64_t L = mtn_vector_per_class((mtn_vector)v) ? K : F;
        rc = check_summary(&rd, g, mtn_vector_name((mtn_vector)v), 1, L);
        const char *mean_name = mtn_vector_mean_name((mtn_vector)v);
        if (!rc && mean_name) rc = check_summary(&rd, g, mean_name, 0, 0);
    }
    H5Gclose(g);
    return rc;
}

static int parse_table(const reader *rd, const char *name, mtn_table *out) {
    for (int t = MTN_TABLE_NONE; t <= MTN_TABLE_3; t++)
        if (strcmp(name, mtn_table_name((mtn_table)t)) == 0) {
            *out = (mtn_table)t;
            return MTN_OK;
        }
    return mtn_error_set(MTN_EDATA, "%s: %s: unknown table \"%s\"", rd->path, rd->where, name);
}

static int read_root(const char *path, hid_t f, mtn_archive *a) {
    reader rd = {path, "/"};
    if (!mtn_h5_has_attr(f, "format"))
        return mtn_error_set(MTN_EDATA, "%s: not a result archive: no root attribute \"format\" (expected \"%s\")", path,
                             FORMAT);
    char *format = NULL;
    int rc = get_str(&rd, f, "format", &format);
    if (!rc && strcmp(format, FORMAT) != 0)
        rc = mtn_error_set(MTN_EDATA, "%s: root attribute \"format\" is \"%s\", expected \"%s\"", path, format, FORMAT);
    free(format);
    const struct {
        const char *name;
        char *buf;
        size_t size;
    } strs[] = {{"job_name", a->job_name, sizeof a->job_name},
                {"job_file", a->job_file, sizeof a->job_file},
                {"column", a->column, sizeof a->column},
                {"source", a->source, sizeof a->source},
                {"mtneuro_version", a->mtneuro_version, sizeof a->mtneuro_version},
                {"git_commit", a->git_commit, sizeof a->git_commit},
                {"layout", a->layout, sizeof a->layout},
                {"host", a->host, sizeof a->host},
                {"created", a->created, sizeof a->created}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0] && !rc; i++)
        rc = get_str_buf(&rd, f, strs[i].name, strs[i].buf, strs[i].size);
    char table[32];
    if (!rc) rc = get_str_buf(&rd, f, "table", table, sizeof table);
    if (!rc) rc = parse_table(&rd, table, &a->table);
    if (!rc) rc = get_str(&rd, f, "job", &a->job_json);
    const struct {
        const char *name;
        int *dst;
    } ints[] = {{"world_size", &a->world_size},
                {"ranks_per_seed", &a->ranks_per_seed},
                {"seed_groups", &a->seed_groups},
                {"threads", &a->threads}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0] && !rc; i++)
        rc = get_int(&rd, f, ints[i].name, 0, INT_MAX, ints[i].dst);
    return rc;
}

static int read_runs(const char *path, hid_t f, mtn_archive *a) {
    if (H5Lexists(f, "runs", H5P_DEFAULT) <= 0) return mtn_error_set(MTN_EDATA, "%s: no group /runs", path);
    hid_t runs = H5Gopen2(f, "runs", H5P_DEFAULT);
    if (runs < 0) return mtn_error_set(MTN_EDATA, "%s: /runs is not a group", path);
    H5G_info_t info;
    int rc = H5Gget_info(runs, &info) < 0 ? mtn_error_set(MTN_EDATA, "%s: cannot list /runs", path) : MTN_OK;
    if (!rc && info.nlinks > MTN_MAX_RUNS * 64)
        rc = mtn_error_set(MTN_EDATA, "%s: /runs has %llu entries", path, (unsigned long long)info.nlinks);
    if (!rc && !(a->runs = calloc(info.nlinks ? info.nlinks : 1, sizeof *a->runs)))
        rc = mtn_error_set(MTN_ENOMEM, "%s: out of memory for %llu runs", path, (unsigned long long)info.nlinks);
    /* in creation order (the job's), or by name when the file does not track it */
    H5_index_t order = info.nlinks && H5Lget_name_by_idx(runs, ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, 0, NULL, 0,
                                                           H5P_DEFAULT) < 0
                           ? H5_INDEX_NAME
                           : H5_INDEX_CRT_ORDER;
    for (hsize_t i = 0; !rc && i < info.nlinks; i++) {
        char name[MTN_NAME_MAX];
        ssize_t len = H5Lget_name_by_idx(runs, ".", order, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT);
        if (len < 0) rc = mtn_error_set(MTN_EDATA, "%s: cannot list /runs", path);
        else if ((size_t)len >= sizeof name)
            rc = mtn_error_set(MTN_EDATA, "%s: /runs/%s...: a run name of %zd characters, at most %d", path, name, len,
                               MTN_NAME_MAX - 1);
        else {
            a->n_runs++;
            rc = read_run(path, runs, name, &a->runs[i]);
        }
    }
    H5Gclose(runs);
    return rc;
}

int mtn_archive_read(const char *path, mtn_archive *a) {
    memset(a, 0, sizeof *a);
    mtn_h5_quiet();
    FILE *probe = fopen(path, "rb");
    if (!probe) return mtn_error_set(MTN_EIO, "%s: cannot read the result archive: %s", path, strerror(errno));
    fclose(probe);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return mtn_error_set(MTN_EDATA, "%s: not an HDF5 file (or a damaged one); expected a result archive", path);
    int rc = read_root(path, f, a);
    if (!rc) rc = read_runs(path, f, a);
    H5Fclose(f);
    if (rc) mtn_archive_free(a);
    return rc;
}

void mtn_archive_free(mtn_archive *a) {
    if (!a) return;
    for (int i = 0; a->runs && i < a->n_runs; i++) {
        free(a->runs[i].task_json);
        free(a->runs[i].network_json);
        free(a->runs[i].seeds);
    }
    free(a->runs);
    free(a->job_json);
    memset(a, 0, sizeof *a);
}
