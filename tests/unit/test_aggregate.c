/* test_aggregate.c — mtn_archive_merge (`mtneuro aggregate`) on archives built in
 * memory, as per-seed archives of one job would be:
 *  - seeds of several archives interleave into the job's order (the run's "seeds",
 *    else the job's; a search unit's from its run), the unlisted ones after,
 *    ascending; written and read back, the merged archive equals one written with
 *    all seeds at once (mean and std bit for bit);
 *  - runs are the union in order of first appearance, and archives of `run --runs`
 *    subsets (a job listing only their runs) merge into the whole job;
 *  - a duplicate seed identical but for timings is kept once; an unfinished one
 *    gives way to a finished one; a finished one that differs is refused, naming run,
 *    seed, both files and the field, and with force the first is kept and a warning
 *    logged;
 *  - each field archives must agree in (job_json, its runs, source, mtneuro_version,
 *    git_commit, table, column; a run's method, row, column, task_json,
 *    network_json, chosen) gives MTN_ECONFIG naming the field and both files, long
 *    values cut; with force the first archive's value is kept and a warning logged;
 *  - no archives is a usage error; the merged environment is the first's. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mtn/results.h"

/* the job the archives come from: the sup run lists its seeds, mix lists others in
 * another order, pca lists none (the job's) */
#define JOB_HEAD "{\"name\":\"t\",\"description\":\"" DESCRIPTION "\",\"seeds\":[7,3,5],\"runs\":["
#define DESCRIPTION                                                                                                  \
    "a job whose description is long enough that a message must cut it short, ....................... on both "      \
    "sides of where it differs, that is"
#define RUN_SUP "{\"name\":\"sup\",\"seeds\":[7,3,5],\"network\":{\"lr\":0.1}}"
#define RUN_MIX "{\"name\":\"mix\",\"seeds\":[5,3,7]}"
#define RUN_PCA "{\"name\":\"pca\"}"
static const char *const whole_job = JOB_HEAD RUN_SUP "," RUN_MIX "," RUN_PCA "]}";

/* a seed's numbers: a function of run and seed only, so copies agree; timings vary */
static void fill_seed(mtn_seed_result *s, const char *run, int seed, double timing) {
    memset(s, 0, sizeof *s);
    double base = (double)strlen(run) + seed * 0.01;
    s->seed = seed;
    s->classes = 3;
    s->epochs = 2;
    s->ok = 1;
    s->accuracy = 0.5 + base / 100;
    s->quadrant_accuracy = 0.4 + base / 200;
    for (int t = 0; t < 3; t++)
        for (int p = 0; p < 3; p++) {
            s->confusion[t][p] = seed + 10 * t + p;
            s->quadrant_confusion[t][p] = 4 * s->confusion[t][p];
        }
    for (int e = 0; e < 2; e++) {
        s->train_loss[e] = base / (e + 1);
        s->val_accuracy[e] = 0.3 + 0.1 * e;
    }
    s->steps = 8;
    s->weights_crc = 0x1000u + (uint32_t)seed;
    s->train_seconds = s->eval_seconds = timing;
    s->step_compute_s = s->step_comm_s = s->step_io_s = timing / 8;
}

/* one run with the given seeds (n of them), all finished */
static void make_run(mtn_run_result *r, const char *name, const int *seeds, int n, double timing) {
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->row, sizeof r->row, "%s", strchr(name, '@') ? "" : "Supervised");
    snprintf(r->column, sizeof r->column, "ROI-C1");
    snprintf(r->status, sizeof r->status, "ok");
    r->method = MTN_METHOD_SUPERVISED;
    r->task_json = strdup("{\"task\":1}");
    r->network_json = strdup("{\"model\":\"resnet18\"}");
    r->n_seeds = n;
    r->seeds = calloc((size_t)n + 1, sizeof *r->seeds);
    for (int i = 0; i < n; i++) fill_seed(&r->seeds[i], name, seeds[i], timing);
}

/* a run of an archive and its seeds (-1 ends the list) */
typedef struct {
    const char *name;
    int seeds[8];
} run_spec;

/* an archive of the job job_json (the whole job, or a `run --runs` subset) with
 * n_runs runs; timing sets the seeds' timings and tells archives apart (host,
 * world_size, seed_groups) */
static void make_archive(mtn_archive *a, const char *job_json, const run_spec *runs, int n_runs, const char *layout,
                         double timing) {
    memset(a, 0, sizeof *a);
    snprintf(a->job_name, sizeof a->job_name, "t");
    snprintf(a->job_file, sizeof a->job_file, "jobs/t.json");
    a->table = MTN_TABLE_1;
    snprintf(a->column, sizeof a->column, "ROI-C1");
    snprintf(a->source, sizeof a->source, "phantom");
    a->job_json = strdup(job_json);
    snprintf(a->mtneuro_version, sizeof a->mtneuro_version, "0.1.0");
    snprintf(a->git_commit, sizeof a->git_commit, "abc123");
    snprintf(a->host, sizeof a->host, "node%d", (int)timing);
    snprintf(a->created, sizeof a->created, "2026-01-01T00:00:00Z");
    snprintf(a->layout, sizeof a->layout, "%s", layout);
    a->world_size = (int)timing;
    a->ranks_per_seed = 1;
    a->seed_groups = (int)timing;
    a->threads = 2;
    a->n_runs = n_runs;
    a->runs = calloc((size_t)n_runs, sizeof *a->runs);
    for (int k = 0; k < n_runs; k++) {
        int n = 0;
        while (n < 8 && runs[k].seeds[n] >= 0) n++;
        make_run(&a->runs[k], runs[k].name, runs[k].seeds, n, timing);
    }
}

static const mtn_run_result *find(const mtn_archive *a, const char *name) {
    for (int i = 0; i < a->n_runs; i++)
        if (strcmp(a->runs[i].name, name) == 0) return &a->runs[i];
    return NULL;
}

/* the run's seeds are exactly want[] (n of them), in that order */
static void expect_seeds(const mtn_archive *a, const char *run, const int *want, int n) {
    const mtn_run_result *r = find(a, run);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->n_seeds, n);
    for (int i = 0; i < n && i < r->n_seeds; i++) {
        if (r->seeds[i].seed != want[i])
            fprintf(stderr, "\nrun %s: seed %d is %d, expected %d\n", run, i, r->seeds[i].seed, want[i]);
        CU_ASSERT_EQUAL(r->seeds[i].seed, want[i]);
    }
}

static void expect_contains(const char *text, const char *part) {
    if (!strstr(text, part)) fprintf(stderr, "\nexpected \"%s\" in:\n%s\n", part, text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, part));
}

static const char *const names3[] = {"c.h5", "b.h5", "a.h5"};

static void free_all(mtn_archive *a, int n) {
    for (int i = 0; i < n; i++) mtn_archive_free(&a[i]);
}

/* ---- order, union, environment ---- */

static void test_seed_order(void) {
    mtn_archive in[3], out;
    /* c.h5: sup 2 (unlisted); b.h5: sup 5, 7, mix 3, 5; a.h5: sup 3, mix 7, a search unit of mix */
    make_archive(&in[0], whole_job, (run_spec[]){{"sup", {2, -1}}}, 1, "layout c", 3);
    make_archive(&in[1], whole_job, (run_spec[]){{"sup", {5, 7, -1}}, {"mix", {3, 5, -1}}}, 2, "layout b", 2);
    make_archive(&in[2], whole_job,
                 (run_spec[]){{"sup", {3, -1}}, {"mix", {7, -1}}, {"mix@mixup_prob=0.5", {7, 3, 5, -1}}}, 3, "layout a",
                 1);
    CU_ASSERT_EQUAL_FATAL(mtn_archive_merge(in, names3, 3, false, &out), MTN_OK);
    expect_seeds(&out, "sup", (int[]){7, 3, 5, 2}, 4);
    expect_seeds(&out, "mix", (int[]){5, 3, 7}, 3);
    expect_seeds(&out, "mix@mixup_prob=0.5", (int[]){5, 3, 7}, 3);
    /* the environment: the first archive's; the layout names every one's */
    CU_ASSERT_EQUAL(out.world_size, 3);
    CU_ASSERT_EQUAL(out.seed_groups, 3);
    CU_ASSERT_STRING_EQUAL(out.layout, "merged by mtneuro aggregate from 3 archives: layout c | layout b | layout a");
    CU_ASSERT_STRING_EQUAL(out.host, "");
    CU_ASSERT_STRING_EQUAL(out.created, "");
    CU_ASSERT_STRING_EQUAL(out.job_json, whole_job);
    CU_ASSERT_STRING_EQUAL(out.git_commit, "abc123");

    /* written and read back: the same as one archive with all seeds in job order */
    mtn_archive whole, got, want;
    make_archive(&whole, whole_job, (run_spec[]){{"sup", {7, 3, 5, 2, -1}}, {"mix", {5, 3, 7, -1}}}, 2, "one run", 9);
    const char *merged_path = mtn_test_path("merged.h5"), *whole_path = mtn_test_path("whole.h5");
    CU_ASSERT_EQUAL_FATAL(mtn_archive_write(merged_path, &out), MTN_OK);
    CU_ASSERT_EQUAL_FATAL(mtn_archive_write(whole_path, &whole), MTN_OK);
    CU_ASSERT_EQUAL_FATAL(mtn_archive_read(merged_path, &got), MTN_OK);
    CU_ASSERT_EQUAL_FATAL(mtn_archive_read(whole_path, &want), MTN_OK);
    CU_ASSERT_STRING_NOT_EQUAL(got.host, "");
    for (int r = 0; r < 2; r++) {
        const mtn_run_result *x = find(&got, want.runs[r].name), *y = &want.runs[r];
        CU_ASSERT_PTR_NOT_NULL_FATAL(x);
        CU_ASSERT_EQUAL_FATAL(x->n_seeds, y->n_seeds);
        for (int s = 0; s < y->n_seeds; s++) {
            CU_ASSERT_EQUAL(x->seeds[s].seed, y->seeds[s].seed);
            CU_ASSERT_EQUAL(memcmp(&x->seeds[s].accuracy, &y->seeds[s].accuracy, sizeof(double)), 0);
        }
        double m1, s1, m2, s2;
        CU_ASSERT_EQUAL(mtn_run_summary(x, MTN_METRIC_ACCURACY, &m1, &s1), y->n_seeds);
        mtn_run_summary(y, MTN_METRIC_ACCURACY, &m2, &s2);
        CU_ASSERT_EQUAL(memcmp(&m1, &m2, sizeof m1), 0);
        CU_ASSERT_EQUAL(memcmp(&s1, &s2, sizeof s1), 0);
    }
    mtn_archive_free(&got);
    mtn_archive_free(&want);
    mtn_archive_free(&whole);
    mtn_archive_free(&out);
    free_all(in, 3);
}

static void test_run_union(void) {
    /* `run --runs sup,mix` and `run --runs pca,sup`: each job lists only its runs */
    mtn_archive in[2], out;
    const char *names[] = {"sup-mix.h5", "pca-sup.h5"};
    make_archive(&in[0], JOB_HEAD RUN_SUP "," RUN_MIX "]}", (run_spec[]){{"sup", {7, -1}}, {"mix", {7, -1}}}, 2, "x",
                 1);
    make_archive(&in[1], JOB_HEAD RUN_PCA "," RUN_SUP "]}", (run_spec[]){{"pca", {3, 7, -1}}, {"sup", {3, -1}}}, 2,
                 "y", 1);
    CU_ASSERT_EQUAL_FATAL(mtn_archive_merge(in, names, 2, false, &out), MTN_OK);
    CU_ASSERT_EQUAL_FATAL(out.n_runs, 3);
    CU_ASSERT_STRING_EQUAL(out.runs[0].name, "sup");
    CU_ASSERT_STRING_EQUAL(out.runs[1].name, "mix");
    CU_ASSERT_STRING_EQUAL(out.runs[2].name, "pca");
    expect_seeds(&out, "sup", (int[]){7, 3}, 2);
    expect_seeds(&out, "pca", (int[]){7, 3}, 2); /* the job's seeds: pca lists none */
    /* the merged job lists the first's runs, then the second's new one */
    cJSON *job = cJSON_Parse(out.job_json), *r;
    CU_ASSERT_PTR_NOT_NULL_FATAL(job);
    const char *want[] = {"sup", "mix", "pca"};
    int k = 0;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(job, "runs")) {
        CU_ASSERT_FATAL(k < 3);
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItemCaseSensitive(r, "name")->valuestring, want[k++]);
    }
    CU_ASSERT_EQUAL(k, 3);
    cJSON_Delete(job);
    mtn_archive_free(&out);
    free_all(in, 2);
}

/* ---- duplicate seeds ---- */

static const char *const names2[] = {"first.h5", "second.h5"};

/* two archives of run sup with seeds 3 and 5, the second's timings other */
static void make_pair(mtn_archive in[2]) {
    make_archive(&in[0], whole_job, (run_spec[]){{"sup", {3, 5, -1}}}, 1, "x", 1);
    make_archive(&in[1], whole_job, (run_spec[]){{"sup", {5, 3, -1}}}, 1, "y", 2);
}

static void test_duplicate_identical(void) {
    mtn_archive in[2], out;
    make_pair(in);
    CU_ASSERT_EQUAL_FATAL(mtn_archive_merge(in, names2, 2, false, &out), MTN_OK);
    expect_seeds(&out, "sup", (int[]){3, 5}, 2);
    CU_ASSERT_EQUAL(out.runs[0].seeds[0].train_seconds, 1.0); /* the first's copy */
    mtn_archive_free(&out);
    free_all(in, 2);
}

static void test_unfinished_replaced(void) {
    for (int unfinished = 0; unfinished < 2; unfinished++) { /* in the first archive, then the second */
        mtn_archive in[2], out;
        make_pair(in);
        mtn_seed_result *s = &in[unfinished].runs[0].seeds[unfinished]; /* seed 3 either way */
        CU_ASSERT_EQUAL(s->seed, 3);
        s->ok = 0;
        s->accuracy = NAN;
        snprintf(in[0].runs[0].status, sizeof in[0].runs[0].status, "first's status");
        snprintf(in[1].runs[0].status, sizeof in[1].runs[0].status, "second's status");
        CU_ASSERT_EQUAL_FATAL(mtn_archive_merge(in, names2, 2, false, &out), MTN_OK);
        expect_seeds(&out, "sup", (int[]){3, 5}, 2);
        CU_ASSERT_EQUAL(out.runs[0].seeds[0].ok, 1);
        CU_ASSERT_FALSE(isnan(out.runs[0].seeds[0].accuracy));
        CU_ASSERT_EQUAL(out.runs[0].seeds[0].train_seconds, unfinished ? 1.0 : 2.0);
        CU_ASSERT_STRING_EQUAL(out.runs[0].status, "first's status"); /* the first has a finished seed (5) */
        mtn_archive_free(&out);
        free_all(in, 2);
    }
    /* a run whose first archive has no finished seed takes the status of the next */
    mtn_archive in[2], out;
    make_pair(in);
    in[0].runs[0].seeds[0].ok = in[0].runs[0].seeds[1].ok = 0;
    snprintf(in[1].runs[0].status, sizeof in[1].runs[0].status, "second's status");
    CU_ASSERT_EQUAL_FATAL(mtn_archive_merge(in, names2, 2, false, &out), MTN_OK);
    CU_ASSERT_STRING_EQUAL(out.runs[0].status, "second's status");
    CU_ASSERT(out.runs[0].seeds[0].ok == 1 && out.runs[0].seeds[1].ok == 1);
    mtn_archive_free(&out);
    free_all(in, 2);
}

/* mtn_archive_merge's warnings with force (malloc'd text) */
static char *merge_forced(const mtn_archive *in, mtn_archive *out) {
    FILE *f = mtn_test_capture_open();
    mtn_log_init(0, 1, MTN_LOG_INFO, f);
    CU_ASSERT_EQUAL(mtn_archive_merge(in, names2, 2, true, out), MTN_OK);
    mtn_log_init(0, 1, MTN_LOG_INFO, NULL);
    char *text = mtn_test_capture_text(f);
    fclose(f);
    return text;
}

static void test_differing_duplicate(void) {
    static const char *const fields[] = {"accuracy: ", "train_loss[1]: ", "confusion[2][1]: ", "weights_crc: "};
    for (size_t c = 0; c < sizeof fields / sizeof fields[0]; c++) {
        mtn_archive in[2], out;
        make_pair(in);
        mtn_seed_result *s = &in[1].runs[0].seeds[1]; /* seed 3 of the second */
        switch (c) {
        case 0: s->accuracy += 0.125; break;
        case 1: s->train_loss[1] = nextafter(s->train_loss[1], 1e9); break;
        case 2: s->confusion[2][1]++; break;
        default: s->weights_crc ^= 1u;
        }
        CU_ASSERT_EQUAL(mtn_archive_merge(in, names2, 2, false, &out), MTN_ECONFIG);
        const char *msg = mtn_error_message();
        expect_contains(msg, "run sup, seed 3: first.h5 and second.h5");
        expect_contains(msg, fields[c]);
        expect_contains(msg, "--force merges anyway");
        CU_ASSERT_EQUAL(out.n_runs, 0); /* left empty */
        char *warnings = merge_forced(in, &out);
        expect_contains(warnings, fields[c]);
        expect_contains(warnings, "keeping first.h5's");
        free(warnings);
        CU_ASSERT_EQUAL(memcmp(&out.runs[0].seeds[0], &in[0].runs[0].seeds[0], sizeof *s), 0);
        mtn_archive_free(&out);
        free_all(in, 2);
    }
    /* timings may differ (make_pair's do); curves past a seed's epochs are not compared */
    mtn_archive in[2], out;
    make_pair(in);
    in[1].runs[0].seeds[1].train_loss[5] = 42;
    CU_ASSERT_EQUAL(mtn_archive_merge(in, names2, 2, false, &out), MTN_OK);
    mtn_archive_free(&out);
    free_all(in, 2);
}

/* ---- fields archives must agree in ---- */

static void set_text(char **s, const char *text) {
    free(*s);
    *s = strdup(text);
}
static void change_job_head(mtn_archive *a) {
    set_text(&a->job_json, JOB_HEAD RUN_SUP "," RUN_MIX "," RUN_PCA "],\"x\":1}");
}
static void change_job_run(mtn_archive *a) {
    set_text(&a->job_json,
             JOB_HEAD "{\"name\":\"sup\",\"seeds\":[7,3,5],\"network\":{\"lr\":0.2}}," RUN_MIX "," RUN_PCA "]}");
}
static void change_job_description(mtn_archive *a) {
    strstr(a->job_json, "......")[10] = 'X'; /* deep in a long value: the message cuts around it */
}
static void change_job_text(mtn_archive *a) { set_text(&a->job_json, "not JSON"); }
static void change_source(mtn_archive *a) { snprintf(a->source, sizeof a->source, "http://127.0.0.1:8080"); }
static void change_version(mtn_archive *a) { snprintf(a->mtneuro_version, sizeof a->mtneuro_version, "0.2.0"); }
static void change_commit(mtn_archive *a) { snprintf(a->git_commit, sizeof a->git_commit, "abc123-dirty"); }
static void change_table(mtn_archive *a) { a->table = MTN_TABLE_A3; }
static void change_column(mtn_archive *a) { snprintf(a->column, sizeof a->column, "ROI-C3"); }
static void change_method(mtn_archive *a) { a->runs[0].method = MTN_METHOD_MIXUP; }
static void change_row(mtn_archive *a) { snprintf(a->runs[0].row, sizeof a->runs[0].row, "Sup w/ Mixup"); }
static void change_run_column(mtn_archive *a) { snprintf(a->runs[0].column, sizeof a->runs[0].column, "ROI-C3"); }
static void change_task(mtn_archive *a) { set_text(&a->runs[0].task_json, "{\"task\":2}"); }
static void change_network(mtn_archive *a) { set_text(&a->runs[0].network_json, "{\"model\":\"unet2d\"}"); }
static void change_chosen(mtn_archive *a) { snprintf(a->runs[0].chosen, sizeof a->runs[0].chosen, "mixup_prob=0.8"); }

/* everything merged archives keep of the first, the same as a's */
static void expect_first_kept(const mtn_archive *out, const mtn_archive *a) {
    CU_ASSERT_EQUAL_FATAL(out->n_runs, 1);
    const mtn_run_result *x = &out->runs[0], *y = &a->runs[0];
    const char *const kept[][2] = {{out->job_json, a->job_json},
                                   {out->source, a->source},
                                   {out->mtneuro_version, a->mtneuro_version},
                                   {out->git_commit, a->git_commit},
                                   {mtn_table_name(out->table), mtn_table_name(a->table)},
                                   {out->column, a->column},
                                   {mtn_method_name(x->method), mtn_method_name(y->method)},
                                   {x->row, y->row},
                                   {x->column, y->column},
                                   {x->task_json, y->task_json},
                                   {x->network_json, y->network_json},
                                   {x->chosen, y->chosen}};
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) CU_ASSERT_STRING_EQUAL(kept[i][0], kept[i][1]);
    CU_ASSERT_EQUAL(x->n_seeds, 2);
}

static void test_refused_fields(void) {
    const struct {
        const char *field;
        void (*change)(mtn_archive *a);
    } cases[] = {{"differ in job_json (without its runs)", change_job_head},
                 {"differ in job_json (run \"sup\")", change_job_run},
                 {"differ in job_json (without its runs)", change_job_description},
                 {"differ in job_json (first difference at offset 0)", change_job_text},
                 {"differ in source", change_source},
                 {"differ in mtneuro_version", change_version},
                 {"differ in git_commit (first difference at offset 6): \"abc123\" vs \"abc123-dirty\"", change_commit},
                 {"differ in table", change_table},
                 {"differ in column", change_column},
                 {"differ in method of run sup", change_method},
                 {"differ in row of run sup", change_row},
                 {"differ in column of run sup", change_run_column},
                 {"differ in task_json of run sup", change_task},
                 {"differ in network_json of run sup", change_network},
                 {"differ in chosen of run sup", change_chosen}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        mtn_archive in[2], out;
        make_archive(&in[0], whole_job, (run_spec[]){{"sup", {3, -1}}}, 1, "x", 1);
        make_archive(&in[1], whole_job, (run_spec[]){{"sup", {5, -1}}}, 1, "y", 1);
        cases[c].change(&in[1]);
        CU_ASSERT_EQUAL(mtn_archive_merge(in, names2, 2, false, &out), MTN_ECONFIG);
        const char *msg = mtn_error_message();
        expect_contains(msg, "first.h5 and second.h5 ");
        expect_contains(msg, cases[c].field);
        expect_contains(msg, "; --force merges anyway");
        CU_ASSERT(strlen(msg) < 400); /* long values are cut */
        if (cases[c].change == change_job_description) { /* cut: the offset, and 60 characters from 20 before */
            char at[64];
            snprintf(at, sizeof at, "offset %zu): \"...", (size_t)(strchr(in[1].job_json, 'X') - in[1].job_json));
            expect_contains(msg, at);
            expect_contains(msg, "........X.........");
            expect_contains(msg, "...\" vs \"...");
        }
        char *warnings = merge_forced(in, &out);
        expect_contains(warnings, cases[c].field);
        expect_contains(warnings, "--force: keeping first.h5's");
        free(warnings);
        expect_first_kept(&out, &in[0]);
        mtn_archive_free(&out);
        free_all(in, 2);
    }
}

static void test_nothing_to_merge(void) {
    mtn_archive out;
    CU_ASSERT_EQUAL(mtn_archive_merge(NULL, NULL, 0, false, &out), MTN_EUSAGE);
    CU_ASSERT_EQUAL(out.n_runs, 0);
    CU_ASSERT_PTR_NULL(out.job_json);
    /* one archive: itself, with the merge noted in the layout */
    mtn_archive in[1];
    make_archive(&in[0], whole_job, (run_spec[]){{"sup", {5, 3, 7, -1}}}, 1, "alone", 1);
    CU_ASSERT_EQUAL_FATAL(mtn_archive_merge(in, names2, 1, false, &out), MTN_OK);
    expect_seeds(&out, "sup", (int[]){7, 3, 5}, 3);
    CU_ASSERT_STRING_EQUAL(out.layout, "merged by mtneuro aggregate from 1 archive: alone");
    mtn_archive_free(&out);
    free_all(in, 1);
}

static const mtn_test_case tests[] = {
    {"seeds of several archives interleave into the job's order; written, the same as one archive", test_seed_order},
    {"runs: the union in order of first appearance; --runs subsets merge into the whole job", test_run_union},
    {"a duplicate seed identical but for timings is kept once", test_duplicate_identical},
    {"an unfinished seed gives way to a finished one; the status of the first with a finished seed",
     test_unfinished_replaced},
    {"a differing duplicate is refused naming run, seed, files and field; with force the first is kept",
     test_differing_duplicate},
    {"each field archives must agree in: MTN_ECONFIG naming it; with force the first's kept", test_refused_fields},
    {"no archives: a usage error; one archive: itself", test_nothing_to_merge},
    {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {{"merging result archives", tests}, {NULL, NULL}};
