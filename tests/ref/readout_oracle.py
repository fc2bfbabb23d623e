#!/usr/bin/python3
"""readout_oracle.py — the numpy / scikit-learn reference for Task 3's linear readout
(src/eval/readout.c), written to the committed fixture tests/unit/data/readout_fixture.txt
that tests/unit/test_readout.c compares against.

usage: /usr/bin/python3 tests/ref/readout_oracle.py [OUT]   (default: that fixture)

The definition being checked (include/mtn/eval.h): least squares with an intercept,
solved on centred data — b = the minimum-norm solution of (X - mean X) b = y - mean y
with numpy.linalg.lstsq's default cutoff (rcond = max(n, d) * eps), b0 = mean y -
mean X . b — which is sklearn's LinearRegression; R² as sklearn.metrics.r2_score (SS_tot
about the scored rows' own mean). Rows whose target is NaN are left out of that target's
fit and score; in-sample fits and scores all of a target's rows, held-out fits its
rows with train = 1 and scores those with train = 0.

Cases (seeded, so a rerun writes the same bytes with the same numpy):
  full_rank       n = 60, d = 7, 3 targets of different scales, the third with NaNs
  rank_deficient  the same shape with a dead unit (a zero column) and a duplicated
                  column: the minimum norm splits the weight between the duplicates
  wide            n = 20, d = 30 (d > n): in-sample R² is 1, held-out is min-norm
X holds float32 values (mtn_readout_r2 takes float embeddings), written exactly.

Besides writing the fixture it cross-checks, and exits 1 when they disagree beyond
1e-9 (relative to the largest coefficient, absolute for R²): the centred lstsq against
LinearRegression (every case) and against lstsq on [1, X] (full rank only: with
rank deficiency that problem's minimum norm also shrinks the intercept, a different
answer); the R² against the formula by hand.
"""
import os
import sys

import numpy as np
import sklearn
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "unit", "data", "readout_fixture.txt")
AGREE = 1e-9


def make_case(name, n, d, seed):
    """X (n, d) float32-valued, Y (n, 3) with NaNs in target 2, train (n) bool."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32).astype(np.float64)
    if name == "rank_deficient":
        x[:, 5] = 0.0          # a dead ReLU unit
        x[:, 6] = x[:, 2]      # a duplicated unit
    w = rng.standard_normal((d, 3))
    noise = rng.standard_normal((n, 3))
    y = np.empty((n, 3))
    y[:, 0] = 1.5 + x @ w[:, 0] + 0.5 * noise[:, 0]
    y[:, 1] = 50.0 + 100.0 * (x @ w[:, 1]) + 30.0 * noise[:, 1]  # another scale
    y[:, 2] = -0.25 + 0.01 * (x @ w[:, 2]) + 0.02 * noise[:, 2]
    y[rng.choice(n, size=max(3, n // 8), replace=False), 2] = np.nan
    train = rng.random(n) < 0.7
    return x, y, train


def fit(x, y):
    """(d + 1) coefficients, intercept first: minimum norm on centred data."""
    xm, ym = x.mean(axis=0), y.mean()
    b = np.linalg.lstsq(x - xm, y - ym, rcond=None)[0]
    return np.concatenate([[ym - xm @ b], b])


def predict(coef, x):
    return coef[0] + x @ coef[1:]


def r2(y, pred):
    """sklearn's r2_score, NaN (not force_finite's 1 or 0) for a constant y."""
    if len(y) < 2 or np.all(y == y[0]):
        return np.nan
    ours = 1.0 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)
    theirs = r2_score(y, pred)
    check(abs(ours - theirs), 1.0, "R² by hand vs r2_score")
    return theirs


worst = {}


def check(diff, scale, what):
    err = diff / max(scale, 1.0)
    worst[what] = max(worst.get(what, 0.0), err)


def cross_check(name, x, y, coef):
    sk = LinearRegression().fit(x, y)
    scale = np.max(np.abs(coef))
    check(np.max(np.abs(sk.coef_ - coef[1:])), scale, "centred lstsq vs LinearRegression coef_")
    check(abs(sk.intercept_ - coef[0]), scale, "centred lstsq vs LinearRegression intercept_")
    if name == "full_rank":
        aug = np.linalg.lstsq(np.hstack([np.ones((len(y), 1)), x]), y, rcond=None)[0]
        check(np.max(np.abs(aug - coef)), scale, "centred lstsq vs lstsq on [1, X] (full rank)")


def readout(name, x, y, train):
    t = y.shape[1]
    coefs, r2_in, r2_out = [], [], []
    for k in range(t):
        ok = ~np.isnan(y[:, k])
        coef = fit(x[ok], y[ok, k])
        cross_check(name, x[ok], y[ok, k], coef)
        coefs.append(coef)
        r2_in.append(r2(y[ok, k], predict(coef, x[ok])))
        fit_rows, score_rows = ok & train, ok & ~train
        if fit_rows.sum() < 2 or score_rows.sum() < 2:
            r2_out.append(np.nan)
            continue
        held = fit(x[fit_rows], y[fit_rows, k])
        cross_check(name, x[fit_rows], y[fit_rows, k], held)
        r2_out.append(r2(y[score_rows, k], predict(held, x[score_rows])))
    return np.array(coefs), np.array(r2_in), np.array(r2_out)


def rows(f, a):
    for row in np.atleast_2d(a):
        f.write(" ".join(repr(float(v)) for v in row) + "\n")


def main(out):
    cases = [("full_rank", 60, 7, 101), ("rank_deficient", 60, 7, 202), ("wide", 20, 30, 303)]
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        f.write("# readout_fixture.txt — written by tests/ref/readout_oracle.py (numpy %s, scikit-learn %s);\n"
                "# do not edit, rerun it. Per case: 'case NAME n d t'; 'X' and n rows of d values;\n"
                "# 'Y' and n rows of t values (nan = missing); 'train' and n values 0/1; 'coef' and\n"
                "# t rows of d + 1 values (intercept first; target k fitted on its non-NaN rows);\n"
                "# 'r2_in' and 'r2_out', t values each (nan = too few rows). 'end' after the last.\n"
                % (np.__version__, sklearn.__version__))
        for name, n, d, seed in cases:
            x, y, train = make_case(name, n, d, seed)
            coef, r2_in, r2_out = readout(name, x, y, train)
            rank = np.linalg.matrix_rank(x - x.mean(axis=0))
            print("%-15s n = %d, d = %d, centred rank %d, train %d; r2_in %s r2_out %s"
                  % (name, n, d, rank, train.sum(), np.round(r2_in, 6), np.round(r2_out, 6)))
            f.write("case %s %d %d %d\nX\n" % (name, n, d, y.shape[1]))
            rows(f, x)
            f.write("Y\n")
            rows(f, y)
            f.write("train\n" + " ".join("1" if v else "0" for v in train) + "\n")
            f.write("coef\n")
            rows(f, coef)
            f.write("r2_in\n")
            rows(f, r2_in)
            f.write("r2_out\n")
            rows(f, r2_out)
        f.write("end\n")
    bad = False
    for what, err in sorted(worst.items()):
        print("  %-50s max %.3g" % (what, err))
        bad |= not err <= AGREE
    print("wrote %s" % os.path.relpath(out))
    if bad:
        sys.exit("the references disagree beyond %g" % AGREE)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT)
