/* cmd_infer.c — `mtneuro infer`: a checkpoint in eval mode over X.h5:/x, logits or
 * embeddings to Y.h5:/y (the work is mtn_infer in src/train/infer.c). */
#define _GNU_SOURCE /* sched_getaffinity */
#include <getopt.h>
#include <sched.h>
#include <stdlib.h>

#include "cli.h"
#include "mtn/train.h"

/* the CPUs this process may run on */
static int usable_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    int n = CPU_COUNT(&set);
    return n < 1 ? 1 : n > 64 ? 64 : n;
}

int mtn_cmd_infer(int argc, char **argv) {
    static const struct option opts[] = {{"checkpoint", required_argument, NULL, 'c'},
                                         {"input", required_argument, NULL, 'i'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"embedding", no_argument, NULL, 'e'},
                                         {"batch", required_argument, NULL, 'b'},
                                         {"threads", required_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    mtn_infer_opts o = {NULL, NULL, NULL, false, 8, usable_cpus()};
    int rc = MTN_OK, c;
    optind = 1;
    opterr = 0;
    while (rc == MTN_OK && (c = getopt_long(argc, argv, "c:i:o:eb:t:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o.checkpoint = optarg; break;
        case 'i': o.input = optarg; break;
        case 'o': o.output = optarg; break;
        case 'e': o.embedding = true; break;
        case 'b': rc = mtn_cli_int("infer", "--batch", optarg, 1, 4096, &o.batch); break;
        case 't': rc = mtn_cli_int("infer", "--threads", optarg, 1, 64, &o.threads); break;
        default: rc = mtn_error_set(MTN_EUSAGE, "infer: unknown or incomplete option \"%s\"", argv[optind - 1]);
        }
    }
    if (!rc && optind < argc) rc = mtn_error_set(MTN_EUSAGE, "infer: unexpected argument \"%s\"", argv[optind]);
    if (!rc && (!o.checkpoint || !o.input || !o.output))
        rc = mtn_error_set(MTN_EUSAGE, "infer: expected --checkpoint CK.h5 --input X.h5 -o Y.h5");
    if (!rc) rc = mtn_infer(&o);
    return rc ? mtn_cli_fail(rc, true) : 0;
}
