/* batches.c — which samples a step trains on, and reading them: the epoch order
 * keyed by (seed, epoch) alone, never by rank (design §4), and the micro-batch
 * that makes the global batch's reductions independent of the rank count. */
#include <math.h>
#include <string.h>

#include "runner_internal.h"

void epoch_order(uint64_t seed, int64_t epoch, uint32_t n, uint32_t *order) {
    mtn_rng r;
    mtn_rng_init(&r, seed, MTN_STREAM_SHUFFLE, (uint64_t)epoch << 32);
    mtn_rng_permutation(&r, n, order);
}

int read_samples(mtn_dataset *d, mtn_split split, const uint32_t *ids, int n, int64_t *scratch, float *x,
                 int32_t *y) {
    for (int i = 0; i < n; i++) scratch[i] = ids[i];
    return mtn_dataset_read(d, split, scratch, n, x, y);
}

void standardise_images(float *x, int n, size_t sample) {
    for (int i = 0; i < n; i++) {
        float *p = x + (size_t)i * sample;
        double s = 0, ss = 0;
        for (size_t k = 0; k < sample; k++) s += p[k];
        double mean = s / (double)sample;
        for (size_t k = 0; k < sample; k++) ss += (p[k] - mean) * (p[k] - mean);
        double sd = sqrt(ss / (double)sample);
        float m = (float)mean, inv = (float)(sd > 1e-6 ? 1.0 / sd : 1.0);
        for (size_t k = 0; k < sample; k++) p[k] = (p[k] - m) * inv;
    }
}

static bool pow2(int v) { return v > 0 && (v & (v - 1)) == 0; }

int choose_micro(const mtn_run_config *run, int batch, int ranks, int *micro) {
    int m = run->net.micro_batch;
    if (m == 0) m = batch % 4 == 0 ? batch / 4 : batch % 2 == 0 ? batch / 2 : batch;
    if (batch % m)
        return mtn_error_set(MTN_ECONFIG, "run %s: micro_batch %d does not divide batch_size %d", run->name, m, batch);
    int n_micro = batch / m;
    if (n_micro % ranks)
        return mtn_error_set(MTN_ECONFIG,
                             "run %s: %d ranks per seed cannot share %d micro-batches of %d (batch_size %d): use a "
                             "rank count dividing %d, or another micro_batch",
                             run->name, ranks, n_micro, m, batch, n_micro);
    if (ranks > 1 && !pow2(n_micro / ranks))
        return mtn_error_set(MTN_ECONFIG,
                             "run %s: each of %d ranks would hold %d micro-batches; the determinism contract needs a "
                             "power of two (choose micro_batch so batch_size / micro_batch / ranks is 1, 2, 4, ...)",
                             run->name, ranks, n_micro / ranks);
    *micro = m;
    return MTN_OK;
}
