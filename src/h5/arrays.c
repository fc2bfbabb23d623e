/* arrays.c — whole datasets in and out, of any rank (0 = a scalar) and any native
 * numeric type; float32 wrappers for the model tensors (see mtn/h5.h). */
#include <stdlib.h>

#include "mtn/h5.h"

int mtn_h5_read_array(hid_t f, const char *name, hid_t mem_type, const char *type_name, int *rank,
                      int64_t dims[MTN_H5_MAX_RANK], void **out) {
    *out = NULL;
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0) return mtn_error_set(MTN_EDATA, "no dataset %s", name);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return mtn_error_set(MTN_EDATA, "%s is not a dataset", name);
    hid_t type = H5Dget_type(d), space = H5Dget_space(d);
    H5T_class_t cls = H5Tget_class(type);
    int nd = H5Sget_simple_extent_ndims(space), rc = MTN_OK;
    hsize_t hd[MTN_H5_MAX_RANK] = {0};
    size_t elem = H5Tget_size(mem_type);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
        rc = mtn_error_set(MTN_EDATA, "dataset %s: expected numbers (%s), found another HDF5 type class", name,
                           type_name);
    } else if (nd < 0 || nd > MTN_H5_MAX_RANK) {
        rc = mtn_error_set(MTN_EDATA, "dataset %s: expected at most %d dimensions, found %d", name, MTN_H5_MAX_RANK, nd);
    } else {
        H5Sget_simple_extent_dims(space, hd, NULL);
        int64_t count = 1;
        bool fits = true;
        for (int k = 0; k < nd; k++) {
            dims[k] = (int64_t)hd[k];
            fits = fits && mtn_mul_i64(count, dims[k], &count);
        }
        size_t bytes = 0;
        *rank = nd;
        if (!fits || !mtn_mul_size(elem, (size_t)count, &bytes))
            rc = mtn_error_set(MTN_EOVERFLOW, "dataset %s: too many values", name);
        else if (!(*out = malloc(bytes ? bytes : 1)))
            rc = mtn_error_set(MTN_ENOMEM, "dataset %s: out of memory for %lld values", name, (long long)count);
        else if (count && H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0)
            rc = mtn_error_set(MTN_EIO, "dataset %s: cannot read it as %s", name, type_name);
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

int mtn_h5_write_array(hid_t f, const char *name, hid_t file_type, hid_t mem_type, int rank, const int64_t *dims,
                       const void *data) {
    hsize_t hd[MTN_H5_MAX_RANK];
    hsize_t count = 1;
    for (int k = 0; k < rank; k++) {
        hd[k] = (hsize_t)dims[k];
        count *= hd[k];
    }
    hid_t space = rank ? H5Screate_simple(rank, hd, NULL) : H5Screate(H5S_SCALAR);
    hid_t d = space >= 0 ? H5Dcreate2(f, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    herr_t w = d < 0 ? -1 : count ? H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0;
    if (d >= 0) H5Dclose(d);
    if (space >= 0) H5Sclose(space);
    return w < 0 ? mtn_error_set(MTN_EIO, "cannot write dataset %s", name) : MTN_OK;
}

int mtn_h5_read_f32(hid_t f, const char *name, int *rank, int64_t dims[MTN_H5_MAX_RANK], float **out) {
    void *p = NULL;
    int rc = mtn_h5_read_array(f, name, H5T_NATIVE_FLOAT, "float32", rank, dims, &p);
    *out = p;
    return rc;
}

int mtn_h5_write_f32(hid_t f, const char *name, int rank, const int64_t *dims, const float *data) {
    return mtn_h5_write_array(f, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, rank, dims, data);
}
