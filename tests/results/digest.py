#!/usr/bin/python3
"""digest.py — what the determinism tests compare (tests/integration/runner.sh,
task23.sh, aggregate.sh): every number of a result archive (per run its datasets,
then its mean/ and std/ summaries) and every tensor of the weight files of a job's
output directory, as short hashes, one line each. Timings (train_seconds,
eval_seconds, step_*) are left out, their means and stds too: they are
measurements, not results.

Usage: /usr/bin/python3 tests/results/digest.py DIR ARCHIVE.h5
"""
import glob
import hashlib
import sys

import h5py
import numpy as np


def short(a):
    return hashlib.sha1(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def timing(name):
    return name in ("train_seconds", "eval_seconds") or name.startswith("step_")


def main(d, archive):
    f = h5py.File(archive, "r")
    for name in f["runs"]:
        g = f["runs"][name]
        print(name, text(g.attrs["status"]), text(g.attrs.get("chosen", "")))
        for k in sorted(g):
            if isinstance(g[k], h5py.Dataset) and not timing(k):
                print(" ", k, short(g[k][()]))
        for summary in ("mean", "std"):
            for k in sorted(g[summary]):
                if not timing(k):
                    print(" ", summary + "/" + k, short(g[summary][k][()]))
    for p in sorted(glob.glob(d + "/weights/*.h5")):
        w = h5py.File(p, "r")
        h = hashlib.sha1()
        for k in sorted(w):
            if isinstance(w[k], h5py.Dataset):
                h.update(k.encode())
                h.update(np.ascontiguousarray(w[k][()]).tobytes())
        print(p.rsplit("/", 1)[-1], h.hexdigest()[:16])


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
