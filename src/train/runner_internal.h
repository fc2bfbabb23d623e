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
    int checkpoint_every;     /* steps; 0 = end of each epoch */
    bool resume;
    bool progress;            /* this rank shows progress */
} seed_job;

/* Supervised ResNet-18, with mixup when the run says so. */
int train_supervised(seed_job *j, mtn_seed_result *res);
/* PCA or NMF embeddings with a linear classifier on top. */
int train_baseline(seed_job *j, mtn_seed_result *res);

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

/* ---- evaluate.c: classification accuracy over a split ---- */

/* Evaluates a classifier (eval mode) on whole images and, with `quadrants`, on
 * each image's four quadrants (quad_model built at half the size, same weights),
 * each against the image's class. Samples go in fixed chunks of the models' micro
 * batch, dealt to the group's ranks by chunk index, so each sample's logits have the
 * same bits whatever the ranks; confusion counts are summed exactly. */
typedef struct {
    mtn_model *whole, *quad;  /* quad may be NULL */
    float *x, *xq;            /* whole (batch) and quadrant (4 x batch) inputs */
    int32_t *y;
    int64_t *scratch;
    uint32_t *ids;
    bool norm;                /* standardise each image (input_norm "image") */
} evaluator;
int evaluate_split(seed_job *j, evaluator *e, mtn_split split, int classes, int64_t *confusion,
                   int64_t *quad_confusion);
double confusion_accuracy(const int64_t *confusion, int k);

#endif
