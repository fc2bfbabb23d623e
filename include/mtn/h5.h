/* mtn/h5.h — the HDF5 chores several modules share: quieting HDF5's own error
 * printing (we report errors ourselves, naming the file), scalar attributes, and whole
 * arrays (float32, or any numeric type) in and out. Messages name the attribute or
 * dataset; callers add the file. */
#ifndef MTN_H5_H
#define MTN_H5_H

#include <hdf5.h>
#include <stdbool.h>
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

/* The same for any numeric type: dataset `name` of f (rank 0 = a scalar) converted to
 * mem_type (H5T_NATIVE_DOUBLE, H5T_NATIVE_INT64, ...) in a malloc'd array (*out, one
 * byte at least, so a dataset with no elements still gives a pointer to free);
 * type_name ("float64", ...) is what messages call it. */
int mtn_h5_read_array(hid_t f, const char *name, hid_t mem_type, const char *type_name, int *rank,
                      int64_t dims[MTN_H5_MAX_RANK], void **out);
/* Creates dataset `name` of file_type (H5T_IEEE_F64LE, H5T_STD_I64LE, ...) with the
 * given shape (rank 0: a scalar; a zero dimension: an empty dataset) and writes data,
 * given as mem_type (ignored when there are no elements; may then be NULL). */
int mtn_h5_write_array(hid_t f, const char *name, hid_t file_type, hid_t mem_type, int rank, const int64_t *dims,
                       const void *data);

#endif
