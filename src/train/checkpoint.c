/* checkpoint.c — model weights in HDF5 under PyTorch's state_dict names and
 * shapes (see train.h), written atomically. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtn/h5.h"
#include "mtn/train.h"

/* an integer attribute, or `fallback` when absent */
static int read_int_attr(hid_t f, const char *name, int64_t fallback, int64_t *out) {
    *out = fallback;
    return mtn_h5_has_attr(f, name) ? mtn_h5_read_i64(f, name, out) : MTN_OK;
}

int mtn_checkpoint_read_spec(const char *path, mtn_model_spec *spec) {
    mtn_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return mtn_error_set(MTN_EIO, "%s: cannot open the checkpoint", path);
    char *model = NULL;
    int rc = MTN_OK;
    if (mtn_h5_read_str(f, "model", &model) != MTN_OK)
        rc = mtn_error_set(MTN_EDATA, "%s: expected a root attribute \"model\" (resnet18, unet2d, unet3d or mlp)", path);
    memset(spec, 0, sizeof *spec);
    int64_t v;
    if (!rc) {
        if (strcmp(model, "resnet18") == 0) spec->arch = MTN_ARCH_RESNET18;
        else if (strcmp(model, "unet2d") == 0 || strcmp(model, "unet3d") == 0) {
            spec->arch = MTN_ARCH_UNET;
            spec->dims = model[4] == '3' ? 3 : 2;
        } else if (strcmp(model, "mlp") == 0) spec->arch = MTN_ARCH_MLP;
        else rc = mtn_error_set(MTN_EDATA, "%s: model \"%s\": expected resnet18, unet2d, unet3d or mlp", path, model);
    }
    struct {
        const char *name;
        int64_t fallback;
        int *dst;
    } ints[] = {{"in_channels", 1, &spec->in_channels}, {"classes", 4, &spec->classes},
                {"n_blocks", 4, &spec->n_blocks},    {"start_filters", 32, &spec->start_filters},
                {"mlp_in", 0, &spec->mlp_in},        {"mlp_hidden", 0, &spec->mlp_hidden},
                {"mlp_out", 0, &spec->mlp_out}};
    for (size_t i = 0; !rc && i < sizeof ints / sizeof ints[0]; i++) {
        if (read_int_attr(f, ints[i].name, ints[i].fallback, &v) != 0 || v < 0 || v > 1 << 24)
            rc = mtn_error_set(MTN_EDATA, "%s: attribute %s: expected a non-negative integer", path, ints[i].name);
        else *ints[i].dst = (int)v;
    }
    if (!rc) {
        int64_t head = -1;
        read_int_attr(f, "head", -1, &head);
        spec->head = head < 0 ? H5Lexists(f, "fc.weight", H5P_DEFAULT) > 0 : head != 0;
    }
    free(model);
    H5Fclose(f);
    return rc;
}

static const char *arch_attr(const mtn_model_spec *s) { return mtn_arch_name(s); }

/* A 1-D dataset of n elements (n may be 0). */
static int write_1d(hid_t g, const char *name, hid_t file_type, hid_t mem_type, int64_t n, const void *data) {
    hsize_t dims[1] = {(hsize_t)n};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t d = H5Dcreate2(g, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int bad = d < 0 || (n > 0 && H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0);
    if (d >= 0) H5Dclose(d);
    H5Sclose(space);
    return bad;
}

/* Reads a 1-D dataset of exactly n elements. */
static int read_1d(hid_t g, const char *name, hid_t mem_type, int64_t n, void *data) {
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0) return 1;
    hid_t space = H5Dget_space(d);
    hsize_t dims[1] = {0};
    int ok = H5Sget_simple_extent_ndims(space) == 1 && H5Sget_simple_extent_dims(space, dims, NULL) == 1 &&
             dims[0] == (hsize_t)n && (n == 0 || H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Sclose(space);
    H5Dclose(d);
    return !ok;
}

static int write_state(hid_t f, mtn_model *m, const mtn_train_state *st) {
    hid_t g = H5Gcreate2(f, "train_state", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) return 1;
    int bad = mtn_h5_write_str(g, "fingerprint", st->fingerprint);
    bad |= mtn_h5_write_i64(g, "step", st->step);
    bad |= mtn_h5_write_i64(g, "epochs_done", st->epochs_done);
    bad |= mtn_h5_write_i64(g, "done", st->done);
    bad |= write_1d(g, "epoch_loss_sum", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &st->epoch_loss_sum);
    bad |= write_1d(g, "train_loss", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, st->epochs_done, st->train_loss);
    bad |= write_1d(g, "val_accuracy", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, st->epochs_done, st->val_accuracy);
    bad |= write_1d(g, "momentum", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, mtn_model_n_params(m), st->momentum);
    if (st->second_moment)
        bad |= write_1d(g, "second_moment", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, mtn_model_n_params(m),
                        st->second_moment);
    if (st->done) bad |= write_1d(g, "result", H5T_STD_U8LE, H5T_NATIVE_UINT8, st->result_bytes, st->result);
    H5Gclose(g);
    return bad;
}

static int save_file(const char *path, mtn_model *m, const mtn_train_state *st) {
    mtn_h5_quiet();
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return mtn_error_set(MTN_EIO, "%s: cannot create the checkpoint", tmp);
    const mtn_model_spec *s = mtn_model_spec_of(m);
    int bad = mtn_h5_write_str(f, "model", arch_attr(s));
    bad |= mtn_h5_write_i64(f, "in_channels", s->in_channels);
    bad |= mtn_h5_write_i64(f, "classes", s->classes);
    bad |= mtn_h5_write_i64(f, "head", s->head);
    if (s->arch == MTN_ARCH_UNET) {
        bad |= mtn_h5_write_i64(f, "n_blocks", s->n_blocks);
        bad |= mtn_h5_write_i64(f, "start_filters", s->start_filters);
    }
    if (s->arch == MTN_ARCH_MLP) {
        bad |= mtn_h5_write_i64(f, "mlp_in", s->mlp_in);
        bad |= mtn_h5_write_i64(f, "mlp_hidden", s->mlp_hidden);
        bad |= mtn_h5_write_i64(f, "mlp_out", s->mlp_out);
    }
    for (int i = 0; i < mtn_model_n_tensors(m) && !bad; i++) {
        const mtn_tensor_info *t = mtn_model_tensor(m, i);
        hsize_t dims[5];
        for (int k = 0; k < t->ndim; k++) dims[k] = (hsize_t)t->shape[k];
        hid_t space = t->ndim ? H5Screate_simple(t->ndim, dims, NULL) : H5Screate(H5S_SCALAR);
        bool counter = t->kind == MTN_TENSOR_COUNTER;
        hid_t d = H5Dcreate2(f, t->name, counter ? H5T_STD_I64LE : H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT);
        const void *src = counter ? (const void *)(mtn_model_counters(m) + t->offset)
                          : t->kind == MTN_TENSOR_BUFFER ? (const void *)(mtn_model_buffers(m) + t->offset)
                                                         : (const void *)(mtn_model_params(m) + t->offset);
        if (d < 0 || H5Dwrite(d, counter ? H5T_NATIVE_INT64 : H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, src) < 0)
            bad = 1;
        if (d >= 0) H5Dclose(d);
        H5Sclose(space);
    }
    if (!bad && st) bad = write_state(f, m, st);
    if (H5Fclose(f) < 0) bad = 1;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return mtn_error_set(MTN_EIO, "%s: cannot write the checkpoint", path);
    }
    return MTN_OK;
}

int mtn_checkpoint_save(const char *path, mtn_model *m) { return save_file(path, m, NULL); }

int mtn_checkpoint_save_state(const char *path, mtn_model *m, const mtn_train_state *st) {
    MTN_ASSERT(st->epochs_done >= 0 && st->epochs_done <= 1024);
    return save_file(path, m, st);
}

typedef struct {
    mtn_model *m;
    const char *path;
    bool allow_extra;
    int rc;
} extra_ctx;

static herr_t check_extra(hid_t g, const char *name, const H5L_info_t *info, void *p) {
    (void)g;
    (void)info;
    extra_ctx *c = p;
    if (c->rc || strcmp(name, "train_state") == 0) return 0;
    if (mtn_model_find_tensor(c->m, name) < 0 && !c->allow_extra)
        c->rc = mtn_error_set(MTN_EDATA, "%s: tensor %s is not part of a %s model", c->path, name,
                              mtn_arch_name(mtn_model_spec_of(c->m)));
    return 0;
}

int mtn_checkpoint_load(const char *path, mtn_model *m, bool allow_extra) {
    mtn_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return mtn_error_set(MTN_EIO, "%s: cannot open the checkpoint", path);
    int rc = MTN_OK;
    for (int i = 0; i < mtn_model_n_tensors(m) && !rc; i++) {
        const mtn_tensor_info *t = mtn_model_tensor(m, i);
        hid_t d = H5Dopen2(f, t->name, H5P_DEFAULT);
        if (d < 0) {
            rc = mtn_error_set(MTN_EDATA, "%s: tensor %s is missing", path, t->name);
            break;
        }
        hid_t space = H5Dget_space(d);
        int nd = H5Sget_simple_extent_ndims(space);
        hsize_t dims[8] = {0};
        H5Sget_simple_extent_dims(space, dims, NULL);
        bool same = nd == t->ndim;
        for (int k = 0; same && k < nd; k++) same = dims[k] == (hsize_t)t->shape[k];
        if (!same) {
            char want[64] = "", got[64] = "";
            for (int k = 0; k < t->ndim; k++)
                snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", k ? "x" : "", (long long)t->shape[k]);
            for (int k = 0; k < nd && k < 8; k++)
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%llu", k ? "x" : "", (unsigned long long)dims[k]);
            rc = mtn_error_set(MTN_EDATA, "%s: tensor %s: expected shape (%s), found (%s)", path, t->name, want, got);
        } else {
            bool counter = t->kind == MTN_TENSOR_COUNTER;
            void *dst = counter ? (void *)(mtn_model_counters(m) + t->offset)
                        : t->kind == MTN_TENSOR_BUFFER ? (void *)(mtn_model_buffers(m) + t->offset)
                                                       : (void *)(mtn_model_params(m) + t->offset);
            if (H5Dread(d, counter ? H5T_NATIVE_INT64 : H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0)
                rc = mtn_error_set(MTN_EIO, "%s: cannot read tensor %s", path, t->name);
        }
        H5Sclose(space);
        H5Dclose(d);
    }
    if (!rc) {
        extra_ctx c = {m, path, allow_extra, MTN_OK};
        H5Literate(f, H5_INDEX_NAME, H5_ITER_INC, NULL, check_extra, &c);
        rc = c.rc;
    }
    H5Fclose(f);
    return rc;
}

int mtn_checkpoint_load_state(const char *path, mtn_model *m, mtn_train_state *st) {
    int rc = mtn_checkpoint_load(path, m, false);
    if (rc) return rc;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return mtn_error_set(MTN_EIO, "%s: cannot open the checkpoint", path);
    hid_t g = H5Gopen2(f, "train_state", H5P_DEFAULT);
    char *fp = NULL;
    int64_t step = 0, epochs = 0, done = 0;
    if (g < 0) rc = mtn_error_set(MTN_EDATA, "%s: no /train_state: not a resumable checkpoint", path);
    if (!rc && (mtn_h5_read_str(g, "fingerprint", &fp) || mtn_h5_read_i64(g, "step", &step) ||
                mtn_h5_read_i64(g, "epochs_done", &epochs) || mtn_h5_read_i64(g, "done", &done) || step < 0 ||
                epochs < 0 || epochs > 1024))
        rc = mtn_error_set(MTN_EDATA, "%s: /train_state: damaged attributes (fingerprint, step, epochs_done, done)",
                           path);
    if (!rc && strcmp(fp, st->fingerprint) != 0)
        rc = mtn_error_set(MTN_EDATA, "%s: the checkpoint belongs to another run: %s (this run: %s)", path, fp,
                           st->fingerprint);
    if (!rc) {
        st->step = step;
        st->epochs_done = epochs;
        st->done = (int)done;
        if (read_1d(g, "epoch_loss_sum", H5T_NATIVE_DOUBLE, 1, &st->epoch_loss_sum) ||
            read_1d(g, "train_loss", H5T_NATIVE_DOUBLE, epochs, st->train_loss) ||
            read_1d(g, "val_accuracy", H5T_NATIVE_DOUBLE, epochs, st->val_accuracy) ||
            read_1d(g, "momentum", H5T_NATIVE_FLOAT, mtn_model_n_params(m), st->momentum) ||
            (st->second_moment &&
             read_1d(g, "second_moment", H5T_NATIVE_FLOAT, mtn_model_n_params(m), st->second_moment)) ||
            (done && read_1d(g, "result", H5T_NATIVE_UINT8, st->result_bytes, st->result)))
            rc = mtn_error_set(MTN_EDATA, "%s: /train_state: a dataset is missing or has the wrong size", path);
    }
    free(fp);
    if (g >= 0) H5Gclose(g);
    H5Fclose(f);
    return rc;
}
