#!/usr/bin/python3
"""features_oracle.py — an independent computation of `mtneuro features` (Task 3's
semantic features; definitions in src/eval/features.c and README "Task 3 features"),
with scipy.ndimage.label (3D, 6-connectivity) for the cells, ndimage's sums and
centres of mass for footprints and centroids, and scipy.spatial.cKDTree (k=2: the
nearest OTHER point) for the nearest-neighbour distances. No code shared with C.

usage: features_oracle.py L.h5 F.h5 [--quadrants]
  checks F.h5:/features against the oracle on L.h5:/labels: shape, columns attribute,
  NaN in the same places, cell_count exactly, the other columns within 1e-9 relative;
  prints the measured agreement and exits 1 on any disagreement.
"""
import sys

import h5py
import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import cKDTree

COLUMNS = "vessel_pct,axon_pct,cell_count,cell_size_px,nn_dist_px"
RTOL = 1e-9


def regions(shape, quadrants):
    """(slice, row slice, col slice) per output row, in the output's order."""
    z, h, w = shape
    hh, hw = h // 2, w // 2
    for s in range(z):
        if not quadrants:
            yield s, slice(0, h), slice(0, w)
            continue
        for rows, cols in ((slice(0, hh), slice(0, hw)), (slice(0, hh), slice(hw, w)),
                           (slice(hh, h), slice(0, hw)), (slice(hh, h), slice(hw, w))):
            yield s, rows, cols


def features(labels, quadrants):
    """(rows, 5) float64 array of the features of labels (Z, H, W)."""
    assert labels.ndim == 3 and labels.min() >= 0 and labels.max() <= 3
    cells, _ = ndi.label(labels == 2, structure=ndi.generate_binary_structure(3, 1))
    out = []
    for s, rows, cols in regions(labels.shape, quadrants):
        lab, cc = labels[s, rows, cols], cells[s, rows, cols]
        vessel = 100.0 * np.count_nonzero(lab == 1) / lab.size
        axon = 100.0 * np.count_nonzero(lab == 3) / lab.size
        ids = np.unique(cc[cc > 0])
        size = nn = np.nan
        if len(ids):
            ones = np.ones(cc.shape)
            size = float(np.mean(ndi.sum_labels(ones, cc, ids)))
        if len(ids) >= 2:
            cent = np.array(ndi.center_of_mass(ones, cc, ids))
            dist, _ = cKDTree(cent).query(cent, k=2)
            nn = float(np.mean(dist[:, 1]))
        out.append([vessel, axon, float(len(ids)), size, nn])
    return np.array(out, dtype=np.float64).reshape(-1, 5)


def compare(got, want):
    """(problems, max relative error of the float columns)"""
    problems = []
    if got.shape != want.shape:
        return ["shape %s, oracle %s" % (got.shape, want.shape)], np.inf
    if not np.array_equal(np.isnan(got), np.isnan(want)):
        bad = np.argwhere(np.isnan(got) != np.isnan(want))[:5]
        problems.append("NaN in other places: (row, column) %s" % bad.tolist())
    if not np.array_equal(got[:, 2], want[:, 2]):
        r = int(np.argmax(got[:, 2] != want[:, 2]))
        problems.append("cell_count differs, first at row %d: %g, oracle %g" % (r, got[r, 2], want[r, 2]))
    both = ~np.isnan(got) & ~np.isnan(want)
    both[:, 2] = False
    err = np.zeros_like(want)
    err[both] = np.abs(got[both] - want[both]) / np.maximum(np.abs(want[both]), 1e-300)
    worst = float(err.max()) if err.size else 0.0
    if worst > RTOL:
        r, c = np.unravel_index(int(np.argmax(err)), err.shape)
        problems.append("row %d column %d: %.17g, oracle %.17g (relative error %.1e)" %
                        (r, c, got[r, c], want[r, c], worst))
    return problems, worst


def main(argv):
    if len(argv) not in (3, 4) or (len(argv) == 4 and argv[3] != "--quadrants"):
        sys.exit(__doc__)
    quadrants = len(argv) == 4
    labels = h5py.File(argv[1], "r")["labels"][()].astype(np.int64)
    f = h5py.File(argv[2], "r")
    d = f["features"]
    got = d[()]
    cols = d.attrs.get("columns")
    cols = cols.decode() if isinstance(cols, bytes) else cols
    problems = [] if cols == COLUMNS else ["columns attribute %r" % cols]
    if d.dtype != np.float64:
        problems.append("dtype %s, expected float64" % d.dtype)
    want = features(labels, quadrants)
    more, worst = compare(got, want)
    problems += more
    n = want.shape[0]
    print("  %s%s: %d rows, %d cells in all rows, %d rows with >= 2 cells; counts exact: %s; "
          "max relative error %.1e" % (argv[1].rsplit("/", 1)[-1], " (quadrants)" if quadrants else "", n,
                                       int(want[:, 2].sum()), int((want[:, 2] >= 2).sum()),
                                       "no" if any("cell_count" in p for p in problems) else "yes", worst))
    for p in problems:
        print("  MISMATCH %s: %s" % (argv[2], p))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
