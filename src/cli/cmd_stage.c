/* cmd_stage.c — `mtneuro stage`: stages a task's tiles from a source into one HDF5
 * file over all MPI ranks and reports it like MLPerf's staging time: seconds, bytes,
 * MB/s and tiles. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mtn/data.h"

int mtn_cmd_stage(int argc, char **argv) {
    static const struct option opts[] = {{"task", required_argument, NULL, 't'},
                                         {"source", required_argument, NULL, 's'},
                                         {"downsample", required_argument, NULL, 'd'},
                                         {"max-parallel", required_argument, NULL, 'p'},
                                         {"retries", required_argument, NULL, 'r'},
                                         {"block", required_argument, NULL, 'b'},
                                         {"output", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    const char *task_path = NULL, *source_spec = "https://api.bossdb.io", *output = NULL;
    int downsample = 0, rc = MTN_OK;
    mtn_bossdb_options bo;
    mtn_bossdb_default_options(&bo);
    optind = 1;
    opterr = 0;
    int c;
    while (rc == MTN_OK && (c = getopt_long(argc, argv, "t:s:d:p:r:o:b:", opts, NULL)) != -1) {
        switch (c) {
        case 't': task_path = optarg; break;
        case 's': source_spec = optarg; break;
        case 'o': output = optarg; break;
        case 'd':
            rc = mtn_cli_int("stage", "--downsample", optarg, 1, 4, &downsample);
            if (!rc && downsample == 3) rc = mtn_error_set(MTN_EUSAGE, "stage: --downsample: expected 1, 2 or 4, found 3");
            break;
        case 'p': rc = mtn_cli_int("stage", "--max-parallel", optarg, 1, 256, &bo.max_parallel); break;
        case 'r': rc = mtn_cli_int("stage", "--retries", optarg, 0, 100, &bo.max_retries); break;
        case 'b': {
            long long x, y, z;
            char extra;
            if (sscanf(optarg, "%lld,%lld,%lld%c", &x, &y, &z, &extra) != 3 || x < 1 || y < 1 || z < 1 ||
                x > 65536 || y > 65536 || z > 65536)
                rc = mtn_error_set(MTN_EUSAGE, "stage: --block: expected X,Y,Z (voxels, 1 to 65536), found \"%s\"",
                                   optarg);
            else {
                bo.block[0] = x;
                bo.block[1] = y;
                bo.block[2] = z;
            }
            break;
        }
        default:
            rc = mtn_error_set(MTN_EUSAGE, "stage: unknown or incomplete option \"%s\" (see mtneuro stage --help)",
                               argv[optind - 1]);
        }
    }
    if (!rc && (!task_path || !output))
        rc = mtn_error_set(MTN_EUSAGE, "stage: expected --task T.json and -o FILE (see mtneuro stage --help)");
    if (!rc && optind < argc) rc = mtn_error_set(MTN_EUSAGE, "stage: unexpected argument \"%s\"", argv[optind]);
    if (!rc && strcmp(source_spec, "phantom") != 0 && strncmp(source_spec, "http://", 7) != 0 &&
        strncmp(source_spec, "https://", 8) != 0)
        rc = mtn_error_set(MTN_EUSAGE, "stage: --source: expected phantom or an http(s):// URL, found \"%s\"", source_spec);
    if (rc) return mtn_cli_fail(rc, true);

    mtn_task_config task;
    rc = mtn_task_load(task_path, &task);
    if (rc) return mtn_cli_fail(rc, true);
    if (downsample) {
        task.downsample = downsample;
        if (task.tile_size[0] % downsample || task.tile_size[1] % downsample) {
            mtn_error_set(MTN_EUSAGE, "stage: --downsample %d does not divide the tile size %dx%d of %s", downsample,
                          task.tile_size[0], task.tile_size[1], task_path);
            return mtn_cli_fail(MTN_EUSAGE, true);
        }
    }
    rc = mtn_cli_mpi_start(&argc, &argv);
    if (rc) return mtn_cli_fail(rc, false);
    mtn_source *source = NULL;
    rc = mtn_source_open(source_spec, &bo, &source);
    mtn_stage_report rep;
    memset(&rep, 0, sizeof rep);
    if (!rc) rc = mtn_stage(&task, source, output, MPI_COMM_WORLD, &rep);
    mtn_source_free(source);
    if (rc) {
        int code = mtn_cli_fail(rc, true);
        mtn_cli_mpi_stop();
        return code;
    }
    if (mtn_log_rank() == 0) {
        if (rep.was_complete) {
            printf("stage: %s is complete (%lld tiles); nothing fetched\n", output, (long long)rep.tiles_total);
        } else {
            double mb = (double)rep.bytes_fetched / 1e6, s = rep.seconds > 0 ? rep.seconds : 1e-9;
            printf("stage: %lld tiles in %s (%lld fetched, %lld already there) in %.2f s: %.1f MB from %s at %.1f MB/s, "
                   "%.1f tiles/s, %lld requests, %lld retries, %d rank%s\n",
                   (long long)rep.tiles_total, output, (long long)rep.tiles_fetched, (long long)rep.tiles_skipped,
                   rep.seconds, mb, source_spec, mb / s, (double)rep.tiles_fetched / s, (long long)rep.requests,
                   (long long)rep.retries, mtn_log_size(), mtn_log_size() > 1 ? "s" : "");
        }
        fflush(stdout);
    }
    mtn_cli_mpi_stop();
    return 0;
}
