/* noise.c — the phantom's smooth randomness: gradient noise on a sheared,
 * anisotropic lattice, evaluated one row (constant z, y) at a time. Lattice
 * gradients come from hashing the lattice coordinates with the field's seed, so a
 * value depends on its coordinates only; every voxel runs the same arithmetic in the
 * same order whatever row segment it is requested in, which keeps cutouts bit-equal
 * across boxes. */
#include <math.h>

#include "phantom_internal.h"

/* floor() without a libm call; exact for |u| < 2^52. */
static inline int64_t floor_i64(double u) {
    int64_t i = (int64_t)u;
    return (double)i > u ? i - 1 : i;
}

static inline double fade(double t) { return t * t * t * (t * (t * 6.0 - 15.0) + 10.0); }

/* A lattice gradient: three components uniform in [-1, 1). */
static inline void lattice_gradient(uint64_t seed, int64_t i, int64_t j, int64_t k, double g[3]) {
    uint64_t h = ph_hash3(seed, i, j, k);
    const double scale = 1.0 / 1048576.0;
    g[0] = (double)(h & 0x1FFFFF) * scale - 1.0;
    g[1] = (double)((h >> 21) & 0x1FFFFF) * scale - 1.0;
    g[2] = (double)((h >> 42) & 0x1FFFFF) * scale - 1.0;
}

/* The fixed part of a row: lattice cell and fade weights in v and w. */
typedef struct {
    int64_t j, k;
    double fy, fz, wy, wz;
    double offset_u, inv_u;
} row_frame;

static row_frame frame_of_row(const ph_field *f, int64_t z, int64_t y) {
    row_frame r;
    double v = (double)y / f->spacing_v;
    double w = ((double)z + f->shear_wy * (double)y) / f->spacing_w;
    r.j = floor_i64(v);
    r.k = floor_i64(w);
    r.fy = v - (double)r.j;
    r.fz = w - (double)r.k;
    r.wy = fade(r.fy);
    r.wz = fade(r.fz);
    r.offset_u = f->shear_uy * (double)y + f->shear_uz * (double)z;
    r.inv_u = 1.0 / f->spacing_u;
    return r;
}

/* Lattice column i of a row: the noise along u near node i is a + b * (u - i). */
static void node_of_row(const ph_field *f, const row_frame *r, int64_t i, double *a, double *b) {
    double sum_a = 0.0, sum_b = 0.0;
    for (int cz = 0; cz < 2; cz++) {
        for (int cy = 0; cy < 2; cy++) {
            double g[3];
            lattice_gradient(f->seed, i, r->j + cy, r->k + cz, g);
            double weight = (cy ? r->wy : 1.0 - r->wy) * (cz ? r->wz : 1.0 - r->wz);
            sum_a += weight * (g[1] * (r->fy - cy) + g[2] * (r->fz - cz));
            sum_b += weight * g[0];
        }
    }
    *a = sum_a;
    *b = sum_b;
}

/* u of voxel t of a strided row (the one expression every evaluation uses). */
static inline double row_u(const row_frame *r, int64_t x0, int64_t stride, int64_t t) {
    return ((double)(x0 + t * stride) + r->offset_u) * r->inv_u;
}

/* out[t] = field at (z, y, x0 + t * stride), t < n. The row is cut into runs that lie
 * in one lattice cell; inside a run the noise is a fixed polynomial of u. */
static void field_row_strided(const ph_field *f, int64_t z, int64_t y, int64_t x0, int64_t stride, int64_t n,
                              float *out) {
    row_frame r = frame_of_row(f, z, y);
    int64_t current = INT64_MIN;
    double a0 = 0, b0 = 0, a1 = 0, b1 = 0;
    for (int64_t t = 0; t < n;) {
        int64_t i = floor_i64(row_u(&r, x0, stride, t));
        if (current != INT64_MIN && i == current + 1) {
            a0 = a1;
            b0 = b1;
        } else {
            node_of_row(f, &r, i, &a0, &b0);
        }
        node_of_row(f, &r, i + 1, &a1, &b1);
        current = i;
        /* The run: voxels t.. with u < i + 1 (u grows with t). */
        const double cell_end = (double)(i + 1);
        int64_t end = t + 1;
        double guess = (cell_end / r.inv_u - r.offset_u - (double)x0) / (double)stride;
        if (guess > (double)end && guess < (double)n) end = (int64_t)guess;
        while (end > t + 1 && row_u(&r, x0, stride, end - 1) >= cell_end) end--;
        while (end < n && row_u(&r, x0, stride, end) < cell_end) end++;
        const double base = (double)i;
        for (int64_t k = t; k < end; k++) {
            double fx = row_u(&r, x0, stride, k) - base;
            double left = a0 + b0 * fx, right = a1 + b1 * (fx - 1.0);
            out[k] = (float)(left + fade(fx) * (right - left));
        }
        t = end;
    }
}

void ph_field_row(const ph_field *f, int64_t z, int64_t y, int64_t x0, int64_t n, float *out) {
    field_row_strided(f, z, y, x0, 1, n, out);
}

static inline int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void ph_field_row_coarse(const ph_field *f, int64_t z, int64_t y, int64_t x0, int64_t n, int64_t step,
                         float *out) {
    MTN_ASSERT(step > 0);
    /* Exact samples at multiples of step, CHUNK + 1 at a time; voxel x lies between
     * samples k = floor(x / step) and k + 1, a fraction phase / step of the way. */
    enum { CHUNK = 64 };
    float samples[CHUNK + 1];
    int64_t k = floor_div(x0, step), phase = x0 - k * step, k0 = k;
    const int64_t k_last = floor_div(x0 + n - 1, step); /* the last voxel's left sample */
    const float inv_step = 1.0f / (float)step;
    for (int64_t t = 0; t < n; t++) {
        if (t == 0 || k - k0 >= CHUNK) {
            k0 = k;
            int64_t count = k_last - k0 + 1 < CHUNK ? k_last - k0 + 1 : CHUNK;
            field_row_strided(f, z, y, k0 * step, step, count + 1, samples);
        }
        float left = samples[k - k0], right = samples[k - k0 + 1];
        out[t] = left + (float)phase * inv_step * (right - left);
        if (++phase == step) {
            phase = 0;
            k++;
        }
    }
}

double ph_field_at(const ph_field *f, int64_t z, int64_t y, int64_t x) {
    float v;
    ph_field_row(f, z, y, x, 1, &v);
    return v;
}

double ph_wiggle(const ph_field *f, int64_t z, int64_t y, int64_t x) {
    double v = ph_field_at(f, z, y, x) / PH_FIELD_STD;
    return v < -1.0 ? -1.0 : v > 1.0 ? 1.0 : v;
}
