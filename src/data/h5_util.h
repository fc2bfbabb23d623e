/* h5_util.h — the few HDF5 chores the data module repeats: string and integer
 * attributes on a file's root, and quieting HDF5's own error printing (we report
 * errors ourselves, naming the file). Internal to data. */
#ifndef MTN_DATA_H5_UTIL_H
#define MTN_DATA_H5_UTIL_H

#include <hdf5.h>
#include <stdint.h>

void mtn_h5_quiet(void);
/* Root attributes. Writes are collective in a parallel file: every rank calls them
 * with the same value. */
int mtn_h5_write_str(hid_t obj, const char *name, const char *value);
int mtn_h5_write_i64(hid_t obj, const char *name, int64_t value);
/* Reads a string attribute into a malloc'd buffer (*out), or MTN_EIO. */
int mtn_h5_read_str(hid_t obj, const char *name, char **out);
int mtn_h5_read_i64(hid_t obj, const char *name, int64_t *out);
int mtn_h5_has_attr(hid_t obj, const char *name);

#endif
