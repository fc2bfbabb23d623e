/* token.c — which BossDB token to send: MTN_BOSSDB_TOKEN, else intern's INTERN_TOKEN,
 * else intern's ~/.intern/intern.cfg ([Volume Service] token, then [Default] token),
 * else "public" (BossDB's well-known read-only token for public data). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mtn/bossdb.h"

/* A token goes into an HTTP header: printable ASCII without spaces. */
static int check_token(const char *token, const char *from) {
    if (!token[0]) return mtn_error_set(MTN_EDATA, "%s: the BossDB token is empty", from);
    for (const char *p = token; *p; p++)
        if (!isgraph((unsigned char)*p))
            return mtn_error_set(MTN_EDATA, "%s: expected a BossDB token of printable characters without spaces, "
                                            "found character 0x%02x", from, (unsigned char)*p);
    return MTN_OK;
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

/* Reads "token" from an intern.cfg INI file: [Volume Service] wins over [Default].
 * Returns 1 when found, 0 when the file has none, negative on a malformed file. */
static int read_intern_cfg(const char *path, char *token, size_t cap) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[1024], section[128] = "";
    char found_default[512] = "", found_volume[512] = "";
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';') continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end) {
                rc = mtn_error_set(MTN_EDATA, "%s:%d: expected a section header [name], found \"%s\"", path, lineno, s);
                break;
            }
            *end = '\0';
            snprintf(section, sizeof section, "%s", trim(s + 1));
            continue;
        }
        char *sep = strpbrk(s, "=:");
        if (!sep) {
            rc = mtn_error_set(MTN_EDATA, "%s:%d: expected key = value, found \"%s\"", path, lineno, s);
            break;
        }
        *sep = '\0';
        char *key = trim(s), *value = trim(sep + 1);
        if (strcasecmp(key, "token") != 0) continue;
        if (strcmp(section, "Volume Service") == 0) snprintf(found_volume, sizeof found_volume, "%s", value);
        else if (strcmp(section, "Default") == 0) snprintf(found_default, sizeof found_default, "%s", value);
    }
    fclose(f);
    if (rc) return rc;
    const char *t = found_volume[0] ? found_volume : found_default;
    if (!t[0]) return 0;
    if (strlen(t) >= cap) return mtn_error_set(MTN_EDATA, "%s: the token is longer than %zu characters", path, cap - 1);
    snprintf(token, cap, "%s", t);
    return 1;
}

int mtn_bossdb_token(char *token, size_t cap, char *from, size_t from_cap) {
    char where[600];
    const char *env_names[] = {"MTN_BOSSDB_TOKEN", "INTERN_TOKEN"};
    for (int i = 0; i < 2; i++) {
        const char *env = getenv(env_names[i]);
        if (env && env[0]) {
            snprintf(where, sizeof where, "environment variable %s", env_names[i]);
            if (strlen(env) >= cap) return mtn_error_set(MTN_EDATA, "%s: the token is too long", where);
            snprintf(token, cap, "%s", env);
            if (from) snprintf(from, from_cap, "%s", where);
            return check_token(token, where);
        }
    }
    const char *home = getenv("HOME");
    if (home && home[0]) {
        snprintf(where, sizeof where, "%s/.intern/intern.cfg", home);
        int rc = read_intern_cfg(where, token, cap);
        if (rc < 0) return rc;
        if (rc == 1) {
            if (from) snprintf(from, from_cap, "%s", where);
            return check_token(token, where);
        }
    }
    snprintf(token, cap, "public");
    if (from) snprintf(from, from_cap, "the public token (no MTN_BOSSDB_TOKEN or ~/.intern/intern.cfg)");
    return MTN_OK;
}
