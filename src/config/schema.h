/* schema.h — table-driven reading and writing of config objects. Each config kind
 * is one table of keys (name, type, field offset, bounds, choices); the same table
 * drives parsing, range checks, "did you mean", overrides, origin tracking and the
 * resolved JSON printed by `mtneuro check`. Internal to config. */
#ifndef MTN_CONFIG_SCHEMA_H
#define MTN_CONFIG_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "mtn/config.h"

typedef enum {
    MTN_K_INT,         /* int; integral JSON number in [min, max] */
    MTN_K_REAL,        /* double; finite JSON number in [min, max] */
    MTN_K_BOOL,        /* bool; true/false or 0/1 (MTNeuro writes 0/1) */
    MTN_K_STRING,      /* char[size] */
    MTN_K_ENUM,        /* int index into choices ("Canonical|alias|..."), case-insensitive */
    MTN_K_RANGE,       /* mtn_range; [start, stop) with min <= start < stop <= max */
    MTN_K_INT_PAIR,    /* int[2]; each in [min, max] */
    MTN_K_INT_LIST,    /* int[size] + int count at count_offset; each in [min, max] */
    MTN_K_REAL_LIST,   /* double[size] + count */
    MTN_K_ENUM_LIST,   /* a list of choices; stored as a bit mask (uint32_t) */
    MTN_K_FIXED,       /* must be one of choices (the only settings we build); not stored */
    MTN_K_CUSTOM,      /* read and written by callbacks */
    MTN_K_IGNORED      /* an MTNeuro key we accept and do not use; note says why */
} mtn_key_type;

enum {
    MTN_KEY_REQUIRED = 1u << 0,
    MTN_KEY_MIN_EXCLUSIVE = 1u << 1, /* value > min rather than >= min */
    MTN_KEY_UNIQUE = 1u << 2,        /* lists: no repeated values */
    MTN_KEY_NONEMPTY = 1u << 3,      /* strings and lists */
    /* groups: which settings a key belongs to (the resolved JSON shows relevant ones) */
    MTN_KEY_GROUP_SSL = 1u << 8,
    MTN_KEY_GROUP_UNET = 1u << 9,
    MTN_KEY_GROUP_DECOMP = 1u << 10,
    MTN_KEY_GROUP_CLASSIFIER = 1u << 11
};

typedef struct mtn_schema_ctx {
    const char *file;      /* named in every message */
    const char *what;      /* "task config", "network config", "job" */
    mtn_origin origin;     /* recorded for each key read */
} mtn_schema_ctx;

typedef struct mtn_key mtn_key;
typedef int (*mtn_key_read_fn)(const mtn_key *key, const cJSON *value, void *obj,
                               const mtn_schema_ctx *ctx, const char *path);
typedef cJSON *(*mtn_key_write_fn)(const mtn_key *key, const void *obj);

struct mtn_key {
    const char *name;
    mtn_key_type type;
    size_t offset;
    size_t size;            /* STRING: capacity; lists: capacity */
    size_t count_offset;    /* lists: offset of the int count */
    double min, max;
    const char *const *choices; /* ENUM / ENUM_LIST, NULL-terminated */
    const char *note;       /* IGNORED: why; others: what is expected, if not obvious */
    unsigned flags;
    mtn_key_read_fn read;
    mtn_key_write_fn write;
};

typedef struct {
    const mtn_key *keys;
    int n;
    const char *what;       /* "task config" */
} mtn_schema;

/* Reads every member of `obj` into `out`, recording ctx->origin in origins[key].
 * Unknown keys are errors with a suggestion; ignored keys are noted for the
 * once-per-process report. `path` is the key path of obj ("" at the top). */
int mtn_schema_read(const mtn_schema *s, const cJSON *obj, void *out, uint8_t *origins,
                    const mtn_schema_ctx *ctx, const char *path);
/* Error for a required key that is missing from obj. */
int mtn_schema_check_required(const mtn_schema *s, const cJSON *obj, const mtn_schema_ctx *ctx,
                              const char *path);
/* The same judged by origins: a required key still at MTN_ORIGIN_DEFAULT is missing
 * (for configs assembled from a base file, the file itself and overrides). */
int mtn_schema_check_required_origins(const mtn_schema *s, const uint8_t *origins, const mtn_schema_ctx *ctx);
/* The "base" key: a config extends another file; read before everything else. */
int mtn_schema_read_base(const mtn_key *k, const cJSON *v, void *obj, const mtn_schema_ctx *ctx, const char *path);
/* Writes every key that is not ignored, in table order. */
cJSON *mtn_schema_write(const mtn_schema *s, const void *obj);
int mtn_schema_find(const mtn_schema *s, const char *name);

/* "{file}: {path}.{key}: expected {expected}, found {repr(found)}" -> MTN_ECONFIG */
int mtn_schema_error(const mtn_schema_ctx *ctx, const char *path, const char *key,
                     const char *expected, const cJSON *found);
/* "{file}: {key}: {formatted message}" -> MTN_ECONFIG, for checks across keys. */
int mtn_schema_verror(const mtn_schema_ctx *ctx, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Joins a key path: "runs[2]" + "task_overrides" -> "runs[2].task_overrides". */
void mtn_path_join(char *out, size_t cap, const char *path, const char *key);
/* The canonical name of choice i ("ResNet-18" of "ResNet-18|resnet18"). */
void mtn_choice_name(const char *const *choices, int i, char *buf, size_t cap);
/* Index of `word` among choices, or -1. */
int mtn_choice_find(const char *const *choices, const char *word);
/* Reads one JSON string member as a choice (for callbacks). */
int mtn_schema_read_choice(const char *const *choices, const cJSON *value, const mtn_schema_ctx *ctx,
                           const char *path, const char *key, int *out);

/* Records an ignored MTNeuro key and logs it the first time this process sees it. */
void mtn_config_note_ignored(const char *file, const char *key, const char *why);

#endif
