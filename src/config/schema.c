/* schema.c — the generic, table-driven reader and writer behind every config kind:
 * type and range checks with messages that name file, key path, expectation and the
 * value found; unknown keys with "did you mean"; ignored MTNeuro keys noted once. */
#include "schema.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json_doc.h"
#include "mtn/core.h"

void mtn_path_join(char *out, size_t cap, const char *path, const char *key) {
    if (!path || !path[0]) snprintf(out, cap, "%s", key);
    else if (key[0] == '[') snprintf(out, cap, "%s%s", path, key);
    else snprintf(out, cap, "%s.%s", path, key);
}

int mtn_schema_error(const mtn_schema_ctx *ctx, const char *path, const char *key,
                     const char *expected, const cJSON *found) {
    char kpath[512], repr[96];
    mtn_path_join(kpath, sizeof kpath, path, key);
    if (found) {
        mtn_json_repr(found, repr, sizeof repr);
        return mtn_error_set(MTN_ECONFIG, "%s: %s: expected %s, found %s", ctx->file, kpath, expected, repr);
    }
    return mtn_error_set(MTN_ECONFIG, "%s: %s: expected %s", ctx->file, kpath, expected);
}

int mtn_schema_verror(const mtn_schema_ctx *ctx, const char *key, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mtn_error_set(MTN_ECONFIG, "%s: %s: %s", ctx->file, key, msg);
}

void mtn_choice_name(const char *const *choices, int i, char *buf, size_t cap) {
    const char *c = choices[i];
    const char *bar = strchr(c, '|');
    size_t n = bar ? (size_t)(bar - c) : strlen(c);
    snprintf(buf, cap, "%.*s", (int)n, c);
}

int mtn_choice_find(const char *const *choices, const char *word) {
    for (int i = 0; choices[i]; i++) {
        const char *c = choices[i];
        for (;;) {
            const char *bar = strchr(c, '|');
            size_t n = bar ? (size_t)(bar - c) : strlen(c);
            if (strlen(word) == n && strncasecmp(word, c, n) == 0) return i;
            if (!bar) break;
            c = bar + 1;
        }
    }
    return -1;
}

/* "one of "SGD", "Adam"" plus a suggestion for `word` */
static void describe_choices(const char *const *choices, const char *word, char *buf, size_t cap) {
    size_t len = (size_t)snprintf(buf, cap, "one of ");
    const char *all[64];
    char names[64][48];
    size_t n_all = 0;
    for (int i = 0; choices[i] && len < cap; i++) {
        mtn_choice_name(choices, i, names[i], sizeof names[i]);
        len += (size_t)snprintf(buf + len, cap - len, "%s\"%s\"", i ? ", " : "", names[i]);
        if (n_all < 64) all[n_all++] = names[i];
    }
    if (word) {
        const char *s = mtn_suggest(word, all, n_all);
        if (s && len < cap) snprintf(buf + len, cap - len, " (did you mean \"%s\"?)", s);
    }
}

int mtn_schema_read_choice(const char *const *choices, const cJSON *value, const mtn_schema_ctx *ctx,
                           const char *path, const char *key, int *out) {
    char expected[512];
    if (!cJSON_IsString(value)) {
        describe_choices(choices, NULL, expected, sizeof expected);
        return mtn_schema_error(ctx, path, key, expected, value);
    }
    int i = mtn_choice_find(choices, value->valuestring);
    if (i < 0) {
        describe_choices(choices, value->valuestring, expected, sizeof expected);
        return mtn_schema_error(ctx, path, key, expected, value);
    }
    *out = i;
    return MTN_OK;
}

static void fmt_bound(double v, char *buf, size_t cap) {
    if (v == floor(v) && fabs(v) < 1e15) snprintf(buf, cap, "%.0f", v);
    else snprintf(buf, cap, "%g", v);
}

static void describe_number(const mtn_key *k, bool integer, char *buf, size_t cap) {
    char lo[32], hi[32];
    fmt_bound(k->min, lo, sizeof lo);
    fmt_bound(k->max, hi, sizeof hi);
    const char *kind = integer ? "an integer" : "a finite number";
    if (k->flags & MTN_KEY_MIN_EXCLUSIVE)
        snprintf(buf, cap, "%s > %s and <= %s", kind, lo, hi);
    else
        snprintf(buf, cap, "%s from %s to %s", kind, lo, hi);
    if (k->note) {
        size_t n = strlen(buf);
        snprintf(buf + n, cap - n, " (%s)", k->note);
    }
}

static bool number_in_bounds(const mtn_key *k, double v) {
    if (!isfinite(v)) return false;
    if (k->flags & MTN_KEY_MIN_EXCLUSIVE ? v <= k->min : v < k->min) return false;
    return v <= k->max;
}

/* Reads one number element; `integer` demands an integral value. */
static int read_number(const mtn_key *k, const cJSON *v, bool integer, const mtn_schema_ctx *ctx,
                       const char *path, const char *key, double *out) {
    char expected[256];
    describe_number(k, integer, expected, sizeof expected);
    if (!cJSON_IsNumber(v)) return mtn_schema_error(ctx, path, key, expected, v);
    double d = v->valuedouble;
    if (!isfinite(d) || (integer && d != floor(d)) || !number_in_bounds(k, d))
        return mtn_schema_error(ctx, path, key, expected, v);
    *out = d;
    return MTN_OK;
}

static int read_list(const mtn_key *k, const cJSON *v, void *field, int *count,
                     const mtn_schema_ctx *ctx, const char *path) {
    char expected[300], elem_path[512];
    snprintf(expected, sizeof expected, "a list of at most %zu values", k->size);
    if (!cJSON_IsArray(v)) return mtn_schema_error(ctx, path, k->name, expected, v);
    int n = cJSON_GetArraySize(v);
    if (n > (int)k->size) return mtn_schema_error(ctx, path, k->name, expected, v);
    if (n == 0 && (k->flags & MTN_KEY_NONEMPTY))
        return mtn_schema_error(ctx, path, k->name, "a non-empty list", v);
    mtn_path_join(elem_path, sizeof elem_path, path, k->name);
    uint32_t mask = 0;
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        char idx[24];
        snprintf(idx, sizeof idx, "[%d]", i);
        if (k->type == MTN_K_ENUM_LIST) {
            int c;
            int rc = mtn_schema_read_choice(k->choices, e, ctx, elem_path, idx, &c);
            if (rc) return rc;
            if ((k->flags & MTN_KEY_UNIQUE) && (mask & (1u << c)))
                return mtn_schema_error(ctx, elem_path, idx, "each value once", e);
            mask |= 1u << c;
            continue;
        }
        double d;
        int rc = read_number(k, e, k->type == MTN_K_INT_LIST, ctx, elem_path, idx, &d);
        if (rc) return rc;
        if (k->type == MTN_K_INT_LIST) ((int *)field)[i] = (int)d;
        else ((double *)field)[i] = d;
        if (k->flags & MTN_KEY_UNIQUE) {
            for (int j = 0; j < i; j++) {
                double prev = k->type == MTN_K_INT_LIST ? ((int *)field)[j] : ((double *)field)[j];
                if (prev == d) return mtn_schema_error(ctx, elem_path, idx, "each value once", e);
            }
        }
    }
    if (k->type == MTN_K_ENUM_LIST) *(uint32_t *)field = mask;
    else *count = n;
    return MTN_OK;
}

static int read_key(const mtn_key *k, const cJSON *v, void *obj, const mtn_schema_ctx *ctx,
                    const char *path) {
    char *field = (char *)obj + k->offset;
    char expected[300];
    double d;
    int rc;
    switch (k->type) {
    case MTN_K_INT:
        if ((rc = read_number(k, v, true, ctx, path, k->name, &d))) return rc;
        *(int *)field = (int)d;
        return MTN_OK;
    case MTN_K_REAL:
        if ((rc = read_number(k, v, false, ctx, path, k->name, &d))) return rc;
        *(double *)field = d;
        return MTN_OK;
    case MTN_K_BOOL:
        if (cJSON_IsBool(v)) { *(bool *)field = cJSON_IsTrue(v); return MTN_OK; }
        if (cJSON_IsNumber(v) && (v->valuedouble == 0 || v->valuedouble == 1)) {
            *(bool *)field = v->valuedouble == 1;
            return MTN_OK;
        }
        return mtn_schema_error(ctx, path, k->name, "true/false or 0/1", v);
    case MTN_K_STRING: {
        snprintf(expected, sizeof expected, "a string of at most %zu characters", k->size - 1);
        if (!cJSON_IsString(v) || strlen(v->valuestring) >= k->size)
            return mtn_schema_error(ctx, path, k->name, expected, v);
        if ((k->flags & MTN_KEY_NONEMPTY) && !v->valuestring[0])
            return mtn_schema_error(ctx, path, k->name, "a non-empty string", v);
        snprintf(field, k->size, "%s", v->valuestring);
        return MTN_OK;
    }
    case MTN_K_ENUM: {
        int c;
        if ((rc = mtn_schema_read_choice(k->choices, v, ctx, path, k->name, &c))) return rc;
        *(int *)field = c;
        return MTN_OK;
    }
    case MTN_K_RANGE: {
        snprintf(expected, sizeof expected,
                 "a half-open range [start, stop) of integers with %.0f <= start < stop <= %.0f", k->min, k->max);
        if (k->note) {
            size_t n = strlen(expected);
            snprintf(expected + n, sizeof expected - n, " (%s)", k->note);
        }
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2)
            return mtn_schema_error(ctx, path, k->name, expected, v);
        const cJSON *a = v->child, *b = v->child->next;
        if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b)) return mtn_schema_error(ctx, path, k->name, expected, v);
        double s = a->valuedouble, e = b->valuedouble;
        if (!isfinite(s) || !isfinite(e) || s != floor(s) || e != floor(e) || s < k->min || e > k->max || s >= e)
            return mtn_schema_error(ctx, path, k->name, expected, v);
        mtn_range *r = (mtn_range *)(void *)field;
        r->start = (int64_t)s;
        r->stop = (int64_t)e;
        return MTN_OK;
    }
    case MTN_K_INT_PAIR: {
        char num[200];
        describe_number(k, true, num, sizeof num);
        snprintf(expected, sizeof expected, "a pair [a, b], each %s", num);
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2)
            return mtn_schema_error(ctx, path, k->name, expected, v);
        int *pair = (int *)(void *)field;
        int i = 0;
        for (const cJSON *e = v->child; e; e = e->next, i++) {
            if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) || !number_in_bounds(k, e->valuedouble))
                return mtn_schema_error(ctx, path, k->name, expected, v);
            pair[i] = (int)e->valuedouble;
        }
        return MTN_OK;
    }
    case MTN_K_INT_LIST:
    case MTN_K_REAL_LIST:
        return read_list(k, v, field, (int *)(void *)((char *)obj + k->count_offset), ctx, path);
    case MTN_K_ENUM_LIST:
        return read_list(k, v, field, NULL, ctx, path);
    case MTN_K_FIXED: {
        int c;
        return mtn_schema_read_choice(k->choices, v, ctx, path, k->name, &c);
    }
    case MTN_K_CUSTOM:
        return k->read(k, v, obj, ctx, path);
    case MTN_K_IGNORED:
        return MTN_OK;
    }
    MTN_ASSERT(!"unreachable key type");
    return MTN_EINTERNAL;
}

int mtn_schema_find(const mtn_schema *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->keys[i].name, name) == 0) return i;
    return -1;
}

int mtn_schema_read(const mtn_schema *s, const cJSON *obj, void *out, uint8_t *origins,
                    const mtn_schema_ctx *ctx, const char *path) {
    MTN_ASSERT(s->n <= MTN_MAX_KEYS);
    if (!cJSON_IsObject(obj)) {
        char expected[128];
        snprintf(expected, sizeof expected, "an object of %s keys", s->what);
        return mtn_schema_error(ctx, path, "", expected, obj);
    }
    for (const cJSON *c = obj->child; c; c = c->next) {
        int idx = mtn_schema_find(s, c->string);
        if (idx < 0) {
            const char *names[MTN_MAX_KEYS];
            for (int i = 0; i < s->n; i++) names[i] = s->keys[i].name;
            const char *sug = mtn_suggest(c->string, names, (size_t)s->n);
            char kpath[512];
            mtn_path_join(kpath, sizeof kpath, path, c->string);
            if (sug)
                return mtn_error_set(MTN_ECONFIG, "%s: %s: unknown %s key (did you mean \"%s\"?)", ctx->file,
                                     kpath, s->what, sug);
            return mtn_error_set(MTN_ECONFIG, "%s: %s: unknown %s key", ctx->file, kpath, s->what);
        }
        const mtn_key *k = &s->keys[idx];
        if (k->type == MTN_K_IGNORED) {
            if (ctx->origin == MTN_ORIGIN_OVERRIDE) {
                char expected[256];
                snprintf(expected, sizeof expected, "a key mtneuro uses (\"%s\" is an MTNeuro key it ignores: %s)",
                         k->name, k->note);
                return mtn_schema_error(ctx, path, k->name, expected, NULL);
            }
            mtn_config_note_ignored(ctx->file, k->name, k->note);
            continue;
        }
        int rc = read_key(k, c, out, ctx, path);
        if (rc) return rc;
        if (origins) origins[idx] = (uint8_t)ctx->origin;
    }
    return MTN_OK;
}

int mtn_schema_check_required(const mtn_schema *s, const cJSON *obj, const mtn_schema_ctx *ctx,
                              const char *path) {
    for (int i = 0; i < s->n; i++) {
        const mtn_key *k = &s->keys[i];
        if ((k->flags & MTN_KEY_REQUIRED) && !cJSON_GetObjectItemCaseSensitive(obj, k->name)) {
            char kpath[512];
            mtn_path_join(kpath, sizeof kpath, path, k->name);
            return mtn_error_set(MTN_ECONFIG, "%s: %s: required %s key is missing", ctx->file, kpath, s->what);
        }
    }
    return MTN_OK;
}

int mtn_schema_check_required_origins(const mtn_schema *s, const uint8_t *origins, const mtn_schema_ctx *ctx) {
    for (int i = 0; i < s->n; i++) {
        if ((s->keys[i].flags & MTN_KEY_REQUIRED) && origins[i] == MTN_ORIGIN_DEFAULT)
            return mtn_error_set(MTN_ECONFIG, "%s: %s: required %s key is missing", ctx->file, s->keys[i].name, s->what);
    }
    return MTN_OK;
}

int mtn_schema_read_base(const mtn_key *k, const cJSON *v, void *obj, const mtn_schema_ctx *ctx, const char *path) {
    (void)obj;
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return mtn_schema_error(ctx, path, k->name, "the path of a config this one extends", v);
    return MTN_OK; /* the base itself was read first, by the loader */
}

static cJSON *write_key(const mtn_key *k, const void *obj) {
    const char *field = (const char *)obj + k->offset;
    char name[64];
    switch (k->type) {
    case MTN_K_INT: return cJSON_CreateNumber(*(const int *)(const void *)field);
    case MTN_K_REAL: return cJSON_CreateNumber(*(const double *)(const void *)field);
    case MTN_K_BOOL: return cJSON_CreateBool(*(const bool *)(const void *)field);
    case MTN_K_STRING: return cJSON_CreateString(field);
    case MTN_K_ENUM:
        mtn_choice_name(k->choices, *(const int *)(const void *)field, name, sizeof name);
        return cJSON_CreateString(name);
    case MTN_K_RANGE: {
        const mtn_range *r = (const mtn_range *)(const void *)field;
        cJSON *a = cJSON_CreateArray();
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)r->start));
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)r->stop));
        return a;
    }
    case MTN_K_INT_PAIR: return cJSON_CreateIntArray((const int *)(const void *)field, 2);
    case MTN_K_INT_LIST:
        return cJSON_CreateIntArray((const int *)(const void *)field,
                                    *(const int *)(const void *)((const char *)obj + k->count_offset));
    case MTN_K_REAL_LIST:
        return cJSON_CreateDoubleArray((const double *)(const void *)field,
                                       *(const int *)(const void *)((const char *)obj + k->count_offset));
    case MTN_K_ENUM_LIST: {
        cJSON *a = cJSON_CreateArray();
        uint32_t mask = *(const uint32_t *)(const void *)field;
        for (int i = 0; k->choices[i]; i++) {
            if (!(mask & (1u << i))) continue;
            mtn_choice_name(k->choices, i, name, sizeof name);
            cJSON_AddItemToArray(a, cJSON_CreateString(name));
        }
        return a;
    }
    case MTN_K_FIXED:
        mtn_choice_name(k->choices, 0, name, sizeof name);
        return cJSON_CreateString(name);
    case MTN_K_CUSTOM: return k->write ? k->write(k, obj) : NULL;
    case MTN_K_IGNORED: return NULL;
    }
    return NULL;
}

cJSON *mtn_schema_write(const mtn_schema *s, const void *obj) {
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < s->n; i++) {
        cJSON *v = write_key(&s->keys[i], obj);
        if (v) cJSON_AddItemToObject(o, s->keys[i].name, v);
    }
    return o;
}

/* ---- ignored MTNeuro keys: reported once per process ---- */

static char g_ignored[2048];

static bool ignored_seen(const char *key) {
    size_t n = strlen(key);
    for (const char *p = g_ignored; (p = strstr(p, key)) != NULL; p += n) {
        bool starts = p == g_ignored || p[-1] == ' ';
        bool ends = p[n] == ',' || p[n] == '\0';
        if (starts && ends) return true;
    }
    return false;
}

void mtn_config_note_ignored(const char *file, const char *key, const char *why) {
    if (ignored_seen(key)) return;
    size_t len = strlen(g_ignored);
    snprintf(g_ignored + len, sizeof g_ignored - len, "%s%s", len ? ", " : "", key);
    mtn_log(MTN_LOG_INFO, "note: %s: ignoring MTNeuro key \"%s\": %s (reported once)", file, key, why);
}

const char *mtn_config_ignored_keys(void) { return g_ignored; }
void mtn_config_reset_ignored(void) { g_ignored[0] = '\0'; }
