/* exec.c — the executor: persistent worker threads that take fixed work items from
 * a shared counter, per-thread scratch memory reserved up front, and the fixed-tree
 * reduction over items (see nn.h). The caller's thread is thread 0. */
#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mtn/nn.h"

enum { MAX_THREADS = 64, MAX_LEVELS = 40 };

typedef struct mtn_exec mtn_exec_t;
typedef struct {
    mtn_exec_t *ex;
    int thread;
} worker_arg;

struct mtn_exec {
    int threads;
    worker_arg args[MAX_THREADS];
    pthread_t workers[MAX_THREADS];
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    uint64_t generation;     /* bumped for every parallel section */
    int running;             /* workers still inside the section */
    bool quit;
    /* the current section */
    mtn_item_fn fn;
    void *ctx;
    int n_items;
    atomic_int next_item;
    /* memory */
    float *scratch;          /* threads x scratch_floats */
    size_t scratch_floats;
    float *reduce;           /* the reduction pool: leaf slots and the tree's stack */
    size_t reduce_floats;
    float *shared;
    size_t shared_floats;
    /* data parallelism: this call's share of the global batch (see nn.h) */
    int share, shares;
    mtn_combine_fn combine;
    void *combine_ctx;
};

static void run_items(mtn_exec *ex, int thread) {
    for (;;) {
        int i = atomic_fetch_add(&ex->next_item, 1);
        if (i >= ex->n_items) break;
        ex->fn(ex->ctx, i, thread);
    }
}


static void *worker(void *p) {
    worker_arg *a = p;
    mtn_exec *ex = a->ex;
    uint64_t seen = 0;
    pthread_mutex_lock(&ex->lock);
    for (;;) {
        while (ex->generation == seen && !ex->quit) pthread_cond_wait(&ex->wake, &ex->lock);
        if (ex->quit) break;
        seen = ex->generation;
        pthread_mutex_unlock(&ex->lock);
        run_items(ex, a->thread);
        pthread_mutex_lock(&ex->lock);
        if (--ex->running == 0) pthread_cond_signal(&ex->done);
    }
    pthread_mutex_unlock(&ex->lock);
    return NULL;
}

int mtn_exec_create(int threads, mtn_exec **out) {
    *out = NULL;
    if (threads < 1 || threads > MAX_THREADS)
        return mtn_error_set(MTN_EUSAGE, "threads: expected 1 to %d, found %d", MAX_THREADS, threads);
    mtn_exec *ex = calloc(1, sizeof *ex);
    if (!ex) return mtn_error_set(MTN_ENOMEM, "out of memory creating the executor");
    openblas_set_num_threads(1); /* parallelism comes from items, so bits do not depend on threads */
    ex->threads = threads;
    ex->shares = 1;
    pthread_mutex_init(&ex->lock, NULL);
    pthread_cond_init(&ex->wake, NULL);
    pthread_cond_init(&ex->done, NULL);
    for (int t = 1; t < threads; t++) {
        ex->args[t] = (worker_arg){ex, t};
        if (pthread_create(&ex->workers[t], NULL, worker, &ex->args[t]) != 0) {
            ex->threads = t;
            mtn_exec_free(ex);
            return mtn_error_set(MTN_EINTERNAL, "cannot start worker thread %d", t);
        }
    }
    *out = ex;
    return MTN_OK;
}

void mtn_exec_free(mtn_exec *ex) {
    if (!ex) return;
    pthread_mutex_lock(&ex->lock);
    ex->quit = true;
    pthread_cond_broadcast(&ex->wake);
    pthread_mutex_unlock(&ex->lock);
    for (int t = 1; t < ex->threads; t++) pthread_join(ex->workers[t], NULL);
    pthread_mutex_destroy(&ex->lock);
    pthread_cond_destroy(&ex->wake);
    pthread_cond_destroy(&ex->done);
    free(ex->scratch);
    free(ex->reduce);
    free(ex->shared);
    free(ex);
}

int mtn_exec_threads(const mtn_exec *ex) { return ex->threads; }

void mtn_exec_set_share(mtn_exec *ex, int share, int shares, mtn_combine_fn combine, void *ctx) {
    MTN_ASSERT(shares >= 1 && share >= 0 && share < shares && (shares == 1 || combine));
    ex->share = share;
    ex->shares = shares;
    ex->combine = combine;
    ex->combine_ctx = ctx;
}

int mtn_exec_share(const mtn_exec *ex) { return ex->share; }
int mtn_exec_shares(const mtn_exec *ex) { return ex->shares; }

void mtn_exec_combine(mtn_exec *ex, float *partial, size_t count) {
    if (ex->shares > 1) ex->combine(ex->combine_ctx, partial, count);
}

mtn_needs mtn_needs_max(mtn_needs a, mtn_needs b) {
    mtn_needs m = {a.per_thread > b.per_thread ? a.per_thread : b.per_thread,
                   a.per_leaf > b.per_leaf ? a.per_leaf : b.per_leaf, a.shared > b.shared ? a.shared : b.shared,
                   a.tree > b.tree ? a.tree : b.tree};
    return m;
}

/* Reduction buffers start at multiples of 16 floats (64 bytes). */
static size_t slot_floats(size_t count) { return (count + 15) / 16 * 16; }

/* floor(log2(n)) + 1: the most stack levels a binary counter over n leaves holds */
static int tree_levels(int64_t n) {
    int l = 0;
    while (n > 0) {
        n >>= 1;
        l++;
    }
    return l;
}

size_t mtn_tree_floats(size_t count, int64_t leaves) {
    size_t out;
    if (!mtn_mul_size(slot_floats(count), (size_t)tree_levels(leaves < 1 ? 1 : leaves), &out)) return SIZE_MAX;
    return out;
}

/* *buf holds at least floats x copies floats afterwards */
static int grow(float **buf, size_t *have, size_t floats, size_t copies, const char *what) {
    if (floats <= *have) return MTN_OK;
    size_t bytes;
    if (!mtn_mul_size(floats, copies * sizeof(float), &bytes))
        return mtn_error_set(MTN_EOVERFLOW, "%s: %zu floats overflow", what, floats);
    float *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) return mtn_error_set(MTN_ENOMEM, "out of memory for %zu MB of %s", bytes >> 20, what);
    free(*buf);
    *buf = p;
    *have = floats;
    return MTN_OK;
}

int mtn_exec_reserve(mtn_exec *ex, mtn_needs needs) {
    /* the reduction pool: a leaf slot per thread, and the tree's stack */
    size_t leaf_slots, pool;
    if (!mtn_mul_size(slot_floats(needs.per_leaf), (size_t)ex->threads, &leaf_slots) || needs.tree == SIZE_MAX ||
        leaf_slots > SIZE_MAX - needs.tree)
        return mtn_error_set(MTN_EOVERFLOW, "reduction buffers: sizes overflow");
    pool = leaf_slots + needs.tree;
    int rc = grow(&ex->scratch, &ex->scratch_floats, needs.per_thread, (size_t)ex->threads, "per-thread scratch");
    if (!rc) rc = grow(&ex->reduce, &ex->reduce_floats, pool, 1, "reduction buffers");
    if (!rc) rc = grow(&ex->shared, &ex->shared_floats, needs.shared, 1, "shared scratch");
    return rc;
}

float *mtn_exec_shared(mtn_exec *ex, size_t floats) {
    MTN_ASSERT(floats <= ex->shared_floats);
    return ex->shared;
}

float *mtn_exec_scratch(mtn_exec *ex, int thread) { return ex->scratch + (size_t)thread * ex->scratch_floats; }

void mtn_exec_for(mtn_exec *ex, int n, mtn_item_fn fn, void *ctx) {
    if (n <= 0) return;
    if (ex->threads == 1 || n == 1) {
        for (int i = 0; i < n; i++) fn(ctx, i, 0);
        return;
    }
    pthread_mutex_lock(&ex->lock);
    ex->fn = fn;
    ex->ctx = ctx;
    ex->n_items = n;
    atomic_store(&ex->next_item, 0);
    ex->running = ex->threads - 1;
    ex->generation++;
    pthread_cond_broadcast(&ex->wake);
    pthread_mutex_unlock(&ex->lock);
    run_items(ex, 0);
    pthread_mutex_lock(&ex->lock);
    while (ex->running > 0) pthread_cond_wait(&ex->done, &ex->lock);
    pthread_mutex_unlock(&ex->lock);
}

/* ---- the fixed-tree reduction ---- */

typedef struct {
    mtn_leaf_fn leaf;
    void *ctx;
    int base;
    float **slots;
    size_t count;
} wave_ctx;

static void wave_item(void *p, int i, int thread) {
    wave_ctx *w = p;
    w->leaf(w->ctx, w->base + i, w->slots[i], thread);
}

typedef struct {
    float *left;
    const float *right;
    size_t count;
} add_ctx;

enum { ADD_CHUNK = 1 << 16 };

static void add_item(void *p, int i, int thread) {
    (void)thread;
    add_ctx *a = p;
    size_t lo = (size_t)i * ADD_CHUNK, hi = lo + ADD_CHUNK < a->count ? lo + ADD_CHUNK : a->count;
    for (size_t k = lo; k < hi; k++) a->left[k] += a->right[k];
}

/* left[k] += right[k]: elementwise, so any split over threads gives the same bits */
static void add_into(mtn_exec *ex, float *left, const float *right, size_t count) {
    add_ctx a = {left, right, count};
    mtn_exec_for(ex, (int)((count + ADD_CHUNK - 1) / ADD_CHUNK), add_item, &a);
}

/* The binary-counter stack of the fixed tree: stack[l] holds the sum of the last
 * complete block of 2^l leaves, if any. Leaves are pushed in index order. */
typedef struct {
    float *free_bufs[MAX_THREADS + MAX_LEVELS];
    int n_free;
    float *stack[MAX_LEVELS];
} tree;

/* Carves the pool into the slots a reduction of n leaves of count floats can hold
 * at once: `wave` leaves in flight and the stack's levels (what reserve sized). */
static void tree_init(mtn_exec *ex, tree *t, int n, int wave, size_t count) {
    memset(t, 0, sizeof *t);
    size_t stride = slot_floats(count);
    int slots = wave + tree_levels(n);
    MTN_ASSERT(slots <= MAX_THREADS + MAX_LEVELS && (size_t)slots * stride <= ex->reduce_floats);
    for (int b = 0; b < slots; b++) t->free_bufs[t->n_free++] = ex->reduce + (size_t)b * stride;
}

static float *tree_buffer(tree *t) {
    MTN_ASSERT(t->n_free > 0);
    return t->free_bufs[--t->n_free];
}

static void tree_push(mtn_exec *ex, tree *t, float *leaf, size_t count) {
    float *carry = leaf;
    int l = 0;
    while (t->stack[l]) {
        add_into(ex, t->stack[l], carry, count); /* earlier leaves on the left */
        t->free_bufs[t->n_free++] = carry;
        carry = t->stack[l];
        t->stack[l] = NULL;
        l++;
    }
    t->stack[l] = carry;
}

/* acc += the remaining roots, left (older, higher level) to right */
static void tree_finish(mtn_exec *ex, tree *t, size_t count, float *acc) {
    float *result = NULL;
    for (int l = MAX_LEVELS - 1; l >= 0; l--) {
        if (!t->stack[l]) continue;
        if (!result) result = t->stack[l];
        else add_into(ex, result, t->stack[l], count);
    }
    if (result) add_into(ex, acc, result, count);
}

void mtn_exec_reduce(mtn_exec *ex, int n, size_t count, mtn_leaf_fn leaf, void *ctx, float *acc) {
    if (n <= 0) return;
    MTN_ASSERT(n <= (1 << 16));
    tree t;
    tree_init(ex, &t, n, ex->threads < n ? ex->threads : n, count);
    float *slots[MAX_THREADS];
    for (int base = 0; base < n; base += ex->threads) {
        int m = n - base < ex->threads ? n - base : ex->threads;
        for (int i = 0; i < m; i++) slots[i] = tree_buffer(&t);
        wave_ctx w = {leaf, ctx, base, slots, count};
        mtn_exec_for(ex, m, wave_item, &w);
        for (int i = 0; i < m; i++) tree_push(ex, &t, slots[i], count);
    }
    tree_finish(ex, &t, count, acc);
}

void mtn_exec_reduce_together(mtn_exec *ex, int n, size_t count, mtn_coop_leaf_fn leaf, void *ctx, float *acc) {
    if (n <= 0) return;
    MTN_ASSERT(n <= (1 << 16));
    tree t;
    tree_init(ex, &t, n, 1, count);
    for (int i = 0; i < n; i++) {
        float *out = tree_buffer(&t);
        leaf(ctx, i, out);
        tree_push(ex, &t, out, count);
    }
    tree_finish(ex, &t, count, acc);
}

int mtn_column_chunks(int64_t columns) {
    /* about 16k output positions per item: big enough for an efficient GEMM */
    int64_t c = columns / 8192;
    return (int)(c < 1 ? 1 : c > 256 ? 256 : c);
}
