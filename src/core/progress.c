/* progress.c — the progress reporter: a live bar on a terminal, one plain line per
 * interval elsewhere (Slurm logs keep readable lines, not carriage returns). */
#include "mtn/core.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double mtn_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "1h02m03s", "4m05s", "12.3s" */
static void format_seconds(double s, char *out, size_t cap) {
    if (s < 0) s = 0;
    if (s < 60) { snprintf(out, cap, "%.1fs", s); return; }
    long t = (long)(s + 0.5);
    if (t < 3600) snprintf(out, cap, "%ldm%02lds", t / 60, t % 60);
    else snprintf(out, cap, "%ldh%02ldm%02lds", t / 3600, (t / 60) % 60, t % 60);
}

void mtn_progress_begin(mtn_progress *p, const char *label, int64_t total,
                        const mtn_progress_opts *opts) {
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total;
    p->stream = (opts && opts->stream) ? opts->stream : stderr;
    p->clock = (opts && opts->clock) ? opts->clock : mtn_now;
    p->mode = opts ? opts->mode : MTN_PROGRESS_AUTO;
    if (p->mode == MTN_PROGRESS_AUTO)
        p->mode = isatty(fileno(p->stream)) ? MTN_PROGRESS_BAR : MTN_PROGRESS_LINES;
    p->interval_s = opts ? opts->interval_s : 0;
    if (p->interval_s <= 0) {
        const char *env = getenv("MTN_PROGRESS_INTERVAL");
        p->interval_s = env ? atof(env) : 30.0;
        if (p->interval_s <= 0) p->interval_s = 30.0;
    }
    p->silent = mtn_log_rank() != 0 || mtn_log_get_level() > MTN_LOG_INFO;
    p->t_start = p->t_last = p->clock();
}

/* "42/100 (42%) 3.1/s elapsed 12.0s eta 18.2s" */
static void format_counts(const mtn_progress *p, double now, char *out, size_t cap) {
    double elapsed = now - p->t_start;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    char el[32], eta[32] = "?";
    format_seconds(elapsed, el, sizeof el);
    if (rate > 0 && p->total > 0) format_seconds((double)(p->total - p->done) / rate, eta, sizeof eta);
    if (p->total > 0)
        snprintf(out, cap, "%lld/%lld (%d%%) %.3g/s elapsed %s eta %s", (long long)p->done,
                 (long long)p->total, (int)(100 * p->done / p->total), rate, el, eta);
    else
        snprintf(out, cap, "%lld %.3g/s elapsed %s", (long long)p->done, rate, el);
}

static void draw(mtn_progress *p, double now, const char *note, bool final) {
    char counts[160];
    format_counts(p, now, counts, sizeof counts);
    const char *sep = note && note[0] ? "  " : "";
    if (!note) note = "";
    if (p->mode == MTN_PROGRESS_BAR) {
        enum { WIDTH = 24 };
        char bar[WIDTH + 1];
        int filled = p->total > 0 ? (int)(WIDTH * p->done / p->total) : 0;
        for (int i = 0; i < WIDTH; i++) bar[i] = i < filled ? '#' : '.';
        bar[WIDTH] = '\0';
        fprintf(p->stream, "\r\033[K%s [%s] %s%s%s%s", p->label, bar, counts, sep, note,
                final ? "\n" : "");
        p->bar_drawn = !final;
    } else {
        fprintf(p->stream, "%s: %s%s%s%s\n", p->label, counts, sep, note, final ? " (done)" : "");
    }
    fflush(p->stream);
}

void mtn_progress_update(mtn_progress *p, int64_t done, const char *note) {
    p->done = done;
    if (p->silent) return;
    double now = p->clock();
    if (p->mode == MTN_PROGRESS_BAR) {
        if (now - p->t_last < 0.1 && p->bar_drawn) return; /* at most 10 redraws a second */
    } else if (now - p->t_last < p->interval_s) {
        return;
    }
    p->t_last = now;
    draw(p, now, note, false);
}

void mtn_progress_end(mtn_progress *p, const char *note) {
    if (p->silent) return;
    draw(p, p->clock(), note, true);
}
