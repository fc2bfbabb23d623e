/* evaluate.c — a model's predictions over a split, counted: a classifier's on whole
 * images and their four quadrants ("which class each of the four corners belongs
 * to"), a segmenter's on every pixel (and per image); in fixed chunks dealt to the
 * seed group's ranks, counts summed exactly. */
#include <string.h>

#include "mtn/eval.h"
#include "runner_internal.h"

double confusion_accuracy(const int64_t *confusion, int k) {
    int64_t right = 0, all = 0;
    for (int t = 0; t < k; t++)
        for (int p = 0; p < k; p++) {
            all += confusion[t * k + p];
            if (t == p) right += confusion[t * k + p];
        }
    return all ? (double)right / (double)all : 0.0;
}

static int argmax(const float *v, int k) {
    int best = 0;
    for (int i = 1; i < k; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

/* quadrants of x (n, 1, H, W) into xq (4n, 1, H/2, W/2): [:h, :w], [:h, w:], [h:, :w], [h:, w:] */
static void cut_quadrants(float *xq, const float *x, int n, int H, int W) {
    int h = H / 2, w = W / 2;
    for (int s = 0; s < n; s++)
        for (int q = 0; q < 4; q++) {
            const float *src = x + (int64_t)s * H * W + (int64_t)(q / 2) * h * W + (q % 2) * w;
            float *dst = xq + ((int64_t)s * 4 + q) * h * w;
            for (int r = 0; r < h; r++) memcpy(dst + (int64_t)r * w, src + (int64_t)r * W, sizeof(float) * (size_t)w);
        }
}

int evaluate_split(seed_job *j, evaluator *e, mtn_split split, int classes, int64_t *confusion,
                   int64_t *quad_confusion, int64_t *image_counts) {
    const mtn_model_spec *s = mtn_model_spec_of(e->whole);
    int micro = s->micro, per_call = s->batch / micro, H = s->height, W = s->width;
    const int64_t pixels = (int64_t)s->depth * H * W, per_label = e->segment ? pixels : 1;
    int64_t n = mtn_dataset_count(j->data, split);
    int64_t chunks = (n + micro - 1) / micro;
    memset(confusion, 0, sizeof(int64_t) * (size_t)(classes * classes));
    if (quad_confusion) memset(quad_confusion, 0, sizeof(int64_t) * (size_t)(classes * classes));
    if (image_counts) memset(image_counts, 0, sizeof(int64_t) * (size_t)(n * 3 * classes));
    int rc = MTN_OK;
    /* this rank's chunks: c = rank, rank + size, ...; per_call of them per forward */
    for (int64_t first = j->rank; first < chunks && !rc; first += (int64_t)per_call * j->size) {
        int taken = 0;
        for (int64_t c = first; c < chunks && taken < per_call; c += j->size, taken++)
            for (int i = 0; i < micro; i++) {
                int64_t id = c * micro + i;
                e->ids[taken * micro + i] = (uint32_t)(id < n ? id : n - 1); /* pad with the last sample */
            }
        int m = taken * micro;
        rc = read_samples(j->data, split, e->ids, m, e->scratch, e->x, e->y);
        if (rc) break;
        if (e->norm) standardise_images(e->x, m, (size_t)pixels);
        const float *logits = mtn_model_forward(e->whole, e->x, m, false, 0, 0);
        const float *qlogits = NULL;
        if (e->quad && quad_confusion) {
            cut_quadrants(e->xq, e->x, m, H, W);
            qlogits = mtn_model_forward(e->quad, e->xq, 4 * m, false, 0, 0);
        }
        for (int t = 0; t < taken; t++) {
            int64_t c = first + (int64_t)t * j->size;
            for (int i = 0; i < micro; i++) {
                int at = t * micro + i;
                if (c * micro + i >= n) continue; /* padding */
                if (e->segment) {
                    mtn_seg_argmax(logits + (int64_t)at * classes * pixels, classes, pixels, e->pred);
                    mtn_seg_count(e->y + (int64_t)at * per_label, e->pred, pixels, classes, confusion,
                                  image_counts ? image_counts + (c * micro + i) * 3 * classes : NULL);
                    continue;
                }
                int truth = e->y[at];
                confusion[truth * classes + argmax(logits + (int64_t)at * classes, classes)]++;
                if (qlogits)
                    for (int q = 0; q < 4; q++)
                        quad_confusion[truth * classes + argmax(qlogits + ((int64_t)at * 4 + q) * classes, classes)]++;
            }
        }
    }
    rc = mtn_agree(rc, j->comm);
    if (rc) return rc;
    int kk = classes * classes;
    MPI_Allreduce(MPI_IN_PLACE, confusion, kk, MPI_INT64_T, MPI_SUM, j->comm);
    if (quad_confusion) MPI_Allreduce(MPI_IN_PLACE, quad_confusion, kk, MPI_INT64_T, MPI_SUM, j->comm);
    if (image_counts)
        MPI_Allreduce(MPI_IN_PLACE, image_counts, (int)(n * 3 * classes), MPI_INT64_T, MPI_SUM, j->comm);
    return MTN_OK;
}
