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

int mtn_task_begin(const cJSON *root, const char *file, const char *path, mtn_task_config *out) {
    mtn_task_defaults(out);
    snprintf(out->file, sizeof out->file, "%s", file);
    mtn_schema_ctx ctx = {file, "task config", MTN_ORIGIN_FILE};
    int rc = mtn_task_read(out, root, &ctx, path);
    if (!rc) rc = mtn_schema_check_required(&mtn_task_schema, root, &ctx, path);
    return rc;
}

int mtn_network_begin(const cJSON *root, const char *file, const char *path, mtn_network_config *out) {
    mtn_network_defaults(out);
    snprintf(out->file, sizeof out->file, "%s", file);
    mtn_schema_ctx ctx = {file, "network config", MTN_ORIGIN_FILE};
    int rc = mtn_network_read(out, root, &ctx, path);
    if (!rc) rc = mtn_schema_check_required(&mtn_network_schema, root, &ctx, path);
    return rc;
}

/* Parses a file's text and begins a config of either kind. */
static int begin_from_text(const char *text, const char *file, bool task, void *out) {
    cJSON *root = NULL;
    int rc = mtn_config_tree(text, file, &root);
    if (rc) return rc;
    rc = task ? mtn_task_begin(root, file, "", out) : mtn_network_begin(root, file, "", out);
    cJSON_Delete(root);
    return rc;
}

int mtn_task_begin_file(const char *path, mtn_task_config *out) {
    char *text = NULL;
    int rc = mtn_json_read_file(path, &text);
    if (!rc) rc = begin_from_text(text, path, true, out);
    free(text);
    return rc;
}

int mtn_network_begin_file(const char *path, mtn_network_config *out) {
    char *text = NULL;
    int rc = mtn_json_read_file(path, &text);
    if (!rc) rc = begin_from_text(text, path, false, out);
    free(text);
    return rc;
}

int mtn_task_parse(const char *text, const char *name, mtn_task_config *out) {
    int rc = begin_from_text(text, name, true, out);
    mtn_schema_ctx ctx = {name, "task config", MTN_ORIGIN_FILE};
    return rc ? rc : mtn_task_finish(out, &ctx);
}

int mtn_network_parse(const char *text, const char *name, mtn_network_config *out) {
    int rc = begin_from_text(text, name, false, out);
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

int mtn_config_detect(const char *path, mtn_config_kind *kind) {
    *kind = MTN_KIND_UNKNOWN;
    char *text = NULL;
    int rc = mtn_json_read_file(path, &text);
    cJSON *root = NULL;
    if (!rc) rc = mtn_config_tree(text, path, &root);
    free(text);
    if (rc) return rc;
    if (cJSON_HasObjectItem(root, "runs")) *kind = MTN_KIND_JOB;
    else if (cJSON_HasObjectItem(root, "image_chan") || cJSON_HasObjectItem(root, "annotation_chan"))
        *kind = MTN_KIND_TASK;
    else if (cJSON_HasObjectItem(root, "model") || cJSON_HasObjectItem(root, "task_type"))
        *kind = MTN_KIND_NETWORK;
    cJSON_Delete(root);
    if (*kind == MTN_KIND_UNKNOWN)
        return mtn_error_set(MTN_ECONFIG,
                             "%s: expected a task config (with \"image_chan\"), a network config (with \"model\") "
                             "or a job (with \"runs\"), found none of these keys", path);
    return MTN_OK;
}
