/* client.c — the BossDB client: metadata documents and cutouts over libcurl. A
 * cutout larger than 1.2 blocks is split into blocks aligned to absolute multiples
 * of the block size (as intern splits), all blocks go through one curl multi handle
 * with at most max_parallel in flight, and each is retried with exponential backoff
 * and full jitter on connection errors, 5xx, and truncated or wrong-size bodies.
 * A 4xx fails at once with the server's message and the URL. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mtn/bossdb.h"

struct mtn_bossdb_client {
    char base[512];
    mtn_bossdb_options opt;
    CURLM *multi;
    struct curl_slist *blosc_headers, *json_headers;
    mtn_rng jitter;
};

void mtn_bossdb_default_options(mtn_bossdb_options *o) {
    memset(o, 0, sizeof *o);
    o->max_parallel = 4;
    o->connect_timeout_s = 10;
    o->low_speed_time_s = 30;
    o->low_speed_bytes = 1024;
    o->request_timeout_s = 300;
    o->max_retries = 5;
    o->backoff_base_s = 0.25;
    o->backoff_max_s = 8.0;
    o->block[0] = 512;
    o->block[1] = 512;
    o->block[2] = 96;
    o->verify_tls = true;
}

int mtn_bossdb_client_create(const char *base_url, const char *token, const mtn_bossdb_options *o,
                             mtn_bossdb_client **out) {
    *out = NULL;
    if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0)
        return mtn_error_set(MTN_EUSAGE, "source \"%s\": expected an http:// or https:// URL (or \"phantom\")", base_url);
    size_t n = strlen(base_url);
    while (n > 0 && base_url[n - 1] == '/') n--;
    if (n >= 512) return mtn_error_set(MTN_EUSAGE, "source URL is longer than 511 characters");
    mtn_bossdb_client *c = calloc(1, sizeof *c);
    if (!c) return mtn_error_set(MTN_ENOMEM, "out of memory creating the BossDB client");
    memcpy(c->base, base_url, n);
    if (o) c->opt = *o;
    else mtn_bossdb_default_options(&c->opt);
    if (c->opt.max_parallel < 1) c->opt.max_parallel = 1;
    for (int i = 0; i < 3; i++)
        if (c->opt.block[i] < 1) c->opt.block[i] = 1;
    char auth[600], agent[64];
    snprintf(auth, sizeof auth, "Authorization: Token %s", token && token[0] ? token : "public");
    snprintf(agent, sizeof agent, "User-Agent: mtneuro/%s", mtn_version());
    struct curl_slist **lists[2] = {&c->blosc_headers, &c->json_headers};
    const char *accept[2] = {"Accept: application/blosc", "Accept: application/json"};
    for (int i = 0; i < 2; i++) {
        *lists[i] = curl_slist_append(*lists[i], auth);
        *lists[i] = curl_slist_append(*lists[i], accept[i]);
        *lists[i] = curl_slist_append(*lists[i], agent);
    }
    c->multi = curl_multi_init();
    if (!c->multi || !c->blosc_headers || !c->json_headers) {
        mtn_bossdb_client_free(c);
        return mtn_error_set(MTN_ENOMEM, "cannot initialise libcurl");
    }
    /* jitter only spreads retries in time; seeding it per process keeps ranks apart */
    mtn_rng_init(&c->jitter, (uint64_t)getpid() ^ (uint64_t)time(NULL), MTN_STREAM_RETRY, 0);
    *out = c;
    return MTN_OK;
}

void mtn_bossdb_client_free(mtn_bossdb_client *c) {
    if (!c) return;
    if (c->multi) curl_multi_cleanup(c->multi);
    curl_slist_free_all(c->blosc_headers);
    curl_slist_free_all(c->json_headers);
    free(c);
}

/* ------------------------------------------------------------ transfers --- */

/* One GET, in flight or waiting for its next attempt: a cutout block (decoded into
 * its request's destination) or a metadata document (parsed into *json). */
typedef struct {
    char url[2048];
    char *body;
    size_t len, cap, limit;
    const mtn_cutout_request *req; /* cutout: the request this block belongs to */
    mtn_box box;                   /* cutout: the block */
    cJSON **json;                  /* metadata: where the parsed document goes */
    int attempts;
    double ready_at;
    CURL *easy;
    bool done;
    char errbuf[CURL_ERROR_SIZE];
    char last_error[768];
    bool unreachable;              /* the last failure was a connection failure */
} transfer;

typedef enum { OUTCOME_OK, OUTCOME_RETRY, OUTCOME_FATAL } outcome;

static size_t on_data(char *data, size_t size, size_t nmemb, void *user) {
    transfer *t = user;
    size_t n = size * nmemb;
    if (t->len + n > t->limit) return 0; /* more than any valid body: abort (CURLE_WRITE_ERROR) */
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 65536;
        while (cap < t->len + n) cap *= 2;
        if (cap > t->limit) cap = t->limit;
        char *nb = realloc(t->body, cap);
        if (!nb) return 0;
        t->body = nb;
        t->cap = cap;
    }
    memcpy(t->body + t->len, data, n);
    t->len += n;
    return n;
}

static int start(mtn_bossdb_client *c, transfer *t) {
    CURL *e = curl_easy_init();
    if (!e) return mtn_error_set(MTN_ENOMEM, "cannot create a curl handle");
    const mtn_bossdb_options *o = &c->opt;
    t->len = 0;
    t->errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, t->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->json ? c->json_headers : c->blosc_headers);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, o->low_speed_time_s);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, o->low_speed_bytes);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, o->request_timeout_s);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o->verify_tls ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o->verify_tls ? 2L : 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        return mtn_error_set(MTN_EINTERNAL, "%s: cannot start the transfer", t->url);
    }
    t->easy = e;
    t->attempts++;
    return MTN_OK;
}

/* The server's explanation of an error body: BossDB's {"status", "code", "message"},
 * DRF's {"detail"}, or the start of the raw text. */
static void describe_error_body(const transfer *t, char *out, size_t cap) {
    cJSON *doc = t->len ? cJSON_ParseWithLength(t->body, t->len) : NULL;
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(doc, "message");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(doc, "code");
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(doc, "detail");
    if (cJSON_IsString(msg) && cJSON_IsNumber(code)) snprintf(out, cap, "BossDB error %d: %s", code->valueint, msg->valuestring);
    else if (cJSON_IsString(msg)) snprintf(out, cap, "%s", msg->valuestring);
    else if (cJSON_IsString(detail)) snprintf(out, cap, "%s", detail->valuestring);
    else if (t->len) snprintf(out, cap, "%.*s", (int)(t->len < 200 ? t->len : 200), t->body);
    else snprintf(out, cap, "(empty body)");
    cJSON_Delete(doc);
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
}

static bool transient_curl_error(CURLcode rc) {
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_WRITE_ERROR:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

/* Copies a decoded block into its place in the request's destination. */
static void scatter(const mtn_cutout_request *r, const mtn_box *b, const unsigned char *src) {
    size_t es = mtn_dtype_size(r->dtype);
    int64_t rnx = mtn_box_nx(&r->box), rny = mtn_box_ny(&r->box);
    size_t row = (size_t)mtn_box_nx(b) * es;
    unsigned char *dst = r->dst;
    for (int64_t z = b->z0; z < b->z1; z++)
        for (int64_t y = b->y0; y < b->y1; y++) {
            int64_t at = ((z - r->box.z0) * rny + (y - r->box.y0)) * rnx + (b->x0 - r->box.x0);
            memcpy(dst + (size_t)at * es, src, row);
            src += row;
        }
}

static bool same_box(const mtn_box *a, const mtn_box *b) { return memcmp(a, b, sizeof *a) == 0; }

/* Judges a finished attempt. OK: the body is decoded (or parsed) into place. */
static outcome complete(transfer *t, CURLcode rc, long http, mtn_fetch_stats *stats) {
    t->unreachable = false;
    if (rc != CURLE_OK) {
        snprintf(t->last_error, sizeof t->last_error, "%s", t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
        t->unreachable = rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT ||
                         rc == CURLE_COULDNT_RESOLVE_PROXY || (rc == CURLE_OPERATION_TIMEDOUT && t->len == 0);
        return transient_curl_error(rc) ? OUTCOME_RETRY : OUTCOME_FATAL;
    }
    if (http != 200) {
        char why[512];
        describe_error_body(t, why, sizeof why);
        const char *hint = http == 401 || http == 403
                               ? " (check the token: MTN_BOSSDB_TOKEN or ~/.intern/intern.cfg)"
                           : http == 429 ? " (a BossDB quota is used up: retrying will not help)"
                                         : "";
        snprintf(t->last_error, sizeof t->last_error, "HTTP %ld: %s%s", http, why, hint);
        return http >= 500 ? OUTCOME_RETRY : OUTCOME_FATAL;
    }
    if (stats) stats->bytes_received += (int64_t)t->len;
    if (t->json) {
        cJSON *doc = cJSON_ParseWithLength(t->body, t->len);
        if (!doc) {
            snprintf(t->last_error, sizeof t->last_error, "expected a JSON document, found an unparsable body of %zu bytes",
                     t->len);
            return OUTCOME_RETRY;
        }
        *t->json = doc;
        return OUTCOME_OK;
    }
    int64_t voxels;
    MTN_ASSERT(mtn_box_voxels(&t->box, &voxels));
    size_t bytes = (size_t)voxels * mtn_dtype_size(t->req->dtype);
    bool whole = same_box(&t->box, &t->req->box);
    void *dst = whole ? t->req->dst : malloc(bytes);
    if (!dst) {
        snprintf(t->last_error, sizeof t->last_error, "out of memory for a %zu-byte block", bytes);
        return OUTCOME_FATAL;
    }
    int drc = mtn_blosc_decode(t->body, t->len, dst, bytes, t->url);
    if (drc == MTN_OK && !whole) scatter(t->req, &t->box, dst);
    if (!whole) free(dst);
    if (drc != MTN_OK) {
        snprintf(t->last_error, sizeof t->last_error, "%s", mtn_error_message());
        return OUTCOME_RETRY; /* a truncated or wrong-size body: ask again */
    }
    if (stats) stats->bytes_decoded += (int64_t)bytes;
    return OUTCOME_OK;
}

static double backoff(mtn_bossdb_client *c, int attempts) {
    double cap = c->opt.backoff_base_s * pow(2.0, attempts - 1);
    if (cap > c->opt.backoff_max_s) cap = c->opt.backoff_max_s;
    return cap * mtn_rng_uniform(&c->jitter); /* "full jitter" */
}

static int fail(mtn_bossdb_client *c, const transfer *t) {
    char host[512];
    snprintf(host, sizeof host, "%s", c->base);
    if (t->unreachable)
        return mtn_error_set(MTN_EDATA,
                             "cannot reach %s after %d attempts (%s; GET %s); without network access use "
                             "--source phantom, or point --source at a reachable BossDB mirror",
                             host, t->attempts, t->last_error, t->url);
    if (t->attempts > c->opt.max_retries)
        return mtn_error_set(MTN_EDATA, "GET %s failed after %d attempts: %s", t->url, t->attempts, t->last_error);
    return mtn_error_set(MTN_EDATA, "GET %s: %s", t->url, t->last_error);
}

/* Runs every transfer to success, or stops at the first that cannot succeed. */
static int run_transfers(mtn_bossdb_client *c, transfer *ts, int n, mtn_fetch_stats *stats) {
    double t0 = mtn_now();
    int active = 0, finished = 0, rc = MTN_OK;
    while (finished < n && rc == MTN_OK) {
        double now = mtn_now(), next_ready = now + 1.0;
        for (int i = 0; i < n && active < c->opt.max_parallel && rc == MTN_OK; i++) {
            transfer *t = &ts[i];
            if (t->done || t->easy) continue;
            if (t->ready_at <= now) {
                rc = start(c, t);
                if (rc == MTN_OK) active++;
            } else if (t->ready_at < next_ready) {
                next_ready = t->ready_at;
            }
        }
        if (rc) break;
        int running = 0;
        curl_multi_perform(c->multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE) continue;
            transfer *t = NULL;
            long http = 0;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &http);
            CURLcode result = m->data.result;
            curl_multi_remove_handle(c->multi, m->easy_handle);
            curl_easy_cleanup(m->easy_handle);
            t->easy = NULL;
            active--;
            if (rc) continue;
            outcome out = complete(t, result, http, stats);
            if (out == OUTCOME_OK) {
                t->done = true;
                finished++;
                if (stats && !t->json) stats->requests++;
            } else if (out == OUTCOME_RETRY && t->attempts <= c->opt.max_retries) {
                t->ready_at = mtn_now() + backoff(c, t->attempts);
                if (stats) stats->retries++;
                MTN_DEBUG("retrying %s in %.2f s: %s", t->url, t->ready_at - mtn_now(), t->last_error);
            } else {
                rc = fail(c, t);
            }
        }
        if (rc || finished == n) break;
        double wait_s = next_ready - mtn_now();
        int wait_ms = wait_s <= 0 ? 0 : wait_s > 1.0 ? 1000 : (int)(wait_s * 1000) + 1;
        if (active > 0) curl_multi_poll(c->multi, NULL, 0, wait_ms, NULL);
        else if (wait_ms > 0) usleep((useconds_t)wait_ms * 1000);
    }
    for (int i = 0; i < n; i++) {
        if (ts[i].easy) {
            curl_multi_remove_handle(c->multi, ts[i].easy);
            curl_easy_cleanup(ts[i].easy);
            ts[i].easy = NULL;
        }
        free(ts[i].body);
        ts[i].body = NULL;
    }
    if (stats) stats->seconds += mtn_now() - t0;
    return rc;
}

/* ------------------------------------------------------------- metadata --- */

/* GETs the metadata document at the formatted path; url receives its full URL for
 * the messages of the field checks that follow. */
static int get_doc(mtn_bossdb_client *c, char *url, size_t cap, cJSON **doc, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int get_doc(mtn_bossdb_client *c, char *url, size_t cap, cJSON **doc, const char *fmt, ...) {
    char path[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    snprintf(url, cap, "%s%s", c->base, path);
    transfer t;
    memset(&t, 0, sizeof t);
    snprintf(t.url, sizeof t.url, "%s", url);
    t.json = doc;
    t.limit = 16u << 20;
    *doc = NULL;
    return run_transfers(c, &t, 1, NULL);
}

static int field_error(const char *url, const char *key, const char *expected, const cJSON *found) {
    char *repr = found ? cJSON_PrintUnformatted(found) : NULL;
    int rc = mtn_error_set(MTN_EDATA, "%s: expected field \"%s\" (%s), found %s", url, key, expected,
                           repr ? repr : "nothing");
    cJSON_free(repr);
    return rc;
}

static int field_string(const cJSON *doc, const char *url, const char *key, char *out, size_t cap) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap) return field_error(url, key, "a string", v);
    snprintf(out, cap, "%s", v->valuestring);
    return MTN_OK;
}

static int field_int(const cJSON *doc, const char *url, const char *key, int64_t *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 9e15)
        return field_error(url, key, "an integer", v);
    *out = (int64_t)v->valuedouble;
    return MTN_OK;
}

static int field_double(const cJSON *doc, const char *url, const char *key, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);
    if (!cJSON_IsNumber(v)) return field_error(url, key, "a number", v);
    *out = v->valuedouble;
    return MTN_OK;
}

int mtn_bossdb_get_channel(mtn_bossdb_client *c, const mtn_bossdb_uri *uri, mtn_bossdb_channel *out) {
    char url[1200], dtype[32], type[32];
    cJSON *doc;
    int rc = get_doc(c, url, sizeof url, &doc, "/v1/collection/%s/experiment/%s/channel/%s/", uri->collection,
                     uri->experiment, uri->channel);
    if (rc) return rc;
    memset(out, 0, sizeof *out);
    int64_t base_res = 0, t = 0;
    rc = field_string(doc, url, "name", out->name, sizeof out->name);
    if (!rc) rc = field_string(doc, url, "datatype", dtype, sizeof dtype);
    if (!rc) rc = field_string(doc, url, "type", type, sizeof type);
    if (!rc && cJSON_HasObjectItem(doc, "base_resolution")) rc = field_int(doc, url, "base_resolution", &base_res);
    if (!rc && cJSON_HasObjectItem(doc, "default_time_sample")) rc = field_int(doc, url, "default_time_sample", &t);
    cJSON_Delete(doc);
    if (!rc && mtn_dtype_parse(dtype, &out->dtype) != MTN_OK)
        rc = mtn_error_set(MTN_EDATA, "%s: datatype \"%s\": expected uint8, uint16 or uint64", url, dtype);
    if (rc) return rc;
    out->annotation = strcmp(type, "annotation") == 0;
    out->base_resolution = (int)base_res;
    out->default_time_sample = (int)t;
    return MTN_OK;
}

int mtn_bossdb_get_experiment(mtn_bossdb_client *c, const char *collection, const char *experiment,
                              mtn_bossdb_experiment *out) {
    char url[1200];
    cJSON *doc;
    int rc = get_doc(c, url, sizeof url, &doc, "/v1/collection/%s/experiment/%s/", collection, experiment);
    if (rc) return rc;
    memset(out, 0, sizeof *out);
    int64_t levels = 1, times = 1;
    rc = field_string(doc, url, "name", out->name, sizeof out->name);
    if (!rc) rc = field_string(doc, url, "coord_frame", out->coord_frame, sizeof out->coord_frame);
    if (!rc) rc = field_int(doc, url, "num_hierarchy_levels", &levels);
    if (!rc && cJSON_HasObjectItem(doc, "hierarchy_method"))
        rc = field_string(doc, url, "hierarchy_method", out->hierarchy_method, sizeof out->hierarchy_method);
    if (!rc && cJSON_HasObjectItem(doc, "num_time_samples")) rc = field_int(doc, url, "num_time_samples", &times);
    cJSON_Delete(doc);
    out->num_hierarchy_levels = (int)levels;
    out->num_time_samples = (int)times;
    return rc;
}

int mtn_bossdb_get_coord_frame(mtn_bossdb_client *c, const char *name, mtn_bossdb_coord_frame *out) {
    char url[1200];
    cJSON *doc;
    int rc = get_doc(c, url, sizeof url, &doc, "/v1/coord/%s/", name);
    if (rc) return rc;
    memset(out, 0, sizeof *out);
    const char *ints[6] = {"x_start", "x_stop", "y_start", "y_stop", "z_start", "z_stop"};
    int64_t *iv[6] = {&out->x_start, &out->x_stop, &out->y_start, &out->y_stop, &out->z_start, &out->z_stop};
    const char *dbl[3] = {"x_voxel_size", "y_voxel_size", "z_voxel_size"};
    double *dv[3] = {&out->x_voxel_size, &out->y_voxel_size, &out->z_voxel_size};
    rc = field_string(doc, url, "name", out->name, sizeof out->name);
    for (int i = 0; i < 6 && !rc; i++) rc = field_int(doc, url, ints[i], iv[i]);
    for (int i = 0; i < 3 && !rc; i++) rc = field_double(doc, url, dbl[i], dv[i]);
    if (!rc) rc = field_string(doc, url, "voxel_unit", out->voxel_unit, sizeof out->voxel_unit);
    cJSON_Delete(doc);
    return rc;
}

int mtn_bossdb_get_collection(mtn_bossdb_client *c, const char *name, char *experiments, size_t cap) {
    char url[1200];
    cJSON *doc;
    int rc = get_doc(c, url, sizeof url, &doc, "/v1/collection/%s/", name);
    if (rc) return rc;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "experiments");
    if (!cJSON_IsArray(list)) rc = field_error(url, "experiments", "a list of names", list);
    size_t len = 0;
    if (experiments && cap) experiments[0] = '\0';
    for (const cJSON *e = rc ? NULL : list->child; e && experiments; e = e->next)
        if (cJSON_IsString(e) && len < cap)
            len += (size_t)snprintf(experiments + len, cap - len, "%s%s", len ? "," : "", e->valuestring);
    cJSON_Delete(doc);
    return rc;
}

/* -------------------------------------------------------------- cutouts --- */

/* Cut points of [start, stop) at multiples of `block` strictly inside it. */
static int axis_segments(int64_t start, int64_t stop, int64_t block, int64_t *seg, int max) {
    int n = 0;
    int64_t a = start;
    for (int64_t m = (start / block + 1) * block; m < stop && n < max - 1; m += block) {
        seg[2 * n] = a;
        seg[2 * n + 1] = m;
        a = m;
        n++;
    }
    seg[2 * n] = a;
    seg[2 * n + 1] = stop;
    return n + 1;
}

static void cutout_url(const mtn_bossdb_client *c, const mtn_cutout_request *r, const mtn_box *b, char *out,
                       size_t cap) {
    snprintf(out, cap, "%s/v1/cutout/%s/%s/%s/%d/%lld:%lld/%lld:%lld/%lld:%lld/?access-mode=no-cache", c->base,
             r->uri.collection, r->uri.experiment, r->uri.channel, r->res, (long long)b->x0, (long long)b->x1,
             (long long)b->y0, (long long)b->y1, (long long)b->z0, (long long)b->z1);
}

enum { MAX_AXIS_SEGMENTS = 4096 };

int mtn_bossdb_fetch(mtn_bossdb_client *c, const mtn_cutout_request *reqs, int n, mtn_fetch_stats *stats) {
    const int64_t *blk = c->opt.block;
    int64_t block_voxels = blk[0] * blk[1] * blk[2];
    /* count the blocks, then lay them out */
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        int64_t v;
        if (!mtn_box_voxels(&reqs[i].box, &v))
            return mtn_error_set(MTN_EDATA, "cutout %d of %s/%s/%s: expected a non-empty box", i,
                                 reqs[i].uri.collection, reqs[i].uri.experiment, reqs[i].uri.channel);
        if ((double)v <= 1.2 * (double)block_voxels) { total++; continue; }
        int64_t nb = 1;
        const int64_t lo[3] = {reqs[i].box.x0, reqs[i].box.y0, reqs[i].box.z0};
        const int64_t hi[3] = {reqs[i].box.x1, reqs[i].box.y1, reqs[i].box.z1};
        for (int a = 0; a < 3; a++) nb *= (hi[a] - 1) / blk[a] - lo[a] / blk[a] + 1;
        total += nb;
    }
    if (total > (1 << 24)) return mtn_error_set(MTN_EDATA, "cutouts split into %lld blocks: too many", (long long)total);
    transfer *ts = calloc((size_t)(total ? total : 1), sizeof *ts);
    int64_t *seg = malloc(sizeof(int64_t) * 2 * MAX_AXIS_SEGMENTS * 3);
    if (!ts || !seg) {
        free(ts);
        free(seg);
        return mtn_error_set(MTN_ENOMEM, "out of memory for %lld cutout blocks", (long long)total);
    }
    int64_t k = 0;
    for (int i = 0; i < n; i++) {
        const mtn_cutout_request *r = &reqs[i];
        int64_t v;
        mtn_box_voxels(&r->box, &v);
        int64_t *sx = seg, *sy = seg + 2 * MAX_AXIS_SEGMENTS, *sz = seg + 4 * MAX_AXIS_SEGMENTS;
        int nx = 1, ny = 1, nz = 1;
        if ((double)v <= 1.2 * (double)block_voxels) {
            sx[0] = r->box.x0; sx[1] = r->box.x1;
            sy[0] = r->box.y0; sy[1] = r->box.y1;
            sz[0] = r->box.z0; sz[1] = r->box.z1;
        } else {
            nx = axis_segments(r->box.x0, r->box.x1, blk[0], sx, MAX_AXIS_SEGMENTS);
            ny = axis_segments(r->box.y0, r->box.y1, blk[1], sy, MAX_AXIS_SEGMENTS);
            nz = axis_segments(r->box.z0, r->box.z1, blk[2], sz, MAX_AXIS_SEGMENTS);
        }
        for (int ix = 0; ix < nx; ix++)
            for (int iy = 0; iy < ny; iy++)
                for (int iz = 0; iz < nz; iz++) {
                    transfer *t = &ts[k++];
                    t->req = r;
                    t->box = (mtn_box){sx[2 * ix], sx[2 * ix + 1], sy[2 * iy], sy[2 * iy + 1], sz[2 * iz], sz[2 * iz + 1]};
                    int64_t bv;
                    mtn_box_voxels(&t->box, &bv);
                    t->limit = (size_t)bv * mtn_dtype_size(r->dtype) + 65536; /* frame + header, or an error body */
                    cutout_url(c, r, &t->box, t->url, sizeof t->url);
                }
    }
    MTN_ASSERT(k == total);
    free(seg);
    int rc = run_transfers(c, ts, (int)total, stats);
    free(ts);
    return rc;
}
