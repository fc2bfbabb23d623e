/* server_routes.c — the server's URL routes (protocol §3.1) and metadata
 * resources: /ping/, /v1/collection/..., /v1/coord/..., /v1/downsample/... and the
 * dispatch to /v1/cutout/... (server_cutout.c); /latest/ is accepted for /v1/ as
 * BossDB's nginx rewrites it. Trailing slashes are optional everywhere. JSON bodies
 * carry the field names of protocol §3.2; everything is public and owned by
 * "mtneuro". Also the token check of every /v1/ route (BossDB exempts coordinate
 * frames and answers public data to anyone; with a token set, this server does not).
 *
 * Deliberate differences from BossDB: a path that matches no route gets a JSON 404
 * (Django's is an HTML page); the downsample extents are floor(extent / 2^r), the
 * whole 2^r x 2^r blocks the volumes compute (BossDB rounds up). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server_internal.h"

enum { SRV_MAX_SEGMENTS = 16, SRV_PATH_MAX = 2048, SRV_CUBOID_XY = 512, SRV_CUBOID_Z = 16 };

/* ---------------------------------------------------------------- auth --- */

bool srv_authorized(srv_request *r, enum MHD_Result *reply) {
    const char *want = r->server->token;
    if (!want) return true;
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *key = NULL;
    if (h) {
        while (*h == ' ') h++;
        if (strncasecmp(h, "Token", 5) == 0 && (h[5] == ' ' || h[5] == '\0')) {
            key = h + 5;
            while (*key == ' ') key++;
        } else {
            *reply = srv_reply_detail(r, MHD_HTTP_UNAUTHORIZED, "Invalid token.");
            return false;
        }
    }
    if (!key || strcmp(key, "public") == 0) { /* anonymous or the public user: no permission */
        *reply = srv_reply_error(r, MHD_HTTP_FORBIDDEN, 3001, "This user does not have the required permissions");
        return false;
    }
    if (!*key) {
        *reply = srv_reply_detail(r, MHD_HTTP_UNAUTHORIZED, "Invalid token header. No credentials provided.");
        return false;
    }
    size_t n = strlen(want), m = strlen(key);
    while (m > 0 && key[m - 1] == ' ') m--;
    unsigned diff = (unsigned)(n != m);
    for (size_t i = 0; i < m; i++) diff |= (unsigned)(key[i] ^ want[i % n]); /* time independent of where they differ */
    if (diff) {
        *reply = srv_reply_detail(r, MHD_HTTP_UNAUTHORIZED, "Invalid token.");
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ lookups --- */

typedef enum { FIND_COLLECTION, FIND_EXPERIMENT, FIND_CHANNEL } find_level;

/* Index of the first channel under collection [/ experiment [/ channel]], or -1. */
static int find_first(const mtn_volume *v, find_level level, const char *c, const char *e, const char *ch) {
    for (int i = 0; i < v->n_channels; i++) {
        const mtn_volume_channel *k = &v->channels[i];
        if (strcmp(k->collection, c) != 0) continue;
        if (level >= FIND_EXPERIMENT && e && strcmp(k->experiment, e) != 0) continue;
        if (level >= FIND_CHANNEL && ch && strcmp(k->channel, ch) != 0) continue;
        return i;
    }
    return -1;
}

/* Finds a resource or replies 404, code 4000 — in the cutout views' words ("Collection
 * X not found") or the metadata views' ("X does not exist."). */
static int find_or_404(srv_request *r, find_level level, const char *c, const char *e, const char *ch, bool metadata,
                       enum MHD_Result *reply) {
    const mtn_volume *v = r->server->volume;
    static const char *kinds[] = {"Collection", "Experiment", "Channel"};
    const char *names[] = {c, e, ch};
    for (int l = 0; l <= (int)level; l++) {
        int i = find_first(v, (find_level)l, c, e, ch);
        if (i >= 0) {
            if (l == (int)level) return i;
            continue;
        }
        if (metadata) *reply = srv_reply_error(r, MHD_HTTP_NOT_FOUND, 4000, "%s does not exist.", names[l]);
        else *reply = srv_reply_error(r, MHD_HTTP_NOT_FOUND, 4000, "%s %s not found", kinds[l], names[l]);
        return -1;
    }
    return -1;
}

/* ------------------------------------------------------------------ JSON --- */

/* A JSON number that always prints as a float ("4.0", not "4"), as BossDB's voxel sizes. */
static cJSON *json_float(double x) {
    if (!isfinite(x)) return cJSON_CreateNull();
    char buf[64];
    for (int prec = 15; prec <= 17; prec++) { /* the shortest text that reads back exactly */
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) break;
    }
    if (!strpbrk(buf, ".eE")) strncat(buf, ".0", sizeof buf - strlen(buf) - 1);
    return cJSON_CreateRaw(buf);
}

static void add_common(cJSON *o, const char *name) {
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "description", "");
    cJSON_AddStringToObject(o, "creator", "mtneuro");
    cJSON_AddBoolToObject(o, "public", true);
}

/* Distinct names at one level under a parent, in the volume's order. */
static cJSON *name_list(const mtn_volume *v, find_level level, const char *c, const char *e) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < v->n_channels; i++) {
        const mtn_volume_channel *k = &v->channels[i];
        if (level >= FIND_EXPERIMENT && strcmp(k->collection, c) != 0) continue;
        if (level >= FIND_CHANNEL && strcmp(k->experiment, e) != 0) continue;
        const char *name = level == FIND_COLLECTION ? k->collection : level == FIND_EXPERIMENT ? k->experiment
                                                                                              : k->channel;
        if (find_first(v, level, level == FIND_COLLECTION ? name : c, level == FIND_EXPERIMENT ? name : e, name) == i)
            cJSON_AddItemToArray(a, cJSON_CreateString(name));
    }
    return a;
}

static cJSON *list_object(const char *key, cJSON *list) {
    cJSON *o = cJSON_CreateObject();
    if (o) cJSON_AddItemToObject(o, key, list);
    else cJSON_Delete(list);
    return o;
}

static cJSON *collection_json(const mtn_volume *v, const char *c) {
    cJSON *o = cJSON_CreateObject();
    add_common(o, c);
    cJSON_AddItemToObject(o, "experiments", name_list(v, FIND_EXPERIMENT, c, NULL));
    return o;
}

static cJSON *experiment_json(const mtn_volume *v, const char *c, const char *e) {
    cJSON *o = cJSON_CreateObject();
    add_common(o, e);
    cJSON_AddStringToObject(o, "collection", c);
    cJSON_AddStringToObject(o, "coord_frame", v->coord_frame);
    cJSON_AddNumberToObject(o, "num_hierarchy_levels", v->levels);
    cJSON_AddStringToObject(o, "hierarchy_method", "anisotropic");
    cJSON_AddNumberToObject(o, "num_time_samples", 1);
    cJSON_AddNullToObject(o, "time_step");
    cJSON_AddNullToObject(o, "time_step_unit");
    cJSON_AddItemToObject(o, "channels", name_list(v, FIND_CHANNEL, c, e));
    return o;
}

static cJSON *channel_json(const mtn_volume *v, int i) {
    const mtn_volume_channel *k = &v->channels[i];
    cJSON *o = cJSON_CreateObject();
    add_common(o, k->channel);
    cJSON_AddStringToObject(o, "experiment", k->experiment);
    cJSON_AddNumberToObject(o, "default_time_sample", 0);
    cJSON_AddStringToObject(o, "type", k->annotation ? "annotation" : "image");
    cJSON_AddNumberToObject(o, "base_resolution", 0);
    cJSON_AddStringToObject(o, "datatype", mtn_dtype_name(k->dtype));
    cJSON_AddItemToObject(o, "sources", cJSON_CreateArray());
    cJSON_AddItemToObject(o, "related", cJSON_CreateArray());
    cJSON_AddStringToObject(o, "downsample_status", "DOWNSAMPLED");
    cJSON_AddStringToObject(o, "storage_type", "spdb");
    cJSON_AddNullToObject(o, "bucket");
    cJSON_AddNullToObject(o, "cv_path");
    return o;
}

static cJSON *coord_json(const mtn_volume *v) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", v->coord_frame);
    cJSON_AddStringToObject(o, "description", "");
    static const char *axes[] = {"x", "y", "z"};
    char key[16];
    for (int a = 0; a < 3; a++) {
        snprintf(key, sizeof key, "%s_start", axes[a]);
        cJSON_AddNumberToObject(o, key, 0);
        snprintf(key, sizeof key, "%s_stop", axes[a]);
        cJSON_AddNumberToObject(o, key, (double)v->extent[a]);
    }
    for (int a = 0; a < 3; a++) {
        snprintf(key, sizeof key, "%s_voxel_size", axes[a]);
        cJSON_AddItemToObject(o, key, json_float(v->voxel_size[a]));
    }
    cJSON_AddStringToObject(o, "voxel_unit", v->voxel_unit);
    return o;
}

static cJSON *triple(double x, double y, double z, bool floats) {
    cJSON *a = cJSON_CreateArray();
    double t[3] = {x, y, z};
    for (int i = 0; i < 3; i++) cJSON_AddItemToArray(a, floats ? json_float(t[i]) : cJSON_CreateNumber(t[i]));
    return a;
}

static cJSON *downsample_json(const mtn_volume *v) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "DOWNSAMPLED");
    cJSON_AddNumberToObject(o, "num_hierarchy_levels", v->levels);
    cJSON *cub = cJSON_AddObjectToObject(o, "cuboid_size");
    cJSON *ext = cJSON_AddObjectToObject(o, "extent");
    cJSON *vox = cJSON_AddObjectToObject(o, "voxel_size");
    for (int r = 0; r < v->levels; r++) {
        char key[16];
        snprintf(key, sizeof key, "%d", r);
        double f = (double)(INT64_C(1) << r);
        cJSON_AddItemToObject(cub, key, triple(SRV_CUBOID_XY, SRV_CUBOID_XY, SRV_CUBOID_Z, false));
        cJSON_AddItemToObject(ext, key, triple((double)(v->extent[0] >> r), (double)(v->extent[1] >> r),
                                               (double)v->extent[2], false));
        cJSON_AddItemToObject(vox, key, triple(v->voxel_size[0] * f, v->voxel_size[1] * f, v->voxel_size[2], true));
    }
    return o;
}

/* ------------------------------------------------------------- routing --- */

/* Splits the path into segments; a trailing slash is dropped. False when the path
 * has empty segments or too many. */
static bool split_path(char *path, char **seg, int *nseg) {
    *nseg = 0;
    if (path[0] != '/') return false;
    char *p = path + 1;
    size_t len = strlen(p);
    if (len > 0 && p[len - 1] == '/') p[len - 1] = '\0';
    if (!*p) return true;
    for (;;) {
        if (*nseg == SRV_MAX_SEGMENTS) return false;
        seg[(*nseg)++] = p;
        char *slash = strchr(p, '/');
        if (!slash) break;
        *slash = '\0';
        p = slash + 1;
    }
    for (int i = 0; i < *nseg; i++)
        if (!*seg[i]) return false;
    return true;
}

static bool is(const char *seg, const char *word) { return strcmp(seg, word) == 0; }

static enum MHD_Result not_found(srv_request *r, const char *url) {
    return srv_reply_error(r, MHD_HTTP_NOT_FOUND, 4000, "No BossDB route matches %.512s", url);
}

/* /v1/collection/... */
static enum MHD_Result route_collection(srv_request *r, char **seg, int n, const char *url) {
    const mtn_volume *v = r->server->volume;
    enum MHD_Result reply = MHD_NO;
    if (n == 1)
        return srv_reply_json(r, MHD_HTTP_OK, list_object("collections", name_list(v, FIND_COLLECTION, NULL, NULL)));
    if (find_or_404(r, FIND_COLLECTION, seg[1], NULL, NULL, true, &reply) < 0) return reply;
    if (n == 2) return srv_reply_json(r, MHD_HTTP_OK, collection_json(v, seg[1]));
    if (!is(seg[2], "experiment")) return not_found(r, url);
    if (n == 3)
        return srv_reply_json(r, MHD_HTTP_OK, list_object("experiments", name_list(v, FIND_EXPERIMENT, seg[1], NULL)));
    if (find_or_404(r, FIND_EXPERIMENT, seg[1], seg[3], NULL, true, &reply) < 0) return reply;
    if (n == 4) return srv_reply_json(r, MHD_HTTP_OK, experiment_json(v, seg[1], seg[3]));
    if (!is(seg[4], "channel")) return not_found(r, url);
    if (n == 5)
        return srv_reply_json(r, MHD_HTTP_OK, list_object("channels", name_list(v, FIND_CHANNEL, seg[1], seg[3])));
    if (n > 6) return not_found(r, url);
    int i = find_or_404(r, FIND_CHANNEL, seg[1], seg[3], seg[5], true, &reply);
    if (i < 0) return reply;
    return srv_reply_json(r, MHD_HTTP_OK, channel_json(v, i));
}

enum MHD_Result srv_route(srv_request *r, const char *url, const char *method) {
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        char detail[64];
        snprintf(detail, sizeof detail, "Method \"%.16s\" not allowed.", method);
        return srv_reply_detail(r, MHD_HTTP_METHOD_NOT_ALLOWED, detail);
    }
    char path[SRV_PATH_MAX], *seg[SRV_MAX_SEGMENTS];
    int n;
    if (strlen(url) >= sizeof path) return not_found(r, "(a path too long)");
    snprintf(path, sizeof path, "%s", url);
    if (!split_path(path, seg, &n) || n == 0) return not_found(r, url);
    if (n == 1 && is(seg[0], "ping")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "ip", r->addr);
        return srv_reply_json(r, MHD_HTTP_OK, o);
    }
    if (!is(seg[0], "v1") && !is(seg[0], "latest")) return not_found(r, url);
    if (n < 2) return not_found(r, url);
    enum MHD_Result reply = MHD_NO;
    if (!srv_authorized(r, &reply)) return reply;
    const mtn_volume *v = r->server->volume;
    char **rest = seg + 1;
    int m = n - 1;
    if (is(rest[0], "collection")) return route_collection(r, rest, m, url);
    if (is(rest[0], "coord")) {
        if (m == 1) {
            cJSON *a = cJSON_CreateArray();
            cJSON_AddItemToArray(a, cJSON_CreateString(v->coord_frame));
            return srv_reply_json(r, MHD_HTTP_OK, list_object("coords", a));
        }
        if (m > 2) return not_found(r, url);
        if (!is(rest[1], v->coord_frame))
            return srv_reply_error(r, MHD_HTTP_NOT_FOUND, 4000, "%s does not exist.", rest[1]);
        return srv_reply_json(r, MHD_HTTP_OK, coord_json(v));
    }
    if (is(rest[0], "downsample")) {
        if (m != 4) return not_found(r, url);
        if (find_or_404(r, FIND_CHANNEL, rest[1], rest[2], rest[3], false, &reply) < 0) return reply;
        return srv_reply_json(r, MHD_HTTP_OK, downsample_json(v));
    }
    if (is(rest[0], "cutout")) {
        if (m != 8 && m != 9) return not_found(r, url);
        return srv_cutout_route(r, rest + 1, m - 1);
    }
    return not_found(r, url);
}
