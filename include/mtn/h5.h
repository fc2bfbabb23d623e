/* mtn/h5.h — the HDF5 chores several modules share: quieting HDF5's own error
 * printing (we report errors ourselves, naming the file), scalar attributes, and whole
 * float32 arrays in and out. Messages name the attribute or dataset; callers add the
 * file. */
#ifndef MTN_H5_H
#define MTN_H5_H

#include <hdf5.h>
#include <stdint.h>

#include "mtn/core.h"

void mtn_h5_quiet(void);

/* Attributes of an object (a file's root, a group, a dataset). Writes are collective
 * in a parallel file: every rank calls them with the same value. */
int mtn_h5_write_str(hid_t obj, const char *name, const char *value);
int mtn_h5_write_i64(hid_t obj, const char *name, int64_t value);
/* Reads a string attribute into a malloc'd buffer (*out), or MTN_EIO. */
int mtn_h5_read_str(hid_t obj, const char *name, char **out);
int mtn_h5_read_i64(hid_t obj, const char *name, int64_t *out);
int mtn_h5_has_attr(hid_t obj, const char *name);

enum { MTN_H5_MAX_RANK = 8 };

/* Dataset `name` of f, of any real-number type, converted to float32 in a malloc'd
 * array (*out); *rank and dims get its shape. MTN_EDATA when it is absent or not
 * numbers (the message names it and what was found), MTN_EIO when unreadable. */
int mtn_h5_read_f32(hid_t f, const char *name, int *rank, int64_t dims[MTN_H5_MAX_RANK], float **out);
/* Creates dataset `name` (float32, the given shape) in f and writes data. */
int mtn_h5_write_f32(hid_t f, const char *name, int rank, const int64_t *dims, const float *data);

#endif
