/* config_loader.h — the two-step loading that jobs need: "begin" reads a config's
 * own keys (from a file or an inline object) without finishing it, so a job can lay
 * its overrides on top before presets are filled and the whole is checked. */
#ifndef MTN_CONFIG_LOADER_H
#define MTN_CONFIG_LOADER_H

#include <stdlib.h>

#include "config_internal.h"

int mtn_config_tree(const char *text, const char *file, cJSON **root);
int mtn_task_begin(const cJSON *root, const char *file, const char *path, mtn_task_config *out);
int mtn_network_begin(const cJSON *root, const char *file, const char *path, mtn_network_config *out);
/* dir of `file` + rel, unless rel is absolute */
void mtn_config_resolve_path(char *out, size_t cap, const char *file, const char *rel);
int mtn_task_begin_file(const char *path, mtn_task_config *out);
int mtn_network_begin_file(const char *path, mtn_network_config *out);

#endif
