/* mtn/bossdb.h — the BossDB REST protocol, both ends (../shared/reference/
 * bossdb-protocol.md): bossdb:// URIs, channel dtypes, the blosc and npygz body
 * codecs, the client (libcurl: metadata, cutouts split into intern-aligned blocks and
 * fetched concurrently with retries) and the server behind `mtneuro serve`
 * (libmicrohttpd: the same REST subset, serving any mtn_volume).
 *
 * Ownership: the create and start functions return objects freed by the matching
 * free and stop functions,
 * which accept NULL. Buffers returned by the encoders are malloc'd; free() them.
 * Errors: negative MTN_E* codes with the message in mtn_error_message(); a message
 * about a request names its URL. */
#ifndef MTN_BOSSDB_H
#define MTN_BOSSDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mtn/core.h"

/* ---------------------------------------------------------------- names --- */

#define MTN_BOSSDB_NAME_MAX 128

/* bossdb://collection/experiment/channel; names are [A-Za-z0-9_-.] (BossDB's own
 * rule, plus '.'), at most 127 characters each. */
typedef struct {
    char collection[MTN_BOSSDB_NAME_MAX], experiment[MTN_BOSSDB_NAME_MAX], channel[MTN_BOSSDB_NAME_MAX];
} mtn_bossdb_uri;
int mtn_bossdb_parse_uri(const char *uri, mtn_bossdb_uri *out);

/* Channel data types the cutout service supports. */
typedef enum { MTN_DTYPE_UINT8, MTN_DTYPE_UINT16, MTN_DTYPE_UINT64 } mtn_dtype;
size_t mtn_dtype_size(mtn_dtype t);
const char *mtn_dtype_name(mtn_dtype t);          /* "uint8", ... */
int mtn_dtype_parse(const char *name, mtn_dtype *out); /* MTN_EDATA for uint32 and others */

/* ---------------------------------------------------------------- codecs --- */

/* Checks a blosc1 frame (header: compressed size equals frame_len, uncompressed size
 * equals expected_bytes) and decompresses it into dst. Any typesize, shuffle and
 * codec that libblosc reads is accepted. `what` (a URL, say) names the body in
 * messages; MTN_EDATA on any mismatch or corruption. Thread-safe. */
int mtn_blosc_decode(const void *frame, size_t frame_len, void *dst, size_t expected_bytes, const char *what);
/* One blosc1 frame as the real server writes it: blosclz, level 9, byte shuffle,
 * typesize = the dtype's BIT depth (8, 16, 64). Thread-safe. */
int mtn_blosc_encode(const void *src, size_t nbytes, mtn_dtype dtype, void **frame, size_t *frame_len);
/* application/npygz: a .npy file (C order, little-endian `shape` of `ndim` dims)
 * compressed with zlib (RFC 1950, not gzip), as BossDB's NpygzRenderer. */
int mtn_npygz_encode(const void *src, mtn_dtype dtype, const int64_t *shape, int ndim, void **out, size_t *out_len);

/* --------------------------------------------------------------- metadata --- */

typedef struct {
    char name[MTN_BOSSDB_NAME_MAX];
    mtn_dtype dtype;
    bool annotation;         /* "type": "annotation" (else "image") */
    int base_resolution;
    int default_time_sample;
} mtn_bossdb_channel;

typedef struct {
    char name[MTN_BOSSDB_NAME_MAX];
    char coord_frame[MTN_BOSSDB_NAME_MAX];
    int num_hierarchy_levels;
    char hierarchy_method[16]; /* "anisotropic" or "isotropic" */
    int num_time_samples;
} mtn_bossdb_experiment;

typedef struct {
    char name[MTN_BOSSDB_NAME_MAX];
    int64_t x_start, x_stop, y_start, y_stop, z_start, z_stop; /* stop exclusive */
    double x_voxel_size, y_voxel_size, z_voxel_size;
    char voxel_unit[16];     /* "nanometers", "micrometers", ... */
} mtn_bossdb_coord_frame;

/* ----------------------------------------------------------------- client --- */

typedef struct {
    int max_parallel;         /* concurrent requests (curl multi), default 4 */
    long connect_timeout_s;   /* default 10 */
    long low_speed_time_s;    /* abort a transfer slower than low_speed_bytes/s for */
    long low_speed_bytes;     /*   this long: defaults 30 s, 1024 B/s */
    long request_timeout_s;   /* whole request, default 300 (BossDB's idle timeout) */
    int max_retries;          /* per request, default 5 */
    double backoff_base_s;    /* first retry after ~base, doubling, full jitter; 0.25 */
    double backoff_max_s;     /* cap, default 8 */
    int64_t block[3];         /* split size x, y, z; intern's parallel default 512, 512, 96 */
    bool verify_tls;          /* default true; false only for tests against self-signed servers */
} mtn_bossdb_options;
void mtn_bossdb_default_options(mtn_bossdb_options *o);

/* The token: MTN_BOSSDB_TOKEN, else intern's ~/.intern/intern.cfg ([Volume Service]
 * then [Default] "token"), else "public". `from` (may be NULL) receives where it
 * came from, for messages. */
int mtn_bossdb_token(char *token, size_t cap, char *from, size_t from_cap);

typedef struct mtn_bossdb_client mtn_bossdb_client;
/* base_url: "https://api.bossdb.io" or "http://127.0.0.1:8080" (no trailing path).
 * Call curl_global_init once before any thread starts (cli does). */
int mtn_bossdb_client_create(const char *base_url, const char *token, const mtn_bossdb_options *o,
                             mtn_bossdb_client **out);
void mtn_bossdb_client_free(mtn_bossdb_client *c);

int mtn_bossdb_get_channel(mtn_bossdb_client *c, const mtn_bossdb_uri *uri, mtn_bossdb_channel *out);
int mtn_bossdb_get_experiment(mtn_bossdb_client *c, const char *collection, const char *experiment,
                              mtn_bossdb_experiment *out);
int mtn_bossdb_get_coord_frame(mtn_bossdb_client *c, const char *name, mtn_bossdb_coord_frame *out);
/* Collection metadata: checks it exists and lists its experiments (comma-separated). */
int mtn_bossdb_get_collection(mtn_bossdb_client *c, const char *name, char *experiments, size_t cap);

/* One cutout: channel, resolution, box (coordinates of that resolution) and where
 * its (z, y, x) voxels go, dtype-sized. */
typedef struct {
    mtn_bossdb_uri uri;
    mtn_dtype dtype;
    int res;
    mtn_box box;
    void *dst;
} mtn_cutout_request;

typedef struct {
    int64_t requests;         /* HTTP cutout requests completed (after splitting) */
    int64_t retries;          /* retried attempts */
    int64_t bytes_received;   /* body bytes (compressed) */
    int64_t bytes_decoded;    /* voxel bytes written */
    double seconds;
} mtn_fetch_stats;

/* Fetches every request, each split into blocks aligned to absolute multiples of
 * options.block (as intern splits, when larger than 1.2 blocks), all blocks fetched
 * concurrently with at most max_parallel in flight. Retries connection errors, 5xx,
 * and truncated or wrong-size bodies with exponential backoff and jitter; a 4xx
 * fails at once with the server's JSON message and the URL. stats may be NULL and
 * accumulates. */
int mtn_bossdb_fetch(mtn_bossdb_client *c, const mtn_cutout_request *reqs, int n, mtn_fetch_stats *stats);

/* ----------------------------------------------------------------- volume --- */

/* What a server serves: named channels over one coordinate frame, read by box.
 * Implementations: the phantom and HDF5 volume files (data.h). read must be
 * thread-safe (the server calls it from several threads). */
typedef struct {
    char collection[MTN_BOSSDB_NAME_MAX], experiment[MTN_BOSSDB_NAME_MAX], channel[MTN_BOSSDB_NAME_MAX];
    mtn_dtype dtype;
    bool annotation;
} mtn_volume_channel;

typedef struct mtn_volume mtn_volume;
struct mtn_volume {
    const char *description;          /* "phantom", "volume.h5" */
    int n_channels;
    const mtn_volume_channel *channels;
    char coord_frame[MTN_BOSSDB_NAME_MAX];
    int64_t extent[3];                /* x, y, z at resolution 0 (frame starts at 0) */
    double voxel_size[3];             /* x, y, z */
    const char *voxel_unit;           /* "micrometers" */
    int levels;                       /* resolutions 0 .. levels-1 (anisotropic) */
    /* Fills dst (C order z, y, x) with channel `ch` at resolution `res` over `box`. */
    int (*read)(mtn_volume *v, int ch, int res, const mtn_box *box, void *dst);
    void (*free)(mtn_volume *v);
    void *impl;
};
void mtn_volume_free(mtn_volume *v); /* calls v->free; accepts NULL */
/* Index of a channel by names, or -1. */
int mtn_volume_find(const mtn_volume *v, const char *collection, const char *experiment, const char *channel);

/* ----------------------------------------------------------------- server --- */

typedef struct {
    const char *bind;          /* default "127.0.0.1" */
    int port;                  /* 0: any free port (see mtn_server_port) */
    const char *token;         /* NULL: every request may read; else "Token <token>" required */
    int threads;               /* worker threads, default 4 */
    int max_connections;       /* default 64; beyond it connections are refused */
    int64_t max_cutout_bytes;  /* uncompressed, as BossDB's limit: default 545259520 */
    FILE *access_log;          /* one line per request; NULL: none */
    /* fault injection, for tests */
    double fault_5xx_rate;     /* probability that a cutout answers 503 */
    int fault_5xx_first;       /* the first N attempts at each cutout URL answer 503 */
    int fault_truncate_first;  /* the first N attempts send half the body, then close */
    int fault_wrongsize_first; /* the first N attempts send a valid frame of the wrong size */
    int fault_delay_ms;        /* delay before every cutout response */
    uint64_t fault_seed;
} mtn_server_options;
/* Defaults: bind 127.0.0.1, port 8080, no token, 4 threads, 64 connections,
 * BossDB's 545259520-byte limit, no access log, no faults.
 * Semantics, in detail:
 * - token: `Authorization: Token <token>` on every /v1/ route (/ping/ is open); any
 *   other token or scheme -> 401 {"detail": "Invalid token."}; none or `Token public`
 *   -> 403 {"status": 403, "code": 3001, ...}.
 * - memory: at most `threads` cutouts exist at once, from before their voxels are
 *   read until their body has been handed to the kernel; others wait (their
 *   connections suspended, the worker threads free). Each is at most
 *   max_cutout_bytes as BossDB counts (uint64 at 2 bytes a voxel), so raw voxels
 *   are at most 4x that, plus the encoded body.
 * - faults apply to valid cutout requests only (errors stay errors, metadata never
 *   faults). Attempts are counted per URL path (query excluded) in a bounded table:
 *   attempt n gets 503 for n <= fault_5xx_first, then a truncated body (full
 *   Content-Length, half sent, connection closed) for the next
 *   fault_truncate_first, then a valid frame of half the voxels for the next
 *   fault_wrongsize_first; later attempts get 503 with probability
 *   fault_5xx_rate (Philox keyed by fault_seed, one draw per request in arrival
 *   order). fault_delay_ms sleeps (in a worker thread) before each such response. */
void mtn_server_default_options(mtn_server_options *o);

typedef struct mtn_server mtn_server;
/* Starts serving `volume` (borrowed; must outlive the server) in background threads. */
int mtn_server_start(mtn_volume *volume, const mtn_server_options *o, mtn_server **out);
int mtn_server_port(const mtn_server *s);
/* Requests received so far, and the most that were in flight at once: arrived (their
 * request line read) and not yet answered (no reply queued, connection not gone). A
 * request counted is one its client is still waiting on, so max_in_flight never
 * exceeds the client's concurrent transfers. */
typedef struct {
    int64_t requests;
    int max_in_flight;
} mtn_server_stats;
void mtn_server_get_stats(const mtn_server *s, mtn_server_stats *out);
void mtn_server_stop(mtn_server *s);

#endif
