/* conv_shift.h — internal to nn: the weight gradient of 2D stride-1 convolutions
 * with wide planes, without im2col (see conv_shift.c). */
#ifndef MTN_NN_CONV_SHIFT_H
#define MTN_NN_CONV_SHIFT_H

#include <stdbool.h>

#include "mtn/nn.h"

/* Whether cv's weight gradient on `in` takes this road: 2D, stride 1, 8 input
 * channels or more, and rows of output long enough that one item's GEMMs have an
 * inner dimension of SHIFT_MIN_COLUMNS or more. */
bool nn_shift_weight_fits(const mtn_conv *cv, mtn_dims in);
mtn_needs nn_shift_weight_needs(const mtn_conv *cv, mtn_dims in, int micro);
/* dw (and dbias, may be NULL) += the weight gradient, one leaf per item (a sample's
 * band of output rows), reduced in mtn_exec_reduce's fixed tree. */
void nn_shift_weight_grad(mtn_exec *ex, float *dw, float *dbias, const float *dout, const float *in,
                          const mtn_conv *cv, mtn_dims in_dims, int micro);

#endif
