/* server.c — the BossDB-compatible server behind `mtneuro serve`: options, the
 * listening socket, the libmicrohttpd daemon (a pool of opt.threads worker threads,
 * at most opt.max_connections connections), the life of one request (created when
 * its URI arrives, routed, freed when it completes) and the access log, one line per
 * request after it completes: client, method, URI, status, body bytes, milliseconds.
 * It also counts requests and the most in flight at once (arrived, reply not yet
 * queued), for mtn_server_get_stats.
 *
 * Memory is bounded: a cutout's voxels and body exist only while it holds one of
 * opt.threads permits (server_permit.c), from before its voxels are read until its
 * body has been handed to the kernel, and opt.max_cutout_bytes caps each
 * (server_cutout.c). (The kernel's socket buffers, tcp_wmem, come on top.) */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server_internal.h"

enum { SRV_URI_MAX = 4096, SRV_CONNECTION_TIMEOUT_S = 300 /* BossDB's load balancer idle timeout */ };

void mtn_server_default_options(mtn_server_options *o) {
    memset(o, 0, sizeof *o);
    o->bind = "127.0.0.1";
    o->port = 8080;
    o->token = NULL;
    o->threads = 4;
    o->max_connections = 64;
    o->max_cutout_bytes = INT64_C(545259520);
    o->access_log = NULL;
}

int mtn_server_port(const mtn_server *s) { return s ? s->port : 0; }

/* ------------------------------------------------------------ requests --- */

static void in_flight_begin(srv_request *r) {
    mtn_server *s = r->server;
    atomic_fetch_add(&s->requests, 1);
    int now = atomic_fetch_add(&s->in_flight, 1) + 1, max = atomic_load(&s->max_in_flight);
    while (now > max && !atomic_compare_exchange_weak(&s->max_in_flight, &max, now)) {
        /* another thread moved the maximum: max holds its value, compare again */
    }
    r->in_flight = true;
}

void srv_in_flight_end(srv_request *r) {
    if (!r->in_flight) return;
    r->in_flight = false;
    atomic_fetch_sub(&r->server->in_flight, 1);
}

void mtn_server_get_stats(const mtn_server *s, mtn_server_stats *out) {
    out->requests = atomic_load(&s->requests);
    out->max_in_flight = atomic_load(&s->max_in_flight);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
    mtn_server *s = cls;
    srv_request *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->server = s;
    r->conn = conn;
    r->t_start = mtn_now();
    size_t n = strnlen(uri, SRV_URI_MAX);
    if ((r->uri = malloc(n + 1))) {
        for (size_t i = 0; i < n; i++) r->uri[i] = (uri[i] > ' ' && uri[i] < 0x7f) ? uri[i] : '?';
        r->uri[n] = '\0';
    }
    in_flight_begin(r);
    snprintf(r->addr, sizeof r->addr, "-");
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        socklen_t len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
        if (getnameinfo(ci->client_addr, len, r->addr, sizeof r->addr, NULL, 0, NI_NUMERICHOST) != 0)
            snprintf(r->addr, sizeof r->addr, "-");
    }
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    (void)cls, (void)conn, (void)version, (void)upload_data;
    srv_request *r = *con_cls;
    if (!r || !r->uri) return MHD_NO; /* out of memory: drop the connection */
    if (*upload_data_size) {           /* request bodies are not used: discard */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->status) return MHD_YES;     /* answered already */
    if (!r->method[0]) snprintf(r->method, sizeof r->method, "%s", method);
    if (r->pending) return srv_cutout_continue(r);
    return srv_route(r, url, method);
}

static void log_request(mtn_server *s, const srv_request *r) {
    FILE *f = s->opt.access_log;
    if (!f) return;
    char status[16];
    if (r->status) snprintf(status, sizeof status, "%u", r->status);
    else snprintf(status, sizeof status, "-");
    pthread_mutex_lock(&s->log_lock);
    fprintf(f, "%s %s %s %s %lld %.1f\n", r->addr, r->method[0] ? r->method : "-", r->uri ? r->uri : "-", status,
            (long long)r->bytes, (mtn_now() - r->t_start) * 1e3);
    fflush(f);
    pthread_mutex_unlock(&s->log_lock);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode why) {
    (void)conn, (void)why;
    mtn_server *s = cls;
    srv_request *r = *con_cls;
    if (!r) return;
    *con_cls = NULL;
    srv_in_flight_end(r); /* dropped before any reply */
    srv_permit_release(r);
    log_request(s, r);
    free(r->uri);
    free(r);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    mtn_vlog(MTN_LOG_DEBUG, fmt, ap);
}

/* ---------------------------------------------------------- lifecycle --- */

static int check_options(const mtn_server_options *o) {
    if (!o->bind || !*o->bind) return mtn_error_set(MTN_EUSAGE, "server: no bind address");
    if (o->port < 0 || o->port > 65535) return mtn_error_set(MTN_EUSAGE, "server: port %d outside 0..65535", o->port);
    if (o->threads < 1 || o->threads > 1024)
        return mtn_error_set(MTN_EUSAGE, "server: threads %d outside 1..1024", o->threads);
    if (o->max_connections < 1) return mtn_error_set(MTN_EUSAGE, "server: max_connections must be >= 1");
    if (o->max_cutout_bytes < 1) return mtn_error_set(MTN_EUSAGE, "server: max_cutout_bytes must be >= 1");
    if (!(o->fault_5xx_rate >= 0 && o->fault_5xx_rate <= 1))
        return mtn_error_set(MTN_EUSAGE, "server: fault_5xx_rate must lie in [0, 1]");
    if (o->fault_5xx_first < 0 || o->fault_truncate_first < 0 || o->fault_wrongsize_first < 0 || o->fault_delay_ms < 0)
        return mtn_error_set(MTN_EUSAGE, "server: fault counts and delays must be >= 0");
    if (o->token && (!*o->token || strpbrk(o->token, " \t\r\n")))
        return mtn_error_set(MTN_EUSAGE, "server: the token must be non-empty and without spaces");
    return MTN_OK;
}

/* A listening TCP socket on bind:port (numeric address or host name); its port. */
static int open_listener(const char *bind_addr, int port, int *fd_out, int *family, int *port_out) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    int gai = getaddrinfo(bind_addr, port_s, &hints, &res);
    if (gai != 0) return mtn_error_set(MTN_EUSAGE, "server: bind address \"%s\": %s", bind_addr, gai_strerror(gai));
    int err = 0, fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 128) != 0) {
            err = errno;
            close(fd);
            fd = -1;
            continue;
        }
        *family = a->ai_family;
    }
    freeaddrinfo(res);
    if (fd < 0) return mtn_error_set(MTN_EIO, "server: cannot listen on %s port %d: %s", bind_addr, port, strerror(err));
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        err = errno;
        close(fd);
        return mtn_error_set(MTN_EIO, "server: getsockname: %s", strerror(err));
    }
    *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    return MTN_OK;
}

static void server_free(mtn_server *s) {
    srv_fault_destroy(&s->faults);
    pthread_mutex_destroy(&s->permit_lock);
    pthread_mutex_destroy(&s->log_lock);
    free(s->bind);
    free(s->token);
    free(s);
}

int mtn_server_start(mtn_volume *volume, const mtn_server_options *o, mtn_server **out) {
    MTN_ASSERT(volume && o && out);
    *out = NULL;
    int rc = check_options(o);
    if (rc) return rc;
    if (volume->n_channels < 1 || volume->levels < 1 || volume->levels > 10)
        return mtn_error_set(MTN_EDATA, "server: volume %s has no channels or levels outside 1..10", volume->description);
    mtn_server *s = calloc(1, sizeof *s);
    if (!s) return mtn_error_set(MTN_ENOMEM, "server: out of memory");
    s->volume = volume;
    s->opt = *o;
    s->bind = strdup(o->bind);
    s->token = o->token ? strdup(o->token) : NULL;
    pthread_mutex_init(&s->log_lock, NULL);
    pthread_mutex_init(&s->permit_lock, NULL);
    srv_fault_init(&s->faults);
    atomic_init(&s->in_flight, 0);
    atomic_init(&s->max_in_flight, 0);
    atomic_init(&s->requests, 0);
    s->permits = o->threads;
    if (!s->bind || (o->token && !s->token)) {
        server_free(s);
        return mtn_error_set(MTN_ENOMEM, "server: out of memory");
    }
    s->opt.bind = s->bind;
    s->opt.token = s->token;

    int fd = -1, family = AF_INET;
    if ((rc = open_listener(s->bind, o->port, &fd, &family, &s->port))) {
        server_free(s);
        return rc;
    }
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (family == AF_INET6) flags |= MHD_USE_IPv6;
    /* The logger comes first so that it also takes the messages about later options;
     * a pool of 1 is no pool (MHD would warn), just the internal thread. */
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
                                 MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
                                 MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                                 MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(o->threads > 1 ? o->threads : 0),
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->max_connections,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SRV_CONNECTION_TIMEOUT_S,
                                 MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                 MHD_OPTION_END);
    if (!s->daemon) {
        /* The socket is left open: whether MHD closed it on this path is not documented. */
        server_free(s);
        return mtn_error_set(MTN_EIO, "server: libmicrohttpd could not start on %s port %d", o->bind, o->port);
    }
    *out = s;
    return MTN_OK;
}

void mtn_server_stop(mtn_server *s) {
    if (!s) return;
    srv_permit_drain(s);
    MHD_stop_daemon(s->daemon); /* closes the listening socket and every connection */
    server_free(s);
}
