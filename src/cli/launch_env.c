/* launch_env.c — where this process sits in a parallel launch, read from the
 * environment that mpirun (Open MPI / PMIx), srun (Slurm) or a PMI launcher sets,
 * and the one place that prints a command's failure. */
#include <mpi.h>
#include <stdlib.h>

#include "cli.h"
#include "mtn/core.h"

static bool env_int(const char *name, int *out) {
    const char *s = getenv(name);
    if (!s || !*s) return false;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 0 || v > 1 << 24) return false;
    *out = (int)v;
    return true;
}

void mtn_launch_env(int *rank, int *size) {
    static const char *pairs[][2] = {{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
                                     {"PMIX_RANK", "OMPI_COMM_WORLD_SIZE"},
                                     {"PMI_RANK", "PMI_SIZE"},
                                     {"SLURM_PROCID", "SLURM_NTASKS"}};
    *rank = 0;
    *size = 1;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        int r, s;
        if (env_int(pairs[i][0], &r) && env_int(pairs[i][1], &s) && s >= 1 && r < s) {
            *rank = r;
            *size = s;
            return;
        }
    }
}

int mtn_cli_fail(int status, bool everywhere) {
    if (!everywhere || mtn_log_rank() == 0) {
        const char *msg = mtn_error_message();
        if (mtn_log_size() > 1 && !everywhere)
            fprintf(stderr, "[rank %d/%d] mtneuro: %s\n", mtn_log_rank(), mtn_log_size(), msg[0] ? msg : mtn_status_name(status));
        else
            fprintf(stderr, "mtneuro: %s\n", msg[0] ? msg : mtn_status_name(status));
    }
    return mtn_exit_code(status);
}

int mtn_cli_mpi_start(int *argc, char ***argv) {
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return mtn_error_set(MTN_EINTERNAL, "MPI_Init_thread failed");
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    mtn_log_init(rank, size, mtn_log_get_level(), NULL);
    return MTN_OK;
}

void mtn_cli_mpi_stop(void) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}
