/* json_doc.c — file reading and parsing for configs: cJSON does the parsing; this
 * file adds what a config user needs from it (line:column of a syntax error, a
 * friendly name for the offending token, rejection of duplicate keys). */
#include "json_doc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mtn/core.h"

enum { MAX_CONFIG_BYTES = 16 << 20 };

int mtn_json_read_file(const char *path, char **text_out) {
    *text_out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return mtn_error_set(MTN_ECONFIG, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 8192;
            char *nbuf = realloc(buf, cap);
            if (!nbuf) {
                free(buf);
                fclose(f);
                return mtn_error_set(MTN_ENOMEM, "%s: out of memory reading the file", path);
            }
            buf = nbuf;
        }
        size_t got = fread(buf + len, 1, 4096, f);
        len += got;
        if (len > MAX_CONFIG_BYTES) {
            free(buf);
            fclose(f);
            return mtn_error_set(MTN_ECONFIG, "%s: expected a JSON config of at most 16 MiB, found a larger file", path);
        }
        if (got < 4096) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return mtn_error_set(MTN_ECONFIG, "%s: read error", path);
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        free(buf);
        return mtn_error_set(MTN_ECONFIG, "%s: expected a JSON text, found a NUL byte (binary file?)", path);
    }
    *text_out = buf;
    return MTN_OK;
}

static void line_col(const char *text, const char *at, int *line, int *col) {
    *line = 1;
    *col = 1;
    for (const char *p = text; p < at && *p; p++) {
        if (*p == '\n') { (*line)++; *col = 1; }
        else (*col)++;
    }
}

/* A readable token at the error position: "'}'", "end of file", ... */
static void describe_at(const char *at, char *buf, size_t cap) {
    while (*at == ' ' || *at == '\t' || *at == '\r' || *at == '\n') at++;
    if (!*at) { snprintf(buf, cap, "end of file"); return; }
    size_t n = 0;
    while (at[n] && at[n] != '\n' && n < 20) n++;
    snprintf(buf, cap, "'%.*s'", (int)n, at);
}

static int check_duplicates(const cJSON *node, const char *name, const char *text) {
    for (const cJSON *c = node ? node->child : NULL; c; c = c->next) {
        if (cJSON_IsObject(node) && c->string) {
            for (const cJSON *d = c->next; d; d = d->next) {
                if (d->string && strcmp(c->string, d->string) == 0)
                    return mtn_error_set(MTN_ECONFIG,
                                         "%s: key \"%s\" appears twice in one object; expected each key once",
                                         name, c->string);
            }
        }
        int rc = check_duplicates(c, name, text);
        if (rc) return rc;
    }
    return MTN_OK;
}

int mtn_json_parse(const char *text, const char *name, cJSON **out) {
    *out = NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        const char *at = end ? end : cJSON_GetErrorPtr();
        if (!at) at = text;
        int line, col;
        line_col(text, at, &line, &col);
        char tok[48];
        describe_at(at, tok, sizeof tok);
        const char *p = text;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
        if (!*p)
            return mtn_error_set(MTN_ECONFIG, "%s: expected a JSON object, found an empty file", name);
        return mtn_error_set(MTN_ECONFIG, "%s:%d:%d: JSON syntax error: expected valid JSON, found %s",
                             name, line, col, tok);
    }
    if (!cJSON_IsObject(root)) {
        char repr[64];
        mtn_json_repr(root, repr, sizeof repr);
        cJSON_Delete(root);
        return mtn_error_set(MTN_ECONFIG, "%s: expected a JSON object at the top level, found %s", name, repr);
    }
    int rc = check_duplicates(root, name, text);
    if (rc) {
        cJSON_Delete(root);
        return rc;
    }
    *out = root;
    return MTN_OK;
}

void mtn_json_repr(const cJSON *value, char *buf, size_t cap) {
    if (!value) { snprintf(buf, cap, "nothing"); return; }
    char *s = cJSON_PrintUnformatted(value);
    if (!s) { snprintf(buf, cap, "?"); return; }
    size_t n = strlen(s);
    if (n < cap) snprintf(buf, cap, "%s", s);
    else if (cap > 4) snprintf(buf, cap, "%.*s...", (int)(cap - 4), s);
    cJSON_free(s);
}
