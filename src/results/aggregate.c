/* aggregate.c — merging result archives (`mtneuro aggregate`): the per-seed (or
 * per-run) archives of one job into one with every run and every seed, in the order
 * one run of the whole job would have written them, so the merged archive holds the
 * same datasets; mean and std follow from the seeds when it is written. The rules
 * are in mtn/results.h (mtn_archive_merge). */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mtn/results.h"

typedef struct {
    const mtn_archive *in;
    const char *const *names;
    int n;
    bool force;
} merger;

/* ------------------------------------------------------------ differences --- */

/* A disagreement between archives: refused (MTN_ECONFIG) unless m->force, then
 * logged, archive `kept`'s value kept. */
static int differ(const merger *m, int kept, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int differ(const merger *m, int kept, const char *fmt, ...) {
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (!m->force) return mtn_error_set(MTN_ECONFIG, "%s; --force merges anyway", what);
    MTN_WARN("%s; --force: keeping %s's", what, m->names[kept]);
    return MTN_OK;
}

/* up to 60 characters of s from 20 before offset pos, "..." where it is cut */
static void excerpt(char *buf, size_t size, const char *s, size_t pos) {
    size_t len = strlen(s), start = pos > 20 ? pos - 20 : 0, n = len - start < 60 ? len - start : 60;
    snprintf(buf, size, "%s%.*s%s", start ? "..." : "", (int)n, s + start, start + n < len ? "..." : "");
}

/* field (a text) of archives a and b */
static int same_text(const merger *m, int a, int b, const char *field, const char *x, const char *y) {
    x = x ? x : "";
    y = y ? y : "";
    size_t pos = 0;
    while (x[pos] && x[pos] == y[pos]) pos++;
    if (!x[pos] && !y[pos]) return MTN_OK;
    char ex[80], ey[80];
    excerpt(ex, sizeof ex, x, pos);
    excerpt(ey, sizeof ey, y, pos);
    return differ(m, a, "%s and %s differ in %s (first difference at offset %zu): \"%s\" vs \"%s\"", m->names[a],
                  m->names[b], field, pos, ex, ey);
}

/* ------------------------------------------------------------------- jobs --- */

/* a job without its runs as compact JSON text (malloc'd); the job is left whole */
static char *print_without_runs(cJSON *job) {
    cJSON *runs = cJSON_DetachItemFromObjectCaseSensitive(job, "runs");
    char *text = cJSON_PrintUnformatted(job);
    if (runs) cJSON_AddItemToObject(job, "runs", runs);
    return text;
}

static cJSON *find_job_run(const cJSON *job, const char *name, size_t len) {
    cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(job, "runs")) {
        const cJSON *rn = cJSON_GetObjectItemCaseSensitive(r, "name");
        if (cJSON_IsString(rn) && strlen(rn->valuestring) == len && strncmp(rn->valuestring, name, len) == 0) return r;
    }
    return NULL;
}

/* archive i's job against the merged one: the same but for the runs; a run of both
 * the same; a run only i's appended (*grown) */
static int merge_job(const merger *m, int i, cJSON *job, cJSON *other, bool *grown) {
    char *x = print_without_runs(job), *y = print_without_runs(other);
    int rc = x && y ? same_text(m, 0, i, "job_json (without its runs)", x, y)
                    : mtn_error_set(MTN_ENOMEM, "out of memory for a job's JSON");
    free(x);
    free(y);
    cJSON *runs = cJSON_GetObjectItemCaseSensitive(job, "runs"), *r;
    if (!rc && !cJSON_IsArray(runs) && !(runs = cJSON_AddArrayToObject(job, "runs")))
        rc = mtn_error_set(MTN_ENOMEM, "out of memory for a job's JSON");
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(other, "runs")) {
        if (rc) break;
        const cJSON *rn = cJSON_GetObjectItemCaseSensitive(r, "name");
        const char *name = cJSON_IsString(rn) ? rn->valuestring : "";
        cJSON *mine = find_job_run(job, name, strlen(name));
        if (!mine) {
            cJSON *copy = cJSON_Duplicate(r, true);
            if (!copy) rc = mtn_error_set(MTN_ENOMEM, "out of memory for a job's JSON");
            else cJSON_AddItemToArray(runs, copy);
            *grown = true;
            continue;
        }
        char field[MTN_NAME_MAX + 32];
        snprintf(field, sizeof field, "job_json (run \"%s\")", name);
        x = cJSON_PrintUnformatted(mine);
        y = cJSON_PrintUnformatted(r);
        rc = x && y ? same_text(m, 0, i, field, x, y) : mtn_error_set(MTN_ENOMEM, "out of memory for a job's JSON");
        free(x);
        free(y);
    }
    return rc;
}

/* The archives' jobs merged into out->job_json; *job: it parsed (NULL when the first
 * is no JSON object: then the texts are compared as they are). */
static int merge_jobs(const merger *m, mtn_archive *out, cJSON **job) {
    *job = cJSON_Parse(m->in[0].job_json ? m->in[0].job_json : "");
    if (*job && !cJSON_IsObject(*job)) {
        cJSON_Delete(*job);
        *job = NULL;
    }
    bool grown = false;
    int rc = MTN_OK;
    for (int i = 1; i < m->n && !rc; i++) {
        cJSON *other = *job ? cJSON_Parse(m->in[i].job_json ? m->in[i].job_json : "") : NULL;
        if (cJSON_IsObject(other)) rc = merge_job(m, i, *job, other, &grown);
        else rc = same_text(m, 0, i, "job_json", m->in[0].job_json, m->in[i].job_json);
        cJSON_Delete(other);
    }
    out->job_json = grown ? cJSON_PrintUnformatted(*job) : strdup(m->in[0].job_json ? m->in[0].job_json : "");
    if (!rc && !out->job_json) rc = mtn_error_set(MTN_ENOMEM, "out of memory for the merged job's JSON");
    return rc;
}

/* The seeds the job lists for run `name` (a search unit "<run>@...": its run's): the
 * run's "seeds", else the job's; NULL when it lists none. */
static const cJSON *job_seeds(const cJSON *job, const char *name) {
    const cJSON *run = find_job_run(job, name, strcspn(name, "@"));
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(run, "seeds");
    if (!cJSON_IsArray(s)) s = cJSON_GetObjectItemCaseSensitive(job, "seeds");
    return cJSON_IsArray(s) ? s : NULL;
}

/* ------------------------------------------------------------------ seeds --- */

/* Every field of mtn_seed_result but seed and ok (matched already) and the timings:
 * what two finished copies of a seed must agree in, over the entries in use. */
typedef enum { T_I32, T_I64, T_U32, T_F64 } field_type;
typedef enum { X_ONE, X_EPOCHS, X_CLASSES, X_MATRIX, X_FEATURES } field_extent;
typedef struct {
    const char *name;
    size_t offset;
    field_type type;
    field_extent extent;
} seed_field;
#define FIELD(f, t, x) {#f, offsetof(mtn_seed_result, f), t, x}
static const seed_field seed_fields[] = {
    FIELD(classes, T_I32, X_ONE),            FIELD(epochs, T_I32, X_ONE),
    FIELD(n_features, T_I32, X_ONE),         FIELD(accuracy, T_F64, X_ONE),
    FIELD(quadrant_accuracy, T_F64, X_ONE),  FIELD(steps, T_I64, X_ONE),
    FIELD(weights_crc, T_U32, X_ONE),        FIELD(confusion, T_I64, X_MATRIX),
    FIELD(quadrant_confusion, T_I64, X_MATRIX), FIELD(train_loss, T_F64, X_EPOCHS),
    FIELD(val_accuracy, T_F64, X_EPOCHS),    FIELD(f1, T_F64, X_CLASSES),
    FIELD(iou, T_F64, X_CLASSES),            FIELD(f1_image, T_F64, X_CLASSES),
    FIELD(iou_image, T_F64, X_CLASSES),      FIELD(r2, T_F64, X_FEATURES),
    FIELD(r2_heldout, T_F64, X_FEATURES)};
#undef FIELD

static int clamp(int v, int hi) { return v < 0 ? 0 : v > hi ? hi : v; }

static int field_entries(const seed_field *f, const mtn_seed_result *s) {
    int k = clamp(s->classes, MTN_MAX_CLASSES);
    switch (f->extent) {
    case X_ONE: return 1;
    case X_EPOCHS: return clamp(s->epochs, MTN_MAX_EPOCHS);
    case X_CLASSES: return k;
    case X_MATRIX: return k * k;
    case X_FEATURES: return clamp(s->n_features, MTN_MAX_FEATURES);
    }
    return 0;
}

static size_t type_size(field_type t) { return t == T_I32 || t == T_U32 ? 4 : 8; }

/* entry k of f in s (a matrix's entries row by row over the classes in use) */
static const void *field_entry(const seed_field *f, const mtn_seed_result *s, int k) {
    int classes = clamp(s->classes, MTN_MAX_CLASSES);
    size_t index = f->extent == X_MATRIX ? (size_t)(k / classes * MTN_MAX_CLASSES + k % classes) : (size_t)k;
    return (const char *)s + f->offset + index * type_size(f->type);
}

static void format_entry(char *buf, size_t size, field_type t, const void *p) {
    union {
        int32_t i32;
        int64_t i64;
        uint32_t u32;
        double f64;
    } v;
    memcpy(&v, p, type_size(t));
    if (t == T_I32) snprintf(buf, size, "%d", v.i32);
    else if (t == T_I64) snprintf(buf, size, "%lld", (long long)v.i64);
    else if (t == T_U32) snprintf(buf, size, "%u", v.u32);
    else snprintf(buf, size, "%.17g", v.f64);
}

/* two finished copies of a seed of run `run`, from archives a and b */
static int same_seed(const merger *m, const char *run, int a, int b, const mtn_seed_result *x,
                     const mtn_seed_result *y) {
    for (size_t i = 0; i < sizeof seed_fields / sizeof seed_fields[0]; i++) {
        const seed_field *f = &seed_fields[i];
        int n = field_entries(f, x);
        for (int k = 0; k < n; k++) {
            const void *px = field_entry(f, x, k), *py = field_entry(f, y, k);
            if (memcmp(px, py, type_size(f->type)) == 0) continue;
            char vx[32], vy[32], at[32] = "";
            format_entry(vx, sizeof vx, f->type, px);
            format_entry(vy, sizeof vy, f->type, py);
            int classes = clamp(x->classes, MTN_MAX_CLASSES);
            if (f->extent == X_MATRIX) snprintf(at, sizeof at, "[%d][%d]", k / classes, k % classes);
            else if (f->extent != X_ONE) snprintf(at, sizeof at, "[%d]", k);
            return differ(m, a, "run %s, seed %d: %s and %s both finished it, with a different %s%s: %s vs %s", run,
                          x->seed, m->names[a], m->names[b], f->name, at, vx, vy);
        }
    }
    return MTN_OK;
}

/* seed s of archive i into r (from[j]: the archive of r's seed j) */
static int add_seed(const merger *m, mtn_run_result *r, int *from, int i, const mtn_seed_result *s) {
    int j = 0;
    while (j < r->n_seeds && r->seeds[j].seed != s->seed) j++;
    if (j == r->n_seeds) r->n_seeds++;
    else if (r->seeds[j].ok == 1 || s->ok != 1)
        return r->seeds[j].ok == 1 && s->ok == 1 ? same_seed(m, r->name, from[j], i, &r->seeds[j], s) : MTN_OK;
    r->seeds[j] = *s; /* new, or finished where the one kept was not */
    from[j] = i;
    return MTN_OK;
}

typedef struct {
    int64_t rank;
    int index;
} seed_rank;

static int by_rank(const void *a, const void *b) {
    const seed_rank *x = a, *y = b;
    return (x->rank > y->rank) - (x->rank < y->rank);
}

/* r's seeds in the order of `list`, then the others ascending */
static int order_seeds(mtn_run_result *r, const cJSON *list) {
    seed_rank *key = malloc(sizeof *key * (size_t)(r->n_seeds + 1));
    mtn_seed_result *sorted = malloc(sizeof *sorted * (size_t)(r->n_seeds + 1));
    if (!key || !sorted) {
        free(key);
        free(sorted);
        return mtn_error_set(MTN_ENOMEM, "run %s: out of memory for its seeds", r->name);
    }
    int listed = cJSON_GetArraySize(list);
    for (int i = 0; i < r->n_seeds; i++) {
        key[i].index = i;
        key[i].rank = listed + ((int64_t)r->seeds[i].seed - INT32_MIN);
        int pos = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, list) {
            if (cJSON_IsNumber(e) && e->valuedouble == r->seeds[i].seed) {
                key[i].rank = pos;
                break;
            }
            pos++;
        }
    }
    qsort(key, (size_t)r->n_seeds, sizeof *key, by_rank);
    for (int i = 0; i < r->n_seeds; i++) sorted[i] = r->seeds[key[i].index];
    free(key);
    free(r->seeds);
    r->seeds = sorted;
    return MTN_OK;
}

/* ------------------------------------------------------------------- runs --- */

static bool has_finished(const mtn_run_result *r) {
    for (int i = 0; i < r->n_seeds; i++)
        if (r->seeds[i].ok == 1) return true;
    return false;
}

/* the attributes a run must agree in: x of archive `first`, y of archive i */
static int same_run(const merger *m, int first, int i, const mtn_run_result *x, const mtn_run_result *y) {
    const struct {
        const char *field, *x, *y;
    } texts[] = {{"method", mtn_method_name(x->method), mtn_method_name(y->method)},
                 {"row", x->row, y->row},
                 {"column", x->column, y->column},
                 {"task_json", x->task_json, y->task_json},
                 {"network_json", x->network_json, y->network_json},
                 {"chosen", x->chosen, y->chosen}};
    int rc = MTN_OK;
    for (size_t k = 0; k < sizeof texts / sizeof texts[0] && !rc; k++) {
        char field[MTN_NAME_MAX + 32];
        snprintf(field, sizeof field, "%s of run %s", texts[k].field, x->name);
        rc = same_text(m, first, i, field, texts[k].x, texts[k].y);
    }
    return rc;
}

/* run `name` of every archive into r: the first one's attributes, the union of the
 * seeds in the job's order, the status of the first with a finished seed */
static int merge_run(const merger *m, const char *name, const cJSON *job, mtn_run_result *r) {
    const mtn_run_result *first = NULL;
    int first_i = 0, total = 0;
    for (int i = 0; i < m->n; i++)
        for (int k = 0; k < m->in[i].n_runs; k++)
            if (strcmp(m->in[i].runs[k].name, name) == 0) {
                if (!first) first = &m->in[i].runs[k], first_i = i;
                total += m->in[i].runs[k].n_seeds;
            }
    MTN_ASSERT(first);
    *r = *first;
    r->task_json = strdup(first->task_json ? first->task_json : "");
    r->network_json = strdup(first->network_json ? first->network_json : "");
    r->seeds = malloc(sizeof *r->seeds * (size_t)(total + 1));
    r->n_seeds = 0;
    int *from = malloc(sizeof *from * (size_t)(total + 1));
    int rc = r->task_json && r->network_json && r->seeds && from
                 ? MTN_OK
                 : mtn_error_set(MTN_ENOMEM, "run %s: out of memory for %d seeds", name, total);
    bool finished = false;
    for (int i = first_i; i < m->n && !rc; i++)
        for (int k = 0; k < m->in[i].n_runs && !rc; k++) {
            const mtn_run_result *x = &m->in[i].runs[k];
            if (strcmp(x->name, name) != 0) continue;
            if (x != first) rc = same_run(m, first_i, i, first, x);
            if (!finished && (finished = has_finished(x))) snprintf(r->status, sizeof r->status, "%s", x->status);
            for (int s = 0; s < x->n_seeds && !rc; s++) rc = add_seed(m, r, from, i, &x->seeds[s]);
        }
    free(from);
    if (!rc) rc = order_seeds(r, job_seeds(job, name));
    return rc;
}

/* ------------------------------------------------------------ environment --- */

/* the first archive's environment, a layout naming every archive's; host and
 * created empty (the writer fills them in) */
static void merge_environment(const merger *m, mtn_archive *out) {
    const mtn_archive *a = &m->in[0];
    snprintf(out->job_name, sizeof out->job_name, "%s", a->job_name);
    snprintf(out->job_file, sizeof out->job_file, "%s", a->job_file);
    out->table = a->table;
    snprintf(out->column, sizeof out->column, "%s", a->column);
    snprintf(out->source, sizeof out->source, "%s", a->source);
    snprintf(out->mtneuro_version, sizeof out->mtneuro_version, "%s", a->mtneuro_version);
    snprintf(out->git_commit, sizeof out->git_commit, "%s", a->git_commit);
    out->world_size = a->world_size;
    out->ranks_per_seed = a->ranks_per_seed;
    out->seed_groups = a->seed_groups;
    out->threads = a->threads;
    size_t size = sizeof out->layout, at = (size_t)snprintf(out->layout, size,
                                                            "merged by mtneuro aggregate from %d archive%s: ", m->n,
                                                            m->n == 1 ? "" : "s");
    for (int i = 0; i < m->n && at < size; i++)
        at += (size_t)snprintf(out->layout + at, size - at, "%s%s", i ? " | " : "", m->in[i].layout);
    if (at >= size) memcpy(out->layout + size - 4, "...", 4);
}

static int same_environment(const merger *m, int i) {
    const mtn_archive *x = &m->in[0], *y = &m->in[i];
    const struct {
        const char *field, *x, *y;
    } texts[] = {{"source", x->source, y->source},
                 {"mtneuro_version", x->mtneuro_version, y->mtneuro_version},
                 {"git_commit", x->git_commit, y->git_commit},
                 {"table", mtn_table_name(x->table), mtn_table_name(y->table)},
                 {"column", x->column, y->column}};
    int rc = MTN_OK;
    for (size_t k = 0; k < sizeof texts / sizeof texts[0] && !rc; k++)
        rc = same_text(m, 0, i, texts[k].field, texts[k].x, texts[k].y);
    return rc;
}

int mtn_archive_merge(const mtn_archive *in, const char *const *names, int n, bool force, mtn_archive *out) {
    memset(out, 0, sizeof *out);
    if (n < 1) return mtn_error_set(MTN_EUSAGE, "no result archives to merge");
    MTN_ASSERT(in && names);
    const merger m = {in, names, n, force};
    int rc = MTN_OK, total = 0;
    for (int i = 1; i < n && !rc; i++) rc = same_environment(&m, i);
    cJSON *job = NULL;
    if (!rc) rc = merge_jobs(&m, out, &job);
    if (!rc) merge_environment(&m, out);
    for (int i = 0; i < n; i++) total += in[i].n_runs;
    if (!rc && !(out->runs = calloc((size_t)total + 1, sizeof *out->runs)))
        rc = mtn_error_set(MTN_ENOMEM, "out of memory for %d runs", total);
    for (int i = 0; i < n && !rc; i++)
        for (int k = 0; k < in[i].n_runs && !rc; k++) {
            const char *name = in[i].runs[k].name;
            bool seen = false;
            for (int j = 0; j < out->n_runs && !seen; j++) seen = strcmp(out->runs[j].name, name) == 0;
            if (!seen) rc = merge_run(&m, name, job, &out->runs[out->n_runs++]);
        }
    cJSON_Delete(job);
    if (rc) mtn_archive_free(out);
    return rc;
}
