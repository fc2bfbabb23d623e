/* mtn/train.h — what turns a model into a trained one and back into a file:
 * checkpoints now; the runner joins this module with issue 5.
 *
 * Checkpoint (design §5): an HDF5 file whose root holds every state_dict tensor as a
 * dataset named like PyTorch's key with PyTorch's shape (float32; BatchNorm's
 * num_batches_tracked as an int64 scalar) and root attributes naming the model:
 * model ("resnet18", "unet2d", "unet3d", "mlp"), in_channels, classes, and the
 * settings needed to rebuild it (head, n_blocks, start_filters, mlp_in/hidden/out).
 * Training state (optimizer moments, RNG counters, epoch, step) lives in the group
 * /train_state. Files are written to a temporary name and renamed. Weights move to
 * and from PyTorch with tests/ref/state_dict_h5.py.
 *
 * Inference (`mtneuro infer`) runs any checkpoint in eval mode over an HDF5 array. */
#ifndef MTN_TRAIN_H
#define MTN_TRAIN_H

#include "mtn/models.h"

/* Fills the architecture fields of spec from a checkpoint's attributes (and, when
 * "head" is absent, from whether it has fc.weight). Sizes of the input (batch,
 * micro, depth, height, width) are left to the caller. MTN_EIO / MTN_EDATA naming
 * the file and attribute on failure. */
int mtn_checkpoint_read_spec(const char *path, mtn_model_spec *spec);

/* Writes the model's tensors (and attributes) to path, atomically. */
int mtn_checkpoint_save(const char *path, mtn_model *m);
/* Loads every tensor of the model from path; a tensor the file lacks, or whose
 * shape differs, is an error naming it. Tensors in the file the model does not have
 * are an error too unless `allow_extra` (e.g. fc.* when loading an encoder). */
int mtn_checkpoint_load(const char *path, mtn_model *m, bool allow_extra);

/* Inference: the checkpoint's model in eval mode (BatchNorm's running statistics,
 * no dropout) over input:/x, written to output:/y atomically.
 *   x: float32 (or any real type) (N, C, H, W) for resnet18 and unet2d, (N, C, D, H, W)
 *      for unet3d, (N, mlp_in) for mlp; C the checkpoint's in_channels; U-Net sizes
 *      divisible by 2^(n_blocks - 1).
 *   y: float32 logits (N, classes) or (N, classes, [D,] H, W); with `embedding` (a
 *      resnet18 checkpoint, with or without its head) the encoder's (N, 512).
 * Samples go through `batch` at a time (the result does not depend on it, nor on
 * `threads`). Errors name the file and what was expected: MTN_EUSAGE, MTN_EDATA
 * (bad checkpoint or input), MTN_EIO (unreadable or unwritable file). */
typedef struct {
    const char *checkpoint, *input, *output;
    bool embedding;
    int batch, threads;
} mtn_infer_opts;

int mtn_infer(const mtn_infer_opts *o);

#endif
