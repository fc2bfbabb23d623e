#!/usr/bin/env python3
"""pca_nmf_oracle.py — the scikit-learn reference for tests/unit/test_pca_nmf.c.

Usage: /usr/bin/python3 tests/ref/pca_nmf_oracle.py IN OUT

IN (text): a line "n d k iterations", then X: n lines of d values (float32 values
printed with 9 significant digits, so they are read back exactly); then, optionally,
an initial W (n lines of k values) and H (k lines of d values) for NMF.

OUT (text, one number per line, in this order):
  PCA explained_variance_                                   k values
  PCA components_, row-major, each row's sign flipped so that
    its entry of largest magnitude (the first, on ties) is
    positive — the convention of mtn_pca_fit                 k * d values
  (x - mean_) @ components.T with those signs                n * k values
  NMF(init='random', solver='mu', max_iter=iterations, tol=0)
    .reconstruction_err_ (||X - WH||_F)                      1 value
  the same with init='custom' from the given W and H
    (nan when none was given)                                1 value

PCA runs in float64 (svd_solver='full', exact SVD). NMF runs in float64 with
random_state=0; its random init differs from ours, so the C test compares that
loss loosely. From our own initial W and H the solver (the same Lee & Seung updates,
W then H each iteration) must land on nearly the same loss; that is the tight check.
"""
import sys
import warnings

import numpy as np
from sklearn.decomposition import NMF, PCA


def main(src, dst):
    with open(src) as f:
        n, d, k, iterations = (int(v) for v in f.readline().split())
        values = np.array(f.read().split(), dtype=np.float64)
    if values.size not in (n * d, n * d + n * k + k * d):
        sys.exit(f"{src}: expected {n} x {d} values (and optionally W, H), read {values.size}")
    x = values[:n * d].reshape(n, d)
    init = None
    if values.size > n * d:
        w0 = values[n * d:n * d + n * k].reshape(n, k)
        init = (w0, values[n * d + n * k:].reshape(k, d))

    pca = PCA(n_components=k, svd_solver="full").fit(x)
    comps = pca.components_.copy()
    largest = np.argmax(np.abs(comps), axis=1)  # argmax takes the first on ties
    comps *= np.where(comps[np.arange(k), largest] < 0, -1.0, 1.0)[:, None]
    proj = (x - pca.mean_) @ comps.T

    def nmf(init_name):
        return NMF(n_components=k, init=init_name, solver="mu", beta_loss="frobenius",
                   max_iter=iterations, tol=0, random_state=0)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol=0 never "converges": ConvergenceWarning
        random_err = nmf("random").fit(x).reconstruction_err_
        custom_err = np.nan
        if init is not None:
            model = nmf("custom")
            model.fit_transform(x, W=init[0].copy(), H=init[1].copy())
            custom_err = model.reconstruction_err_

    values = np.concatenate([pca.explained_variance_, comps.ravel(), proj.ravel(),
                             [random_err, custom_err]])
    np.savetxt(dst, values, fmt="%.17g")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
