/* run_options.c — the options `mtneuro run` and `mtneuro train` share: where the
 * data comes from and results go, seeds, the rank and thread layout, checkpoints
 * and resuming; and the MPI launch around mtn_run_job that both end with. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* "1,100,350" -> seeds; MTN_EUSAGE naming the option on anything else. */
static int parse_seeds(const char *cmd, const char *s, mtn_run_opts *o) {
    o->n_seeds = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 2147483647L || (*end && *end != ',') || o->n_seeds >= 64)
            return mtn_error_set(MTN_EUSAGE, "%s: --seeds: expected comma-separated integers (at most 64), found \"%s\"",
                                 cmd, s);
        o->seeds[o->n_seeds++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (!o->n_seeds) return mtn_error_set(MTN_EUSAGE, "%s: --seeds: expected at least one seed", cmd);
    return MTN_OK;
}

int mtn_cli_run_option(const char *cmd, int c, const char *arg, mtn_run_opts *o) {
    switch (c) {
    case 's':
        if (strcmp(arg, "phantom") != 0 && strncmp(arg, "http://", 7) != 0 && strncmp(arg, "https://", 8) != 0)
            return mtn_error_set(MTN_EUSAGE, "%s: --source: expected phantom or an http(s):// URL, found \"%s\"", cmd,
                                 arg);
        o->source = arg;
        return MTN_OK;
    case 'S': return parse_seeds(cmd, arg, o);
    case 'r': o->resume = true; return MTN_OK;
    case 'o': o->out_dir = arg; return MTN_OK;
    case 't': return mtn_cli_int(cmd, "--threads", arg, 1, 64, &o->threads);
    case 'R': return mtn_cli_int(cmd, "--ranks-per-seed", arg, 1, 1 << 20, &o->ranks_per_seed);
    case 'c': return mtn_cli_int(cmd, "--checkpoint-every", arg, 0, 1 << 30, &o->checkpoint_every);
    case 'a': o->archive = arg; return MTN_OK;
    case 'q': o->quiet = true; return MTN_OK;
    case 'd': o->data = arg; return MTN_OK;
    case 'U': o->only_runs = arg; return MTN_OK;
    case 'G': o->stage_only = true; return MTN_OK;
    default: return mtn_error_set(MTN_EUSAGE, "%s: unknown or incomplete option (see mtneuro %s --help)", cmd, cmd);
    }
}

const struct option mtn_cli_run_long_options[] = {
    {"source", required_argument, NULL, 's'},   {"seeds", required_argument, NULL, 'S'},
    {"resume", no_argument, NULL, 'r'},         {"output", required_argument, NULL, 'o'},
    {"threads", required_argument, NULL, 't'},  {"ranks-per-seed", required_argument, NULL, 'R'},
    {"checkpoint-every", required_argument, NULL, 'c'}, {"archive", required_argument, NULL, 'a'},
    {"quiet", no_argument, NULL, 'q'},          {"data", required_argument, NULL, 'd'},
    {"task", required_argument, NULL, 'T'},     {"network", required_argument, NULL, 'N'},
    {"runs", required_argument, NULL, 'U'},      {"stage-only", no_argument, NULL, 'G'},
    {NULL, 0, NULL, 0}};

int mtn_cli_run_launch(mtn_job_config *job, const mtn_run_opts *o, int *argc, char ***argv) {
    int rc = mtn_cli_mpi_start(argc, argv);
    if (rc) {
        mtn_job_free(job);
        return mtn_cli_fail(rc, false);
    }
    mtn_stop_signals_install();
    rc = mtn_run_job(job, o, MPI_COMM_WORLD);
    mtn_job_free(job);
    int code = rc ? mtn_cli_fail(rc, true) : 0;
    mtn_cli_mpi_stop();
    return code;
}
