/* cmd_report.c — `mtneuro report`: reads result archives and prints the paper's
 * table layout from them, ours beside the paper's (the work is mtn_report in
 * src/results/report.c). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mtn/results.h"

int mtn_cmd_report(int argc, char **argv) {
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
    mtn_report_format format = MTN_REPORT_MD;
    int rc = MTN_OK, c;
    optind = 1;
    opterr = 0;
    while (rc == MTN_OK && (c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
        if (c == 'f' && strcmp(optarg, "md") == 0) format = MTN_REPORT_MD;
        else if (c == 'f' && strcmp(optarg, "csv") == 0) format = MTN_REPORT_CSV;
        else if (c == 'f' && strcmp(optarg, "json") == 0) format = MTN_REPORT_JSON;
        else if (c == 'f') rc = mtn_error_set(MTN_EUSAGE, "report: --format: expected md, csv or json, found \"%s\"", optarg);
        else rc = mtn_error_set(MTN_EUSAGE, "report: unknown or incomplete option \"%s\"", argv[optind - 1]);
    }
    int n = argc - optind;
    if (!rc && n < 1) rc = mtn_error_set(MTN_EUSAGE, "report: expected one or more result archives (RESULTS.h5)");
    mtn_archive *archives = rc ? NULL : calloc((size_t)n, sizeof *archives);
    if (!rc && !archives) rc = mtn_error_set(MTN_ENOMEM, "report: out of memory");
    for (int i = 0; !rc && i < n; i++) rc = mtn_archive_read(argv[optind + i], &archives[i]);
    /* under mpirun every rank reads (errors are the same everywhere); rank 0 prints */
    if (!rc && mtn_log_rank() == 0) rc = mtn_report(stdout, archives, n, format);
    for (int i = 0; archives && i < n; i++) mtn_archive_free(&archives[i]);
    free(archives);
    return rc ? mtn_cli_fail(rc, true) : 0;
}
