/* job_config.c — a job: the runs of one experiment (task config x network config x
 * method x seeds x overrides) and where report puts them. Task and network may be
 * paths (relative to the job file) or inline objects; overrides are laid on before
 * presets and checks, and every run is checked as a whole (method against model and
 * task). Readout runs (Task 3) name the Task 1 run whose encoder they read out. */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "config_loader.h"
#include "json_doc.h"
#include "mtn/core.h"

const int mtn_paper_seeds[5] = {1, 100, 350, 631, 872};

static const char *const method_choices[] = {
    "supervised", "mixup", "byol", "myow", "myow-m|myowmerged|myow_m", "pca", "nmf", "segment", "readout", NULL};
static const char *const table_choices[] = {"none|custom", "table1", "tableA3|table-a3", "table2", "table3", NULL};

const char *mtn_method_name(mtn_method m) {
    static const char *names[] = {"supervised", "mixup", "byol", "myow", "myow-m", "pca", "nmf", "segment", "readout"};
    return names[m];
}

const char *mtn_method_row_label(mtn_method m) {
    static const char *rows[] = {"Supervised", "Sup w/ Mixup", "BYOL", "MYOW", "MYOW-m", "PCA", "NMF", "U-Net",
                                 "Readout"};
    return rows[m];
}

const char *mtn_table_name(mtn_table t) {
    static const char *names[] = {"none", "table1", "tableA3", "table2", "table3"};
    return names[t];
}

/* ---- schemas ---- */

typedef struct {
    mtn_run_config run;
    const cJSON *task, *network, *task_overrides, *network_overrides, *search, *encoder;
} run_reader;

typedef struct {
    mtn_job_config job;
    const cJSON *runs;
} job_reader;

typedef struct {
    char job[MTN_PATH_MAX];
    char run[MTN_NAME_MAX];
    char checkpoint[MTN_PATH_MAX];
} encoder_ref;

enum { REF_PATH_OR_OBJECT = 0, REF_OBJECT = 1, REF_ARRAY = 2 };

static int read_ref(const mtn_key *k, const cJSON *v, void *obj, const mtn_schema_ctx *ctx, const char *path) {
    bool ok = k->size == REF_ARRAY    ? cJSON_IsArray(v)
              : k->size == REF_OBJECT ? cJSON_IsObject(v)
                                      : cJSON_IsObject(v) || (cJSON_IsString(v) && v->valuestring[0]);
    if (!ok) return mtn_schema_error(ctx, path, k->name, k->note, v);
    *(const cJSON **)(void *)((char *)obj + k->offset) = v;
    return MTN_OK;
}

/* which JSON a reference key takes (in mtn_key.size) */
#define REF_KEY(nm, f, objects_only, what, fl) \
    {.name = nm, .type = MTN_K_CUSTOM, .offset = offsetof(run_reader, f), .size = (objects_only), \
     .note = (what), .read = read_ref, .flags = (fl)}
#define ROFF(f) offsetof(run_reader, run.f)

static const mtn_key run_keys[] = {
    {.name = "name", .type = MTN_K_STRING, .offset = ROFF(name), .size = MTN_NAME_MAX,
     .flags = MTN_KEY_REQUIRED | MTN_KEY_NONEMPTY},
    {.name = "method", .type = MTN_K_ENUM, .offset = ROFF(method), .choices = method_choices,
     .flags = MTN_KEY_REQUIRED},
    REF_KEY("task", task, REF_PATH_OR_OBJECT, "a task config path or an inline task config object", MTN_KEY_REQUIRED),
    REF_KEY("network", network, REF_PATH_OR_OBJECT, "a network config path or an inline network config object", 0),
    {.name = "row", .type = MTN_K_STRING, .offset = ROFF(row), .size = MTN_NAME_MAX},
    {.name = "column", .type = MTN_K_STRING, .offset = ROFF(column), .size = MTN_NAME_MAX},
    {.name = "seeds", .type = MTN_K_INT_LIST, .offset = ROFF(seeds), .size = MTN_MAX_SEEDS,
     .count_offset = ROFF(n_seeds), .min = 0, .max = 2147483647,
     .flags = MTN_KEY_UNIQUE | MTN_KEY_NONEMPTY},
    REF_KEY("task_overrides", task_overrides, REF_OBJECT, "an object of task config keys", 0),
    REF_KEY("network_overrides", network_overrides, REF_OBJECT, "an object of network config keys", 0),
    REF_KEY("search", search, REF_OBJECT, "an object of value lists to search: mixup_prob, learning_rate, batch_size", 0),
    REF_KEY("encoder", encoder, REF_OBJECT, "an object {\"job\": JOB.json, \"run\": NAME} naming a Task 1 run", 0),
};
static const mtn_schema run_schema = {run_keys, (int)(sizeof run_keys / sizeof run_keys[0]), "run"};

#define SOFF(f) offsetof(mtn_search, f)
static const mtn_key search_keys[] = {
    {.name = "mixup_prob", .type = MTN_K_REAL_LIST, .offset = SOFF(mixup_prob), .size = MTN_MAX_LIST,
     .count_offset = SOFF(n_mixup_prob), .min = 0, .max = 1,
     .flags = MTN_KEY_MIN_EXCLUSIVE | MTN_KEY_UNIQUE | MTN_KEY_NONEMPTY},
    {.name = "learning_rate", .type = MTN_K_REAL_LIST, .offset = SOFF(learning_rate), .size = MTN_MAX_LIST,
     .count_offset = SOFF(n_learning_rate), .min = 0, .max = 10,
     .flags = MTN_KEY_MIN_EXCLUSIVE | MTN_KEY_UNIQUE | MTN_KEY_NONEMPTY},
    {.name = "batch_size", .type = MTN_K_INT_LIST, .offset = SOFF(batch_size), .size = MTN_MAX_LIST,
     .count_offset = SOFF(n_batch_size), .min = 1, .max = 1048576, .flags = MTN_KEY_UNIQUE | MTN_KEY_NONEMPTY},
};
static const mtn_schema search_schema = {search_keys, (int)(sizeof search_keys / sizeof search_keys[0]), "search"};

static const mtn_key encoder_keys[] = {
    {.name = "job", .type = MTN_K_STRING, .offset = offsetof(encoder_ref, job), .size = MTN_PATH_MAX},
    {.name = "run", .type = MTN_K_STRING, .offset = offsetof(encoder_ref, run), .size = MTN_NAME_MAX,
     .flags = MTN_KEY_REQUIRED | MTN_KEY_NONEMPTY},
    {.name = "checkpoint", .type = MTN_K_STRING, .offset = offsetof(encoder_ref, checkpoint), .size = MTN_PATH_MAX,
     .flags = MTN_KEY_NONEMPTY},
};
static const mtn_schema encoder_schema = {encoder_keys, 3, "encoder"};

#define JOFF(f) offsetof(job_reader, job.f)
static const mtn_key job_keys[] = {
    {.name = "name", .type = MTN_K_STRING, .offset = JOFF(name), .size = MTN_NAME_MAX,
     .flags = MTN_KEY_REQUIRED | MTN_KEY_NONEMPTY},
    {.name = "description", .type = MTN_K_STRING, .offset = JOFF(description), .size = 512},
    {.name = "table", .type = MTN_K_ENUM, .offset = JOFF(table), .choices = table_choices},
    {.name = "column", .type = MTN_K_STRING, .offset = JOFF(column), .size = MTN_NAME_MAX},
    {.name = "source", .type = MTN_K_STRING, .offset = JOFF(source), .size = MTN_URI_MAX,
     .flags = MTN_KEY_NONEMPTY},
    {.name = "seeds", .type = MTN_K_INT_LIST, .offset = JOFF(seeds), .size = MTN_MAX_SEEDS,
     .count_offset = JOFF(n_seeds), .min = 0, .max = 2147483647, .flags = MTN_KEY_UNIQUE | MTN_KEY_NONEMPTY},
    {.name = "runs", .type = MTN_K_CUSTOM, .offset = offsetof(job_reader, runs), .size = REF_ARRAY,
     .note = "a list of runs", .read = read_ref, .flags = MTN_KEY_REQUIRED},
};
static const mtn_schema job_schema = {job_keys, (int)(sizeof job_keys / sizeof job_keys[0]), "job"};

/* ---- helpers ---- */

static bool valid_run_name(const char *s) {
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.') return false;
    return true;
}

/* Prefixes the current error message with the run it happened in. */
static int in_run(int rc, const char *job_file, int i, const char *run_name) {
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", mtn_error_message());
    return mtn_error_set(rc, "%s: runs[%d] (\"%s\"): %s", job_file, i, run_name, msg);
}

static int run_err(const char *job_file, int i, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int run_err(const char *job_file, int i, const char *key, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mtn_error_set(MTN_ECONFIG, "%s: runs[%d].%s: %s", job_file, i, key, msg);
}

/* Reads a run's task or network config (a path or an inline object), lays the run's
 * task_overrides or network_overrides on, and finishes it (presets, checks). */
static int load_run_config(run_reader *rr, mtn_config_kind kind, const char *job_file, int i) {
    bool task = kind == MTN_KIND_TASK;
    const char *key = task ? "task" : "network";
    const cJSON *ref = task ? rr->task : rr->network;
    const cJSON *overrides = task ? rr->task_overrides : rr->network_overrides;
    char *file_path = task ? rr->run.task_path : rr->run.network_path;
    void *out = task ? (void *)&rr->run.task : (void *)&rr->run.net;
    const char *what = mtn_config_schema(kind)->what;
    char path[64], where[MTN_PATH_MAX + 160];
    snprintf(path, sizeof path, "runs[%d].%s", i, key);
    int rc;
    if (cJSON_IsString(ref)) {
        mtn_config_resolve_path(file_path, MTN_PATH_MAX, job_file, ref->valuestring);
        rc = mtn_config_begin_file(kind, file_path, out);
        if (rc) return in_run(rc, job_file, i, rr->run.name);
        snprintf(where, sizeof where, "%s", file_path);
    } else {
        rc = mtn_config_begin(kind, ref, job_file, path, out);
        if (rc) return rc;
        snprintf(where, sizeof where, "%s: %s", job_file, path);
    }
    if (overrides) {
        char opath[64];
        snprintf(opath, sizeof opath, "runs[%d].%s_overrides", i, key);
        mtn_schema_ctx octx = {job_file, what, MTN_ORIGIN_OVERRIDE};
        if ((rc = mtn_config_read(kind, out, overrides, &octx, opath))) return rc;
        size_t n = strlen(where);
        snprintf(where + n, sizeof where - n, " with %s of %s", opath, job_file);
    }
    mtn_schema_ctx ctx = {where, what, MTN_ORIGIN_FILE};
    return mtn_config_finish(kind, out, &ctx);
}

static bool method_makes_encoder(mtn_method m) {
    return m != MTN_METHOD_SEGMENT && m != MTN_METHOD_READOUT;
}

/* The method must fit the task and the model. */
static int check_run(const mtn_run_config *r, const char *job_file, int i) {
    const mtn_task_config *t = &r->task;
    const mtn_network_config *n = &r->net;
    const char *m = mtn_method_name(r->method);
    int want_task = r->method == MTN_METHOD_SEGMENT ? 2 : r->method == MTN_METHOD_READOUT ? 3 : 1;
    if (t->task != want_task)
        return run_err(job_file, i, "task", "expected a Task %d config for method \"%s\", found Task %d (%s)",
                       want_task, m, t->task, t->file);
    if (r->method == MTN_METHOD_READOUT) return MTN_OK; /* the network is the encoder's */
    bool ok;
    const char *want;
    switch (r->method) {
    case MTN_METHOD_SUPERVISED:
    case MTN_METHOD_MIXUP:
        ok = n->model == MTN_MODEL_RESNET18 && n->task_type == MTN_TRAIN_SUPERVISED;
        want = "a supervised ResNet-18";
        break;
    case MTN_METHOD_BYOL:
    case MTN_METHOD_MYOW:
    case MTN_METHOD_MYOW_M: {
        mtn_ssl_method s = r->method == MTN_METHOD_BYOL ? MTN_SSL_BYOL
                           : r->method == MTN_METHOD_MYOW ? MTN_SSL_MYOW : MTN_SSL_MYOW_MERGED;
        ok = n->model == MTN_MODEL_RESNET18 && n->task_type == MTN_TRAIN_SSL && n->ssl_method == s;
        want = r->method == MTN_METHOD_BYOL ? "an SSL ResNet-18 with method \"byol\""
               : r->method == MTN_METHOD_MYOW ? "an SSL ResNet-18 with method \"myow\""
                                              : "an SSL ResNet-18 with method \"myowmerged\"";
        break;
    }
    case MTN_METHOD_PCA: ok = n->model == MTN_MODEL_PCA; want = "model \"PCA\""; break;
    case MTN_METHOD_NMF: ok = n->model == MTN_MODEL_NMF; want = "model \"NMF\""; break;
    default: ok = n->model == MTN_MODEL_UNET; want = "model \"UNet\""; break;
    }
    if (!ok)
        return run_err(job_file, i, "network", "expected %s for method \"%s\", found model \"%s\" (%s)", want, m,
                       mtn_model_name(n->model), n->file);
    if (n->classes != mtn_task_classes(t))
        return run_err(job_file, i, "network", "expected classes = %d to match the task (%s), found %d in %s",
                       mtn_task_classes(t), t->file, n->classes, n->file);
    if (r->method == MTN_METHOD_MIXUP && n->mixup_prob <= 0 && r->search.n_mixup_prob == 0)
        return run_err(job_file, i, "network_overrides",
                       "expected mixup_prob > 0 (or a search over mixup_prob) for method \"mixup\", found %g",
                       n->mixup_prob);
    if (r->method != MTN_METHOD_MIXUP && (n->mixup_prob > 0 || r->search.n_mixup_prob > 0))
        return run_err(job_file, i, "method", "expected \"mixup\" for a run that mixes (mixup_prob %g), found \"%s\"",
                       n->mixup_prob, m);
    if (r->method == MTN_METHOD_SEGMENT) {
        int pool = 1 << (n->n_blocks - 1);
        if (n->dim == 2 && t->volume_z != 1)
            return run_err(job_file, i, "task", "expected volume_z = 1 for a 2D UNet, found %d (%s)", t->volume_z,
                           t->file);
        if (n->dim == 3 && (t->volume_z < 2 || t->volume_z % pool != 0))
            return run_err(job_file, i, "task",
                           "expected volume_z > 1 and divisible by %d (the 3D UNet pools depth %d times), found %d (%s)",
                           pool, n->n_blocks - 1, t->volume_z, t->file);
        if (mtn_task_tile_h(t) % pool || mtn_task_tile_w(t) % pool)
            return run_err(job_file, i, "task", "expected a tile divisible by %d after downsampling, found %dx%d (%s)",
                           pool, mtn_task_tile_h(t), mtn_task_tile_w(t), t->file);
    }
    /* Every size key is bounded (batch <= 2^20, tiles inside the frame), so the bytes
     * of a batch fit in 64 bits: at most 2^20 * 720 * 1420 * 5805 * 4 < 2^55. */
    int64_t dims[6] = {n->batch_size, n->in_channels, t->volume_z, mtn_task_tile_h(t), mtn_task_tile_w(t),
                       (int64_t)sizeof(float)};
    int64_t bytes;
    MTN_ASSERT(mtn_product_i64(dims, 6, &bytes));
    return MTN_OK;
}

static int read_run(job_reader *jr, const cJSON *obj, int i, run_reader *rr) {
    const char *job_file = jr->job.file;
    char path[32];
    snprintf(path, sizeof path, "runs[%d]", i);
    mtn_schema_ctx ctx = {job_file, "run", MTN_ORIGIN_FILE};
    memset(rr, 0, sizeof *rr);
    int rc = mtn_schema_read(&run_schema, obj, rr, NULL, &ctx, path);
    if (!rc) rc = mtn_schema_check_required(&run_schema, obj, &ctx, path);
    if (rc) return rc;
    mtn_run_config *r = &rr->run;
    if (!valid_run_name(r->name))
        return run_err(job_file, i, "name", "expected letters, digits, '-', '_' or '.', found \"%s\"", r->name);
    for (int j = 0; j < i; j++)
        if (strcmp(jr->job.runs[j].name, r->name) == 0)
            return run_err(job_file, i, "name", "expected a name no other run has, found \"%s\" (also runs[%d])",
                           r->name, j);
    if (r->n_seeds == 0) {
        memcpy(r->seeds, jr->job.seeds, sizeof r->seeds);
        r->n_seeds = jr->job.n_seeds;
    }
    if (rr->search) {
        char spath[48];
        snprintf(spath, sizeof spath, "runs[%d].search", i);
        if ((rc = mtn_schema_read(&search_schema, rr->search, &r->search, NULL, &ctx, spath))) return rc;
    }
    if (r->method == MTN_METHOD_READOUT) {
        if (rr->network)
            return run_err(job_file, i, "network", "expected no network for a readout (it uses its encoder's)");
        if (!rr->encoder)
            return run_err(job_file, i, "encoder", "expected {\"job\": JOB.json, \"run\": NAME} naming a Task 1 run");
        encoder_ref ref = {{0}, {0}, {0}};
        char epath[48];
        snprintf(epath, sizeof epath, "runs[%d].encoder", i);
        rc = mtn_schema_read(&encoder_schema, rr->encoder, &ref, NULL, &ctx, epath);
        if (!rc) rc = mtn_schema_check_required(&encoder_schema, rr->encoder, &ctx, epath);
        if (rc) return rc;
        if (ref.job[0]) {
            /* absolute when it exists, so the resolved job (e.g. in an archive) still finds it */
            char rel[MTN_PATH_MAX], abs[PATH_MAX];
            mtn_config_resolve_path(rel, sizeof rel, job_file, ref.job);
            const char *use = realpath(rel, abs) && strlen(abs) < sizeof r->encoder_job ? abs : rel;
            memcpy(r->encoder_job, use, strlen(use) + 1);
        }
        snprintf(r->encoder_run, sizeof r->encoder_run, "%s", ref.run);
        if (ref.checkpoint[0]) {
            if (!strstr(ref.checkpoint, "{seed}"))
                return run_err(job_file, i, "encoder.checkpoint",
                               "expected a checkpoint path with {seed} where the seed goes, found \"%s\"",
                               ref.checkpoint);
            mtn_config_resolve_path(r->encoder_checkpoint, sizeof r->encoder_checkpoint, job_file, ref.checkpoint);
        }
    } else {
        if (!rr->network) return run_err(job_file, i, "network", "expected a network config for method \"%s\"",
                                         mtn_method_name(r->method));
        if (rr->encoder)
            return run_err(job_file, i, "encoder", "expected no encoder except for method \"readout\"");
        if ((rc = load_run_config(rr, MTN_KIND_NETWORK, job_file, i))) return rc;
    }
    if ((rc = load_run_config(rr, MTN_KIND_TASK, job_file, i))) return rc;
    if (!r->row[0]) {
        if (r->method == MTN_METHOD_SEGMENT) snprintf(r->row, sizeof r->row, "%dD U-Net", r->net.dim);
        else if (r->method != MTN_METHOD_READOUT) snprintf(r->row, sizeof r->row, "%s", mtn_method_row_label(r->method));
    }
    if (!r->column[0]) snprintf(r->column, sizeof r->column, "%s", jr->job.column);
    return check_run(r, job_file, i);
}

static int job_parse(const char *text, const char *file, mtn_job_config *out, bool resolve_encoders);

/* Points each readout run at its encoder run (in this job or another) and takes its network. */
static int resolve_encoders(mtn_job_config *job) {
    for (int i = 0; i < job->n_runs; i++) {
        mtn_run_config *r = &job->runs[i];
        if (r->method != MTN_METHOD_READOUT) continue;
        mtn_job_config other = {0};
        const mtn_job_config *src = job;
        if (r->encoder_job[0]) {
            char *text = NULL;
            int rc = mtn_json_read_file(r->encoder_job, &text);
            if (!rc) rc = job_parse(text, r->encoder_job, &other, false);
            free(text);
            if (rc) {
                mtn_job_free(&other);
                return in_run(rc, job->file, i, r->name);
            }
            src = &other;
        }
        const mtn_run_config *enc = NULL;
        const char *names[MTN_MAX_RUNS];
        for (int j = 0; j < src->n_runs; j++) {
            names[j] = src->runs[j].name;
            if (strcmp(src->runs[j].name, r->encoder_run) == 0) enc = &src->runs[j];
        }
        int rc = MTN_OK;
        if (!enc) {
            const char *s = mtn_suggest(r->encoder_run, names, (size_t)src->n_runs);
            rc = run_err(job->file, i, "encoder.run", "expected the name of a run in %s, found \"%s\"%s%s%s", src->file,
                         r->encoder_run, s ? " (did you mean \"" : "", s ? s : "", s ? "\"?)" : "");
        } else if (!method_makes_encoder(enc->method) || enc->task.task != 1) {
            rc = run_err(job->file, i, "encoder.run", "expected a Task 1 run with an encoder, found \"%s\" (method %s)",
                         enc->name, mtn_method_name(enc->method));
        } else if (enc->task.downsample < r->task.downsample || enc->task.downsample % r->task.downsample) {
            rc = run_err(job->file, i, "task",
                         "expected a downsample dividing %d, the encoder's (run \"%s\" was trained at downsample %d; "
                         "Task 3's images are brought down to it), found %d",
                         enc->task.downsample, enc->name, enc->task.downsample, r->task.downsample);
        } else {
            r->net = enc->net;
            r->encoder_method = enc->method;
            r->encoder_downsample = enc->task.downsample;
            snprintf(r->encoder_job_name, sizeof r->encoder_job_name, "%s", src->name);
            if (!r->row[0]) snprintf(r->row, sizeof r->row, "%s", mtn_method_row_label(enc->method));
        }
        mtn_job_free(&other);
        if (rc) return rc;
    }
    return MTN_OK;
}

static bool valid_source(const char *s) {
    return strcmp(s, "phantom") == 0 || strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

static int job_parse(const char *text, const char *file, mtn_job_config *out, bool with_encoders) {
    memset(out, 0, sizeof *out);
    cJSON *root = NULL;
    int rc = mtn_json_parse(text, file, &root);
    if (rc) return rc;
    job_reader jr;
    memset(&jr, 0, sizeof jr);
    snprintf(jr.job.file, sizeof jr.job.file, "%s", file);
    snprintf(jr.job.source, sizeof jr.job.source, "https://api.bossdb.io");
    memcpy(jr.job.seeds, mtn_paper_seeds, sizeof mtn_paper_seeds);
    jr.job.n_seeds = 5;
    mtn_schema_ctx ctx = {file, "job", MTN_ORIGIN_FILE};
    rc = mtn_schema_read(&job_schema, root, &jr, NULL, &ctx, "");
    if (!rc) rc = mtn_schema_check_required(&job_schema, root, &ctx, "");
    if (!rc && !valid_source(jr.job.source))
        rc = mtn_error_set(MTN_ECONFIG, "%s: source: expected \"phantom\" or an http(s):// URL, found \"%s\"", file,
                           jr.job.source);
    int n = rc ? 0 : cJSON_GetArraySize(jr.runs);
    if (!rc && (!cJSON_IsArray(jr.runs) || n < 1 || n > MTN_MAX_RUNS))
        rc = mtn_schema_error(&ctx, "", "runs", "a list of 1 to 256 run objects", jr.runs);
    if (!rc) {
        jr.job.runs = calloc((size_t)n, sizeof *jr.job.runs);
        if (!jr.job.runs) rc = mtn_error_set(MTN_ENOMEM, "%s: out of memory for %d runs", file, n);
    }
    run_reader *rr = rc ? NULL : malloc(sizeof *rr);
    if (!rc && !rr) rc = mtn_error_set(MTN_ENOMEM, "%s: out of memory", file);
    int i = 0;
    for (const cJSON *r = rc ? NULL : jr.runs->child; r && !rc; r = r->next, i++) {
        rc = read_run(&jr, r, i, rr);
        if (!rc) {
            jr.job.runs[i] = rr->run;
            jr.job.n_runs = i + 1;
        }
    }
    free(rr);
    cJSON_Delete(root);
    *out = jr.job;
    if (!rc && with_encoders) rc = resolve_encoders(out);
    if (rc) mtn_job_free(out);
    return rc;
}

int mtn_job_parse(const char *text, const char *name, mtn_job_config *out) {
    return job_parse(text, name, out, true);
}

int mtn_job_load(const char *path, mtn_job_config *out) {
    char *text = NULL;
    memset(out, 0, sizeof *out);
    int rc = mtn_json_read_file(path, &text);
    if (!rc) rc = job_parse(text, path, out, true);
    free(text);
    return rc;
}

void mtn_job_free(mtn_job_config *job) {
    if (!job) return;
    free(job->runs);
    job->runs = NULL;
    job->n_runs = 0;
}

cJSON *mtn_job_to_json(const mtn_job_config *j) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", j->name);
    cJSON_AddStringToObject(o, "description", j->description);
    cJSON_AddStringToObject(o, "table", mtn_table_name(j->table));
    cJSON_AddStringToObject(o, "column", j->column);
    cJSON_AddStringToObject(o, "source", j->source);
    cJSON_AddItemToObject(o, "seeds", cJSON_CreateIntArray(j->seeds, j->n_seeds));
    cJSON *runs = cJSON_AddArrayToObject(o, "runs");
    for (int i = 0; i < j->n_runs; i++) {
        const mtn_run_config *r = &j->runs[i];
        cJSON *ro = cJSON_CreateObject();
        cJSON_AddStringToObject(ro, "name", r->name);
        cJSON_AddStringToObject(ro, "method", mtn_method_name(r->method));
        cJSON_AddStringToObject(ro, "row", r->row);
        cJSON_AddStringToObject(ro, "column", r->column);
        cJSON_AddItemToObject(ro, "seeds", cJSON_CreateIntArray(r->seeds, r->n_seeds));
        const mtn_search *s = &r->search;
        if (s->n_mixup_prob || s->n_learning_rate || s->n_batch_size) {
            cJSON *so = cJSON_AddObjectToObject(ro, "search");
            if (s->n_mixup_prob) cJSON_AddItemToObject(so, "mixup_prob", cJSON_CreateDoubleArray(s->mixup_prob, s->n_mixup_prob));
            if (s->n_learning_rate)
                cJSON_AddItemToObject(so, "learning_rate", cJSON_CreateDoubleArray(s->learning_rate, s->n_learning_rate));
            if (s->n_batch_size) cJSON_AddItemToObject(so, "batch_size", cJSON_CreateIntArray(s->batch_size, s->n_batch_size));
        }
        cJSON_AddItemToObject(ro, "task", mtn_task_to_json(&r->task));
        if (r->method == MTN_METHOD_READOUT) {
            cJSON *eo = cJSON_AddObjectToObject(ro, "encoder");
            if (r->encoder_job[0]) cJSON_AddStringToObject(eo, "job", r->encoder_job);
            cJSON_AddStringToObject(eo, "run", r->encoder_run);
            if (r->encoder_checkpoint[0]) cJSON_AddStringToObject(eo, "checkpoint", r->encoder_checkpoint);
        } else {
            cJSON_AddItemToObject(ro, "network", mtn_network_to_json(&r->net));
        }
        cJSON_AddItemToArray(runs, ro);
    }
    return o;
}

int mtn_job_select_runs(mtn_job_config *job, const char *names) {
    char buf[1024];
    if (strlen(names) >= sizeof buf) return mtn_error_set(MTN_EUSAGE, "--runs: the list is too long");
    snprintf(buf, sizeof buf, "%s", names);
    bool keep[MTN_MAX_RUNS] = {false};
    const char *all[MTN_MAX_RUNS];
    for (int i = 0; i < job->n_runs; i++) all[i] = job->runs[i].name;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int found = -1;
        for (int i = 0; i < job->n_runs; i++)
            if (strcmp(job->runs[i].name, tok) == 0) found = i;
        if (found < 0) {
            const char *s = mtn_suggest(tok, all, (size_t)job->n_runs);
            return mtn_error_set(MTN_EUSAGE, "--runs: %s has no run \"%s\"%s%s%s", job->file, tok,
                                 s ? " (did you mean \"" : "", s ? s : "", s ? "\"?)" : "");
        }
        keep[found] = true;
    }
    int n = 0;
    for (int i = 0; i < job->n_runs; i++)
        if (keep[i]) job->runs[n++] = job->runs[i];
    if (!n) return mtn_error_set(MTN_EUSAGE, "--runs: expected at least one run name");
    job->n_runs = n;
    return MTN_OK;
}
