/* phantom_internal.h — what the phantom's files share: hashing and noise fields
 * (noise.c), the brain-area map (regions.c), the per-region tissue table (tissue.c),
 * cells (cells.c), one z-slice of labels and raw intensity (slice.c) and the image
 * rendering (render.c). Everything here is a pure function of voxel coordinates at
 * resolution 0; nothing keeps state between calls. */
#ifndef MTN_PHANTOM_INTERNAL_H
#define MTN_PHANTOM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtn/core.h"

/* The frame at resolution 0 (z, y, x). */
enum { PH_NX = 5805, PH_NY = 1420, PH_NZ = 720 };

/* ------------------------------------------------------------ noise.c --- */

/* splitmix64's finaliser: a bijective 64-bit mix. */
static inline uint64_t ph_mix64(uint64_t v) {
    v += UINT64_C(0x9e3779b97f4a7c15);
    v = (v ^ (v >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    v = (v ^ (v >> 27)) * UINT64_C(0x94d049bb133111eb);
    return v ^ (v >> 31);
}

/* Three coordinates (each within +-2^20) packed into 63 bits. */
static inline uint64_t ph_pack3(int64_t a, int64_t b, int64_t c) {
    const uint64_t bias = UINT64_C(1) << 20, mask = (UINT64_C(1) << 21) - 1;
    return (((uint64_t)a + bias) & mask) | ((((uint64_t)b + bias) & mask) << 21) |
           ((((uint64_t)c + bias) & mask) << 42);
}

/* 64 well-mixed bits from a seed and three integer coordinates (one splitmix64 step
 * on the packed coordinates offset by the seed). */
static inline uint64_t ph_hash3(uint64_t seed, int64_t a, int64_t b, int64_t c) {
    return ph_mix64(ph_pack3(a, b, c) ^ seed);
}

/* Uniform in [0, 1) from the top 53 bits of h. */
static inline double ph_unit(uint64_t h) { return (double)(h >> 11) * (1.0 / 9007199254740992.0); }

/* Per-voxel white noise, roughly standard normal (sum of four 16-bit uniforms,
 * Irwin-Hall, so |value| < 3.47). One hash per voxel. */
static inline float ph_white(uint64_t seed, int64_t x, int64_t y, int64_t z) {
    uint64_t h = ph_hash3(seed, x, y, z);
    double s = (double)(h & 0xFFFF) + (double)((h >> 16) & 0xFFFF) + (double)((h >> 32) & 0xFFFF) +
               (double)(h >> 48);
    return (float)((s - 131070.0) * (1.0 / 37837.23));
}

/* A smooth gradient-noise field (Perlin-style: random gradients on a lattice,
 * quintic fade) in sheared, anisotropic lattice coordinates
 *     u = (x + shear_uy*y + shear_uz*z) / spacing_u
 *     v = y / spacing_v
 *     w = (z + shear_wy*y) / spacing_w
 * Because v and w do not depend on x, a row of constant (z, y) costs four lattice
 * hashes per lattice cell crossed plus a few flops per voxel. Values have standard
 * deviation about PH_FIELD_STD; every voxel's value is computed by the same
 * arithmetic whatever row segment it is asked in, so results never depend on the
 * box. An elongated field (spacing_v >> spacing_u, spacing_w) makes structures that
 * run along (-shear_uy, 1, -shear_wy): fibre bundles. */
typedef struct {
    uint64_t seed;
    double spacing_u, spacing_v, spacing_w;
    double shear_uy, shear_uz, shear_wy;
} ph_field;

#define PH_FIELD_STD 0.19

/* out[i] = field at (z, y, x0 + i), i < n. */
void ph_field_row(const ph_field *f, int64_t z, int64_t y, int64_t x0, int64_t n, float *out);
/* The field sampled every `step` voxels along x (at multiples of step) and linearly
 * interpolated in between: for slow fields, where that is indistinguishable and much
 * cheaper. Depends on the coordinates only, like ph_field_row. */
void ph_field_row_coarse(const ph_field *f, int64_t z, int64_t y, int64_t x0, int64_t n, int64_t step,
                         float *out);
/* The field at one voxel (same bits as ph_field_row gives there). */
double ph_field_at(const ph_field *f, int64_t z, int64_t y, int64_t x);
/* A field value scaled to about unit standard deviation and clamped to [-1, 1]:
 * for boundaries that must stay within a known distance of where they are put. */
double ph_wiggle(const ph_field *f, int64_t z, int64_t y, int64_t x);

/* ---------------------------------------------------------- regions.c --- */

/* roi[i] = brain area (MTN_ROI_*) at (z, y, x0 + i), i < n. `scratch` holds at
 * least n floats. */
void ph_roi_row(int64_t z, int64_t y, int64_t x0, int64_t n, uint8_t *roi, float *scratch);

/* ----------------------------------------------------------- tissue.c --- */

/* What one brain area looks like: microstructure and image parameters. The targets
 * (percent of voxels) say what the knobs were calibrated to; see tissue.c. */
typedef struct {
    const char *name;
    /* targets, percent of voxels, and cells per 128 x 128 slice / footprint px */
    double vessel_pct, cell_pct, axon_pct, cells_per_slice, cell_footprint_px;
    /* cells: probability that a lattice site holds a candidate, mean radius (voxels) */
    double cell_accept, cell_radius;
    /* vessels: tube where n1^2 + n2^2 < vessel_threshold^2 */
    double vessel_threshold;
    /* axons: bundles where the region's fibre field > axon_threshold (no axons when
     * has_axons is false); fibres are stripes across the bundle, stripe_period
     * voxels apart, a fraction stripe_duty of each period being axon */
    bool has_axons;
    ph_field fibres;
    double axon_threshold, stripe_period, stripe_duty;
    /* image: amplitude of the area's smooth texture (grey levels; the neuropil
     * intensity itself follows from the targets, see ph_neuropil_intensity) */
    double texture_amplitude;
} ph_tissue;

/* The table, indexed by MTN_ROI_* (MTN_ROI_CLEAR is empty space). */
const ph_tissue *ph_tissue_of(int roi);

/* The neuropil (background) intensity of an area: chosen so that the area's mean,
 * with its target fractions of vessels, cells and axons, is PH_REGION_MEAN. */
double ph_neuropil_intensity(const ph_tissue *t);

/* Image intensities shared by all areas (grey levels, before illumination). */
#define PH_REGION_MEAN 128.0
#define PH_VESSEL_CONTRAST 62.0  /* lumen brighter than neuropil */
#define PH_CELL_CONTRAST 40.0    /* soma brighter than neuropil */
#define PH_AXON_CONTRAST (-32.0) /* myelin darker than neuropil */
#define PH_CLEAR_INTENSITY 60.0  /* empty space (embedding medium) */
#define PH_PRE_BLUR_NOISE 10.0   /* std of noise blurred with the structures */
#define PH_DETECTOR_NOISE 17.0   /* std of white noise added after blurring */

/* The vessel fields (shared by all areas). */
extern const ph_field ph_vessel_field_a, ph_vessel_field_b;
/* Neuropil texture (shared; amplitude per area). */
extern const ph_field ph_texture_field;

/* ------------------------------------------------------------ cells.c --- */

/* A cell: an axis-aligned ellipsoid. */
typedef struct {
    double cx, cy, cz;          /* centre, voxels */
    double inv_rx, inv_ry, inv_rz;
    double rx, ry, rz;          /* semi-axes */
    float brightness;           /* factor on PH_CELL_CONTRAST */
} ph_cell;

typedef struct {
    ph_cell *cells;
    size_t count;
} ph_cell_list;

/* The largest semi-axis any cell may have; cells are placed on a lattice of
 * PH_CELL_SPACING voxels, at most one per site, never closer than the sum of their
 * largest semi-axes plus PH_CELL_GAP. */
#define PH_CELL_MAX_RADIUS 8.2
#define PH_CELL_SPACING 18
#define PH_CELL_GAP 1.5

/* Every cell that touches the res-0 box (half-open). Allocates list->cells; free
 * with ph_cell_list_free. */
int ph_cells_in_box(const mtn_box *box, ph_cell_list *list);
void ph_cell_list_free(ph_cell_list *list);

/* ------------------------------------------------------------ slice.c --- */

/* A window of one z-slice at resolution 0: [y0, y0+ny) x [x0, x0+nx). */
typedef struct {
    int64_t z, y0, x0, ny, nx;
} ph_window;

/* Scratch for ph_slice: row buffers of nx floats. */
typedef struct {
    float *a, *b, *c, *d;
} ph_row_scratch;

int ph_row_scratch_init(ph_row_scratch *s, int64_t nx);
void ph_row_scratch_free(ph_row_scratch *s);

/* Labels of a window: roi and pixel class (MTN_PIX_*), ny*nx each; when `raw` is
 * not NULL also the noiseless, unblurred image intensity there (grey levels). Cells
 * come from `cells` (those touching the window at least). */
void ph_slice(const ph_window *w, const ph_cell_list *cells, ph_row_scratch *s, uint8_t *roi,
              uint8_t *cls, float *raw);

/* ----------------------------------------------------------- render.c --- */

/* The blur kernel's radius: image voxels depend on raw intensities this far away
 * in x and y. */
#define PH_BLUR_RADIUS 2

/* Turns `raw` over a window (with PH_BLUR_RADIUS margin on each side in x and y)
 * into the uint8 image of the inner window (ny - 2r) x (nx - 2r): adds pre-blur
 * noise, blurs, applies illumination drift and detector noise, rounds. `raw` is
 * overwritten. */
int ph_render(const ph_window *w, float *raw, ph_row_scratch *s, uint8_t *image);

#endif
