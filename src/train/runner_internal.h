/* runner_internal.h — what the runner's files share: one seed of one run in its
 * seed group, and the methods that train and evaluate it. */
#ifndef MTN_RUNNER_INTERNAL_H
#define MTN_RUNNER_INTERNAL_H

#include "mtn/data.h"
#include "mtn/dist.h"
#include "mtn/results.h"
#include "mtn/train.h"

/* One seed of one run, as its seed group sees it. */
typedef struct {
    const mtn_run_config *run;
    int seed;
    mtn_dataset *data;
    MPI_Comm comm;            /* the seed group */
    int rank, size;           /* in the group */
    int threads;              /* executor threads per rank */
    char ckpt_path[MTN_PATH_MAX];  /* resumable checkpoint of this seed */
    char final_path[MTN_PATH_MAX]; /* final weights */
    char encoder_path[MTN_PATH_MAX]; /* readout: the encoder's weights ("" for PCA / NMF) */
    int checkpoint_every;     /* steps; 0 = end of each epoch */
    bool resume;
    bool progress;            /* this rank shows progress */
} seed_job;

/* Supervised ResNet-18 (with mixup when the run says so), or the U-Net of Task 2. */
int train_supervised(seed_job *j, mtn_seed_result *res);
/* PCA or NMF embeddings with a linear classifier on top. */
int train_baseline(seed_job *j, mtn_seed_result *res);
/* Task 3: the linear readout of the semantic features from a frozen encoder. */
int train_readout(seed_job *j, mtn_seed_result *res);

/* What the methods computed by one rank share: `compute` runs on the group's rank 0
 * (res zeroed first), every rank learns its status and, on success, the result,
 * with seed and ok filled in. */
int compute_on_group_root(seed_job *j, mtn_seed_result *res, int (*compute)(seed_job *, mtn_seed_result *));

/* The run's identity for checkpoints: configs and seed (not the layout). */
void run_fingerprint(const seed_job *j, char *buf, size_t size);

/* ---- batches.c: sample order and reading ---- */

/* The training order of an epoch: a permutation of 0..n-1 keyed (seed, epoch). */
void epoch_order(uint64_t seed, int64_t epoch, uint32_t n, uint32_t *order);
/* Reads samples ids[0..n) (indices into the split) as x, y. */
int read_samples(mtn_dataset *d, mtn_split split, const uint32_t *ids, int n, int64_t *scratch, float *x,
                 int32_t *y);

/* Each of n images of `sample` pixels to mean 0 and std 1 (input_norm "image"):
 * removes an image's overall brightness and contrast, leaving its texture. */
void standardise_images(float *x, int n, size_t sample);

/* Micro-batch size for a global batch over `ranks` ranks: the configured one, or
 * automatically batch / 4 (or / 2, / 1) so that 1, 2 and 4 ranks each hold a
 * power-of-two number of micro-batches. Checks the determinism contract's
 * conditions; MTN_ECONFIG naming the run when they fail. */
int choose_micro(const mtn_run_config *run, int batch, int ranks, int *micro);

/* ---- evaluate.c: a model's predictions over a split, counted ---- */

/* Evaluates a model (eval mode) over a split. A classifier: on whole images and,
 * with quad_confusion, on each image's four quadrants (quad model built at half the
 * size, same weights), each against the image's class. A segmenter (`segment`):
 * every pixel against its label, confusion in pixels, and with image_counts each
 * sample's per-class tp, fp, fn (n x k x 3, sample-major). Samples go in fixed
 * chunks of the model's micro batch, dealt to the group's ranks by chunk index, so
 * each sample's logits have the same bits whatever the ranks; counts are integers,
 * summed exactly. */
typedef struct {
    mtn_model *whole, *quad;  /* quad may be NULL */
    float *x, *xq;            /* whole (batch) and quadrant (4 x batch) inputs */
    int32_t *y;
    int64_t *scratch;
    uint32_t *ids;
    bool norm;                /* standardise each image (input_norm "image") */
    bool segment;             /* per-pixel labels and logits */
    int32_t *pred;            /* segment: one sample's predicted classes */
} evaluator;
int evaluate_split(seed_job *j, evaluator *e, mtn_split split, int classes, int64_t *confusion,
                   int64_t *quad_confusion, int64_t *image_counts);
double confusion_accuracy(const int64_t *confusion, int k);

#endif
