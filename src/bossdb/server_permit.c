/* server_permit.c — cutout permits, the server's memory bound: opt.threads permits,
 * one held by each cutout from before its voxels are read until its response has
 * completed (sent, failed or aborted). A cutout that finds none suspends its
 * connection (the worker thread goes on serving others) and waits in a FIFO; a
 * finishing cutout hands its permit straight to the first waiter and resumes it.
 *
 * Locking: a waiter is queued and suspended under permit_lock, so a releaser that
 * pops it always finds it suspended; connections are resumed after the lock is
 * dropped. */
#include "server_internal.h"

srv_permit srv_permit_acquire(srv_request *r) {
    mtn_server *s = r->server;
    srv_permit out;
    pthread_mutex_lock(&s->permit_lock);
    if (r->has_permit) {
        out = SRV_PERMIT_GRANTED; /* handed over while waiting */
    } else if (s->stopping) {
        out = SRV_PERMIT_STOPPING;
    } else if (s->permits > 0) {
        s->permits--;
        r->has_permit = true;
        out = SRV_PERMIT_GRANTED;
    } else {
        r->next_waiter = NULL;
        if (s->wait_tail) s->wait_tail->next_waiter = r;
        else s->wait_head = r;
        s->wait_tail = r;
        MHD_suspend_connection(r->conn);
        out = SRV_PERMIT_QUEUED;
    }
    pthread_mutex_unlock(&s->permit_lock);
    return out;
}

void srv_permit_release(srv_request *r) {
    mtn_server *s = r->server;
    srv_request *next = NULL;
    pthread_mutex_lock(&s->permit_lock);
    if (r->has_permit) {
        r->has_permit = false;
        if (s->wait_head && !s->stopping) {
            next = s->wait_head;
            s->wait_head = next->next_waiter;
            if (!s->wait_head) s->wait_tail = NULL;
            next->has_permit = true;
        } else {
            s->permits++;
        }
    }
    pthread_mutex_unlock(&s->permit_lock);
    if (next) MHD_resume_connection(next->conn);
}

void srv_permit_drain(mtn_server *s) {
    pthread_mutex_lock(&s->permit_lock);
    s->stopping = true;
    srv_request *w = s->wait_head;
    s->wait_head = s->wait_tail = NULL;
    pthread_mutex_unlock(&s->permit_lock);
    while (w) {
        srv_request *next = w->next_waiter; /* read before resuming: w may complete and be freed */
        MHD_resume_connection(w->conn);
        w = next;
    }
}
