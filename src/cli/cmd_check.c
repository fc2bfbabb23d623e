/* cmd_check.c — `mtneuro check FILE...`: validates task, network and job configs and
 * prints each resolved (presets filled, overrides applied) as JSON. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mtn/config.h"

/* Loads one file of the given kind (detected when UNKNOWN) into its resolved JSON. */
static int check_one(const char *path, mtn_config_kind kind, cJSON **resolved, char *summary, size_t cap) {
    int rc = kind == MTN_KIND_UNKNOWN ? mtn_config_detect(path, &kind) : MTN_OK;
    if (rc) return rc;
    if (kind == MTN_KIND_TASK) {
        mtn_task_config t;
        if ((rc = mtn_task_load(path, &t))) return rc;
        *resolved = mtn_task_to_json(&t);
        snprintf(summary, cap, "task config, Task %d, %d classes, %d cube set%s, downsample %d", t.task,
                 mtn_task_classes(&t), t.n_cubes, t.n_cubes > 1 ? "s" : "", t.downsample);
    } else if (kind == MTN_KIND_NETWORK) {
        mtn_network_config n;
        if ((rc = mtn_network_load(path, &n))) return rc;
        *resolved = mtn_network_to_json(&n);
        snprintf(summary, cap, "network config, %s%s%s, preset %s", mtn_model_name(n.model),
                 n.task_type == MTN_TRAIN_SSL ? " SSL " : "",
                 n.task_type == MTN_TRAIN_SSL ? mtn_ssl_method_name(n.ssl_method) : "", mtn_preset_name(n.preset));
    } else {
        mtn_job_config j;
        if ((rc = mtn_job_load(path, &j))) return rc;
        *resolved = mtn_job_to_json(&j);
        int seeds = 0;
        for (int i = 0; i < j.n_runs; i++) seeds += j.runs[i].n_seeds;
        snprintf(summary, cap, "job \"%s\", %d run%s, %d run-seed pairs", j.name, j.n_runs, j.n_runs > 1 ? "s" : "", seeds);
        mtn_job_free(&j);
    }
    return MTN_OK;
}

int mtn_cmd_check(int argc, char **argv) {
    static const struct option opts[] = {{"kind", required_argument, NULL, 'k'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {NULL, 0, NULL, 0}};
    mtn_config_kind kind = MTN_KIND_UNKNOWN;
    bool quiet = false;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "k:q", opts, NULL)) != -1) {
        if (c == 'k') {
            if (strcmp(optarg, "task") == 0) kind = MTN_KIND_TASK;
            else if (strcmp(optarg, "network") == 0) kind = MTN_KIND_NETWORK;
            else if (strcmp(optarg, "job") == 0) kind = MTN_KIND_JOB;
            else {
                mtn_error_set(MTN_EUSAGE, "check: --kind: expected task, network or job, found \"%s\"", optarg);
                return mtn_cli_fail(MTN_EUSAGE, true);
            }
        } else if (c == 'q') {
            quiet = true;
        } else {
            mtn_error_set(MTN_EUSAGE, "check: unknown option \"%s\" (see mtneuro check --help)", argv[optind - 1]);
            return mtn_cli_fail(MTN_EUSAGE, true);
        }
    }
    if (optind >= argc) {
        mtn_error_set(MTN_EUSAGE, "check: expected at least one FILE (see mtneuro check --help)");
        return mtn_cli_fail(MTN_EUSAGE, true);
    }
    bool root = mtn_log_rank() == 0;
    int nfiles = argc - optind, worst = MTN_OK;
    cJSON *all = nfiles > 1 ? cJSON_CreateObject() : NULL, *single = NULL;
    for (int i = optind; i < argc; i++) {
        cJSON *resolved = NULL;
        char summary[256] = "";
        int rc = check_one(argv[i], kind, &resolved, summary, sizeof summary);
        if (rc) {
            mtn_cli_fail(rc, true);
            if (worst == MTN_OK || mtn_exit_code(rc) != 2) worst = rc;
            continue;
        }
        if (root) fprintf(stderr, "ok: %s (%s)\n", argv[i], summary);
        if (all) cJSON_AddItemToObject(all, argv[i], resolved);
        else single = resolved;
    }
    cJSON *out = all ? all : single;
    if (out && !quiet && root) {
        char *text = cJSON_Print(out);
        if (text) {
            printf("%s\n", text);
            cJSON_free(text);
        }
    }
    cJSON_Delete(out);
    return mtn_exit_code(worst);
}
