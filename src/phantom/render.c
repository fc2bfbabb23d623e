/* render.c — the X-ray-like image from raw intensities: noise that is blurred with the
 * structures, a fixed 5x5 Gaussian blur in x and y (partial volume; sigma 1 voxel),
 * slow illumination drift (an additive offset and a gain that vary over hundreds of
 * voxels in x and y and tens of slices in z, plus a per-slice flicker), white
 * detector noise, and rounding to uint8. The blur uses a fixed kernel over a fixed
 * margin, summed in a fixed order, so every voxel's value is the same whatever box it
 * is computed in. */
#include <math.h>
#include <stdlib.h>

#include "phantom_internal.h"

static const uint64_t pre_blur_seed = 0x082efa98ec4e6c89u;
static const uint64_t detector_seed = 0x452821e638d01377u;
static const uint64_t flicker_seed = 0xbe5466cf34e90c6cu;

_Static_assert(PH_BLUR_RADIUS == 2, "the blur is a 5-tap kernel");

/* Gaussian, sigma 1, radius 2, normalised. */
static const float blur_kernel[5] = {0.05448868f, 0.24420134f, 0.40261995f, 0.24420134f,
                                                          0.05448868f};

/* Illumination: offset = amplitude * wiggle, gain = 1 + amplitude * wiggle. */
static const ph_field offset_field = {0xc0ac29b7c97c50ddu, 1600.0, 1400.0, 110.0, 0.0, 0.0, 0.0};
static const ph_field gain_field = {0x3f84d5b5b5470917u, 2200.0, 1800.0, 150.0, 0.0, 0.0, 0.0};
#define OFFSET_AMPLITUDE 22.0
#define GAIN_AMPLITUDE 0.15
#define FLICKER_AMPLITUDE 2.5
#define DRIFT_STEP 32 /* voxels between exact evaluations of the drift fields */

/* The kernel applied to p[0], p[step], ..., p[4 step], summed in this order. */
static inline float blur5(const float *p, int64_t step) {
    return blur_kernel[0] * p[0] + blur_kernel[1] * p[step] + blur_kernel[2] * p[2 * step] +
           blur_kernel[3] * p[3 * step] + blur_kernel[4] * p[4 * step];
}

static inline float clamp_unit(float v) { return v < -1.0f ? -1.0f : v > 1.0f ? 1.0f : v; }

int ph_render(const ph_window *w, float *raw, ph_row_scratch *s, uint8_t *image) {
    const int64_t r = PH_BLUR_RADIUS;
    const int64_t nx = w->nx, ny = w->ny, out_nx = nx - 2 * r, out_ny = ny - 2 * r;
    MTN_ASSERT(out_nx > 0 && out_ny > 0);
    float *horizontal = malloc((size_t)(ny * out_nx) * sizeof(float));
    if (!horizontal) return mtn_error_set(MTN_ENOMEM, "phantom: out of memory rendering a slice");

    for (int64_t j = 0; j < ny; j++) {
        float *row = raw + j * nx;
        for (int64_t i = 0; i < nx; i++)
            row[i] += (float)PH_PRE_BLUR_NOISE * ph_white(pre_blur_seed, w->x0 + i, w->y0 + j, w->z);
        float *h = horizontal + j * out_nx;
        for (int64_t i = 0; i < out_nx; i++) h[i] = blur5(row + i, 1);
    }

    const float flicker = (float)FLICKER_AMPLITUDE * ph_white(flicker_seed, 0, 0, w->z);
    for (int64_t j = 0; j < out_ny; j++) {
        int64_t y = w->y0 + r + j;
        ph_field_row_coarse(&offset_field, w->z, y, w->x0 + r, out_nx, DRIFT_STEP, s->a);
        ph_field_row_coarse(&gain_field, w->z, y, w->x0 + r, out_nx, DRIFT_STEP, s->b);
        uint8_t *out = image + j * out_nx;
        for (int64_t i = 0; i < out_nx; i++) {
            float sum = blur5(horizontal + j * out_nx + i, out_nx);
            float offset = (float)OFFSET_AMPLITUDE * clamp_unit(s->a[i] / (float)PH_FIELD_STD);
            float gain = 1.0f + (float)GAIN_AMPLITUDE * clamp_unit(s->b[i] / (float)PH_FIELD_STD);
            float v = (float)PH_REGION_MEAN + gain * (sum - (float)PH_REGION_MEAN) + offset + flicker +
                      (float)PH_DETECTOR_NOISE * ph_white(detector_seed, w->x0 + r + i, y, w->z);
            v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
            out[i] = (uint8_t)(v + 0.5f);
        }
    }
    free(horizontal);
    return MTN_OK;
}
