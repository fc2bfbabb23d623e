/* volume_phantom.c — the phantom as an mtn_volume (what `mtneuro serve --phantom`
 * serves and `--source phantom` reads): collection "prasad", experiments "prasad2020"
 * (image) and "prasad_analysis" (pixel_labels, roi_labels), coordinate frame
 * "prasad_prasad2020", as in MTNeuro's task configs. */
#include <stdlib.h>
#include <string.h>

#include "mtn/data.h"
#include "mtn/phantom.h"

static const mtn_volume_channel phantom_channels[MTN_PHANTOM_NCHANNELS] = {
    [MTN_PHANTOM_IMAGE] = {"prasad", "prasad2020", "image", MTN_DTYPE_UINT8, false},
    [MTN_PHANTOM_PIXEL_LABELS] = {"prasad", "prasad_analysis", "pixel_labels", MTN_DTYPE_UINT64, true},
    [MTN_PHANTOM_ROI_LABELS] = {"prasad", "prasad_analysis", "roi_labels", MTN_DTYPE_UINT64, true},
};

static int phantom_read(mtn_volume *v, int ch, int res, const mtn_box *box, void *dst) {
    (void)v;
    return mtn_phantom_cutout((mtn_phantom_channel)ch, res, box, dst);
}

static void phantom_free(mtn_volume *v) { free(v); }

int mtn_volume_open_phantom(mtn_volume **out) {
    mtn_volume *v = calloc(1, sizeof *v);
    if (!v) return mtn_error_set(MTN_ENOMEM, "phantom: out of memory");
    v->description = "phantom";
    v->n_channels = MTN_PHANTOM_NCHANNELS;
    v->channels = phantom_channels;
    snprintf(v->coord_frame, sizeof v->coord_frame, "prasad_prasad2020");
    v->extent[0] = 5805;
    v->extent[1] = 1420;
    v->extent[2] = 720;
    for (int i = 0; i < 3; i++) v->voxel_size[i] = MTN_PHANTOM_VOXEL_UM;
    v->voxel_unit = "micrometers";
    v->levels = MTN_PHANTOM_LEVELS;
    v->read = phantom_read;
    v->free = phantom_free;
    *out = v;
    return MTN_OK;
}
