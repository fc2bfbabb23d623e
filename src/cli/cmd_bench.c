/* cmd_bench.c — `mtneuro bench`: training-step throughput and peak memory of one
 * model on synthetic data: forward, cross-entropy, backward and an SGD step per
 * step, as tests/ref/bench_torch.py does in PyTorch. Prints one line:
 * model=... size=... batch=... threads=... samples_per_s=... gflops=... peak_mb=... */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "mtn/models.h"

typedef struct {
    mtn_model *model;
    mtn_exec *ex;
    float *x, *dlogits, *momentum;
    int32_t *y;
    int batch, classes;
    int64_t spatial; /* output positions per sample (1 for classification) */
} bench_run;

static void train_step(bench_run *b, bool first) {
    const mtn_model_spec *s = mtn_model_spec_of(b->model);
    const float *logits = mtn_model_forward(b->model, b->x, b->batch, true, 1, 0);
    mtn_xent_forward_backward(b->ex, b->dlogits, logits, b->y, b->batch, b->classes, b->spatial, s->micro);
    mtn_model_zero_grad(b->model);
    mtn_model_backward(b->model, b->dlogits);
    mtn_sgd sgd = {0.01, 0.9, 0.0};
    mtn_sgd_step(b->ex, mtn_model_params(b->model), b->momentum, mtn_model_grads(b->model),
                 mtn_model_n_params(b->model), &sgd, first);
}

int mtn_cmd_bench(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, NULL, 'm'}, {"size", required_argument, NULL, 's'},
                                         {"depth", required_argument, NULL, 'd'}, {"batch", required_argument, NULL, 'b'},
                                         {"micro", required_argument, NULL, 'u'}, {"threads", required_argument, NULL, 't'},
                                         {"steps", required_argument, NULL, 'n'}, {"warmup", required_argument, NULL, 'w'},
                                         {"profile", no_argument, NULL, 'P'},
                                         {NULL, 0, NULL, 0}};
    const char *model = NULL;
    int size = 0, depth = 8, batch = 8, micro = 0, threads = 2, steps = 5, warmup = 2, rc = MTN_OK, c;
    bool profile = false;
    optind = 1;
    opterr = 0;
    while (rc == MTN_OK && (c = getopt_long(argc, argv, "m:s:d:b:u:t:n:w:P", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 's': rc = mtn_cli_int("bench", "--size", optarg, 8, 4096, &size); break;
        case 'd': rc = mtn_cli_int("bench", "--depth", optarg, 1, 512, &depth); break;
        case 'b': rc = mtn_cli_int("bench", "--batch", optarg, 1, 4096, &batch); break;
        case 'u': rc = mtn_cli_int("bench", "--micro", optarg, 1, 4096, &micro); break;
        case 't': rc = mtn_cli_int("bench", "--threads", optarg, 1, 64, &threads); break;
        case 'n': rc = mtn_cli_int("bench", "--steps", optarg, 1, 100000, &steps); break;
        case 'w': rc = mtn_cli_int("bench", "--warmup", optarg, 0, 1000, &warmup); break;
        case 'P': profile = true; break;
        default: rc = mtn_error_set(MTN_EUSAGE, "bench: unknown or incomplete option \"%s\"", argv[optind - 1]);
        }
    }
    mtn_model_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.in_channels = 1;
    spec.classes = 4;
    spec.head = true;
    spec.n_blocks = 4;
    spec.start_filters = 32;
    if (!rc && !model) rc = mtn_error_set(MTN_EUSAGE, "bench: expected --model resnet18, unet2d or unet3d");
    if (!rc) {
        if (strcmp(model, "resnet18") == 0) {
            spec.arch = MTN_ARCH_RESNET18;
            if (!size) size = 64;
        } else if (strcmp(model, "unet2d") == 0 || strcmp(model, "unet3d") == 0) {
            spec.arch = MTN_ARCH_UNET;
            spec.dims = model[4] == '3' ? 3 : 2;
            if (!size) size = spec.dims == 3 ? 128 : 256;
        } else {
            rc = mtn_error_set(MTN_EUSAGE, "bench: --model: expected resnet18, unet2d or unet3d, found \"%s\"", model);
        }
    }
    if (!rc && micro && batch % micro) rc = mtn_error_set(MTN_EUSAGE, "bench: --micro must divide --batch");
    if (rc) return mtn_cli_fail(rc, true);
    spec.batch = batch;
    spec.micro = micro ? micro : batch;
    spec.height = spec.width = size;
    spec.depth = spec.dims == 3 ? depth : 1;

    mtn_exec *ex = NULL;
    mtn_model *m = NULL;
    bench_run b;
    memset(&b, 0, sizeof b);
    rc = mtn_exec_create(threads, &ex);
    if (!rc) rc = mtn_model_create(&spec, ex, &m);
    if (rc) {
        mtn_model_free(m);
        mtn_exec_free(ex);
        return mtn_cli_fail(rc, true);
    }
    mtn_model_init(m, 1);
    b.model = m;
    b.ex = ex;
    b.batch = batch;
    b.classes = spec.classes;
    int64_t in_numel = (int64_t)batch * spec.in_channels * spec.depth * size * size;
    b.spatial = spec.arch == MTN_ARCH_UNET ? (int64_t)spec.depth * size * size : 1;
    b.x = malloc(sizeof(float) * (size_t)in_numel);
    b.y = malloc(sizeof(int32_t) * (size_t)(batch * b.spatial));
    b.dlogits = malloc(sizeof(float) * (size_t)(batch * b.spatial * spec.classes));
    b.momentum = calloc((size_t)mtn_model_n_params(m), sizeof(float));
    if (!b.x || !b.y || !b.dlogits || !b.momentum) {
        rc = mtn_error_set(MTN_ENOMEM, "bench: out of memory");
    } else {
        mtn_rng r;
        mtn_rng_init(&r, 1, MTN_STREAM_AUGMENT, 0);
        for (int64_t i = 0; i < in_numel; i++) b.x[i] = mtn_rng_uniformf(&r);
        for (int64_t i = 0; i < batch * b.spatial; i++) b.y[i] = (int32_t)mtn_rng_below(&r, (uint32_t)spec.classes);
        for (int i = 0; i < warmup; i++) train_step(&b, i == 0);
        mtn_model_profile(m, profile);
        double t0 = mtn_now();
        for (int i = 0; i < steps; i++) train_step(&b, warmup == 0 && i == 0);
        double dt = mtn_now() - t0;
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        double sps = (double)batch * steps / dt;
        printf("model=%s size=%d depth=%d batch=%d threads=%d samples_per_s=%.3f gflops=%.1f peak_mb=%.1f "
               "step_s=%.4f\n",
               model, size, spec.depth, batch, threads, sps, mtn_model_train_flops(m) * sps / 1e9,
               (double)ru.ru_maxrss / 1024.0, dt / steps);
        if (profile) mtn_model_print_profile(m, stdout);
    }
    free(b.x);
    free(b.y);
    free(b.dlogits);
    free(b.momentum);
    mtn_model_free(m);
    mtn_exec_free(ex);
    return rc ? mtn_cli_fail(rc, true) : 0;
}
