/* source.c — where staging reads cutouts from: the phantom, computed right here
 * (no network), or a BossDB-compatible server through the client. Channel metadata
 * is looked up once per URI and cached. */
#include <stdlib.h>
#include <string.h>

#include "mtn/data.h"

enum { MAX_CACHED_CHANNELS = 16 };

struct mtn_source {
    char spec[MTN_URI_MAX];
    mtn_volume *volume;          /* phantom */
    mtn_bossdb_client *client;   /* URL */
    struct {
        mtn_bossdb_uri uri;
        mtn_bossdb_channel channel;
    } cache[MAX_CACHED_CHANNELS];
    int n_cached;
};

int mtn_source_open(const char *spec, const mtn_bossdb_options *options, mtn_source **out) {
    *out = NULL;
    mtn_source *s = calloc(1, sizeof *s);
    if (!s) return mtn_error_set(MTN_ENOMEM, "out of memory opening source %s", spec);
    snprintf(s->spec, sizeof s->spec, "%s", spec);
    int rc;
    if (strcmp(spec, "phantom") == 0) {
        rc = mtn_volume_open_phantom(&s->volume);
    } else {
        char token[512], from[600];
        rc = mtn_bossdb_token(token, sizeof token, from, sizeof from);
        if (!rc) rc = mtn_bossdb_client_create(spec, token, options, &s->client);
        if (!rc) MTN_DEBUG("source %s with the token from %s", spec, from);
    }
    if (rc) {
        mtn_source_free(s);
        return rc;
    }
    *out = s;
    return MTN_OK;
}

void mtn_source_free(mtn_source *s) {
    if (!s) return;
    mtn_volume_free(s->volume);
    mtn_bossdb_client_free(s->client);
    free(s);
}

const char *mtn_source_spec(const mtn_source *s) { return s->spec; }

int mtn_source_channel(mtn_source *s, const char *uri, mtn_bossdb_channel *out) {
    mtn_bossdb_uri u;
    int rc = mtn_bossdb_parse_uri(uri, &u);
    if (rc) return rc;
    for (int i = 0; i < s->n_cached; i++)
        if (memcmp(&s->cache[i].uri, &u, sizeof u) == 0) {
            *out = s->cache[i].channel;
            return MTN_OK;
        }
    if (s->volume) {
        int ch = mtn_volume_find(s->volume, u.collection, u.experiment, u.channel);
        if (ch < 0)
            return mtn_error_set(MTN_EDATA, "%s: the %s has no such channel (it has prasad/prasad2020/image and "
                                            "prasad/prasad_analysis/{pixel_labels,roi_labels})",
                                 uri, s->volume->description);
        memset(out, 0, sizeof *out);
        snprintf(out->name, sizeof out->name, "%s", u.channel);
        out->dtype = s->volume->channels[ch].dtype;
        out->annotation = s->volume->channels[ch].annotation;
    } else {
        rc = mtn_bossdb_get_channel(s->client, &u, out);
        if (rc) return rc;
    }
    if (s->n_cached < MAX_CACHED_CHANNELS) {
        s->cache[s->n_cached].uri = u;
        s->cache[s->n_cached].channel = *out;
        s->n_cached++;
    }
    return MTN_OK;
}

int mtn_source_fetch(mtn_source *s, const mtn_cutout_request *reqs, int n, mtn_fetch_stats *stats) {
    if (s->client) return mtn_bossdb_fetch(s->client, reqs, n, stats);
    double t0 = mtn_now();
    for (int i = 0; i < n; i++) {
        const mtn_cutout_request *r = &reqs[i];
        int ch = mtn_volume_find(s->volume, r->uri.collection, r->uri.experiment, r->uri.channel);
        if (ch < 0)
            return mtn_error_set(MTN_EDATA, "bossdb://%s/%s/%s: no such channel in the %s", r->uri.collection,
                                 r->uri.experiment, r->uri.channel, s->volume->description);
        int rc = s->volume->read(s->volume, ch, r->res, &r->box, r->dst);
        if (rc) return rc;
        if (stats) {
            int64_t v;
            mtn_box_voxels(&r->box, &v);
            stats->requests++;
            stats->bytes_decoded += v * (int64_t)mtn_dtype_size(r->dtype);
        }
    }
    if (stats) stats->seconds += mtn_now() - t0;
    return MTN_OK;
}
