/* test_rng.c — Philox4x32 against the published Random123 known-answer vectors, and
 * the draws built on it: reproducibility from (seed, stream, counter), ranges,
 * moments, unbiased bounded integers and uniform permutations (chi-square tests with
 * fixed seeds, so they are deterministic). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mtn/core.h"

/* Random123 kat_vectors: philox4x32, rounds, ctr[4], key[2] -> out[4] */
static const struct {
    int rounds;
    uint32_t ctr[4], key[2], out[4];
} kat[] = {
    {7, {0, 0, 0, 0}, {0, 0}, {0x5f6fb709, 0x0d893f64, 0x4f121f81, 0x4f730a48}},
    {7, {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
     {0x5207ddc2, 0x45165e59, 0x4d8ee751, 0x8c52f662}},
    {7, {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
     {0x4dfccaba, 0x190a87f0, 0xc47362ba, 0xb6b5242a}},
    {10, {0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {10, {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {10, {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

static void test_known_answers(void) {
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        uint32_t out[4];
        mtn_philox4x32_r(kat[i].rounds, kat[i].ctr, kat[i].key, out);
        for (int j = 0; j < 4; j++) CU_ASSERT_EQUAL(out[j], kat[i].out[j]);
        if (kat[i].rounds == 10) {
            mtn_philox4x32(kat[i].ctr, kat[i].key, out);
            CU_ASSERT_EQUAL(memcmp(out, kat[i].out, sizeof out), 0);
        }
    }
}

/* The sequential reader is the block function at (seed, stream, counter). */
static void test_reader_is_counter_based(void) {
    uint64_t seed = 0x0123456789abcdefULL, stream = 0xfedcba9876543210ULL;
    mtn_rng r;
    mtn_rng_init(&r, seed, stream, 5);
    for (uint64_t block = 5; block < 9; block++) {
        uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), (uint32_t)stream, (uint32_t)(stream >> 32)};
        uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)}, out[4];
        mtn_philox4x32(ctr, key, out);
        for (int j = 0; j < 4; j++) CU_ASSERT_EQUAL(mtn_rng_u32(&r), out[j]);
    }
    /* starting at a later counter gives the same words as reading up to it */
    mtn_rng a, b;
    mtn_rng_init(&a, 7, 3, 0);
    for (int i = 0; i < 40; i++) mtn_rng_u32(&a);
    mtn_rng_init(&b, 7, 3, 10);
    for (int i = 0; i < 8; i++) CU_ASSERT_EQUAL(mtn_rng_u32(&a), mtn_rng_u32(&b));
}

static void test_streams_and_seeds_differ(void) {
    mtn_rng a, b, c;
    mtn_rng_init(&a, 1, 1, 0);
    mtn_rng_init(&b, 1, 2, 0);
    mtn_rng_init(&c, 2, 1, 0);
    int same_ab = 0, same_ac = 0;
    for (int i = 0; i < 64; i++) {
        uint32_t x = mtn_rng_u32(&a), y = mtn_rng_u32(&b), z = mtn_rng_u32(&c);
        same_ab += x == y;
        same_ac += x == z;
    }
    CU_ASSERT(same_ab == 0);
    CU_ASSERT(same_ac == 0);
}

static void test_uniform_and_normal_moments(void) {
    mtn_rng r;
    mtn_rng_init(&r, 42, MTN_STREAM_INIT, 0);
    enum { N = 200000 };
    double sum = 0, sum2 = 0, fsum = 0;
    for (int i = 0; i < N; i++) {
        double u = mtn_rng_uniform(&r);
        float f = mtn_rng_uniformf(&r);
        CU_ASSERT(u >= 0.0 && u < 1.0);
        CU_ASSERT(f >= 0.0f && f < 1.0f);
        sum += u;
        sum2 += u * u;
        fsum += f;
    }
    double mean = sum / N, var = sum2 / N - mean * mean;
    /* standard errors: mean 0.00065, variance 0.00015; bounds are 5 sigma */
    CU_ASSERT(fabs(mean - 0.5) < 0.0033);
    CU_ASSERT(fabs(var - 1.0 / 12) < 0.0008);
    CU_ASSERT(fabs(fsum / N - 0.5) < 0.0033);
    double nsum = 0, nsum2 = 0, nsum4 = 0;
    for (int i = 0; i < N; i++) {
        double z = mtn_rng_normal(&r);
        CU_ASSERT(isfinite(z));
        nsum += z;
        nsum2 += z * z;
        nsum4 += z * z * z * z;
    }
    CU_ASSERT(fabs(nsum / N) < 0.012);           /* 5 sigma of 1/sqrt(N) */
    CU_ASSERT(fabs(nsum2 / N - 1.0) < 0.016);    /* sd of z^2 is sqrt(2) */
    CU_ASSERT(fabs(nsum4 / N - 3.0) < 0.11);     /* kurtosis of a normal */
}

/* chi-square statistic of observed counts against equal expectation */
static double chi_square(const long *counts, int k, long n) {
    double e = (double)n / k, chi = 0;
    for (int i = 0; i < k; i++) {
        double d = (double)counts[i] - e;
        chi += d * d / e;
    }
    return chi;
}

static void test_below_is_unbiased(void) {
    mtn_rng r;
    mtn_rng_init(&r, 9, MTN_STREAM_SHUFFLE, 0);
    /* n = 3 * 2^30 makes a plain modulo visibly biased; check buckets of thirds */
    long counts[3] = {0, 0, 0}, small[7] = {0};
    enum { N = 300000 };
    for (int i = 0; i < N; i++) {
        uint32_t v = mtn_rng_below(&r, 3u << 30);
        CU_ASSERT(v < (3u << 30));
        counts[v >> 30]++;
        uint32_t w = mtn_rng_below(&r, 7);
        CU_ASSERT(w < 7);
        small[w]++;
    }
    /* 99.9th percentile: chi2(2) 13.8, chi2(6) 22.5 */
    CU_ASSERT(chi_square(counts, 3, N) < 13.8);
    CU_ASSERT(chi_square(small, 7, N) < 22.5);
    CU_ASSERT_EQUAL(mtn_rng_below(&r, 1), 0);
}

static void test_permutations(void) {
    mtn_rng r;
    mtn_rng_init(&r, 5, MTN_STREAM_SHUFFLE, 0);
    uint32_t p[1000];
    mtn_rng_permutation(&r, 1000, p);
    char seen[1000] = {0};
    for (int i = 0; i < 1000; i++) {
        CU_ASSERT_FATAL(p[i] < 1000);
        CU_ASSERT(!seen[p[i]]);
        seen[p[i]] = 1;
    }
    /* all 24 orders of 4 items equally often */
    long counts[24] = {0};
    enum { N = 48000 };
    for (int i = 0; i < N; i++) {
        uint32_t q[4];
        mtn_rng_permutation(&r, 4, q);
        int code = 0, used = 0;
        for (int j = 0; j < 4; j++) { /* Lehmer code */
            int smaller = 0;
            for (uint32_t v = 0; v < q[j]; v++) smaller += !(used & (1 << v));
            used |= 1 << q[j];
            code = code * (4 - j) + smaller;
        }
        counts[code]++;
    }
    CU_ASSERT(chi_square(counts, 24, N) < 49.7); /* chi2(23) 99.9th percentile */
    /* the same (seed, stream, counter) gives the same permutation */
    uint32_t a[50], b[50];
    mtn_rng ra, rb;
    mtn_rng_init(&ra, 11, 2, 3);
    mtn_rng_init(&rb, 11, 2, 3);
    mtn_rng_permutation(&ra, 50, a);
    mtn_rng_permutation(&rb, 50, b);
    CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
    mtn_rng_permutation(&r, 0, a); /* empty is fine */
}

static const mtn_test_case rng_tests[] = {
    {"Random123 known answers, 7 and 10 rounds", test_known_answers},
    {"reader equals block function at (seed, stream, counter)", test_reader_is_counter_based},
    {"streams and seeds give different draws", test_streams_and_seeds_differ},
    {"uniform and normal moments", test_uniform_and_normal_moments},
    {"bounded integers are unbiased", test_below_is_unbiased},
    {"permutations are valid, uniform and reproducible", test_permutations},
    {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {{"rng", rng_tests}, {NULL, NULL}};
