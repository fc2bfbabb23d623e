/* mtn/nn.h — the neural-network engine: an executor that runs fixed work items on a
 * few threads, and layers as forward/backward pairs over NCHW / NCDHW float tensors
 * with PyTorch semantics. No MPI and no HDF5 in here (design §5).
 *
 * Determinism (design §4): every layer cuts its work into items whose number and
 * shapes depend only on the tensor shapes and the micro-batch size — never on the
 * thread count — and BLAS runs single-threaded inside an item, so each item's bits
 * are fixed. Sums over items (weight gradients, BatchNorm statistics) are combined
 * in one fixed binary tree over the item index. So 1 or N threads give the same bits.
 *
 * Conventions (design §7): argument order outputs, then inputs, then weights, then
 * sizes; backward ACCUMULATES into parameter gradients and into input gradients
 * (callers zero them first); a NULL input gradient means "not needed". Shapes are
 * noted // (N, C, H, W). 2D layers are the 3D ones with depth 1 (d = 1, kd = 1).
 *
 * Ownership: mtn_exec owns its threads and scratch memory, reserved up front, so no
 * layer allocates. Layers own nothing. */
#ifndef MTN_NN_H
#define MTN_NN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtn/core.h"

/* ---------------------------------------------------------------- executor --- */

typedef struct mtn_exec mtn_exec;

/* threads >= 1. OpenBLAS is set to one thread: parallelism comes from items. */
int mtn_exec_create(int threads, mtn_exec **out);
void mtn_exec_free(mtn_exec *ex);
int mtn_exec_threads(const mtn_exec *ex);

/* Scratch a layer needs, in floats: per thread (im2col columns and the like), per
 * reduction leaf (the largest sum it reduces: a weight gradient), shared (one buffer
 * for the whole call), and tree: what the reduction tree's stack holds at most,
 * mtn_tree_floats(count, leaves) of the layer's largest reduction (a big weight
 * gradient has few leaves, many leaves are small sums: sizing the stack per layer
 * rather than for the worst of both keeps the pool small). */
typedef struct {
    size_t per_thread, per_leaf, shared, tree;
} mtn_needs;
/* The tree stack of a reduction of `leaves` leaves of `count` floats. */
size_t mtn_tree_floats(size_t count, int64_t leaves);
/* The element-wise maximum, for sizing one executor for many layers. */
mtn_needs mtn_needs_max(mtn_needs a, mtn_needs b);
/* Reserves scratch before training starts, so no layer allocates. Grows only;
 * MTN_ENOMEM on failure. */
int mtn_exec_reserve(mtn_exec *ex, mtn_needs needs);
float *mtn_exec_scratch(mtn_exec *ex, int thread);
float *mtn_exec_shared(mtn_exec *ex, size_t floats);

/* Runs fn(ctx, item, thread) for every item in [0, n), spread over the threads. */
typedef void (*mtn_item_fn)(void *ctx, int item, int thread);
void mtn_exec_for(mtn_exec *ex, int n, mtn_item_fn fn, void *ctx);

/* acc[0..count) += the sum over leaves 0..n-1 of what leaf(ctx, i, out, thread)
 * writes into out[0..count), combined in the fixed binary tree of the leaf index:
 * adjacent pairs first, then pairs of pairs, a leftover carried up, and the
 * remaining roots added left to right. The result does not depend on the number of
 * threads; a contiguous power-of-two block of leaves is a subtree (what lets ranks
 * each reduce their own block first). */
typedef void (*mtn_leaf_fn)(void *ctx, int leaf, float *out, int thread);
void mtn_exec_reduce(mtn_exec *ex, int n, size_t count, mtn_leaf_fn leaf, void *ctx, float *acc);

/* The same tree, for leaves too big for one thread: leaf(ctx, i, out) runs on the
 * calling thread, one leaf after another, and may itself call mtn_exec_for. */
typedef void (*mtn_coop_leaf_fn)(void *ctx, int leaf, float *out);
void mtn_exec_reduce_together(mtn_exec *ex, int n, size_t count, mtn_coop_leaf_fn leaf, void *ctx, float *acc);

/* Data parallelism. A call's batch may be one of `shares` equal, contiguous shares
 * of a global batch (the ranks of a seed group each hold one). Statistics over
 * samples that feed further computation — BatchNorm's sums, forward and backward,
 * and the loss sum — are then the global batch's: a layer reduces its own share in
 * the fixed tree, then calls combine(ctx, partial, count), which must replace
 * partial[0..count) by all shares' partials combined by mtn_tree_sum's rule over the
 * share index. When every share holds a power-of-two number of leaves (micro-batches
 * per share a power of two), a share's tree is a subtree of the whole batch's, so
 * the result has exactly the bits of one process reducing the whole batch. Means
 * divide by the global count. Parameter gradients stay the share's own (the caller
 * combines them across shares by the same rule), except BatchNorm's weight and bias
 * gradients, which are formed from the global sums and so are the whole batch's
 * already (mtn_tensor_info.grad_whole). Dropout draws its mask at the global
 * element index. One share (the default) needs no combine. */
typedef void (*mtn_combine_fn)(void *ctx, float *partial, size_t count);
void mtn_exec_set_share(mtn_exec *ex, int share, int shares, mtn_combine_fn combine, void *ctx);
int mtn_exec_share(const mtn_exec *ex);
int mtn_exec_shares(const mtn_exec *ex);
/* Applies the combine (nothing with one share). */
void mtn_exec_combine(mtn_exec *ex, float *partial, size_t count);

/* Number of items one micro-batch of `columns` output positions is cut into, so a
 * single large sample (a 3D U-Net volume) still gives every thread work; a function
 * of the shape only. */
int mtn_column_chunks(int64_t columns);

/* ------------------------------------------------------------------ shapes --- */

typedef struct {
    int n, c, d, h, w; /* d = 1 for 2D tensors */
} mtn_dims;

static inline int64_t mtn_dims_spatial(mtn_dims s) { return (int64_t)s.d * s.h * s.w; }
static inline int64_t mtn_dims_numel(mtn_dims s) { return (int64_t)s.n * s.c * mtn_dims_spatial(s); }

/* ------------------------------------------------------------- convolution --- */

/* Convolution (PyTorch Conv2d / Conv3d): kernel (kd, kh, kw), stride, zero padding,
 * optional bias. Weights (Cout, Cin, kd, kh, kw). 2D: kd = 1, stride_d = 1, pad_d = 0. */
typedef struct {
    int cin, cout;
    int k[3], stride[3], pad[3]; /* depth, height, width */
} mtn_conv;

mtn_dims mtn_conv_out_dims(const mtn_conv *cv, mtn_dims in);
/* Scratch the convolution needs (forward and backward) for this input and micro-batch. */
mtn_needs mtn_conv_needs(const mtn_conv *cv, mtn_dims in_dims, int micro);

void mtn_conv_forward(mtn_exec *ex, float *out, const float *in, const float *w, const float *bias,
                      const mtn_conv *cv, mtn_dims in_dims, int micro);
/* din may be NULL (first layer); dbias may be NULL (no bias). */
void mtn_conv_backward(mtn_exec *ex, float *din, float *dw, float *dbias, const float *dout, const float *in,
                       const float *w, const mtn_conv *cv, mtn_dims in_dims, int micro);

/* Transposed convolution (PyTorch ConvTranspose2d / ConvTranspose3d), kernel equal
 * to stride (2 in the U-Nets), no padding, bias. Weights (Cin, Cout, kd, kh, kw), as
 * PyTorch stores them. Output spatial size = input x stride. Backward: dw required,
 * din and dbias may be NULL. */
typedef struct {
    int cin, cout;
    int k[3]; /* = stride */
} mtn_convt;

mtn_dims mtn_convt_out_dims(const mtn_convt *ct, mtn_dims in);
mtn_needs mtn_convt_needs(const mtn_convt *ct, mtn_dims in, int micro);
void mtn_convt_forward(mtn_exec *ex, float *out, const float *in, const float *w, const float *bias,
                       const mtn_convt *ct, mtn_dims in_dims, int micro);
void mtn_convt_backward(mtn_exec *ex, float *din, float *dw, float *dbias, const float *dout, const float *in,
                        const float *w, const mtn_convt *ct, mtn_dims in_dims, int micro);

/* -------------------------------------------------------------- batch norm --- */

/* BatchNorm1d/2d/3d over (N, C, spatial): PyTorch numerics — eps inside the sqrt,
 * biased variance to normalise, unbiased variance for the running estimate,
 * running = (1 - momentum) * running + momentum * batch. Training mode normalises
 * with the batch statistics, computed per micro-batch and combined in the fixed
 * tree (so they are the global batch's, whatever the threads); eval mode with the
 * running ones. Training needs N x spatial > 1. `save` holds what backward needs:
 * per channel mean and inverse std (2 * C floats), written by forward in training
 * mode. Backward accumulates into dgamma and dbeta; any of din, dgamma, dbeta may
 * be NULL. Eval mode needs no scratch.
 *
 * A ReLU next to a BatchNorm can be fused into it, saving two memory passes each
 * way: relu_in normalises relu(in) (the U-Net's conv -> ReLU -> BN; `in` keeps the
 * values before the ReLU, and din is masked by in > 0), relu_out returns
 * relu(normalised) (ResNet's BN -> ReLU; `save` then holds 4 C floats: mean, inverse
 * std, scale and shift, from which backward recomputes the mask). Both give exactly
 * the bits of the separate layers. */
typedef struct {
    int c;
    float eps, momentum; /* 1e-5, 0.1 */
    bool relu_in, relu_out;
} mtn_bn;

mtn_needs mtn_bn_needs(const mtn_bn *bn, mtn_dims in, int micro);
void mtn_bn_forward_train(mtn_exec *ex, float *out, float *save, float *running_mean, float *running_var,
                          const float *in, const float *gamma, const float *beta, const mtn_bn *bn, mtn_dims in_dims,
                          int micro);
void mtn_bn_forward_eval(mtn_exec *ex, float *out, const float *in, const float *gamma, const float *beta,
                         const float *running_mean, const float *running_var, const mtn_bn *bn, mtn_dims in_dims);
void mtn_bn_backward(mtn_exec *ex, float *din, float *dgamma, float *dbeta, const float *dout, const float *in,
                     const float *save, const float *gamma, const mtn_bn *bn, mtn_dims in_dims, int micro);

/* ------------------------------------------------------- element-wise layers --- */

/* ReLU; backward uses the forward output (out > 0). In-place forward is fine
 * (out == in); backward adds into din, which must not be dout. */
void mtn_relu_forward(mtn_exec *ex, float *out, const float *in, int64_t n);
void mtn_relu_backward(mtn_exec *ex, float *din, const float *dout, const float *out, int64_t n);
/* For a ReLU computed in place: turns the output's gradient into the input's,
 * g = out > 0 ? g : 0 (no accumulation: the buffer is the same). */
void mtn_relu_backward_in_place(mtn_exec *ex, float *grad, const float *out, int64_t n);

/* Dropout (training), 0 <= p <= 1: out = in * mask / (1 - p); mask from the
 * counter-based RNG, so it does not depend on threads or ranks: element i is kept
 * when word i % 4 of block counter + i / 4 of (seed, MTN_STREAM_DROPOUT), as a
 * uniform float in [0, 1), is >= p. A call uses mtn_dropout_blocks(n) blocks, so the
 * next call's counter is counter + mtn_dropout_blocks(n). mask (n bytes, 0 or 1) is
 * kept for backward, which adds into din (not dout). */
static inline uint64_t mtn_dropout_blocks(int64_t n) { return (uint64_t)(n + 3) / 4; }
void mtn_dropout_forward(mtn_exec *ex, float *out, uint8_t *mask, const float *in, float p, uint64_t seed,
                         uint64_t counter, int64_t n);
void mtn_dropout_backward(mtn_exec *ex, float *din, const float *dout, const uint8_t *mask, float p, int64_t n);

/* out = a + b (residual connections); backward is the identity into both. */
void mtn_add_forward(mtn_exec *ex, float *out, const float *a, const float *b, int64_t n);

/* --------------------------------------------------------------- pooling --- */

/* Max pooling, kernel = stride (2 in the U-Nets), no padding, output size rounded
 * down; argmax (int32 per output element: the flat index d * H * W + h * W + w of
 * the chosen input within its (sample, channel) plane) kept for backward. Ties go to
 * the first in scan order, NaN propagates (PyTorch). Backward adds into din. */
typedef struct {
    int k[3]; /* = stride; depth 1 for 2D */
} mtn_maxpool;

mtn_dims mtn_maxpool_out_dims(const mtn_maxpool *mp, mtn_dims in);
void mtn_maxpool_forward(mtn_exec *ex, float *out, int32_t *argmax, const float *in, const mtn_maxpool *mp,
                         mtn_dims in_dims);
void mtn_maxpool_backward(mtn_exec *ex, float *din, const float *dout, const int32_t *argmax, const mtn_maxpool *mp,
                          mtn_dims in_dims);

/* Adaptive average pooling to 1: (N, C, spatial) -> (N, C); backward adds into din. */
void mtn_avgpool_forward(mtn_exec *ex, float *out, const float *in, mtn_dims in_dims);
void mtn_avgpool_backward(mtn_exec *ex, float *din, const float *dout, mtn_dims in_dims);

/* ------------------------------------------------------------ dense layers --- */

/* Linear (PyTorch nn.Linear): out (N, out_f) = in (N, in_f) W^T + b; W (out_f, in_f);
 * bias may be NULL. One GEMM per micro-batch in forward and backward, so a sample's
 * bits depend on the micro-batch size, not on N (a rank's share). Weight gradients
 * per micro-batch leaf, combined in the fixed tree; dw required, din and dbias may
 * be NULL. */
typedef struct {
    int in_f, out_f;
} mtn_linear;

mtn_needs mtn_linear_needs(const mtn_linear *l, int n, int micro);
void mtn_linear_forward(mtn_exec *ex, float *out, const float *in, const float *w, const float *bias,
                        const mtn_linear *l, int n, int micro);
void mtn_linear_backward(mtn_exec *ex, float *din, float *dw, float *dbias, const float *dout, const float *in,
                         const float *w, const mtn_linear *l, int n, int micro);

/* Channel concatenation (torch.cat(dim=1)) of a (N, Ca, S) and b (N, Cb, S);
 * backward adds into da and db, either of which may be NULL. */
void mtn_concat_forward(mtn_exec *ex, float *out, const float *a, const float *b, int n, int ca, int cb,
                        int64_t spatial);
void mtn_concat_backward(mtn_exec *ex, float *da, float *db, const float *dout, int n, int ca, int cb,
                         int64_t spatial);

/* ---------------------------------------------------------------- losses --- */

/* Losses are means over the call's batch (n x spatial positions), so their gradient
 * carries 1 / (n x spatial), and it is OVERWRITTEN (a loss starts backward). The sum
 * goes through the fixed tree, one leaf per micro-batch or chunk of one; all a loss
 * needs is one float per leaf. */
mtn_needs mtn_loss_needs(void);

/* Softmax cross-entropy with mean reduction (nn.CrossEntropyLoss): logits
 * (N, K, spatial) with integer targets (N, spatial) in [0, K); spatial = 1 for
 * per-image classification. Returns the loss; dlogits (may be NULL) gets its
 * gradient (overwritten). Sums combined per micro-batch in the fixed tree. Soft
 * targets (mixup) use mtn_xent_soft_forward_backward. */
double mtn_xent_forward_backward(mtn_exec *ex, float *dlogits, const float *logits, const int32_t *target, int n,
                                 int k, int64_t spatial, int micro);
/* Per-image cross-entropy against probability targets (N, K) — mixup's
 * lambda * onehot(a) + (1 - lambda) * onehot(b). */
double mtn_xent_soft_forward_backward(mtn_exec *ex, float *dlogits, const float *logits, const float *target, int n,
                                      int k, int micro);

/* BYOL's loss 2 - 2 cos(p, z) averaged over the batch, p and z (N, D), the norms
 * clamped at 1e-12 as F.normalize does; gradient into dp (may be NULL; overwritten)
 * only (z is the stopped target). */
double mtn_cosine_loss_forward_backward(mtn_exec *ex, float *dp, const float *p, const float *z, int n, int d,
                                        int micro);

/* Mixup of a batch: out = lambda * x + (1 - lambda) * x[perm], targets likewise as
 * probabilities (N, K). out must not be x. */
void mtn_mixup(float *out, float *soft_target, const float *x, const int32_t *target, const uint32_t *perm,
               float lambda, int n, int64_t sample_size, int k);

/* ------------------------------------------------------------- optimizers --- */

/* torch.optim.SGD: d = g + weight_decay * p; buf = d on the first step, else
 * momentum * buf + d; p -= lr * buf (no momentum: p -= lr * d). */
typedef struct {
    double lr, momentum, weight_decay; /* doubles, like torch's Python floats */
} mtn_sgd;
void mtn_sgd_step(mtn_exec *ex, float *params, float *momentum_buf, const float *grads, int64_t n, const mtn_sgd *o,
                  bool first_step);

/* torch.optim.Adam (L2 weight decay added to the gradient, as torch does), step
 * counted from 1. */
typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
} mtn_adam;
void mtn_adam_step(mtn_exec *ex, float *params, float *exp_avg, float *exp_avg_sq, const float *grads, int64_t n,
                   const mtn_adam *o, int64_t step);

/* Learning-rate schedules per step: linear warm-up from 0 over warmup steps, then
 * cosine decay to 0 at total (BYOL's schedule); or constant. */
double mtn_lr_warmup_cosine(double base_lr, int64_t step, int64_t warmup, int64_t total);
/* The EMA momentum of BYOL's target network: 1 - (1 - base)(cos(pi step / total) + 1) / 2,
 * rising from base to 1. */
double mtn_ema_momentum(double base, int64_t step, int64_t total);
/* target = tau * target + (1 - tau) * online */
void mtn_ema_update(mtn_exec *ex, float *target, const float *online, int64_t n, double tau);

#endif
