/* phantom.c — placeholder while the phantom is being written (issue 3). */
#include "mtn/phantom.h"

int mtn_phantom_dtype_size(mtn_phantom_channel ch) { return ch == MTN_PHANTOM_IMAGE ? 1 : 8; }

int mtn_phantom_cutout(mtn_phantom_channel ch, int res, const mtn_box *box, void *out) {
    (void)ch; (void)res; (void)box; (void)out;
    return mtn_error_set(MTN_ENOTBUILT, "phantom: not built yet");
}

int mtn_phantom_roi_at(int64_t z, int64_t y, int64_t x) {
    (void)z; (void)y; (void)x;
    return 0;
}
