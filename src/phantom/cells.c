/* cells.c — where the cells are: at most one candidate per site of a cubic lattice
 * (PH_CELL_SPACING voxels), at a hashed position inside its site, kept with the
 * probability of the brain area at its centre (tissue.c), then thinned to a hard core
 * (Matérn type II: of two candidates closer than the sum of their largest semi-axes
 * plus PH_CELL_GAP, the one with the larger hashed mark goes). Cells therefore never
 * touch, so each is its own connected component, and they are spaced more regularly
 * than a Poisson process, like real somata. A cell is an axis-aligned ellipsoid whose
 * size depends on its area. Everything about a site comes from hashing its lattice
 * coordinates, so the cells touching a box depend on nothing but the box. */
#include <math.h>
#include <stdlib.h>

#include "mtn/phantom.h"
#include "phantom_internal.h"

static const uint64_t cell_seed = 0x243f6a8885a308d3u;

typedef struct {
    ph_cell cell;
    double reach; /* largest semi-axis */
    double mark;  /* Matérn priority: smaller wins */
    bool accepted;
} candidate;

static inline double uniform16(uint64_t h, int k) { return (double)((h >> (16 * k)) & 0xFFFF) / 65536.0; }

static inline int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void make_candidate(int64_t i, int64_t j, int64_t k, candidate *c) {
    uint64_t h_position = ph_hash3(cell_seed, i, j, k);
    uint64_t h_accept = ph_mix64(h_position ^ UINT64_C(0x13198a2e03707344));
    uint64_t h_shape = ph_mix64(h_accept ^ UINT64_C(0xa4093822299f31d0));
    c->accepted = false;
    c->cell.cx = ((double)i + uniform16(h_position, 0)) * PH_CELL_SPACING;
    c->cell.cy = ((double)j + uniform16(h_position, 1)) * PH_CELL_SPACING;
    c->cell.cz = ((double)k + uniform16(h_position, 2)) * PH_CELL_SPACING;
    int roi = mtn_phantom_roi_at((int64_t)floor(c->cell.cz), (int64_t)floor(c->cell.cy),
                                 (int64_t)floor(c->cell.cx));
    if (roi == MTN_ROI_CLEAR) return;
    const ph_tissue *t = ph_tissue_of(roi);
    if (ph_unit(h_accept) >= t->cell_accept) return;
    c->accepted = true;
    c->mark = uniform16(h_position, 3) + uniform16(h_accept, 0) / 65536.0;
    double r = t->cell_radius * (0.85 + 0.30 * uniform16(h_shape, 0));
    c->cell.rx = r * (0.9 + 0.2 * uniform16(h_shape, 1));
    c->cell.ry = r * (0.9 + 0.2 * uniform16(h_shape, 2));
    c->cell.rz = r * (0.9 + 0.2 * uniform16(h_shape, 3));
    c->cell.inv_rx = 1.0 / c->cell.rx;
    c->cell.inv_ry = 1.0 / c->cell.ry;
    c->cell.inv_rz = 1.0 / c->cell.rz;
    c->cell.brightness = (float)(0.85 + 0.30 * uniform16(h_accept, 1));
    c->reach = fmax(c->cell.rx, fmax(c->cell.ry, c->cell.rz));
    MTN_ASSERT(c->reach <= PH_CELL_MAX_RADIUS);
}

/* True when candidate `a` loses to an accepted neighbour `b` closer than the hard core. */
static bool loses_to(const candidate *a, const candidate *b) {
    if (!b->accepted) return false;
    double dx = a->cell.cx - b->cell.cx, dy = a->cell.cy - b->cell.cy, dz = a->cell.cz - b->cell.cz;
    double reach = a->reach + b->reach + PH_CELL_GAP;
    if (dx * dx + dy * dy + dz * dz >= reach * reach) return false;
    return b->mark < a->mark || (b->mark == a->mark && b < a); /* ties: lattice order */
}

int ph_cells_in_box(const mtn_box *box, ph_cell_list *list) {
    list->cells = NULL;
    list->count = 0;
    const int64_t g = PH_CELL_SPACING, reach = (int64_t)PH_CELL_MAX_RADIUS + 1;
    /* Sites whose cells may touch the box, and one more ring for the hard core. */
    int64_t lo[3] = {floor_div(box->x0 - reach, g) - 1, floor_div(box->y0 - reach, g) - 1,
                     floor_div(box->z0 - reach, g) - 1};
    int64_t hi[3] = {floor_div(box->x1 - 1 + reach, g) + 2, floor_div(box->y1 - 1 + reach, g) + 2,
                     floor_div(box->z1 - 1 + reach, g) + 2};
    int64_t dims[3] = {hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]};
    int64_t total;
    if (!mtn_product_i64(dims, 3, &total) || (uint64_t)total > SIZE_MAX / sizeof(candidate))
        return mtn_error_set(MTN_EOVERFLOW, "phantom: box too large for the cell lattice");
    candidate *sites = malloc((size_t)total * sizeof *sites);
    ph_cell *cells = malloc((size_t)total * sizeof *cells);
    if (!sites || !cells) {
        free(sites);
        free(cells);
        return mtn_error_set(MTN_ENOMEM, "phantom: out of memory for %lld cell sites", (long long)total);
    }
    for (int64_t k = 0; k < dims[2]; k++)
        for (int64_t j = 0; j < dims[1]; j++)
            for (int64_t i = 0; i < dims[0]; i++)
                make_candidate(lo[0] + i, lo[1] + j, lo[2] + k, &sites[(k * dims[1] + j) * dims[0] + i]);

    size_t count = 0;
    for (int64_t k = 1; k + 1 < dims[2]; k++) {
        for (int64_t j = 1; j + 1 < dims[1]; j++) {
            for (int64_t i = 1; i + 1 < dims[0]; i++) {
                const candidate *c = &sites[(k * dims[1] + j) * dims[0] + i];
                if (!c->accepted) continue;
                bool kept = true;
                for (int dk = -1; dk <= 1 && kept; dk++)
                    for (int dj = -1; dj <= 1 && kept; dj++)
                        for (int di = -1; di <= 1 && kept; di++)
                            if ((di || dj || dk) &&
                                loses_to(c, &sites[((k + dk) * dims[1] + (j + dj)) * dims[0] + (i + di)]))
                                kept = false;
                if (kept) cells[count++] = c->cell;
            }
        }
    }
    free(sites);
    list->cells = cells;
    list->count = count;
    return MTN_OK;
}

void ph_cell_list_free(ph_cell_list *list) {
    if (!list) return;
    free(list->cells);
    list->cells = NULL;
    list->count = 0;
}
