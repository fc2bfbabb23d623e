/* test_torch_models.c — whole models against PyTorch (tests/ref fixtures of kind
 * "model_formula"): ResNet-18, the 2D and 3D U-Nets and the MLP head, initialised
 * from the same formula on both sides, trained for 5 steps of cross-entropy with SGD
 * or Adam. Compared: every step's loss, the first step's logits, the gradient of
 * every parameter at step 0 (sum, sum of squares, max |g| and 16 entries), every
 * final weight and running statistic (the same summary), and eval-mode logits after
 * training. Also: 1 and 2 threads train to identical bits.
 * The tolerances are explained at "The judgement" below; the measured errors are
 * printed for every case. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fixture.h"
#include "harness.h"
#include "mtn/models.h"

/* the formula of tests/ref/make_fixtures.py:formula_weights */
static void formula_weights(mtn_model *m, uint64_t seed) {
    for (int t = 0; t < mtn_model_n_tensors(m); t++) {
        const mtn_tensor_info *ti = mtn_model_tensor(m, t);
        size_t len = strlen(ti->name);
        if (ti->kind == MTN_TENSOR_COUNTER) {
            mtn_model_counters(m)[ti->offset] = 0;
            continue;
        }
        if (ti->kind == MTN_TENSOR_BUFFER) {
            float v = len > 11 && strcmp(ti->name + len - 11, "running_var") == 0 ? 1.0f : 0.0f;
            for (int64_t i = 0; i < ti->numel; i++) mtn_model_buffers(m)[ti->offset + i] = v;
            continue;
        }
        uint64_t crc = crc32(0L, (const Bytef *)ti->name, (uInt)len);
        /* BatchNorm's weight and bias are those with a running_mean beside them */
        char stats[160];
        const char *dot = strrchr(ti->name, '.');
        snprintf(stats, sizeof stats, "%.*srunning_mean", dot ? (int)(dot - ti->name + 1) : 0, ti->name);
        bool in_bn = mtn_model_find_tensor(m, stats) >= 0;
        bool bn_weight = in_bn && strcmp(dot ? dot : "", ".weight") == 0, bn_bias = in_bn && !bn_weight;
        bool bias = len > 5 && strcmp(ti->name + len - 5, ".bias") == 0;
        double fan_in = ti->ndim > 1 ? (double)ti->shape[1] : (double)ti->shape[0];
        for (int k = 2; k < ti->ndim; k++) fan_in *= (double)ti->shape[k];
        float *p = mtn_model_params(m) + ti->offset;
        for (int64_t i = 0; i < ti->numel; i++) {
            uint64_t h = ((uint64_t)i * 2654435761u + crc + seed) & 0xffffffffu;
            double u = (double)h / 4294967296.0, w;
            if (bn_weight) w = 1.0 + (2.0 * u - 1.0) / 10.0;
            else if (bn_bias || bias) w = (2.0 * u - 1.0) / 10.0;
            else w = (2.0 * u - 1.0) * (1.0 / sqrt(fan_in));
            p[i] = (float)w;
        }
    }
}

/* The judgement. Every compared value has several versions: ours; PyTorch's float32
 * run (the fixture's main groups); PyTorch float32 runs from weights nudged by one ulp
 * (groups _p1, _p2, ...: what another float32 implementation's rounding does to this
 * model and data); and PyTorch's float64 run (_f64), which stands for exact
 * arithmetic. Errors are distances to float64, normalised by the value's scale;
 * "PyTorch's error" is the largest over its float32 runs.
 *
 * The forward pass is continuous in every rounding error, so step 0's logits and loss
 * are held to err_ours <= max(MARGIN err_torch, FLOOR) one by one (measured: ours
 * 2e-6 to 6e-5, PyTorch 3e-6 to 1.4e-5). Gradients are not continuous: a ReLU whose
 * input lies within rounding of zero takes either side. Measured in model_unet2d_sgd:
 * one input of up_blocks.2.conv2 is -1.8e-6 in float64, -6.5e-7 in PyTorch float32 and
 * +1.9e-6 here, and that one element moves the gradients above it by up to 4 % of
 * their scale; the nudged PyTorch runs show the same (median gradient error 2.8e-3,
 * ours 2.8e-3). Training compounds it (PyTorch float32's own loss is 10 % off float64
 * after 4 SGD steps of ResNet-18 here). So gradients and everything after step 0 are
 * judged per tensor against max(MARGIN err_torch, the stage's ceiling) — a wrong wire,
 * order or formula moves a tensor by O(1) — and as a population: the median error
 * over a stage's tensors within MARGIN times PyTorch's median or the stage's floor (a
 * systematic error, however small, moves the median; flips move a few tensors). The
 * layers themselves are held to 1e-5-level tolerances in test_torch_layers; this test
 * is about the wiring of whole models. */
#define MARGIN 4.0
#define FLOOR 1e-4

enum { FORWARD0, GRADS0, TRAINED, N_STAGES };
static const char *const stage_names[] = {"step 0 logits and loss", "step 0 gradients", "after training"};
static const double population_floor[] = {0, 1e-3, 2e-3};
static const double ceiling[] = {0, 0.1, 0.25};

typedef struct {
    double ours[N_STAGES][512], torch[N_STAGES][512];
    int n[N_STAGES];
    double worst[N_STAGES]; /* the largest error of ours, and where */
    char where[N_STAGES][128];
} tally;

static void judge(tally *t, int stage, const char *what, double ours, double torch) {
    if (t->n[stage] < 512) {
        t->ours[stage][t->n[stage]] = ours;
        t->torch[stage][t->n[stage]++] = torch;
    }
    if (!(ours <= t->worst[stage])) {
        t->worst[stage] = ours;
        snprintf(t->where[stage], sizeof t->where[stage], "%s", what);
    }
    double allowed = fmax(MARGIN * torch, stage == FORWARD0 ? FLOOR : ceiling[stage]);
    if (!(ours <= allowed))
        fprintf(stderr, "\n%s: error vs float64 %.2e (PyTorch float32's %.2e), allowed %.2e", what, ours, torch,
                allowed);
    CU_ASSERT(ours <= allowed);
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    if (n == 0) return 0;
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* the population test of the stages after the forward pass, and the report */
static void judge_stages(tally *t, const char *name) {
    for (int st = 0; st < N_STAGES; st++) {
        int n = t->n[st];
        double mo = median(t->ours[st], n), mt = median(t->torch[st], n);
        printf("\n    %-20s %-24s median error ours %.1e, PyTorch f32 %.1e; worst ours %.1e (%s)", name,
               stage_names[st], mo, mt, t->worst[st], t->where[st]);
        if (st == FORWARD0) continue;
        if (!(mo <= fmax(MARGIN * mt, population_floor[st])))
            fprintf(stderr, "\n%s, %s: median error %.2e against PyTorch float32's %.2e", name, stage_names[st], mo, mt);
        CU_ASSERT(mo <= fmax(MARGIN * mt, population_floor[st]));
    }
}

static double max_abs(const float *x, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs((double)x[i]));
    return m;
}

/* max |a - ref| / scale over n values */
static double error_of(const float *a, const float *ref, int64_t n, double scale) {
    double e = 0;
    for (int64_t i = 0; i < n; i++) e = fmax(e, fabs((double)a[i] - (double)ref[i]) / scale);
    return e;
}

/* PyTorch's float32 runs in a fixture: the reference ("") and the perturbed ones
 * ("_p1", ...; their count is the attribute perturbed_runs) */
enum { MAX_RUNS = 8 };
static int float32_runs(const fixture *fx, char suffix[MAX_RUNS][8]) {
    int n = 1 + (int)fx_int(fx, "perturbed_runs", 0);
    n = n > MAX_RUNS ? MAX_RUNS : n;
    suffix[0][0] = '\0';
    for (int k = 1; k < n; k++) snprintf(suffix[k], sizeof suffix[k], "_p%d", k);
    return n;
}

/* Judges a whole tensor (logits) at fixture path `path` (float64 twin path_f64),
 * scaled by its float64 max |x|; PyTorch's error is the largest of its float32 runs. */
static void judge_tensor(tally *t, int stage, const fixture *fx, const char *what, const char *path,
                         const float *ours, int64_t n) {
    char runs[MAX_RUNS][8], p[160];
    int nr = float32_runs(fx, runs);
    snprintf(p, sizeof p, "%s_f64", path);
    float *f64 = fx_f32(fx, p, NULL);
    if (!f64) return;
    double scale = fmax(max_abs(f64, n), 1e-30), torch = 0;
    for (int k = 0; k < nr; k++) {
        snprintf(p, sizeof p, "%s%s", path, runs[k]);
        shape sh;
        float *f32 = fx_f32(fx, p, &sh);
        if (f32 && sh.count == n) torch = fmax(torch, error_of(f32, f64, n, scale));
        free(f32);
    }
    judge(t, stage, what, error_of(ours, f64, n, scale), torch);
    free(f64);
}

/* sum, sum of squares, max |x|, 16 entries at k * n / 16 — as make_fixtures.summary */
static void summarise(const float *x, int64_t n, double out[19]) {
    double s = 0, q = 0, mx = 0;
    for (int64_t i = 0; i < n; i++) {
        s += x[i];
        q += (double)x[i] * x[i];
        mx = fmax(mx, fabs((double)x[i]));
    }
    out[0] = s;
    out[1] = q;
    out[2] = mx;
    for (int k = 0; k < 16; k++) out[3 + k] = x[(int64_t)k * n / 16];
}

/* The error of summary a against the float64 summary d: max |x|, the entries and the
 * mean (sum / n) by `scale`, the sum of squares by max(its own value, n scale^2). */
static double summary_error(const double a[19], const double d[19], int64_t n, double scale) {
    double e = fmax(fabs(a[0] - d[0]) / (scale * (double)n), fabs(a[1] - d[1]) / fmax(d[1], (double)n * scale * scale));
    for (int k = 2; k < 19; k++) e = fmax(e, fabs(a[k] - d[k]) / scale);
    return e;
}

/* Judges tensor `name` of a group ("grads0", "final") from its summary. Scale: the
 * tensor's float64 max |x|, but at least 1e-3 of the largest in the group (floor_scale),
 * so that a gradient that is zero in exact arithmetic (a bias before BatchNorm) is
 * judged against the model's gradients rather than against its own rounding noise. */
static void judge_summary(tally *t, int stage, const fixture *fx, const char *group, const char *name,
                          const float *ours, int64_t n, double floor_scale) {
    char runs[MAX_RUNS][8], p[192], what[192];
    int nr = float32_runs(fx, runs);
    snprintf(p, sizeof p, "%s_f64/%s", group, name);
    snprintf(what, sizeof what, "%s %s", group, name);
    double got[19], *f64 = fx_f64(fx, p, NULL), torch = 0;
    if (!f64) return;
    double scale = fmax(f64[2], floor_scale);
    for (int k = 0; k < nr; k++) {
        snprintf(p, sizeof p, "%s%s/%s", group, runs[k], name);
        double *f32 = fx_f64(fx, p, NULL);
        if (f32) torch = fmax(torch, summary_error(f32, f64, n, scale));
        free(f32);
    }
    summarise(ours, n, got);
    judge(t, stage, what, summary_error(got, f64, n, scale), torch);
    free(f64);
}

/* 1e-3 of the largest float64 max |x| over the group's tensors of `kind` */
static double group_floor_scale(const fixture *fx, const mtn_model *m, const char *group, mtn_tensor_kind kind) {
    double mx = 0;
    for (int k = 0; k < mtn_model_n_tensors(m); k++) {
        const mtn_tensor_info *ti = mtn_model_tensor(m, k);
        if (ti->kind != kind) continue;
        char path[160];
        snprintf(path, sizeof path, "%s_f64/%s", group, ti->name);
        double *d = fx_f64(fx, path, NULL);
        if (d) mx = fmax(mx, d[2]);
        free(d);
    }
    return 1e-3 * (mx > 0 ? mx : 1.0);
}

typedef struct {
    float *params_after; /* for the 1-vs-2-thread comparison */
    int64_t n_params;
    double losses[16];
} run_result;

/* Trains the fixture's model with `threads` threads; compares with PyTorch when check. */
static void run_fixture(const char *name, int threads, bool check, run_result *res) {
    memset(res, 0, sizeof *res);
    fixture fx;
    CU_ASSERT_FATAL(fx_open(&fx, name));
    char model[32], optimizer[16];
    fx_string(fx.f, "model", model, sizeof model);
    fx_string(fx.f, "optimizer", optimizer, sizeof optimizer);
    shape xs, ts;
    float *x = fx_f32(&fx, "steps/x", &xs);
    int32_t *target = fx_i32(&fx, "steps/target", &ts);
    int steps = (int)xs.dims[0], n = (int)xs.dims[1];
    mtn_model_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.in_channels = (int)fx_int(&fx, "in_channels", 1);
    spec.classes = (int)fx_int(&fx, "classes", 4);
    spec.batch = spec.micro = n;
    spec.head = true;
    int64_t spatial = 1;
    if (strcmp(model, "resnet18") == 0) {
        spec.arch = MTN_ARCH_RESNET18;
        spec.height = (int)xs.dims[3];
        spec.width = (int)xs.dims[4];
    } else if (strncmp(model, "unet", 4) == 0) {
        spec.arch = MTN_ARCH_UNET;
        spec.dims = model[4] == '3' ? 3 : 2;
        spec.n_blocks = (int)fx_int(&fx, "n_blocks", 4);
        spec.start_filters = (int)fx_int(&fx, "start_filters", 32);
        spec.depth = spec.dims == 3 ? (int)xs.dims[3] : 1;
        spec.height = (int)xs.dims[xs.rank - 2];
        spec.width = (int)xs.dims[xs.rank - 1];
        spatial = (int64_t)spec.depth * spec.height * spec.width;
    } else {
        spec.arch = MTN_ARCH_MLP;
        spec.mlp_in = (int)fx_int(&fx, "mlp_in", 0);
        spec.mlp_hidden = (int)fx_int(&fx, "mlp_hidden", 0);
        spec.mlp_out = (int)fx_int(&fx, "mlp_out", 0);
    }
    mtn_exec *ex = NULL;
    mtn_model *m = NULL;
    CU_ASSERT_FATAL(mtn_exec_create(threads, &ex) == 0);
    int rc = mtn_model_create(&spec, ex, &m);
    if (rc) fprintf(stderr, "\n%s: %s\n", name, mtn_error_message());
    CU_ASSERT_FATAL(rc == 0);
    CU_ASSERT_FATAL(mtn_exec_reserve(ex, mtn_loss_needs()) == 0);
    formula_weights(m, (uint64_t)fx_int(&fx, "weight_seed", 0));
    int64_t np = mtn_model_n_params(m), per_step = xs.count / steps, per_target = ts.count / steps;
    int64_t n_logits = (int64_t)n * spec.classes * spatial;
    float *dlogits = malloc(sizeof(float) * (size_t)n_logits), *st1 = calloc((size_t)np, sizeof(float)),
          *st2 = calloc((size_t)np, sizeof(float));
    double bets[2] = {0.9, 0.999};
    fx_doubles(&fx, "betas", bets, 2);
    mtn_sgd sgd = {fx_double(&fx, "lr", 0), fx_double(&fx, "momentum", 0), fx_double(&fx, "weight_decay", 0)};
    mtn_adam adam = {fx_double(&fx, "lr", 0), bets[0], bets[1], fx_double(&fx, "eps", 1e-8),
                     fx_double(&fx, "weight_decay", 0)};
    tally *t = calloc(1, sizeof *t);
    char runs[MAX_RUNS][8];
    int nr = float32_runs(&fx, runs);
    double *loss64 = fx_f64(&fx, "steps/loss_f64", NULL), *loss32[MAX_RUNS];
    for (int k = 0; k < nr; k++) {
        char path[64];
        snprintf(path, sizeof path, "steps/loss%s", runs[k]);
        loss32[k] = fx_f64(&fx, path, NULL);
    }
    for (int s = 0; s < steps; s++) {
        const float *logits = mtn_model_forward(m, x + s * per_step, n, true, 1, (uint64_t)s);
        double loss = mtn_xent_forward_backward(ex, dlogits, logits, target + s * per_target, n, spec.classes,
                                                spatial, n);
        res->losses[s] = loss;
        mtn_model_zero_grad(m);
        mtn_model_backward(m, dlogits);
        if (check) {
            char what[64];
            snprintf(what, sizeof what, "loss of step %d", s);
            double torch = 0;
            for (int k = 0; k < nr; k++) torch = fmax(torch, fabs(loss32[k][s] - loss64[s]) / fabs(loss64[s]));
            judge(t, s == 0 ? FORWARD0 : TRAINED, what, fabs(loss - loss64[s]) / fabs(loss64[s]), torch);
        }
        if (check && s == 0) {
            judge_tensor(t, FORWARD0, &fx, "logits of step 0", "steps/logits0", logits, n_logits);
            double floor_scale = group_floor_scale(&fx, m, "grads0", MTN_TENSOR_PARAM);
            for (int k = 0; k < mtn_model_n_tensors(m); k++) {
                const mtn_tensor_info *ti = mtn_model_tensor(m, k);
                if (ti->kind == MTN_TENSOR_PARAM)
                    judge_summary(t, GRADS0, &fx, "grads0", ti->name, mtn_model_grads(m) + ti->offset, ti->numel,
                                  floor_scale);
            }
        }
        if (strcmp(optimizer, "sgd") == 0) mtn_sgd_step(ex, mtn_model_params(m), st1, mtn_model_grads(m), np, &sgd, s == 0);
        else mtn_adam_step(ex, mtn_model_params(m), st1, st2, mtn_model_grads(m), np, &adam, s + 1);
    }
    if (check) {
        double floor_params = group_floor_scale(&fx, m, "final", MTN_TENSOR_PARAM),
               floor_buffers = group_floor_scale(&fx, m, "final", MTN_TENSOR_BUFFER);
        for (int k = 0; k < mtn_model_n_tensors(m); k++) {
            const mtn_tensor_info *ti = mtn_model_tensor(m, k);
            if (ti->kind == MTN_TENSOR_PARAM)
                judge_summary(t, TRAINED, &fx, "final", ti->name, mtn_model_params(m) + ti->offset, ti->numel,
                              floor_params);
            else if (ti->kind == MTN_TENSOR_BUFFER)
                judge_summary(t, TRAINED, &fx, "final", ti->name, mtn_model_buffers(m) + ti->offset, ti->numel,
                              floor_buffers);
        }
        float *ev_x = fx_f32(&fx, "eval/x", NULL);
        judge_tensor(t, TRAINED, &fx, "eval logits after training", "eval/logits",
                     mtn_model_forward(m, ev_x, n, false, 0, 0), n_logits);
        judge_stages(t, name);
        free(ev_x);
    }
    for (int k = 0; k < nr; k++) free(loss32[k]);
    free(loss64);
    free(t);
    res->n_params = np;
    res->params_after = malloc(sizeof(float) * (size_t)np);
    memcpy(res->params_after, mtn_model_params(m), sizeof(float) * (size_t)np);
    free(dlogits);
    free(st1);
    free(st2);
    free(x);
    free(target);
    mtn_model_free(m);
    mtn_exec_free(ex);
    H5Fclose(fx.f);
}

static const char *const cases[] = {"model_resnet18_sgd", "model_resnet18_adam", "model_unet2d_sgd",
                                    "model_unet2d_adam",  "model_unet3d_adam",   "model_mlp_sgd"};

static void test_models_match_pytorch(void) {
    const char *only = getenv("MTN_MODEL_CASE"); /* to debug one case */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (only && strcmp(only, cases[i]) != 0) continue;
        run_result a, b;
        run_fixture(cases[i], 2, true, &a);
        run_fixture(cases[i], 1, false, &b);
        /* the determinism contract: thread count changes no bit */
        CU_ASSERT_EQUAL(a.n_params, b.n_params);
        CU_ASSERT_EQUAL(memcmp(a.params_after, b.params_after, sizeof(float) * (size_t)a.n_params), 0);
        CU_ASSERT_EQUAL(memcmp(a.losses, b.losses, sizeof a.losses), 0);
        free(a.params_after);
        free(b.params_after);
    }
}

static const mtn_test_case tests[] = {
    {"ResNet-18, U-Nets, MLP: 5 steps of SGD and Adam as PyTorch; 1 = 2 threads", test_models_match_pytorch},
    {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {{"whole models against PyTorch", tests}, {NULL, NULL}};
