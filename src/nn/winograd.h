/* winograd.h — internal to nn: stride-1 3x3 / 3x3x3 convolutions (padding 1) by
 * Winograd's F(2, 3), which conv.c takes for its forward pass and for the input
 * gradient of such convolutions (see winograd.c). */
#ifndef MTN_NN_WINOGRAD_H
#define MTN_NN_WINOGRAD_H

#include <stdbool.h>

#include "mtn/nn.h"

/* Fewer channels than this and the GEMMs are too thin to gain (measured on 2 cores:
 * 2D 32 channels at 256 x 256 lose, 75 against im2col's 99 GFLOP/s; 3D 32 channels at
 * 8 x 128 x 128 win, 129 against 84). */
enum { WINOGRAD_MIN_CHANNELS_2D = 64, WINOGRAD_MIN_CHANNELS_3D = 16 };

/* Whether cv applied to `in` takes this road: kernel 3 x 3 (and 1 or 3 deep), stride
 * 1, padding 1 (0 for a depth of 1), enough channels, a depth of 2 or more for 3 x 3 x 3
 * (a depth of 1 wastes half of every tile: 35 against 60 GFLOP/s), and 2D planes of
 * 12 x 12 or more (at 8 x 8 the transforms cost more than they save: a ResNet-18
 * layer4 convolution's step takes 94 ms against im2col's 82). */
bool nn_winograd_fits(const mtn_conv *cv, mtn_dims in);
/* Scratch: per thread the item's transformed tiles, shared the transformed kernel. */
mtn_needs nn_winograd_needs(const mtn_conv *cv, mtn_dims in, int micro);
/* out (N, cout, spatial) = (or += when accumulate) conv(in, w) + bias, in items of
 * one micro-batch's tiles. With flip, w is the kernel of the convolution cv
 * differentiates, laid out (cv->cout, cv->cin, k) the other way round (cin_orig =
 * cv->cout), used transposed and flipped. */
void nn_winograd_forward(mtn_exec *ex, float *out, const float *in, const float *w, const float *bias,
                         const mtn_conv *cv, mtn_dims in_dims, int micro, bool flip, bool accumulate);

/* Whether the weight gradient of cv goes this way too: wherever the forward pass does
 * (measured on 2 cores, batch 8, ResNet-18's 3 x 3 convolutions: 64 channels at
 * 64 x 64 13 ms against 20-23 by shifted GEMMs, 128 at 32 x 32 10-12 against 18-20,
 * 256 at 16 x 16 11-13 against 19-21 by cooperative im2col). */
bool nn_winograd_weight_fits(const mtn_conv *cv, mtn_dims in);
/* dw (and dbias, may be NULL) += the weight gradient: one leaf per micro-batch that
 * all threads compute together, summed in mtn_exec_reduce_together's fixed tree. */
void nn_winograd_weight_grad(mtn_exec *ex, float *dw, float *dbias, const float *dout, const float *in,
                             const mtn_conv *cv, mtn_dims in_dims, int micro);
mtn_needs nn_winograd_weight_needs(const mtn_conv *cv, mtn_dims in, int micro);

#endif
