/* mixup.c — mixup of a batch (Zhang et al. 2018): each sample blended with the sample
 * perm[i] of the same batch, and its target with perm[i]'s as class probabilities
 * (for mtn_xent_soft_forward_backward). Arithmetic in float, as PyTorch's
 * lam * x + (1 - lam) * x[perm]. */
#include <string.h>

#include "items.h"

// out (N, sample_size), soft_target (N, K) from x (N, sample_size), target (N)
void mtn_mixup(float *out, float *soft_target, const float *x, const int32_t *target, const uint32_t *perm,
               float lambda, int n, int64_t sample_size, int k) {
    MTN_ASSERT(out != x);
    float mu = (float)(1.0 - (double)lambda);
    for (int i = 0; i < n; i++) {
        MTN_ASSERT(perm[i] < (uint32_t)n);
        MTN_ASSERT(target[i] >= 0 && target[i] < k && target[perm[i]] >= 0 && target[perm[i]] < k);
        const float *a = x + (int64_t)i * sample_size, *b = x + (int64_t)perm[i] * sample_size;
        float *y = out + (int64_t)i * sample_size;
        for (int64_t j = 0; j < sample_size; j++) y[j] = lambda * a[j] + mu * b[j];
        float *t = soft_target + (int64_t)i * k;
        memset(t, 0, sizeof(float) * (size_t)k);
        t[target[i]] += lambda;
        t[target[perm[i]]] += mu;
    }
}
