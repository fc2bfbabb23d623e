/* winograd.c — 3x3 (and 3x3x3) stride-1 convolutions by Winograd's minimal filtering
 * F(2, 3) (Lavin & Gray 2016), applied along every axis whose kernel is 3: an output
 * tile of 2 (x 2 (x 2)) comes from an input tile of 4 (x 4 (x 4)) with 16 (64)
 * multiplications per input channel instead of 36 (216).
 *
 *   U = G g G^T      the kernel, per (out, in) channel pair, 16 (64) values
 *   V = B^T d B      an input tile, per input channel
 *   M = U V          per transform point: one GEMM (cout x cin) x (cin x tiles)
 *   y = A^T M A      the output tile, plus the bias
 *
 * Items are fixed blocks of tiles (a function of the shapes only); each item owns its
 * outputs, so the bits do not depend on the thread count. The kernel transform runs
 * once per call into the executor's shared scratch. The input gradient of a stride-1
 * convolution is itself one (conv.c), with the kernel transposed and flipped: `flip`
 * does that while transforming. The weight gradient too, as the adjoint: dU = dM V^T
 * summed over a micro-batch's tiles, dW = G^T dU G per micro-batch (the leaves of the
 * fixed reduction tree). */
#include <cblas.h>
#include <string.h>

#include "items.h"
#include "winograd.h"

#ifndef WINOGRAD_SCRATCH_LOG2
#define WINOGRAD_SCRATCH_LOG2 18
#endif

/* the geometry of one call: which axes are transformed (kernel 3) and the tiles */
typedef struct {
    int cin, cout;
    int axes;            /* 2 (h, w) or 3 (d, h, w) */
    int d, h, w;         /* input = output spatial (stride 1, same padding) */
    int td, th, tw;      /* tiles per axis */
    int64_t tiles;       /* per sample */
    int points;          /* 16 or 64 */
    int64_t block;       /* tiles per item */
} wgeom;

bool nn_winograd_fits(const mtn_conv *cv, mtn_dims in) {
    bool depth3 = cv->k[0] == 3 && cv->pad[0] == 1, depth1 = cv->k[0] == 1 && cv->pad[0] == 0;
    int min_channels = depth3 ? WINOGRAD_MIN_CHANNELS_3D : WINOGRAD_MIN_CHANNELS_2D;
    int min_plane = depth3 ? 2 : 12;
    return cv->stride[0] == 1 && cv->stride[1] == 1 && cv->stride[2] == 1 && cv->k[1] == 3 && cv->k[2] == 3 &&
           cv->pad[1] == 1 && cv->pad[2] == 1 && (depth3 ? in.d >= 2 : depth1) && cv->cin >= min_channels &&
           cv->cout >= min_channels && in.h >= min_plane && in.w >= min_plane;
}

bool nn_winograd_weight_fits(const mtn_conv *cv, mtn_dims in) { return nn_winograd_fits(cv, in); }

static wgeom make_wgeom(const mtn_conv *cv, mtn_dims in) {
    wgeom g;
    g.cin = cv->cin;
    g.cout = cv->cout;
    g.axes = cv->k[0] == 3 ? 3 : 2;
    g.d = in.d;
    g.h = in.h;
    g.w = in.w;
    g.td = g.axes == 3 ? (in.d + 1) / 2 : in.d;
    g.th = (in.h + 1) / 2;
    g.tw = (in.w + 1) / 2;
    g.tiles = (int64_t)g.td * g.th * g.tw;
    g.points = g.axes == 3 ? 64 : 16;
    /* the item's V and M (points x (cin + cout) x block floats) within ~1 MB, but at
     * least 64 tiles (thinner GEMMs lose more to packing than they gain in cache) */
    int64_t block = ((int64_t)1 << WINOGRAD_SCRATCH_LOG2) / ((int64_t)g.points * (g.cin + g.cout));
    g.block = 64;
    while (g.block * 2 <= block && g.block < 1024) g.block *= 2;
    return g;
}

/* The items (or leaves) of one call: each micro-batch's tiles cut into `chunks`
 * pieces, a power of two, about `block` tiles each. An item never straddles two
 * micro-batches, so a sample's outputs depend on its micro-batch only (not on the
 * batch or the thread count). */
typedef struct {
    int micro, chunks;
    int64_t per_micro, width; /* tiles per micro-batch, per leaf (the last may be shorter) */
} tile_plan;

static tile_plan make_tile_plan(const wgeom *g, int n, int micro, int64_t block) {
    tile_plan pl;
    pl.micro = nn_micro(n, micro);
    pl.per_micro = (int64_t)pl.micro * g->tiles;
    pl.chunks = 1;
    while ((int64_t)pl.chunks * 2 * block <= pl.per_micro && pl.chunks < 256) pl.chunks *= 2;
    pl.width = (pl.per_micro + pl.chunks - 1) / pl.chunks;
    return pl;
}

mtn_needs nn_winograd_needs(const mtn_conv *cv, mtn_dims in, int micro) {
    wgeom g = make_wgeom(cv, in);
    tile_plan pl = make_tile_plan(&g, in.n, micro, g.block);
    mtn_needs n = {(size_t)g.points * (size_t)(g.cin + g.cout) * (size_t)pl.width, 0,
                   (size_t)g.points * (size_t)g.cin * (size_t)g.cout, 0};
    return n;
}

/* ---- the kernel transform: U[point][o][i] ---- */

typedef struct {
    float *u;
    const float *w;
    const wgeom *g;
    bool flip; /* w is (cin, cout, k) of the convolution being differentiated: use w[i][o] flipped */
} kernel_ctx;

enum { KERNEL_ROWS = 8, LANES = 8 };

/* G along one axis for LANES channels: three rows in, four out */
static inline void g_rows(float *o0, float *o1, float *o2, float *o3, const float *g0, const float *g1,
                          const float *g2) {
    for (int j = 0; j < LANES; j++) {
        float a = g0[j], b = g1[j], c = g2[j];
        o0[j] = a;
        o1[j] = 0.5f * (a + b + c);
        o2[j] = 0.5f * (a - b + c);
        o3[j] = c;
    }
}

/* U[q][o][i .. i + n) for n <= LANES input channels at once (the loops over j run
 * across channels, contiguous in U) */
static void kernel_lanes(const kernel_ctx *c, int o, int i0, int n) {
    const wgeom *g = c->g;
    int kz = g->axes == 3 ? 3 : 1, kvol = kz * 9;
    float k[3][3][3][LANES] = {{{{0}}}}, a[3][3][4][LANES], b[4][4][4][LANES], t[4][4][4][LANES];
    for (int j = 0; j < n; j++) {
        int i = i0 + j;
        const float *src = c->flip ? c->w + ((int64_t)i * g->cout + o) * kvol : c->w + ((int64_t)o * g->cin + i) * kvol;
        for (int q = 0; q < kvol; q++) k[q / 9][q / 3 % 3][q % 3][j] = src[c->flip ? kvol - 1 - q : q];
    }
    for (int z = 0; z < kz; z++) { /* G along x, then y */
        for (int y = 0; y < 3; y++) g_rows(a[z][y][0], a[z][y][1], a[z][y][2], a[z][y][3], k[z][y][0], k[z][y][1], k[z][y][2]);
        for (int x = 0; x < 4; x++) g_rows(b[z][0][x], b[z][1][x], b[z][2][x], b[z][3][x], a[z][0][x], a[z][1][x], a[z][2][x]);
    }
    float (*u)[4][4][LANES] = b;
    if (kz == 3) { /* along z */
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++) g_rows(t[0][y][x], t[1][y][x], t[2][y][x], t[3][y][x], b[0][y][x], b[1][y][x], b[2][y][x]);
        u = t;
    }
    for (int q = 0; q < g->points; q++) {
        float *dst = c->u + ((int64_t)q * g->cout + o) * g->cin + i0;
        const float *src = u[q / 16][q / 4 % 4][q % 4];
        for (int j = 0; j < n; j++) dst[j] = src[j];
    }
}

static void kernel_item(void *p, int item, int thread) {
    (void)thread;
    const kernel_ctx *c = p;
    int o1 = (item + 1) * KERNEL_ROWS < c->g->cout ? (item + 1) * KERNEL_ROWS : c->g->cout;
    for (int o = item * KERNEL_ROWS; o < o1; o++)
        for (int i = 0; i < c->g->cin; i += LANES) kernel_lanes(c, o, i, c->g->cin - i < LANES ? c->g->cin - i : LANES);
}

/* ---- one item: input tiles -> GEMMs -> output tiles ----
 *
 * An item's tiles are walked in runs along x (same sample, same tile row), at most
 * RUN tiles long; the transforms run over a whole run at once (the inner loops go
 * over the run's tiles, contiguous in V and M), from and to zero-padded row buffers. */

enum { RUN = 32 };

typedef struct {
    float *out;
    const float *in, *u, *bias;
    const wgeom *g;
    tile_plan pl;
    mtn_exec *ex;
    bool accumulate;
} tile_ctx;

/* the run of tiles starting at batch tile t (at most `left` long) */
typedef struct {
    int64_t s;       /* sample */
    int z0, y0, x0;  /* output origin of the first tile */
    int len;
} run_t;

static run_t run_at(const wgeom *g, int64_t t, int64_t left) {
    run_t r;
    r.s = t / g->tiles;
    int64_t rem = t % g->tiles;
    int tz = (int)(rem / ((int64_t)g->th * g->tw)), ty = (int)(rem / g->tw % g->th), tx = (int)(rem % g->tw);
    r.z0 = g->axes == 3 ? 2 * tz : tz;
    r.y0 = 2 * ty;
    r.x0 = 2 * tx;
    int64_t len = g->tw - tx;
    len = len < left ? len : left;
    r.len = (int)(len < RUN ? len : RUN);
    return r;
}

/* B^T along one axis for n tiles: four rows in, four rows out (may alias: each
 * element is read before its slot is written) */
static inline void bt_rows(float *o0, float *o1, float *o2, float *o3, const float *d0, const float *d1,
                           const float *d2, const float *d3, int n) {
    for (int j = 0; j < n; j++) {
        float a = d0[j], b = d1[j], c = d2[j], e = d3[j];
        o0[j] = a - c;
        o1[j] = b + c;
        o2[j] = c - b;
        o3[j] = b - e;
    }
}

/* A^T along one axis for n tiles: four rows in, two out */
static inline void at_rows(float *o0, float *o1, const float *m0, const float *m1, const float *m2, const float *m3,
                           int n) {
    for (int j = 0; j < n; j++) {
        float a = m0[j], b = m1[j], c = m2[j], e = m3[j];
        o0[j] = a + b + c;
        o1[j] = b - c - e;
    }
}

/* V[q][i][t .. t + len) for input channel i of run r: B^T along x from the input rows
 * (copied to a zero-padded row only at the borders), then along y (and z), the last
 * step writing V */
static void input_transform(float *v, int64_t ldv, const float *plane, const wgeom *g, const run_t *r) {
    int ez = g->axes == 3 ? 4 : 1, n = r->len, width = 2 * n + 2;
    float pad[2 * RUN + 2];
    int zs = g->axes == 3 ? r->z0 - 1 : r->z0, ys = r->y0 - 1, xs = r->x0 - 1;
    float t[4][4][4][RUN]; /* [z][y][x point][tile] */
    for (int z = 0; z < ez; z++)
        for (int y = 0; y < 4; y++) {
            int iz = zs + z, iy = ys + y;
            const float *row;
            if (iz < 0 || iz >= g->d || iy < 0 || iy >= g->h) {
                for (int x = 0; x < width; x++) pad[x] = 0.0f;
                row = pad;
            } else if (xs >= 0 && xs + width <= g->w) {
                row = plane + ((int64_t)iz * g->h + iy) * g->w + xs;
            } else { /* zeros left of 0 and right of w, the row between */
                const float *src = plane + ((int64_t)iz * g->h + iy) * g->w;
                int lo = xs < 0 ? -xs : 0, hi = xs + width > g->w ? g->w - xs : width;
                for (int x = 0; x < lo; x++) pad[x] = 0.0f;
                memcpy(pad + lo, src + xs + lo, sizeof(float) * (size_t)(hi - lo));
                for (int x = hi; x < width; x++) pad[x] = 0.0f;
                row = pad;
            }
            for (int j = 0; j < n; j++) {
                float d0 = row[2 * j], d1 = row[2 * j + 1], d2 = row[2 * j + 2], d3 = row[2 * j + 3];
                t[z][y][0][j] = d0 - d2;
                t[z][y][1][j] = d1 + d2;
                t[z][y][2][j] = d2 - d1;
                t[z][y][3][j] = d1 - d3;
            }
        }
    if (ez == 1) {
        for (int x = 0; x < 4; x++)
            bt_rows(v + x * ldv, v + (4 + x) * ldv, v + (8 + x) * ldv, v + (12 + x) * ldv, t[0][0][x], t[0][1][x],
                    t[0][2][x], t[0][3][x], n);
        return;
    }
    for (int z = 0; z < 4; z++)
        for (int x = 0; x < 4; x++)
            bt_rows(t[z][0][x], t[z][1][x], t[z][2][x], t[z][3][x], t[z][0][x], t[z][1][x], t[z][2][x], t[z][3][x], n);
    for (int q = 0; q < 16; q++) {
        int y = q / 4, x = q % 4;
        bt_rows(v + q * ldv, v + (16 + q) * ldv, v + (32 + q) * ldv, v + (48 + q) * ldv, t[0][y][x], t[1][y][x],
                t[2][y][x], t[3][y][x], n);
    }
}

/* output channel o of run r from M[q][o][t .. t + len): A^T along z (3D) and y read
 * from M, then along x into the output rows (straight into the plane when the run
 * lies inside it and nothing accumulates), plus the bias */
static void output_transform(float *plane, const float *m, int64_t ldm, const wgeom *g, const run_t *r, float bias,
                             bool accumulate) {
    int oz_n = g->axes == 3 ? 2 : 1, n = r->len;
    float t[4][4][4][RUN];
    if (g->axes == 3)
        for (int q = 0; q < 16; q++)
            at_rows(t[0][q / 4][q % 4], t[1][q / 4][q % 4], m + q * ldm, m + (16 + q) * ldm, m + (32 + q) * ldm,
                    m + (48 + q) * ldm, n);
    for (int z = 0; z < oz_n; z++)
        for (int x = 0; x < 4; x++) {
            if (g->axes == 3)
                at_rows(t[z][0][x], t[z][1][x], t[z][0][x], t[z][1][x], t[z][2][x], t[z][3][x], n);
            else
                at_rows(t[0][0][x], t[0][1][x], m + x * ldm, m + (4 + x) * ldm, m + (8 + x) * ldm, m + (12 + x) * ldm, n);
        }
    int wx = 2 * n < g->w - r->x0 ? 2 * n : g->w - r->x0;
    for (int z = 0; z < oz_n && r->z0 + z < g->d; z++)
        for (int y = 0; y < 2 && r->y0 + y < g->h; y++) {
            float *dst = plane + ((int64_t)(r->z0 + z) * g->h + r->y0 + y) * g->w + r->x0;
            const float *m0 = t[z][y][0], *m1 = t[z][y][1], *m2 = t[z][y][2], *m3 = t[z][y][3];
            if (!accumulate && wx == 2 * n) {
                for (int j = 0; j < n; j++) {
                    dst[2 * j] = m0[j] + m1[j] + m2[j] + bias;
                    dst[2 * j + 1] = m1[j] - m2[j] - m3[j] + bias;
                }
                continue;
            }
            float row[2 * RUN];
            for (int j = 0; j < n; j++) {
                row[2 * j] = m0[j] + m1[j] + m2[j] + bias;
                row[2 * j + 1] = m1[j] - m2[j] - m3[j] + bias;
            }
            if (accumulate)
                for (int x = 0; x < wx; x++) dst[x] += row[x];
            else
                for (int x = 0; x < wx; x++) dst[x] = row[x];
        }
}

/* V[q][i][lo .. hi) (rows of ld floats) for tiles [lo, hi) of the block that starts
 * at batch tile t0 */
static void inputs_to_v(float *v, int64_t ld, const float *in, const wgeom *g, int64_t t0, int64_t lo, int64_t hi) {
    int64_t plane = (int64_t)g->d * g->h * g->w;
    for (int64_t t = lo; t < hi;) {
        run_t r = run_at(g, t0 + t, hi - t);
        for (int i = 0; i < g->cin; i++)
            input_transform(v + (int64_t)i * ld + t, (int64_t)g->cin * ld, in + (r.s * g->cin + i) * plane, g, &r);
        t += r.len;
    }
}

static void tile_item(void *p, int item, int thread) {
    const tile_ctx *c = p;
    const wgeom *g = c->g;
    int mb = item / c->pl.chunks, k = item % c->pl.chunks;
    int64_t t0 = (int64_t)mb * c->pl.per_micro + (int64_t)k * c->pl.width;
    int64_t nt = nn_min64(c->pl.width, c->pl.per_micro - (int64_t)k * c->pl.width);
    int64_t plane = (int64_t)g->d * g->h * g->w;
    float *v = mtn_exec_scratch(c->ex, thread), *m = v + (int64_t)g->points * g->cin * nt;
    inputs_to_v(v, nt, c->in, g, t0, 0, nt);
    for (int q = 0; q < g->points; q++) /* M[q] = U[q] (cout x cin) V[q] (cin x nt) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->cout, (int)nt, g->cin, 1.0f,
                    c->u + (int64_t)q * g->cout * g->cin, g->cin, v + (int64_t)q * g->cin * nt, (int)nt, 0.0f,
                    m + (int64_t)q * g->cout * nt, (int)nt);
    for (int64_t t = 0; t < nt;) {
        run_t r = run_at(g, t0 + t, nt - t);
        for (int o = 0; o < g->cout; o++)
            output_transform(c->out + (r.s * g->cout + o) * plane, m + (int64_t)o * nt + t, (int64_t)g->cout * nt, g,
                             &r, c->bias ? c->bias[o] : 0.0f, c->accumulate);
        t += r.len;
    }
}

/* ---- the weight gradient: dU[q] = sum over tiles of dM[q] V[q]^T, dW = G^T dU G ----
 *
 * dM = A dy A^T is the adjoint of the output transform. The leaves are micro-batches,
 * each computed by all threads together (as conv.c's cooperative weight gradient):
 * its tiles go in fixed chunks; per chunk, transform items fill V and dM (shared),
 * then one GEMM item per transform point adds dM[q] V[q]^T into dU[q] (the chunk
 * order fixes the bits; no per-thread dU to add up). At the end G^T dU G, per block
 * of output channels, is the leaf, in the kernel's own space: the tree then sums
 * what ranks sum. */

/* V and dM of a chunk within 2^20 floats (measured on 2 cores, ResNet-18's 64, 128
 * and 256 channels, batch 8: 2^20 best; 2^22 1.3-1.7x slower, out of cache) */
#ifndef WINOGRAD_DW_LOG2
#define WINOGRAD_DW_LOG2 20
#endif
enum { DW_TRANSFORM_ITEMS = 16 };

static int kernel_volume(const wgeom *g) { return g->axes == 3 ? 27 : 9; }
/* a leaf: the kernel gradient (cout x cin x kvol) and the bias sums (cout) */
static size_t dw_count(const wgeom *g) {
    return (size_t)kernel_volume(g) * (size_t)g->cout * (size_t)g->cin + (size_t)g->cout;
}
/* tiles per chunk: V and dM within 2^WINOGRAD_DW_LOG2 floats, a power of two, at
 * least 64 (the GEMMs' inner dimension), at most the micro-batch's tiles */
static int64_t dw_chunk(const wgeom *g, int64_t per_micro) {
    int64_t cap = ((int64_t)1 << WINOGRAD_DW_LOG2) / ((int64_t)g->points * (g->cin + g->cout)), c = 64;
    while (c * 2 <= cap) c *= 2;
    return c < per_micro ? c : per_micro;
}
static size_t dw_shared(const wgeom *g, int64_t chunk) { /* V, dM, dU */
    return (size_t)g->points * ((size_t)(g->cin + g->cout) * (size_t)chunk + (size_t)g->cout * (size_t)g->cin);
}

/* A along one axis for n tiles, the adjoint of A^T: two rows in, four out,
 * (a, b) -> (a, a + b, a - b, -b) (may alias: each element is read before its slot
 * is written) */
static inline void a_rows(float *o0, float *o1, float *o2, float *o3, const float *a, const float *b, int n) {
    for (int j = 0; j < n; j++) {
        float a0 = a[j], b0 = b[j];
        o0[j] = a0;
        o1[j] = a0 + b0;
        o2[j] = a0 - b0;
        o3[j] = -b0;
    }
}

/* dM[q][o][t .. t + len) of run r from output channel o's gradient plane */
static void dy_transform(float *dm, int64_t ldm, const float *plane, const wgeom *g, const run_t *r) {
    int ez = g->axes == 3 ? 4 : 1, oz_n = g->axes == 3 ? 2 : 1, n = r->len;
    int wx = 2 * n < g->w - r->x0 ? 2 * n : g->w - r->x0;
    float t[4][4][4][RUN]; /* [z][y][x][tile] */
    for (int z = 0; z < oz_n; z++) /* along x: (a, b) -> (a, a + b, a - b, -b) */
        for (int y = 0; y < 2; y++) {
            bool inside = r->z0 + z < g->d && r->y0 + y < g->h;
            const float *src = inside ? plane + ((int64_t)(r->z0 + z) * g->h + r->y0 + y) * g->w + r->x0 : NULL;
            float row[2 * RUN];
            if (!inside || wx < 2 * n) {
                for (int x = 0; x < 2 * n; x++) row[x] = inside && x < wx ? src[x] : 0.0f;
                src = row;
            }
            for (int j = 0; j < n; j++) {
                float a0 = src[2 * j], b0 = src[2 * j + 1];
                t[z][y][0][j] = a0;
                t[z][y][1][j] = a0 + b0;
                t[z][y][2][j] = a0 - b0;
                t[z][y][3][j] = -b0;
            }
        }
    if (ez == 1) { /* along y, the last step writing dM */
        for (int x = 0; x < 4; x++)
            a_rows(dm + x * ldm, dm + (4 + x) * ldm, dm + (8 + x) * ldm, dm + (12 + x) * ldm, t[0][0][x], t[0][1][x], n);
        return;
    }
    for (int z = 0; z < oz_n; z++) /* along y */
        for (int x = 0; x < 4; x++)
            a_rows(t[z][0][x], t[z][1][x], t[z][2][x], t[z][3][x], t[z][0][x], t[z][1][x], n);
    for (int q = 0; q < 16; q++) /* along z, writing dM */
        a_rows(dm + q * ldm, dm + (16 + q) * ldm, dm + (32 + q) * ldm, dm + (48 + q) * ldm, t[0][q / 4][q % 4],
               t[1][q / 4][q % 4], n);
}

static inline void gt4(float *dst, int64_t ds, const float *src, int64_t ss) { /* 4 -> 3 */
    float u0 = src[0], u1 = src[ss], u2 = src[2 * ss], u3 = src[3 * ss];
    dst[0] = u0 + 0.5f * (u1 + u2);
    dst[ds] = 0.5f * (u1 - u2);
    dst[2 * ds] = 0.5f * (u1 + u2) + u3;
}

/* dw[o][i] (kvol floats each) = G^T dU[:, o, i] G for o in [o0, o1), dU laid out [q][o][i] */
static void back_transform(float *dw, const float *du, const wgeom *g, int o0, int o1) {
    int kvol = kernel_volume(g), ez = g->axes == 3 ? 4 : 1;
    for (int o = o0; o < o1; o++)
        for (int i = 0; i < g->cin; i++) {
            float u[64], a[4 * 4 * 3], b[4 * 3 * 3];
            for (int q = 0; q < g->points; q++) u[q] = du[((int64_t)q * g->cout + o) * g->cin + i];
            for (int r = 0; r < ez * 4; r++) gt4(a + r * 3, 1, u + r * 4, 1);          /* x: [z][y][3] */
            for (int z = 0; z < ez; z++)
                for (int x = 0; x < 3; x++) gt4(b + z * 9 + x, 3, a + z * 12 + x, 3); /* y: [z][3][3] */
            float *dst = dw + ((int64_t)o * g->cin + i) * kvol;
            if (ez == 4)
                for (int q = 0; q < 9; q++) gt4(dst + q, 9, b + q, 9);                /* z: [3][3][3] */
            else
                memcpy(dst, b, sizeof(float) * 9);
        }
}

typedef struct {
    const float *dout, *in;
    const wgeom *g;
    mtn_exec *ex;
    int micro;
    int64_t per_micro, chunk; /* tiles per micro-batch, per chunk */
    float *v, *dm, *du;       /* shared: one chunk's V [q][cin][nt] and dM [q][cout][nt]; dU [q][cout][cin] */
    int leaf;                 /* the micro-batch */
    int64_t t0, nt;           /* the chunk: its first tile (counted from the batch's first), its tiles */
    bool first;               /* the micro-batch's first chunk: the GEMMs overwrite dU */
    float *out;               /* the leaf: dW (cout x cin x kvol), then the bias sums */
    bool bias;
} dw_ctx;

static void dw_transform_item(void *p, int item, int thread) {
    (void)thread;
    const dw_ctx *c = p;
    const wgeom *g = c->g;
    int64_t lo = c->nt * item / DW_TRANSFORM_ITEMS, hi = c->nt * (item + 1) / DW_TRANSFORM_ITEMS;
    int64_t plane = (int64_t)g->d * g->h * g->w;
    inputs_to_v(c->v, c->nt, c->in, g, c->t0, lo, hi);
    for (int64_t t = lo; t < hi;) {
        run_t r = run_at(g, c->t0 + t, hi - t);
        for (int o = 0; o < g->cout; o++)
            dy_transform(c->dm + (int64_t)o * c->nt + t, (int64_t)g->cout * c->nt,
                         c->dout + (r.s * g->cout + o) * plane, g, &r);
        t += r.len;
    }
}

static void dw_gemm_item(void *p, int q, int thread) { /* dU[q] (cout x cin) += dM[q] (cout x nt) V[q]^T */
    (void)thread;
    const dw_ctx *c = p;
    const wgeom *g = c->g;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->cout, g->cin, (int)c->nt, 1.0f,
                c->dm + (int64_t)q * g->cout * c->nt, (int)c->nt, c->v + (int64_t)q * g->cin * c->nt, (int)c->nt,
                c->first ? 0.0f : 1.0f, c->du + (int64_t)q * g->cout * g->cin, g->cin);
}

static void dw_back_item(void *p, int item, int thread) { /* the leaf's output channels [o0, o1) */
    (void)thread;
    const dw_ctx *c = p;
    const wgeom *g = c->g;
    int o0 = item * KERNEL_ROWS, o1 = o0 + KERNEL_ROWS < g->cout ? o0 + KERNEL_ROWS : g->cout;
    back_transform(c->out, c->du, g, o0, o1);
    int64_t plane = (int64_t)g->d * g->h * g->w;
    float *db = c->out + (int64_t)kernel_volume(g) * g->cout * g->cin;
    for (int o = o0; c->bias && o < o1; o++) {
        double sum = 0.0;
        for (int s = 0; s < c->micro; s++)
            sum += nn_sum(c->dout + ((int64_t)(c->leaf * c->micro + s) * g->cout + o) * plane, plane);
        db[o] = (float)sum;
    }
}

static void dw_leaf(void *p, int leaf, float *out) {
    dw_ctx *c = p;
    c->leaf = leaf;
    c->out = out;
    for (int64_t k = 0; k < c->per_micro; k += c->chunk) {
        c->t0 = (int64_t)leaf * c->per_micro + k;
        c->nt = nn_min64(c->chunk, c->per_micro - k);
        c->first = k == 0;
        mtn_exec_for(c->ex, DW_TRANSFORM_ITEMS, dw_transform_item, c);
        mtn_exec_for(c->ex, c->g->points, dw_gemm_item, c);
    }
    mtn_exec_for(c->ex, (c->g->cout + KERNEL_ROWS - 1) / KERNEL_ROWS, dw_back_item, c);
}

void nn_winograd_weight_grad(mtn_exec *ex, float *dw, float *dbias, const float *dout, const float *in,
                             const mtn_conv *cv, mtn_dims in_dims, int micro) {
    wgeom g = make_wgeom(cv, in_dims);
    int mi = nn_micro(in_dims.n, micro);
    dw_ctx c = {dout, in, &g, ex, mi, (int64_t)mi * g.tiles, 0, NULL, NULL, NULL, 0, 0, 0, false, NULL,
                dbias != NULL};
    c.chunk = dw_chunk(&g, c.per_micro);
    size_t count = dw_count(&g), nw = count - (size_t)g.cout;
    float *v = nn_reduce_together_scratch(ex, nw, dbias ? (size_t)g.cout : 0, dw_shared(&g, c.chunk));
    c.v = v;
    c.dm = v + (int64_t)g.points * g.cin * c.chunk;
    c.du = c.dm + (int64_t)g.points * g.cout * c.chunk;
    nn_reduce_params_together(ex, in_dims.n / mi, dw_leaf, &c, dw, nw, dbias, (size_t)g.cout);
}

mtn_needs nn_winograd_weight_needs(const mtn_conv *cv, mtn_dims in, int micro) {
    wgeom g = make_wgeom(cv, in);
    int mi = nn_micro(in.n, micro);
    size_t count = dw_count(&g);
    mtn_needs n = {0, count, count + dw_shared(&g, dw_chunk(&g, (int64_t)mi * g.tiles)),
                   mtn_tree_floats(count, in.n / mi)};
    return n;
}

void nn_winograd_forward(mtn_exec *ex, float *out, const float *in, const float *w, const float *bias,
                         const mtn_conv *cv, mtn_dims in_dims, int micro, bool flip, bool accumulate) {
    wgeom g = make_wgeom(cv, in_dims);
    float *u = mtn_exec_shared(ex, (size_t)g.points * (size_t)g.cin * (size_t)g.cout);
    kernel_ctx k = {u, w, &g, flip};
    mtn_exec_for(ex, (g.cout + KERNEL_ROWS - 1) / KERNEL_ROWS, kernel_item, &k);
    tile_ctx c = {out, in, u, bias, &g, make_tile_plan(&g, in_dims.n, micro, g.block), ex, accumulate};
    mtn_exec_for(ex, in_dims.n / c.pl.micro * c.pl.chunks, tile_item, &c);
}
