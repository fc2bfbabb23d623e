/* options.c — option values the commands share the parsing of. */
#include <stdlib.h>

#include "cli.h"
#include "mtn/core.h"

int mtn_cli_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return mtn_error_set(MTN_EUSAGE, "%s: %s: expected an integer from %d to %d, found \"%s\"", cmd, opt, lo, hi, s);
    *out = (int)v;
    return MTN_OK;
}
