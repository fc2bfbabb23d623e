/* attrs.c — string and integer attributes, and quieting HDF5's own error printing
 * (see mtn/h5.h). */
#include "mtn/h5.h"

#include <stdlib.h>
#include <string.h>

#include "mtn/core.h"

void mtn_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

int mtn_h5_has_attr(hid_t obj, const char *name) { return H5Aexists(obj, name) > 0; }

static int write_attr(hid_t obj, const char *name, hid_t type, const void *value) {
    if (H5Aexists(obj, name) > 0 && H5Adelete(obj, name) < 0)
        return mtn_error_set(MTN_EIO, "cannot replace HDF5 attribute %s", name);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = a >= 0 ? H5Awrite(a, type, value) : -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
    return w < 0 ? mtn_error_set(MTN_EIO, "cannot write HDF5 attribute %s", name) : MTN_OK;
}

int mtn_h5_write_str(hid_t obj, const char *name, const char *value) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(value) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    int rc = write_attr(obj, name, t, value);
    H5Tclose(t);
    return rc;
}

int mtn_h5_write_i64(hid_t obj, const char *name, int64_t value) {
    return write_attr(obj, name, H5T_NATIVE_INT64, &value);
}

int mtn_h5_read_str(hid_t obj, const char *name, char **out) {
    *out = NULL;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return mtn_error_set(MTN_EIO, "missing HDF5 attribute %s", name);
    hid_t ft = H5Aget_type(a);
    int rc = MTN_OK;
    if (H5Tget_class(ft) != H5T_STRING) {
        rc = mtn_error_set(MTN_EIO, "HDF5 attribute %s: expected a string", name);
    } else if (H5Tis_variable_str(ft) > 0) {
        char *v = NULL;
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ft)); /* HDF5 converts no ASCII <-> UTF-8 (h5py writes str as UTF-8) */
        if (H5Aread(a, mt, &v) < 0 || !v) rc = mtn_error_set(MTN_EIO, "cannot read HDF5 attribute %s", name);
        else {
            *out = strdup(v);
            H5free_memory(v);
        }
        H5Tclose(mt);
    } else {
        size_t n = H5Tget_size(ft);
        char *buf = calloc(n + 1, 1);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, n + 1); /* room for the NUL a NULLPAD / SPACEPAD string (h5py's) lacks */
        H5Tset_cset(mt, H5Tget_cset(ft));
        if (!buf || H5Aread(a, mt, buf) < 0) {
            free(buf);
            rc = mtn_error_set(MTN_EIO, "cannot read HDF5 attribute %s", name);
        } else {
            *out = buf;
        }
        H5Tclose(mt);
    }
    H5Tclose(ft);
    H5Aclose(a);
    if (!rc && !*out) rc = mtn_error_set(MTN_ENOMEM, "out of memory reading attribute %s", name);
    return rc;
}

int mtn_h5_read_i64(hid_t obj, const char *name, int64_t *out) {
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return mtn_error_set(MTN_EIO, "missing HDF5 attribute %s", name);
    herr_t r = H5Aread(a, H5T_NATIVE_INT64, out);
    H5Aclose(a);
    return r < 0 ? mtn_error_set(MTN_EIO, "cannot read HDF5 attribute %s as an integer", name) : MTN_OK;
}
