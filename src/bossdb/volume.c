/* volume.c — the small shared part of the mtn_volume interface (what a server
 * serves); implementations live with their data (data/volume_*.c). */
#include <string.h>

#include "mtn/bossdb.h"

void mtn_volume_free(mtn_volume *v) {
    if (v && v->free) v->free(v);
}

int mtn_volume_find(const mtn_volume *v, const char *collection, const char *experiment, const char *channel) {
    for (int i = 0; i < v->n_channels; i++) {
        const mtn_volume_channel *c = &v->channels[i];
        if (strcmp(c->collection, collection) == 0 && strcmp(c->experiment, experiment) == 0 &&
            strcmp(c->channel, channel) == 0)
            return i;
    }
    return -1;
}
