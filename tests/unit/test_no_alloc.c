/* test_no_alloc.c — the training step allocates nothing: after step 1, steps 2..5 of
 * every model (forward, loss, backward, optimiser; 2 threads) and an eval forward call
 * malloc, calloc, realloc, aligned_alloc, posix_memalign and memalign zero times,
 * on any thread. The counting wrappers replace glibc's functions in this binary
 * (calling through to __libc_*); under AddressSanitizer, which owns malloc, the test
 * says so and checks nothing. Also: 1 and 2 threads train every model to identical
 * bits (losses, parameters, running statistics). */
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "harness.h"
#include "tiny_models.h"

#if defined(__SANITIZE_ADDRESS__)
#define COUNTING 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNTING 0
#endif
#endif
#ifndef COUNTING
#define COUNTING 1
#endif

static atomic_bool counting;
static atomic_long allocations;

#if COUNTING
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
void *memalign(size_t, size_t);

static void note(void) {
    if (atomic_load_explicit(&counting, memory_order_relaxed)) atomic_fetch_add(&allocations, 1);
}
void *malloc(size_t n) {
    note();
    return __libc_malloc(n);
}
void *calloc(size_t k, size_t n) {
    note();
    return __libc_calloc(k, n);
}
void *realloc(void *p, size_t n) {
    note();
    return __libc_realloc(p, n);
}
void *aligned_alloc(size_t a, size_t n) {
    note();
    return __libc_memalign(a, n);
}
void *memalign(size_t a, size_t n) {
    note();
    return __libc_memalign(a, n);
}
int posix_memalign(void **out, size_t a, size_t n) {
    note();
    *out = __libc_memalign(a, n);
    return *out ? 0 : 12; /* ENOMEM */
}
#endif

static void test_no_allocation_in_steps(void) {
    if (!COUNTING) {
        printf("\n    (AddressSanitizer build: malloc is ASan's; the plain build runs this test)");
        return;
    }
    for (int which = 0; which < TINY_COUNT; which++) {
        tiny_run r;
        if (!tiny_open(&r, which, 4, 2)) continue;
        tiny_step(&r, 0);
        atomic_store(&allocations, 0);
        atomic_store(&counting, true);
        for (int s = 1; s < 5; s++) tiny_step(&r, s);
        mtn_model_forward(r.m, r.x, r.n, false, 0, 0);
        atomic_store(&counting, false);
        long got = atomic_load(&allocations);
        if (got) fprintf(stderr, "\n%s: %ld allocations in steps 2..5", tiny_names[which], got);
        CU_ASSERT_EQUAL(got, 0);
        tiny_close(&r);
    }
}

/* The counter itself works: a malloc while counting is seen. */
static void test_counter_counts(void) {
    if (!COUNTING) return;
    atomic_store(&allocations, 0);
    atomic_store(&counting, true);
    void *volatile p = malloc(32);
    atomic_store(&counting, false);
    free(p);
    CU_ASSERT_EQUAL(atomic_load(&allocations), 1);
}

static void test_threads_do_not_change_bits(void) {
    for (int which = 0; which < TINY_COUNT; which++) {
        tiny_run a, b;
        if (!tiny_open(&a, which, 4, 1) || !tiny_open(&b, which, 4, 2)) continue;
        for (int s = 0; s < 4; s++) CU_ASSERT_EQUAL(tiny_step(&a, s), tiny_step(&b, s));
        CU_ASSERT_EQUAL(memcmp(mtn_model_params(a.m), mtn_model_params(b.m),
                               sizeof(float) * (size_t)mtn_model_n_params(a.m)), 0);
        CU_ASSERT_EQUAL(memcmp(mtn_model_buffers(a.m), mtn_model_buffers(b.m),
                               sizeof(float) * (size_t)mtn_model_n_buffers(a.m)), 0);
        tiny_close(&a);
        tiny_close(&b);
    }
}

static const mtn_test_case tests[] = {
    {"the allocation counter counts", test_counter_counts},
    {"no allocation in training steps 2..5 nor in eval forward (every model, 2 threads)",
     test_no_allocation_in_steps},
    {"1 and 2 threads: identical losses, parameters and running statistics", test_threads_do_not_change_bits},
    {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {{"training-step hygiene", tests}, {NULL, NULL}};
