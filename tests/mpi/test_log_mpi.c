/* test_log_mpi.c — rank-aware logging and progress with real MPI ranks: each rank
 * logs into its own buffer; rank 0 gathers them and checks that info lines and
 * progress come from rank 0 only and warnings from every rank with its prefix.
 * Run under mpirun -n 2 (or more); exits non-zero on any failure, on every rank. */
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "mtn/core.h"

enum { CAP = 4096 };

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mtn_log_init(rank, size, MTN_LOG_INFO, f);
    MTN_INFO("hello from rank %d", rank);
    MTN_WARN("low disk on rank %d", rank);
    mtn_progress p;
    mtn_progress_opts o = {f, MTN_PROGRESS_LINES, 1e-9, NULL};
    mtn_progress_begin(&p, "epoch", 4, &o);
    mtn_progress_update(&p, 4, NULL);
    mtn_progress_end(&p, NULL);
    fclose(f);

    char mine[CAP] = {0};
    snprintf(mine, sizeof mine, "%s", buf);
    free(buf);
    char *all = rank == 0 ? calloc((size_t)size, CAP) : NULL;
    MPI_Gather(mine, CAP, MPI_CHAR, all, CAP, MPI_CHAR, 0, MPI_COMM_WORLD);

    int failures = 0;
    if (rank == 0) {
        for (int r = 0; r < size; r++) {
            const char *text = all + (size_t)r * CAP;
            char want[128];
            snprintf(want, sizeof want, "hello from rank %d", r);
            bool has_info = strstr(text, want) != NULL;
            bool has_progress = strstr(text, "epoch: 4/4") != NULL;
            snprintf(want, sizeof want, "[rank %d/%d] warning: low disk on rank %d\n", r, size, r);
            bool has_warn = strstr(text, want) != NULL;
            if (has_info != (r == 0)) { fprintf(stderr, "rank %d: info line %s\n", r, has_info ? "present" : "missing"); failures++; }
            if (has_progress != (r == 0)) { fprintf(stderr, "rank %d: progress %s\n", r, has_progress ? "present" : "missing"); failures++; }
            if (!has_warn) { fprintf(stderr, "rank %d: warning missing:\n%s\n", r, text); failures++; }
        }
        if (size < 2) { fprintf(stderr, "run this under mpirun -n 2 or more\n"); failures++; }
        free(all);
    }
    MPI_Bcast(&failures, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (rank == 0) printf("%s (%d ranks)\n", failures ? "FAILED" : "mpi log: all passed", size);
    MPI_Finalize();
    return failures ? 1 : 0;
}
