/* cmd_serve.c — `mtneuro serve`: serves the phantom or an HDF5 volume over the
 * BossDB REST protocol until SIGINT or SIGTERM, then stops cleanly (exit 0). Prints
 * one line, `serving <what> on http://ADDR:PORT`, once it listens (tests start it
 * with --port 0 and read the port from that line). When it stops it logs how many
 * requests it served and the most that were in flight at once. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mtn/bossdb.h"
#include "mtn/data.h"

static int usage_error(const char *fmt, const char *opt, const char *value) {
    mtn_error_set(MTN_EUSAGE, fmt, opt, value);
    return mtn_cli_fail(MTN_EUSAGE, true);
}

/* A decimal integer in [lo, hi]. */
static bool parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

int mtn_cmd_serve(int argc, char **argv) {
    enum { O_PHANTOM = 256, O_VOLUME, O_PORT, O_BIND, O_TOKEN, O_THREADS, O_MAXMB, O_LOG, O_F5RATE, O_F5FIRST,
           O_FTRUNC, O_FWRONG, O_FDELAY, O_FSEED };
    static const struct option opts[] = { /* in the enum's order: opts[c - O_PHANTOM] names option c */
        {"phantom", no_argument, NULL, O_PHANTOM},
        {"volume", required_argument, NULL, O_VOLUME},
        {"port", required_argument, NULL, O_PORT},
        {"bind", required_argument, NULL, O_BIND},
        {"token", required_argument, NULL, O_TOKEN},
        {"threads", required_argument, NULL, O_THREADS},
        {"max-cutout-mb", required_argument, NULL, O_MAXMB},
        {"access-log", required_argument, NULL, O_LOG},
        {"fault-5xx-rate", required_argument, NULL, O_F5RATE},
        {"fault-5xx-first", required_argument, NULL, O_F5FIRST},
        {"fault-truncate-first", required_argument, NULL, O_FTRUNC},
        {"fault-wrongsize-first", required_argument, NULL, O_FWRONG},
        {"fault-delay-ms", required_argument, NULL, O_FDELAY},
        {"fault-seed", required_argument, NULL, O_FSEED},
        {NULL, 0, NULL, 0}};
    mtn_server_options o;
    mtn_server_default_options(&o);
    const char *volume_path = NULL, *log_path = NULL;
    bool phantom = false;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int64_t v = 0;
        const char *name = c == '?' || c == ':' ? NULL : opts[c - O_PHANTOM].name;
        switch (c) {
        case O_PHANTOM: phantom = true; break;
        case O_VOLUME: volume_path = optarg; break;
        case O_BIND: o.bind = optarg; break;
        case O_TOKEN: o.token = optarg; break;
        case O_LOG: log_path = optarg; break;
        case O_PORT:
            if (!parse_i64(optarg, 0, 65535, &v))
                return usage_error("serve: --%s: expected a port number 0..65535, found \"%s\"", name, optarg);
            o.port = (int)v;
            break;
        case O_THREADS:
            if (!parse_i64(optarg, 1, 1024, &v))
                return usage_error("serve: --%s: expected an integer 1..1024, found \"%s\"", name, optarg);
            o.threads = (int)v;
            break;
        case O_MAXMB:
            if (!parse_i64(optarg, 1, INT64_C(1) << 30, &v))
                return usage_error("serve: --%s: expected a size in MiB >= 1, found \"%s\"", name, optarg);
            o.max_cutout_bytes = v << 20;
            break;
        case O_F5RATE: {
            char *end;
            errno = 0;
            double p = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(p >= 0 && p <= 1))
                return usage_error("serve: --%s: expected a probability in [0, 1], found \"%s\"", name, optarg);
            o.fault_5xx_rate = p;
            break;
        }
        case O_F5FIRST:
        case O_FTRUNC:
        case O_FWRONG:
        case O_FDELAY:
            if (!parse_i64(optarg, 0, 1000000, &v))
                return usage_error("serve: --%s: expected an integer 0..1000000, found \"%s\"", name, optarg);
            if (c == O_F5FIRST) o.fault_5xx_first = (int)v;
            else if (c == O_FTRUNC) o.fault_truncate_first = (int)v;
            else if (c == O_FWRONG) o.fault_wrongsize_first = (int)v;
            else o.fault_delay_ms = (int)v;
            break;
        case O_FSEED: {
            char *end;
            errno = 0;
            unsigned long long seed = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-')
                return usage_error("serve: --%s: expected a non-negative integer, found \"%s\"", name, optarg);
            o.fault_seed = seed;
            break;
        }
        default:
            if (optopt >= O_PHANTOM)
                return usage_error("serve: --%s: %s", opts[optopt - O_PHANTOM].name, "expected a value");
            return usage_error("serve: unknown option \"%s\"%s", argv[optind - 1], " (see mtneuro serve --help)");
        }
    }
    if (optind < argc)
        return usage_error("serve: unexpected argument \"%s\"%s", argv[optind], " (see mtneuro serve --help)");
    if (phantom && volume_path) return usage_error("serve: --%s and --%s exclude each other", "phantom", "volume");
    if (o.token && (!*o.token || strpbrk(o.token, " \t\r\n")))
        return usage_error("serve: --%s: expected a token without spaces, found \"%s\"", "token", o.token);

    mtn_volume *volume = NULL;
    int rc = volume_path ? mtn_volume_open_hdf5(volume_path, &volume) : mtn_volume_open_phantom(&volume);
    if (rc) return mtn_cli_fail(rc, true);
    FILE *log = stderr;
    if (log_path && strcmp(log_path, "-") == 0) log = stdout;
    else if (log_path && !(log = fopen(log_path, "a"))) {
        mtn_error_set(MTN_EIO, "serve: --access-log: cannot open %s: %s", log_path, strerror(errno));
        mtn_volume_free(volume);
        return mtn_cli_fail(MTN_EIO, true);
    }
    o.access_log = log;

    /* SIGINT and SIGTERM are blocked before the server's threads start (they inherit
     * the mask) and taken synchronously here; a broken pipe is not fatal. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    mtn_server *server = NULL;
    rc = mtn_server_start(volume, &o, &server);
    if (rc) {
        if (log != stderr && log != stdout) fclose(log);
        mtn_volume_free(volume);
        return mtn_cli_fail(rc, true);
    }
    bool v6 = strchr(o.bind, ':') != NULL;
    printf("serving %s on http://%s%s%s:%d\n", volume->description, v6 ? "[" : "", o.bind, v6 ? "]" : "",
           mtn_server_port(server));
    fflush(stdout);
    int sig = 0;
    sigwait(&stop_signals, &sig);
    MTN_INFO("serve: %s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    mtn_server_stats stats;
    mtn_server_get_stats(server, &stats);
    mtn_server_stop(server);
    MTN_INFO("serve: %lld requests, at most %d in flight at once", (long long)stats.requests, stats.max_in_flight);
    mtn_volume_free(volume);
    if (log != stderr && log != stdout) fclose(log);
    return 0;
}
