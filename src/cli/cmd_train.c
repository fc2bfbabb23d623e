/* cmd_train.c — `mtneuro train --task T.json --network N.json`: one run (the
 * method follows from the network config) for some seeds, as a one-run job. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int mtn_cmd_train(int argc, char **argv) {
    mtn_run_opts o;
    memset(&o, 0, sizeof o);
    const char *task_path = NULL, *net_path = NULL;
    int rc = MTN_OK, c;
    optind = 1;
    opterr = 0;
    while (rc == MTN_OK && (c = getopt_long(argc, argv, "o:", mtn_cli_run_long_options, NULL)) != -1) {
        if (c == 'T') task_path = optarg;
        else if (c == 'N') net_path = optarg;
        else if (c == '?' || c == ':')
            rc = mtn_error_set(MTN_EUSAGE, "train: unknown or incomplete option \"%s\" (see mtneuro train --help)",
                               argv[optind - 1]);
        else rc = mtn_cli_run_option("train", c, optarg, &o);
    }
    if (!rc && optind < argc) rc = mtn_error_set(MTN_EUSAGE, "train: unexpected argument \"%s\"", argv[optind]);
    if (!rc && (!task_path || !net_path))
        rc = mtn_error_set(MTN_EUSAGE, "train: expected --task T.json and --network N.json (see mtneuro train --help)");
    if (rc) return mtn_cli_fail(rc, true);
    mtn_job_config job;
    memset(&job, 0, sizeof job);
    job.runs = calloc(1, sizeof *job.runs);
    if (!job.runs) return mtn_cli_fail(mtn_error_set(MTN_ENOMEM, "out of memory"), true);
    job.n_runs = 1;
    mtn_run_config *run = &job.runs[0];
    rc = mtn_task_load(task_path, &run->task);
    if (!rc) rc = mtn_network_load(net_path, &run->net);
    if (rc) {
        mtn_job_free(&job);
        return mtn_cli_fail(rc, true);
    }
    const mtn_network_config *net = &run->net;
    run->method = net->model == MTN_MODEL_PCA   ? MTN_METHOD_PCA
                  : net->model == MTN_MODEL_NMF ? MTN_METHOD_NMF
                  : net->model == MTN_MODEL_UNET ? MTN_METHOD_SEGMENT
                  : net->task_type == MTN_TRAIN_SSL
                      ? (net->ssl_method == MTN_SSL_BYOL ? MTN_METHOD_BYOL
                         : net->ssl_method == MTN_SSL_MYOW ? MTN_METHOD_MYOW
                                                           : MTN_METHOD_MYOW_M)
                  : net->mixup_prob > 0 ? MTN_METHOD_MIXUP
                                        : MTN_METHOD_SUPERVISED;
    snprintf(run->name, sizeof run->name, "%s", mtn_method_name(run->method));
    snprintf(run->row, sizeof run->row, "%s", mtn_method_row_label(run->method));
    snprintf(run->column, sizeof run->column, "%s", run->task.name);
    snprintf(run->task_path, sizeof run->task_path, "%s", task_path);
    snprintf(run->network_path, sizeof run->network_path, "%s", net_path);
    memcpy(run->seeds, mtn_paper_seeds, sizeof mtn_paper_seeds);
    run->n_seeds = 5;
    snprintf(job.name, sizeof job.name, "train-%.20s-%.20s", run->task.name, base_name(net_path));
    char *dot = strrchr(job.name, '.');
    if (dot && strcmp(dot, ".json") == 0) *dot = '\0';
    snprintf(job.column, sizeof job.column, "%s", run->task.name);
    memcpy(job.seeds, mtn_paper_seeds, sizeof mtn_paper_seeds);
    job.n_seeds = 5;
    return mtn_cli_run_launch(&job, &o, &argc, &argv);
}
