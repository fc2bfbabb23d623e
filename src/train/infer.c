/* infer.c — a checkpoint's model in eval mode over an HDF5 array (see train.h):
 * check the input's shape against the checkpoint, run it a batch at a time, write
 * /y to a temporary file and rename it into place. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtn/h5.h"
#include "mtn/train.h"

/* The input's rank and sizes against the model; fills the spec's input sizes. */
static int check_input(const mtn_infer_opts *o, mtn_model_spec *s, int rank, const int64_t *d) {
    const char *arch = mtn_arch_name(s);
    int want = s->arch == MTN_ARCH_MLP ? 2 : s->arch == MTN_ARCH_UNET && s->dims == 3 ? 5 : 4;
    if (rank != want)
        return mtn_error_set(MTN_EDATA, "%s: /x: expected %d dimensions %s for a %s checkpoint, found %d", o->input,
                             want,
                             want == 2   ? "(N, features)"
                             : want == 5 ? "(N, C, D, H, W)"
                                         : "(N, C, H, W)",
                             arch, rank);
    for (int k = 0; k < rank; k++)
        if (d[k] < 1 || d[k] > (1 << 24))
            return mtn_error_set(MTN_EDATA, "%s: /x: dimension %d is %lld; expected 1 to %d", o->input, k,
                                 (long long)d[k], 1 << 24);
    int channels = s->arch == MTN_ARCH_MLP ? s->mlp_in : s->in_channels;
    if (d[1] != channels)
        return mtn_error_set(MTN_EDATA, "%s: /x: %lld %s, but the checkpoint %s expects %d", o->input,
                             (long long)d[1], s->arch == MTN_ARCH_MLP ? "features" : "channels", o->checkpoint, channels);
    if (s->arch == MTN_ARCH_UNET) {
        int64_t unit = (int64_t)1 << (s->n_blocks - 1);
        for (int k = 2; k < rank; k++)
            if (d[k] % unit)
                return mtn_error_set(MTN_EDATA,
                                     "%s: /x: size %lld of dimension %d is not a multiple of %lld (a %d-level U-Net "
                                     "halves it %d times)",
                                     o->input, (long long)d[k], k, (long long)unit, s->n_blocks, s->n_blocks - 1);
    }
    if (o->embedding && s->arch != MTN_ARCH_RESNET18)
        return mtn_error_set(MTN_EUSAGE, "infer: --embedding needs a resnet18 checkpoint; %s is a %s", o->checkpoint,
                             arch);
    if (s->arch != MTN_ARCH_MLP) {
        s->height = (int)d[rank - 2];
        s->width = (int)d[rank - 1];
        s->depth = rank == 5 ? (int)d[2] : 1;
    }
    if (s->arch == MTN_ARCH_RESNET18 && !o->embedding && !s->head)
        return mtn_error_set(MTN_EDATA, "%s: an encoder without its head has no logits; use --embedding",
                             o->checkpoint);
    if (o->embedding) s->head = false;
    return MTN_OK;
}

/* Runs the model over all n samples of x into y, `batch` at a time. */
static void run_batches(mtn_model *m, const float *x, int64_t n, int batch, int64_t in_per, float *y,
                        int64_t out_per) {
    for (int64_t at = 0; at < n; at += batch) {
        int b = (int)(n - at < batch ? n - at : batch);
        const float *out = mtn_model_forward(m, x + at * in_per, b, false, 0, 0);
        MTN_ASSERT(mtn_dims_numel(mtn_model_out_dims(m)) == out_per * b);
        memcpy(y + at * out_per, out, sizeof(float) * (size_t)(out_per * b));
    }
}

/* Writes /y (and what it is) to a temporary file renamed to `path`. */
static int write_output(const mtn_infer_opts *o, const char *arch, const int64_t *dims, int rank, const float *y) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", o->output, (int)getpid());
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return mtn_error_set(MTN_EIO, "%s: cannot create the output file", o->output);
    int rc = mtn_h5_write_f32(f, "y", rank, dims, y);
    if (!rc) rc = mtn_h5_write_str(f, "model", arch);
    if (!rc) rc = mtn_h5_write_str(f, "output", o->embedding ? "embedding" : "logits");
    if (!rc) rc = mtn_h5_write_str(f, "checkpoint", o->checkpoint);
    if (!rc) rc = mtn_h5_write_str(f, "input", o->input);
    if (rc) mtn_error_prefix(o->output);
    if (H5Fclose(f) < 0 && !rc) rc = mtn_error_set(MTN_EIO, "%s: cannot close the output file", o->output);
    if (!rc && rename(tmp, o->output) != 0) rc = mtn_error_set(MTN_EIO, "%s: cannot move the output into place", o->output);
    if (rc) unlink(tmp);
    return rc;
}

int mtn_infer(const mtn_infer_opts *o) {
    mtn_model_spec spec;
    int rc = mtn_checkpoint_read_spec(o->checkpoint, &spec);
    if (rc) return rc;
    mtn_h5_quiet();
    hid_t f = H5Fopen(o->input, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return mtn_error_set(MTN_EIO, "%s: cannot open the input (expected an HDF5 file with /x)", o->input);
    int rank = 0;
    int64_t dims[MTN_H5_MAX_RANK];
    float *x = NULL, *y = NULL;
    rc = mtn_h5_read_f32(f, "x", &rank, dims, &x);
    H5Fclose(f);
    if (rc) return mtn_error_prefix(o->input);
    rc = check_input(o, &spec, rank, dims);
    int64_t n = rank ? dims[0] : 0, in_per = 1;
    for (int k = 1; k < rank; k++) in_per *= dims[k];
    int batch = (int)(n < o->batch ? n : o->batch);
    spec.batch = batch;
    spec.micro = 1; /* any last batch size; eval mode has no batch statistics */
    mtn_exec *ex = NULL;
    mtn_model *m = NULL;
    if (!rc) rc = mtn_exec_create(o->threads, &ex);
    if (!rc) rc = mtn_model_create(&spec, ex, &m);
    if (!rc) rc = mtn_checkpoint_load(o->checkpoint, m, o->embedding);
    /* the output's shape: logits per sample (per voxel for a U-Net) or the embedding */
    int64_t odims[6] = {n, spec.arch == MTN_ARCH_MLP ? spec.mlp_out : o->embedding ? 512 : spec.classes};
    int orank = 2;
    for (int k = 2; spec.arch == MTN_ARCH_UNET && k < rank; k++) odims[orank++] = dims[k];
    int64_t out_per = 1;
    for (int k = 1; k < orank; k++) out_per *= odims[k];
    if (!rc && !(y = malloc(sizeof(float) * (size_t)(out_per * n))))
        rc = mtn_error_set(MTN_ENOMEM, "infer: out of memory for %lld outputs", (long long)(out_per * n));
    if (!rc) {
        run_batches(m, x, n, batch, in_per, y, out_per);
        rc = write_output(o, mtn_arch_name(&spec), odims, orank, y);
    }
    free(x);
    free(y);
    mtn_model_free(m);
    mtn_exec_free(ex);
    return rc;
}
