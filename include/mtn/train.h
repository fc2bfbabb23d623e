/* mtn/train.h — what turns a model into a trained one and back into a file:
 * checkpoints (with the training state that makes a run resumable), inference, and
 * the runner: jobs of runs x seeds over seed groups of MPI ranks, data-parallel and
 * deterministic (design §3, §4), ending in a result archive.
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

#include <mpi.h>

#include "mtn/config.h"
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

/* ------------------------------------------------------- training state --- */

/* What a resumable run keeps beside its weights, in the checkpoint's /train_state:
 * the optimizer's moment buffers, the steps done, the epoch curves so far, the running loss
 * sum of the current epoch, and a fingerprint of the run (configs and seed) that a
 * resume must match. `done` marks a finished seed; `result` then holds its
 * mtn_seed_result bytes (format tied to this build: see train_state.c). */
typedef struct {
    char fingerprint[512];
    int64_t step;             /* optimizer steps done */
    int64_t epochs_done;      /* whole epochs done (curves hold that many entries) */
    double epoch_loss_sum;    /* sum of the step losses of the epoch in progress */
    double train_loss[1024], val_accuracy[1024];
    float *momentum;          /* n_params floats, caller-owned: SGD's momentum, Adam's exp_avg */
    float *second_moment;     /* Adam's exp_avg_sq (n_params floats), NULL for SGD */
    int done;
    void *result;             /* caller-owned, result_bytes */
    int64_t result_bytes;
} mtn_train_state;

/* Weights and training state in one file, atomically. */
int mtn_checkpoint_save_state(const char *path, mtn_model *m, const mtn_train_state *st);
/* Loads both; the state's momentum and result buffers must be provided (sizes
 * checked). MTN_EDATA when the fingerprint differs from st->fingerprint (the message
 * says both), when /train_state is missing or damaged. */
int mtn_checkpoint_load_state(const char *path, mtn_model *m, mtn_train_state *st);

/* --------------------------------------------------------------- signals --- */

/* SIGTERM and SIGUSR1 only set a flag; the runner checkpoints at the next step
 * boundary and stops with MTN_EREQUEUE (exit 75). */
void mtn_stop_signals_install(void);
int mtn_stop_requested(void);

/* ---------------------------------------------------------------- runner --- */

typedef struct {
    const char *out_dir;      /* results/<job> by default */
    const char *source;       /* NULL: the job's source (phantom, or a URL) */
    const char *data;         /* a staged file to use instead of staging (train) */
    int threads;              /* per rank; 0 = 1 when several ranks, else 2 */
    int ranks_per_seed;       /* 0 = automatic (see mtn_layout_make) */
    int checkpoint_every;     /* steps; 0 = at the end of each epoch only */
    bool resume;
    int seeds[64];            /* override of the job's seeds when n_seeds > 0 */
    int n_seeds;
    const char *archive;      /* the archive path; NULL = <out_dir>/<job>.h5 */
    const char *only_runs;    /* `run --runs`: comma-separated run names (already applied to the job) */
    bool quiet;               /* no progress output */
    bool stage_only;          /* `run --stage-only`: stage every task's data, then stop */
} mtn_run_opts;

/* Runs every run of the job for every seed, collectively over `world`: stages the
 * data each distinct task needs (ranks share the tiles), splits the world into seed
 * groups, trains and evaluates each seed in its group, gathers every seed's result
 * to world rank 0, which writes the archive and prints the report. Returns
 * MTN_EREQUEUE after a checkpoint when stopped by a signal. */
int mtn_run_job(const mtn_job_config *job, const mtn_run_opts *o, MPI_Comm world);

#endif
