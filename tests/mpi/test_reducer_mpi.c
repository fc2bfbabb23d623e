/* test_reducer_mpi.c — the deterministic sum across ranks (dist.h), under mpirun:
 * every rank gets the same bits, equal to mtn_tree_sum over the ranks' arrays in
 * rank order computed by one process, for small arrays (all-gathered), arrays of
 * several buckets with a short last one, and counts that do not divide by the
 * ranks; and a seed-group layout that covers the world. Exits non-zero on failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtn/dist.h"

static int fails;
#define CHECK(c, ...)                                                                              \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            fails++;                                                                               \
        }                                                                                          \
    } while (0)

/* rank r's value at i: varied magnitudes, so the order of the sum shows in the bits */
static float value(int r, size_t i) {
    mtn_rng g;
    mtn_rng_init(&g, 7, 100 + (uint64_t)r, i);
    return (float)((mtn_rng_uniform(&g) - 0.5) * pow(10.0, (double)(i % 7) - 3.0));
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const size_t counts[] = {1, 7, 1000, 16384, 16385, 100003, 250000};
    mtn_reducer *r = NULL;
    CHECK(mtn_reducer_create(MPI_COMM_WORLD, 250000, 40000, &r) == 0, "create");
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        size_t n = counts[c];
        float *mine = malloc(sizeof(float) * n), **parts = malloc(sizeof(float *) * (size_t)size);
        for (size_t i = 0; i < n; i++) mine[i] = value(rank, i);
        mtn_reducer_sum(r, mine, n);
        /* the oracle: one process, every rank's array, the tree in rank order */
        for (int k = 0; k < size; k++) {
            parts[k] = malloc(sizeof(float) * n);
            for (size_t i = 0; i < n; i++) parts[k][i] = value(k, i);
        }
        int at = mtn_tree_sum(parts, size, n);
        CHECK(memcmp(mine, parts[at], sizeof(float) * n) == 0, "count %zu: not the tree sum's bits", n);
        /* the same bits on every rank */
        float *first = malloc(sizeof(float) * n);
        memcpy(first, mine, sizeof(float) * n);
        MPI_Bcast(first, (int)n, MPI_FLOAT, 0, MPI_COMM_WORLD);
        CHECK(memcmp(mine, first, sizeof(float) * n) == 0, "count %zu: ranks disagree", n);
        for (int k = 0; k < size; k++) free(parts[k]);
        free(parts);
        free(mine);
        free(first);
    }
    mtn_reducer_free(r);
    /* layouts: automatic and explicit */
    mtn_layout l;
    CHECK(mtn_layout_make(MPI_COMM_WORLD, 5, 0, &l) == 0, "layout");
    int expect_rps = 1;
    while (2 * expect_rps <= size / 5) expect_rps *= 2;
    CHECK(l.ranks_per_seed == expect_rps, "auto ranks per seed %d", l.ranks_per_seed);
    char text[256];
    int seeds[5] = {1, 100, 350, 631, 872};
    mtn_layout_describe(&l, seeds, 5, text, sizeof text);
    if (rank == 0) printf("layout: %s\n", text);
    mtn_layout_free(&l);
    CHECK(mtn_layout_make(MPI_COMM_WORLD, 2, size, &l) == 0, "explicit layout");
    CHECK(l.groups == 1 && l.group == 0 && l.group_rank == rank, "one group of all ranks");
    mtn_layout_free(&l);
    CHECK(mtn_layout_make(MPI_COMM_WORLD, 2, size + 1, &l) == MTN_EUSAGE, "too many ranks per seed");
    mtn_layout_free(&l);
    int all = 0;
    MPI_Allreduce(&fails, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) printf("test_reducer_mpi: %s (%d ranks)\n", all ? "FAILED" : "passed", size);
    MPI_Finalize();
    return all ? 1 : 0;
}
