/* server_internal.h — what the server's files share: the server and per-request
 * state, replies (server_reply.c), cutout permits (server_permit.c), injected faults
 * (server_fault.c), routing and metadata (server_routes.c) and cutouts
 * (server_cutout.c). server.c owns the daemon, the request lifecycle and the
 * access log. */
#ifndef MTN_SERVER_INTERNAL_H
#define MTN_SERVER_INTERNAL_H

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>

#include "mtn/bossdb.h"

/* ------------------------------------------------------------- faults --- */

/* Attempts per cutout URL, for the fault_*_first options: a bounded table of URL
 * hashes; when full, the least recently used entry is forgotten. */
enum { SRV_FAULT_SLOTS = 1024 };
typedef struct {
    uint64_t key;       /* FNV-1a of the URL path; 0 = free slot */
    int64_t attempts;
    uint64_t last_use;
} srv_fault_slot;
typedef struct {
    pthread_mutex_t lock;
    srv_fault_slot slots[SRV_FAULT_SLOTS];
    uint64_t tick;
    atomic_uint_fast64_t draws; /* counter of the fault_5xx_rate draws */
} srv_fault_table;

typedef enum { SRV_FAULT_NONE, SRV_FAULT_5XX, SRV_FAULT_TRUNCATE, SRV_FAULT_WRONGSIZE } srv_fault;

void srv_fault_init(srv_fault_table *t);
void srv_fault_destroy(srv_fault_table *t);
/* The fault for this attempt at `path` (see mtn_server_options); *attempt = its
 * 1-based number at this URL (0 when attempts are not counted). */
srv_fault srv_fault_decide(srv_fault_table *t, const mtn_server_options *o, const char *path, int64_t *attempt);

/* -------------------------------------------------------------- state --- */

/* A parsed, validated cutout, kept while the request waits for a permit. */
typedef struct {
    int ch, res;
    mtn_box box;
    bool has_time;  /* the URL had t0:t1: the body is 4-D (t, z, y, x) */
    bool npygz;     /* application/npygz, else application/blosc */
    int64_t voxels;
    size_t bytes;   /* raw voxel bytes */
    srv_fault fault;
} srv_cutout;

typedef struct srv_request srv_request;
struct srv_request {
    mtn_server *server;
    struct MHD_Connection *conn;
    char addr[INET6_ADDRSTRLEN + 8]; /* client address, for the log and /ping/ */
    char method[16];
    char *uri;           /* as received, query string included (printable) */
    double t_start;
    unsigned status;     /* 0 until a reply is queued */
    int64_t bytes;       /* body bytes handed to the connection */
    bool pending;        /* a cutout waits for (or holds) a permit: resume there */
    bool has_permit;
    bool in_flight;      /* counted in the server's in_flight: arrived, no reply queued yet */
    srv_cutout cutout;
    srv_request *next_waiter;
};

struct mtn_server {
    struct MHD_Daemon *daemon;
    mtn_volume *volume;
    mtn_server_options opt;   /* bind and token point at the copies below */
    char *bind, *token;
    int port;
    pthread_mutex_t log_lock;
    /* cutout permits: at most opt.threads cutouts between generation and sent */
    pthread_mutex_t permit_lock;
    int permits;
    srv_request *wait_head, *wait_tail;
    bool stopping;
    srv_fault_table faults;
    /* requests arrived and not yet answered (reply queued or connection gone) */
    atomic_int in_flight, max_in_flight;
    atomic_int_fast64_t requests;
};

/* ------------------------------------------------------------ replies --- */

/* Ends r's time in flight (once; later calls do nothing). Called just before its
 * reply is queued, so a request counted is one its client is still waiting on. */
void srv_in_flight_end(srv_request *r);

/* Each queues the response on r's connection and records status and size. */
enum MHD_Result srv_reply_json(srv_request *r, unsigned status, cJSON *body); /* consumes body */
/* BossDB's error body {"status", "code", "message"}. */
enum MHD_Result srv_reply_error(srv_request *r, unsigned status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* DRF's {"detail": ...} (authentication errors, methods). */
enum MHD_Result srv_reply_detail(srv_request *r, unsigned status, const char *detail);
/* A malloc'd body (ownership passes here); only the first send_len of its len bytes
 * are sent (send_len < len: the connection is then closed mid-body, on purpose). */
enum MHD_Result srv_reply_body(srv_request *r, const char *content_type, void *body, size_t len, size_t send_len);

/* ------------------------------------------------------------ permits --- */

typedef enum { SRV_PERMIT_GRANTED, SRV_PERMIT_QUEUED, SRV_PERMIT_STOPPING } srv_permit;
/* Takes a permit, or suspends r's connection and queues it (call from the access
 * handler; it is called again once a permit is handed over). */
srv_permit srv_permit_acquire(srv_request *r);
/* At request completion: returns r's permit, handing it to the first waiter. */
void srv_permit_release(srv_request *r);
/* Before stopping: refuse new waiters, resume every queued one. */
void srv_permit_drain(mtn_server *s);

/* ------------------------------------------------------------- routes --- */

/* Dispatches a request by method and path. */
enum MHD_Result srv_route(srv_request *r, const char *url, const char *method);
/* Checks the token (when the server has one); replies 401/403 and returns false otherwise. */
bool srv_authorized(srv_request *r, enum MHD_Result *reply);
/* The cutout route: seg = collection, experiment, channel, res, x, y, z[, t]. */
enum MHD_Result srv_cutout_route(srv_request *r, char **seg, int nseg);
/* Continues a cutout that waited for a permit. */
enum MHD_Result srv_cutout_continue(srv_request *r);

#endif
