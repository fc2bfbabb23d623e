/* arrays.c — whole float32 datasets in and out (see mtn/h5.h). */
#include <stdlib.h>

#include "mtn/h5.h"

int mtn_h5_read_f32(hid_t f, const char *name, int *rank, int64_t dims[MTN_H5_MAX_RANK], float **out) {
    *out = NULL;
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0) return mtn_error_set(MTN_EDATA, "no dataset %s", name);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return mtn_error_set(MTN_EDATA, "%s is not a dataset", name);
    hid_t type = H5Dget_type(d), space = H5Dget_space(d);
    H5T_class_t cls = H5Tget_class(type);
    int nd = H5Sget_simple_extent_ndims(space), rc = MTN_OK;
    hsize_t hd[MTN_H5_MAX_RANK] = {0};
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
        rc = mtn_error_set(MTN_EDATA, "dataset %s: expected numbers (float32), found another HDF5 type class", name);
    } else if (nd < 0 || nd > MTN_H5_MAX_RANK) {
        rc = mtn_error_set(MTN_EDATA, "dataset %s: expected at most %d dimensions, found %d", name, MTN_H5_MAX_RANK, nd);
    } else {
        H5Sget_simple_extent_dims(space, hd, NULL);
        int64_t count = 1;
        for (int k = 0; k < nd; k++) {
            dims[k] = (int64_t)hd[k];
            count *= dims[k];
        }
        *rank = nd;
        *out = malloc(sizeof(float) * (size_t)(count ? count : 1));
        if (!*out) rc = mtn_error_set(MTN_ENOMEM, "dataset %s: out of memory for %lld values", name, (long long)count);
        else if (count && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0)
            rc = mtn_error_set(MTN_EIO, "dataset %s: cannot read it as float32", name);
    }
    if (rc) {
        free(*out);
        *out = NULL;
    }
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(d);
    return rc;
}

int mtn_h5_write_f32(hid_t f, const char *name, int rank, const int64_t *dims, const float *data) {
    hsize_t hd[MTN_H5_MAX_RANK];
    for (int k = 0; k < rank; k++) hd[k] = (hsize_t)dims[k];
    hid_t space = H5Screate_simple(rank, hd, NULL);
    hid_t d = space >= 0 ? H5Dcreate2(f, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    herr_t w = d >= 0 ? H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : -1;
    if (d >= 0) H5Dclose(d);
    if (space >= 0) H5Sclose(space);
    return w < 0 ? mtn_error_set(MTN_EIO, "cannot write dataset %s", name) : MTN_OK;
}
