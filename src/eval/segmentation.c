/* segmentation.c — Task 2's scores: per-pixel predictions (argmax over the class
 * logits), per-class true/false positives and false negatives, and F1 and IoU from
 * them, pooled over every test pixel or per image (see mtn/eval.h). Counts are
 * integers, so sums over images and ranks are exact in any order. */
#include "mtn/eval.h"

void mtn_seg_argmax(const float *logits, int k, int64_t pixels, int32_t *pred) {
    for (int64_t p = 0; p < pixels; p++) {
        int best = 0;
        float v = logits[p];
        for (int c = 1; c < k; c++)
            if (logits[(int64_t)c * pixels + p] > v) {
                v = logits[(int64_t)c * pixels + p];
                best = c;
            }
        pred[p] = best;
    }
}

void mtn_seg_count(const int32_t *truth, const int32_t *pred, int64_t pixels, int k, int64_t *confusion,
                   int64_t *counts) {
    if (counts)
        for (int i = 0; i < 3 * k; i++) counts[i] = 0;
    for (int64_t p = 0; p < pixels; p++) {
        int t = truth[p], q = pred[p];
        if (confusion) confusion[t * k + q]++;
        if (!counts) continue;
        if (t == q) {
            counts[3 * t]++;
        } else {
            counts[3 * q + 1]++; /* a false positive of the predicted class */
            counts[3 * t + 2]++; /* a false negative of the true one */
        }
    }
}

void mtn_seg_counts_of_confusion(const int64_t *confusion, int k, int64_t *counts) {
    for (int c = 0; c < k; c++) {
        int64_t tp = confusion[c * k + c], row = 0, col = 0;
        for (int o = 0; o < k; o++) {
            row += confusion[c * k + o];
            col += confusion[o * k + c];
        }
        counts[3 * c] = tp;
        counts[3 * c + 1] = col - tp;
        counts[3 * c + 2] = row - tp;
    }
}

void mtn_seg_scores(const int64_t *counts, int k, double *f1, double *iou) {
    for (int c = 0; c < k; c++) {
        double tp = (double)counts[3 * c], fp = (double)counts[3 * c + 1], fn = (double)counts[3 * c + 2];
        f1[c] = tp + fp + fn > 0 ? 2 * tp / (2 * tp + fp + fn) : 1.0;
        iou[c] = tp + fp + fn > 0 ? tp / (tp + fp + fn) : 1.0;
    }
}
