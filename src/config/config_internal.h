/* config_internal.h — what the config files share among themselves: the schema of
 * each config kind, defaults, reading a parsed tree, overrides and validation.
 * Internal to config. */
#ifndef MTN_CONFIG_INTERNAL_H
#define MTN_CONFIG_INTERNAL_H

#include "schema.h"

extern const mtn_schema mtn_task_schema;
extern const mtn_schema mtn_network_schema;

/* Task: defaults, reading keys (file or override origin), inference and checks. */
void mtn_task_defaults(mtn_task_config *t);
int mtn_task_read(mtn_task_config *t, const cJSON *obj, const mtn_schema_ctx *ctx, const char *path);
int mtn_task_finish(mtn_task_config *t, const mtn_schema_ctx *ctx);

/* Network: the same steps; finish applies the preset to keys still at their default. */
void mtn_network_defaults(mtn_network_config *n);
int mtn_network_read(mtn_network_config *n, const cJSON *obj, const mtn_schema_ctx *ctx, const char *path);
int mtn_network_finish(mtn_network_config *n, const mtn_schema_ctx *ctx);

/* Presets: fills every key of `n` whose origin is still MTN_ORIGIN_DEFAULT with the
 * value of n->preset for this model and setting (see presets.c for sources). */
void mtn_network_apply_preset(mtn_network_config *n);

#endif
