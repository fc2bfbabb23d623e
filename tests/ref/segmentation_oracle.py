#!/usr/bin/env python3
"""segmentation_oracle.py — the scikit-learn reference for tests/unit/test_segmentation.c.

Usage: /usr/bin/python3 tests/ref/segmentation_oracle.py IN OUT

IN (text): a line "images pixels k", then the true labels (images * pixels ints), then
the predicted labels (as many).

OUT (text, one number per line, in this order):
  confusion_matrix(truth, pred) over all pixels, row-major          k * k
  f1_score(average=None, zero_division=1) over all pixels            k
  jaccard_score(average=None, zero_division=1) over all pixels       k
  per-image F1, then IoU, averaged over images: each image's counts
    from multilabel_confusion_matrix, 2tp/(2tp+fp+fn) and
    tp/(tp+fp+fn), 1 where the class is absent from both             k, k
"""
import sys

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, jaccard_score, multilabel_confusion_matrix


def main(src, dst):
    with open(src) as f:
        images, pixels, k = (int(v) for v in f.readline().split())
        values = np.array(f.read().split(), dtype=np.int64)
    if values.size != 2 * images * pixels:
        sys.exit(f"{src}: expected {2 * images * pixels} labels, read {values.size}")
    truth = values[: images * pixels]
    pred = values[images * pixels:]
    labels = list(range(k))
    out = [confusion_matrix(truth, pred, labels=labels).ravel()]
    out.append(f1_score(truth, pred, labels=labels, average=None, zero_division=1))
    out.append(jaccard_score(truth, pred, labels=labels, average=None, zero_division=1))
    f1s, ious = [], []
    for i in range(images):
        t = truth[i * pixels:(i + 1) * pixels]
        p = pred[i * pixels:(i + 1) * pixels]
        m = multilabel_confusion_matrix(t, p, labels=labels)  # (k, 2, 2): [[tn, fp], [fn, tp]]
        tp, fp, fn = m[:, 1, 1], m[:, 0, 1], m[:, 1, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            f1s.append(np.where(tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 1.0))
            ious.append(np.where(tp + fp + fn > 0, tp / (tp + fp + fn), 1.0))
    out.append(np.mean(f1s, axis=0))
    out.append(np.mean(ious, axis=0))
    with open(dst, "w") as f:
        for a in out:
            for v in np.asarray(a, dtype=np.float64).ravel():
                f.write(f"{v:.17g}\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
