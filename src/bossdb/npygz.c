/* npygz.c — the application/npygz body (protocol §2.2): a NumPy .npy file (format
 * version 1.0: magic, header dict with descr, fortran_order False and shape, padded
 * so the data starts at a multiple of 64 bytes, as numpy writes it) compressed as
 * one zlib stream (RFC 1950, what Python's zlib.compress makes, not gzip). The
 * voxels are streamed into deflate straight from the caller's buffer: no copy. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "mtn/bossdb.h"

enum { NPY_MAX_NDIM = 8, NPY_ALIGN = 64, NPY_PREAMBLE = 10 /* magic 6, version 2, header length 2 */ };

static const char *npy_descr(mtn_dtype t) {
    switch (t) {
    case MTN_DTYPE_UINT8: return "|u1";
    case MTN_DTYPE_UINT16: return "<u2";
    case MTN_DTYPE_UINT64: return "<u8";
    }
    return "?";
}

/* The preamble and header dict, padded with spaces and ended by '\n'; returns its length. */
static size_t npy_header(mtn_dtype dtype, const int64_t *shape, int ndim, char *buf, size_t cap) {
    char dims[NPY_MAX_NDIM * 24 + 8];
    size_t n = 0;
    for (int i = 0; i < ndim; i++)
        n += (size_t)snprintf(dims + n, sizeof dims - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (ndim == 1) snprintf(dims + n, sizeof dims - n, ",");
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    int dict = snprintf(buf + NPY_PREAMBLE, cap - NPY_PREAMBLE, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                        npy_descr(dtype), dims);
    MTN_ASSERT(dict > 0 && (size_t)dict < cap - NPY_PREAMBLE);
    size_t total = NPY_PREAMBLE + (size_t)dict + 1; /* + '\n' */
    size_t padded = (total + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    MTN_ASSERT(padded <= cap);
    memset(buf + NPY_PREAMBLE + dict, ' ', padded - total);
    buf[padded - 1] = '\n';
    size_t hlen = padded - NPY_PREAMBLE;
    buf[8] = (char)(hlen & 0xff);
    buf[9] = (char)(hlen >> 8);
    return padded;
}

/* Feeds `len` bytes into the stream (finishing it when `finish`), in pieces that
 * zlib's uInt counters can hold; output goes to buf[*produced .. cap). */
static int deflate_feed(z_stream *zs, unsigned char *buf, size_t cap, size_t *produced, const unsigned char *data,
                        size_t len, bool finish) {
    const size_t piece_max = (size_t)1 << 30;
    for (;;) {
        if (zs->avail_in == 0 && len > 0) {
            size_t piece = len < piece_max ? len : piece_max;
            zs->next_in = (Bytef *)(uintptr_t)data; /* zlib's API is not const-correct */
            zs->avail_in = (uInt)piece;
            data += piece;
            len -= piece;
        }
        int flush = finish && len == 0 ? Z_FINISH : Z_NO_FLUSH;
        if (flush == Z_NO_FLUSH && zs->avail_in == 0) return 0;
        size_t room = cap - *produced;
        zs->next_out = buf + *produced;
        zs->avail_out = (uInt)(room < piece_max ? room : piece_max);
        uInt before = zs->avail_out;
        int rc = deflate(zs, flush);
        *produced += before - zs->avail_out;
        if (rc == Z_STREAM_END) return 0;
        if (rc == Z_STREAM_ERROR || (rc == Z_BUF_ERROR && *produced == cap)) return -1;
    }
}

int mtn_npygz_encode(const void *src, mtn_dtype dtype, const int64_t *shape, int ndim, void **out, size_t *out_len) {
    MTN_ASSERT(ndim >= 1 && ndim <= NPY_MAX_NDIM);
    *out = NULL;
    *out_len = 0;
    int64_t voxels;
    size_t data_bytes;
    if (!mtn_product_i64(shape, ndim, &voxels) || !mtn_mul_size((size_t)voxels, mtn_dtype_size(dtype), &data_bytes))
        return mtn_error_set(MTN_EOVERFLOW, "npygz: invalid or too large array shape");
    MTN_ASSERT(src || data_bytes == 0);
    char header[NPY_MAX_NDIM * 24 + 128];
    size_t header_len = npy_header(dtype, shape, ndim, header, sizeof header);

    size_t total;
    if (__builtin_add_overflow(header_len, data_bytes, &total) || compressBound((uLong)total) < total)
        return mtn_error_set(MTN_EOVERFLOW, "npygz: array too large");
    size_t cap = compressBound((uLong)total);
    unsigned char *buf = malloc(cap);
    if (!buf) return mtn_error_set(MTN_ENOMEM, "npygz: out of memory for %zu bytes", cap);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit(&zs, Z_DEFAULT_COMPRESSION) != Z_OK) {
        free(buf);
        return mtn_error_set(MTN_EINTERNAL, "npygz: deflateInit failed");
    }
    /* The header, then the voxels straight from src; compressBound covers the whole stream. */
    size_t produced = 0;
    int failed = deflate_feed(&zs, buf, cap, &produced, (const unsigned char *)header, header_len, false) ||
                 deflate_feed(&zs, buf, cap, &produced, src, data_bytes, true);
    deflateEnd(&zs);
    if (failed) {
        free(buf);
        return mtn_error_set(MTN_EINTERNAL, "npygz: zlib compression failed");
    }
    *out = buf;
    *out_len = produced;
    return MTN_OK;
}
