/* fixture.h — reading the PyTorch reference fixtures (tests/ref/fixtures, one .h5 each) in
 * the tests: open, typed datasets, attributes, shapes. A missing dataset fails the
 * running CUnit test. */
#ifndef MTN_TEST_FIXTURE_H
#define MTN_TEST_FIXTURE_H

#include <hdf5.h>
#include <stdbool.h>
#include <stdint.h>

#include "mtn/nn.h"

#define FIXTURE_DIR MTN_SOURCE_DIR "/tests/ref/fixtures"

typedef struct {
    hid_t f;
    const char *name;
} fixture;

typedef struct {
    int rank;
    int64_t dims[8];
    int64_t count;
} shape;

/* Opens FIXTURE_DIR/<name>.h5; false (with a note) when it cannot. */
bool fx_open(fixture *fx, const char *name);
/* Whether "a/b/c" exists. */
bool fx_has(const fixture *fx, const char *path);
/* Dataset `path` converted to `type` (elements of `elem` bytes), malloc'd; sh (may be
 * NULL) gets its shape. A missing dataset fails the test and returns NULL. */
void *fx_read(const fixture *fx, const char *path, hid_t type, size_t elem, shape *sh);
float *fx_f32(const fixture *fx, const char *path, shape *sh);
double *fx_f64(const fixture *fx, const char *path, shape *sh);
int32_t *fx_i32(const fixture *fx, const char *path, shape *sh);
/* Integer attribute (array or scalar) into out[0..max): the count, -1 when absent. */
int fx_ints(const fixture *fx, const char *name, int64_t *out, int max);
int64_t fx_int(const fixture *fx, const char *name, int64_t fallback);
double fx_double(const fixture *fx, const char *name, double fallback);
/* Double array attribute into out[0..max): the count, -1 when absent. */
int fx_doubles(const fixture *fx, const char *name, double *out, int max);
/* String attribute (fixed or variable length); "" when absent. */
void fx_string(hid_t f, const char *name, char *buf, size_t size);
/* (N, C, spatial...) -> mtn_dims: rank 2 (N, C); 3 (N, C, L); 4 NCHW; 5 NCDHW. */
mtn_dims dims_of(const shape *s);

#endif
