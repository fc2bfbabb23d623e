/* cmd_aggregate.c — `mtneuro aggregate`: merges result archives of one job (one per
 * seed from Slurm array tasks, or per `run --runs` subset) into one, written
 * atomically; the rules are mtn_archive_merge's (src/results/aggregate.c). Needs no
 * MPI: under mpirun every rank reads and merges (errors are the same everywhere),
 * rank 0 writes and prints. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "mtn/results.h"

/* inputs[] name different files (not one path twice, nor two links to one file) */
static int distinct_inputs(char *const *inputs, int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) {
            struct stat a, b;
            if (strcmp(inputs[i], inputs[j]) == 0)
                return mtn_error_set(MTN_EUSAGE, "aggregate: %s given twice (each archive once)", inputs[i]);
            if (stat(inputs[i], &a) == 0 && stat(inputs[j], &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
                return mtn_error_set(MTN_EUSAGE, "aggregate: %s and %s are the same file (each archive once)",
                                     inputs[j], inputs[i]);
        }
    return MTN_OK;
}

/* "run mixup: seeds 1,100 from 2 archives", a line per run of the merged archive */
static void print_summary(const mtn_archive *merged, const mtn_archive *in, int n) {
    for (int r = 0; r < merged->n_runs; r++) {
        const mtn_run_result *run = &merged->runs[r];
        int from = 0;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < in[i].n_runs; k++) from += strcmp(in[i].runs[k].name, run->name) == 0;
        printf("run %s: seed%s ", run->name, run->n_seeds == 1 ? "" : "s");
        for (int s = 0; s < run->n_seeds; s++) printf("%s%d", s ? "," : "", run->seeds[s].seed);
        printf("%s from %d archive%s\n", run->n_seeds ? "" : "(none)", from, from == 1 ? "" : "s");
    }
}

int mtn_cmd_aggregate(int argc, char **argv) {
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"force", no_argument, NULL, 'F'}, {NULL, 0, NULL, 0}};
    const char *output = NULL;
    bool force = false;
    int rc = MTN_OK, c;
    optind = 1;
    opterr = 0;
    while (rc == MTN_OK && (c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        if (c == 'o') output = optarg;
        else if (c == 'F') force = true;
        else rc = mtn_error_set(MTN_EUSAGE, "aggregate: unknown or incomplete option \"%s\"", argv[optind - 1]);
    }
    int n = argc - optind;
    char *const *inputs = argv + optind;
    if (!rc && !output) rc = mtn_error_set(MTN_EUSAGE, "aggregate: expected -o MERGED.h5 (the merged archive)");
    if (!rc && n < 1) rc = mtn_error_set(MTN_EUSAGE, "aggregate: expected one or more result archives to merge");
    if (!rc) rc = distinct_inputs(inputs, n);
    mtn_archive *in = !rc && n > 0 ? calloc((size_t)n, sizeof *in) : NULL, merged = {0};
    if (!rc && !in) rc = mtn_error_set(MTN_ENOMEM, "aggregate: out of memory");
    for (int i = 0; !rc && i < n; i++) rc = mtn_archive_read(inputs[i], &in[i]);
    if (!rc) rc = mtn_archive_merge(in, (const char *const *)inputs, n, force, &merged);
    if (!rc && mtn_log_rank() == 0) rc = mtn_archive_write(output, &merged);
    if (!rc && mtn_log_rank() == 0) {
        print_summary(&merged, in, n);
        MTN_INFO("aggregate: %d archive%s -> %s (%d runs)", n, n == 1 ? "" : "s", output, merged.n_runs);
    }
    mtn_archive_free(&merged);
    for (int i = 0; in && i < n; i++) mtn_archive_free(&in[i]);
    free(in);
    return rc ? mtn_cli_fail(rc, true) : 0;
}
