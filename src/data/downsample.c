/* downsample.c — the stage-time filters for 2x and 4x downsampling.
 *
 * Images: the mean of each ds x ds block (box filter, rounded half up). For integer
 * factors this integrates each output pixel's footprint exactly, suppresses the
 * aliasing that plain subsampling would fold into the X-ray texture, is what
 * BossDB's own image hierarchy does, and is exact integer arithmetic, so every rank
 * and every machine stages the same bits. (MTNeuro's loaders resized with PIL's
 * Hamming filter; the difference is a slightly softer kernel, not a different scale.)
 * Labels: the most frequent value of each block, ties to the smaller value — label
 * values are categories, so averaging them would invent classes; the mode keeps
 * thin structures where they dominate and is what BossDB does for annotations. */
#include <zlib.h>

#include "stage_plan.h"

void mtn_downsample_mean_u8(const uint8_t *src, int h, int w, int ds, uint8_t *dst) {
    int sw = w * ds, n = ds * ds;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned sum = 0;
            for (int dy = 0; dy < ds; dy++)
                for (int dx = 0; dx < ds; dx++) sum += src[(size_t)(y * ds + dy) * (size_t)sw + (size_t)(x * ds + dx)];
            dst[(size_t)y * (size_t)w + (size_t)x] = (uint8_t)((sum + (unsigned)n / 2) / (unsigned)n);
        }
}

void mtn_downsample_mode_u8(const uint8_t *src, int h, int w, int ds, uint8_t *dst) {
    int sw = w * ds;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t vals[16];
            int counts[16], nv = 0;
            for (int dy = 0; dy < ds; dy++)
                for (int dx = 0; dx < ds; dx++) {
                    uint8_t v = src[(size_t)(y * ds + dy) * (size_t)sw + (size_t)(x * ds + dx)];
                    int k = 0;
                    while (k < nv && vals[k] != v) k++;
                    if (k == nv) { vals[nv] = v; counts[nv] = 0; nv++; }
                    counts[k]++;
                }
            int best = 0;
            for (int k = 1; k < nv; k++)
                if (counts[k] > counts[best] || (counts[k] == counts[best] && vals[k] < vals[best])) best = k;
            dst[(size_t)y * (size_t)w + (size_t)x] = vals[best];
        }
}

uint64_t mtn_tile_checksum(const uint8_t *image, const uint8_t *labels, size_t bytes) {
    uLong a = crc32(0L, Z_NULL, 0), b = a;
    a = crc32(a, image, (uInt)bytes);
    b = crc32(b, labels, (uInt)bytes);
    return ((uint64_t)a << 32) | (uint64_t)(b & 0xffffffffu);
}
