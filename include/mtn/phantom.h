/* mtn/phantom.h — the phantom: a procedural, deterministic stand-in for the prasad2020
 * X-ray microtomography volume (design §2). Same frame (z, y, x = 720 x 1420 x 5805
 * voxels of 1.17 µm), same three channels:
 *   image         uint8   an X-ray-like rendering of the labels (class intensities,
 *                         area texture, 5x5 blur, noise, slow illumination drift)
 *   pixel_labels  uint64  0 background, 1 vessel, 2 cell, 3 myelinated axon
 *   roi_labels    uint64  MTNeuro's brain-area values (MTN_ROI_*, core.h)
 * Any cutout is computed from its coordinates alone: nothing is stored, a voxel's
 * value never depends on the box it was asked for in (a sub-box equals the crop of a
 * larger box, bit for bit, at every resolution), and every function here is
 * thread-safe (no state is kept between calls). Brain areas sit where the paper's cube
 * sets A–D (tables A1–A2) expect them, each cube inside its area for z in [110, 470);
 * class proportions per area follow the paper's appendix 4.2.3; cell sizes and counts
 * are calibrated on the real label crops. src/phantom/tissue.c lists every target and
 * its source, src/phantom/regions.c the area layout; tests/unit/test_phantom.c
 * measures them.
 *
 * Resolution r (0 <= r < MTN_PHANTOM_LEVELS) halves x and y r times and keeps z, as
 * BossDB's anisotropic hierarchy does: images by the mean of each 2^r x 2^r block
 * (rounded half up), labels by its most frequent value (ties to the smaller value).
 * Speed: about 10-20 M voxels/s per core for the image, more for the labels. */
#ifndef MTN_PHANTOM_H
#define MTN_PHANTOM_H

#include <stdint.h>

#include "mtn/core.h"

#define MTN_PHANTOM_LEVELS 4
#define MTN_PHANTOM_VOXEL_UM 1.17

typedef enum { MTN_PHANTOM_IMAGE, MTN_PHANTOM_PIXEL_LABELS, MTN_PHANTOM_ROI_LABELS, MTN_PHANTOM_NCHANNELS }
    mtn_phantom_channel;

/* Bytes per voxel of a channel: 1 for the image, 8 for the label channels. */
int mtn_phantom_dtype_size(mtn_phantom_channel ch);

/* Fills `out` (C order (z, y, x), box volume elements of the channel's dtype) with
 * the channel at resolution `res` over `box` (coordinates of that resolution). The
 * box must be non-empty and lie inside the frame at that resolution (0 <= z < 720,
 * 0 <= y < 1420 >> res, 0 <= x < 5805 >> res): MTN_EDATA with a message naming the
 * box and the frame otherwise (also for an unknown channel or resolution);
 * MTN_ENOMEM when scratch memory (bounded, a few tens of MB) cannot be had. */
int mtn_phantom_cutout(mtn_phantom_channel ch, int res, const mtn_box *box, void *out);

/* The brain-area (ROI) value at one resolution-0 voxel; what roi_labels holds there.
 * Defined for any coordinates (clear, 0, outside the tissue). */
int mtn_phantom_roi_at(int64_t z, int64_t y, int64_t x);

#endif
