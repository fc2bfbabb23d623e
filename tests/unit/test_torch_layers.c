/* test_torch_layers.c — every layer of mtn/nn.h against PyTorch. Reads the committed
 * fixtures of tests/ref/fixtures/ (written by tests/ref/make_fixtures.py with Debian's
 * python3-torch; format in tests/ref/README.md) with the HDF5 C API, runs our layer
 * with executors of 1 and 2 threads — and, for layers that take a micro-batch, with the
 * whole batch as one micro-batch and with micro-batches of one sample — and compares
 * outputs, losses, updated buffers and every gradient with PyTorch's. It also checks
 * that 1 and 2 threads give the same bits (design §4), and that every fixture on disk
 * is claimed by some check here, so a new fixture cannot go silently untested.
 *
 * Tolerances (float32 throughout; u = 2^-24 ~ 6e-8):
 *  - SUM: |ours - torch| <= 1e-6 + 1e-4 * max|torch| over the tensor, for everything
 *    that sums (convolutions, linear, batch norm, average pooling, losses, and their
 *    gradients). Both sides round each product and sum in float32 but in different
 *    orders (our im2col GEMM blocks and fixed trees vs MKL-DNN's direct kernels), so
 *    they may differ by up to about K u sum|terms| for a K-term sum — K <= 240 here,
 *    i.e. ~1.4e-5 relative in the worst case, ~1e-6 typically; torch's own float32
 *    result is ~1e-7 from float64 (make_fixtures.py prints it per case), ~2e-6 for the
 *    eps cases. 1e-4 leaves margin for other CPUs' kernels, yet every plausible bug
 *    (a missing term, a wrong index, biased vs unbiased variance: 1/119 of 0.1 =
 *    8e-4 of the running variance; eps outside the sqrt: 30% in the *_eps cases) is
 *    >= 5x above it. The 1e-6 floor only matters for tensors that are all near 0.
 *  - EXACT: bitwise equal for layers that only move, select or compare values (ReLU,
 *    max pool and its indices, concat, add, dropout with p = 0): there is one right
 *    float for each output.
 *  - ELEMENTWISE: <= 1e-6 * max|torch| for optimisers, EMA and mixup: a few float ops
 *    per element where torch's vectorised loops use fused multiply-adds and its scalar
 *    tails do not, so the last bit or two may differ; a wrong formula is off by
 *    ~lr * g ~ 1e-2 relative.
 *
 * Not compared: num_batches_tracked (a model counter, not a layer output), dropout
 * with p > 0 (torch's RNG is not ours), and whole-model fixtures (kind "model"),
 * which the model tests will read. Layers whose C implementation is not linked are
 * SKIPPED with a note on stderr (see the weak declarations below), never passed. */
#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "harness.h"
#include "mtn/nn.h"


/* A layer still being written can be declared weak here, e.g.
 *     #pragma weak mtn_maxpool_forward
 * The test then links without it and its fixtures are SKIPPED with a note (the
 * `probe` of each check below). Remove the line once the layer exists: a weak
 * reference does not pull an object file out of a static library, so the layer
 * could be reported as skipped while it is there. Today every layer exists. */

/* Kernel-like attribute with one value per spatial dim into k[3] (depth, height,
 * width), depth 1 for 2D. */
static void fx_triple(const fixture *fx, const char *name, int spatial_dims, int k[3]) {
    int64_t v[3];
    int n = fx_ints(fx, name, v, 3);
    CU_ASSERT_EQUAL_FATAL(n, spatial_dims);
    k[0] = 1;
    for (int i = 0; i < n; i++) k[3 - n + i] = (int)v[i];
}

/* ------------------------------------------------------------ comparison --- */

typedef struct {
    double atol, rtol;
} tolerance;

static const tolerance TOL_SUM = {1e-6, 1e-4};
static const tolerance TOL_EXACT = {0.0, 0.0};
static const tolerance TOL_ELEMENTWISE = {0.0, 1e-6};

/* One tensor a layer produced, to compare with the fixture's `ref`. */
typedef struct {
    const char *label; /* what the line says */
    const char *ref;   /* the fixture dataset */
    float *got;        /* malloc'd; owned by the results */
    int64_t n;
    tolerance tol;
} result;

enum { MAX_RESULTS = 12 };
typedef struct {
    int n;
    result r[MAX_RESULTS];
} results;

static float *add_result(results *rs, const char *label, const char *ref, int64_t n, tolerance tol) {
    CU_ASSERT_FATAL(rs->n < MAX_RESULTS);
    float *buf = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
    CU_ASSERT_FATAL(buf != NULL);
    rs->r[rs->n++] = (result){label, ref, buf, n, tol};
    return buf;
}

static void free_results(results *rs) {
    for (int i = 0; i < rs->n; i++) free(rs->r[i].got);
    rs->n = 0;
}

/* The worst error of one tensor over every configuration, for the summary line. */
typedef struct {
    double err, ref, tol;
} worst;

static bool compare(const fixture *fx, const char *config, const result *r, worst *w) {
    shape s;
    float *ref = fx_f32(fx, r->ref, &s);
    if (!ref) return false;
    bool ok = s.count == r->n;
    if (!ok) {
        fprintf(stderr, "\nFAIL %s %s [%s]: %lld values, PyTorch has %lld\n", fx->name, r->label, config,
                (long long)r->n, (long long)s.count);
    } else {
        double err = 0.0, mref = 0.0;
        int64_t at = 0;
        for (int64_t i = 0; i < r->n; i++) {
            double e = fabs((double)r->got[i] - (double)ref[i]);
            if (isnan(r->got[i]) != isnan(ref[i])) e = INFINITY;
            if (isnan(r->got[i]) && isnan(ref[i])) e = 0.0;
            if (e > err) err = e, at = i;
            if (fabs((double)ref[i]) > mref) mref = fabs((double)ref[i]);
        }
        double tol = r->tol.atol + r->tol.rtol * mref;
        ok = err <= tol;
        if (!ok)
            fprintf(stderr, "\nFAIL %s %s [%s]: max|err| %.3g > tol %.3g (max|ref| %.3g); at %lld: %.9g, PyTorch %.9g\n",
                    fx->name, r->label, config, err, tol, mref, (long long)at, (double)r->got[at], (double)ref[at]);
        if (err > w->err) w->err = err;
        w->ref = mref;
        w->tol = tol;
    }
    free(ref);
    return ok;
}

/* ------------------------------------------------------------ the layers --- */

/* A layer check: reads its inputs from the fixture, runs our layer on `ex` with
 * micro-batches of `micro` samples (0: the whole batch), and adds what it produced. */
typedef void (*layer_run)(const fixture *fx, mtn_exec *ex, int micro, results *rs);

static mtn_exec *executors[2]; /* 1 and 2 threads */

/* Whether a (possibly weak) function is linked; through a pointer parameter, so the
 * compiler does not call the test always true when the function is strong. */
static bool linked(void (*fn)(void)) { return fn != NULL; }

static void reserve(mtn_exec *ex, mtn_needs needs) { CU_ASSERT_EQUAL_FATAL(mtn_exec_reserve(ex, needs), 0); }

static int micro_of(int micro, int n) { return micro ? micro : n; }

static void run_conv(const fixture *fx, mtn_exec *ex, int micro, results *rs) {
    shape xs, ws;
    float *x = fx_f32(fx, "inputs/x", &xs), *w = fx_f32(fx, "params/weight", &ws);
    float *dy = fx_f32(fx, "upstream/dy", NULL);
    bool bias = fx_has(fx, "params/bias");
    float *b = bias ? fx_f32(fx, "params/bias", NULL) : NULL;
    int sd = xs.rank - 2;
    mtn_conv cv = {(int)fx_int(fx, "in_channels", 0), (int)fx_int(fx, "out_channels", 0), {0}, {0}, {0}};
    fx_triple(fx, "kernel_size", sd, cv.k);
    fx_triple(fx, "stride", sd, cv.stride);
    fx_triple(fx, "padding", sd, cv.pad);
    cv.pad[0] = sd == 2 ? 0 : cv.pad[0];
    mtn_dims in = dims_of(&xs), out = mtn_conv_out_dims(&cv, in);
    int m = micro_of(micro, in.n);
    reserve(ex, mtn_conv_needs(&cv, in, m));
    float *y = add_result(rs, "y", "outputs/y", mtn_dims_numel(out), TOL_SUM);
    float *dx = add_result(rs, "dx", "grads/x", xs.count, TOL_SUM);
    float *dw = add_result(rs, "dweight", "grads/weight", ws.count, TOL_SUM);
    float *db = bias ? add_result(rs, "dbias", "grads/bias", cv.cout, TOL_SUM) : NULL;
    mtn_conv_forward(ex, y, x, w, b, &cv, in, m);
    mtn_conv_backward(ex, dx, dw, db, dy, x, w, &cv, in, m);
    free(x), free(w), free(dy), free(b);
}

static void run_convt(const fixture *fx, mtn_exec *ex, int micro, results *rs) {
    shape xs, ws;
    float *x = fx_f32(fx, "inputs/x", &xs), *w = fx_f32(fx, "params/weight", &ws);
    float *b = fx_f32(fx, "params/bias", NULL), *dy = fx_f32(fx, "upstream/dy", NULL);
    int sd = xs.rank - 2, stride[3];
    mtn_convt ct = {(int)fx_int(fx, "in_channels", 0), (int)fx_int(fx, "out_channels", 0), {0}};
    fx_triple(fx, "kernel_size", sd, ct.k);
    fx_triple(fx, "stride", sd, stride);
    CU_ASSERT_FATAL(memcmp(stride, ct.k, sizeof stride) == 0); /* the only case we implement */
    mtn_dims in = dims_of(&xs), out = mtn_convt_out_dims(&ct, in);
    int m = micro_of(micro, in.n);
    reserve(ex, mtn_convt_needs(&ct, in, m));
    float *y = add_result(rs, "y", "outputs/y", mtn_dims_numel(out), TOL_SUM);
    float *dx = add_result(rs, "dx", "grads/x", xs.count, TOL_SUM);
    float *dw = add_result(rs, "dweight", "grads/weight", ws.count, TOL_SUM);
    float *db = add_result(rs, "dbias", "grads/bias", ct.cout, TOL_SUM);
    mtn_convt_forward(ex, y, x, w, b, &ct, in, m);
    mtn_convt_backward(ex, dx, dw, db, dy, x, w, &ct, in, m);
    free(x), free(w), free(b), free(dy);
}

static void run_bn(const fixture *fx, mtn_exec *ex, int micro, results *rs) {
    shape xs;
    float *x = fx_f32(fx, "inputs/x", &xs), *gamma = fx_f32(fx, "params/weight", NULL);
    float *beta = fx_f32(fx, "params/bias", NULL), *dy = fx_f32(fx, "upstream/dy", NULL);
    mtn_dims in = dims_of(&xs);
    mtn_bn bn = {.c = (int)fx_int(fx, "num_features", 0), .eps = (float)fx_double(fx, "eps", 0),
                 .momentum = (float)fx_double(fx, "momentum", 0)};
    CU_ASSERT_EQUAL_FATAL(bn.c, in.c);
    int m = micro_of(micro, in.n);
    reserve(ex, mtn_bn_needs(&bn, in, m));
    float *y = add_result(rs, "y", "outputs/y", xs.count, TOL_SUM);
    if (fx_int(fx, "training", -1) == 1) {
        float *rm = add_result(rs, "running_mean", "buffers_after/running_mean", bn.c, TOL_SUM);
        float *rv = add_result(rs, "running_var", "buffers_after/running_var", bn.c, TOL_SUM);
        float *dx = add_result(rs, "dx", "grads/x", xs.count, TOL_SUM);
        float *dg = add_result(rs, "dweight", "grads/weight", bn.c, TOL_SUM);
        float *db = add_result(rs, "dbias", "grads/bias", bn.c, TOL_SUM);
        float *rm0 = fx_f32(fx, "params/running_mean", NULL), *rv0 = fx_f32(fx, "params/running_var", NULL);
        memcpy(rm, rm0, sizeof(float) * (size_t)bn.c);
        memcpy(rv, rv0, sizeof(float) * (size_t)bn.c);
        float *save = calloc(2 * (size_t)bn.c, sizeof(float));
        mtn_bn_forward_train(ex, y, save, rm, rv, x, gamma, beta, &bn, in, m);
        mtn_bn_backward(ex, dx, dg, db, dy, x, save, gamma, &bn, in, m);
        free(save), free(rm0), free(rv0);
    } else { /* eval: forward only (mtneuro never trains through eval-mode BN) */
        float *rm = fx_f32(fx, "params/running_mean", NULL), *rv = fx_f32(fx, "params/running_var", NULL);
        mtn_bn_forward_eval(ex, y, x, gamma, beta, rm, rv, &bn, in);
        free(rm), free(rv);
    }
    free(x), free(gamma), free(beta), free(dy);
}

static void run_relu(const fixture *fx, mtn_exec *ex, int micro, results *rs) {
    (void)micro;
    shape xs;
    float *x = fx_f32(fx, "inputs/x", &xs), *dy = fx_f32(fx, "upstream/dy", NULL);
    float *y = add_result(rs, "y", "outputs/y", xs.count, TOL_EXACT);
    float *dx = add_result(rs, "dx", "grads/x", xs.count, TOL_EXACT);
    mtn_relu_forward(ex, y, x, xs.count);
    mtn_relu_backward(ex, dx, dy, y, xs.count);
    /* in place, as the models run it */
    float *yi = add_result(rs, "y (in place)", "outputs/y", xs.count, TOL_EXACT);
    float *gi = add_result(rs, "dx (in place)", "grads/x", xs.count, TOL_EXACT);
    memcpy(yi, x, sizeof(float) * (size_t)xs.count);
    memcpy(gi, dy, sizeof(float) * (size_t)xs.count);
    mtn_relu_forward(ex, yi, yi, xs.count);
    mtn_relu_backward_in_place(ex, gi, yi, xs.count);
    free(x), free(dy);
}

static void run_dropout(const fixture *fx, mtn_exec *ex, int micro, results *rs) {
    (void)micro;
    shape xs;
    float *x = fx_f32(fx, "inputs/x", &xs), *dy = fx_f32(fx, "upstream/dy", NULL);
    float *y = add_result(rs, "y", "outputs/y", xs.count, TOL_EXACT);
    float *dx = add_result(rs, "dx", "grads/x", xs.count, TOL_EXACT);
    if (fx_int(fx, "training", -1) == 1) {
        float p = (float)fx_double(fx, "p", -1.0);
        CU_ASSERT_EQUAL_FATAL(p, 0.0f); /* other p: torch's RNG is not ours */
        uint8_t *mask = malloc((size_t)xs.count);
        mtn_dropout_forward(ex, y, mask, x, p, 12345, 0, xs.count);
        mtn_dropout_backward(ex, dx, dy, mask, p, xs.count);
        free(mask);
    } else { /* eval: the identity; mtneuro does not call the layer at all */
        memcpy(y, x, sizeof(float) * (size_t)xs.count);
        memcpy(dx, dy, sizeof(float) * (size_t)xs.count);
    }
    free(x), free(dy);
}

static void run_add(const fixture *fx, mtn_exec *ex, int micro, results *rs) {
    (void)micro;
    shape as;
    float *a = fx_f32(fx, "inputs/a", &as), *b = fx_f32(fx, "inputs/b", NULL);
    float *y = add_result(rs, "y", "outputs/y", as.count, TOL_EXACT);
    mtn_add_forward(ex, y, a, b, as.count); /* backward is the identity: nothing to run */
    free(a), free(b);
}

static void run_concat(const fixture *fx, mtn_exec *ex, int micro, results *rs) {
    (void)micro;
    shape as, bs;
    float *a = fx_f32(fx, "inputs/a", &as), *b = fx_f32(fx, "inputs/b", &bs), *dy = fx_f32(fx, "upstream/dy", NULL);
    mtn_dims ad = dims_of(&as), bd = dims_of(&bs);
    int64_t spatial = mtn_dims_spatial(ad);
    float *y = add_result(rs, "y", "outputs/y", as.count + bs.count, TOL_EXACT);
    float *da = add_result(rs, "da", "grads/a", as.count, TOL_EXACT);
    float *db = add_result(rs, "db", "grads/b", bs.count, TOL_EXACT);
    mtn_concat_forward(ex, y, a, b, ad.n, ad.c, bd.c, spatial);
    mtn_concat_backward(ex, da, db, dy, ad.n, ad.c, bd.c, spatial);
    free(a), free(b), free(dy);
}

static void run_maxpool(const fixture *fx, mtn_exec *ex, int micro, results *rs) {
    (void)micro;
    shape xs;
    float *x = fx_f32(fx, "inputs/x", &xs), *dy = fx_f32(fx, "upstream/dy", NULL);
    mtn_maxpool mp;
    fx_triple(fx, "kernel_size", xs.rank - 2, mp.k);
    mtn_dims in = dims_of(&xs), out = mtn_maxpool_out_dims(&mp, in);
    int64_t n_out = mtn_dims_numel(out);
    float *y = add_result(rs, "y", "outputs/y", n_out, TOL_EXACT);
    float *dx = add_result(rs, "dx", "grads/x", xs.count, TOL_EXACT);
    float *idx = add_result(rs, "argmax", "outputs/indices", n_out, TOL_EXACT);
    int32_t *argmax = malloc(sizeof(int32_t) * (size_t)(n_out ? n_out : 1));
    mtn_maxpool_forward(ex, y, argmax, x, &mp, in);
    mtn_maxpool_backward(ex, dx, dy, argmax, &mp, in);
    for (int64_t i = 0; i < n_out; i++) idx[i] = (float)argmax[i]; /* exact below 2^24 */
    free(argmax), free(x), free(dy);
}

static void run_avgpool(const fixture *fx, mtn_exec *ex, int micro, results *rs) {
    (void)micro;
    shape xs;
    float *x = fx_f32(fx, "inputs/x", &xs), *dy = fx_f32(fx, "upstream/dy", NULL);
    mtn_dims in = dims_of(&xs);
    float *y = add_result(rs, "y", "outputs/y", (int64_t)in.n * in.c, TOL_SUM);
    float *dx = add_result(rs, "dx", "grads/x", xs.count, TOL_SUM);
    mtn_avgpool_forward(ex, y, x, in);
    mtn_avgpool_backward(ex, dx, dy, in);
    free(x), free(dy);
}

static void run_linear(const fixture *fx, mtn_exec *ex, int micro, results *rs) {
    shape xs, ws;
    float *x = fx_f32(fx, "inputs/x", &xs), *w = fx_f32(fx, "params/weight", &ws);
    float *b = fx_f32(fx, "params/bias", NULL), *dy = fx_f32(fx, "upstream/dy", NULL);
    mtn_linear l = {(int)fx_int(fx, "in_features", 0), (int)fx_int(fx, "out_features", 0)};
    int n = (int)xs.dims[0], m = micro_of(micro, n);
    reserve(ex, mtn_linear_needs(&l, n, m));
    float *y = add_result(rs, "y", "outputs/y", (int64_t)n * l.out_f, TOL_SUM);
    float *dx = add_result(rs, "dx", "grads/x", xs.count, TOL_SUM);
    float *dw = add_result(rs, "dweight", "grads/weight", ws.count, TOL_SUM);
    float *db = add_result(rs, "dbias", "grads/bias", l.out_f, TOL_SUM);
    mtn_linear_forward(ex, y, x, w, b, &l, n, m);
    mtn_linear_backward(ex, dx, dw, db, dy, x, w, &l, n, m);
    free(x), free(w), free(b), free(dy);
}

static void run_xent(const fixture *fx, mtn_exec *ex, int micro, results *rs) {
    shape ls;
    float *logits = fx_f32(fx, "inputs/logits", &ls);
    int32_t *target = fx_i32(fx, "inputs/target", NULL);
    int n = (int)ls.dims[0], k = (int)ls.dims[1];
    int64_t spatial = ls.count / ((int64_t)n * k);
    reserve(ex, mtn_loss_needs());
    float *loss = add_result(rs, "loss", "outputs/loss", 1, TOL_SUM);
    float *dl = add_result(rs, "dlogits", "grads/logits", ls.count, TOL_SUM);
    loss[0] = (float)mtn_xent_forward_backward(ex, dl, logits, target, n, k, spatial, micro_of(micro, n));
    free(logits), free(target);
}

static void run_xent_soft(const fixture *fx, mtn_exec *ex, int micro, results *rs) {
    shape ls;
    float *logits = fx_f32(fx, "inputs/logits", &ls), *target = fx_f32(fx, "inputs/target", NULL);
    int n = (int)ls.dims[0], k = (int)ls.dims[1];
    reserve(ex, mtn_loss_needs());
    float *loss = add_result(rs, "loss", "outputs/loss", 1, TOL_SUM);
    float *dl = add_result(rs, "dlogits", "grads/logits", ls.count, TOL_SUM);
    loss[0] = (float)mtn_xent_soft_forward_backward(ex, dl, logits, target, n, k, micro_of(micro, n));
    free(logits), free(target);
}

static void run_cosine(const fixture *fx, mtn_exec *ex, int micro, results *rs) {
    shape ps;
    float *p = fx_f32(fx, "inputs/p", &ps), *z = fx_f32(fx, "inputs/z", NULL);
    int n = (int)ps.dims[0], d = (int)ps.dims[1];
    reserve(ex, mtn_loss_needs());
    float *loss = add_result(rs, "loss", "outputs/loss", 1, TOL_SUM);
    float *dp = add_result(rs, "dp", "grads/p", ps.count, TOL_SUM);
    loss[0] = (float)mtn_cosine_loss_forward_backward(ex, dp, p, z, n, d, micro_of(micro, n));
    free(p), free(z);
}

static void run_mixup(const fixture *fx, mtn_exec *ex, int micro, results *rs) {
    (void)ex, (void)micro;
    shape xs;
    float *x = fx_f32(fx, "inputs/x", &xs);
    int32_t *target = fx_i32(fx, "inputs/target", NULL);
    uint32_t *perm = fx_read(fx, "inputs/perm", H5T_NATIVE_UINT32, sizeof(uint32_t), NULL);
    int n = (int)xs.dims[0], k = (int)fx_int(fx, "num_classes", 0);
    float *y = add_result(rs, "y", "outputs/y", xs.count, TOL_ELEMENTWISE);
    float *soft = add_result(rs, "soft_target", "outputs/soft_target", (int64_t)n * k, TOL_ELEMENTWISE);
    mtn_mixup(y, soft, x, target, perm, (float)fx_double(fx, "lam", -1.0), n, xs.count / n, k);
    free(x), free(target), free(perm);
}

/* S optimiser steps; the params and state after each step, laid out (S, n). */
static void run_optimizer(const fixture *fx, mtn_exec *ex, int micro, results *rs, bool adam) {
    (void)micro;
    shape ps, gs;
    float *p = fx_f32(fx, "params/param", &ps), *grads = fx_f32(fx, "inputs/grads", &gs);
    int64_t n = ps.count, steps = gs.dims[0];
    float *a = calloc((size_t)n, sizeof(float)), *b = calloc((size_t)n, sizeof(float));
    float *tp = add_result(rs, "param", "outputs/param", steps * n, TOL_ELEMENTWISE), *ta = NULL, *tb = NULL;
    mtn_sgd sgd = {fx_double(fx, "lr", -1), fx_double(fx, "momentum", 0), fx_double(fx, "weight_decay", 0)};
    mtn_adam ad = {fx_double(fx, "lr", -1), fx_double(fx, "beta1", -1), fx_double(fx, "beta2", -1),
                   fx_double(fx, "eps", -1), fx_double(fx, "weight_decay", 0)};
    if (adam) {
        ta = add_result(rs, "exp_avg", "outputs/exp_avg", steps * n, TOL_ELEMENTWISE);
        tb = add_result(rs, "exp_avg_sq", "outputs/exp_avg_sq", steps * n, TOL_ELEMENTWISE);
    } else if (sgd.momentum != 0.0) {
        ta = add_result(rs, "momentum_buffer", "outputs/momentum_buffer", steps * n, TOL_ELEMENTWISE);
    }
    size_t row = sizeof(float) * (size_t)n;
    for (int64_t s = 0; s < steps; s++) {
        if (adam) mtn_adam_step(ex, p, a, b, grads + s * n, n, &ad, s + 1);
        else mtn_sgd_step(ex, p, a, grads + s * n, n, &sgd, s == 0);
        memcpy(tp + s * n, p, row);
        if (ta) memcpy(ta + s * n, a, row);
        if (tb) memcpy(tb + s * n, b, row);
    }
    free(p), free(grads), free(a), free(b);
}

static void run_sgd(const fixture *fx, mtn_exec *ex, int micro, results *rs) { run_optimizer(fx, ex, micro, rs, false); }
static void run_adam(const fixture *fx, mtn_exec *ex, int micro, results *rs) { run_optimizer(fx, ex, micro, rs, true); }

static void run_ema(const fixture *fx, mtn_exec *ex, int micro, results *rs) {
    (void)micro;
    shape ts;
    float *t = fx_f32(fx, "params/target", &ts), *o = fx_f32(fx, "inputs/online", NULL);
    float *out = add_result(rs, "target", "outputs/target", ts.count, TOL_ELEMENTWISE);
    memcpy(out, t, sizeof(float) * (size_t)ts.count);
    mtn_ema_update(ex, out, o, ts.count, fx_double(fx, "tau", -1));
    free(t), free(o);
}

/* Every layer fixture's `layer` attribute must be one of these. */
typedef void (*any_fn)(void);
typedef struct {
    const char *layer;
    layer_run run;
    bool micro;   /* run with micro-batches of 1 too */
    any_fn probe; /* a function of the layer: NULL (weak, not linked) -> skipped */
} layer_check;

#define PROBE(fn) ((any_fn)(fn))
static const layer_check checks[] = {
    {"conv", run_conv, true, PROBE(mtn_conv_backward)},
    {"convt", run_convt, true, PROBE(mtn_convt_backward)},
    {"bn", run_bn, true, PROBE(mtn_bn_backward)},
    {"relu", run_relu, false, PROBE(mtn_relu_backward_in_place)},
    {"dropout", run_dropout, false, PROBE(mtn_dropout_backward)},
    {"add", run_add, false, PROBE(mtn_add_forward)},
    {"concat", run_concat, false, PROBE(mtn_concat_backward)},
    {"maxpool", run_maxpool, false, PROBE(mtn_maxpool_backward)},
    {"avgpool", run_avgpool, false, PROBE(mtn_avgpool_backward)},
    {"linear", run_linear, true, PROBE(mtn_linear_backward)},
    {"xent", run_xent, true, PROBE(mtn_xent_forward_backward)},
    {"xent_soft", run_xent_soft, true, PROBE(mtn_xent_soft_forward_backward)},
    {"cosine", run_cosine, true, PROBE(mtn_cosine_loss_forward_backward)},
    {"mixup", run_mixup, false, PROBE(mtn_mixup)},
    {"sgd", run_sgd, false, PROBE(mtn_sgd_step)},
    {"adam", run_adam, false, PROBE(mtn_adam_step)},
    {"ema", run_ema, false, PROBE(mtn_ema_update)},
    {NULL, NULL, false, NULL},
};

/* ------------------------------------------------------------- the driver --- */

enum { MAX_FIXTURES = 256 };
static char fixture_names[MAX_FIXTURES][96];
static int n_fixtures = -1;

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

static void list_fixtures(void) {
    if (n_fixtures >= 0) return;
    n_fixtures = 0;
    DIR *dir = opendir(FIXTURE_DIR);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    struct dirent *e;
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".h5") != 0 || len - 3 >= sizeof fixture_names[0]) continue;
        if (len > 8 && strcmp(e->d_name + len - 8, ".ckpt.h5") == 0) continue; /* an infer fixture's checkpoint */
        CU_ASSERT_FATAL(n_fixtures < MAX_FIXTURES);
        memcpy(fixture_names[n_fixtures], e->d_name, len - 3);
        fixture_names[n_fixtures++][len - 3] = '\0';
    }
    closedir(dir);
    qsort(fixture_names, (size_t)n_fixtures, sizeof fixture_names[0], by_name);
}

static void free_executors(void) {
    for (int t = 0; t < 2; t++) {
        mtn_exec_free(executors[t]);
        executors[t] = NULL;
    }
}

static void setup_executors(void) {
    if (executors[0]) return;
    for (int t = 0; t < 2; t++) CU_ASSERT_EQUAL_FATAL(mtn_exec_create(t + 1, &executors[t]), 0);
    /* losses and the like use the executor's reduction slots; layers with a needs
       function reserve theirs before running */
    for (int t = 0; t < 2; t++) reserve(executors[t], mtn_loss_needs());
    atexit(free_executors);
}

/* Runs one fixture through its check in every configuration: compares with
 * PyTorch, and 2 threads bit for bit with 1 thread at the same micro-batch. */
static void check_fixture(const fixture *fx, const layer_check *lc) {
    results first = {0}, cur = {0};
    worst w[MAX_RESULTS] = {{0}};
    const char *labels[MAX_RESULTS] = {0};
    int n_labels = 0, n_modes = lc->micro ? 2 : 1;
    for (int mode = 0; mode < n_modes; mode++) {
        for (int t = 0; t < 2; t++) {
            char config[64];
            snprintf(config, sizeof config, "threads=%d micro=%s", t + 1, mode ? "1" : "batch");
            results *rs = t == 0 ? &first : &cur;
            lc->run(fx, executors[t], mode, rs);
            for (int i = 0; i < rs->n; i++) CU_ASSERT(compare(fx, config, &rs->r[i], &w[i]));
            if (t == 1) {
                CU_ASSERT_EQUAL_FATAL(cur.n, first.n);
                n_labels = first.n;
                for (int i = 0; i < first.n; i++) labels[i] = first.r[i].label;
                for (int i = 0; i < cur.n; i++) {
                    bool same = memcmp(cur.r[i].got, first.r[i].got, sizeof(float) * (size_t)cur.r[i].n) == 0;
                    if (!same)
                        fprintf(stderr, "\nFAIL %s %s: 2 threads differ from 1 thread (micro=%s)\n", fx->name,
                                cur.r[i].label, mode ? "1" : "batch");
                    CU_ASSERT(same);
                }
                free_results(&first);
                free_results(&cur);
            }
        }
    }
    for (int i = 0; i < n_labels; i++) /* the worst over all configurations */
        printf("\n    %-24s %-16s max|err| %.2e  max|ref| %.2e  tol %.2e", fx->name, labels[i], w[i].err, w[i].ref,
               w[i].tol);
}

static void run_layer(const char *layer) {
    list_fixtures();
    setup_executors();
    const layer_check *lc = NULL;
    for (const layer_check *c = checks; c->layer; c++)
        if (strcmp(c->layer, layer) == 0) lc = c;
    CU_ASSERT_PTR_NOT_NULL_FATAL(lc);
    if (!linked(lc->probe)) {
        fprintf(stderr, "\nSKIP %s: its C implementation is not linked yet (declared weak); its fixtures are "
                "NOT checked\n", layer);
        return;
    }
    int found = 0;
    for (int i = 0; i < n_fixtures; i++) {
        fixture fx;
        if (!fx_open(&fx, fixture_names[i])) {
            CU_FAIL("fixture unreadable");
            continue;
        }
        char kind[32], name[32];
        fx_string(fx.f, "kind", kind, sizeof kind);
        fx_string(fx.f, "layer", name, sizeof name);
        if (strcmp(kind, "layer") == 0 && strcmp(name, layer) == 0) {
            found++;
            check_fixture(&fx, lc);
        }
        H5Fclose(fx.f);
    }
    if (!found) fprintf(stderr, "\nno fixture for layer %s\n", layer);
    CU_ASSERT(found > 0);
}

#define LAYER_TEST(name) \
    static void test_##name(void) { run_layer(#name); }
LAYER_TEST(conv)
LAYER_TEST(convt)
LAYER_TEST(bn)
LAYER_TEST(relu)
LAYER_TEST(dropout)
LAYER_TEST(add)
LAYER_TEST(concat)
LAYER_TEST(maxpool)
LAYER_TEST(avgpool)
LAYER_TEST(linear)
LAYER_TEST(xent)
LAYER_TEST(xent_soft)
LAYER_TEST(cosine)
LAYER_TEST(mixup)
LAYER_TEST(sgd)
LAYER_TEST(adam)
LAYER_TEST(ema)

/* Every fixture is a known format, and every layer fixture has a check above; the
 * folder is not empty (a lost folder must not pass). */
static void test_every_fixture_is_checked(void) {
    list_fixtures();
    CU_ASSERT(n_fixtures >= 40);
    for (int i = 0; i < n_fixtures; i++) {
        fixture fx;
        if (!fx_open(&fx, fixture_names[i])) {
            CU_FAIL("fixture unreadable");
            continue;
        }
        char format[64], kind[32], layer[32];
        fx_string(fx.f, "format", format, sizeof format);
        fx_string(fx.f, "kind", kind, sizeof kind);
        fx_string(fx.f, "layer", layer, sizeof layer);
        CU_ASSERT_STRING_EQUAL(format, "mtneuro-torch-fixture");
        CU_ASSERT_EQUAL(fx_int(&fx, "format_version", 0), 1);
        bool known = false;
        if (strcmp(kind, "layer") == 0) {
            for (const layer_check *c = checks; c->layer; c++) known |= strcmp(c->layer, layer) == 0;
            if (!known) fprintf(stderr, "\n%s: layer '%s' has no check in this test\n", fx.name, layer);
        } else if (strcmp(kind, "model_formula") == 0 || strcmp(kind, "infer") == 0) {
            known = true; /* whole models: test_torch_models.c; infer: tests/integration/infer.sh */
        } else {
            fprintf(stderr, "\n%s: unknown kind '%s'\n", fx.name, kind);
        }
        CU_ASSERT(known);
        H5Fclose(fx.f);
    }
}

/* The comparison itself can fail: a perturbed output is caught. */
static void test_comparison_catches_errors(void) {
    list_fixtures();
    fixture fx;
    CU_ASSERT_FATAL(fx_open(&fx, "conv2d_k3_s1_p1_bias"));
    shape s;
    float *y = fx_f32(&fx, "outputs/y", &s);
    result r = {"y", "outputs/y", y, s.count, TOL_SUM};
    worst w = {0, 0, 0};
    CU_ASSERT_TRUE(compare(&fx, "self", &r, &w));
    CU_ASSERT_EQUAL(w.err, 0.0);
    y[3] += (float)(2e-4 * w.ref); /* twice the tolerance */
    fprintf(stderr, "\n(an expected FAIL line follows)");
    CU_ASSERT_FALSE(compare(&fx, "self, perturbed", &r, &w));
    r.tol = TOL_EXACT;
    y[3] = nextafterf(y[3], INFINITY);
    CU_ASSERT_FALSE(compare(&fx, "self, exact", &r, &w));
    free(y);
    H5Fclose(fx.f);
}

static const mtn_test_case torch_tests[] = {
    {"every fixture is checked", test_every_fixture_is_checked},
    {"comparison catches errors", test_comparison_catches_errors},
    {"conv", test_conv},
    {"convt", test_convt},
    {"bn", test_bn},
    {"relu", test_relu},
    {"dropout", test_dropout},
    {"add", test_add},
    {"concat", test_concat},
    {"maxpool", test_maxpool},
    {"avgpool", test_avgpool},
    {"linear", test_linear},
    {"xent", test_xent},
    {"xent_soft", test_xent_soft},
    {"cosine", test_cosine},
    {"mixup", test_mixup},
    {"sgd", test_sgd},
    {"adam", test_adam},
    {"ema", test_ema},
    {NULL, NULL},
};

const mtn_test_suite mtn_test_suites[] = {{"torch", torch_tests}, {NULL, NULL}};
