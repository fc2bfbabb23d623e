/* server_cutout.c — GET /v1/cutout/{c}/{e}/{ch}/{res}/{x0}:{x1}/{y0}:{y1}/{z0}:{z1}/[{t0}:{t1}/]
 * (protocol §1, §2, §4.4): content negotiation (application/blosc by default and
 * for any type, application/npygz when asked), validation with BossDB's errors, injected
 * faults, then the voxels read from the volume under a permit and sent as one body.
 *
 * Checks, in order: the URL's syntax (else 404, as BossDB's anchored regexes);
 * Accept (406 when neither format is acceptable: this server renders no JPEG);
 * names (404/4000 "Collection X not found"); query (access-mode cache|no-cache|raw
 * and legacy no-cache=true|false, else 400/1001; filter and iso=true are not
 * supported: 400/1005); resolution in [0, levels) (400/1002); every range
 * start < stop inside the frame (400/1001); time 0:1, the only sample (400/1000);
 * size, counted as BossDB counts it (x·y·z·t·bit_depth/8, uint64 at 2 bytes per
 * voxel), over opt.max_cutout_bytes (413/2000).
 *
 * Stricter than BossDB: at res > 0 the box is checked against that level's extent
 * (floor(extent / 2^r) in x and y), not the res-0 frame, so a box past the level's
 * edge is a 400 rather than zeros. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server_internal.h"

/* BossDB's default limit, which its message calls "500MB". */
static const int64_t BOSSDB_CUTOUT_MAX = INT64_C(545259520);

/* "a:b", decimal digits only (values saturate, so huge ones fail the frame check). */
static bool parse_range(const char *s, int64_t *a, int64_t *b) {
    int64_t *out[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        if (*s < '0' || *s > '9') return false;
        int64_t v = 0;
        for (; *s >= '0' && *s <= '9'; s++) v = v > (INT64_MAX - 9) / 10 ? INT64_MAX : v * 10 + (*s - '0');
        *out[k] = v;
        if (k == 0 && *s++ != ':') return false;
    }
    return *s == '\0';
}

/* DRF's choice among this server's renderers (blosc first, then npygz): a specific
 * type the client lists wins, else a wildcard gets blosc. q values are ignored, as
 * DRF ignores them. 1 blosc, 2 npygz, 0 nothing acceptable. */
static int negotiate(const char *accept) {
    if (!accept || !*accept) return 1;
    bool blosc = false, npygz = false, wild = false;
    const char *p = accept;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        size_t n = strcspn(p, ",;");
        while (n > 0 && p[n - 1] == ' ') n--;
#define MT(lit) (n == sizeof(lit) - 1 && strncasecmp(p, lit, n) == 0)
        if (MT("application/blosc")) blosc = true;
        else if (MT("application/npygz")) npygz = true;
        else if (MT("*/*") || MT("application/*")) wild = true;
#undef MT
        p += strcspn(p, ",");
    }
    return blosc ? 1 : npygz ? 2 : wild ? 1 : 0;
}

/* The query parameters; false after replying with an error. */
static bool check_query(srv_request *r, bool annotation, enum MHD_Result *reply) {
    struct MHD_Connection *c = r->conn;
    const char *mode = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "access-mode");
    if (mode && strcasecmp(mode, "cache") != 0 && strcasecmp(mode, "no-cache") != 0 && strcasecmp(mode, "raw") != 0) {
        *reply = srv_reply_error(r, MHD_HTTP_BAD_REQUEST, 1001,
                                 "Invalid access mode \"%.64s\": expected cache, no-cache or raw", mode);
        return false;
    }
    const char *legacy = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "no-cache");
    if (legacy && strcasecmp(legacy, "true") != 0 && strcasecmp(legacy, "false") != 0) {
        *reply = srv_reply_error(r, MHD_HTTP_BAD_REQUEST, 1001, "Invalid no-cache value \"%.64s\": expected true or false",
                                 legacy);
        return false;
    }
    if (MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "filter")) {
        *reply = annotation ? srv_reply_error(r, MHD_HTTP_BAD_REQUEST, 1005, "filter is not supported by mtneuro serve")
                            : srv_reply_error(r, MHD_HTTP_BAD_REQUEST, 2003,
                                              "The filter parameter is only supported for annotation channels");
        return false;
    }
    const char *iso = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "iso");
    if (iso && strcasecmp(iso, "true") == 0) {
        *reply = srv_reply_error(r, MHD_HTTP_BAD_REQUEST, 1005,
                                 "iso=true is not supported: mtneuro serve keeps only the anisotropic hierarchy");
        return false;
    }
    return true;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

enum MHD_Result srv_cutout_route(srv_request *r, char **seg, int nseg) {
    mtn_server *s = r->server;
    const mtn_volume *v = s->volume;
    char url[1024];
    snprintf(url, sizeof url, "/v1/cutout/%s/%s/%s/%s/%s/%s/%s/%s", seg[0], seg[1], seg[2], seg[3], seg[4], seg[5],
             seg[6], nseg == 8 ? seg[7] : "");
    /* syntax: as BossDB's URL patterns, else no route */
    int64_t lo[4], hi[4];
    bool has_time = nseg == 8;
    bool syntax = strlen(seg[3]) == 1 && seg[3][0] >= '0' && seg[3][0] <= '9';
    for (int a = 0; a < 3 + has_time && syntax; a++) syntax = parse_range(seg[4 + a], &lo[a], &hi[a]);
    if (!syntax) return srv_reply_error(r, MHD_HTTP_NOT_FOUND, 4000, "No BossDB route matches %s", url);
    int res = seg[3][0] - '0';

    int format = negotiate(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
    if (!format)
        return srv_reply_error(r, MHD_HTTP_NOT_ACCEPTABLE, 5001,
                               "Accept: this server renders application/blosc and application/npygz only");
    int ch = mtn_volume_find(v, seg[0], seg[1], seg[2]);
    if (ch < 0) {
        const char *kind = "Channel", *name = seg[2];
        bool coll = false, exp = false;
        for (int i = 0; i < v->n_channels; i++) {
            bool in_coll = strcmp(v->channels[i].collection, seg[0]) == 0;
            coll = coll || in_coll;
            exp = exp || (in_coll && strcmp(v->channels[i].experiment, seg[1]) == 0);
        }
        if (!coll) kind = "Collection", name = seg[0];
        else if (!exp) kind = "Experiment", name = seg[1];
        return srv_reply_error(r, MHD_HTTP_NOT_FOUND, 4000, "%s %s not found", kind, name);
    }
    const mtn_volume_channel *chan = &v->channels[ch];
    enum MHD_Result reply = MHD_NO;
    if (!check_query(r, chan->annotation, &reply)) return reply;
    if (res >= v->levels)
        return srv_reply_error(r, MHD_HTTP_BAD_REQUEST, 1002,
                               "Invalid resolution %d. The resolution has to be within 0 and %d", res, v->levels);
    int64_t ext[3] = {v->extent[0] >> res, v->extent[1] >> res, v->extent[2]};
    for (int a = 0; a < 3; a++)
        if (lo[a] >= hi[a] || hi[a] > ext[a])
            return srv_reply_error(r, MHD_HTTP_BAD_REQUEST, 1001,
                                   "Incorrect cutout arguments %s/%s/%s/%s (each range is start:stop with start < stop, "
                                   "inside x 0:%lld, y 0:%lld, z 0:%lld at resolution %d)",
                                   seg[3], seg[4], seg[5], seg[6], (long long)ext[0], (long long)ext[1],
                                   (long long)ext[2], res);
    if (has_time && !(lo[3] == 0 && hi[3] == 1))
        return srv_reply_error(r, MHD_HTTP_BAD_REQUEST, 1000,
                               "Incorrect time range %s: this experiment has 1 time sample (t 0:1)", seg[7]);

    srv_cutout *c = &r->cutout;
    memset(c, 0, sizeof *c);
    c->ch = ch;
    c->res = res;
    c->box = (mtn_box){lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]};
    c->has_time = has_time;
    c->npygz = format == 2;
    size_t dsize = mtn_dtype_size(chan->dtype);
    int64_t counted = 0, per_voxel = chan->dtype == MTN_DTYPE_UINT64 ? 2 : (int64_t)dsize;
    bool fits = mtn_box_voxels(&c->box, &c->voxels) && mtn_mul_i64(c->voxels, per_voxel, &counted) &&
                mtn_mul_size((size_t)c->voxels, dsize, &c->bytes);
    if (!fits || counted > s->opt.max_cutout_bytes) {
        if (s->opt.max_cutout_bytes == BOSSDB_CUTOUT_MAX)
            return srv_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, 2000,
                                   "Cutout request is over 500MB when uncompressed. Reduce cutout dimensions.");
        return srv_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE, 2000,
                               "Cutout request is over %lld bytes when uncompressed. Reduce cutout dimensions.",
                               (long long)s->opt.max_cutout_bytes);
    }

    if (s->opt.fault_delay_ms > 0) sleep_ms(s->opt.fault_delay_ms);
    int64_t attempt = 0;
    c->fault = srv_fault_decide(&s->faults, &s->opt, url, &attempt);
    if (c->fault == SRV_FAULT_5XX)
        return srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, 5000,
                               "Injected fault: service unavailable (attempt %lld at this URL)", (long long)attempt);
    r->pending = true;
    return srv_cutout_continue(r);
}

/* Reads the voxels and replies with the encoded body (or the planned fault). */
static enum MHD_Result send_cutout(srv_request *r) {
    mtn_volume *v = r->server->volume;
    const srv_cutout *c = &r->cutout;
    mtn_dtype dtype = v->channels[c->ch].dtype;
    void *raw = malloc(c->bytes);
    if (!raw)
        return srv_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, 5000, "Out of memory for a %zu-byte cutout", c->bytes);
    int rc = v->read(v, c->ch, c->res, &c->box, raw);
    int64_t voxels = c->fault == SRV_FAULT_WRONGSIZE ? c->voxels / 2 : c->voxels;
    void *body = NULL;
    size_t len = 0;
    if (!rc && c->npygz) {
        int64_t shape[4] = {0};
        int ndim = 0;
        if (c->fault == SRV_FAULT_WRONGSIZE) {
            shape[ndim++] = voxels;
        } else {
            if (c->has_time) shape[ndim++] = 1;
            shape[ndim++] = mtn_box_nz(&c->box);
            shape[ndim++] = mtn_box_ny(&c->box);
            shape[ndim++] = mtn_box_nx(&c->box);
        }
        rc = mtn_npygz_encode(raw, dtype, shape, ndim, &body, &len);
    } else if (!rc) {
        rc = mtn_blosc_encode(raw, (size_t)voxels * mtn_dtype_size(dtype), dtype, &body, &len);
    }
    free(raw);
    if (rc) {
        MTN_WARN("serve: %s: %s", r->uri, mtn_error_message());
        return srv_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, 5000, "%s", mtn_error_message());
    }
    size_t send_len = c->fault == SRV_FAULT_TRUNCATE ? len / 2 : len;
    return srv_reply_body(r, c->npygz ? "application/npygz" : "application/blosc", body, len, send_len);
}

enum MHD_Result srv_cutout_continue(srv_request *r) {
    switch (srv_permit_acquire(r)) {
    case SRV_PERMIT_QUEUED: return MHD_YES; /* suspended; called again with a permit */
    case SRV_PERMIT_STOPPING:
        r->pending = false;
        return srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, 5000, "The server is stopping");
    case SRV_PERMIT_GRANTED: break;
    }
    r->pending = false;
    return send_cutout(r);
}
