/* server_fault.c — injected faults, so clients' retries can be tested against a
 * real server. Attempts are counted per cutout URL path (query string excluded) in
 * a bounded table; the n-th valid attempt at a URL (n = 1, 2, ...) gets
 *   n <= F5                      503
 *   F5 < n <= F5 + FT            a truncated body (half sent, then the connection closes)
 *   F5 + FT < n <= F5 + FT + FW  a valid frame of fewer voxels than asked for
 *   otherwise                    a 503 with probability fault_5xx_rate, else no fault
 * (F5, FT, FW = fault_5xx_first, fault_truncate_first, fault_wrongsize_first), so a
 * retrying client always succeeds in the end. The rate draws come from Philox keyed
 * by fault_seed, one block per draw in the order requests arrive. */
#include <string.h>

#include "server_internal.h"

/* A Philox stream id of the server's own, apart from core.h's training streams. */
static const uint64_t SRV_FAULT_STREAM = UINT64_C(0x5e7e);

void srv_fault_init(srv_fault_table *t) {
    memset(t->slots, 0, sizeof t->slots);
    t->tick = 0;
    atomic_init(&t->draws, 0);
    pthread_mutex_init(&t->lock, NULL);
}

void srv_fault_destroy(srv_fault_table *t) { pthread_mutex_destroy(&t->lock); }

static uint64_t fnv1a(const char *s) {
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s; s++) h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h ? h : 1; /* 0 marks a free slot */
}

/* Counts one more attempt at `path`; returns the attempt's 1-based number. */
static int64_t count_attempt(srv_fault_table *t, const char *path) {
    uint64_t key = fnv1a(path);
    pthread_mutex_lock(&t->lock);
    srv_fault_slot *hit = NULL, *victim = &t->slots[0];
    for (int i = 0; i < SRV_FAULT_SLOTS && !hit; i++) {
        srv_fault_slot *s = &t->slots[i];
        if (s->key == key) hit = s;
        else if (victim->key != 0 && (s->key == 0 || s->last_use < victim->last_use)) victim = s;
    }
    if (!hit) { /* a free slot, else the least recently used */
        hit = victim;
        hit->key = key;
        hit->attempts = 0;
    }
    if (hit->attempts < INT64_MAX) hit->attempts++;
    hit->last_use = ++t->tick;
    int64_t n = hit->attempts;
    pthread_mutex_unlock(&t->lock);
    return n;
}

srv_fault srv_fault_decide(srv_fault_table *t, const mtn_server_options *o, const char *path, int64_t *attempt) {
    *attempt = 0;
    int64_t f5 = o->fault_5xx_first, ft = o->fault_truncate_first, fw = o->fault_wrongsize_first;
    if (f5 + ft + fw > 0) {
        int64_t n = *attempt = count_attempt(t, path);
        if (n <= f5) return SRV_FAULT_5XX;
        if (n <= f5 + ft) return SRV_FAULT_TRUNCATE;
        if (n <= f5 + ft + fw) return SRV_FAULT_WRONGSIZE;
    }
    if (o->fault_5xx_rate > 0) {
        mtn_rng rng;
        mtn_rng_init(&rng, o->fault_seed, SRV_FAULT_STREAM, atomic_fetch_add(&t->draws, 1));
        if (mtn_rng_uniform(&rng) < o->fault_5xx_rate) return SRV_FAULT_5XX;
    }
    return SRV_FAULT_NONE;
}
