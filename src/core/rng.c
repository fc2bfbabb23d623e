/* rng.c — Philox4x32-10, a counter-based generator (Salmon, Moraes, Dror, Shaw,
 * "Parallel random numbers: as easy as 1, 2, 3", SC'11), and the draws built on it:
 * uniform, normal, bounded integers and permutations. Any draw is a pure function of
 * (seed, stream, counter), which is what makes training independent of the rank
 * layout (design §4). */
#include "mtn/core.h"

#include <math.h>

enum { PHILOX_M0 = 0xD2511F53u, PHILOX_M1 = 0xCD9E8D57u };
enum { PHILOX_W0 = 0x9E3779B9u, PHILOX_W1 = 0xBB67AE85u };

static inline void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo) {
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

void mtn_philox4x32_r(int rounds, const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < rounds; r++) {
        if (r > 0) { k0 += PHILOX_W0; k1 += PHILOX_W1; }
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo(PHILOX_M0, c0, &hi0, &lo0);
        mulhilo(PHILOX_M1, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

void mtn_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    mtn_philox4x32_r(10, ctr, key, out);
}

void mtn_rng_init(mtn_rng *r, uint64_t seed, uint64_t stream, uint64_t counter) {
    r->seed = seed;
    r->stream = stream;
    r->counter = counter;
    r->used = 4;
}

static void refill(mtn_rng *r) {
    uint32_t ctr[4] = {(uint32_t)r->counter, (uint32_t)(r->counter >> 32), (uint32_t)r->stream,
                       (uint32_t)(r->stream >> 32)};
    uint32_t key[2] = {(uint32_t)r->seed, (uint32_t)(r->seed >> 32)};
    mtn_philox4x32(ctr, key, r->buf);
    r->counter++;
    r->used = 0;
}

uint32_t mtn_rng_u32(mtn_rng *r) {
    if (r->used >= 4) refill(r);
    return r->buf[r->used++];
}

uint64_t mtn_rng_u64(mtn_rng *r) {
    uint64_t lo = mtn_rng_u32(r);
    uint64_t hi = mtn_rng_u32(r);
    return (hi << 32) | lo;
}

double mtn_rng_uniform(mtn_rng *r) {
    return (double)(mtn_rng_u64(r) >> 11) * 0x1.0p-53;
}

float mtn_rng_uniformf(mtn_rng *r) {
    return (float)(mtn_rng_u32(r) >> 8) * 0x1.0p-24f;
}

double mtn_rng_normal(mtn_rng *r) {
    double u1 = 1.0 - mtn_rng_uniform(r); /* (0, 1]: log is finite */
    double u2 = mtn_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Marsaglia & Tsang (2000); shape < 1 through Gamma(shape + 1) U^(1/shape). */
double mtn_rng_gamma(mtn_rng *r, double shape) {
    MTN_ASSERT(shape > 0);
    if (shape < 1.0) {
        double u = 1.0 - mtn_rng_uniform(r);
        return mtn_rng_gamma(r, shape + 1.0) * pow(u, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = mtn_rng_normal(r), v = 1.0 + c * x;
        if (v <= 0) continue;
        v = v * v * v;
        double u = 1.0 - mtn_rng_uniform(r);
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) return d * v;
    }
}

double mtn_rng_beta(mtn_rng *r, double a, double b) {
    double x = mtn_rng_gamma(r, a), y = mtn_rng_gamma(r, b);
    return x / (x + y);
}

uint32_t mtn_rng_below(mtn_rng *r, uint32_t n) {
    MTN_ASSERT(n > 0);
    uint64_t m = (uint64_t)mtn_rng_u32(r) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)mtn_rng_u32(r) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void mtn_rng_permutation(mtn_rng *r, uint32_t n, uint32_t *out) {
    for (uint32_t i = 0; i < n; i++) out[i] = i;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = mtn_rng_below(r, i);
        uint32_t t = out[i - 1];
        out[i - 1] = out[j];
        out[j] = t;
    }
}
