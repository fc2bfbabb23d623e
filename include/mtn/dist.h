/* mtn/dist.h — what ranks do together: agreeing on failures so no rank waits forever
 * in a collective another rank will never reach (design §7). Seed groups and the
 * deterministic gradient reduction join this module with the runner. */
#ifndef MTN_DIST_H
#define MTN_DIST_H

#include <mpi.h>

#include "mtn/core.h"

/* Collective over comm: every rank passes its status. Returns MTN_OK when all
 * succeeded; otherwise every rank returns the status and message of the lowest
 * failing rank (prefixed "rank r: " when that is not rank 0 of a multi-rank comm),
 * so whichever rank prints, it prints the real cause. */
int mtn_agree(int status, MPI_Comm comm);

#endif
