/* config_loader.h — the two-step loading that jobs need: "begin" reads a config's
 * own keys (from a file or an inline object, following its "base" chain) without
 * finishing it, so a job can lay its overrides on top before presets are filled and
 * the whole is checked. Works for either kind (MTN_KIND_TASK or MTN_KIND_NETWORK),
 * `out` pointing at an mtn_task_config or an mtn_network_config. Internal to config. */
#ifndef MTN_CONFIG_LOADER_H
#define MTN_CONFIG_LOADER_H

#include <stdlib.h>

#include "config_internal.h"

/* dir of `file` + rel, unless rel is absolute */
void mtn_config_resolve_path(char *out, size_t cap, const char *file, const char *rel);

const mtn_schema *mtn_config_schema(mtn_config_kind kind);
int mtn_config_begin(mtn_config_kind kind, const cJSON *root, const char *file, const char *path, void *out);
int mtn_config_begin_file(mtn_config_kind kind, const char *path, void *out);
int mtn_config_read(mtn_config_kind kind, void *out, const cJSON *obj, const mtn_schema_ctx *ctx, const char *path);
int mtn_config_finish(mtn_config_kind kind, void *out, const mtn_schema_ctx *ctx);

#endif
