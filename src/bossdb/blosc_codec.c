/* blosc_codec.c — the application/blosc body: one blosc1 frame (protocol §2.3).
 * Decoding checks the 16-byte header against the body length and the expected voxel
 * bytes before decompressing; encoding writes a frame exactly as the real server
 * does (blosclz, level 9, byte shuffle, typesize = the dtype's BIT depth). Both use
 * libblosc's context functions, which need no global state and are thread-safe. */
#include <blosc.h>
#include <stdlib.h>

#include "mtn/bossdb.h"

int mtn_blosc_decode(const void *frame, size_t frame_len, void *dst, size_t expected_bytes, const char *what) {
    MTN_ASSERT(frame || frame_len == 0);
    MTN_ASSERT(dst || expected_bytes == 0);
    if (!what) what = "blosc body";
    if (frame_len < BLOSC_MIN_HEADER_LENGTH)
        return mtn_error_set(MTN_EDATA, "%s: blosc frame of %zu bytes is shorter than its %d-byte header", what,
                             frame_len, BLOSC_MIN_HEADER_LENGTH);
    size_t nbytes = 0, cbytes = 0, blocksize = 0;
    blosc_cbuffer_sizes(frame, &nbytes, &cbytes, &blocksize);
    if (nbytes == 0 && cbytes == 0 && blocksize == 0)
        return mtn_error_set(MTN_EDATA, "%s: not a blosc1 frame (unsupported header version %u)", what,
                             (unsigned)((const unsigned char *)frame)[0]);
    if (cbytes != frame_len)
        return mtn_error_set(MTN_EDATA,
                             "%s: blosc header says the frame is %zu bytes but the body is %zu bytes (truncated or "
                             "corrupted transfer)",
                             what, cbytes, frame_len);
    if (nbytes != expected_bytes)
        return mtn_error_set(MTN_EDATA,
                             "%s: blosc frame holds %zu uncompressed bytes, expected %zu (wrong voxel count or dtype)",
                             what, nbytes, expected_bytes);
    size_t valid_nbytes = 0;
    if (blosc_cbuffer_validate(frame, frame_len, &valid_nbytes) != 0 || valid_nbytes != nbytes)
        return mtn_error_set(MTN_EDATA, "%s: corrupted blosc header", what);
    if (expected_bytes == 0) return MTN_OK;
    int got = blosc_decompress_ctx(frame, dst, expected_bytes, 1);
    if (got < 0 || (size_t)got != expected_bytes)
        return mtn_error_set(MTN_EDATA, "%s: corrupted blosc frame (decompression failed with %d)", what, got);
    return MTN_OK;
}

int mtn_blosc_encode(const void *src, size_t nbytes, mtn_dtype dtype, void **frame, size_t *frame_len) {
    MTN_ASSERT(src || nbytes == 0);
    *frame = NULL;
    *frame_len = 0;
    if (nbytes > (size_t)BLOSC_MAX_BUFFERSIZE)
        return mtn_error_set(MTN_EOVERFLOW, "blosc: %zu bytes exceed blosc1's limit of %d bytes per frame", nbytes,
                             BLOSC_MAX_BUFFERSIZE);
    size_t cap = nbytes + BLOSC_MAX_OVERHEAD;
    unsigned char *out = malloc(cap);
    if (!out) return mtn_error_set(MTN_ENOMEM, "blosc: out of memory for a %zu-byte frame", cap);
    size_t typesize = 8 * mtn_dtype_size(dtype); /* the server's quirk: bits, not bytes */
    int n = blosc_compress_ctx(9, BLOSC_SHUFFLE, typesize, nbytes, src, out, cap, "blosclz", 0, 1);
    if (n <= 0) {
        free(out);
        return mtn_error_set(MTN_EINTERNAL, "blosc: compressing %zu bytes failed (%d)", nbytes, n);
    }
    *frame = out;
    *frame_len = (size_t)n;
    return MTN_OK;
}
