/* names.c — bossdb:// URIs and channel data types, as BossDB names them. */
#include <ctype.h>
#include <string.h>

#include "mtn/bossdb.h"

int mtn_bossdb_parse_uri(const char *uri, mtn_bossdb_uri *out) {
    memset(out, 0, sizeof *out);
    static const char prefix[] = "bossdb://";
    if (strncmp(uri, prefix, sizeof prefix - 1) != 0)
        return mtn_error_set(MTN_EDATA, "\"%s\": expected a URI bossdb://collection/experiment/channel", uri);
    const char *p = uri + sizeof prefix - 1;
    char *parts[3] = {out->collection, out->experiment, out->channel};
    for (int i = 0; i < 3; i++) {
        size_t n = 0;
        while (p[n] && p[n] != '/') {
            unsigned char c = (unsigned char)p[n];
            if (!isalnum(c) && c != '_' && c != '-' && c != '.')
                return mtn_error_set(MTN_EDATA, "\"%s\": character '%c' is not allowed in a BossDB name", uri, c);
            n++;
        }
        if (n == 0 || n >= MTN_BOSSDB_NAME_MAX)
            return mtn_error_set(MTN_EDATA,
                                 "\"%s\": expected bossdb://collection/experiment/channel with names of 1-%d characters",
                                 uri, MTN_BOSSDB_NAME_MAX - 1);
        memcpy(parts[i], p, n);
        parts[i][n] = '\0';
        p += n;
        if (i < 2) {
            if (*p != '/')
                return mtn_error_set(MTN_EDATA, "\"%s\": expected bossdb://collection/experiment/channel", uri);
            p++;
        }
    }
    if (*p)
        return mtn_error_set(MTN_EDATA, "\"%s\": expected bossdb://collection/experiment/channel, found more after the channel", uri);
    return MTN_OK;
}

size_t mtn_dtype_size(mtn_dtype t) {
    switch (t) {
    case MTN_DTYPE_UINT8: return 1;
    case MTN_DTYPE_UINT16: return 2;
    case MTN_DTYPE_UINT64: return 8;
    }
    return 0;
}

const char *mtn_dtype_name(mtn_dtype t) {
    switch (t) {
    case MTN_DTYPE_UINT8: return "uint8";
    case MTN_DTYPE_UINT16: return "uint16";
    case MTN_DTYPE_UINT64: return "uint64";
    }
    return "?";
}

int mtn_dtype_parse(const char *name, mtn_dtype *out) {
    if (strcmp(name, "uint8") == 0) *out = MTN_DTYPE_UINT8;
    else if (strcmp(name, "uint16") == 0) *out = MTN_DTYPE_UINT16;
    else if (strcmp(name, "uint64") == 0) *out = MTN_DTYPE_UINT64;
    else
        return mtn_error_set(MTN_EDATA, "datatype \"%s\": expected uint8, uint16 or uint64 (what BossDB cutouts support)",
                             name);
    return MTN_OK;
}
