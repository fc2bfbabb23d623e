/* runner.c — a job from start to archive (see train.h): stage each task's data
 * once, split the world into seed groups, train and evaluate every (run, seed) in
 * the group that owns the seed, gather every result to world rank 0, and write the
 * result archive and the paper-style report there.
 *
 * Work goes in three phases: (0) every run that needs nothing else, and the grid
 * points of learning-rate x batch searches (first seed only, scored on validation);
 * (1) each search's run at its chosen point, every seed; (2) Task 3 readouts, whose
 * encoders phases 0 and 1 may have trained. */
#define _GNU_SOURCE /* sched_getaffinity */
#include <cjson/cJSON.h>
#include <sched.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "runner_internal.h"

/* One unit of work: a run of the job, one value of a run's mixup search, one point
 * of a run's learning-rate x batch grid, or the run a grid search chose. */
typedef enum { UNIT_RUN, UNIT_MIXUP_VALUE, UNIT_GRID_POINT, UNIT_GRID_CHOSEN } unit_kind;

typedef struct {
    mtn_run_config cfg;       /* the run, with the searched value set */
    int job_run;              /* index of the job's run */
    unit_kind kind;
    int search_value;         /* index of the value or grid point (-1 for the others) */
    int phase;                /* 0, 1 or 2: see above */
    char staged[MTN_PATH_MAX];
    char encoder_dir[MTN_PATH_MAX]; /* readout: where its encoder's weights are */
    int group_offset;         /* seed s goes to group (s + offset) mod groups */
    int chosen_unit;          /* set after phase 0: a grid's chosen unit, the grid point it
                                 trains; a mixup search's first value, the value chosen */
    mtn_run_result result;
} work;

static int owner_group(const work *u, int seed_index, const mtn_layout *lay) {
    return (seed_index + u->group_offset) % lay->groups;
}

static uint32_t json_crc(cJSON *j) {
    char *s = cJSON_PrintUnformatted(j);
    uint32_t c = s ? (uint32_t)crc32(0L, (const Bytef *)s, (uInt)strlen(s)) : 0;
    cJSON_free(s);
    cJSON_Delete(j);
    return c;
}

int compute_on_group_root(seed_job *j, mtn_seed_result *res, int (*compute)(seed_job *, mtn_seed_result *)) {
    memset(res, 0, sizeof *res);
    int rc = j->rank == 0 ? compute(j, res) : MTN_OK;
    rc = mtn_agree(rc, j->comm);
    if (rc) return rc;
    MPI_Bcast(res, (int)sizeof *res, MPI_BYTE, 0, j->comm);
    res->seed = j->seed;
    res->ok = 1;
    return MTN_OK;
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

static bool built(mtn_method m) {
    return m == MTN_METHOD_SUPERVISED || m == MTN_METHOD_MIXUP || m == MTN_METHOD_PCA || m == MTN_METHOD_NMF ||
           m == MTN_METHOD_SEGMENT;
}

/* Whether the unit has numbers to produce: its method is built, and a readout's
 * encoder is one we train, or a checkpoint it names. */
static bool trains(const mtn_run_config *c) {
    if (c->method == MTN_METHOD_READOUT) return built(c->encoder_method) || c->encoder_checkpoint[0];
    return built(c->method);
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
        if (!trains(&w[i].cfg)) continue;
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

static int grid_points(const mtn_search *s) {
    if (s->n_learning_rate == 0 && s->n_batch_size == 0) return 0;
    return (s->n_learning_rate ? s->n_learning_rate : 1) * (s->n_batch_size ? s->n_batch_size : 1);
}

static int mixup_values(const mtn_run_config *run) {
    return run->method == MTN_METHOD_MIXUP ? run->search.n_mixup_prob : 0;
}

/* The point p of a run's grid: its learning rate and batch (the run's own where the
 * grid does not vary them). */
static void grid_point(const mtn_run_config *run, int p, double *lr, int *batch) {
    const mtn_search *s = &run->search;
    int nb = s->n_batch_size ? s->n_batch_size : 1;
    *lr = s->n_learning_rate ? s->learning_rate[p / nb] : run->net.learning_rate;
    *batch = s->n_batch_size ? s->batch_size[p % nb] : run->net.batch_size;
}

/* Where a readout's encoder weights are: this job's weights, or the encoder job's
 * under results/<job> (the default output directory). */
static int encoder_dir(const mtn_job_config *job, const mtn_run_config *r, const char *out_dir, char *buf, size_t n) {
    if (strcmp(r->encoder_job_name, job->name) == 0) return mtn_format_path(buf, n, "%s/weights", out_dir);
    return mtn_format_path(buf, n, "results/%s/weights", r->encoder_job_name);
}

/* The units of work: the job's runs, a mixup search expanded into one per value, a
 * grid search into its points and the chosen run. */
static int expand(const mtn_job_config *job, const mtn_run_opts *o, const char *out_dir, work **out, int *n_out) {
    int n = 0;
    for (int r = 0; r < job->n_runs; r++) {
        const mtn_run_config *run = &job->runs[r];
        n += mixup_values(run) ? mixup_values(run) : grid_points(&run->search) ? grid_points(&run->search) + 1 : 1;
    }
    work *w = n > 0 && n <= MTN_MAX_RUNS * (MTN_MAX_LIST * MTN_MAX_LIST + 1) ? calloc((size_t)n, sizeof *w) : NULL;
    if (!w) return mtn_error_set(MTN_ENOMEM, "out of memory");
    int at = 0, rc = MTN_OK;
    for (int r = 0; r < job->n_runs && !rc; r++) {
        const mtn_run_config *run = &job->runs[r];
        int mix = mixup_values(run), grid = mix ? 0 : grid_points(&run->search);
        int units = mix ? mix : grid ? grid + 1 : 1;
        for (int v = 0; v < units; v++, at++) {
            work *u = &w[at];
            u->cfg = *run;
            u->job_run = r;
            if (o->n_seeds > 0) {
                memcpy(u->cfg.seeds, o->seeds, sizeof(int) * (size_t)o->n_seeds);
                u->cfg.n_seeds = o->n_seeds;
            }
            u->kind = mix ? UNIT_MIXUP_VALUE : grid && v < grid ? UNIT_GRID_POINT : grid ? UNIT_GRID_CHOSEN : UNIT_RUN;
            u->search_value = u->kind == UNIT_MIXUP_VALUE || u->kind == UNIT_GRID_POINT ? v : -1;
            u->phase = run->method == MTN_METHOD_READOUT ? 2 : u->kind == UNIT_GRID_CHOSEN ? 1 : 0;
            if (u->kind == UNIT_MIXUP_VALUE) {
                u->cfg.net.mixup_prob = run->search.mixup_prob[v];
                snprintf(u->cfg.name, sizeof u->cfg.name, "%.36s@mixup_prob=%g", run->name, run->search.mixup_prob[v]);
            } else if (u->kind == UNIT_GRID_POINT) { /* scored on validation with the first seed */
                grid_point(run, v, &u->cfg.net.learning_rate, &u->cfg.net.batch_size);
                if (u->cfg.net.batch_size % u->cfg.net.micro_batch)
                    u->cfg.net.micro_batch = mtn_default_micro_batch(u->cfg.net.batch_size);
                snprintf(u->cfg.name, sizeof u->cfg.name, "%.32s@lr=%g,batch=%d", run->name, u->cfg.net.learning_rate,
                         u->cfg.net.batch_size);
                u->cfg.n_seeds = 1;
                u->group_offset = v; /* the grid points spread over the seed groups */
            }
            if (run->method == MTN_METHOD_READOUT && !run->encoder_checkpoint[0])
                rc = encoder_dir(job, run, out_dir, u->encoder_dir, sizeof u->encoder_dir);
            if (!trains(&u->cfg)) continue; /* not built: no seeds, not even zeros (S = 0, mtn/results.h) */
            u->result.n_seeds = u->cfg.n_seeds;
            u->result.seeds = calloc((size_t)u->cfg.n_seeds + 1, sizeof *u->result.seeds);
            if (!u->result.seeds) rc = mtn_error_set(MTN_ENOMEM, "out of memory");
        }
    }
    *out = w;
    *n_out = at;
    return rc;
}

/* The readout's encoder weights of one seed. */
static int encoder_path(const work *w, int seed, char *buf, size_t n) {
    const mtn_run_config *c = &w->cfg;
    if (c->encoder_method == MTN_METHOD_PCA || c->encoder_method == MTN_METHOD_NMF) {
        buf[0] = '\0';
        return MTN_OK;
    }
    if (c->encoder_checkpoint[0]) {
        const char *at = strstr(c->encoder_checkpoint, "{seed}");
        return mtn_format_path(buf, n, "%.*s%d%s", (int)(at - c->encoder_checkpoint), c->encoder_checkpoint, seed,
                               at + strlen("{seed}"));
    }
    return mtn_format_path(buf, n, "%s/%s-seed%d.h5", w->encoder_dir, c->encoder_run, seed);
}


/* Before anything trains: the weights every readout reads that this job does not
 * make exist (an imported checkpoint, another job's encoder), for every seed. */
static int check_encoders(const work *w, int n, const mtn_job_config *job) {
    for (int i = 0; i < n; i++) {
        const mtn_run_config *c = &w[i].cfg;
        if (c->method != MTN_METHOD_READOUT || !trains(c)) continue;
        bool made_here = false; /* by a run of this job (which --runs may have left out) */
        for (int r = 0; r < job->n_runs && !c->encoder_checkpoint[0]; r++)
            made_here = made_here || (strcmp(c->encoder_job_name, job->name) == 0 &&
                                      strcmp(job->runs[r].name, c->encoder_run) == 0);
        if (made_here) continue;
        for (int s = 0; s < c->n_seeds; s++) {
            char path[MTN_PATH_MAX];
            int rc = encoder_path(&w[i], c->seeds[s], path, sizeof path);
            if (rc) return rc;
            if (path[0] && access(path, R_OK) != 0)
                return mtn_error_set(MTN_EIO, "run %s: the encoder weights %s cannot be read (%s)%s%s%s", c->name,
                                     path, strerror(errno), c->encoder_checkpoint[0] ? "" : ": run the job ",
                                     c->encoder_checkpoint[0] ? "" : c->encoder_job,
                                     c->encoder_checkpoint[0] ? "" : " first (its results under results/<job>)");
        }
    }
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
    j.progress = !o->quiet && j.rank == 0 && (lay->world_rank == 0 || w->group_offset > 0);
    int rc = encoder_path(w, j.seed, j.encoder_path, sizeof j.encoder_path);
    if (rc) return rc;
    switch (w->cfg.method) {
    case MTN_METHOD_PCA:
    case MTN_METHOD_NMF: rc = train_baseline(&j, res); break;
    case MTN_METHOD_READOUT: rc = train_readout(&j, res); break;
    default: rc = train_supervised(&j, res); break;
    }
    if (rc || j.rank != 0) return rc;
    double secs = res->train_seconds + res->eval_seconds;
    if (w->cfg.method == MTN_METHOD_READOUT)
        mtn_log(MTN_LOG_INFO, "%s seed %d: R2 in-sample %.3f %.3f %.3f %.3f %.3f, held-out %.3f %.3f %.3f %.3f %.3f (%.1f s)",
                w->cfg.name, j.seed, res->r2[0], res->r2[1], res->r2[2], res->r2[3], res->r2[4], res->r2_heldout[0],
                res->r2_heldout[1], res->r2_heldout[2], res->r2_heldout[3], res->r2_heldout[4], secs);
    else if (w->cfg.method == MTN_METHOD_SEGMENT)
        mtn_log(MTN_LOG_INFO, "%s seed %d: pixel accuracy %.4f, F1 %.3f %.3f %.3f %.3f (%.1f s)", w->cfg.name, j.seed,
                res->accuracy, res->f1[0], res->f1[1], res->f1[2], res->classes > 3 ? res->f1[3] : NAN, secs);
    else
        mtn_log(MTN_LOG_INFO, "%s seed %d: accuracy %.4f, quadrant accuracy %.4f (%.1f s)", w->cfg.name, j.seed,
                res->accuracy, res->quadrant_accuracy, secs);
    return MTN_OK;
}

static bool owns(const work *u, int seed_index, const mtn_layout *lay) {
    return lay->group >= 0 && owner_group(u, seed_index, lay) == lay->group;
}

/* Trains this group's seeds of every unit of the phase; results land in
 * w[i].result.seeds. */
static int train_all(work *w, int n, int phase, const mtn_layout *lay, const mtn_run_opts *o, const char *out_dir) {
    int rc = MTN_OK;
    for (int i = 0; i < n && !rc; i++) {
        mtn_run_result *r = &w[i].result;
        if (w[i].phase != phase || !trains(&w[i].cfg) || lay->group < 0) continue;
        bool mine = false;
        for (int s = 0; s < r->n_seeds; s++) mine = mine || owns(&w[i], s, lay);
        if (!mine) continue;
        mtn_dataset *data = NULL;
        rc = mtn_dataset_open(w[i].staged, &w[i].cfg.task, &data);
        rc = mtn_agree(rc, lay->group_comm);
        for (int s = 0; s < r->n_seeds && !rc; s++)
            if (owns(&w[i], s, lay)) rc = run_seed(&w[i], s, lay, o, out_dir, data, &r->seeds[s]);
        mtn_dataset_free(data);
    }
    return rc;
}

/* Every (unit, seed) result of the phase to world rank 0, from the rank 0 of the
 * group that trained it. */
static void gather(work *w, int n, int phase, const mtn_layout *lay, MPI_Comm world) {
    int tag = 0;
    for (int i = 0; i < n; i++) {
        if (w[i].phase != phase || !trains(&w[i].cfg)) continue;
        for (int s = 0; s < w[i].result.n_seeds; s++, tag++) {
            int owner = owner_group(&w[i], s, lay) * lay->ranks_per_seed; /* world rank of the group's rank 0 */
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

/* The best of the search units [first, first + count): the best mean final
 * validation score, the first on ties. */
static int best_of(const work *w, int first, int count) {
    int best = first;
    for (int k = first; k < first + count; k++)
        if (mean_final_val(&w[k].result) > mean_final_val(&w[best].result)) best = k;
    return best;
}

/* Units [first, first + count) of the same run and kind from `first` on. */
static int search_units(const work *w, int n, int first, unit_kind kind) {
    int count = 0;
    while (first + count < n && w[first + count].kind == kind && w[first + count].job_run == w[first].job_run) count++;
    return count;
}

/* After phase 0: world rank 0 picks each search's best unit and every rank learns
 * it; a grid's chosen unit takes that point's learning rate and batch. */
static void choose_searches(work *w, int n, const mtn_layout *lay, MPI_Comm world) {
    for (int i = 0; i < n; i++) {
        bool mixup = w[i].kind == UNIT_MIXUP_VALUE && w[i].search_value == 0;
        bool grid = w[i].kind == UNIT_GRID_POINT && w[i].search_value == 0;
        if (!mixup && !grid) continue;
        int count = search_units(w, n, i, w[i].kind);
        int best = lay->world_rank == 0 ? best_of(w, i, count) : 0;
        MPI_Bcast(&best, 1, MPI_INT, 0, world);
        if (mixup) {
            w[i].chosen_unit = best;
            continue;
        }
        work *c = &w[i + count]; /* the grid's chosen unit follows its points */
        c->cfg.net.learning_rate = w[best].cfg.net.learning_rate;
        c->cfg.net.batch_size = w[best].cfg.net.batch_size;
        c->cfg.net.micro_batch = w[best].cfg.net.micro_batch;
        c->chosen_unit = best;
    }
}

/* Copies a file (the chosen mixup value's weights under the run's own name, where
 * a readout looks for them): a hard link where the file system allows. */
static int copy_file(const char *from, const char *to) {
    remove(to);
    if (link(from, to) == 0) return MTN_OK;
    FILE *in = fopen(from, "rb");
    if (!in) return mtn_error_set(MTN_EIO, "%s: cannot open (%s)", from, strerror(errno));
    char tmp[MTN_PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp", to);
    FILE *out = fopen(tmp, "wb");
    int rc = out ? MTN_OK : mtn_error_set(MTN_EIO, "%s: cannot create (%s)", tmp, strerror(errno));
    char buf[1 << 16];
    size_t got;
    while (!rc && (got = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, got, out) != got) rc = mtn_error_set(MTN_EIO, "%s: write failed (%s)", tmp, strerror(errno));
    if (!rc && ferror(in)) rc = mtn_error_set(MTN_EIO, "%s: read failed", from);
    fclose(in);
    if (out && fclose(out) != 0 && !rc) rc = mtn_error_set(MTN_EIO, "%s: write failed (%s)", tmp, strerror(errno));
    if (!rc && rename(tmp, to) != 0) rc = mtn_error_set(MTN_EIO, "%s: cannot rename to %s (%s)", tmp, to, strerror(errno));
    if (rc) remove(tmp);
    return rc;
}

/* The chosen mixup value's final weights as the run's (weights/<run>-seed<S>.h5). */
static int alias_weights(const char *out_dir, const work *chosen, const char *run_name) {
    int rc = MTN_OK;
    for (int s = 0; s < chosen->cfg.n_seeds && !rc; s++) {
        char from[MTN_PATH_MAX], to[MTN_PATH_MAX];
        int seed = chosen->cfg.seeds[s];
        if (!chosen->result.seeds[s].ok) continue;
        rc = mtn_format_path(from, sizeof from, "%s/weights/%s-seed%d.h5", out_dir, chosen->cfg.name, seed);
        if (!rc) rc = mtn_format_path(to, sizeof to, "%s/weights/%s-seed%d.h5", out_dir, run_name, seed);
        if (!rc) rc = copy_file(from, to);
    }
    return rc;
}

/* After phase 1, on world rank 0: each mixup search's chosen value's weights under
 * the run's name, so phase 2's readouts find them. */
static int alias_mixup_choices(work *w, int n, const mtn_job_config *job, const char *out_dir) {
    int rc = MTN_OK;
    for (int i = 0; i < n && !rc; i++) {
        if (w[i].kind != UNIT_MIXUP_VALUE || w[i].search_value != 0) continue;
        rc = alias_weights(out_dir, &w[w[i].chosen_unit], job->runs[w[i].job_run].name);
    }
    return rc;
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
    for (int i = 0; i < n; i++) searches += w[i].kind == UNIT_MIXUP_VALUE && w[i].search_value == 0;
    size_t slots = (size_t)n + (size_t)searches;
    a->runs = calloc(slots, sizeof *a->runs);
    if (!a->runs) return mtn_error_set(MTN_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        mtn_run_result *r = &a->runs[a->n_runs++];
        *r = w[i].result;
        w[i].result.seeds = NULL; /* moved */
        snprintf(r->name, sizeof r->name, "%s", w[i].cfg.name);
        r->method = w[i].cfg.method;
        bool searched = w[i].kind == UNIT_MIXUP_VALUE || w[i].kind == UNIT_GRID_POINT;
        snprintf(r->row, sizeof r->row, "%s", searched ? "" : w[i].cfg.row);
        snprintf(r->column, sizeof r->column, "%s", w[i].cfg.column);
        r->task_json = json_text(mtn_task_to_json(&w[i].cfg.task));
        r->network_json = json_text(mtn_network_to_json(&w[i].cfg.net));
        const char *score = w[i].cfg.method == MTN_METHOD_SEGMENT ? "validation mean F1" : "validation accuracy";
        if (w[i].kind == UNIT_GRID_CHOSEN) {
            const work *p = &w[w[i].chosen_unit]; /* its result is a->runs[chosen_unit] by now */
            snprintf(r->chosen, sizeof r->chosen, "learning_rate=%g,batch_size=%d", w[i].cfg.net.learning_rate,
                     w[i].cfg.net.batch_size);
            snprintf(r->status, sizeof r->status, "ok: learning_rate %g, batch_size %d chosen on %s (%.4f, seed %d)",
                     w[i].cfg.net.learning_rate, w[i].cfg.net.batch_size, score,
                     mean_final_val(&a->runs[w[i].chosen_unit]),
                     p->cfg.seeds[0]);
        } else if (trains(&w[i].cfg)) {
            snprintf(r->status, sizeof r->status, "ok");
        } else if (w[i].cfg.method == MTN_METHOD_READOUT) {
            snprintf(r->status, sizeof r->status,
                     "not built: its encoder's method (%s) is not built; encoder.checkpoint can name imported weights",
                     mtn_method_name(w[i].cfg.encoder_method));
        } else {
            snprintf(r->status, sizeof r->status, "not built: the %s method arrives with a later issue",
                     mtn_method_name(w[i].cfg.method));
        }
    }
    /* the chosen value of each mixup search, as the run itself */
    for (int i = 0; i < n; i++) {
        if (w[i].kind != UNIT_MIXUP_VALUE || w[i].search_value != 0) continue;
        int best = w[i].chosen_unit; /* its result is a->runs[best] by now */
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
        snprintf(r->chosen, sizeof r->chosen, "mixup_prob=%g", w[best].cfg.net.mixup_prob);
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
    int rc = expand(job, &o, out_dir, &w, &n);
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
    if (!rc && lay.world_rank == 0 && !o.stage_only) rc = check_encoders(w, n, job);
    rc = mtn_agree(rc, world);
    if (!rc) rc = stage_all(w, n, out_dir, source, &o, world);
    /* --stage-only: a staging step of its own (Slurm); nothing trains */
    if (!rc && o.stage_only && !o.quiet && lay.world_rank == 0)
        printf("run: --stage-only: the data is staged in %s/staged\n", out_dir);
    for (int phase = 0; phase < 3 && !rc && !o.stage_only; phase++) {
        if (phase == 1) choose_searches(w, n, &lay, world);
        if (phase == 2 && lay.world_rank == 0) rc = alias_mixup_choices(w, n, job, out_dir);
        rc = mtn_agree(rc, world);
        if (!rc) rc = train_all(w, n, phase, &lay, &o, out_dir);
        rc = mtn_agree(rc, world);
        if (!rc) gather(w, n, phase, &lay, world);
    }
    if (!rc && lay.world_rank == 0 && !o.stage_only) {
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
