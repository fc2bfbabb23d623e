/* test_bossdb_codec.c — the BossDB body codecs: blosc frames of every codec libblosc
 * has, typesizes 1 to 255 (the server's 8/16/64 bit-depth quirk included), no,
 * byte and bit shuffle, memcpyed (stored) frames; frames that must be refused with
 * MTN_EDATA (wrong size, truncated, corrupted header or payload); our encoder
 * writing what the real server writes; and npygz bodies parsed back (zlib, NPY 1.0). */
#include <blosc.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "harness.h"
#include "mtn/bossdb.h"

/* Test data: slow ramps with a little noise, compressible but not trivially. */
static unsigned char *make_data(size_t n, uint64_t seed) {
    unsigned char *d = malloc(n);
    mtn_rng r;
    mtn_rng_init(&r, seed, 0, 0);
    for (size_t i = 0; i < n; i++) d[i] = (unsigned char)((i / 64) % 251 + (i % 8 == 0 ? mtn_rng_u32(&r) & 1 : 0));
    return d;
}

static unsigned char *make_frame(const void *src, size_t n, int clevel, int shuffle, size_t typesize, const char *codec,
                                 size_t *len) {
    size_t cap = n + BLOSC_MAX_OVERHEAD;
    unsigned char *f = malloc(cap);
    int got = blosc_compress_ctx(clevel, shuffle, typesize, n, src, f, cap, codec, 0, 1);
    CU_ASSERT_FATAL(got > 0);
    *len = (size_t)got;
    return f;
}

/* The header's codec field (flags bits 5-7) for a compressor code: lz4hc writes lz4's format. */
static int format_of(int compcode) {
    switch (compcode) {
    case BLOSC_BLOSCLZ: return BLOSC_BLOSCLZ_FORMAT;
    case BLOSC_LZ4:
    case BLOSC_LZ4HC: return BLOSC_LZ4_FORMAT;
    case BLOSC_SNAPPY: return BLOSC_SNAPPY_FORMAT;
    case BLOSC_ZLIB: return BLOSC_ZLIB_FORMAT;
    case BLOSC_ZSTD: return BLOSC_ZSTD_FORMAT;
    }
    return -1;
}

static void test_decode_every_codec_shuffle_and_typesize(void) {
    static const size_t typesizes[] = {1, 2, 3, 4, 8, 16, 64, 255};
    static const int shuffles[] = {BLOSC_NOSHUFFLE, BLOSC_SHUFFLE, BLOSC_BITSHUFFLE};
    char codecs[256];
    snprintf(codecs, sizeof codecs, "%s", blosc_list_compressors());
    int n_codecs = 0, n_frames = 0, n_stored = 0;
    const size_t n = 40000 + 13; /* not a multiple of any typesize > 1: leftover bytes too */
    unsigned char *src = make_data(n, 1), *dst = malloc(n);
    for (char *save = NULL, *codec = strtok_r(codecs, ",", &save); codec; codec = strtok_r(NULL, ",", &save)) {
        n_codecs++;
        int code = blosc_compname_to_compcode(codec);
        for (size_t t = 0; t < sizeof typesizes / sizeof *typesizes; t++)
            for (size_t s = 0; s < sizeof shuffles / sizeof *shuffles; s++) {
                size_t len;
                unsigned char *frame = make_frame(src, n, 5, shuffles[s], typesizes[t], codec, &len);
                /* the header says what we asked for: the case is really covered */
                CU_ASSERT_EQUAL(frame[3], typesizes[t]);
                if (frame[2] & BLOSC_MEMCPYED) n_stored++;
                else CU_ASSERT_EQUAL(frame[2] >> 5, format_of(code));
                CU_ASSERT_EQUAL(frame[2] & (BLOSC_DOSHUFFLE | BLOSC_DOBITSHUFFLE),
                                shuffles[s] == BLOSC_SHUFFLE      ? BLOSC_DOSHUFFLE
                                : shuffles[s] == BLOSC_BITSHUFFLE ? BLOSC_DOBITSHUFFLE
                                                                  : 0);
                memset(dst, 0xAB, n);
                int rc = mtn_blosc_decode(frame, len, dst, n, "test frame");
                CU_ASSERT_EQUAL(rc, MTN_OK);
                if (rc) fprintf(stderr, "codec %s typesize %zu shuffle %d: %s\n", codec, typesizes[t], shuffles[s],
                                mtn_error_message());
                CU_ASSERT(memcmp(src, dst, n) == 0);
                free(frame);
                n_frames++;
            }
    }
    CU_ASSERT(n_codecs >= 4); /* blosclz, lz4, lz4hc, zlib, zstd in Debian's build */
    CU_ASSERT_EQUAL(n_frames, n_codecs * 8 * 3);
    CU_ASSERT(n_stored < n_frames / 4); /* most frames really are compressed */
    free(src);
    free(dst);
}

static void test_decode_memcpyed_frames(void) {
    const size_t n = 5000;
    unsigned char *src = make_data(n, 2), *dst = malloc(n);
    /* level 0 stores; random bytes do not compress and are stored too */
    mtn_rng r;
    mtn_rng_init(&r, 3, 0, 0);
    unsigned char *noise = malloc(n);
    for (size_t i = 0; i < n; i++) noise[i] = (unsigned char)mtn_rng_u32(&r);
    const unsigned char *inputs[2] = {src, noise};
    int levels[2] = {0, 9};
    for (int k = 0; k < 2; k++) {
        size_t len, ts;
        int flags;
        unsigned char *frame = make_frame(inputs[k], n, levels[k], BLOSC_SHUFFLE, 8, "blosclz", &len);
        blosc_cbuffer_metainfo(frame, &ts, &flags);
        CU_ASSERT(flags & BLOSC_MEMCPYED);
        CU_ASSERT_EQUAL(len, n + BLOSC_MAX_OVERHEAD);
        CU_ASSERT_EQUAL(mtn_blosc_decode(frame, len, dst, n, "stored"), MTN_OK);
        CU_ASSERT(memcmp(inputs[k], dst, n) == 0);
        free(frame);
    }
    /* the stand-in server tip of protocol §2.3: a hand-made stored frame */
    unsigned char *hand = malloc(n + 16);
    uint32_t fields[3] = {(uint32_t)n, (uint32_t)n, (uint32_t)(n + 16)};
    hand[0] = 2, hand[1] = 1, hand[2] = 0x02, hand[3] = 64;
    for (int i = 0; i < 3; i++)
        for (int b = 0; b < 4; b++) hand[4 + 4 * i + b] = (unsigned char)(fields[i] >> (8 * b));
    memcpy(hand + 16, src, n);
    CU_ASSERT_EQUAL(mtn_blosc_decode(hand, n + 16, dst, n, "hand-made"), MTN_OK);
    CU_ASSERT(memcmp(src, dst, n) == 0);
    free(hand);
    free(noise);
    free(src);
    free(dst);
}

/* The call fails with MTN_EDATA and a message naming `what` and containing `word`. */
static void expect_refused(const void *frame, size_t len, size_t expected, const char *word) {
    unsigned char *dst = malloc(expected + 1);
    mtn_error_clear();
    int rc = mtn_blosc_decode(frame, len, dst, expected, "http://h/v1/cutout/x");
    CU_ASSERT_EQUAL(rc, MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "http://h/v1/cutout/x"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), word));
    if (rc != MTN_EDATA || !strstr(mtn_error_message(), word))
        fprintf(stderr, "expected a refusal mentioning \"%s\", got %d: %s\n", word, rc, mtn_error_message());
    free(dst);
}

static void test_decode_refuses_bad_frames(void) {
    const size_t n = 30000;
    unsigned char *src = make_data(n, 4);
    size_t len;
    unsigned char *frame = make_frame(src, n, 9, BLOSC_SHUFFLE, 8, "blosclz", &len);
    CU_ASSERT(len < n); /* really compressed: the payload checks below bite */

    expect_refused(frame, len, n - 1, "expected 29999");   /* fewer voxels than the header holds */
    expect_refused(frame, len, n + 8, "expected 30008");   /* more */
    expect_refused(frame, len - 1, n, "truncated");        /* body cut short */
    expect_refused(frame, len / 2, n, "truncated");
    expect_refused(frame, 10, n, "shorter than");          /* not even a header */
    expect_refused(frame, 0, n, "shorter than");

    unsigned char *bad = malloc(len);
    memcpy(bad, frame, len);
    bad[0] = 0xff; /* unknown format version */
    expect_refused(bad, len, n, "not a blosc1 frame");
    memcpy(bad, frame, len);
    bad[12] ^= 0x40; /* ctbytes no longer the body length */
    expect_refused(bad, len, n, "truncated");
    memcpy(bad, frame, len);
    for (int i = 16; i < 20; i++) bad[i] = 0xff; /* first block offset far past the frame */
    expect_refused(bad, len, n, "corrupted");
    memcpy(bad, frame, len);
    for (int i = 8; i < 12; i++) bad[i] = 0; /* blocksize 0 */
    expect_refused(bad, len, n, "corrupted");
    free(bad);
    free(frame);
    free(src);
}

static void test_encode_like_the_server_and_round_trip(void) {
    static const mtn_dtype types[] = {MTN_DTYPE_UINT8, MTN_DTYPE_UINT16, MTN_DTYPE_UINT64};
    static const int bits[] = {8, 16, 64};
    const size_t voxels = 64 * 64 * 3;
    for (int t = 0; t < 3; t++) {
        size_t n = voxels * mtn_dtype_size(types[t]);
        unsigned char *src = malloc(n), *dst = malloc(n);
        for (size_t i = 0; i < voxels; i++) { /* voxel values: a slow ramp, little-endian */
            uint64_t value = i / 50 + (i % 16 == 0);
            for (size_t b = 0; b < mtn_dtype_size(types[t]); b++)
                src[i * mtn_dtype_size(types[t]) + b] = (unsigned char)(value >> (8 * b));
        }
        void *frame;
        size_t len;
        CU_ASSERT_EQUAL_FATAL(mtn_blosc_encode(src, n, types[t], &frame, &len), MTN_OK);
        const unsigned char *h = frame;
        size_t nbytes, cbytes, blocksize;
        blosc_cbuffer_sizes(frame, &nbytes, &cbytes, &blocksize);
        CU_ASSERT_EQUAL(h[0], 2);              /* blosc1 format version */
        CU_ASSERT_EQUAL(h[1], 1);              /* blosclz */
        CU_ASSERT_EQUAL(h[3], bits[t]);        /* typesize = bit depth, the server's quirk */
        CU_ASSERT_EQUAL(h[2] >> 5, 0);         /* codec blosclz */
        CU_ASSERT(h[2] & BLOSC_DOSHUFFLE);
        CU_ASSERT_EQUAL(nbytes, n);
        CU_ASSERT_EQUAL(cbytes, len);
        CU_ASSERT(len < n); /* level 9 did compress */
        CU_ASSERT_EQUAL(mtn_blosc_decode(frame, len, dst, n, "round trip"), MTN_OK);
        CU_ASSERT(memcmp(src, dst, n) == 0);
        free(frame);
        free(src);
        free(dst);
    }
    /* an empty body is a valid 16-byte frame */
    void *frame;
    size_t len;
    CU_ASSERT_EQUAL(mtn_blosc_encode("", 0, MTN_DTYPE_UINT8, &frame, &len), MTN_OK);
    CU_ASSERT_EQUAL(len, 16);
    CU_ASSERT_EQUAL(mtn_blosc_decode(frame, len, NULL, 0, "empty"), MTN_OK);
    free(frame);
}

/* Inflates a zlib stream (RFC 1950: it must start with a zlib header). */
static unsigned char *inflate_all(const void *z, size_t zlen, size_t cap, size_t *out_len) {
    const unsigned char *b = z;
    CU_ASSERT_FATAL(zlen > 2);
    CU_ASSERT_EQUAL(b[0] & 0x0f, 8);                   /* deflate */
    CU_ASSERT_EQUAL(((unsigned)b[0] << 8 | b[1]) % 31, 0); /* zlib header check bits, not gzip's 1f 8b */
    unsigned char *out = malloc(cap);
    uLongf n = (uLongf)cap;
    CU_ASSERT_EQUAL_FATAL(uncompress(out, &n, z, (uLong)zlen), Z_OK);
    *out_len = n;
    return out;
}

/* Encodes, inflates and parses the NPY file: magic, version 1.0, the exact header
 * dict numpy writes, 64-byte alignment, then the data. */
static void check_npygz(mtn_dtype dtype, const int64_t *shape, int ndim, const char *want_dict) {
    int64_t voxels = 1;
    for (int i = 0; i < ndim; i++) voxels *= shape[i];
    size_t n = (size_t)voxels * mtn_dtype_size(dtype);
    unsigned char *src = make_data(n, 6);
    void *z;
    size_t zlen, len;
    CU_ASSERT_EQUAL_FATAL(mtn_npygz_encode(src, dtype, shape, ndim, &z, &zlen), MTN_OK);
    unsigned char *npy = inflate_all(z, zlen, n + 4096, &len);
    CU_ASSERT(memcmp(npy, "\x93NUMPY\x01\x00", 8) == 0);
    size_t hlen = (size_t)npy[8] | (size_t)npy[9] << 8;
    CU_ASSERT_EQUAL((10 + hlen) % 64, 0);
    CU_ASSERT_EQUAL(len, 10 + hlen + n);
    CU_ASSERT_EQUAL(npy[10 + hlen - 1], '\n');
    size_t dict_len = strlen(want_dict);
    CU_ASSERT(memcmp(npy + 10, want_dict, dict_len) == 0);
    if (memcmp(npy + 10, want_dict, dict_len) != 0) fprintf(stderr, "npy header: %.*s\n", (int)hlen, npy + 10);
    for (size_t i = 10 + dict_len; i < 10 + hlen - 1; i++) CU_ASSERT_EQUAL(npy[i], ' ');
    CU_ASSERT(len == 10 + hlen + n && memcmp(npy + 10 + hlen, src, n) == 0);
    free(npy);
    free(z);
    free(src);
}

static void test_npygz(void) {
    int64_t zyx[3] = {3, 4, 5}, tzyx[4] = {1, 2, 30, 7}, flat[1] = {11}, big[3] = {16, 100, 100};
    check_npygz(MTN_DTYPE_UINT8, zyx, 3, "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 4, 5), }");
    check_npygz(MTN_DTYPE_UINT16, tzyx, 4, "{'descr': '<u2', 'fortran_order': False, 'shape': (1, 2, 30, 7), }");
    check_npygz(MTN_DTYPE_UINT64, flat, 1, "{'descr': '<u8', 'fortran_order': False, 'shape': (11,), }");
    check_npygz(MTN_DTYPE_UINT8, big, 3, "{'descr': '|u1', 'fortran_order': False, 'shape': (16, 100, 100), }");
    int64_t negative[3] = {3, -4, 5}, huge[3] = {INT64_C(1) << 40, INT64_C(1) << 40, 4};
    void *z = NULL;
    size_t zlen;
    CU_ASSERT_EQUAL(mtn_npygz_encode("", MTN_DTYPE_UINT8, negative, 3, &z, &zlen), MTN_EOVERFLOW);
    CU_ASSERT_EQUAL(mtn_npygz_encode("", MTN_DTYPE_UINT8, huge, 3, &z, &zlen), MTN_EOVERFLOW);
    CU_ASSERT_PTR_NULL(z);
}

static const mtn_test_case blosc_tests[] = {
    {"decode: every codec, shuffle and typesize", test_decode_every_codec_shuffle_and_typesize},
    {"decode: memcpyed frames", test_decode_memcpyed_frames},
    {"decode: refuses wrong-size, truncated and corrupted frames", test_decode_refuses_bad_frames},
    {"encode: as the server, round trip", test_encode_like_the_server_and_round_trip},
    {NULL, NULL}};
static const mtn_test_case npygz_tests[] = {{"npygz: zlib stream of an NPY 1.0 file", test_npygz}, {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {{"blosc", blosc_tests}, {"npygz", npygz_tests}, {NULL, NULL}};
