/* config_file.c — loading task and network configs from files or text: read the
 * JSON, apply defaults, follow the "base" chain, read the keys, then (after any job
 * overrides) finish, which infers, fills presets and checks the whole. Also tells
 * config kinds apart. */
#include <string.h>

#include "config_internal.h"
#include "config_loader.h"
#include "json_doc.h"

enum { MAX_BASE_DEPTH = 8 };

static int begin_file(mtn_config_kind kind, const char *path, void *out, int depth);

void mtn_config_resolve_path(char *out, size_t cap, const char *file, const char *rel) {
    const char *slash = strrchr(file, '/');
    if (rel[0] == '/' || !slash) snprintf(out, cap, "%s", rel);
    else snprintf(out, cap, "%.*s/%s", (int)(slash - file), file, rel);
}

const mtn_schema *mtn_config_schema(mtn_config_kind kind) {
    MTN_ASSERT(kind == MTN_KIND_TASK || kind == MTN_KIND_NETWORK);
    return kind == MTN_KIND_TASK ? &mtn_task_schema : &mtn_network_schema;
}

int mtn_config_read(mtn_config_kind kind, void *out, const cJSON *obj, const mtn_schema_ctx *ctx, const char *path) {
    return kind == MTN_KIND_TASK ? mtn_task_read(out, obj, ctx, path) : mtn_network_read(out, obj, ctx, path);
}

int mtn_config_finish(mtn_config_kind kind, void *out, const mtn_schema_ctx *ctx) {
    return kind == MTN_KIND_TASK ? mtn_task_finish(out, ctx) : mtn_network_finish(out, ctx);
}

/* Defaults, then the "base" chain (deepest first), then this object's own keys. */
static int begin_tree(mtn_config_kind kind, const cJSON *root, const char *file, const char *path, void *out,
                      int depth) {
    const mtn_schema *s = mtn_config_schema(kind);
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(root, "base");
    mtn_schema_ctx ctx = {file, s->what, MTN_ORIGIN_FILE};
    if (base) {
        int rc = mtn_schema_read_base(&s->keys[mtn_schema_find(s, "base")], base, out, &ctx, path);
        if (rc) return rc;
        if (depth >= MAX_BASE_DEPTH)
            return mtn_schema_error(&ctx, path, "base", "at most 8 levels of base configs (is there a cycle?)", base);
        char resolved[MTN_PATH_MAX];
        mtn_config_resolve_path(resolved, sizeof resolved, file, base->valuestring);
        rc = begin_file(kind, resolved, out, depth + 1);
        if (rc) {
            char msg[2048], kpath[256];
            snprintf(msg, sizeof msg, "%s", mtn_error_message());
            mtn_path_join(kpath, sizeof kpath, path, "base");
            return mtn_error_set(rc, "%s: %s: in base config: %s", file, kpath, msg);
        }
    } else if (kind == MTN_KIND_TASK) {
        mtn_task_defaults(out);
    } else {
        mtn_network_defaults(out);
    }
    char *own_file = kind == MTN_KIND_TASK ? ((mtn_task_config *)out)->file : ((mtn_network_config *)out)->file;
    snprintf(own_file, MTN_PATH_MAX, "%s", file);
    return mtn_config_read(kind, out, root, &ctx, path);
}

/* Parses a file's text and begins a config of either kind. */
static int begin_text(mtn_config_kind kind, const char *text, const char *file, void *out, int depth) {
    cJSON *root = NULL;
    int rc = mtn_json_parse(text, file, &root);
    if (rc) return rc;
    rc = begin_tree(kind, root, file, "", out, depth);
    cJSON_Delete(root);
    return rc;
}

static int begin_file(mtn_config_kind kind, const char *path, void *out, int depth) {
    char *text = NULL;
    int rc = mtn_json_read_file(path, &text);
    if (!rc) rc = begin_text(kind, text, path, out, depth);
    free(text);
    return rc;
}

int mtn_config_begin(mtn_config_kind kind, const cJSON *root, const char *file, const char *path, void *out) {
    return begin_tree(kind, root, file, path, out, 0);
}

int mtn_config_begin_file(mtn_config_kind kind, const char *path, void *out) {
    return begin_file(kind, path, out, 0);
}

/* begin + finish, from text or from a file */
static int parse(mtn_config_kind kind, const char *text, const char *name, void *out) {
    int rc = begin_text(kind, text, name, out, 0);
    mtn_schema_ctx ctx = {name, mtn_config_schema(kind)->what, MTN_ORIGIN_FILE};
    return rc ? rc : mtn_config_finish(kind, out, &ctx);
}

static int load(mtn_config_kind kind, const char *path, void *out) {
    int rc = begin_file(kind, path, out, 0);
    mtn_schema_ctx ctx = {path, mtn_config_schema(kind)->what, MTN_ORIGIN_FILE};
    return rc ? rc : mtn_config_finish(kind, out, &ctx);
}

int mtn_task_parse(const char *text, const char *name, mtn_task_config *out) { return parse(MTN_KIND_TASK, text, name, out); }
int mtn_network_parse(const char *text, const char *name, mtn_network_config *out) {
    return parse(MTN_KIND_NETWORK, text, name, out);
}
int mtn_task_load(const char *path, mtn_task_config *out) { return load(MTN_KIND_TASK, path, out); }
int mtn_network_load(const char *path, mtn_network_config *out) { return load(MTN_KIND_NETWORK, path, out); }

const char *mtn_config_kind_name(mtn_config_kind k) {
    switch (k) {
    case MTN_KIND_TASK: return "task config";
    case MTN_KIND_NETWORK: return "network config";
    case MTN_KIND_JOB: return "job";
    default: return "unknown";
    }
}

/* How many of obj's keys belong to schema s and not to `other` (shared keys such as
 * "description", "base" and "task_type" tell nothing). */
static int distinctive_keys(const cJSON *obj, const mtn_schema *s, const mtn_schema *other) {
    int n = 0;
    for (const cJSON *c = obj->child; c; c = c->next)
        if (mtn_schema_find(s, c->string) >= 0 && mtn_schema_find(other, c->string) < 0) n++;
    return n;
}

static int detect(const char *path, mtn_config_kind *kind, int depth) {
    *kind = MTN_KIND_UNKNOWN;
    char *text = NULL;
    int rc = mtn_json_read_file(path, &text);
    cJSON *root = NULL;
    if (!rc) rc = mtn_json_parse(text, path, &root);
    free(text);
    if (rc) return rc;
    int nt = distinctive_keys(root, &mtn_task_schema, &mtn_network_schema);
    int nn = distinctive_keys(root, &mtn_network_schema, &mtn_task_schema);
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(root, "base");
    if (cJSON_HasObjectItem(root, "runs")) *kind = MTN_KIND_JOB;
    else if (nt > nn) *kind = MTN_KIND_TASK;
    else if (nn > nt) *kind = MTN_KIND_NETWORK;
    else if (cJSON_IsString(base) && depth < MAX_BASE_DEPTH) {
        char resolved[MTN_PATH_MAX];
        mtn_config_resolve_path(resolved, sizeof resolved, path, base->valuestring);
        rc = detect(resolved, kind, depth + 1);
        if (rc) {
            char msg[2048];
            snprintf(msg, sizeof msg, "%s", mtn_error_message());
            rc = mtn_error_set(rc, "%s: base: %s", path, msg);
        }
    }
    cJSON_Delete(root);
    if (rc) return rc;
    if (*kind == MTN_KIND_UNKNOWN)
        return mtn_error_set(MTN_ECONFIG,
                             "%s: expected a task config (keys such as \"image_chan\"), a network config (\"model\") "
                             "or a job (\"runs\"), found none of their keys (use --kind to say which)", path);
    return MTN_OK;
}

int mtn_config_detect(const char *path, mtn_config_kind *kind) { return detect(path, kind, 0); }
