#!/usr/bin/python3
"""task3_oracle.py — an independent Task 3 readout for tests/integration/task23.sh:
from a staged Task 3 file, the five features of every quadrant (scipy, through
features_oracle.py), PCA embeddings of the same quadrants (scikit-learn) at the
encoder's resolution, and R² of scikit-learn's LinearRegression — in-sample (fit on
every quadrant, PCA fit on every quadrant) and held out (PCA and regression fit on
the training slices' quadrants, scored on the test slices').

Usage: /usr/bin/python3 tests/ref/task3_oracle.py STAGED.h5 FACTOR COMPONENTS
Prints 10 numbers: in-sample R² of vessel_pct, axon_pct, cell_count, cell_size_px,
nn_dist_px, then the held-out ones. Rows whose feature is NaN (no cell, or fewer than
two) are left out of that feature's fit and score, as mtneuro does.

The conventions it shares with mtneuro, stated independently here: slices are taken
per region in depth order (cells are 3D components within a region's stack);
quadrant rows are 4 * slice + corner, corners [:h/2, :w/2], [:h/2, w/2:], [h/2:, :w/2],
[h/2:, w/2:]; images come down to the encoder's resolution by the mean of each
FACTOR x FACTOR block rounded half up (the staging filter), as uint8 / 255.
"""
import os
import sys

import h5py
import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import features_oracle  # noqa: E402

TRAIN, TEST = 0, 2


def box_mean(img, f):
    if f == 1:
        return img
    h, w = img.shape[0] // f, img.shape[1] // f
    s = img[: h * f, : w * f].astype(np.int64).reshape(h, f, w, f).sum(axis=(1, 3))
    return ((s + f * f // 2) // (f * f)).astype(np.uint8)


def quadrants(img):
    h, w = img.shape
    hh, hw = h // 2, w // 2
    return [img[:hh, :hw], img[:hh, w - hw:], img[h - hh:, :hw], img[h - hh:, w - hw:]]


def r2_in(e, y):
    ok = np.isfinite(y)
    return LinearRegression().fit(e[ok], y[ok]).score(e[ok], y[ok])


def r2_out(e, y, train, test):
    a, b = train & np.isfinite(y), test & np.isfinite(y)
    model = LinearRegression().fit(e[a], y[a])
    return r2_score(y[b], model.predict(e[b]))


def main(path, factor, k):
    f = h5py.File(path, "r")
    tiles, images, labels = f["tiles"][()], f["images"], f["labels"]
    order = sorted(range(len(tiles)), key=lambda i: (tiles[i][1], tiles[i][2]))
    feats, x, split = [], [], []
    for region in sorted(set(int(t[1]) for t in tiles)):
        rows = [i for i in order if tiles[i][1] == region]
        stack = np.stack([labels[i] for i in rows]).astype(np.int64)
        feats.append(features_oracle.features(stack, True))
        for i in rows:
            for q in quadrants(box_mean(images[i], factor)):
                x.append(q.astype(np.float64).ravel() / 255.0)
                split.append(int(tiles[i][3]))
    y, x, split = np.concatenate(feats), np.array(x), np.array(split)
    train, test = split == TRAIN, split == TEST
    e_all = PCA(k, svd_solver="full").fit(x).transform(x)
    e_train = PCA(k, svd_solver="full").fit(x[train]).transform(x)
    out = [r2_in(e_all, y[:, c]) for c in range(5)] + [r2_out(e_train, y[:, c], train, test) for c in range(5)]
    print(" ".join("%.12g" % v for v in out))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
