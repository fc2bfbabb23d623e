/* config_file.c — loading task and network configs from files or text: read the
 * JSON, apply defaults, read the keys, then (after any job overrides) finish, which
 * infers, fills presets and checks the whole. Also tells config kinds apart. */
#include <string.h>

#include "config_internal.h"
#include "config_loader.h"
#include "json_doc.h"

int mtn_config_tree(const char *text, const char *file, cJSON **root) {
    return mtn_json_parse(text, file, root);
}

enum { MAX_BASE_DEPTH = 8 };

static int begin_file(const char *path, bool task, void *out, int depth);

/* dir of `file` + rel, unless rel is absolute */
void mtn_config_resolve_path(char *out, size_t cap, const char *file, const char *rel) {
    const char *slash = strrchr(file, '/');
    if (rel[0] == '/' || !slash) snprintf(out, cap, "%s", rel);
    else snprintf(out, cap, "%.*s/%s", (int)(slash - file), file, rel);
}

/* Defaults, then the "base" chain (deepest first), then this object's own keys. */
static int begin_tree(const cJSON *root, const char *file, const char *path, bool task, void *out, int depth) {
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(root, "base");
    mtn_schema_ctx ctx = {file, task ? "task config" : "network config", MTN_ORIGIN_FILE};
    if (base) {
        const mtn_schema *s = task ? &mtn_task_schema : &mtn_network_schema;
        int rc = mtn_schema_read_base(&s->keys[mtn_schema_find(s, "base")], base, out, &ctx, path);
        if (rc) return rc;
        if (depth >= MAX_BASE_DEPTH)
            return mtn_schema_error(&ctx, path, "base", "at most 8 levels of base configs (is there a cycle?)", base);
        char resolved[MTN_PATH_MAX];
        mtn_config_resolve_path(resolved, sizeof resolved, file, base->valuestring);
        rc = begin_file(resolved, task, out, depth + 1);
        if (rc) {
            char msg[2048], kpath[256];
            snprintf(msg, sizeof msg, "%s", mtn_error_message());
            mtn_path_join(kpath, sizeof kpath, path, "base");
            return mtn_error_set(rc, "%s: %s: in base config: %s", file, kpath, msg);
        }
    } else if (task) {
        mtn_task_defaults(out);
    } else {
        mtn_network_defaults(out);
    }
    if (task) {
        mtn_task_config *t = out;
        snprintf(t->file, sizeof t->file, "%s", file);
        return mtn_task_read(t, root, &ctx, path);
    }
    mtn_network_config *n = out;
    snprintf(n->file, sizeof n->file, "%s", file);
    return mtn_network_read(n, root, &ctx, path);
}

int mtn_task_begin(const cJSON *root, const char *file, const char *path, mtn_task_config *out) {
    return begin_tree(root, file, path, true, out, 0);
}

int mtn_network_begin(const cJSON *root, const char *file, const char *path, mtn_network_config *out) {
    return begin_tree(root, file, path, false, out, 0);
}

/* Parses a file's text and begins a config of either kind. */
static int begin_text(const char *text, const char *file, bool task, void *out, int depth) {
    cJSON *root = NULL;
    int rc = mtn_config_tree(text, file, &root);
    if (rc) return rc;
    rc = begin_tree(root, file, "", task, out, depth);
    cJSON_Delete(root);
    return rc;
}

static int begin_file(const char *path, bool task, void *out, int depth) {
    char *text = NULL;
    int rc = mtn_json_read_file(path, &text);
    if (!rc) rc = begin_text(text, path, task, out, depth);
    free(text);
    return rc;
}

int mtn_task_begin_file(const char *path, mtn_task_config *out) { return begin_file(path, true, out, 0); }
int mtn_network_begin_file(const char *path, mtn_network_config *out) { return begin_file(path, false, out, 0); }

int mtn_task_parse(const char *text, const char *name, mtn_task_config *out) {
    int rc = begin_text(text, name, true, out, 0);
    mtn_schema_ctx ctx = {name, "task config", MTN_ORIGIN_FILE};
    return rc ? rc : mtn_task_finish(out, &ctx);
}

int mtn_network_parse(const char *text, const char *name, mtn_network_config *out) {
    int rc = begin_text(text, name, false, out, 0);
    mtn_schema_ctx ctx = {name, "network config", MTN_ORIGIN_FILE};
    return rc ? rc : mtn_network_finish(out, &ctx);
}

int mtn_task_load(const char *path, mtn_task_config *out) {
    int rc = mtn_task_begin_file(path, out);
    mtn_schema_ctx ctx = {path, "task config", MTN_ORIGIN_FILE};
    return rc ? rc : mtn_task_finish(out, &ctx);
}

int mtn_network_load(const char *path, mtn_network_config *out) {
    int rc = mtn_network_begin_file(path, out);
    mtn_schema_ctx ctx = {path, "network config", MTN_ORIGIN_FILE};
    return rc ? rc : mtn_network_finish(out, &ctx);
}

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
    if (!rc) rc = mtn_config_tree(text, path, &root);
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
