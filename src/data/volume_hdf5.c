/* volume_hdf5.c — an HDF5 volume file as an mtn_volume (what `mtneuro serve --volume`
 * serves): one dataset per channel at /<collection>/<experiment>/<channel>, unsigned
 * 8, 16 or 64-bit integers of one common shape (z, y, x); an attribute
 * type = "annotation" marks label channels; optional root attributes coord_frame,
 * voxel_size (x, y, z) and voxel_unit. Resolution r > 0 halves x and y r times (z
 * kept, BossDB's anisotropic hierarchy) over the floor(extent / 2^r) whole blocks:
 * images by the mean of each 2^r x 2^r block rounded half up, labels by the block's
 * most frequent value with ties to the smaller value — the phantom's and staging's
 * rules. Levels: up to 4, fewer when x or y would shrink below one voxel.
 *
 * Threads: the Debian HDF5 build is not thread-safe, and the server reads from
 * several threads, so every HDF5 call in this file runs under one process-wide
 * mutex (block reductions run outside it). HDF5 calls elsewhere in the process are
 * not covered: nothing else may use HDF5 while a server reads a volume. The file is
 * opened read-only with the default (serial) driver. */
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtn/data.h"

enum { H5VOL_MAX_LEVELS = 4 };
/* Source rows read per HDF5 call at r > 0 are limited to about this many bytes. */
static const size_t H5VOL_BAND_BYTES = (size_t)16 << 20;

static pthread_mutex_t h5_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct {
    char *path;
    hid_t file;
    int n;
    mtn_volume_channel *channels;
    hid_t *datasets;
    char voxel_unit[16];
} h5vol;

/* Takes the HDF5 lock and silences HDF5's own error printing (we report errors). */
typedef struct {
    H5E_auto2_t fn;
    void *data;
} h5_quiet;
static void h5_enter(h5_quiet *q) {
    pthread_mutex_lock(&h5_lock);
    H5Eget_auto2(H5E_DEFAULT, &q->fn, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}
static void h5_leave(const h5_quiet *q) {
    H5Eset_auto2(H5E_DEFAULT, q->fn, q->data);
    pthread_mutex_unlock(&h5_lock);
}

/* ------------------------------------------------------------ attributes --- */

/* Reads a scalar string attribute (variable or fixed length) of obj, if present. */
static int read_string_attr(hid_t obj, const char *name, char *buf, size_t cap, bool *found, const char *where) {
    *found = false;
    if (H5Aexists(obj, name) <= 0) return MTN_OK;
    int rc = MTN_OK;
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT), type = -1, space = -1, mem = -1;
    if (attr < 0 || (type = H5Aget_type(attr)) < 0 || (space = H5Aget_space(attr)) < 0) {
        rc = mtn_error_set(MTN_EIO, "%s: cannot read attribute \"%s\"", where, name);
        goto done;
    }
    if (H5Tget_class(type) != H5T_STRING || H5Sget_simple_extent_npoints(space) != 1) {
        rc = mtn_error_set(MTN_EDATA, "%s: attribute \"%s\" must be one string", where, name);
        goto done;
    }
    mem = H5Tcopy(H5T_C_S1);
    H5Tset_cset(mem, H5Tget_cset(type));
    if (H5Tis_variable_str(type) > 0) {
        char *s = NULL;
        H5Tset_size(mem, H5T_VARIABLE);
        if (H5Aread(attr, mem, &s) < 0 || !s) {
            rc = mtn_error_set(MTN_EIO, "%s: cannot read attribute \"%s\"", where, name);
            goto done;
        }
        snprintf(buf, cap, "%s", s);
        H5free_memory(s);
    } else {
        size_t size = H5Tget_size(type);
        char *tmp = calloc(size + 2, 1);
        if (!tmp) {
            rc = mtn_error_set(MTN_ENOMEM, "%s: out of memory", where);
            goto done;
        }
        H5Tset_size(mem, size + 1); /* room for the terminator: a null-padded string may fill its size */
        if (H5Aread(attr, mem, tmp) < 0) {
            free(tmp);
            rc = mtn_error_set(MTN_EIO, "%s: cannot read attribute \"%s\"", where, name);
            goto done;
        }
        size_t len = strnlen(tmp, size);
        while (len > 0 && tmp[len - 1] == ' ') len--;
        tmp[len] = '\0';
        snprintf(buf, cap, "%s", tmp);
        free(tmp);
    }
    *found = true;
done:
    if (mem >= 0) H5Tclose(mem);
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    if (attr >= 0) H5Aclose(attr);
    return rc;
}

/* The root attributes coord_frame, voxel_size and voxel_unit (all optional). */
static int read_frame_attrs(hid_t file, const char *path, mtn_volume *v, h5vol *h) {
    bool found;
    int rc = read_string_attr(file, "coord_frame", v->coord_frame, sizeof v->coord_frame, &found, path);
    if (rc) return rc;
    if (found) {
        char uri[3 * MTN_BOSSDB_NAME_MAX + 16];
        mtn_bossdb_uri parsed;
        snprintf(uri, sizeof uri, "bossdb://%s/x/x", v->coord_frame);
        if (mtn_bossdb_parse_uri(uri, &parsed))
            return mtn_error_set(MTN_EDATA, "%s: attribute coord_frame \"%s\" is not a BossDB name", path, v->coord_frame);
    }
    rc = read_string_attr(file, "voxel_unit", h->voxel_unit, sizeof h->voxel_unit, &found, path);
    if (rc) return rc;
    if (found) {
        static const char *units[] = {"nanometers", "micrometers", "millimeters", "centimeters"};
        bool ok = false;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) ok = ok || strcmp(h->voxel_unit, units[i]) == 0;
        if (!ok)
            return mtn_error_set(MTN_EDATA,
                                 "%s: attribute voxel_unit: expected nanometers, micrometers, millimeters or "
                                 "centimeters, found \"%s\"",
                                 path, h->voxel_unit);
    }
    if (H5Aexists(file, "voxel_size") > 0) {
        hid_t attr = H5Aopen(file, "voxel_size", H5P_DEFAULT);
        hid_t space = attr >= 0 ? H5Aget_space(attr) : -1;
        double vs[3] = {0, 0, 0};
        bool ok = space >= 0 && H5Sget_simple_extent_npoints(space) == 3 && H5Aread(attr, H5T_NATIVE_DOUBLE, vs) >= 0;
        if (space >= 0) H5Sclose(space);
        if (attr >= 0) H5Aclose(attr);
        for (int i = 0; i < 3 && ok; i++) ok = isfinite(vs[i]) && vs[i] > 0;
        if (!ok) return mtn_error_set(MTN_EDATA, "%s: attribute voxel_size: expected 3 numbers > 0 (x, y, z)", path);
        memcpy(v->voxel_size, vs, sizeof vs);
    }
    return MTN_OK;
}

/* -------------------------------------------------------------- channels --- */

/* Adds the dataset `name` of group collection/experiment as a channel. */
static int add_channel(h5vol *h, mtn_volume *v, hid_t ds, const char *coll, const char *exp, const char *name,
                       const char *path) {
    char where[4 * MTN_BOSSDB_NAME_MAX + 64];
    snprintf(where, sizeof where, "%s:/%s/%s/%s", path, coll, exp, name);
    char uri[3 * MTN_BOSSDB_NAME_MAX + 16];
    mtn_bossdb_uri parsed;
    snprintf(uri, sizeof uri, "bossdb://%s/%s/%s", coll, exp, name);
    if (mtn_bossdb_parse_uri(uri, &parsed)) {
        char why[256];
        snprintf(why, sizeof why, "%s", mtn_error_message());
        return mtn_error_set(MTN_EDATA, "%s: not a BossDB channel path (%s)", where, why);
    }

    mtn_volume_channel c;
    memset(&c, 0, sizeof c);
    memcpy(c.collection, parsed.collection, sizeof c.collection);
    memcpy(c.experiment, parsed.experiment, sizeof c.experiment);
    memcpy(c.channel, parsed.channel, sizeof c.channel);
    hid_t type = H5Dget_type(ds), space = H5Dget_space(ds);
    int rc = MTN_OK;
    hsize_t dims[3] = {0, 0, 0};
    if (type < 0 || space < 0) {
        rc = mtn_error_set(MTN_EIO, "%s: cannot read the dataset's type and shape", where);
    } else if (H5Sget_simple_extent_ndims(space) != 3) {
        rc = mtn_error_set(MTN_EDATA, "%s: expected a 3-D (z, y, x) dataset, found %d dimensions", where,
                           H5Sget_simple_extent_ndims(space));
    } else {
        H5Sget_simple_extent_dims(space, dims, NULL);
        size_t size = H5Tget_size(type);
        bool usable = H5Tget_class(type) == H5T_INTEGER && H5Tget_sign(type) == H5T_SGN_NONE &&
                      (size == 1 || size == 2 || size == 8);
        if (!usable)
            rc = mtn_error_set(MTN_EDATA, "%s: expected uint8, uint16 or uint64 (what BossDB cutouts support)", where);
        else
            c.dtype = size == 1 ? MTN_DTYPE_UINT8 : size == 2 ? MTN_DTYPE_UINT16 : MTN_DTYPE_UINT64;
    }
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    if (rc) return rc;
    for (int i = 0; i < 3; i++)
        if (dims[i] == 0 || dims[i] > (hsize_t)INT32_MAX)
            return mtn_error_set(MTN_EDATA, "%s: dimension %d has size %llu", where, i, (unsigned long long)dims[i]);
    int64_t extent[3] = {(int64_t)dims[2], (int64_t)dims[1], (int64_t)dims[0]};
    if (h->n == 0) memcpy(v->extent, extent, sizeof extent);
    else if (memcmp(v->extent, extent, sizeof extent) != 0)
        return mtn_error_set(MTN_EDATA, "%s: shape (%lld, %lld, %lld) differs from the other channels' (%lld, %lld, %lld)",
                             where, (long long)extent[2], (long long)extent[1], (long long)extent[0],
                             (long long)v->extent[2], (long long)v->extent[1], (long long)v->extent[0]);

    char type_attr[32];
    bool found;
    if ((rc = read_string_attr(ds, "type", type_attr, sizeof type_attr, &found, where))) return rc;
    if (found && strcmp(type_attr, "annotation") != 0 && strcmp(type_attr, "image") != 0)
        return mtn_error_set(MTN_EDATA, "%s: attribute type: expected \"image\" or \"annotation\", found \"%s\"", where,
                             type_attr);
    c.annotation = found && strcmp(type_attr, "annotation") == 0;

    mtn_volume_channel *nc = realloc(h->channels, (size_t)(h->n + 1) * sizeof *nc);
    if (!nc) return mtn_error_set(MTN_ENOMEM, "%s: out of memory", where);
    h->channels = nc;
    hid_t *nd = realloc(h->datasets, (size_t)(h->n + 1) * sizeof *nd);
    if (!nd) return mtn_error_set(MTN_ENOMEM, "%s: out of memory", where);
    h->datasets = nd;
    if (H5Iinc_ref(ds) < 0) return mtn_error_set(MTN_EIO, "%s: cannot keep the dataset open", where);
    h->channels[h->n] = c;
    h->datasets[h->n] = ds; /* the walk closes its reference, this one stays */
    h->n++;
    return MTN_OK;
}

/* The name of link i of group g. */
static int link_name(hid_t g, hsize_t i, char *buf, size_t cap) {
    ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, cap, H5P_DEFAULT);
    return len < 0 || (size_t)len >= cap ? -1 : 0;
}

/* Walks /<collection>/<experiment>/<channel>: depth 0 is the root group. Objects
 * elsewhere (datasets above depth 3, groups at depth 3) are skipped with a warning. */
static int walk(h5vol *h, mtn_volume *v, hid_t g, int depth, char names[2][MTN_BOSSDB_NAME_MAX * 2], const char *path) {
    H5G_info_t info;
    if (H5Gget_info(g, &info) < 0) return mtn_error_set(MTN_EIO, "%s: cannot list a group", path);
    for (hsize_t i = 0; i < info.nlinks; i++) {
        char name[MTN_BOSSDB_NAME_MAX * 2];
        if (link_name(g, i, name, sizeof name))
            return mtn_error_set(MTN_EDATA, "%s: a link name is unreadable or longer than %d characters", path,
                                 MTN_BOSSDB_NAME_MAX - 1);
        hid_t obj = H5Oopen(g, name, H5P_DEFAULT);
        if (obj < 0) return mtn_error_set(MTN_EIO, "%s: cannot open object \"%s\"", path, name);
        H5I_type_t t = H5Iget_type(obj);
        int rc = MTN_OK;
        if (depth < 2 && t == H5I_GROUP) {
            snprintf(names[depth], sizeof names[depth], "%s", name);
            rc = walk(h, v, obj, depth + 1, names, path);
        } else if (depth == 2 && t == H5I_DATASET) {
            rc = add_channel(h, v, obj, names[0], names[1], name, path);
        } else {
            MTN_WARN("%s: ignoring \"%s\" at depth %d: channels are datasets at /collection/experiment/channel", path,
                     name, depth + 1);
        }
        H5Oclose(obj);
        if (rc) return rc;
    }
    return MTN_OK;
}

/* ------------------------------------------------------------------ read --- */

static uint64_t load(const void *p, size_t i, size_t dsize) {
    switch (dsize) {
    case 1: return ((const uint8_t *)p)[i];
    case 2: return ((const uint16_t *)p)[i];
    default: return ((const uint64_t *)p)[i];
    }
}
static void store(void *p, size_t i, size_t dsize, uint64_t v) {
    switch (dsize) {
    case 1: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case 2: ((uint16_t *)p)[i] = (uint16_t)v; break;
    default: ((uint64_t *)p)[i] = v; break;
    }
}
static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Reduces `rows` output rows of width nx from src (rows*f source rows of nx*f
 * voxels) into dst: block mean rounded half up, or block mode (ties: smaller). The
 * mean is exact without a wide sum: sum(v/n) + (sum(v%n) + n/2) / n. */
static void reduce_rows(const void *src, void *dst, size_t rows, size_t nx, size_t f, size_t dsize, bool mode,
                        uint64_t *scratch) {
    size_t n = f * f, sw = nx * f;
    for (size_t y = 0; y < rows; y++)
        for (size_t x = 0; x < nx; x++) {
            uint64_t q = 0, r = 0;
            size_t k = 0;
            for (size_t dy = 0; dy < f; dy++)
                for (size_t dx = 0; dx < f; dx++) {
                    uint64_t v = load(src, (y * f + dy) * sw + x * f + dx, dsize);
                    if (mode) scratch[k++] = v;
                    else {
                        q += v / n;
                        r += v % n;
                    }
                }
            uint64_t out;
            if (mode) {
                qsort(scratch, n, sizeof *scratch, cmp_u64);
                size_t best = 0, best_len = 0;
                for (size_t i = 0; i < n;) {
                    size_t j = i;
                    while (j < n && scratch[j] == scratch[i]) j++;
                    if (j - i > best_len) best = i, best_len = j - i; /* ascending: ties keep the smaller */
                    i = j;
                }
                out = scratch[best];
            } else {
                out = q + (r + n / 2) / n;
            }
            store(dst, y * nx + x, dsize, out);
        }
}

/* Reads a (z, y, x) hyperslab of dataset ds into buf, under the HDF5 lock. */
static int read_slab(hid_t ds, mtn_dtype dtype, const hsize_t start[3], const hsize_t count[3], void *buf,
                     const char *where) {
    hid_t mem_type = dtype == MTN_DTYPE_UINT8 ? H5T_NATIVE_UINT8 : dtype == MTN_DTYPE_UINT16 ? H5T_NATIVE_UINT16
                                                                                             : H5T_NATIVE_UINT64;
    h5_quiet q;
    h5_enter(&q);
    hid_t fspace = H5Dget_space(ds), mspace = H5Screate_simple(3, count, NULL);
    bool ok = fspace >= 0 && mspace >= 0 &&
              H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
              H5Dread(ds, mem_type, mspace, fspace, H5P_DEFAULT, buf) >= 0;
    if (mspace >= 0) H5Sclose(mspace);
    if (fspace >= 0) H5Sclose(fspace);
    h5_leave(&q);
    return ok ? MTN_OK : mtn_error_set(MTN_EIO, "%s: HDF5 read failed", where);
}

static int h5vol_read(mtn_volume *v, int ch, int res, const mtn_box *box, void *dst) {
    h5vol *h = v->impl;
    MTN_ASSERT(ch >= 0 && ch < h->n);
    const mtn_volume_channel *c = &h->channels[ch];
    char where[4 * MTN_BOSSDB_NAME_MAX + 64];
    snprintf(where, sizeof where, "%s:/%s/%s/%s", h->path, c->collection, c->experiment, c->channel);
    if (res < 0 || res >= v->levels)
        return mtn_error_set(MTN_EDATA, "%s: resolution %d outside 0..%d", where, res, v->levels - 1);
    int64_t ex = v->extent[0] >> res, ey = v->extent[1] >> res, ez = v->extent[2];
    if (box->x0 < 0 || box->y0 < 0 || box->z0 < 0 || box->x1 > ex || box->y1 > ey || box->z1 > ez ||
        box->x0 >= box->x1 || box->y0 >= box->y1 || box->z0 >= box->z1)
        return mtn_error_set(MTN_EDATA,
                             "%s: box x %lld:%lld, y %lld:%lld, z %lld:%lld is empty or outside the frame at "
                             "resolution %d (x 0:%lld, y 0:%lld, z 0:%lld)",
                             where, (long long)box->x0, (long long)box->x1, (long long)box->y0, (long long)box->y1,
                             (long long)box->z0, (long long)box->z1, res, (long long)ex, (long long)ey, (long long)ez);
    size_t nx = (size_t)mtn_box_nx(box), ny = (size_t)mtn_box_ny(box), nz = (size_t)mtn_box_nz(box);
    if (res == 0) {
        hsize_t start[3] = {(hsize_t)box->z0, (hsize_t)box->y0, (hsize_t)box->x0}, count[3] = {nz, ny, nx};
        return read_slab(h->datasets[ch], c->dtype, start, count, dst, where);
    }
    size_t f = (size_t)1 << res, dsize = mtn_dtype_size(c->dtype), row_bytes;
    /* row_bytes: the source bytes behind one output row (f rows of nx * f voxels). */
    if (!mtn_mul_size(nx * f, f * dsize, &row_bytes))
        return mtn_error_set(MTN_EOVERFLOW, "%s: box too large", where);
    size_t band = H5VOL_BAND_BYTES / row_bytes;
    if (band < 1) band = 1;
    if (band > ny) band = ny;
    void *tmp = malloc(band * row_bytes);
    uint64_t *scratch = c->annotation ? malloc(f * f * sizeof *scratch) : NULL;
    if (!tmp || (c->annotation && !scratch)) {
        free(tmp);
        free(scratch);
        return mtn_error_set(MTN_ENOMEM, "%s: out of memory for a %zu-byte read buffer", where, band * row_bytes);
    }
    int rc = MTN_OK;
    for (size_t z = 0; z < nz && !rc; z++)
        for (size_t y = 0; y < ny && !rc; y += band) {
            size_t rows = ny - y < band ? ny - y : band;
            hsize_t start[3] = {(hsize_t)box->z0 + z, ((hsize_t)box->y0 + y) * f, (hsize_t)box->x0 * f};
            hsize_t count[3] = {1, rows * f, nx * f};
            rc = read_slab(h->datasets[ch], c->dtype, start, count, tmp, where);
            if (!rc) {
                unsigned char *out = (unsigned char *)dst + ((z * ny + y) * nx) * dsize;
                reduce_rows(tmp, out, rows, nx, f, dsize, c->annotation, scratch);
            }
        }
    free(tmp);
    free(scratch);
    return rc;
}

/* ------------------------------------------------------------ open/free --- */

static void h5vol_close(h5vol *h) {
    if (!h) return;
    h5_quiet q;
    h5_enter(&q);
    for (int i = 0; i < h->n; i++) H5Dclose(h->datasets[i]);
    if (h->file >= 0) H5Fclose(h->file);
    h5_leave(&q);
    free(h->datasets);
    free(h->channels);
    free(h->path);
    free(h);
}

static void h5vol_free(mtn_volume *v) {
    h5vol_close(v->impl);
    free(v);
}

int mtn_volume_open_hdf5(const char *path, mtn_volume **out) {
    *out = NULL;
    if (access(path, R_OK) != 0) return mtn_error_set(MTN_EIO, "%s: cannot open: %s", path, strerror(errno));
    mtn_volume *v = calloc(1, sizeof *v);
    h5vol *h = calloc(1, sizeof *h);
    if (!v || !h || !(h->path = strdup(path))) {
        free(v);
        if (h) free(h->path);
        free(h);
        return mtn_error_set(MTN_ENOMEM, "%s: out of memory", path);
    }
    h->file = -1;
    snprintf(h->voxel_unit, sizeof h->voxel_unit, "micrometers");
    for (int i = 0; i < 3; i++) v->voxel_size[i] = 1.0;

    h5_quiet q;
    h5_enter(&q);
    int rc = MTN_OK;
    if (H5Fis_hdf5(path) <= 0) rc = mtn_error_set(MTN_EIO, "%s: not an HDF5 file", path);
    else if ((h->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
        rc = mtn_error_set(MTN_EIO, "%s: cannot open as HDF5", path);
    if (!rc) {
        char names[2][MTN_BOSSDB_NAME_MAX * 2];
        rc = walk(h, v, h->file, 0, names, path);
    }
    if (!rc && h->n == 0)
        rc = mtn_error_set(MTN_EDATA, "%s: no channels: expected uint8/uint16/uint64 datasets at "
                                      "/collection/experiment/channel", path);
    if (!rc) rc = read_frame_attrs(h->file, path, v, h);
    h5_leave(&q);
    if (rc) {
        h5vol_close(h);
        free(v);
        return rc;
    }
    if (!v->coord_frame[0])
        snprintf(v->coord_frame, sizeof v->coord_frame, "%.60s_%.60s", h->channels[0].collection,
                 h->channels[0].experiment);
    v->description = h->path;
    v->n_channels = h->n;
    v->channels = h->channels;
    v->voxel_unit = h->voxel_unit;
    v->levels = 1;
    while (v->levels < H5VOL_MAX_LEVELS && (v->extent[0] >> v->levels) >= 1 && (v->extent[1] >> v->levels) >= 1)
        v->levels++;
    v->read = h5vol_read;
    v->free = h5vol_free;
    v->impl = h;
    *out = v;
    return MTN_OK;
}
