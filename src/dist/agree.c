/* agree.c — collective failure agreement: one allreduce finds the lowest failing
 * rank, one broadcast gives its message to all (see dist.h). */
#include <string.h>

#include "mtn/dist.h"

enum { MESSAGE_CAP = 2048 };

int mtn_agree(int status, MPI_Comm comm) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int mine = status != MTN_OK ? rank : size, first = size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    if (first == size) return MTN_OK;
    char msg[MESSAGE_CAP];
    int code = status;
    if (rank == first) snprintf(msg, sizeof msg, "%s", mtn_error_message());
    MPI_Bcast(msg, MESSAGE_CAP, MPI_CHAR, first, comm);
    MPI_Bcast(&code, 1, MPI_INT, first, comm);
    if (first == 0 || size == 1) return mtn_error_set(code, "%s", msg);
    return mtn_error_set(code, "rank %d: %s", first, msg);
}
