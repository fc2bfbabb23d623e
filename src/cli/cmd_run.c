/* cmd_run.c — `mtneuro run JOB.json`: every run of a job for every seed, on the
 * seed groups of the MPI world, ending in the result archive and the tables. */
#include <getopt.h>

#include "cli.h"

int mtn_cmd_run(int argc, char **argv) {
    mtn_run_opts o;
    memset(&o, 0, sizeof o);
    int rc = MTN_OK, c;
    optind = 1;
    opterr = 0;
    while (rc == MTN_OK && (c = getopt_long(argc, argv, "o:", mtn_cli_run_long_options, NULL)) != -1) {
        if (c == 'T' || c == 'N' || c == 'd' || c == '?' || c == ':')
            rc = mtn_error_set(MTN_EUSAGE, "run: unknown or incomplete option \"%s\" (see mtneuro run --help)",
                               argv[optind - 1]);
        else rc = mtn_cli_run_option("run", c, optarg, &o);
    }
    if (!rc && optind != argc - 1)
        rc = mtn_error_set(MTN_EUSAGE, "run: expected one JOB.json (see mtneuro run --help)");
    if (rc) return mtn_cli_fail(rc, true);
    mtn_job_config job;
    rc = mtn_job_load(argv[optind], &job);
    if (!rc && o.only_runs) rc = mtn_job_select_runs(&job, o.only_runs);
    if (rc) {
        mtn_job_free(&job);
        return mtn_cli_fail(rc, true);
    }
    return mtn_cli_run_launch(&job, &o, &argc, &argv);
}
