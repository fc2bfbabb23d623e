/* test_checkpoint.c — checkpoints and inference from C:
 *  - every model (trained two steps, so BN statistics and counters moved) saves and
 *    loads back to identical bits, and its spec comes back from the attributes;
 *  - saving leaves no temporary file; an unwritable path is MTN_EIO naming it;
 *  - loading names the missing tensor, the wrong shape, the tensor the model lacks
 *    (allowed with allow_extra: a full ResNet-18 into an encoder);
 *  - mtn_infer: logits equal the model's eval forward, --embedding equals the encoder's
 *    (both bit for bit, micro-batches of one sample), for ResNet-18 and the MLP. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mtn/h5.h"
#include "mtn/train.h"
#include "tiny_models.h"

static bool leftover_tmp_files(void) {
    DIR *d = opendir(mtn_test_tmpdir());
    bool found = false;
    for (struct dirent *e; d && (e = readdir(d));) found |= strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return found;
}

/* a model of the checkpoint's architecture with like's sizes (and like's `head`: a
 * ResNet-18 checkpoint loads into an encoder), loaded from path */
static mtn_model *reload(const char *path, const mtn_model_spec *like, mtn_exec *ex, bool allow_extra) {
    mtn_model_spec s;
    if (mtn_checkpoint_read_spec(path, &s) != 0) return NULL;
    s.batch = like->batch;
    s.micro = like->micro;
    s.depth = like->depth;
    s.height = like->height;
    s.width = like->width;
    s.head = like->head;
    mtn_model *m = NULL;
    if (mtn_model_create(&s, ex, &m) != 0 || mtn_checkpoint_load(path, m, allow_extra) != 0) {
        mtn_model_free(m);
        return NULL;
    }
    return m;
}

static void test_round_trip(void) {
    for (int which = 0; which < TINY_COUNT; which++) {
        tiny_run r;
        if (!tiny_open(&r, which, 2, 2)) continue;
        tiny_step(&r, 0);
        tiny_step(&r, 1);
        const char *path = mtn_test_path("ck.h5");
        CU_ASSERT_EQUAL_FATAL(mtn_checkpoint_save(path, r.m), 0);
        CU_ASSERT(!leftover_tmp_files());
        const mtn_model_spec *a = mtn_model_spec_of(r.m);
        mtn_model_spec s;
        CU_ASSERT_EQUAL_FATAL(mtn_checkpoint_read_spec(path, &s), 0);
        CU_ASSERT(s.arch == a->arch && s.in_channels == a->in_channels && s.head == a->head);
        if (a->arch != MTN_ARCH_MLP) CU_ASSERT_EQUAL(s.classes, a->classes);
        if (a->arch == MTN_ARCH_UNET)
            CU_ASSERT(s.dims == a->dims && s.n_blocks == a->n_blocks && s.start_filters == a->start_filters);
        if (a->arch == MTN_ARCH_MLP)
            CU_ASSERT(s.mlp_in == a->mlp_in && s.mlp_hidden == a->mlp_hidden && s.mlp_out == a->mlp_out);
        mtn_model *b = reload(path, a, r.ex, false);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        CU_ASSERT_EQUAL(mtn_model_n_params(b), mtn_model_n_params(r.m));
        CU_ASSERT_EQUAL(memcmp(mtn_model_params(b), mtn_model_params(r.m),
                               sizeof(float) * (size_t)mtn_model_n_params(b)), 0);
        CU_ASSERT_EQUAL(memcmp(mtn_model_buffers(b), mtn_model_buffers(r.m),
                               sizeof(float) * (size_t)mtn_model_n_buffers(b)), 0);
        CU_ASSERT_EQUAL(memcmp(mtn_model_counters(b), mtn_model_counters(r.m),
                               sizeof(int64_t) * (size_t)mtn_model_n_counters(b)), 0);
        if (mtn_model_n_counters(b)) CU_ASSERT_EQUAL(mtn_model_counters(b)[0], 2);
        mtn_model_free(b);
        tiny_close(&r);
    }
}

/* a copy of checkpoint src at dst without tensor `drop`, with tensor `reshape` of
 * shape (1), and with an extra tensor `add` (each may be NULL) */
static void copy_checkpoint(const char *src, const char *dst, const char *drop, const char *reshape,
                            const char *add) {
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    char buf[65536];
    for (size_t n; in && out && (n = fread(buf, 1, sizeof buf, in)) > 0;) fwrite(buf, 1, n, out);
    if (in) fclose(in);
    if (out) fclose(out);
    hid_t f = H5Fopen(dst, H5F_ACC_RDWR, H5P_DEFAULT);
    float one = 1;
    int64_t dims[1] = {1};
    if (drop) H5Ldelete(f, drop, H5P_DEFAULT);
    if (reshape) {
        H5Ldelete(f, reshape, H5P_DEFAULT);
        mtn_h5_write_f32(f, reshape, 1, dims, &one);
    }
    if (add) mtn_h5_write_f32(f, add, 1, dims, &one);
    H5Fclose(f);
}

static void expect_load_error(const char *path, const mtn_model_spec *like, mtn_exec *ex, const char *text) {
    mtn_model *m = reload(path, like, ex, false);
    CU_ASSERT_PTR_NULL(m);
    if (!strstr(mtn_error_message(), text) || !strstr(mtn_error_message(), path))
        fprintf(stderr, "\nexpected \"%s\" naming %s, got \"%s\"", text, path, mtn_error_message());
    CU_ASSERT(strstr(mtn_error_message(), text) != NULL && strstr(mtn_error_message(), path) != NULL);
    mtn_model_free(m);
}

static void test_broken_checkpoints(void) {
    tiny_run r;
    if (!tiny_open(&r, TINY_UNET2D, 2, 1)) return;
    const mtn_model_spec *s = mtn_model_spec_of(r.m);
    const char *good = mtn_test_path("good.h5"), *bad = mtn_test_path("bad.h5");
    CU_ASSERT_EQUAL_FATAL(mtn_checkpoint_save(good, r.m), 0);
    copy_checkpoint(good, bad, "conv_final.bias", NULL, NULL);
    expect_load_error(bad, s, r.ex, "tensor conv_final.bias is missing");
    copy_checkpoint(good, bad, NULL, "conv_final.weight", NULL);
    expect_load_error(bad, s, r.ex, "tensor conv_final.weight: expected shape (3x4x1x1), found (1)");
    copy_checkpoint(good, bad, NULL, NULL, "fc.weight");
    expect_load_error(bad, s, r.ex, "tensor fc.weight is not part of a unet2d model");
    expect_load_error(mtn_test_path("absent.h5"), s, r.ex, "cannot open the checkpoint");
    CU_ASSERT_EQUAL(mtn_checkpoint_save(mtn_test_path("no/such/dir/ck.h5"), r.m), MTN_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "no/such/dir/ck.h5"));
    CU_ASSERT(!leftover_tmp_files());
    tiny_close(&r);
}

/* x to X.h5:/x, mtn_infer, /y back (malloc'd) */
static float *infer(const char *ck, const float *x, int rank, const int64_t *dims, bool embedding, int batch,
                    int64_t *count) {
    const char *xin = mtn_test_path("x.h5"), *yout = mtn_test_path("y.h5");
    hid_t f = H5Fcreate(xin, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_EQUAL(mtn_h5_write_f32(f, "x", rank, dims, x), 0);
    H5Fclose(f);
    mtn_infer_opts o = {ck, xin, yout, embedding, batch, 2};
    int rc = mtn_infer(&o);
    if (rc) fprintf(stderr, "\ninfer: %s", mtn_error_message());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    f = H5Fopen(yout, H5F_ACC_RDONLY, H5P_DEFAULT);
    int yrank;
    int64_t yd[MTN_H5_MAX_RANK];
    float *y = NULL;
    CU_ASSERT_EQUAL(mtn_h5_read_f32(f, "y", &yrank, yd, &y), 0);
    H5Fclose(f);
    *count = 1;
    for (int k = 0; k < yrank; k++) *count *= yd[k];
    return y;
}

static void test_infer_matches_forward(void) {
    const int which[] = {TINY_RESNET, TINY_MLP};
    for (int w = 0; w < 2; w++) {
        tiny_run r;
        if (!tiny_open(&r, which[w], 3, 2)) continue;
        tiny_step(&r, 0); /* moves BN's running statistics */
        const mtn_model_spec *s = mtn_model_spec_of(r.m);
        const char *ck = mtn_test_path("infer_ck.h5");
        CU_ASSERT_EQUAL_FATAL(mtn_checkpoint_save(ck, r.m), 0);
        int64_t dims[4] = {3, s->arch == MTN_ARCH_MLP ? s->mlp_in : 1, s->height, s->width}, n;
        int rank = s->arch == MTN_ARCH_MLP ? 2 : 4;
        /* infer runs micro-batches of one sample (so --batch changes no bit): the
         * reference is the same model with micro-batches of one */
        mtn_model_spec one = *s;
        one.micro = 1;
        mtn_model *ref = reload(ck, &one, r.ex, false);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
        const float *want = mtn_model_forward(ref, r.x, 3, false, 0, 0);
        float *y = infer(ck, r.x, rank, dims, false, 2, &n);
        CU_ASSERT_EQUAL(n, mtn_dims_numel(mtn_model_out_dims(ref)));
        CU_ASSERT(y && memcmp(y, want, sizeof(float) * (size_t)n) == 0);
        free(y);
        mtn_model_free(ref);
        if (s->arch == MTN_ARCH_RESNET18) { /* the encoder of the same checkpoint */
            mtn_model_spec es = *s;
            es.head = false;
            es.micro = 1;
            mtn_model *enc = reload(ck, &es, r.ex, true);
            CU_ASSERT_PTR_NOT_NULL_FATAL(enc);
            mtn_model *strict = reload(ck, &es, r.ex, false); /* fc.* is extra */
            CU_ASSERT_PTR_NULL(strict);
            CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "tensor fc.bias is not part of a resnet18 model"));
            mtn_model_free(strict);
            const float *emb = mtn_model_forward(enc, r.x, 3, false, 0, 0);
            y = infer(ck, r.x, rank, dims, true, 1, &n);
            CU_ASSERT_EQUAL(n, 3 * 512);
            CU_ASSERT(y && memcmp(y, emb, sizeof(float) * 3 * 512) == 0);
            free(y);
            mtn_model_free(enc);
        }
        tiny_close(&r);
    }
}

/* The training state: round trip of every field, then a resume refused for another
 * run's fingerprint, a checkpoint without /train_state, and a damaged one. */
static void test_training_state(void) {
    tiny_run r;
    if (!tiny_open(&r, TINY_RESNET, 2, 1)) return;
    tiny_step(&r, 0);
    int64_t np = mtn_model_n_params(r.m);
    float *mom = malloc(sizeof(float) * (size_t)np), *mom2 = calloc((size_t)np, sizeof(float));
    for (int64_t i = 0; i < np; i++) mom[i] = (float)i * 0.25f - 3.0f;
    static mtn_train_state st, back;
    memset(&st, 0, sizeof st);
    snprintf(st.fingerprint, sizeof st.fingerprint, "run=a seed=1");
    st.step = 7;
    st.epochs_done = 2;
    st.epoch_loss_sum = 1.0 / 3.0;
    st.train_loss[0] = 1.5, st.train_loss[1] = 0.75, st.val_accuracy[0] = 0.25, st.val_accuracy[1] = 0.5;
    st.momentum = mom;
    char result[40] = "the result bytes", result2[40] = "";
    st.done = 1;
    st.result = result;
    st.result_bytes = sizeof result;
    const char *ck = mtn_test_path("state.h5");
    CU_ASSERT_EQUAL_FATAL(mtn_checkpoint_save_state(ck, r.m, &st), 0);
    memset(&back, 0, sizeof back);
    snprintf(back.fingerprint, sizeof back.fingerprint, "run=a seed=1");
    back.momentum = mom2;
    back.result = result2;
    back.result_bytes = sizeof result2;
    CU_ASSERT_EQUAL(mtn_checkpoint_load_state(ck, r.m, &back), 0);
    CU_ASSERT_EQUAL(back.step, 7);
    CU_ASSERT_EQUAL(back.epochs_done, 2);
    CU_ASSERT_EQUAL(back.done, 1);
    CU_ASSERT(back.epoch_loss_sum == 1.0 / 3.0 && back.train_loss[1] == 0.75 && back.val_accuracy[1] == 0.5);
    CU_ASSERT(memcmp(mom, mom2, sizeof(float) * (size_t)np) == 0);
    CU_ASSERT_STRING_EQUAL(result2, "the result bytes");
    /* another run's checkpoint */
    snprintf(back.fingerprint, sizeof back.fingerprint, "run=b seed=1");
    CU_ASSERT_EQUAL(mtn_checkpoint_load_state(ck, r.m, &back), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "belongs to another run"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), ck));
    /* weights only: not resumable */
    const char *plain = mtn_test_path("plain.h5");
    CU_ASSERT_EQUAL_FATAL(mtn_checkpoint_save(plain, r.m), 0);
    CU_ASSERT_EQUAL(mtn_checkpoint_load_state(plain, r.m, &back), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "no /train_state"));
    /* a momentum buffer of the wrong size */
    snprintf(back.fingerprint, sizeof back.fingerprint, "run=a seed=1");
    hid_t f = H5Fopen(ck, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "train_state/momentum", H5P_DEFAULT);
    int64_t one_dim[1] = {3};
    float three[3] = {0};
    mtn_h5_write_f32(f, "train_state/momentum", 1, one_dim, three);
    H5Fclose(f);
    CU_ASSERT_EQUAL(mtn_checkpoint_load_state(ck, r.m, &back), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "wrong size"));
    CU_ASSERT(!leftover_tmp_files());
    free(mom);
    free(mom2);
    tiny_close(&r);
}

static const mtn_test_case tests[] = {
    {"training state: round trip, another run's fingerprint, none, damaged", test_training_state},
    {"every model saves and loads to identical bits; spec from attributes", test_round_trip},
    {"broken checkpoints: missing tensor, wrong shape, extra tensor, absent file, unwritable", test_broken_checkpoints},
    {"infer: logits and embeddings equal the models' eval forward, bit for bit", test_infer_matches_forward},
    {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {{"checkpoints and inference", tests}, {NULL, NULL}};
