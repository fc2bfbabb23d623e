/* cmd_features.c — `mtneuro features`: Task 3's semantic features (mtn_features in
 * src/eval/features.c, where the definitions and their reasons are) of L.h5:/labels,
 * to F.h5:/features, written to a temporary name and renamed into place. /labels
 * may be of any integer type; it is read a slice at a time as int64 and checked
 * (values 0..3) before narrowing, so a 300 or a -1 is reported, not wrapped. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "mtn/eval.h"
#include "mtn/h5.h"

static const char *const label_names = "expected 0 background, 1 vessel, 2 cell or 3 axon";

/* The slices of an open dataset d (dims z, h, w) into labels, checked one by one. */
static int read_slices(const char *path, hid_t d, const int64_t *dims, uint8_t *labels) {
    const int64_t plane = dims[1] * dims[2];
    int64_t *buf = malloc((size_t)plane * sizeof *buf);
    if (!buf) return mtn_error_set(MTN_ENOMEM, "%s: out of memory for a slice of /labels", path);
    hsize_t count[3] = {1, (hsize_t)dims[1], (hsize_t)dims[2]}, mdim = (hsize_t)plane;
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(1, &mdim, NULL);
    int rc = fs < 0 || ms < 0 ? mtn_error_set(MTN_EIO, "%s: /labels: cannot read its dataspace", path) : MTN_OK;
    for (int64_t s = 0; !rc && s < dims[0]; s++) {
        hsize_t start[3] = {(hsize_t)s, 0, 0};
        if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            H5Dread(d, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, buf) < 0) {
            rc = mtn_error_set(MTN_EIO, "%s: /labels: cannot read slice %lld", path, (long long)s);
            break;
        }
        for (int64_t i = 0; i < plane; i++) {
            if (buf[i] < 0 || buf[i] > 3) {
                rc = mtn_error_set(MTN_EDATA, "%s: /labels: label value %lld at (z, y, x) = (%lld, %lld, %lld); %s",
                                   path, (long long)buf[i], (long long)s, (long long)(i / dims[2]),
                                   (long long)(i % dims[2]), label_names);
                break;
            }
            labels[s * plane + i] = (uint8_t)buf[i];
        }
    }
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    free(buf);
    return rc;
}

/* L.h5:/labels, an integer (Z, H, W) dataset, into a malloc'd uint8 volume. */
static int read_labels(const char *path, int64_t dims[3], uint8_t **out) {
    *out = NULL;
    mtn_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return mtn_error_set(MTN_EIO, "%s: cannot open the input (expected an HDF5 file with /labels)", path);
    int rc = MTN_OK;
    hid_t d = -1, type = -1, space = -1;
    if (H5Lexists(f, "labels", H5P_DEFAULT) <= 0 || (d = H5Dopen2(f, "labels", H5P_DEFAULT)) < 0)
        rc = mtn_error_set(MTN_EDATA, "%s: no dataset /labels (expected the pixel labels, (Z, H, W) integers)", path);
    if (!rc) {
        type = H5Dget_type(d);
        space = H5Dget_space(d);
        if (type < 0 || space < 0) rc = mtn_error_set(MTN_EIO, "%s: /labels: cannot read its type and shape", path);
    }
    if (!rc && H5Tget_class(type) != H5T_INTEGER)
        rc = mtn_error_set(MTN_EDATA, "%s: /labels: expected integer labels (%s), found another type", path,
                           label_names);
    if (!rc) {
        int nd = H5Sget_simple_extent_ndims(space);
        hsize_t hd[3];
        if (nd != 3)
            rc = mtn_error_set(MTN_EDATA, "%s: /labels: expected 3 dimensions (Z, H, W), found %d", path, nd);
        else if (H5Sget_simple_extent_dims(space, hd, NULL) < 0)
            rc = mtn_error_set(MTN_EIO, "%s: /labels: cannot read its shape", path);
        for (int k = 0; !rc && k < 3; k++) {
            dims[k] = (int64_t)hd[k];
            if (dims[k] < 1) rc = mtn_error_set(MTN_EDATA, "%s: /labels: dimension %d is 0", path, k);
        }
    }
    int64_t total = 0;
    if (!rc && (!mtn_product_i64(dims, 3, &total) || total >= INT32_MAX))
        rc = mtn_error_set(MTN_EDATA, "%s: /labels: %lld x %lld x %lld are too many voxels (2^31 or more)", path,
                           (long long)dims[0], (long long)dims[1], (long long)dims[2]);
    if (!rc && !(*out = malloc((size_t)total)))
        rc = mtn_error_set(MTN_ENOMEM, "%s: out of memory for %lld labels", path, (long long)total);
    if (!rc) rc = read_slices(path, d, dims, *out);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    if (d >= 0) H5Dclose(d);
    H5Fclose(f);
    return rc;
}

/* /features and what it holds, to a temporary file renamed to `output`. */
static int write_features(const char *output, const char *input, bool quadrants, int64_t rows, const double *feat) {
    char tmp[4200];
    int rc = mtn_format_path(tmp, sizeof tmp, "%s.tmp.%d", output, (int)getpid());
    if (rc) return rc;
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return mtn_error_set(MTN_EIO, "%s: cannot create the output file", output);
    const int64_t dims[2] = {rows, MTN_FEATURES_NCOL};
    rc = mtn_h5_write_array(f, "features", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, dims, feat);
    hid_t d = rc ? -1 : H5Dopen2(f, "features", H5P_DEFAULT);
    if (!rc && d < 0) rc = mtn_error_set(MTN_EIO, "cannot reopen dataset features");
    if (!rc) rc = mtn_h5_write_str(d, "columns", MTN_FEATURES_COLUMNS);
    if (!rc)
        rc = mtn_h5_write_str(d, "rows",
                              quadrants ? "quadrants: row 4*slice + corner, corners [:h,:w], [:h,w:], [h:,:w], [h:,w:] "
                                          "with h = H//2, w = W//2"
                                        : "slices: row = slice");
    if (!rc)
        rc = mtn_h5_write_str(d, "units",
                              "vessel_pct, axon_pct: percent of the pixels of the image (quadrant) with label 1 / 3; "
                              "cell_count: cells present; cell_size_px: pixels; nn_dist_px: pixels "
                              "(of the input's resolution; 1.17 um per pixel at MTNeuro's full resolution)");
    if (!rc)
        rc = mtn_h5_write_str(d, "definitions",
                              "cells: 3D 6-connected components of label 2 over the whole stack, each counted once "
                              "per image (quadrant) it appears in; cell_size_px: mean over them of their footprint "
                              "(pixels in the image); nn_dist_px: mean over them of the distance from the footprint "
                              "centroid (row, col) to the nearest other cell's (self-distances excluded)");
    if (!rc)
        rc = mtn_h5_write_str(d, "missing",
                              "cell_size_px is NaN with no cell; nn_dist_px is NaN with fewer than 2 cells; "
                              "percentages are 0 without that label");
    if (!rc) rc = mtn_h5_write_str(d, "labels", "0 background, 1 vessel, 2 cell, 3 axon (MTNeuro pixel_labels)");
    if (!rc) rc = mtn_h5_write_str(f, "input", input);
    if (d >= 0) H5Dclose(d);
    if (rc) mtn_error_prefix(output);
    if (H5Fclose(f) < 0 && !rc) rc = mtn_error_set(MTN_EIO, "%s: cannot close the output file", output);
    if (!rc && rename(tmp, output) != 0) rc = mtn_error_set(MTN_EIO, "%s: cannot move the output into place", output);
    if (rc) unlink(tmp);
    return rc;
}

int mtn_cmd_features(int argc, char **argv) {
    static const struct option opts[] = {{"input", required_argument, NULL, 'i'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"quadrants", no_argument, NULL, 'q'},
                                         {NULL, 0, NULL, 0}};
    const char *input = NULL, *output = NULL;
    bool quadrants = false;
    int rc = MTN_OK, c;
    optind = 1;
    opterr = 0;
    while (rc == MTN_OK && (c = getopt_long(argc, argv, "i:o:q", opts, NULL)) != -1) {
        switch (c) {
        case 'i': input = optarg; break;
        case 'o': output = optarg; break;
        case 'q': quadrants = true; break;
        default: rc = mtn_error_set(MTN_EUSAGE, "features: unknown or incomplete option \"%s\"", argv[optind - 1]);
        }
    }
    if (!rc && optind < argc) rc = mtn_error_set(MTN_EUSAGE, "features: unexpected argument \"%s\"", argv[optind]);
    if (!rc && (!input || !output)) rc = mtn_error_set(MTN_EUSAGE, "features: expected --input L.h5 -o F.h5");
    int64_t dims[3] = {0, 0, 0};
    uint8_t *labels = NULL;
    double *feat = NULL;
    if (!rc) rc = read_labels(input, dims, &labels);
    const int64_t rows = quadrants ? 4 * dims[0] : dims[0];
    if (!rc && !(feat = malloc((size_t)(rows * MTN_FEATURES_NCOL) * sizeof *feat)))
        rc = mtn_error_set(MTN_ENOMEM, "features: out of memory for %lld rows", (long long)rows);
    if (!rc && (rc = mtn_features(labels, dims[0], dims[1], dims[2], quadrants, feat)) != MTN_OK)
        mtn_error_prefix(input);
    if (!rc) rc = write_features(output, input, quadrants, rows, feat);
    if (!rc)
        MTN_INFO("features: %s: %lld x %lld x %lld labels -> %s:/features (%lld rows x %d)", input,
                 (long long)dims[0], (long long)dims[1], (long long)dims[2], output, (long long)rows,
                 MTN_FEATURES_NCOL);
    free(labels);
    free(feat);
    return rc ? mtn_cli_fail(rc, true) : 0;
}
