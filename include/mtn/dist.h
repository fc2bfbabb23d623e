/* mtn/dist.h — what ranks do together (design §3, §4, §7): agreeing on failures so
 * no rank waits forever in a collective another rank will never reach; splitting
 * MPI_COMM_WORLD into seed groups; and the deterministic sum across a seed group's
 * ranks (the fixed tree of core.h over the rank index), in fused buckets.
 *
 * Ownership: mtn_layout_make fills a caller-owned layout whose communicator
 * mtn_layout_free releases; mtn_reducer_create returns a reducer freed by
 * mtn_reducer_free (NULL ok). */
#ifndef MTN_DIST_H
#define MTN_DIST_H

#include <mpi.h>
#include <stddef.h>

#include "mtn/core.h"

/* Collective over comm: every rank passes its status. Returns MTN_OK when all
 * succeeded; otherwise every rank returns the status and message of the lowest
 * failing rank (prefixed "rank r: " when that is not rank 0 of a multi-rank comm),
 * so whichever rank prints, it prints the real cause. */
int mtn_agree(int status, MPI_Comm comm);

/* ------------------------------------------------------------- seed groups --- */

/* World ranks are cut into seed groups of ranks_per_seed consecutive ranks; group g
 * trains seeds g, g + groups, g + 2 groups, ... of the job's list, one after
 * another. Ranks beyond groups x ranks_per_seed (when the world does not divide)
 * train nothing and only join the final gather. */
typedef struct {
    int world_rank, world_size;
    int ranks_per_seed, groups;
    int group;                /* this rank's group, or -1 when idle */
    int group_rank;           /* rank inside the group */
    MPI_Comm group_comm;      /* the group's ranks (MPI_COMM_NULL when idle) */
} mtn_layout;

/* ranks_per_seed 0 = automatic: the largest power of two <= world / seeds (at least
 * 1), so every seed gets a group when there are enough ranks and groups are
 * power-of-two sized (what the determinism contract needs). An explicit value must
 * be in 1..world. Collective over world. MTN_EUSAGE on a bad value. */
int mtn_layout_make(MPI_Comm world, int n_seeds, int ranks_per_seed, mtn_layout *out);
void mtn_layout_free(mtn_layout *l);
/* "8 ranks: 4 seed groups x 2 ranks (seeds 1,872 | 100 | 350 | 631)", for logs and
 * the archive. */
void mtn_layout_describe(const mtn_layout *l, const int *seeds, int n_seeds, char *buf, size_t size);
/* Seeds (indices into the job's list) of a group: i with i % groups == group. */
static inline int mtn_layout_owns(const mtn_layout *l, int seed_index) {
    return l->group >= 0 && seed_index % l->groups == l->group;
}

/* ---------------------------------------------------- deterministic sums --- */

/* Sums float arrays over the ranks of a communicator so that every rank gets the
 * same bits, and the bits do not depend on how many ranks there are, as long as each
 * rank's array is itself the sum of a power-of-two block of the same leaves (see
 * mtn_tree_sum): buf = mtn_tree_sum over ranks in rank order. Large arrays go in
 * buckets of `bucket` floats, each reduce-scattered (MPI_Ialltoallv: rank j gathers
 * slice j of every rank and sums it in the tree) and then all-gathered, the
 * exchanges of the next bucket in flight while the current one is summed. Small
 * arrays are all-gathered and summed by every rank. The reducer owns its buffers
 * (reserved at creation: nothing is allocated per call). */
typedef struct mtn_reducer mtn_reducer;
int mtn_reducer_create(MPI_Comm comm, size_t max_count, size_t bucket, mtn_reducer **out);
void mtn_reducer_free(mtn_reducer *r);
/* buf[0..count) (count <= max_count) = the tree sum over the ranks. Collective. */
int mtn_reducer_sum(mtn_reducer *r, float *buf, size_t count);
/* Seconds spent inside mtn_reducer_sum since creation (communication time). */
double mtn_reducer_seconds(const mtn_reducer *r);

#endif
