/* log.c — rank-aware logging. Rank and size are plain ints set by cli after MPI
 * start-up (or read from the launcher's environment), so core stays MPI-free. */
#include "mtn/core.h"

#include <string.h>
#include <strings.h>

static struct {
    int rank, size;
    mtn_log_level level;
    FILE *stream;
    bool all_ranks;
} g_log = {0, 1, MTN_LOG_INFO, NULL, false};

void mtn_log_init(int rank, int size, mtn_log_level level, FILE *stream) {
    MTN_ASSERT(rank >= 0 && size >= 1 && rank < size);
    g_log.rank = rank;
    g_log.size = size;
    g_log.level = level;
    g_log.stream = stream;
}

void mtn_log_set_all_ranks(bool all_ranks) { g_log.all_ranks = all_ranks; }
mtn_log_level mtn_log_get_level(void) { return g_log.level; }
int mtn_log_rank(void) { return g_log.rank; }
int mtn_log_size(void) { return g_log.size; }

int mtn_log_level_parse(const char *name) {
    static const char *names[] = {"debug", "info", "warn", "error", "quiet"};
    for (int i = 0; i < 5; i++)
        if (strcasecmp(name, names[i]) == 0) return i;
    if (strcasecmp(name, "warning") == 0) return MTN_LOG_WARN;
    return -1;
}

void mtn_vlog(mtn_log_level level, const char *fmt, va_list ap) {
    if (level < g_log.level) return;
    if (level < MTN_LOG_WARN && g_log.rank != 0 && !g_log.all_ranks) return;
    static const char *tags[] = {"debug: ", "", "warning: ", "error: "};
    char prefix[48] = "";
    if (g_log.size > 1 && (level >= MTN_LOG_WARN || g_log.all_ranks))
        snprintf(prefix, sizeof prefix, "[rank %d/%d] ", g_log.rank, g_log.size);
    char body[4096];
    vsnprintf(body, sizeof body, fmt, ap);
    size_t n = strlen(body);
    const char *nl = (n > 0 && body[n - 1] == '\n') ? "" : "\n";
    FILE *out = g_log.stream ? g_log.stream : stderr;
    fprintf(out, "%s%s%s%s", prefix, tags[level], body, nl);
    fflush(out);
}

void mtn_log(mtn_log_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    mtn_vlog(level, fmt, ap);
    va_end(ap);
}
