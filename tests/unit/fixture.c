/* fixture.c — reading the PyTorch reference fixtures in the tests (fixture.h). */
#include "fixture.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool fx_open(fixture *fx, const char *name) {
    char path[1024];
    int len = snprintf(path, sizeof path, "%s/%s.h5", FIXTURE_DIR, name);
    fx->name = name;
    fx->f = len > 0 && (size_t)len < sizeof path ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    if (fx->f < 0) fprintf(stderr, "\ncannot open fixture %s\n", path);
    return fx->f >= 0;
}

/* Whether "a/b/c" exists, checking each level (H5Lexists fails on a missing parent). */
bool fx_has(const fixture *fx, const char *path) {
    char part[256];
    for (const char *p = path;; p++) {
        if (*p != '/' && *p != '\0') continue;
        size_t len = (size_t)(p - path);
        if (len >= sizeof part) return false;
        memcpy(part, path, len);
        part[len] = '\0';
        if (H5Lexists(fx->f, part, H5P_DEFAULT) <= 0) return false;
        if (*p == '\0') return true;
    }
}

/* Reads dataset `path` converted to `type` (elements of `elem` bytes); malloc'd. A
 * missing dataset fails the test and returns NULL. */
void *fx_read(const fixture *fx, const char *path, hid_t type, size_t elem, shape *sh) {
    shape local;
    if (!sh) sh = &local;
    memset(sh, 0, sizeof *sh);
    if (!fx_has(fx, path)) {
        fprintf(stderr, "\n%s: no dataset %s\n", fx->name, path);
        CU_FAIL("fixture dataset missing");
        return NULL;
    }
    hid_t d = H5Dopen2(fx->f, path, H5P_DEFAULT), s = H5Dget_space(d);
    hsize_t dims[8];
    int rank = H5Sget_simple_extent_ndims(s);
    CU_ASSERT_FATAL(rank >= 0 && rank <= 8);
    H5Sget_simple_extent_dims(s, dims, NULL);
    sh->rank = rank;
    sh->count = 1;
    for (int i = 0; i < rank; i++) {
        sh->dims[i] = (int64_t)dims[i];
        sh->count *= (int64_t)dims[i];
    }
    void *buf = malloc(elem * (size_t)(sh->count ? sh->count : 1));
    CU_ASSERT_FATAL(buf != NULL);
    herr_t rc = H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    CU_ASSERT_FATAL(rc >= 0);
    H5Sclose(s);
    H5Dclose(d);
    return buf;
}

float *fx_f32(const fixture *fx, const char *path, shape *sh) {
    return fx_read(fx, path, H5T_NATIVE_FLOAT, sizeof(float), sh);
}

double *fx_f64(const fixture *fx, const char *path, shape *sh) {
    return fx_read(fx, path, H5T_NATIVE_DOUBLE, sizeof(double), sh);
}

int32_t *fx_i32(const fixture *fx, const char *path, shape *sh) {
    return fx_read(fx, path, H5T_NATIVE_INT32, sizeof(int32_t), sh);
}

/* Integer attribute (an array or a scalar) into out[0..max); returns the count, or
 * -1 when absent. */
int fx_ints(const fixture *fx, const char *name, int64_t *out, int max) {
    if (H5Aexists(fx->f, name) <= 0) return -1;
    hid_t a = H5Aopen(fx->f, name, H5P_DEFAULT), s = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    int count = -1;
    if (n >= 1 && n <= max && H5Aread(a, H5T_NATIVE_INT64, out) >= 0) count = (int)n;
    H5Sclose(s);
    H5Aclose(a);
    return count;
}

int64_t fx_int(const fixture *fx, const char *name, int64_t fallback) {
    int64_t v[1];
    return fx_ints(fx, name, v, 1) == 1 ? v[0] : fallback;
}

double fx_double(const fixture *fx, const char *name, double fallback) {
    if (H5Aexists(fx->f, name) <= 0) return fallback;
    double v = fallback;
    hid_t a = H5Aopen(fx->f, name, H5P_DEFAULT);
    if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0) v = fallback;
    H5Aclose(a);
    return v;
}

/* String attribute, fixed-length or variable-length; "" when absent. */
void fx_string(hid_t f, const char *name, char *buf, size_t size) {
    buf[0] = '\0';
    if (H5Aexists(f, name) <= 0) return;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT), t = H5Aget_type(a);
    if (H5Tget_class(t) == H5T_STRING) {
        if (H5Tis_variable_str(t) > 0) {
            char *s = NULL;
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            if (H5Aread(a, mt, &s) >= 0 && s) {
                snprintf(buf, size, "%s", s);
                H5free_memory(s);
            }
            H5Tclose(mt);
        } else {
            size_t n = H5Tget_size(t);
            char *s = calloc(n + 1, 1);
            if (s && H5Aread(a, t, s) >= 0) snprintf(buf, size, "%s", s);
            free(s);
        }
    }
    H5Tclose(t);
    H5Aclose(a);
}

/* (N, C, spatial...) -> mtn_dims: rank 2 (N, C); 3 (N, C, L); 4 NCHW; 5 NCDHW. */
mtn_dims dims_of(const shape *s) {
    mtn_dims d = {(int)s->dims[0], s->rank > 1 ? (int)s->dims[1] : 1, 1, 1, 1};
    if (s->rank == 3) d.w = (int)s->dims[2];
    if (s->rank == 4) d.h = (int)s->dims[2], d.w = (int)s->dims[3];
    if (s->rank == 5) d.d = (int)s->dims[2], d.h = (int)s->dims[3], d.w = (int)s->dims[4];
    return d;
}

int fx_doubles(const fixture *fx, const char *name, double *out, int max) {
    if (H5Aexists(fx->f, name) <= 0) return -1;
    hid_t a = H5Aopen(fx->f, name, H5P_DEFAULT), s = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    int count = -1;
    if (n >= 1 && n <= max && H5Aread(a, H5T_NATIVE_DOUBLE, out) >= 0) count = (int)n;
    H5Sclose(s);
    H5Aclose(a);
    return count;
}
