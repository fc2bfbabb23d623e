/* regions.c — the brain-area map (roi_labels). Tissue fills a rounded box (a
 * superellipsoid, z ~15-680, y ~110-1320, x ~140-5720); outside it is clear (0).
 * Inside, areas follow each other along x, as the paper's cubes A-D need:
 *
 *   x:  TRN/hypothalamus | ZI band (TRN above, hypothalamus below) | VP (internal
 *       capsule above) | striatum | corpus callosum | cortex
 *       ~960               ~2103                                     slanted ~3332+0.5(y-753)
 *                                                                     ~4250   ~4440
 *
 * The VP/striatum boundary slants with y because striatum cube C starts at x=3344
 * (y 400-656) while VP cube A ends at x=3319 (y 850-1106). Every boundary wiggles
 * smoothly (noise of (z, y) for boundaries across x, of (z, x) for those across y)
 * by a bounded amount, chosen so that every cube of tables A1-A2 keeps a margin of at
 * least 28 voxels to the nearest boundary (see the comments beside each constant). */
#include <math.h>

#include "mtn/phantom.h"
#include "phantom_internal.h"

/* Tissue: |u|^6 + |v|^6 + |w|^6 <= rho^6, rho = 1 + 0.012 * wiggle. */
static const double tissue_centre_x = 2930.0, tissue_half_x = 2790.0;
static const double tissue_centre_y = 715.0, tissue_half_y = 605.0;
static const double tissue_centre_z = 347.5, tissue_half_z = 332.5;
static const double tissue_wiggle = 0.012;

/* Boundaries across x: centre + amplitude * wiggle(z, y) (+ slope for the slanted one).
 * Cube margins (nearest cube edge minus largest excursion): */
static const double zi_start = 960.0, zi_start_wiggle = 25.0;     /* ZI C at 1031: 46 */
static const double vp_start = 2103.0, vp_start_wiggle = 20.0;    /* ZI D ends 2055, VP C at 2151: 28 */
static const double str_start = 3331.5, str_start_slope = 0.5,    /* through (3331.5, 753): */
    str_start_wiggle = 20.0;                                      /* STR C / VP A: 41 */
static const double cc_start = 4250.0, cc_start_wiggle = 30.0;    /* STR B ends 4084: 136 */
static const double ctx_start = 190.0, ctx_start_wiggle = 25.0;   /* after cc_start; CTX at 4600: 105 */

/* Boundaries across y, centre + amplitude * wiggle(z, x): */
static const double trn_hyp_split = 640.0, trn_hyp_wiggle = 30.0;   /* left of the ZI band */
static const double zi_top = 590.0, zi_top_wiggle = 20.0;           /* ZI A, D at y 650: 40 */
static const double zi_bottom = 1235.0, zi_bottom_wiggle = 20.0;    /* ZI B, C end 1162: 53 */
static const double vp_top = 640.0, vp_top_wiggle = 15.0;           /* VP D at y 694: 39 */

/* Wiggle fields: boundaries across x use wiggle(z, y) (x fixed), those across y share
 * one field of (z, x) (y fixed). */
static const ph_field tissue_field = {0x51b2c6e1a07d93f5u, 97.0, 211.0, 83.0, 0, 0, 0};
static const ph_field zi_start_field = {0x2f8a6d3c9e41b7a1u, 97.0, 173.0, 91.0, 0, 0, 0};
static const ph_field vp_start_field = {0x8c3e5b7d1f2a4960u, 97.0, 151.0, 79.0, 0, 0, 0};
static const ph_field str_start_field = {0x6e1d4a9b3c7f8025u, 97.0, 163.0, 87.0, 0, 0, 0};
static const ph_field cc_start_field = {0xa4c71e6f29b3d058u, 97.0, 181.0, 93.0, 0, 0, 0};
static const ph_field ctx_start_field = {0x3b9f0e7c5a1d6842u, 97.0, 137.0, 71.0, 0, 0, 0};
static const ph_field split_field = {0xd7260b4e8f3a1c95u, 157.0, 97.0, 89.0, 0, 0, 0};

/* Wiggle of a boundary across x (x fixed at a non-lattice value). */
static double wiggle_zy(const ph_field *f, int64_t z, int64_t y) { return ph_wiggle(f, z, y, 41); }

static inline double clamp_unit(double v) { return v < -1.0 ? -1.0 : v > 1.0 ? 1.0 : v; }

void ph_roi_row(int64_t z, int64_t y, int64_t x0, int64_t n, uint8_t *roi, float *scratch) {
    double v = ((double)y - tissue_centre_y) / tissue_half_y;
    double w = ((double)z - tissue_centre_z) / tissue_half_z;
    double rho = 1.0 + tissue_wiggle * wiggle_zy(&tissue_field, z, y);
    double v2 = v * v, w2 = w * w, rho2 = rho * rho;
    double rest = rho2 * rho2 * rho2 - v2 * v2 * v2 - w2 * w2 * w2;
    if (rest <= 0.0) {
        for (int64_t i = 0; i < n; i++) roi[i] = MTN_ROI_CLEAR;
        return;
    }
    double half = tissue_half_x * pow(rest, 1.0 / 6.0);
    double tissue_lo = tissue_centre_x - half, tissue_hi = tissue_centre_x + half;
    double b_zi = zi_start + zi_start_wiggle * wiggle_zy(&zi_start_field, z, y);
    double b_vp = vp_start + vp_start_wiggle * wiggle_zy(&vp_start_field, z, y);
    double b_str = str_start + str_start_slope * ((double)y - 753.0) +
                   str_start_wiggle * wiggle_zy(&str_start_field, z, y);
    double b_cc = cc_start + cc_start_wiggle * wiggle_zy(&cc_start_field, z, y);
    double b_ctx = b_cc + ctx_start + ctx_start_wiggle * wiggle_zy(&ctx_start_field, z, y);

    /* The split field is needed only left of the striatum. */
    bool need_split = (double)x0 < b_str && (double)(x0 + n) > tissue_lo;
    if (need_split) ph_field_row(&split_field, z, 0, x0, n, scratch);
    double yd = (double)y;
    for (int64_t i = 0; i < n; i++) {
        double x = (double)(x0 + i);
        uint8_t r;
        if (x < tissue_lo || x >= tissue_hi) {
            r = MTN_ROI_CLEAR;
        } else if (x >= b_str) {
            r = x < b_cc ? MTN_ROI_STRIATUM : x < b_ctx ? MTN_ROI_CORPUS_CALLOSUM : MTN_ROI_CORTEX;
        } else {
            double s = clamp_unit(scratch[i] / PH_FIELD_STD);
            if (x < b_zi)
                r = yd < trn_hyp_split + trn_hyp_wiggle * s ? MTN_ROI_TRN : MTN_ROI_HYPOTHALAMUS;
            else if (x < b_vp)
                r = yd < zi_top + zi_top_wiggle * s          ? MTN_ROI_TRN
                    : yd >= zi_bottom + zi_bottom_wiggle * s ? MTN_ROI_HYPOTHALAMUS
                                                             : MTN_ROI_ZI;
            else
                r = yd < vp_top + vp_top_wiggle * s ? MTN_ROI_INTERNAL_CAPSULE : MTN_ROI_VP;
        }
        roi[i] = r;
    }
}

int mtn_phantom_roi_at(int64_t z, int64_t y, int64_t x) {
    uint8_t r;
    float scratch;
    ph_roi_row(z, y, x, 1, &r, &scratch);
    return r;
}
