/* slice.c — labels (and the noiseless, unblurred intensity) of one window of one
 * z-slice. Row by row: the brain area, blood vessels (tubes where two smooth fields
 * are both near zero, thicker where the area asks for more vessel), myelinated axons
 * (bundles where the area's elongated fibre field is high, split into fibres by
 * thin stripes running along the bundle); then the cells are drawn over them.
 * Priority where they overlap: cell > vessel > axon > background. */
#include <math.h>
#include <stdlib.h>

#include "mtn/phantom.h"
#include "phantom_internal.h"

int ph_row_scratch_init(ph_row_scratch *s, int64_t nx) {
    size_t n = (size_t)nx;
    s->a = malloc(n * sizeof(float));
    s->b = malloc(n * sizeof(float));
    s->c = malloc(n * sizeof(float));
    s->d = malloc(n * sizeof(float));
    if (!s->a || !s->b || !s->c || !s->d) {
        ph_row_scratch_free(s);
        return mtn_error_set(MTN_ENOMEM, "phantom: out of memory for rows of %lld voxels", (long long)nx);
    }
    return MTN_OK;
}

void ph_row_scratch_free(ph_row_scratch *s) {
    free(s->a);
    free(s->b);
    free(s->c);
    free(s->d);
    s->a = s->b = s->c = s->d = NULL;
}

/* The texture is smooth (tissue.c): sampled every TEXTURE_STEP voxels along x. */
#define TEXTURE_STEP 8

/* Intensity a class adds to the neuropil (cells are drawn separately). */
static inline float class_contrast(uint8_t cls) {
    return cls == MTN_PIX_VESSEL ? (float)PH_VESSEL_CONTRAST
           : cls == MTN_PIX_AXON ? (float)PH_AXON_CONTRAST
                                 : 0.0f;
}

/* Vessels, axons and (when raw is wanted) neuropil intensity over one run of voxels
 * [p, q) of a row that all lie in area `roi`. */
static void fill_run(const ph_window *w, int64_t y, int64_t p, int64_t q, int roi, const ph_row_scratch *s,
                     uint8_t *cls, float *raw) {
    const ph_tissue *t = ph_tissue_of(roi);
    if (roi == MTN_ROI_CLEAR) {
        for (int64_t i = p; i < q; i++) {
            cls[i] = MTN_PIX_BACKGROUND;
            if (raw) raw[i] = (float)PH_CLEAR_INTENSITY;
        }
        return;
    }
    const float vessel_t2 = (float)(t->vessel_threshold * t->vessel_threshold);
    if (t->has_axons) ph_field_row(&t->fibres, w->z, y, w->x0 + p, q - p, s->d + p);
    /* Fibre stripes: planes x + shear_uy*y = const, stripe_period apart, bent by the
     * bundle field itself. */
    const double shear = t->fibres.shear_uy;
    const double inv_period = t->has_axons ? 1.0 / (t->stripe_period * sqrt(1.0 + shear * shear)) : 0.0;
    const double stripe_offset = shear * (double)y;
    const float neuropil = (float)ph_neuropil_intensity(t);
    const float texture = (float)(t->texture_amplitude / PH_FIELD_STD);
    for (int64_t i = p; i < q; i++) {
        uint8_t c = MTN_PIX_BACKGROUND;
        if (s->a[i] * s->a[i] + s->b[i] * s->b[i] < vessel_t2) {
            c = MTN_PIX_VESSEL;
        } else if (t->has_axons && s->d[i] > (float)t->axon_threshold) {
            double phase = ((double)(w->x0 + i) + stripe_offset) * inv_period + 2.0 * (double)s->d[i];
            if (phase - floor(phase) < t->stripe_duty) c = MTN_PIX_AXON;
        }
        cls[i] = c;
        if (raw) raw[i] = neuropil + texture * s->c[i] + class_contrast(c);
    }
}

/* Draws the cells that cross this slice over the window. */
static void draw_cells(const ph_window *w, const ph_cell_list *cells, uint8_t *cls, float *raw) {
    const double z = (double)w->z;
    for (size_t n = 0; n < cells->count; n++) {
        const ph_cell *c = &cells->cells[n];
        double dz = (z - c->cz) * c->inv_rz;
        double dz2 = dz * dz;
        if (dz2 > 1.0) continue;
        int64_t ylo = (int64_t)ceil(c->cy - c->ry), yhi = (int64_t)floor(c->cy + c->ry);
        int64_t xlo = (int64_t)ceil(c->cx - c->rx), xhi = (int64_t)floor(c->cx + c->rx);
        if (ylo < w->y0) ylo = w->y0;
        if (yhi > w->y0 + w->ny - 1) yhi = w->y0 + w->ny - 1;
        if (xlo < w->x0) xlo = w->x0;
        if (xhi > w->x0 + w->nx - 1) xhi = w->x0 + w->nx - 1;
        for (int64_t y = ylo; y <= yhi; y++) {
            double dy = ((double)y - c->cy) * c->inv_ry;
            double dyz2 = dy * dy + dz2;
            if (dyz2 > 1.0) continue;
            size_t row = (size_t)((y - w->y0) * w->nx);
            for (int64_t x = xlo; x <= xhi; x++) {
                double dx = ((double)x - c->cx) * c->inv_rx;
                double d = dx * dx + dyz2;
                if (d > 1.0) continue;
                size_t at = row + (size_t)(x - w->x0);
                if (raw) {
                    /* replace the class's contrast by the cell's, brighter at the core */
                    raw[at] += (float)(PH_CELL_CONTRAST * c->brightness * (1.15 - 0.3 * d)) -
                               class_contrast(cls[at]);
                }
                cls[at] = MTN_PIX_CELL;
            }
        }
    }
}

void ph_slice(const ph_window *w, const ph_cell_list *cells, ph_row_scratch *s, uint8_t *roi, uint8_t *cls,
              float *raw) {
    for (int64_t r = 0; r < w->ny; r++) {
        int64_t y = w->y0 + r;
        size_t row = (size_t)(r * w->nx);
        uint8_t *roi_row = roi + row;
        ph_roi_row(w->z, y, w->x0, w->nx, roi_row, s->a);
        bool any_tissue = false;
        for (int64_t i = 0; i < w->nx && !any_tissue; i++) any_tissue = roi_row[i] != MTN_ROI_CLEAR;
        if (any_tissue) {
            ph_field_row(&ph_vessel_field_a, w->z, y, w->x0, w->nx, s->a);
            ph_field_row(&ph_vessel_field_b, w->z, y, w->x0, w->nx, s->b);
            if (raw) ph_field_row_coarse(&ph_texture_field, w->z, y, w->x0, w->nx, TEXTURE_STEP, s->c);
        }
        for (int64_t p = 0; p < w->nx;) {
            int64_t q = p + 1;
            while (q < w->nx && roi_row[q] == roi_row[p]) q++;
            fill_run(w, y, p, q, roi_row[p], s, cls + row, raw ? raw + row : NULL);
            p = q;
        }
    }
    draw_cells(w, cells, cls, raw);
}
