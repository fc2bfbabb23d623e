/* json_doc.h — reading a JSON config file into a cJSON tree, with syntax errors
 * located by line and column and duplicate keys rejected. Internal to config. */
#ifndef MTN_CONFIG_JSON_DOC_H
#define MTN_CONFIG_JSON_DOC_H

#include <cjson/cJSON.h>

/* Reads the whole file into a NUL-terminated buffer the caller frees with free().
 * MTN_ECONFIG naming the path if it cannot be read, is empty or exceeds 16 MiB. */
int mtn_json_read_file(const char *path, char **text_out);

/* Parses `text` (named `name` in messages). The top level must be an object, and no
 * object may repeat a key. On success *out is a tree the caller cJSON_Deletes. */
int mtn_json_parse(const char *text, const char *name, cJSON **out);

/* Compact JSON of a value for messages, cut to at most `cap`-1 characters. */
void mtn_json_repr(const cJSON *value, char *buf, size_t cap);

#endif
