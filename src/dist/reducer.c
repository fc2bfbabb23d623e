/* reducer.c — the deterministic sum over a communicator's ranks (see dist.h):
 * every element is summed by one rank, over all ranks' values in the fixed tree of
 * the rank index, and then shared; large arrays go bucket by bucket with the next
 * bucket's exchange in flight while this one is summed. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mtn/dist.h"

enum { SMALL_COUNT = 1 << 14, MAX_RANKS = 4096 };

typedef struct {
    int send_counts[MAX_RANKS], send_displs[MAX_RANKS];
    int recv_counts[MAX_RANKS], recv_displs[MAX_RANKS];
} exchange_plan;

struct mtn_reducer {
    MPI_Comm comm;
    int rank, size;
    size_t max_count, bucket;
    float *recv[2];          /* size x (bucket / size + 1) each: one bucket's slices */
    float *small;            /* size x SMALL_COUNT: all-gathered small arrays */
    float **parts;           /* size pointers */
    exchange_plan plans[2];  /* alltoallv of a bucket, double-buffered */
    int gather_counts[MAX_RANKS], gather_displs[MAX_RANKS]; /* one gather in flight */
    double seconds;
};

static float *alloc_floats(size_t a, size_t b) {
    size_t bytes;
    if (!mtn_mul_size(a, b * sizeof(float), &bytes)) return NULL;
    return malloc(bytes ? bytes : 1);
}

int mtn_reducer_create(MPI_Comm comm, size_t max_count, size_t bucket, mtn_reducer **out) {
    *out = NULL;
    mtn_reducer *r = calloc(1, sizeof *r);
    if (!r) return mtn_error_set(MTN_ENOMEM, "out of memory for the gradient reducer");
    r->comm = comm;
    MPI_Comm_rank(comm, &r->rank);
    MPI_Comm_size(comm, &r->size);
    if (r->size > MAX_RANKS) {
        int size = r->size;
        free(r);
        return mtn_error_set(MTN_EUSAGE, "a seed group of %d ranks: at most %d", size, MAX_RANKS);
    }
    if (bucket < (size_t)r->size) bucket = (size_t)r->size;
    if (bucket > INT_MAX / 2) bucket = INT_MAX / 2;
    r->max_count = max_count;
    r->bucket = bucket;
    size_t slice = bucket / (size_t)r->size + 1;
    if (r->size > 1) {
        r->recv[0] = alloc_floats((size_t)r->size, slice);
        r->recv[1] = alloc_floats((size_t)r->size, slice);
        r->small = alloc_floats((size_t)r->size, SMALL_COUNT);
    }
    r->parts = malloc(sizeof(float *) * (size_t)r->size);
    if (!r->parts || (r->size > 1 && (!r->recv[0] || !r->recv[1] || !r->small))) {
        mtn_reducer_free(r);
        return mtn_error_set(MTN_ENOMEM, "out of memory for the gradient reducer (%zu-float buckets)", bucket);
    }
    *out = r;
    return MTN_OK;
}

void mtn_reducer_free(mtn_reducer *r) {
    if (!r) return;
    free(r->recv[0]);
    free(r->recv[1]);
    free(r->small);
    free(r->parts);
    free(r);
}

double mtn_reducer_seconds(const mtn_reducer *r) { return r->seconds; }

/* slice j of [0, len): [len j / size, len (j + 1) / size) */
static size_t slice_start(size_t len, int j, int size) { return len * (size_t)j / (size_t)size; }

/* Small arrays: every rank gathers every rank's array and sums them all. */
static void sum_small(mtn_reducer *r, float *buf, size_t count) {
    MPI_Allgather(buf, (int)count, MPI_FLOAT, r->small, (int)count, MPI_FLOAT, r->comm);
    for (int j = 0; j < r->size; j++) r->parts[j] = r->small + (size_t)j * count;
    int at = mtn_tree_sum(r->parts, r->size, count);
    memcpy(buf, r->parts[at], sizeof(float) * count);
}

/* Posts the exchange of bucket [b0, b0 + len): slice j of every rank to rank j. */
static void post_exchange(mtn_reducer *r, float *buf, size_t b0, size_t len, int which, MPI_Request *req) {
    exchange_plan *p = &r->plans[which];
    size_t mine = slice_start(len, r->rank + 1, r->size) - slice_start(len, r->rank, r->size);
    for (int j = 0; j < r->size; j++) {
        size_t s = slice_start(len, j, r->size);
        p->send_counts[j] = (int)(slice_start(len, j + 1, r->size) - s);
        p->send_displs[j] = (int)s;
        p->recv_counts[j] = (int)mine;
        p->recv_displs[j] = (int)(mine * (size_t)j);
    }
    MPI_Ialltoallv(buf + b0, p->send_counts, p->send_displs, MPI_FLOAT, r->recv[which], p->recv_counts,
                   p->recv_displs, MPI_FLOAT, r->comm, req);
}

int mtn_reducer_sum(mtn_reducer *r, float *buf, size_t count) {
    MTN_ASSERT(count <= r->max_count || count <= SMALL_COUNT);
    if (r->size == 1 || count == 0) return MTN_OK;
    double t0 = mtn_now();
    if (count <= SMALL_COUNT) {
        sum_small(r, buf, count);
        r->seconds += mtn_now() - t0;
        return MTN_OK;
    }
    size_t nb = (count + r->bucket - 1) / r->bucket;
    MPI_Request exch[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL}, gather = MPI_REQUEST_NULL;
    post_exchange(r, buf, 0, count < r->bucket ? count : r->bucket, 0, &exch[0]);
    for (size_t b = 0; b < nb; b++) {
        int which = (int)(b % 2);
        size_t b0 = b * r->bucket, len = b0 + r->bucket < count ? r->bucket : count - b0;
        MPI_Wait(&exch[which], MPI_STATUS_IGNORE);
        if (b + 1 < nb) {
            size_t n0 = b0 + r->bucket, nlen = n0 + r->bucket < count ? r->bucket : count - n0;
            post_exchange(r, buf, n0, nlen, 1 - which, &exch[1 - which]);
        }
        /* sum my slice of this bucket over the ranks, in the tree */
        size_t s0 = slice_start(len, r->rank, r->size), mine = slice_start(len, r->rank + 1, r->size) - s0;
        for (int j = 0; j < r->size; j++) r->parts[j] = r->recv[which] + mine * (size_t)j;
        int at = mtn_tree_sum(r->parts, r->size, mine);
        /* the previous bucket's gather must finish before its counts are reused */
        MPI_Wait(&gather, MPI_STATUS_IGNORE);
        memcpy(buf + b0 + s0, r->parts[at], sizeof(float) * mine);
        for (int j = 0; j < r->size; j++) {
            size_t s = slice_start(len, j, r->size);
            r->gather_counts[j] = (int)(slice_start(len, j + 1, r->size) - s);
            r->gather_displs[j] = (int)s;
        }
        MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, buf + b0, r->gather_counts, r->gather_displs, MPI_FLOAT, r->comm,
                        &gather);
    }
    MPI_Wait(&gather, MPI_STATUS_IGNORE);
    r->seconds += mtn_now() - t0;
    return MTN_OK;
}
