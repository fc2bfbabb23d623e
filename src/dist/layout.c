/* layout.c — seed groups: MPI_COMM_WORLD cut into groups of consecutive ranks, one
 * seed at a time per group (see dist.h). */
#include <stdio.h>
#include <string.h>

#include "mtn/dist.h"

int mtn_layout_make(MPI_Comm world, int n_seeds, int ranks_per_seed, mtn_layout *out) {
    memset(out, 0, sizeof *out);
    out->group_comm = MPI_COMM_NULL;
    MPI_Comm_rank(world, &out->world_rank);
    MPI_Comm_size(world, &out->world_size);
    int size = out->world_size;
    if (n_seeds < 1) return mtn_error_set(MTN_EUSAGE, "layout: no seeds to run");
    if (ranks_per_seed < 0 || ranks_per_seed > size)
        return mtn_error_set(MTN_EUSAGE, "--ranks-per-seed: expected 1 to %d (the world size), found %d", size,
                             ranks_per_seed);
    int rps = ranks_per_seed;
    if (rps == 0) {
        rps = 1;
        while (2 * rps <= size / n_seeds) rps *= 2;
    }
    int groups = size / rps;
    if (groups > n_seeds) groups = n_seeds;
    out->ranks_per_seed = rps;
    out->groups = groups;
    int g = out->world_rank / rps;
    out->group = g < groups ? g : -1;
    out->group_rank = out->group >= 0 ? out->world_rank % rps : 0;
    int rc = MPI_Comm_split(world, out->group >= 0 ? out->group : MPI_UNDEFINED, out->world_rank, &out->group_comm);
    if (rc != MPI_SUCCESS) return mtn_error_set(MTN_EINTERNAL, "layout: MPI_Comm_split failed");
    return MTN_OK;
}

void mtn_layout_free(mtn_layout *l) {
    if (l && l->group_comm != MPI_COMM_NULL) MPI_Comm_free(&l->group_comm);
    if (l) l->group_comm = MPI_COMM_NULL;
}

void mtn_layout_describe(const mtn_layout *l, const int *seeds, int n_seeds, char *buf, size_t size) {
    size_t used = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int k_ = snprintf(buf + used, used < size ? size - used : 0, __VA_ARGS__);                 \
        if (k_ > 0) used += (size_t)k_;                                                            \
    } while (0)
    PUT("%d rank%s: %d seed group%s x %d rank%s (", l->world_size, l->world_size == 1 ? "" : "s", l->groups,
        l->groups == 1 ? "" : "s", l->ranks_per_seed, l->ranks_per_seed == 1 ? "" : "s");
    for (int g = 0; g < l->groups; g++) {
        PUT("%sseeds ", g ? " | " : "");
        int first = 1;
        for (int i = g; i < n_seeds; i += l->groups) {
            PUT("%s%d", first ? "" : ",", seeds[i]);
            first = 0;
        }
    }
    int idle = l->world_size - l->groups * l->ranks_per_seed;
    PUT(")");
    if (idle > 0) PUT(", %d idle", idle);
#undef PUT
    if (size && used >= size) buf[size - 1] = '\0';
}
