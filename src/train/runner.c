/* runner.c — a job from start to archive (see train.h): stage each task's data
 * once, split the world into seed groups, train and evaluate every (run, seed) in
 * the group that owns the seed, gather every result to world rank 0, and write the
 * result archive and the paper-style report there. */
#define _GNU_SOURCE /* sched_getaffinity */
#include <cjson/cJSON.h>
#include <sched.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "runner_internal.h"

/* One unit of work: a run of the job, or one value of a run's mixup search. */
typedef struct {
    mtn_run_config cfg;       /* the run, with the searched value set */
    int job_run;              /* index of the job's run */
    int search_value;         /* -1, or the index in search.mixup_prob */
    char staged[MTN_PATH_MAX];
    mtn_run_result result;
} work;

static uint32_t json_crc(cJSON *j) {
    char *s = cJSON_PrintUnformatted(j);
    uint32_t c = s ? (uint32_t)crc32(0L, (const Bytef *)s, (uInt)strlen(s)) : 0;
    cJSON_free(s);
    cJSON_Delete(j);
    return c;
}

void run_fingerprint(const seed_job *j, char *buf, size_t size) {
    snprintf(buf, size, "run=%s method=%s seed=%d task=%08x network=%08x", j->run->name,
             mtn_method_name(j->run->method), j->seed, json_crc(mtn_task_to_json(&j->run->task)),
             json_crc(mtn_network_to_json(&j->run->net)));
}

static char *json_text(cJSON *j) {
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    char *copy = s ? strdup(s) : NULL;
    cJSON_free(s);
    return copy;
}

static int make_dirs(const char *path) {
    char buf[MTN_PATH_MAX];
    if (mtn_format_path(buf, sizeof buf, "%s", path)) return MTN_EUSAGE;
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return mtn_error_set(MTN_EIO, "%s: cannot create the directory (%s)", buf, strerror(errno));
            *p = c;
            if (!c) break;
        }
    }
    return MTN_OK;
}

static bool trains(mtn_method m) {
    return m == MTN_METHOD_SUPERVISED || m == MTN_METHOD_MIXUP || m == MTN_METHOD_PCA || m == MTN_METHOD_NMF;
}

/* The staged file of a task: one per task name x downsample x source. */
static int staged_path(const char *out_dir, const mtn_task_config *t, const char *source, char *buf, size_t n) {
    uint32_t c = json_crc(mtn_task_to_json(t));
    return mtn_format_path(buf, n, "%s/staged/%s-ds%d-%s-%08x.h5", out_dir, t->name, t->downsample,
                           strcmp(source, "phantom") == 0 ? "phantom" : "remote", c);
}

static int stage_all(work *w, int n, const char *out_dir, const char *source, const mtn_run_opts *o,
                     MPI_Comm world) {
    if (o->data) { /* a staged file given: no staging */
        for (int i = 0; i < n; i++)
            if (mtn_format_path(w[i].staged, sizeof w[i].staged, "%s", o->data)) return MTN_EUSAGE;
        return MTN_OK;
    }
    mtn_bossdb_options bo;
    mtn_bossdb_default_options(&bo);
    mtn_source *src = NULL;
    int rc = MTN_OK, opened = 0;
    for (int i = 0; i < n && !rc; i++) {
        if (!trains(w[i].cfg.method)) continue;
        rc = staged_path(out_dir, &w[i].cfg.task, source, w[i].staged, sizeof w[i].staged);
        if (rc) break;
        bool seen = false;
        for (int k = 0; k < i && !seen; k++) seen = strcmp(w[k].staged, w[i].staged) == 0;
        if (seen) continue;
        if (!opened) {
            rc = mtn_source_open(source, &bo, &src);
            rc = mtn_agree(rc, world);
            opened = 1;
            if (rc) break;
        }
        mtn_stage_report rep;
        memset(&rep, 0, sizeof rep);
        rc = mtn_stage(&w[i].cfg.task, src, w[i].staged, world, &rep);
        if (!rc && !o->quiet && mtn_log_rank() == 0) {
            if (rep.was_complete) printf("stage: %s is staged already (%lld tiles)\n", w[i].staged, (long long)rep.tiles_total);
            else
                printf("stage: %s: %lld tiles, %.1f MB from %s in %.1f s\n", w[i].staged, (long long)rep.tiles_total,
                       (double)rep.bytes_fetched / 1e6, source, rep.seconds);
            fflush(stdout);
        }
    }
    mtn_source_free(src);
    return rc;
}

/* The units of work: the job's runs, a mixup search expanded into one per value. */
static int expand(const mtn_job_config *job, const mtn_run_opts *o, work **out, int *n_out) {
    int n = 0;
    for (int r = 0; r < job->n_runs; r++)
        n += job->runs[r].method == MTN_METHOD_MIXUP && job->runs[r].search.n_mixup_prob > 0
                 ? job->runs[r].search.n_mixup_prob
                 : 1;
    work *w = n > 0 && n <= MTN_MAX_RUNS * MTN_MAX_LIST ? calloc((size_t)n, sizeof *w) : NULL;
    if (!w) return mtn_error_set(MTN_ENOMEM, "out of memory");
    int at = 0;
    for (int r = 0; r < job->n_runs; r++) {
        const mtn_run_config *run = &job->runs[r];
        int values = run->method == MTN_METHOD_MIXUP && run->search.n_mixup_prob > 0 ? run->search.n_mixup_prob : 0;
        for (int v = 0; v < (values ? values : 1); v++, at++) {
            w[at].cfg = *run;
            w[at].job_run = r;
            w[at].search_value = values ? v : -1;
            if (values) {
                w[at].cfg.net.mixup_prob = run->search.mixup_prob[v];
                snprintf(w[at].cfg.name, sizeof w[at].cfg.name, "%.36s@mixup_prob=%g", run->name,
                         run->search.mixup_prob[v]);
            }
            if (o->n_seeds > 0) {
                memcpy(w[at].cfg.seeds, o->seeds, sizeof(int) * (size_t)o->n_seeds);
                w[at].cfg.n_seeds = o->n_seeds;
            }
        }
    }
    *out = w;
    *n_out = n;
    return MTN_OK;
}

static int run_seed(work *w, int seed_index, const mtn_layout *lay, const mtn_run_opts *o, const char *out_dir,
                    mtn_dataset *data, mtn_seed_result *res) {
    seed_job j;
    memset(&j, 0, sizeof j);
    j.run = &w->cfg;
    j.seed = w->cfg.seeds[seed_index];
    j.data = data;
    j.comm = lay->group_comm;
    MPI_Comm_rank(j.comm, &j.rank);
    MPI_Comm_size(j.comm, &j.size);
    j.threads = o->threads;
    if (mtn_format_path(j.ckpt_path, sizeof j.ckpt_path, "%s/checkpoints/%s-seed%d.h5", out_dir, w->cfg.name, j.seed) ||
        mtn_format_path(j.final_path, sizeof j.final_path, "%s/weights/%s-seed%d.h5", out_dir, w->cfg.name, j.seed))
        return MTN_EUSAGE;
    j.checkpoint_every = o->checkpoint_every;
    j.resume = o->resume;
    j.progress = !o->quiet && lay->world_rank == 0;
    int rc = w->cfg.method == MTN_METHOD_PCA || w->cfg.method == MTN_METHOD_NMF ? train_baseline(&j, res)
                                                                               : train_supervised(&j, res);
    if (!rc && j.rank == 0)
        mtn_log(MTN_LOG_INFO, "%s seed %d: accuracy %.4f, quadrant accuracy %.4f (%.1f s)", w->cfg.name, j.seed,
                res->accuracy, res->quadrant_accuracy, res->train_seconds + res->eval_seconds);
    return rc;
}

/* Trains this group's seeds of every unit; results land in w[i].result.seeds. */
static int train_all(work *w, int n, const mtn_layout *lay, const mtn_run_opts *o, const char *out_dir) {
    int rc = MTN_OK;
    for (int i = 0; i < n && !rc; i++) {
        mtn_run_result *r = &w[i].result;
        r->n_seeds = w[i].cfg.n_seeds;
        r->seeds = calloc((size_t)r->n_seeds + 1, sizeof *r->seeds);
        if (!r->seeds) return mtn_error_set(MTN_ENOMEM, "out of memory");
        if (!trains(w[i].cfg.method) || lay->group < 0) continue;
        bool mine = false;
        for (int s = 0; s < r->n_seeds; s++) mine = mine || mtn_layout_owns(lay, s);
        if (!mine) continue;
        mtn_dataset *data = NULL;
        rc = mtn_dataset_open(w[i].staged, &w[i].cfg.task, &data);
        rc = mtn_agree(rc, lay->group_comm);
        for (int s = 0; s < r->n_seeds && !rc; s++)
            if (mtn_layout_owns(lay, s)) rc = run_seed(&w[i], s, lay, o, out_dir, data, &r->seeds[s]);
        mtn_dataset_free(data);
    }
    return rc;
}

/* Every (unit, seed) result to world rank 0, from the rank 0 of the group that
 * trained it. */
static void gather(work *w, int n, const mtn_layout *lay, MPI_Comm world) {
    int tag = 0;
    for (int i = 0; i < n; i++) {
        if (!trains(w[i].cfg.method)) continue;
        for (int s = 0; s < w[i].result.n_seeds; s++, tag++) {
            int owner = (s % lay->groups) * lay->ranks_per_seed; /* world rank of the group's rank 0 */
            mtn_seed_result *res = &w[i].result.seeds[s];
            if (owner == 0) continue;
            if (lay->world_rank == owner)
                MPI_Send(res, (int)sizeof *res, MPI_BYTE, 0, tag % 30000, world);
            else if (lay->world_rank == 0)
                MPI_Recv(res, (int)sizeof *res, MPI_BYTE, owner, tag % 30000, world, MPI_STATUS_IGNORE);
        }
    }
}

static double mean_final_val(const mtn_run_result *r) {
    double s = 0;
    int n = 0;
    for (int k = 0; k < r->n_seeds; k++)
        if (r->seeds[k].ok && r->seeds[k].epochs > 0) {
            s += r->seeds[k].val_accuracy[r->seeds[k].epochs - 1];
            n++;
        }
    return n ? s / n : -1.0;
}

/* Fills the archive on world rank 0: every unit, and for each mixup search the
 * value with the best mean final validation accuracy, under the run's own name. */
static int build_archive(const mtn_job_config *job, work *w, int n, const mtn_layout *lay, const mtn_run_opts *o,
                         const char *layout_text, const char *source, mtn_archive *a) {
    memset(a, 0, sizeof *a);
    snprintf(a->job_name, sizeof a->job_name, "%s", job->name);
    snprintf(a->job_file, sizeof a->job_file, "%s", job->file);
    a->table = job->table;
    snprintf(a->column, sizeof a->column, "%s", job->column);
    snprintf(a->source, sizeof a->source, "%s", source);
    a->job_json = json_text(mtn_job_to_json(job));
    snprintf(a->mtneuro_version, sizeof a->mtneuro_version, "%s", mtn_version());
    snprintf(a->git_commit, sizeof a->git_commit, "%s", mtn_git_commit());
    gethostname(a->host, sizeof a->host - 1);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(a->created, sizeof a->created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(a->layout, sizeof a->layout, "%s", layout_text);
    a->world_size = lay->world_size;
    a->ranks_per_seed = lay->ranks_per_seed;
    a->seed_groups = lay->groups;
    a->threads = o->threads;
    int searches = 0;
    for (int i = 0; i < n; i++) searches += w[i].search_value == 0;
    size_t slots = (size_t)n + (size_t)searches;
    a->runs = slots <= MTN_MAX_RUNS * MTN_MAX_LIST ? calloc(slots, sizeof *a->runs) : NULL;
    if (!a->runs) return mtn_error_set(MTN_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        mtn_run_result *r = &a->runs[a->n_runs++];
        *r = w[i].result;
        w[i].result.seeds = NULL; /* moved */
        snprintf(r->name, sizeof r->name, "%s", w[i].cfg.name);
        r->method = w[i].cfg.method;
        snprintf(r->row, sizeof r->row, "%s", w[i].search_value >= 0 ? "" : w[i].cfg.row);
        snprintf(r->column, sizeof r->column, "%s", w[i].cfg.column);
        r->task_json = json_text(mtn_task_to_json(&w[i].cfg.task));
        r->network_json = json_text(mtn_network_to_json(&w[i].cfg.net));
        if (trains(w[i].cfg.method)) snprintf(r->status, sizeof r->status, "ok");
        else
            snprintf(r->status, sizeof r->status, "not built: the %s method arrives with a later issue",
                     mtn_method_name(w[i].cfg.method));
    }
    /* the chosen value of each search, as the run itself */
    for (int i = 0; i < n; i++) {
        if (w[i].search_value != 0) continue;
        int best = i;
        for (int k = i; k < n && w[k].job_run == w[i].job_run; k++)
            if (mean_final_val(&a->runs[k]) > mean_final_val(&a->runs[best])) best = k;
        const mtn_run_config *run = &job->runs[w[i].job_run];
        mtn_run_result *r = &a->runs[a->n_runs++];
        *r = a->runs[best];
        r->seeds = malloc(sizeof *r->seeds * (size_t)(r->n_seeds + 1));
        if (!r->seeds) return mtn_error_set(MTN_ENOMEM, "out of memory");
        memcpy(r->seeds, a->runs[best].seeds, sizeof *r->seeds * (size_t)r->n_seeds);
        r->task_json = strdup(a->runs[best].task_json);
        r->network_json = strdup(a->runs[best].network_json);
        snprintf(r->name, sizeof r->name, "%s", run->name);
        snprintf(r->row, sizeof r->row, "%s", run->row);
        snprintf(r->status, sizeof r->status, "ok: mixup_prob %g chosen on validation (mean final val accuracy %.4f)",
                 w[best].cfg.net.mixup_prob, mean_final_val(&a->runs[best]));
    }
    return MTN_OK;
}

int mtn_run_job(const mtn_job_config *job, const mtn_run_opts *opts, MPI_Comm world) {
    mtn_run_opts o = *opts;
    int world_size;
    MPI_Comm_size(world, &world_size);
    const char *source = o.source ? o.source : job->source[0] ? job->source : "https://api.bossdb.io";
    char out_dir[MTN_PATH_MAX];
    if (o.out_dir) snprintf(out_dir, sizeof out_dir, "%s", o.out_dir);
    else snprintf(out_dir, sizeof out_dir, "results/%s", job->name);
    work *w = NULL;
    int n = 0, max_seeds = 1;
    int rc = expand(job, &o, &w, &n);
    for (int i = 0; !rc && i < n; i++)
        if (w[i].cfg.n_seeds > max_seeds) max_seeds = w[i].cfg.n_seeds;
    mtn_layout lay;
    memset(&lay, 0, sizeof lay);
    lay.group_comm = MPI_COMM_NULL;
    if (!rc) rc = mtn_layout_make(world, max_seeds, o.ranks_per_seed, &lay);
    if (!rc && o.threads == 0) o.threads = lay.ranks_per_seed > 1 || world_size > 1 ? 1 : 2;
    cpu_set_t cpus;
    if (!rc && sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) < o.threads)
        mtn_log(MTN_LOG_WARN,
                "%d threads per rank, but this rank may run on %d CPU%s only (the launcher bound it): launch with "
                "mpirun --map-by slot:PE=%d (or --bind-to none), srun --cpus-per-task=%d",
                o.threads, CPU_COUNT(&cpus), CPU_COUNT(&cpus) == 1 ? "" : "s", o.threads, o.threads);
    char layout_text[256] = "";
    if (!rc) {
        const int *seeds = w[0].cfg.seeds;
        for (int i = 0; i < n; i++)
            if (w[i].cfg.n_seeds == max_seeds) seeds = w[i].cfg.seeds;
        mtn_layout_describe(&lay, seeds, max_seeds, layout_text, sizeof layout_text);
        if (!o.quiet && lay.world_rank == 0) {
            printf("run: job %s (%d run%s), %s, %d thread%s per rank; results in %s\n", job->name, job->n_runs,
                   job->n_runs == 1 ? "" : "s", layout_text, o.threads, o.threads == 1 ? "" : "s", out_dir);
            fflush(stdout);
        }
    }
    if (!rc && lay.world_rank == 0) {
        char sub[MTN_PATH_MAX + 16];
        const char *dirs[] = {"staged", "checkpoints", "weights"};
        for (int k = 0; k < 3 && !rc; k++) {
            snprintf(sub, sizeof sub, "%s/%s", out_dir, dirs[k]);
            rc = make_dirs(sub);
        }
    }
    rc = mtn_agree(rc, world);
    if (!rc) rc = stage_all(w, n, out_dir, source, &o, world);
    if (!rc) rc = train_all(w, n, &lay, &o, out_dir);
    rc = mtn_agree(rc, world);
    if (!rc) gather(w, n, &lay, world);
    if (!rc && lay.world_rank == 0) {
        mtn_archive a;
        rc = build_archive(job, w, n, &lay, &o, layout_text, source, &a);
        char path[MTN_PATH_MAX + 128];
        if (o.archive) snprintf(path, sizeof path, "%s", o.archive);
        else snprintf(path, sizeof path, "%s/%s.h5", out_dir, job->name);
        if (!rc) rc = mtn_archive_write(path, &a);
        if (!rc && !o.quiet) {
            printf("run: results archive %s\n\n", path);
            mtn_report(stdout, &a, 1, MTN_REPORT_MD);
            fflush(stdout);
        }
        mtn_archive_free(&a);
    }
    rc = mtn_agree(rc, world);
    for (int i = 0; w && i < n; i++) free(w[i].result.seeds);
    free(w);
    mtn_layout_free(&lay);
    return rc;
}
