/* test_layers.c — the layers of nn.h: finite-difference gradient checks of every
 * layer, for inputs and parameters, together with the accumulate contract (gradient
 * buffers pre-filled with non-zero values end at prefill + gradient; losses
 * overwrite theirs); values against hand computations where a formula says more
 * than a difference (BatchNorm in eval mode and its running statistics, dropout's
 * mask, mixup, the losses at known points); and determinism: identical bits with 1,
 * 2 and 3 threads, and a batch split in halves (as two ranks hold it) gives the same
 * bits per sample and weight gradients whose sum is the whole batch's, bit for bit.
 *
 * Tolerances of the gradient checks. The layers compute in float32; the objective
 * L = sum(out * R), with R fixed and random, is summed in double, and the central
 * difference (L(x + h) - L(x - h)) / (x+ - x-) divides by the step actually taken in
 * float. Its error has three parts:
 *   - rounding of the float outputs: about 6e-8 x sqrt(#outputs) x |out R| / h,
 *     below 1e-4 x the gradient's scale for these shapes (h = 1e-2, #outputs <= 500);
 *   - truncation, h^2 f''' / 6: zero where the layer is linear in the perturbed
 *     variable within the step (conv, convT, linear, pooling without crossing a
 *     switch, ReLU away from 0, dropout, concat), where h = 0.25 (1e-2 where a
 *     switch is 0.1 away) shrinks the rounding part further; a few 1e-4 relative
 *     for BatchNorm at h = 1e-2.
 *   - the losses return their mean from a float sum (the fixed tree is in float),
 *     rounded to ~1e-7 of the loss: at h = 1e-2 that alone is ~3e-3 of the
 *     per-pixel gradient's scale, so they take h = 3e-2 (rounding and truncation
 *     then both ~1e-3).
 * We accept |analytic - numeric| <= 1e-2 x max(|numeric|, 0.1 x max|analytic|):
 * 1 % relative, with a floor at 0.1 % of the gradient's scale for the near-zero
 * entries where the rounding part dominates — about ten times the worst expected.
 * The observed maximum of that ratio is printed per check ("max err", against 1e-2). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/nn/conv_shift.h" /* which weight gradients take the shifted-GEMM road */
#include "../../src/nn/winograd.h"   /* which convolutions take the Winograd road */
#include "harness.h"
#include "mtn/nn.h"

/* ---------------------------------------------------------------- helpers --- */

static mtn_exec *exec_with(int threads, mtn_needs needs) {
    mtn_exec *ex = NULL;
    CU_ASSERT_FATAL(mtn_exec_create(threads, &ex) == MTN_OK);
    CU_ASSERT_FATAL(mtn_exec_reserve(ex, needs) == MTN_OK);
    return ex;
}

/* n floats uniform in [lo, hi), a pure function of seed */
static float *rand_floats(int64_t n, uint64_t seed, float lo, float hi) {
    float *x = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    mtn_rng r;
    mtn_rng_init(&r, seed, MTN_STREAM_INIT, 0);
    for (int64_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * mtn_rng_uniformf(&r);
    return x;
}

/* values at least `gap` from zero: |x| in [gap, 1), random sign */
static float *rand_away_from_zero(int64_t n, uint64_t seed, float gap) {
    float *x = rand_floats(n, seed, -1.0f, 1.0f);
    for (int64_t i = 0; i < n; i++) x[i] = x[i] < 0 ? -gap + x[i] * (1.0f - gap) : gap + x[i] * (1.0f - gap);
    return x;
}

/* distinct values 0.1 apart in random order (max pooling without ties) */
static float *rand_distinct(int64_t n, uint64_t seed) {
    uint32_t *perm = malloc(sizeof(uint32_t) * (size_t)n);
    mtn_rng r;
    mtn_rng_init(&r, seed, MTN_STREAM_SHUFFLE, 0);
    mtn_rng_permutation(&r, (uint32_t)n, perm);
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = 0.1f * (float)perm[i] - 0.05f * (float)n;
    free(perm);
    return x;
}

static float *copy_floats(const float *x, int64_t n) {
    float *y = malloc(sizeof(float) * (size_t)n);
    memcpy(y, x, sizeof(float) * (size_t)n);
    return y;
}

static bool same_bits(const void *a, const void *b, size_t bytes) { return memcmp(a, b, bytes) == 0; }

/* ------------------------------------------------ finite-difference checks --- */

typedef struct {
    const char *name;
    float *x, *g; /* values and gradient (g NULL: not differentiated) */
    int64_t n;
} fd_var;

/* A layer under test, with its variables (input first, then parameters). Layers
 * fill `out` and their backward adds gradients for dout = r; losses set `value` and
 * their backward overwrites the gradients. Fields past `h` are what the layers need. */
typedef struct fd_case fd_case;
struct fd_case {
    const char *name;
    mtn_exec *ex;
    void (*forward)(fd_case *c);
    void (*backward)(fd_case *c);
    float *out, *r;
    int64_t n_out;
    bool is_loss;
    double value;
    fd_var var[3];
    int n_vars;
    double h;
    /* layer state */
    mtn_conv cv;
    mtn_convt ct;
    mtn_bn bn;
    mtn_maxpool mp;
    mtn_linear lin;
    mtn_dims dims;
    int micro, n, k, ca, cb;
    int64_t spatial;
    float p;
    float *save, *rm, *rv, *aux;
    uint8_t *mask;
    int32_t *argmax, *target;
};

static void add_var(fd_case *c, const char *name, float *values, int64_t n) {
    fd_var *v = &c->var[c->n_vars++];
    v->name = name;
    v->x = values;
    v->n = n;
    v->g = calloc((size_t)n, sizeof(float));
}

/* the case's output buffer and the fixed weights R of the objective */
static void set_output(fd_case *c, int64_t n_out, uint64_t seed) {
    c->n_out = n_out;
    c->out = calloc((size_t)n_out, sizeof(float));
    c->r = rand_floats(n_out, seed, -1.0f, 1.0f);
}

static void free_case(fd_case *c) {
    for (int v = 0; v < c->n_vars; v++) {
        free(c->var[v].x);
        free(c->var[v].g);
    }
    free(c->out);
    free(c->r);
    free(c->save);
    free(c->rm);
    free(c->rv);
    free(c->aux);
    free(c->mask);
    free(c->argmax);
    free(c->target);
    mtn_exec_free(c->ex);
}

static double objective(fd_case *c) {
    c->forward(c);
    if (c->is_loss) return c->value;
    double L = 0.0;
    for (int64_t i = 0; i < c->n_out; i++) L += (double)c->out[i] * c->r[i];
    return L;
}

static float prefill(int64_t i) { return 0.25f + 0.125f * (float)(i % 7) - 0.5f * (float)(i % 2); }

/* Analytic gradients, the accumulate (or overwrite) contract, then central
 * differences for every variable with a gradient (all entries, or ~240 evenly
 * spread when there are more). Frees the case. */
static void fd_check(fd_case *c) {
    float *analytic[3] = {NULL, NULL, NULL};
    c->forward(c);
    for (int v = 0; v < c->n_vars; v++)
        if (c->var[v].g) memset(c->var[v].g, 0, sizeof(float) * (size_t)c->var[v].n);
    c->backward(c);
    for (int v = 0; v < c->n_vars; v++)
        if (c->var[v].g) analytic[v] = copy_floats(c->var[v].g, c->var[v].n);

    /* accumulate: prefill + gradient (exactly, up to a last-bit difference that
     * BLAS's beta = 1 may make); losses overwrite */
    int contract_bad = 0;
    for (int v = 0; v < c->n_vars; v++)
        if (c->var[v].g)
            for (int64_t i = 0; i < c->var[v].n; i++) c->var[v].g[i] = prefill(i);
    c->backward(c);
    for (int v = 0; v < c->n_vars; v++) {
        if (!c->var[v].g) continue;
        for (int64_t i = 0; i < c->var[v].n; i++) {
            float want = c->is_loss ? analytic[v][i] : prefill(i) + analytic[v][i];
            if (fabsf(c->var[v].g[i] - want) > 1e-6f * (fabsf(want) + 1.0f)) contract_bad++;
        }
    }
    if (contract_bad) printf("\n  %s: %d gradients break the %s contract", c->name, contract_bad,
                             c->is_loss ? "overwrite" : "accumulate");
    CU_ASSERT_EQUAL(contract_bad, 0);

    for (int v = 0; v < c->n_vars; v++) {
        fd_var *var = &c->var[v];
        if (!var->g) continue;
        double gmax = 0.0;
        for (int64_t i = 0; i < var->n; i++) gmax = fmax(gmax, fabs(analytic[v][i]));
        int64_t step = var->n > 240 ? var->n / 240 : 1;
        int checked = 0, bad = 0;
        double worst = 0.0;
        for (int64_t i = 0; i < var->n; i += step) {
            float x0 = var->x[i];
            var->x[i] = (float)(x0 + c->h);
            double xp = var->x[i], lp = objective(c);
            var->x[i] = (float)(x0 - c->h);
            double xm = var->x[i], lm = objective(c);
            var->x[i] = x0;
            double num = (lp - lm) / (xp - xm), scale = fmax(fabs(num), 0.1 * gmax);
            double err = fabs(num - analytic[v][i]) / (scale > 0.0 ? scale : 1e-30);
            if (err > 1e-2) {
                if (bad < 3)
                    printf("\n  %s d%s[%lld]: analytic %.6g numeric %.6g", c->name, var->name, (long long)i,
                           analytic[v][i], num);
                bad++;
            }
            worst = fmax(worst, err);
            checked++;
        }
        printf("\n    fd %-36s d%-6s %4d checked, |grad| <= %-6.3g max err %.1e", c->name, var->name, checked, gmax,
               worst);
        CU_ASSERT_EQUAL(bad, 0);
        CU_ASSERT(gmax > 0.0); /* a zero gradient would make the check vacuous */
        free(analytic[v]);
    }
    free_case(c);
}

/* ------------------------------------------------------------ layer cases --- */

#define X(c, i) ((c)->var[i].x)
#define G(c, i) ((c)->var[i].g)

static void conv_fwd(fd_case *c) {
    mtn_conv_forward(c->ex, c->out, X(c, 0), X(c, 1), X(c, 2), &c->cv, c->dims, c->micro);
}
static void conv_bwd(fd_case *c) {
    mtn_conv_backward(c->ex, G(c, 0), G(c, 1), G(c, 2), c->r, X(c, 0), X(c, 1), &c->cv, c->dims, c->micro);
}

static void check_conv_micro(const char *name, mtn_conv cv, mtn_dims in, bool bias, int micro) {
    fd_case c = {.name = name, .forward = conv_fwd, .backward = conv_bwd, .h = 0.25, .cv = cv, .dims = in,
                 .micro = micro};
    c.ex = exec_with(2, mtn_conv_needs(&cv, in, micro));
    int64_t kvol = (int64_t)cv.k[0] * cv.k[1] * cv.k[2];
    add_var(&c, "in", rand_floats(mtn_dims_numel(in), 11, -1, 1), mtn_dims_numel(in));
    add_var(&c, "w", rand_floats(cv.cout * cv.cin * kvol, 12, -0.5f, 0.5f), cv.cout * cv.cin * kvol);
    if (bias) add_var(&c, "b", rand_floats(cv.cout, 13, -0.5f, 0.5f), cv.cout);
    set_output(&c, mtn_dims_numel(mtn_conv_out_dims(&cv, in)), 14);
    fd_check(&c);
}

static void check_conv(const char *name, mtn_conv cv, mtn_dims in, bool bias) {
    check_conv_micro(name, cv, in, bias, 1);
}

static void test_conv_gradients(void) {
    mtn_dims in2 = {2, 3, 1, 5, 6}, in3 = {2, 2, 4, 5, 4};
    check_conv("conv2d 3x3 stride 1 pad 1 +bias", (mtn_conv){3, 4, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}}, in2, true);
    check_conv("conv2d 3x3 stride 1 pad 1", (mtn_conv){3, 4, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}}, in2, false);
    check_conv("conv2d 3x3 stride 2 pad 1 +bias", (mtn_conv){3, 4, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}}, in2, true);
    check_conv("conv2d 1x1 stride 2", (mtn_conv){3, 2, {1, 1, 1}, {1, 2, 2}, {0, 0, 0}}, in2, false);
    check_conv("conv3d 3x3x3 stride 1 pad 1 +bias", (mtn_conv){2, 3, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}}, in3, true);
    check_conv("conv3d 3x3x3 stride 1 pad 1", (mtn_conv){2, 3, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}}, in3, false);
    check_conv("conv3d 3x3x3 stride 2 pad 1 +bias", (mtn_conv){2, 3, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}}, in3, true);
    check_conv("conv3d 3x3x3 stride 2 pad 1", (mtn_conv){2, 3, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}}, in3, false);
    /* the Winograd road (2D: 64 channels, 12 x 12; 3D: 16 channels), forward and both
     * gradients; odd sizes */
    mtn_dims w2 = {1, 64, 1, 12, 13}, w3 = {1, 16, 3, 4, 5};
    CU_ASSERT(nn_winograd_fits(&(mtn_conv){64, 64, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}}, w2));
    CU_ASSERT(nn_winograd_fits(&(mtn_conv){16, 16, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}}, w3));
    CU_ASSERT(!nn_winograd_fits(&(mtn_conv){16, 16, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}}, (mtn_dims){1, 16, 1, 4, 5}));
    CU_ASSERT(!nn_winograd_fits(&(mtn_conv){64, 64, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}}, w2));
    CU_ASSERT(!nn_winograd_fits(&(mtn_conv){64, 64, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}}, (mtn_dims){1, 64, 1, 8, 8}));
    CU_ASSERT(nn_winograd_weight_fits(&(mtn_conv){64, 64, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}}, w2));
    check_conv("conv2d 3x3 Winograd +bias", (mtn_conv){64, 64, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}}, w2, true);
    check_conv("conv3d 3x3x3 Winograd", (mtn_conv){16, 16, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}}, w3, false);
    /* ... in 3D with the weight gradient too: more positions per micro-batch than kernel rows */
    CU_ASSERT(nn_winograd_weight_fits(&(mtn_conv){16, 16, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}}, (mtn_dims){1, 16, 6, 8, 9}));
    check_conv("conv3d 3x3x3 Winograd dW +bias", (mtn_conv){16, 16, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
               (mtn_dims){1, 16, 6, 8, 9}, true);
    check_conv("conv3d 3x3x3 Winograd dW", (mtn_conv){16, 8, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
               (mtn_dims){2, 16, 4, 8, 9}, false);
    /* ... a micro-batch of two samples whose tiles (2 x 16 x 17) take two chunks of the
     * weight gradient's GEMMs (512 tiles at 128 + 128 channels) */
    check_conv_micro("conv2d 3x3 Winograd dW, 2 chunks", (mtn_conv){128, 128, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}},
                     (mtn_dims){2, 128, 1, 32, 34}, false, 2);
    /* the shifted-GEMM weight gradient (2D, stride 1, 8 channels or more, long rows):
     * odd width, one band; a 3 x 1 kernel whose planes split into two bands */
    mtn_conv s1 = {8, 3, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}}, s2 = {8, 2, {1, 3, 1}, {1, 1, 1}, {0, 1, 0}};
    mtn_dims d1 = {2, 8, 1, 34, 31}, d2 = {1, 8, 1, 128, 72};
    CU_ASSERT(nn_shift_weight_fits(&s1, d1) && nn_shift_weight_fits(&s2, d2));
    CU_ASSERT(!nn_shift_weight_fits(&s1, (mtn_dims){2, 8, 1, 16, 16}));                            /* rows too short */
    CU_ASSERT(!nn_shift_weight_fits(&(mtn_conv){8, 3, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}}, d1)); /* stride 2 */
    CU_ASSERT(!nn_shift_weight_fits(&(mtn_conv){4, 3, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}}, (mtn_dims){2, 4, 1, 34, 31}));
    check_conv("conv2d 3x3 shifted dW +bias", s1, d1, true);
    check_conv("conv2d 3x1 shifted dW, 2 bands", s2, d2, false);
}

static void convt_fwd(fd_case *c) {
    mtn_convt_forward(c->ex, c->out, X(c, 0), X(c, 1), X(c, 2), &c->ct, c->dims, c->micro);
}
static void convt_bwd(fd_case *c) {
    mtn_convt_backward(c->ex, G(c, 0), G(c, 1), G(c, 2), c->r, X(c, 0), X(c, 1), &c->ct, c->dims, c->micro);
}

static void check_convt(const char *name, mtn_convt ct, mtn_dims in, bool bias, int micro) {
    fd_case c = {.name = name, .forward = convt_fwd, .backward = convt_bwd, .h = 0.25, .ct = ct, .dims = in,
                 .micro = micro};
    c.ex = exec_with(2, mtn_convt_needs(&ct, in, micro));
    int64_t nw = (int64_t)ct.cin * ct.cout * ct.k[0] * ct.k[1] * ct.k[2];
    add_var(&c, "in", rand_floats(mtn_dims_numel(in), 21, -1, 1), mtn_dims_numel(in));
    add_var(&c, "w", rand_floats(nw, 22, -0.5f, 0.5f), nw);
    if (bias) add_var(&c, "b", rand_floats(ct.cout, 23, -0.5f, 0.5f), ct.cout);
    set_output(&c, mtn_dims_numel(mtn_convt_out_dims(&ct, in)), 24);
    fd_check(&c);
}

static void test_convt_gradients(void) {
    check_convt("convT2d 2x2 +bias", (mtn_convt){3, 2, {1, 2, 2}}, (mtn_dims){2, 3, 1, 3, 4}, true, 1);
    check_convt("convT2d 2x2", (mtn_convt){3, 2, {1, 2, 2}}, (mtn_dims){2, 3, 1, 3, 4}, false, 2);
    check_convt("convT3d 2x2x2 +bias", (mtn_convt){2, 3, {2, 2, 2}}, (mtn_dims){2, 2, 2, 3, 2}, true, 1);
    check_convt("convT3d 2x1x3 (anisotropic)", (mtn_convt){2, 2, {2, 1, 3}}, (mtn_dims){2, 2, 2, 2, 3}, false, 1);
    /* the output geometry */
    mtn_dims o = mtn_convt_out_dims(&(mtn_convt){3, 5, {2, 2, 2}}, (mtn_dims){4, 3, 6, 7, 8});
    CU_ASSERT(o.n == 4 && o.c == 5 && o.d == 12 && o.h == 14 && o.w == 16);
}

static void bn_fwd(fd_case *c) {
    mtn_bn_forward_train(c->ex, c->out, c->save, c->rm, c->rv, X(c, 0), X(c, 1), X(c, 2), &c->bn, c->dims, c->micro);
}
static void bn_bwd(fd_case *c) {
    mtn_bn_backward(c->ex, G(c, 0), G(c, 1), G(c, 2), c->r, X(c, 0), c->save, X(c, 1), &c->bn, c->dims, c->micro);
}

static void check_bn(const char *name, mtn_dims in, int micro) {
    mtn_bn bn = {.c = in.c, .eps = 1e-5f, .momentum = 0.1f};
    fd_case c = {.name = name, .forward = bn_fwd, .backward = bn_bwd, .h = 1e-2, .bn = bn, .dims = in,
                 .micro = micro};
    c.ex = exec_with(2, mtn_bn_needs(&bn, in, micro));
    c.save = calloc(2 * (size_t)in.c, sizeof(float));
    c.rm = calloc((size_t)in.c, sizeof(float));
    c.rv = calloc((size_t)in.c, sizeof(float));
    add_var(&c, "in", rand_floats(mtn_dims_numel(in), 31, -1, 2), mtn_dims_numel(in));
    add_var(&c, "gamma", rand_floats(in.c, 32, 0.5f, 1.5f), in.c);
    add_var(&c, "beta", rand_floats(in.c, 33, -0.5f, 0.5f), in.c);
    set_output(&c, mtn_dims_numel(in), 34);
    fd_check(&c);
}

static void test_bn_gradients(void) {
    check_bn("batchnorm1d (N, C)", (mtn_dims){8, 3, 1, 1, 1}, 2);
    check_bn("batchnorm2d", (mtn_dims){2, 3, 1, 3, 4}, 1);
    check_bn("batchnorm3d", (mtn_dims){2, 2, 2, 3, 2}, 1);
}

/* Training forward against a double computation, the running statistics (unbiased
 * variance, momentum 0.1) and `save`; then eval mode against its formula. */
static void test_bn_values(void) {
    mtn_dims in = {4, 3, 1, 2, 5};
    int C = in.c;
    int64_t S = mtn_dims_spatial(in), M = in.n * S, n = mtn_dims_numel(in);
    mtn_bn bn = {.c = C, .eps = 1e-5f, .momentum = 0.1f};
    mtn_exec *ex = exec_with(3, mtn_bn_needs(&bn, in, 2));
    float *x = rand_floats(n, 41, -2, 3), *g = rand_floats(C, 42, 0.5f, 1.5f), *b = rand_floats(C, 43, -1, 1);
    float *y = malloc(sizeof(float) * (size_t)n), save[6], rm[3] = {0.5f, -1.0f, 2.0f}, rv[3] = {1.0f, 2.0f, 0.25f};
    float rm0[3], rv0[3];
    memcpy(rm0, rm, sizeof rm);
    memcpy(rv0, rv, sizeof rv);
    mtn_bn_forward_train(ex, y, save, rm, rv, x, g, b, &bn, in, 2);
    for (int ch = 0; ch < C; ch++) {
        double sum = 0, sq = 0;
        for (int s = 0; s < in.n; s++)
            for (int64_t i = 0; i < S; i++) sum += x[(s * C + ch) * S + i];
        double mean = sum / (double)M;
        for (int s = 0; s < in.n; s++)
            for (int64_t i = 0; i < S; i++) sq += pow(x[(s * C + ch) * S + i] - mean, 2);
        double var = sq / (double)M, invstd = 1.0 / sqrt(var + 1e-5);
        CU_ASSERT(fabs(save[ch] - mean) <= 1e-6 * (1 + fabs(mean)));
        CU_ASSERT(fabs(save[C + ch] - invstd) <= 1e-6 * invstd);
        CU_ASSERT(fabs(rm[ch] - (0.9 * rm0[ch] + 0.1 * mean)) <= 1e-6 * (1 + fabs(rm[ch])));
        CU_ASSERT(fabs(rv[ch] - (0.9 * rv0[ch] + 0.1 * sq / (double)(M - 1))) <= 1e-6 * (1 + fabs(rv[ch])));
        for (int s = 0; s < in.n; s++)
            for (int64_t i = 0; i < S; i++) {
                int64_t at = (s * C + ch) * S + i;
                double want = (x[at] - mean) * invstd * g[ch] + b[ch];
                CU_ASSERT(fabs(y[at] - want) <= 1e-5 * (1 + fabs(want)));
            }
    }
    /* eval: the running statistics, not the batch's */
    mtn_bn_forward_eval(ex, y, x, g, b, rm, rv, &bn, in);
    int bad = 0;
    for (int64_t at = 0; at < n; at++) {
        int ch = (int)(at / S % C);
        double want = (x[at] - (double)rm[ch]) / sqrt((double)rv[ch] + 1e-5) * g[ch] + b[ch];
        bad += fabs(y[at] - want) > 1e-5 * (1 + fabs(want));
    }
    CU_ASSERT_EQUAL(bad, 0);
    free(x);
    free(g);
    free(b);
    free(y);
    mtn_exec_free(ex);
}

static void relu_fwd(fd_case *c) { mtn_relu_forward(c->ex, c->out, X(c, 0), c->n_out); }
static void relu_bwd(fd_case *c) { mtn_relu_backward(c->ex, G(c, 0), c->r, c->out, c->n_out); }

static void test_relu_and_add(void) {
    fd_case c = {.name = "relu (|x| >= 0.1)", .forward = relu_fwd, .backward = relu_bwd, .h = 1e-2};
    c.ex = exec_with(2, (mtn_needs){0, 0, 0, 0});
    add_var(&c, "in", rand_away_from_zero(300, 51, 0.1f), 300);
    set_output(&c, 300, 52);
    fd_check(&c);

    /* in place, NaN kept, and the residual sum */
    mtn_exec *ex = exec_with(2, (mtn_needs){0, 0, 0, 0});
    float v[4] = {-1.5f, 0.0f, 2.5f, NAN}, a[3] = {1, 2, 3}, b[3] = {0.5f, -2, 4}, s[3];
    mtn_relu_forward(ex, v, v, 4);
    CU_ASSERT(v[0] == 0.0f && v[1] == 0.0f && v[2] == 2.5f && isnan(v[3]));
    mtn_add_forward(ex, s, a, b, 3);
    CU_ASSERT(s[0] == 1.5f && s[1] == 0.0f && s[2] == 7.0f);
    mtn_exec_free(ex);
}

static void dropout_fwd(fd_case *c) { mtn_dropout_forward(c->ex, c->out, c->mask, X(c, 0), c->p, 99, 7, c->n_out); }
static void dropout_bwd(fd_case *c) { mtn_dropout_backward(c->ex, G(c, 0), c->r, c->mask, c->p, c->n_out); }

static void test_dropout(void) {
    fd_case c = {.name = "dropout p = 0.4", .forward = dropout_fwd, .backward = dropout_bwd, .h = 0.25, .p = 0.4f};
    c.ex = exec_with(2, (mtn_needs){0, 0, 0, 0});
    c.mask = malloc(301);
    add_var(&c, "in", rand_floats(301, 61, -1, 1), 301);
    set_output(&c, 301, 62);
    fd_check(&c);

    enum { N = 200003 };
    mtn_exec *ex = exec_with(3, (mtn_needs){0, 0, 0, 0});
    float *x = rand_floats(N, 63, -1, 1), *y = malloc(sizeof(float) * N), *dx = calloc(N, sizeof(float));
    float *y2 = malloc(sizeof(float) * N), p = 0.3f, scale = 1.0f / (1.0f - p);
    uint8_t *mask = malloc(N), *mask2 = malloc(N);
    uint64_t seed = 1234, counter = 1000;
    mtn_dropout_forward(ex, y, mask, x, p, seed, counter, N);
    /* the mask: word i % 4 of Philox block counter + i / 4; kept fraction ~ 1 - p */
    int64_t kept = 0;
    int bad = 0;
    for (int64_t i = 0; i < N; i++) {
        uint64_t block = counter + (uint64_t)i / 4;
        uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), MTN_STREAM_DROPOUT, 0}, key[2] = {(uint32_t)seed, 0},
                 w[4];
        if (i % 997 == 0 || i > N - 8) { /* a spread of elements against the block function */
            mtn_philox4x32(ctr, key, w);
            bad += mask[i] != ((float)(w[i % 4] >> 8) * 0x1.0p-24f >= p);
        }
        bad += mask[i] > 1;
        bad += y[i] != (mask[i] ? x[i] * scale : 0.0f);
        kept += mask[i];
    }
    CU_ASSERT_EQUAL(bad, 0);
    double frac = (double)kept / N, sigma = sqrt(p * (1 - p) / N);
    printf("\n    dropout p = 0.3: kept %.4f (expected 0.7, 4 sigma = %.4f)", frac, 4 * sigma);
    CU_ASSERT(fabs(frac - 0.7) < 4 * sigma);
    /* a pure function of the index: elements [4k, N) drawn alone from counter + k */
    int64_t k = 12345;
    mtn_dropout_forward(ex, y2, mask2, x + 4 * k, p, seed, counter + (uint64_t)k, N - 4 * k);
    CU_ASSERT(same_bits(mask2, mask + 4 * k, (size_t)(N - 4 * k)));
    CU_ASSERT(mtn_dropout_blocks(N) == (N + 3) / 4);
    /* backward is the mask times the scale */
    mtn_dropout_backward(ex, dx, y, mask, p, N);
    bad = 0;
    for (int64_t i = 0; i < N; i++) bad += dx[i] != (mask[i] ? y[i] * scale : 0.0f);
    CU_ASSERT_EQUAL(bad, 0);
    /* p = 0 is the identity, p = 1 drops everything */
    mtn_dropout_forward(ex, y, mask, x, 0.0f, seed, counter, N);
    CU_ASSERT(same_bits(y, x, sizeof(float) * N));
    bad = 0;
    for (int64_t i = 0; i < N; i++) bad += mask[i] != 1;
    mtn_dropout_forward(ex, y, mask, x, 1.0f, seed, counter, N);
    for (int64_t i = 0; i < N; i++) bad += y[i] != 0.0f || mask[i] != 0;
    CU_ASSERT_EQUAL(bad, 0);
    free(x);
    free(y);
    free(y2);
    free(dx);
    free(mask);
    free(mask2);
    mtn_exec_free(ex);
}

static void maxpool_fwd(fd_case *c) { mtn_maxpool_forward(c->ex, c->out, c->argmax, X(c, 0), &c->mp, c->dims); }
static void maxpool_bwd(fd_case *c) { mtn_maxpool_backward(c->ex, G(c, 0), c->r, c->argmax, &c->mp, c->dims); }

static void check_maxpool(const char *name, mtn_maxpool mp, mtn_dims in) {
    fd_case c = {.name = name, .forward = maxpool_fwd, .backward = maxpool_bwd, .h = 1e-2, .mp = mp, .dims = in};
    c.ex = exec_with(2, (mtn_needs){0, 0, 0, 0});
    int64_t n_out = mtn_dims_numel(mtn_maxpool_out_dims(&mp, in));
    c.argmax = malloc(sizeof(int32_t) * (size_t)n_out);
    add_var(&c, "in", rand_distinct(mtn_dims_numel(in), 71), mtn_dims_numel(in));
    set_output(&c, n_out, 72);
    fd_check(&c);
}

static void avgpool_fwd(fd_case *c) { mtn_avgpool_forward(c->ex, c->out, X(c, 0), c->dims); }
static void avgpool_bwd(fd_case *c) { mtn_avgpool_backward(c->ex, G(c, 0), c->r, c->dims); }

static void test_pooling(void) {
    check_maxpool("maxpool2d 2x2 (odd sizes)", (mtn_maxpool){{1, 2, 2}}, (mtn_dims){2, 3, 1, 5, 7});
    check_maxpool("maxpool3d 2x2x2", (mtn_maxpool){{2, 2, 2}}, (mtn_dims){2, 2, 4, 4, 5});
    mtn_dims o = mtn_maxpool_out_dims(&(mtn_maxpool){{2, 2, 2}}, (mtn_dims){1, 1, 5, 7, 9});
    CU_ASSERT(o.d == 2 && o.h == 3 && o.w == 4);

    /* argmax: the flat index within the plane, the first maximum on ties */
    mtn_exec *ex = exec_with(1, (mtn_needs){0, 0, 0, 0});
    float x[8] = {1, 3, 3, 0, /* row 2 */ 2, 3, -1, 5}, y[2];
    int32_t arg[2];
    mtn_maxpool_forward(ex, y, arg, x, &(mtn_maxpool){{1, 2, 2}}, (mtn_dims){1, 1, 1, 2, 4});
    CU_ASSERT(y[0] == 3 && arg[0] == 1 && y[1] == 5 && arg[1] == 7);
    mtn_exec_free(ex);

    fd_case c = {.name = "avgpool to 1 (3d)", .forward = avgpool_fwd, .backward = avgpool_bwd, .h = 0.25,
                 .dims = {3, 4, 2, 3, 5}};
    c.ex = exec_with(2, (mtn_needs){0, 0, 0, 0});
    add_var(&c, "in", rand_floats(mtn_dims_numel(c.dims), 73, -1, 1), mtn_dims_numel(c.dims));
    set_output(&c, 12, 74);
    fd_check(&c);
}

static void linear_fwd(fd_case *c) { mtn_linear_forward(c->ex, c->out, X(c, 0), X(c, 1), X(c, 2), &c->lin, c->n, c->micro); }
static void linear_bwd(fd_case *c) {
    mtn_linear_backward(c->ex, G(c, 0), G(c, 1), G(c, 2), c->r, X(c, 0), X(c, 1), &c->lin, c->n, c->micro);
}

static void check_linear(const char *name, mtn_linear l, int n, int micro, bool bias) {
    fd_case c = {.name = name, .forward = linear_fwd, .backward = linear_bwd, .h = 0.25, .lin = l, .n = n,
                 .micro = micro};
    c.ex = exec_with(2, mtn_linear_needs(&l, n, micro));
    add_var(&c, "in", rand_floats((int64_t)n * l.in_f, 81, -1, 1), (int64_t)n * l.in_f);
    add_var(&c, "w", rand_floats((int64_t)l.out_f * l.in_f, 82, -0.5f, 0.5f), (int64_t)l.out_f * l.in_f);
    if (bias) add_var(&c, "b", rand_floats(l.out_f, 83, -0.5f, 0.5f), l.out_f);
    set_output(&c, (int64_t)n * l.out_f, 84);
    fd_check(&c);
}

static void test_linear_gradients(void) {
    check_linear("linear 7 -> 5 +bias", (mtn_linear){7, 5}, 6, 2, true);
    check_linear("linear 9 -> 4", (mtn_linear){9, 4}, 4, 4, false);
}

static void concat_fwd(fd_case *c) { mtn_concat_forward(c->ex, c->out, X(c, 0), X(c, 1), c->n, c->ca, c->cb, c->spatial); }
static void concat_bwd(fd_case *c) { mtn_concat_backward(c->ex, G(c, 0), G(c, 1), c->r, c->n, c->ca, c->cb, c->spatial); }

static void test_concat(void) {
    fd_case c = {.name = "concat (2, 3 + 2, 7)", .forward = concat_fwd, .backward = concat_bwd, .h = 0.25, .n = 2,
                 .ca = 3, .cb = 2, .spatial = 7};
    c.ex = exec_with(2, (mtn_needs){0, 0, 0, 0});
    add_var(&c, "a", rand_floats(42, 91, -1, 1), 42);
    add_var(&c, "b", rand_floats(28, 92, -1, 1), 28);
    set_output(&c, 70, 93);
    fd_check(&c);

    /* the layout, and a NULL gradient */
    mtn_exec *ex = exec_with(2, (mtn_needs){0, 0, 0, 0});
    float a[4] = {1, 2, 3, 4}, b[2] = {5, 6}, y[6], da[4] = {0}, dy[6] = {1, 2, 3, 4, 5, 6};
    mtn_concat_forward(ex, y, a, b, 2, 2, 1, 1); /* a (2, 2, 1), b (2, 1, 1) */
    const float want[6] = {1, 2, 5, 3, 4, 6};
    CU_ASSERT(same_bits(y, want, sizeof want));
    mtn_concat_backward(ex, da, NULL, dy, 2, 2, 1, 1);
    CU_ASSERT(da[0] == 1 && da[1] == 2 && da[2] == 4 && da[3] == 5);
    mtn_exec_free(ex);
}

/* ----------------------------------------------------------------- losses --- */

static void xent_fwd(fd_case *c) {
    c->value = mtn_xent_forward_backward(c->ex, NULL, X(c, 0), c->target, c->n, c->k, c->spatial, c->micro);
}
static void xent_bwd(fd_case *c) {
    mtn_xent_forward_backward(c->ex, G(c, 0), X(c, 0), c->target, c->n, c->k, c->spatial, c->micro);
}
static void xent_soft_fwd(fd_case *c) {
    c->value = mtn_xent_soft_forward_backward(c->ex, NULL, X(c, 0), c->aux, c->n, c->k, c->micro);
}
static void xent_soft_bwd(fd_case *c) { mtn_xent_soft_forward_backward(c->ex, G(c, 0), X(c, 0), c->aux, c->n, c->k, c->micro); }
static void cosine_fwd(fd_case *c) {
    c->value = mtn_cosine_loss_forward_backward(c->ex, NULL, X(c, 0), c->aux, c->n, c->k, c->micro);
}
static void cosine_bwd(fd_case *c) { mtn_cosine_loss_forward_backward(c->ex, G(c, 0), X(c, 0), c->aux, c->n, c->k, c->micro); }

static int32_t *rand_targets(int64_t n, int k, uint64_t seed) {
    int32_t *t = malloc(sizeof(int32_t) * (size_t)n);
    mtn_rng r;
    mtn_rng_init(&r, seed, MTN_STREAM_SHUFFLE, 0);
    for (int64_t i = 0; i < n; i++) t[i] = (int32_t)mtn_rng_below(&r, (uint32_t)k);
    return t;
}

static void check_xent(const char *name, int n, int k, int64_t spatial, int micro) {
    fd_case c = {.name = name, .forward = xent_fwd, .backward = xent_bwd, .is_loss = true, .h = 3e-2, .n = n, .k = k,
                 .spatial = spatial, .micro = micro};
    c.ex = exec_with(2, mtn_loss_needs());
    c.target = rand_targets(n * spatial, k, 101);
    add_var(&c, "logits", rand_floats(n * k * spatial, 102, -3, 3), n * k * spatial);
    fd_check(&c);
}

/* Probability rows, or (normalise false) rows of any positive sum: PyTorch's soft
 * cross-entropy takes both, the gradient being softmax x sum(t) - t. */
static void check_xent_soft(const char *name, bool normalise) {
    fd_case s = {.name = name, .forward = xent_soft_fwd, .backward = xent_soft_bwd, .is_loss = true, .h = 3e-2,
                 .n = 4, .k = 3, .micro = 2};
    s.ex = exec_with(2, mtn_loss_needs());
    s.aux = rand_floats(12, 111, 0, 1);
    for (int i = 0; i < 4 && normalise; i++) {
        float sum = s.aux[3 * i] + s.aux[3 * i + 1] + s.aux[3 * i + 2];
        for (int j = 0; j < 3; j++) s.aux[3 * i + j] /= sum;
    }
    add_var(&s, "logits", rand_floats(12, 112, -3, 3), 12);
    fd_check(&s);
}

static void test_losses(void) {
    check_xent("cross-entropy per image (6, 5)", 6, 5, 1, 2);
    check_xent("cross-entropy per pixel (2, 4, 3x5)", 2, 4, 15, 1);

    check_xent_soft("soft cross-entropy (4, 3)", true);
    check_xent_soft("soft cross-entropy, rows not summing to 1", false);

    fd_case cs = {.name = "BYOL cosine loss (6, 5)", .forward = cosine_fwd, .backward = cosine_bwd, .is_loss = true,
                  .h = 3e-2, .n = 6, .k = 5, .micro = 3};
    cs.ex = exec_with(2, mtn_loss_needs());
    cs.aux = rand_floats(30, 121, -1, 1);
    add_var(&cs, "p", rand_floats(30, 122, -1, 1), 30);
    fd_check(&cs);

    /* known values: uniform logits give log K; a large shift is stable (log-sum-exp);
     * one-hot soft targets match hard ones; cos = 1 gives 0, cos = -1 gives 4 */
    mtn_exec *ex = exec_with(2, mtn_loss_needs());
    float logits[8] = {1000, 1000, 1000, 1000, 0, 0, 0, 0}, d[8];
    int32_t t[2] = {2, 0};
    double l = mtn_xent_forward_backward(ex, d, logits, t, 2, 4, 1, 1);
    CU_ASSERT(fabs(l - log(4.0)) < 1e-6);
    CU_ASSERT(fabsf(d[2] - (0.25f - 1.0f) / 2) < 1e-7f && fabsf(d[1] - 0.125f) < 1e-7f);
    float x[6] = {0.3f, -1.2f, 2.0f, 1.0f, 0.5f, -0.5f}, onehot[6] = {0, 0, 1, 1, 0, 0}, dh[6], ds[6];
    int32_t th[2] = {2, 0};
    double lh = mtn_xent_forward_backward(ex, dh, x, th, 2, 3, 1, 0);
    double ls = mtn_xent_soft_forward_backward(ex, ds, x, onehot, 2, 3, 0);
    CU_ASSERT(fabs(lh - ls) < 1e-6);
    for (int i = 0; i < 6; i++) CU_ASSERT(fabsf(dh[i] - ds[i]) < 1e-7f);
    double ref = 0.0; /* the hand computation */
    for (int i = 0; i < 2; i++) {
        double se = 0.0;
        for (int j = 0; j < 3; j++) se += exp(x[3 * i + j]);
        ref += log(se) - x[3 * i + th[i]];
    }
    CU_ASSERT(fabs(lh - ref / 2) < 1e-6);
    float p[6] = {1, 2, 3, -1, 0, 2}, z[6] = {2, 4, 6, 1, 0, -2};
    CU_ASSERT(fabs(mtn_cosine_loss_forward_backward(ex, NULL, p, z, 2, 3, 1) - (0.0 + 4.0) / 2) < 1e-6);
    mtn_exec_free(ex);
}

/* The schedules at points where their value is known exactly, and with the numbers of
 * MTNeuro's BYOL (reference-implementation.md: max_lr 9.375e-4, 1340 warm-up steps,
 * 107200 in all, EMA base 0.996): linear warm-up from 0, cosine decay to 0, constant
 * when there is neither; the EMA momentum rising from its base to 1. */
static void test_schedules(void) {
    const double lr = 9.375e-4;
    const int64_t warm = 1340, total = 107200, mid = warm + (total - warm) / 2;
    CU_ASSERT(mtn_lr_warmup_cosine(lr, 0, warm, total) == 0.0);
    CU_ASSERT(fabs(mtn_lr_warmup_cosine(lr, warm / 2, warm, total) - lr / 2) < 1e-15);
    CU_ASSERT(fabs(mtn_lr_warmup_cosine(lr, warm, warm, total) - lr) < 1e-15);
    CU_ASSERT(fabs(mtn_lr_warmup_cosine(lr, mid, warm, total) - lr / 2) < 1e-15);
    CU_ASSERT(fabs(mtn_lr_warmup_cosine(lr, total, warm, total)) < 1e-15);
    CU_ASSERT(fabs(mtn_lr_warmup_cosine(lr, total + 500, warm, total)) < 1e-15); /* stays at 0 */
    /* a quarter of the way through the decay: (1 + cos(pi / 4)) / 2 */
    int64_t quarter = warm + (total - warm) / 4;
    CU_ASSERT(fabs(mtn_lr_warmup_cosine(lr, quarter, warm, total) - lr * (1 + sqrt(0.5)) / 2) < 1e-15);
    double prev = 1.0;
    int rising = 1, falling = 1;
    for (int64_t st = 0; st <= total; st += 67) {
        double v = mtn_lr_warmup_cosine(lr, st, warm, total);
        if (st > 0 && st <= warm && !(v > prev)) rising = 0;
        if (st > warm && !(v <= prev)) falling = 0;
        prev = v;
    }
    CU_ASSERT(rising && falling);
    /* constant: no warm-up, no decay */
    for (int64_t st = 0; st < 1000; st += 333) CU_ASSERT(mtn_lr_warmup_cosine(0.01, st, 0, 0) == 0.01);
    /* EMA momentum: 0.996 at 0, (1 + 0.996) / 2 half-way, 1 at the end and after */
    CU_ASSERT(fabs(mtn_ema_momentum(0.996, 0, total) - 0.996) < 1e-15);
    CU_ASSERT(fabs(mtn_ema_momentum(0.996, total / 2, total) - 0.998) < 1e-15);
    CU_ASSERT(fabs(mtn_ema_momentum(0.996, total, total) - 1.0) < 1e-15);
    CU_ASSERT(fabs(mtn_ema_momentum(0.996, total + 1, total) - 1.0) < 1e-15);
    CU_ASSERT(fabs(mtn_ema_momentum(0.996, total / 4, total) - (1 - 0.004 * (1 + sqrt(0.5)) / 2)) < 1e-15);
}

static void test_mixup(void) {
    enum { N = 4, S = 6, K = 3 };
    float *x = rand_floats(N * S, 131, -1, 1), out[N * S], soft[N * K], lambda = 0.3f;
    int32_t target[N] = {0, 2, 1, 2};
    uint32_t perm[N] = {2, 0, 3, 1};
    mtn_mixup(out, soft, x, target, perm, lambda, N, S, K);
    float mu = (float)(1.0 - (double)lambda);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < S; j++) bad += out[i * S + j] != lambda * x[i * S + j] + mu * x[(int)perm[i] * S + j];
        float want[K] = {0, 0, 0};
        want[target[i]] += lambda;
        want[target[perm[i]]] += mu;
        bad += !same_bits(soft + i * K, want, sizeof want);
        bad += fabsf(soft[i * K] + soft[i * K + 1] + soft[i * K + 2] - 1.0f) > 1e-6f;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(soft[3 * K + 2] == lambda + mu); /* sample 3 mixed with 1: both class 2 */
    free(x);
}

/* ------------------------------------------------------------ determinism --- */

/* Bytes of every result of a run, to compare runs bit for bit. */
typedef struct {
    unsigned char *p;
    size_t n, cap;
} record;

static void rec_add(record *r, const void *data, size_t bytes) {
    if (r->n + bytes > r->cap) {
        r->cap = 2 * (r->n + bytes);
        r->p = realloc(r->p, r->cap);
    }
    memcpy(r->p + r->n, data, bytes);
    r->n += bytes;
}
#define REC(r, ptr, count) rec_add((r), (ptr), sizeof *(ptr) * (size_t)(count))

/* Every layer on shapes big enough for several column chunks, channel groups and
 * element chunks, recording all outputs and gradients. */
static void run_every_layer(mtn_exec *ex, record *rec) {
    uint64_t seed = 1000;
    /* conv and convT, 2D and 3D: forward, then all gradients */
    struct {
        bool transposed;
        mtn_conv cv;
        mtn_convt ct;
        mtn_dims in;
    } wl[] = {
        {false, {3, 4, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}}, {0}, {2, 3, 1, 128, 128}},
        {false, {3, 4, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}}, {0}, {2, 3, 1, 128, 128}},
        {false, {8, 4, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}}, {0}, {2, 8, 1, 128, 128}}, /* shifted dW, 4 bands */
        {false, {64, 64, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}}, {0}, {1, 64, 1, 64, 64}}, /* Winograd, dW in 2 chunks */
        {false, {2, 2, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}}, {0}, {1, 2, 32, 32, 32}},
        {true, {0}, {4, 2, {1, 2, 2}}, {2, 4, 1, 128, 128}},
        {true, {0}, {2, 2, {2, 2, 2}}, {1, 2, 32, 32, 32}},
    };
    for (size_t l = 0; l < sizeof wl / sizeof wl[0]; l++) {
        mtn_dims in = wl[l].in, o = wl[l].transposed ? mtn_convt_out_dims(&wl[l].ct, in) : mtn_conv_out_dims(&wl[l].cv, in);
        int cout = o.c;
        int64_t nw = wl[l].transposed ? (int64_t)in.c * cout * wl[l].ct.k[0] * wl[l].ct.k[1] * wl[l].ct.k[2]
                                      : (int64_t)in.c * cout * wl[l].cv.k[0] * wl[l].cv.k[1] * wl[l].cv.k[2];
        CU_ASSERT_FATAL(mtn_exec_reserve(ex, wl[l].transposed ? mtn_convt_needs(&wl[l].ct, in, 1)
                                                               : mtn_conv_needs(&wl[l].cv, in, 1)) == MTN_OK);
        float *x = rand_floats(mtn_dims_numel(in), seed++, -1, 1), *w = rand_floats(nw, seed++, -1, 1);
        float *b = rand_floats(cout, seed++, -1, 1), *y = malloc(sizeof(float) * (size_t)mtn_dims_numel(o));
        float *dy = rand_floats(mtn_dims_numel(o), seed++, -1, 1), *dx = calloc((size_t)mtn_dims_numel(in), 4);
        float *dw = calloc((size_t)nw, 4), *db = calloc((size_t)cout, 4);
        if (wl[l].transposed) {
            mtn_convt_forward(ex, y, x, w, b, &wl[l].ct, in, 1);
            mtn_convt_backward(ex, dx, dw, db, dy, x, w, &wl[l].ct, in, 1);
        } else {
            mtn_conv_forward(ex, y, x, w, b, &wl[l].cv, in, 1);
            mtn_conv_backward(ex, dx, dw, db, dy, x, w, &wl[l].cv, in, 1);
        }
        REC(rec, y, mtn_dims_numel(o));
        REC(rec, dx, mtn_dims_numel(in));
        REC(rec, dw, nw);
        REC(rec, db, cout);
        free(x), free(w), free(b), free(y), free(dy), free(dx), free(dw), free(db);
    }
    /* BatchNorm 2d and 3d: train forward, backward, eval forward */
    mtn_dims bdims[2] = {{4, 4, 1, 256, 256}, {1, 4, 32, 32, 32}}; /* the first: 2 channel groups */
    int bmicro[2] = {2, 1};
    for (int l = 0; l < 2; l++) {
        mtn_dims in = bdims[l];
        int micro = bmicro[l];
        int64_t n = mtn_dims_numel(in);
        mtn_bn bn = {.c = in.c, .eps = 1e-5f, .momentum = 0.1f};
        CU_ASSERT_FATAL(mtn_exec_reserve(ex, mtn_bn_needs(&bn, in, micro)) == MTN_OK);
        float *x = rand_floats(n, seed++, -1, 3), *dy = rand_floats(n, seed++, -1, 1), *y = malloc(4 * (size_t)n);
        float *dx = calloc((size_t)n, 4), *g = rand_floats(in.c, seed++, 0.5f, 1.5f), *b = rand_floats(in.c, seed++, -1, 1);
        float *save = malloc(8 * (size_t)in.c), *rm = calloc((size_t)in.c, 4), *rv = calloc((size_t)in.c, 4);
        float *dg = calloc((size_t)in.c, 4), *dbeta = calloc((size_t)in.c, 4);
        mtn_bn_forward_train(ex, y, save, rm, rv, x, g, b, &bn, in, micro);
        REC(rec, y, n);
        REC(rec, save, 2 * in.c);
        REC(rec, rm, in.c);
        REC(rec, rv, in.c);
        mtn_bn_backward(ex, dx, dg, dbeta, dy, x, save, g, &bn, in, micro);
        REC(rec, dx, n);
        REC(rec, dg, in.c);
        REC(rec, dbeta, in.c);
        mtn_bn_forward_eval(ex, y, x, g, b, rm, rv, &bn, in);
        REC(rec, y, n);
        free(x), free(dy), free(y), free(dx), free(g), free(b), free(save), free(rm), free(rv), free(dg), free(dbeta);
    }
    /* element-wise layers, concat and pooling on (2, 8, 128, 128) */
    {
        mtn_dims in = {2, 8, 1, 128, 128};
        int64_t n = mtn_dims_numel(in);
        float *x = rand_floats(n, seed++, -1, 1), *x2 = rand_floats(n, seed++, -1, 1), *dy = rand_floats(2 * n, seed++, -1, 1);
        float *y = malloc(8 * (size_t)n), *dx = calloc((size_t)n, 4), *dx2 = calloc((size_t)n, 4);
        uint8_t *mask = malloc((size_t)n);
        mtn_relu_forward(ex, y, x, n);
        mtn_relu_backward(ex, dx, dy, y, n);
        REC(rec, y, n);
        mtn_add_forward(ex, y, x, x2, n);
        REC(rec, y, n);
        mtn_dropout_forward(ex, y, mask, x, 0.2f, 5, 77, n);
        mtn_dropout_backward(ex, dx, dy, mask, 0.2f, n);
        REC(rec, y, n);
        REC(rec, mask, n);
        mtn_concat_forward(ex, y, x, x2, 2, 8, 8, 128 * 128);
        mtn_concat_backward(ex, dx, dx2, dy, 2, 8, 8, 128 * 128);
        REC(rec, y, 2 * n);
        int32_t *arg = malloc(sizeof(int32_t) * (size_t)n);
        mtn_maxpool mp2 = {{1, 2, 2}}, mp3 = {{2, 2, 2}};
        mtn_maxpool_forward(ex, y, arg, x, &mp2, in);
        mtn_maxpool_backward(ex, dx, dy, arg, &mp2, in);
        REC(rec, y, n / 4);
        REC(rec, arg, n / 4);
        mtn_dims in3 = {2, 2, 32, 32, 32};
        mtn_maxpool_forward(ex, y, arg, x, &mp3, in3);
        mtn_maxpool_backward(ex, dx2, dy, arg, &mp3, in3);
        REC(rec, y, mtn_dims_numel(mtn_maxpool_out_dims(&mp3, in3)));
        mtn_avgpool_forward(ex, y, x, in);
        mtn_avgpool_backward(ex, dx, dy, in);
        REC(rec, y, 16);
        REC(rec, dx, n);
        REC(rec, dx2, n);
        /* per-pixel cross-entropy over (2, 4, 128 x 256): logits from x */
        int32_t *t = rand_targets(2 * 128 * 256, 4, seed++);
        double loss = mtn_xent_forward_backward(ex, y, x, t, 2, 4, 128 * 256, 1);
        REC(rec, &loss, 1);
        REC(rec, y, n);
        free(x), free(x2), free(dy), free(y), free(dx), free(dx2), free(mask), free(arg), free(t);
    }
    /* linear, soft cross-entropy and cosine loss on (64, 96) */
    {
        mtn_linear lin = {96, 40};
        CU_ASSERT_FATAL(mtn_exec_reserve(ex, mtn_needs_max(mtn_linear_needs(&lin, 64, 8), mtn_loss_needs())) == MTN_OK);
        float *x = rand_floats(64 * 96, seed++, -1, 1), *w = rand_floats(40 * 96, seed++, -1, 1);
        float *b = rand_floats(40, seed++, -1, 1), *y = malloc(4 * 64 * 96), *dy = rand_floats(64 * 40, seed++, -1, 1);
        float *dx = calloc(64 * 96, 4), *dw = calloc(40 * 96, 4), *db = calloc(40, 4), *z = rand_floats(64 * 96, seed++, -1, 1);
        mtn_linear_forward(ex, y, x, w, b, &lin, 64, 8);
        REC(rec, y, 64 * 40);
        mtn_linear_backward(ex, dx, dw, db, dy, x, w, &lin, 64, 8);
        REC(rec, dx, 64 * 96);
        REC(rec, dw, 40 * 96);
        REC(rec, db, 40);
        for (int i = 0; i < 64 * 40; i++) dy[i] = fabsf(dy[i]); /* as soft targets: normalised below */
        for (int i = 0; i < 64; i++) {
            float s = 0;
            for (int j = 0; j < 40; j++) s += dy[i * 40 + j];
            for (int j = 0; j < 40; j++) dy[i * 40 + j] /= s;
        }
        double loss = mtn_xent_soft_forward_backward(ex, y, x, dy, 64, 40, 8);
        REC(rec, &loss, 1);
        REC(rec, y, 64 * 40);
        loss = mtn_cosine_loss_forward_backward(ex, y, x, z, 64, 96, 8);
        REC(rec, &loss, 1);
        REC(rec, y, 64 * 96);
        free(x), free(w), free(b), free(y), free(dy), free(dx), free(dw), free(db), free(z);
    }
}

static void test_same_bits_any_threads(void) {
    record rec[3] = {{0}};
    for (int t = 1; t <= 3; t++) {
        mtn_exec *ex = exec_with(t, (mtn_needs){0, 0, 0, 0});
        run_every_layer(ex, &rec[t - 1]);
        mtn_exec_free(ex);
    }
    printf("\n    %zu bytes of results compared", rec[0].n);
    for (int t = 1; t < 3; t++) {
        CU_ASSERT_EQUAL(rec[t].n, rec[0].n);
        CU_ASSERT(rec[t].n == rec[0].n && same_bits(rec[t].p, rec[0].p, rec[0].n));
    }
    for (int t = 0; t < 3; t++) free(rec[t].p);
}

/* A layer with weights, as two ranks would run it on halves of the batch. */
typedef struct {
    const char *name;
    int kind; /* 0 conv, 1 convT, 2 linear */
    mtn_conv cv;
    mtn_convt ct;
    mtn_linear lin;
    mtn_dims in; /* per-sample shape in c, d, h, w; n = the whole batch */
    int micro;
} wlayer;

static mtn_dims with_n(mtn_dims d, int n) {
    d.n = n;
    return d;
}

static void wl_sizes(const wlayer *l, int64_t *in_per, int64_t *out_per, int64_t *nw, int64_t *nb) {
    mtn_dims one = with_n(l->in, 1);
    *in_per = mtn_dims_numel(one);
    if (l->kind == 0) {
        *out_per = mtn_dims_numel(mtn_conv_out_dims(&l->cv, one));
        *nw = (int64_t)l->cv.cout * l->cv.cin * l->cv.k[0] * l->cv.k[1] * l->cv.k[2];
        *nb = l->cv.cout;
    } else if (l->kind == 1) {
        *out_per = mtn_dims_numel(mtn_convt_out_dims(&l->ct, one));
        *nw = (int64_t)l->ct.cout * l->ct.cin * l->ct.k[0] * l->ct.k[1] * l->ct.k[2];
        *nb = l->ct.cout;
    } else {
        *in_per = l->lin.in_f;
        *out_per = l->lin.out_f;
        *nw = (int64_t)l->lin.out_f * l->lin.in_f;
        *nb = l->lin.out_f;
    }
}

static void wl_run(const wlayer *l, mtn_exec *ex, int n, float *y, float *dx, float *dw, float *db, const float *x,
                   const float *w, const float *b, const float *dy) {
    mtn_dims in = with_n(l->in, n);
    if (l->kind == 0) {
        mtn_conv_forward(ex, y, x, w, b, &l->cv, in, l->micro);
        mtn_conv_backward(ex, dx, dw, db, dy, x, w, &l->cv, in, l->micro);
    } else if (l->kind == 1) {
        mtn_convt_forward(ex, y, x, w, b, &l->ct, in, l->micro);
        mtn_convt_backward(ex, dx, dw, db, dy, x, w, &l->ct, in, l->micro);
    } else {
        mtn_linear_forward(ex, y, x, w, b, &l->lin, n, l->micro);
        mtn_linear_backward(ex, dx, dw, db, dy, x, w, &l->lin, n, l->micro);
    }
}

static void test_halves_combine(void) {
    const wlayer layers[] = {
        {"conv2d", 0, {3, 4, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}}, {0}, {0}, {4, 3, 1, 128, 128}, 1},
        {"conv2d shifted dW", 0, {8, 4, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}}, {0}, {0}, {4, 8, 1, 128, 128}, 1},
        {"conv2d Winograd", 0, {64, 64, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}}, {0}, {0}, {2, 64, 1, 24, 24}, 1},
        {"conv3d Winograd", 0, {16, 16, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}}, {0}, {0}, {2, 16, 8, 32, 32}, 1},
        {"conv3d 1 deep", 0, {64, 64, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}}, {0}, {0}, {2, 64, 1, 4, 4}, 1},
        {"conv3d first", 0, {1, 32, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}}, {0}, {0}, {2, 1, 8, 32, 32}, 1},
        {"convT2d", 1, {0}, {4, 2, {1, 2, 2}}, {0}, {4, 4, 1, 128, 128}, 1},
        {"convT3d", 1, {0}, {2, 3, {2, 2, 2}}, {0}, {4, 2, 16, 16, 16}, 2},
        {"linear", 2, {0}, {0}, {96, 40}, {32, 96, 1, 1, 1}, 4},
    };
    mtn_exec *ex = exec_with(2, (mtn_needs){0, 0, 0, 0});
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        const wlayer *l = &layers[i];
        int n = l->in.n, h = n / 2;
        mtn_needs needs = l->kind == 0   ? mtn_conv_needs(&l->cv, l->in, l->micro)
                          : l->kind == 1 ? mtn_convt_needs(&l->ct, l->in, l->micro)
                                         : mtn_linear_needs(&l->lin, n, l->micro);
        CU_ASSERT_FATAL(mtn_exec_reserve(ex, needs) == MTN_OK);
        int64_t in_per, out_per, nw, nb;
        wl_sizes(l, &in_per, &out_per, &nw, &nb);
        float *x = rand_floats(n * in_per, 201, -1, 1), *w = rand_floats(nw, 202, -1, 1), *b = rand_floats(nb, 203, -1, 1);
        float *dy = rand_floats(n * out_per, 204, -1, 1);
        float *y = malloc(4 * (size_t)(n * out_per)), *dx = calloc((size_t)(n * in_per), 4);
        float *dw = calloc((size_t)nw, 4), *db = calloc((size_t)nb, 4);
        float *y2 = malloc(4 * (size_t)(n * out_per)), *dx2 = calloc((size_t)(n * in_per), 4);
        float *dwa = calloc((size_t)nw, 4), *dba = calloc((size_t)nb, 4), *dwb = calloc((size_t)nw, 4),
              *dbb = calloc((size_t)nb, 4);
        wl_run(l, ex, n, y, dx, dw, db, x, w, b, dy);
        wl_run(l, ex, h, y2, dx2, dwa, dba, x, w, b, dy);
        wl_run(l, ex, h, y2 + h * out_per, dx2 + h * in_per, dwb, dbb, x + h * in_per, w, b, dy + h * out_per);
        bool fwd = same_bits(y, y2, 4 * (size_t)(n * out_per)), din = same_bits(dx, dx2, 4 * (size_t)(n * in_per));
        int64_t wbad = 0;
        for (int64_t j = 0; j < nw; j++) wbad += dwa[j] + dwb[j] != dw[j];
        for (int64_t j = 0; j < nb; j++) wbad += dba[j] + dbb[j] != db[j];
        printf("\n    %-8s halves: forward %s, din %s, dw/db sums %s", l->name, fwd ? "same" : "DIFFER",
               din ? "same" : "DIFFER", wbad ? "DIFFER" : "same");
        CU_ASSERT(fwd && din && wbad == 0);
        free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db), free(y2), free(dx2);
        free(dwa), free(dba), free(dwb), free(dbb);
    }
    mtn_exec_free(ex);
}

/* A ReLU fused into a BatchNorm (relu_in: ReLU -> BN; relu_out: BN -> ReLU) gives
 * exactly the bits of the two separate layers, forward and backward. */
static void test_bn_fused_relu(void) {
    mtn_dims d = {4, 3, 1, 5, 6};
    int64_t n = mtn_dims_numel(d);
    int C = d.c;
    mtn_needs needs = {0, 0, 0, 0};
    mtn_bn plain = {.c = C, .eps = 1e-5f, .momentum = 0.1f};
    needs = mtn_needs_max(needs, mtn_bn_needs(&plain, d, 2));
    mtn_exec *ex = exec_with(2, needs);
    float *x = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n),
          *mid = malloc(sizeof(float) * (size_t)n), *dy = malloc(sizeof(float) * (size_t)n),
          *dmid = malloc(sizeof(float) * (size_t)n), *dxa = malloc(sizeof(float) * (size_t)n),
          *dxb = malloc(sizeof(float) * (size_t)n), *ya = malloc(sizeof(float) * (size_t)n),
          *yb = malloc(sizeof(float) * (size_t)n);
    float gamma[3] = {1.3f, -0.7f, 0.9f}, beta[3] = {0.2f, -0.1f, 0.05f};
    mtn_rng r;
    mtn_rng_init(&r, 7, 1, 0);
    for (int64_t i = 0; i < n; i++) {
        x[i] = (float)(mtn_rng_uniform(&r) * 4 - 2);
        dy[i] = (float)(mtn_rng_uniform(&r) * 2 - 1);
    }
    for (int mode = 0; mode < 2; mode++) {
        float rm[3] = {0}, rv[3] = {1, 1, 1}, rm2[3] = {0}, rv2[3] = {1, 1, 1}, save[12], save2[12];
        float dga[3] = {0}, dba[3] = {0}, dgb[3] = {0}, dbb[3] = {0};
        memset(dxa, 0, sizeof(float) * (size_t)n);
        memset(dxb, 0, sizeof(float) * (size_t)n);
        memset(dmid, 0, sizeof(float) * (size_t)n);
        mtn_bn fused = plain;
        if (mode == 0) { /* ReLU -> BN */
            fused.relu_in = true;
            mtn_relu_forward(ex, mid, x, n);
            mtn_bn_forward_train(ex, ya, save, rm, rv, mid, gamma, beta, &plain, d, 2);
            mtn_bn_backward(ex, dmid, dga, dba, dy, mid, save, gamma, &plain, d, 2);
            mtn_relu_backward(ex, dxa, dmid, mid, n);
        } else { /* BN -> ReLU */
            fused.relu_out = true;
            mtn_bn_forward_train(ex, mid, save, rm, rv, x, gamma, beta, &plain, d, 2);
            mtn_relu_forward(ex, ya, mid, n);
            mtn_relu_backward(ex, dmid, dy, ya, n);
            mtn_bn_backward(ex, dxa, dga, dba, dmid, x, save, gamma, &plain, d, 2);
        }
        mtn_bn_forward_train(ex, yb, save2, rm2, rv2, x, gamma, beta, &fused, d, 2);
        mtn_bn_backward(ex, dxb, dgb, dbb, dy, x, save2, gamma, &fused, d, 2);
        CU_ASSERT_EQUAL(memcmp(ya, yb, sizeof(float) * (size_t)n), 0);
        CU_ASSERT_EQUAL(memcmp(dxa, dxb, sizeof(float) * (size_t)n), 0);
        CU_ASSERT_EQUAL(memcmp(dga, dgb, sizeof dga), 0);
        CU_ASSERT_EQUAL(memcmp(dba, dbb, sizeof dba), 0);
        CU_ASSERT_EQUAL(memcmp(rm, rm2, sizeof rm), 0);
        CU_ASSERT_EQUAL(memcmp(rv, rv2, sizeof rv), 0);
        /* eval mode too */
        if (mode == 0) mtn_bn_forward_eval(ex, ya, mid, gamma, beta, rm, rv, &plain, d);
        else {
            mtn_bn_forward_eval(ex, mid, x, gamma, beta, rm, rv, &plain, d);
            mtn_relu_forward(ex, ya, mid, n);
        }
        mtn_bn_forward_eval(ex, yb, x, gamma, beta, rm, rv, &fused, d);
        CU_ASSERT_EQUAL(memcmp(ya, yb, sizeof(float) * (size_t)n), 0);
    }
    (void)y;
    free(x);
    free(y);
    free(mid);
    free(dy);
    free(dmid);
    free(dxa);
    free(dxb);
    free(ya);
    free(yb);
    mtn_exec_free(ex);
}

static const mtn_test_case gradient_tests[] = {
    {"conv2d / conv3d gradients (stride 1, 2; with and without bias)", test_conv_gradients},
    {"transposed convolution 2D / 3D gradients", test_convt_gradients},
    {"batch norm 1d / 2d / 3d training gradients", test_bn_gradients},
    {"relu gradient; in place; add", test_relu_and_add},
    {"max pooling 2D / 3D and average pooling", test_pooling},
    {"linear gradients", test_linear_gradients},
    {"concat gradients and layout", test_concat},
    {"cross-entropy (hard, soft) and cosine loss", test_losses},
    {NULL, NULL}};

static const mtn_test_case value_tests[] = {
    {"batch norm: batch statistics, running statistics, eval mode", test_bn_values},
    {"batch norm with a fused ReLU: the bits of the separate layers", test_bn_fused_relu},
    {"dropout: mask from Philox, statistics, p = 0 and 1, backward", test_dropout},
    {"mixup: samples and soft targets", test_mixup},
    {"schedules: warm-up + cosine, constant, EMA momentum", test_schedules},
    {NULL, NULL}};

static const mtn_test_case determinism_tests[] = {
    {"every layer: the same bits with 1, 2 and 3 threads", test_same_bits_any_threads},
    {"halves of a batch: same bits, weight gradients sum to the whole", test_halves_combine},
    {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {{"layer gradients", gradient_tests},
                                          {"layer values", value_tests},
                                          {"layer determinism", determinism_tests},
                                          {NULL, NULL}};
