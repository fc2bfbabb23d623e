/* status.c — status codes, their exit codes, the per-thread error message, and the
 * assertion handler. Library code reports failures through mtn_error_set and returns
 * the code; only cli turns a status into an exit. */
#include "mtn/core.h"

#include <stdlib.h>
#include <string.h>

static _Thread_local char error_message[2048];
static _Thread_local int error_status;

const char *mtn_status_name(int status) {
    switch (status) {
    case MTN_OK: return "ok";
    case MTN_EUSAGE: return "usage error";
    case MTN_ECONFIG: return "config error";
    case MTN_EDATA: return "data error";
    case MTN_EIO: return "I/O error";
    case MTN_ENOMEM: return "out of memory";
    case MTN_EOVERFLOW: return "size overflow";
    case MTN_EREQUEUE: return "stopped for requeue";
    case MTN_ENOTBUILT: return "not built yet";
    case MTN_EINTERNAL: return "internal error";
    default: return "unknown error";
    }
}

int mtn_exit_code(int status) {
    switch (status) {
    case MTN_OK: return MTN_EXIT_OK;
    case MTN_EUSAGE:
    case MTN_ECONFIG:
    case MTN_EOVERFLOW: return MTN_EXIT_USAGE;
    case MTN_EDATA: return MTN_EXIT_DATA;
    case MTN_EIO: return MTN_EXIT_IO;
    case MTN_EREQUEUE: return MTN_EXIT_REQUEUE;
    default: return MTN_EXIT_FAIL;
    }
}

int mtn_error_vset(int status, const char *fmt, va_list ap) {
    vsnprintf(error_message, sizeof error_message, fmt, ap);
    error_status = status;
    return status;
}

int mtn_error_set(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    mtn_error_vset(status, fmt, ap);
    va_end(ap);
    return status;
}

int mtn_error_prefix(const char *prefix) {
    char old[sizeof error_message];
    memcpy(old, error_message, sizeof old);
    int k = snprintf(error_message, sizeof error_message, "%s: ", prefix);
    if (k > 0 && (size_t)k < sizeof error_message) { /* the rest, cut to fit */
        size_t room = sizeof error_message - (size_t)k - 1, n = strlen(old);
        memcpy(error_message + k, old, n < room ? n : room);
        error_message[(size_t)k + (n < room ? n : room)] = '\0';
    }
    return error_status;
}

const char *mtn_error_message(void) { return error_message; }
int mtn_error_status(void) { return error_status; }

void mtn_error_clear(void) {
    error_message[0] = '\0';
    error_status = MTN_OK;
}

void mtn_assert_fail(const char *expr, const char *file, int line, const char *func) {
    fprintf(stderr, "mtneuro: internal error: assertion `%s` failed in %s at %s:%d\n", expr,
            func, file, line);
    fflush(stderr);
    abort();
}

bool mtn_product_i64(const int64_t *dims, int n, int64_t *out) {
    int64_t p = 1;
    for (int i = 0; i < n; i++) {
        if (dims[i] < 0 || !mtn_mul_i64(p, dims[i], &p)) { *out = 0; return false; }
    }
    *out = p;
    return true;
}

bool mtn_box_voxels(const mtn_box *b, int64_t *out) {
    int64_t dims[3] = {mtn_box_nx(b), mtn_box_ny(b), mtn_box_nz(b)};
    *out = 0;
    if (dims[0] <= 0 || dims[1] <= 0 || dims[2] <= 0) return false;
    return mtn_product_i64(dims, 3, out);
}

int mtn_format_path(char *buf, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size) return mtn_error_set(MTN_EUSAGE, "path too long (%zu bytes at most): %s...", size, buf);
    return MTN_OK;
}
